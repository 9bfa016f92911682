/* taichu embed: embeddings of images or texts into a .npy matrix [n, dim] (float32, written atomically).
 *
 *   taichu embed --model DIR --image IMG... --out X.npy
 *   taichu embed --model DIR --text TEXT... --out X.npy
 *
 * opt-v2: the L2-normalised ITC embeddings (vision_proj / text_proj of the [CLS] states; dim itc_dim), so
 *         image·text dot products are the contrastive similarities (spec A.1, A.5).
 * opt-v1: taichu's v1 ITC features (the original v1 has no dual encoder): a single-modality pass (text alone
 *         or image alone) through the cross encoder, the pooler on the mean of its valid rows, L2-normalised,
 *         dim hidden_size for both (tc_v1_pooled_text / tc_v1_pooled_image), so image·text dot products are
 *         the similarities that v1 ITC pre-training trains. */
#include "args.h"
#include "command.h"
#include "infer_cli.h"

#include "core/progress.h"
#include "io/npy.h"

#include <stdio.h>
#include <stdlib.h>

static int run_embed(int argc, char **argv) {
    const char *model = NULL, *out = NULL;
    int threads = 0, batch = 0;
    bool json = false;
    tc_strlist images = {0}, texts = {0};
    tc_arg_spec specs[] = {
        {"model", TC_ARG_STR, &model, "DIR", "model directory", "TAICHU_MODEL"},
        {"image", TC_ARG_LIST, &images, "IMG", "image file(s)", NULL},
        {"text", TC_ARG_LIST, &texts, "TEXT", "text(s)", NULL},
        {"out", TC_ARG_STR, &out, "X.npy", "output matrix [n, dim] float32", NULL},
        {"batch", TC_ARG_INT, &batch, "N", "inputs per forward pass (8)", NULL},
        {"json", TC_ARG_FLAG, &json, NULL, "print a JSON summary", NULL},
        {"threads", TC_ARG_INT, &threads, "N", "worker threads (default: all cores)", "TAICHU_THREADS"},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "embed", NULL, specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) { free(images.v); free(texts.v); return rc < 0 ? 2 : 0; }
    if (!model || !out || (images.n > 0) == (texts.n > 0) || a.npos > 0) {
        fprintf(stderr, "taichu embed: needs --model DIR, --out X.npy and either --image IMG... or --text TEXT...\n");
        free(images.v); free(texts.v); tc_args_free(&a);
        return 2;
    }
    int status = 0;
    tc_infer *m = tc_cli_open_model(model, threads);
    if (!m) { free(images.v); free(texts.v); tc_args_free(&a); return tc_cli_fail(); }
    int is_img = images.n > 0, n = is_img ? images.n : texts.n, E = tc_embed_dim(m, is_img);
    float *emb = calloc((size_t)n * (size_t)E, sizeof(float));
    tc_state *s = tc_state_new(batch);
    float *px = NULL;
    int chunk = batch > 0 ? batch : 8;
    tc_progress prog;
    if (n > chunk) tc_progress_start(&prog, "embed", n);
    if (!emb) status = tc_cli_fail();
    else if (is_img && !(px = tc_cli_load_images(m, (const char *const *)images.v, n))) status = tc_cli_fail();
    for (int c0 = 0; c0 < n && !status; c0 += chunk) {
        int nb = n - c0 < chunk ? n - c0 : chunk;
        int rc2 = is_img ? tc_embed_images(m, s, px + (long)c0 * tc_image_floats(m), nb, emb + (long)c0 * E)
                         : tc_embed_texts(m, s, (const char *const *)texts.v + c0, nb, emb + (long)c0 * E);
        if (rc2 != 0) status = tc_cli_fail();
        else if (n > chunk) tc_progress_add(&prog, nb);
    }
    if (n > chunk) tc_progress_finish(&prog);
    int64_t shape[2] = {n, E};
    if (!status && tc_npy_write_f32(out, emb, 2, shape) != 0) status = tc_cli_fail();
    if (!status) {
        const char *kind = tc_model_arch(m) == 2 ? "itc (L2-normalised)"
                           : is_img               ? "vit mean over patches"
                                                  : "pooler of the text-only cross encoder";
        if (json) {
            cJSON *doc = cJSON_CreateObject();
            cJSON_AddStringToObject(doc, "out", out);
            cJSON_AddStringToObject(doc, "input", is_img ? "image" : "text");
            cJSON_AddNumberToObject(doc, "rows", n);
            cJSON_AddNumberToObject(doc, "dim", E);
            cJSON_AddStringToObject(doc, "embedding", kind);
            tc_cli_print_json(doc);
        } else {
            printf("%s: %d %s embeddings of dim %d (%s)\n", out, n, is_img ? "image" : "text", E, kind);
        }
        status = tc_cli_flush();
    }
    tc_state_free(s);
    free(px);
    free(emb);
    tc_model_close(m);
    free(images.v);
    free(texts.v);
    tc_args_free(&a);
    return status;
}

const tc_command tc_command_embed = {"embed", "image or text embeddings to a .npy matrix", run_embed};
