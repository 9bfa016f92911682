/* Fine-tuning (src/train/finetune*.c): every task's loss falls over a few dozen steps on a tiny synthetic
 * dataset, for both architectures; the produced model directory loads and generates through the public API;
 * a v2 model without a VQA decoder gets one; v1 retrieval negatives never share the positive's image and
 * rank_output starts from ITM row 2. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <taichu.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/threads.h"
#include "data/synth.h"
#include "model/opt_v1.h"
#include "model/opt_v2.h"
#include "tc_test.h"
#include "train/finetune.h"

#define MAX_STEPS 160
#define STEPS 30
typedef struct losses {
    double v[MAX_STEPS];
    int n;
} losses;

static void on_step(void *user, const tc_step_record *r) {
    losses *l = user;
    if (l->n < MAX_STEPS) l->v[l->n++] = r->loss;
}

static double mean(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s / n;
}

static int count_lines(const char *path) {
    size_t len;
    char *t = tc_read_file(path, &len);
    int c = 0;
    for (size_t i = 0; t && i < len; i++) c += t[i] == '\n';
    free(t);
    return c;
}

/* A small model of arch on the dataset's vocabulary, saved as a model dir. */
static int make_model(const char *dir, tc_arch arch, int vocab, const char *data, int with_dec, int layers, float drop) {
    tc_model_config c;
    tc_model_config_preset(arch == TC_ARCH_V1 ? "opt-v1-tiny" : "opt-v2-tiny", &c);
    c.hidden_size = 32; c.num_hidden_layers = layers;
    c.hidden_dropout_prob = c.attention_probs_dropout_prob = drop; c.num_attention_heads = 2; c.intermediate_size = 64;
    c.vit_hidden_size = 32; c.vit_num_layers = 1; c.vit_num_heads = 2; c.vit_intermediate_size = 64;
    c.train_image_size = 32; c.patch_size = 8;
    c.vocab_size = vocab; c.txt_dec_vocab_size = vocab;
    c.dec_hidden_size = 32; c.dec_num_layers = with_dec ? 1 : 0; c.dec_num_heads = 2; c.dec_intermediate_size = 64;
    if (arch == TC_ARCH_V1) { c.img_dec_vocab_size = 16; c.img_token_len = 16; }
    else { c.text_num_layers = 1; c.itc_dim = 16; }
    tc_model m;
    if (tc_model_create(&m, &c, 7)) return -1;
    char vocab_src[1100], i2t[1100];
    snprintf(vocab_src, sizeof vocab_src, "%s/text/bert-base-chinese-vocab.txt", data);
    snprintf(i2t, sizeof i2t, "%s/text/ids_to_tokens_zh.json", data);
    int rc = tc_model_save_dir(&m, dir, vocab_src, i2t);
    tc_model_free(&m);
    return rc;
}

static void check_generates(const char *mdir, const char *data, int vqa) {
    tc_infer *inf = tc_model_open(mdir);
    TC_CHECK(inf != NULL, "open %s: %s", mdir, tc_last_error());
    if (!inf) return;
    char img[1100];
    snprintf(img, sizeof img, "%s/image/synth/synth_000000.jpg", data);
    const char *paths[1] = {img};
    float *px = malloc(sizeof(float) * (size_t)tc_image_floats(inf));
    TC_CHECK(tc_load_images(inf, paths, 1, px) == 0, "load image: %s", tc_last_error());
    tc_state *s = tc_state_new(1);
    tc_gen_params p = vqa ? tc_vqa_defaults(inf) : tc_caption_defaults(inf);
    p.beam = 2;
    p.max_len = 8;
    int32_t ids[9];
    float score;
    const char *q[1] = {"图中有几个物体？"};
    int rc = vqa ? tc_vqa(inf, s, px, q, 1, &p, ids, &score) : tc_caption(inf, s, px, 1, &p, ids, &score);
    TC_CHECK(rc == 0, "%s generation from %s: %s", vqa ? "vqa" : "caption", mdir, tc_last_error());
    if (rc == 0) {
        TC_CHECK(ids[0] == 0, "leading 0, got %d", ids[0]);
        char *text = tc_ids_to_text(inf, ids + 1, 8);
        TC_CHECK(text != NULL, "ids to text");
        free(text);
    }
    tc_state_free(s);
    free(px);
    tc_model_close(inf);
}

