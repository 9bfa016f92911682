/* taichu info DIR: what a model directory holds, without loading the weights (the safetensors header is
 * read through mmap): architecture, dimensions, parameters per module and the memory needed.
 *
 * Memory: the fp32 weights; at inference the weights stay resident (the gradient slab is handed back to
 * the OS after loading, though it is zero-filled once while the model is created, so loading peaks near
 * twice the weights) plus the activations of one forward pass: every block's outputs stay in the graph
 * arena until the call ends, estimated as Σ layers · (T·(10·d + 2·ffn) + heads·T²) floats per stack for a
 * batch of one (v1: a caption, ViT + cross encoder + decoder memory; v2: ITM, ViT + text + fusion), plus
 * the decoder's KV cache. An estimate, within a small factor. */
#include "args.h"
#include "command.h"
#include "infer_cli.h"

#include "core/error.h"
#include "core/fileio.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/infer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const modules[] = {"vit",          "embeddings",   "text encoder",  "audio encoder", "cross encoder",
                                      "fusion",       "text decoder", "image decoder", "heads",         NULL};

static double stack_floats(double T, double d, double ffn, double heads, double layers) {
    return layers * (T * (10.0 * d + 2.0 * ffn) + heads * T * T);
}

static double activation_bytes(const tc_model_config *c) {
    double N = tc_model_config_num_patches(c), Tt = c->max_text_len + 2, f = 0;
    f += stack_floats(N + 1, c->vit_hidden_size, c->vit_intermediate_size, c->vit_num_heads, c->vit_num_layers);
    if (c->arch == TC_ARCH_V1) {
        f += stack_floats(N, c->hidden_size, c->intermediate_size, c->num_attention_heads, c->num_hidden_layers);
        f += stack_floats(N, c->dec_hidden_size, c->dec_intermediate_size, c->dec_num_heads, c->dec_num_layers);
        f += 2.0 * c->dec_num_layers * (N + 50) * c->dec_hidden_size; /* KV cache, 50 steps */
    } else {
        f += stack_floats(Tt, c->hidden_size, c->intermediate_size, c->num_attention_heads, c->text_num_layers);
        f += stack_floats(Tt, c->hidden_size, c->intermediate_size, c->num_attention_heads, c->num_hidden_layers);
        f += 2.0 * c->num_hidden_layers * (N + 1) * c->hidden_size; /* cross-attention keys/values */
    }
    return 4.0 * f;
}

/* v1: 1 when rank_output equals ITM row 2 (a pretrained model: zero-shot retrieval score), 0 when it is a
 * trained rank head, -1 when it cannot be told (absent, not F32). Reads the two small tensors from the map. */
static int v1_zero_shot(const tc_tensor_file *f, int D) {
    const tc_io_tensor *iw = tc_tensor_file_find(f, "itm_output.weight"), *ib = tc_tensor_file_find(f, "itm_output.bias");
    const tc_io_tensor *rw = tc_tensor_file_find(f, "rank_output.weight"), *rb = tc_tensor_file_find(f, "rank_output.bias");
    if (!iw || !ib || !rw || !rb || iw->dtype != TC_DT_F32 || ib->dtype != TC_DT_F32 || rw->dtype != TC_DT_F32 ||
        rb->dtype != TC_DT_F32 || iw->numel < 3L * D || ib->numel < 3 || rw->numel != D || rb->numel != 1)
        return -1;
    return memcmp((const float *)iw->data + 2L * D, rw->data, sizeof(float) * (size_t)D) == 0 &&
           memcmp((const float *)ib->data + 2, rb->data, sizeof(float)) == 0;
}

static void human(char *buf, size_t n, double bytes) {
    const char *u[] = {"B", "KB", "MB", "GB", "TB"};
    int i = 0;
    while (bytes >= 1024 && i < 4) bytes /= 1024, i++;
    snprintf(buf, n, "%.1f %s", bytes, u[i]);
}