/* The first n items of a caption file: retrieval learns to separate a handful of images within a few dozen
 * steps, where the full (tiny) set would need more. */
static int subset(const char *src, const char *dst, int n) {
    size_t len;
    char *t = tc_read_file(src, &len);
    cJSON *root = t ? cJSON_Parse(t) : NULL;
    free(t);
    if (!root) return -1;
    while (cJSON_GetArraySize(root) > n) cJSON_DeleteItemFromArray(root, n);
    char *out = cJSON_PrintUnformatted(root);
    if (!out) { cJSON_Delete(root); return -1; }
    int rc = tc_write_file_atomic(dst, out, strlen(out));
    free(out);
    cJSON_Delete(root);
    return rc;
}

static void run_task(const char *root, const char *data, const char *init, tc_ft_kind kind, const char *tag, int steps,
                     const char *train, double lr) {
    char out[1100];
    snprintf(out, sizeof out, "%s/run_%s_%s", root, tag, tc_ft_kind_name(kind));
    losses l = {{0}, 0};
    long negs = 0, same = -1;
    tc_finetune_opts o = tc_finetune_defaults(kind);
    o.init = init;
    o.data = data;
    o.out = out;
    o.steps = steps;
    o.batch = 4;
    o.lr = lr;
    o.train_file = train;
    o.warmup = 2;
    o.ckpt_every = 0;
    o.progress = 0;
    o.on_step = on_step;
    o.on_step_user = &l;
    o.neg_pairs = &negs;
    o.neg_same_image = &same;
    int rc = tc_finetune_run(&o);
    TC_CHECK(rc == 0, "%s %s: %s", tag, tc_ft_kind_name(kind), tc_error_get());
    if (rc) return;
    TC_CHECK(l.n == steps, "%s %s: %d steps logged", tag, tc_ft_kind_name(kind), l.n);
    int k = 6;
    double first = mean(l.v, k), last = mean(l.v + l.n - k, k);
    printf("%s %-9s loss %.4f -> %.4f\n", tag, tc_ft_kind_name(kind), first, last);
    TC_CHECK(last < 0.9 * first, "%s %s: loss %.4f -> %.4f did not fall by 10%%", tag, tc_ft_kind_name(kind), first, last);
    if (kind == TC_FT_RETRIEVAL && strcmp(tag, "v1") == 0) {
        TC_CHECK(negs == 2L * 4 * steps, "v1 retrieval: %ld negative pairs", negs);
        TC_CHECK(same == 0, "v1 retrieval: %ld negatives share the positive's image", same);
    }
    char mdir[1200];
    snprintf(mdir, sizeof mdir, "%s/model", out);
    if (kind != TC_FT_RETRIEVAL) check_generates(mdir, data, kind == TC_FT_VQA);
    else {
        tc_infer *inf = tc_model_open(mdir);
        TC_CHECK(inf != NULL, "open %s: %s", mdir, tc_last_error());
        if (inf) tc_model_close(inf);
    }
}

int main(void) {
    tc_set_threads(1); /* tiny models: threads only add synchronisation on a shared machine */
    char root[] = "/tmp/tc_test_finetune_XXXXXX";
    if (!mkdtemp(root)) { perror("mkdtemp"); return 1; }
    char data[1100];
    snprintf(data, sizeof data, "%s/data", root);
    tc_synth_opts so = {data, 40, 32, 3, 0, 0, 0, 90};
    tc_synth_stats st;
    TC_CHECK(tc_synth_generate(&so, &st) == 0, "synth: %s", tc_error_get());
    char vocab[1200];
    snprintf(vocab, sizeof vocab, "%s/text/bert-base-chinese-vocab.txt", data);
    int V = count_lines(vocab);
    TC_CHECK(V > 200, "vocab %d", V);

    char big[1200], small[1200];
    snprintf(big, sizeof big, "%s/text/json_coco_train_zh_token.json", data);
    snprintf(small, sizeof small, "%s/small.json", root);
    TC_CHECK(subset(big, small, 6) == 0, "subset: %s", tc_error_get());
    static const tc_arch archs[2] = {TC_ARCH_V1, TC_ARCH_V2};
    for (int a = 0; a < 2; a++) {
        const char *tag = archs[a] == TC_ARCH_V1 ? "v1" : "v2";
        char init[1200];
        snprintf(init, sizeof init, "%s/init_%s", root, tag);
        TC_CHECK(make_model(init, archs[a], V, data, 1, 1, 0.1f) == 0, "model %s: %s", tag, tc_error_get());
        run_task(root, data, init, TC_FT_CAPTION, tag, STEPS, NULL, 2e-3);
        run_task(root, data, init, TC_FT_VQA, tag, STEPS, NULL, 2e-3);
        if (archs[a] == TC_ARCH_V2) {
            run_task(root, data, init, TC_FT_RETRIEVAL, tag, 100, small, 2e-3);
        } else {
            /* matching inside a one-layer cross encoder with dropout learns too slowly for a short test; two
             * layers without dropout separate six images within ~60 steps (0.20 -> 0.07 by step 150) */
            char init2[1200];
            snprintf(init2, sizeof init2, "%s/init_v1_2l", root);
            TC_CHECK(make_model(init2, TC_ARCH_V1, V, data, 1, 2, 0.f) == 0, "model: %s", tc_error_get());
            run_task(root, data, init2, TC_FT_RETRIEVAL, tag, 150, small, 3e-3);
        }
    }

    /* v2 model without a VQA decoder: VQA fine-tuning adds one (new parameters, the rest loaded) */
    char nodec[1200];
    snprintf(nodec, sizeof nodec, "%s/init_v2_nodec", root);
    TC_CHECK(make_model(nodec, TC_ARCH_V2, V, data, 0, 1, 0.1f) == 0, "model without decoder: %s", tc_error_get());
    tc_model m;
    int n_new = 0;
    TC_CHECK(tc_finetune_init_model(&m, nodec, TC_FT_VQA, 0, 1, 0, &n_new) == 0, "init: %s", tc_error_get());
    if (m.impl) {
        TC_CHECK(tc_opt_v2_of(&m)->has_vqa, "decoder added");
        TC_CHECK(n_new > 0, "new parameters %d", n_new);
        tc_model ref;
        TC_CHECK(tc_finetune_init_model(&ref, nodec, TC_FT_CAPTION, 0, 1, 0, &n_new) == 0, "caption init: %s", tc_error_get());
        if (ref.impl) {
            TC_CHECK(n_new == 0, "caption init loads everything (%d new)", n_new);
            TC_CHECK(!tc_opt_v2_of(&ref)->has_vqa, "no decoder for captioning");
            /* the loaded parameters are the file's, not the fresh ones */
            tc_opt_v2 *x = tc_opt_v2_of(&m), *y = tc_opt_v2_of(&ref);
            TC_CHECK(memcmp(x->word.table->data, y->word.table->data, sizeof(float) * (size_t)V * 32) == 0,
                     "word table loaded");
            tc_model_free(&ref);
        }
        tc_model_free(&m);
    }
    /* v1 retrieval: rank_output from ITM row 2 on request */
    char v1init[1200];
    snprintf(v1init, sizeof v1init, "%s/init_v1", root);
    TC_CHECK(tc_finetune_init_model(&m, v1init, TC_FT_RETRIEVAL, 1, 1, 0, &n_new) == 0, "v1 init: %s", tc_error_get());
    if (m.impl) {
        tc_opt_v1 *v = tc_opt_v1_of(&m);
        TC_CHECK(memcmp(v->rank.w->data, v->itm.w->data + 2 * 32, sizeof(float) * 32) == 0, "rank = itm row 2");
        TC_CHECK(v->rank.b->data[0] == v->itm.b->data[2], "rank bias = itm bias 2");
        tc_model_free(&m);
    }
    /* errors: missing init */
    tc_finetune_opts o = tc_finetune_defaults(TC_FT_CAPTION);
    o.data = data;
    o.out = "/nonexistent/x";
    TC_CHECK(tc_finetune_run(&o) == -1 && strstr(tc_error_get(), "--init"), "missing --init: %s", tc_error_get());

    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (getenv("TC_TEST_KEEP")) printf("kept %s\n", root);
    else if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return tc_test_summary("finetune");
}