static int run_info(int argc, char **argv) {
    bool json = false;
    int threads = 0;
    tc_arg_spec specs[] = {
        {"json", TC_ARG_FLAG, &json, NULL, "JSON output", NULL},
        {"threads", TC_ARG_INT, &threads, "N", "worker threads (unused)", "TAICHU_THREADS"},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "info", "DIR", specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    if (a.npos != 1) {
        fprintf(stderr, "taichu info: needs exactly one model directory\n");
        tc_args_free(&a);
        return 2;
    }
    const char *dir = a.pos[0];
    char *cfg_path = tc_path_join(dir, "config.json"), *st_path = tc_path_join(dir, "model.safetensors");
    tc_model_config c;
    tc_tensor_file f = {0};
    int status = 0;
    if (tc_model_config_load(cfg_path, &c) != 0 || tc_safetensors_open(st_path, &f) != 0) status = tc_cli_fail();
    free(cfg_path);
    free(st_path);
    if (status) { tc_args_free(&a); return status; }

    double per[16] = {0}, total = 0, bytes_file = 0;
    for (int i = 0; i < f.n; i++) {
        const char *mod = tc_infer_module_of(c.arch, f.t[i].name);
        for (int k = 0; modules[k]; k++)
            if (strcmp(mod, modules[k]) == 0) per[k] += (double)f.t[i].numel;
        total += (double)f.t[i].numel;
        bytes_file += (double)f.t[i].nbytes;
    }
    double w = 4.0 * total, act = activation_bytes(&c);
    char ws[32], as[32], ps[32], fs[32];
    human(ws, sizeof ws, w);
    human(as, sizeof as, act);
    human(ps, sizeof ps, 2 * w + act);
    human(fs, sizeof fs, bytes_file);
    int vqa_dec = c.arch == TC_ARCH_V2 && per[6] > 0;
    int zs = c.arch == TC_ARCH_V1 ? v1_zero_shot(&f, c.hidden_size) : -1;
    const char *score = c.arch == TC_ARCH_V2 ? "itm_head_two class 1"
                        : zs == 1            ? "rank_output = ITM row 2 (zero-shot, pretrained)"
                        : zs == 0            ? "rank_output (retrieval fine-tuned)"
                                             : "unknown";
    int np = tc_model_config_num_patches(&c);
    if (json) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "dir", dir);
        cJSON_AddStringToObject(d, "arch", tc_arch_name(c.arch));
        cJSON_AddStringToObject(d, "preset", c.preset);
        cJSON *dims = cJSON_AddObjectToObject(d, "dims");
        cJSON_AddNumberToObject(dims, "hidden_size", c.hidden_size);
        cJSON_AddNumberToObject(dims, "num_hidden_layers", c.num_hidden_layers);
        cJSON_AddNumberToObject(dims, "num_attention_heads", c.num_attention_heads);
        cJSON_AddNumberToObject(dims, "intermediate_size", c.intermediate_size);
        cJSON_AddNumberToObject(dims, "vocab_size", c.vocab_size);
        cJSON_AddNumberToObject(dims, "vit_hidden_size", c.vit_hidden_size);
        cJSON_AddNumberToObject(dims, "vit_num_layers", c.vit_num_layers);
        cJSON_AddNumberToObject(dims, "vit_num_heads", c.vit_num_heads);
        cJSON_AddNumberToObject(dims, "train_image_size", c.train_image_size);
        cJSON_AddNumberToObject(dims, "patch_size", c.patch_size);
        cJSON_AddNumberToObject(dims, "patches", np);
        cJSON_AddNumberToObject(dims, "text_num_layers", c.text_num_layers);
        cJSON_AddNumberToObject(dims, "dec_hidden_size", c.dec_hidden_size);
        cJSON_AddNumberToObject(dims, "dec_num_layers", c.dec_num_layers);
        cJSON_AddNumberToObject(dims, "txt_dec_vocab_size", c.txt_dec_vocab_size);
        cJSON_AddNumberToObject(dims, "img_dec_vocab_size", c.img_dec_vocab_size);
        cJSON_AddNumberToObject(dims, "itc_dim", c.itc_dim);
        cJSON *pm = cJSON_AddObjectToObject(d, "parameters");
        for (int k = 0; modules[k]; k++)
            if (per[k] > 0) cJSON_AddNumberToObject(pm, modules[k], per[k]);
        cJSON_AddNumberToObject(pm, "total", total);
        cJSON_AddNumberToObject(d, "tensors", f.n);
        cJSON_AddStringToObject(d, "itm_score", score);
        cJSON_AddBoolToObject(d, "vqa_decoder", c.arch == TC_ARCH_V1 || vqa_dec);
        cJSON *mem = cJSON_AddObjectToObject(d, "memory_bytes");
        cJSON_AddNumberToObject(mem, "file", bytes_file);
        cJSON_AddNumberToObject(mem, "fp32_weights", w);
        cJSON_AddNumberToObject(mem, "activations_estimate", act);
        cJSON_AddNumberToObject(mem, "inference_estimate", w + act);
        cJSON_AddNumberToObject(mem, "load_peak_estimate", 2 * w + act);
        tc_cli_print_json(d);
    } else {
        printf("%s: %s%s%s%s\n", dir, tc_arch_name(c.arch), c.preset[0] ? " (preset " : "", c.preset,
               c.preset[0] ? ")" : "");
        printf("  %s: hidden %d, %d layers, %d heads, FFN %d, act %s; vocab %d, positions %d, types %d\n",
               c.arch == TC_ARCH_V1 ? "cross encoder" : "fusion", c.hidden_size, c.num_hidden_layers,
               c.num_attention_heads, c.intermediate_size, c.hidden_act, c.vocab_size, c.max_position_embeddings,
               c.type_vocab_size);
        printf("  vit: width %d, %d layers, %d heads, FFN %d; %d px images, %d px patches (%d patches)\n",
               c.vit_hidden_size, c.vit_num_layers, c.vit_num_heads, c.vit_intermediate_size, c.train_image_size,
               c.patch_size, np);
        if (c.arch == TC_ARCH_V1)
            printf("  text encoder %d layers, audio %d-d (%d layers); decoders: width %d, %d+%d layers, %d heads, "
                   "FFN %d, text vocab %d, image vocab %d\n",
                   c.text_num_layers, c.audio_dim, c.audio_num_layers, c.dec_hidden_size, c.dec_num_layers,
                   c.dec_num_layers, c.dec_num_heads, c.dec_intermediate_size, c.txt_dec_vocab_size,
                   c.img_dec_vocab_size);
        else
            printf("  text encoder %d layers; ITC dim %d; VQA decoder %s (width %d, %d+%d layers, vocab %d)\n",
                   c.text_num_layers, c.itc_dim, vqa_dec ? "present" : "absent", c.dec_hidden_size,
                   c.dec_num_layers, c.dec_num_layers, c.txt_dec_vocab_size);
        printf("  ITM retrieval score: %s\n", score);
        printf("  parameters: %.0f in %d tensors (file %s)\n", total, f.n, fs);
        for (int k = 0; modules[k]; k++)
            if (per[k] > 0) printf("    %-14s %14.0f  %5.1f%%\n", modules[k], per[k], 100.0 * per[k] / total);
        printf("  memory: fp32 weights %s; inference ~ %s + %s activations (batch 1, estimate); loading peaks "
               "near %s\n",
               ws, ws, as, ps);
    }
    tc_tensor_file_close(&f);
    tc_args_free(&a);
    return tc_cli_flush();
}

const tc_command tc_command_info = {"info", "architecture, dimensions, parameters per module, memory of a model dir",
                                    run_info};
