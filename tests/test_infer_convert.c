/* `taichu convert` end to end: MindSpore .ckpt files written with tc_ckpt_write_f32 from a tiny random opt-v1
 * model (the pretrained checkpoint's layout: the three tied weights under their alias names, Adam state and
 * global_step next to the weights, no rank_output), converted by the CLI ($TAICHU_CLI) and read back:
 *   - complete checkpoint: every tensor bit-identical after the round trip, rank_output = ITM row 2,
 *     optimizer state counted as ignored, aliases counted;
 *   - one tensor missing / one of the wrong shape: exit status 1, the offender named, nothing written;
 *   - .safetensors input and conversion into an existing directory. */
#include "tc_test.h"

#include "core/error.h"
#include "core/fileio.h"
#include "io/mindspore_ckpt.h"
#include "model/model.h"
#include "model/opt_v1.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[512];
static const char *cli;

static char *in_root(const char *name) { return tc_path_join(root, name); }

static tc_model_config small_v1(void) {
    tc_model_config c;
    tc_model_config_preset("opt-v1-tiny", &c);
    c.hidden_size = 32; c.num_hidden_layers = 1; c.num_attention_heads = 2; c.intermediate_size = 64;
    c.vocab_size = 256; c.max_position_embeddings = 64; c.patch_size = 8; c.train_image_size = 32;
    c.vit_hidden_size = 32; c.vit_num_layers = 1; c.vit_num_heads = 2; c.vit_intermediate_size = 64;
    c.max_text_len = 12; c.dec_hidden_size = 32; c.dec_num_layers = 1; c.dec_num_heads = 2;
    c.dec_intermediate_size = 64; c.dec_max_position = 16; c.txt_dec_vocab_size = 256; c.img_dec_vocab_size = 0;
    c.audio_dim = 16;
    return c;
}

static const char *stored_name(const char *name) {
    if (strcmp(name, "uniter.embeddings.word_embeddings.embedding_table") == 0) return "cls.predictions.decoder.weight";
    if (strcmp(name, "uniter.img_embeddings.img_linear.weight") == 0) return "feat_regress.weight";
    if (strcmp(name, "uniter.audio_embeddings.audio_linear.weight") == 0) return "audio_feat_regress.weight";
    return name;
}

/* Write m's parameters as a pretraining .ckpt. drop: a name left out; bad_shape: a name stored with its first
 * dimension one short. Adds adam_m/adam_v of the first parameter and global_step. rank_output is left out. */
static int has_prefix(const char *name, const char *const *prefixes) {
    for (int i = 0; prefixes && prefixes[i]; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) return 1;
    return 0;
}

/* heads: NULL for the pretraining layout; else a fine-tuned layout: these name prefixes left out and the
 * tied weights under their canonical names (no heads to share them with, spec §7.2). */
static int write_ckpt(const tc_model *m, const char *path, const char *drop, const char *bad_shape,
                      const char *const *heads) {
    int cap = m->params.n + 3, n = 0;
    const char **names = tc_xcalloc((size_t)cap, sizeof *names);
    const float **data = tc_xcalloc((size_t)cap, sizeof *data);
    int *nd = tc_xcalloc((size_t)cap, sizeof *nd);
    int64_t(*shp)[TC_MAX_DIMS] = tc_xcalloc((size_t)cap, sizeof *shp);
    const int64_t **shapes = tc_xcalloc((size_t)cap, sizeof *shapes);
    char *adam[2] = {NULL, NULL};
    static const float step = 1234.f;
    for (int i = 0; i < m->params.n; i++) {
        const tc_param *p = m->params.p[i];
        if (strncmp(p->name, "rank_output.", 12) == 0 || (drop && strcmp(p->name, drop) == 0)) continue;
        if (has_prefix(p->name, heads)) continue;
        names[n] = heads ? p->name : stored_name(p->name);
        data[n] = p->t.data;
        nd[n] = p->t.ndim;
        for (int d = 0; d < p->t.ndim; d++) shp[n][d] = p->t.shape[d];
        if (bad_shape && strcmp(p->name, bad_shape) == 0) shp[n][0] -= 1; /* fewer elements, still readable */
        shapes[n] = shp[n];
        n++;
    }
    for (int k = 0; k < 2; k++) {
        const tc_param *p = m->params.p[0];
        size_t len = strlen(p->name) + 8;
        adam[k] = tc_xmalloc(len);
        snprintf(adam[k], len, "%s.%s", k ? "adam_v" : "adam_m", p->name);
        names[n] = adam[k];
        data[n] = p->t.data;
        nd[n] = p->t.ndim;
        for (int d = 0; d < p->t.ndim; d++) shp[n][d] = p->t.shape[d];
        shapes[n] = shp[n];
        n++;
    }
    names[n] = "global_step";
    data[n] = &step;
    nd[n] = 1;
    shp[n][0] = 1;
    shapes[n] = shp[n];
    n++;
    int rc = tc_ckpt_write_f32(path, names, data, nd, shapes, n);
    free(adam[0]); free(adam[1]);
    free(names); free(data); free(nd); free(shp); free(shapes);
    return rc;
}

/* Run the CLI; stdout+stderr go to <root>/out.txt, returned malloc'd in *out. Returns the exit status. */
static int run(const char *args, char **out) {
    char *log = in_root("out.txt");
    size_t len = strlen(cli) + strlen(args) + strlen(log) + 32;
    char *cmd = tc_xmalloc(len);
    snprintf(cmd, len, "%s %s >%s 2>&1", cli, args, log);
    int st = system(cmd);
    free(cmd);
    size_t n;
    *out = tc_read_file(log, &n);
    if (!*out) *out = tc_xstrdup("");
    free(log);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* remove a model directory left by an earlier run */
static void rm_model_dir(const char *name) {
    static const char *const files[] = {"config.json", "model.safetensors", "vocab.txt", "ids_to_tokens_zh.json"};
    char *dir = in_root(name);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *p = tc_path_join(dir, files[i]);
        unlink(p);
        free(p);
    }
    rmdir(dir);
    free(dir);
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

int main(void) {
    cli = getenv("TAICHU_CLI");
    if (!cli) cli = TAICHU_BINARY_DIR "/taichu";
    snprintf(root, sizeof root, "%s/test_infer_convert_tmp", TAICHU_BINARY_DIR);
    tc_mkdir_p(root);
    static const char *const stale[] = {"model", "model2", "bad_model", "model_cap"};
    for (int i = 0; i < 4; i++) rm_model_dir(stale[i]);
    char *cfg_path = in_root("config.json"), *ck = in_root("full.ckpt"), *ck_missing = in_root("missing.ckpt");
    char *ck_shape = in_root("shape.ckpt"), *dir = in_root("model"), *dir2 = in_root("model2");
    char *dir_bad = in_root("bad_model"), *st = tc_path_join(dir, "model.safetensors");
    const char *vocab = TAICHU_TEST_DATA "/tokenizer/vocab.txt";
    char args[4096], *out;

    tc_model_config c = small_v1();
    c.vocab_size = 8000; /* holds the 6588-line test vocabulary */
    TC_CHECK(tc_model_config_save(cfg_path, &c) == 0, "%s", tc_error_get());
    tc_model m;
    TC_CHECK(tc_model_create(&m, &c, 77) == 0, "%s", tc_error_get());
    tc_opt_v1 *v = tc_opt_v1_of(&m);
    v->rank.b->data[0] = 42.f; /* not in the checkpoint: convert must derive it from ITM row 2 */
    const char *victim = "uniter.encoder.encoder.blocks.0.layernorm1.gamma";
    const char *misshapen = "txt_output.LinearEmbedding.weight";
    TC_CHECK(write_ckpt(&m, ck, NULL, NULL, NULL) == 0, "%s", tc_error_get());
    TC_CHECK(write_ckpt(&m, ck_missing, victim, NULL, NULL) == 0, "%s", tc_error_get());
    TC_CHECK(write_ckpt(&m, ck_shape, NULL, misshapen, NULL) == 0, "%s", tc_error_get());

    /* complete checkpoint */
    snprintf(args, sizeof args, "convert --from %s --config %s --vocab %s --to %s --json", ck, cfg_path, vocab, dir);
    int rc = run(args, &out);
    TC_CHECK(rc == 0, "convert failed (%d): %s", rc, out);
    TC_CHECK(strstr(out, "\"optimizer_state_ignored\":\t3") != NULL, "optimizer state count: %s", out);
    TC_CHECK(strstr(out, "\"aliases\":\t3") != NULL, "alias count: %s", out);
    TC_CHECK(strstr(out, "\"rank_from_itm\":\ttrue") != NULL, "rank_output derivation: %s", out);
    free(out);
    tc_model back;
    TC_CHECK(tc_model_load_dir(&back, dir) == 0, "%s", tc_error_get());
    if (back.impl) {
        int same = back.params.n == m.params.n, diff_at = -1;
        for (int i = 0; same && i < m.params.n; i++) {
            const tc_param *a = m.params.p[i], *b = back.params.p[i];
            if (strncmp(a->name, "rank_output.", 12) == 0) continue;
            if (strcmp(a->name, b->name) != 0 || a->numel != b->numel ||
                memcmp(a->t.data, b->t.data, sizeof(float) * a->numel) != 0)
                same = 0, diff_at = i;
        }
        TC_CHECK(same, "round trip differs at parameter %d (%s)", diff_at, diff_at >= 0 ? m.params.p[diff_at]->name : "");
        tc_opt_v1 *w = tc_opt_v1_of(&back);
        int D = c.hidden_size;
        TC_CHECK(memcmp(w->rank.w->data, v->itm.w->data + 2 * D, sizeof(float) * (size_t)D) == 0 &&
                     w->rank.b->data[0] == v->itm.b->data[2],
                 "rank_output is not ITM row 2");
        char *vt = tc_path_join(dir, "vocab.txt");
        TC_CHECK(exists(vt), "vocab.txt not copied");
        free(vt);
        tc_model_free(&back);
    }

    /* info reads the zero-shot rule back from the written weights */
    snprintf(args, sizeof args, "info --json %s", dir);
    rc = run(args, &out);
    TC_CHECK(rc == 0 && strstr(out, "zero-shot") && strstr(out, "\"cross encoder\""), "info: %d %s", rc, out);
    free(out);

    /* a missing tensor: named, nothing written */
    snprintf(args, sizeof args, "convert --from %s --config %s --vocab %s --to %s", ck_missing, cfg_path, vocab, dir_bad);
    rc = run(args, &out);
    TC_CHECK(rc == 1, "missing tensor accepted (%d): %s", rc, out);
    TC_CHECK(strstr(out, victim) != NULL && strstr(out, "1 expected tensor(s) missing"), "not listed: %s", out);
    TC_CHECK(!exists(dir_bad), "output written despite the error");
    free(out);

    /* a wrong shape: named with both shapes, nothing written */
    snprintf(args, sizeof args, "convert --from %s --preset opt-v1-tiny --vocab %s --to %s", ck_shape, vocab, dir_bad);
    rc = run(args, &out);
    TC_CHECK(rc == 1, "preset with other dims accepted (%d)", rc);
    free(out);
    snprintf(args, sizeof args, "convert --from %s --config %s --vocab %s --to %s", ck_shape, cfg_path, vocab, dir_bad);
    rc = run(args, &out);
    TC_CHECK(rc == 1, "wrong shape accepted (%d): %s", rc, out);
    TC_CHECK(strstr(out, "txt_output.LinearEmbedding.weight: file [31, 32] vs model [32, 32]") != NULL,
             "shape not reported: %s", out);
    TC_CHECK(!exists(dir_bad), "output written despite the error");
    free(out);

    /* .safetensors input, into an existing directory */
    tc_mkdir_p(dir2);
    snprintf(args, sizeof args, "convert --from %s --config %s --vocab %s --to %s", st, cfg_path, vocab, dir2);
    rc = run(args, &out);
    TC_CHECK(rc == 0, "safetensors convert failed (%d): %s", rc, out);
    free(out);
    TC_CHECK(tc_model_load_dir(&back, dir2) == 0, "%s", tc_error_get());
    if (back.impl) {
        tc_param *a = tc_params_find(&back.params, "uniter.pooler.dense.weight");
        tc_param *b = tc_params_find(&m.params, "uniter.pooler.dense.weight");
        TC_CHECK(a && b && memcmp(a->t.data, b->t.data, sizeof(float) * a->numel) == 0, "safetensors round trip");
        tc_model_free(&back);
    }

    /* a caption fine-tuned layout (uniter.* + txt_output.* only): refused unless the other heads may be missing */
    static const char *const heads[] = {"itm_output.", "cls.", "feat_regress.", "audio_feat_regress.",
                                        "region_classifier.", NULL};
    char *ck_cap = in_root("caption.ckpt"), *dir_cap = in_root("model_cap");
    TC_CHECK(write_ckpt(&m, ck_cap, NULL, NULL, heads) == 0, "%s", tc_error_get());
    snprintf(args, sizeof args, "convert --from %s --config %s --vocab %s --to %s", ck_cap, cfg_path, vocab, dir_cap);
    rc = run(args, &out);
    TC_CHECK(rc == 1 && strstr(out, "itm_output.weight") && strstr(out, "cls.predictions.transform.dense.weight"),
             "caption layout without --allow-missing: %d %s", rc, out);
    TC_CHECK(!exists(dir_cap), "output written despite the error");
    free(out);
    snprintf(args, sizeof args,
             "convert --from %s --config %s --vocab %s --to %s --json --allow-missing itm_output rank_output cls. "
             "feat_regress audio_feat_regress region_classifier",
             ck_cap, cfg_path, vocab, dir_cap);
    rc = run(args, &out);
    TC_CHECK(rc == 0, "caption layout with --allow-missing: %d %s", rc, out);
    TC_CHECK(strstr(out, "\"rank_from_itm\":\tfalse") && strstr(out, "\"itm_output.weight\""),
             "initialised heads not reported: %s", out);
    free(out);
    TC_CHECK(tc_model_load_dir(&back, dir_cap) == 0, "%s", tc_error_get());
    if (back.impl) {
        tc_param *a = tc_params_find(&back.params, "uniter.embeddings.word_embeddings.embedding_table");
        tc_param *b = tc_params_find(&m.params, "uniter.embeddings.word_embeddings.embedding_table");
        TC_CHECK(a && b && memcmp(a->t.data, b->t.data, sizeof(float) * a->numel) == 0, "canonical word table");
        tc_model_free(&back);
    }
    free(ck_cap);
    free(dir_cap);

    /* usage errors */
    snprintf(args, sizeof args, "convert --from %s --vocab %s --to %s", ck, vocab, dir_bad);
    rc = run(args, &out);
    TC_CHECK(rc == 2, "no --config/--preset: status %d", rc);
    free(out);
    snprintf(args, sizeof args, "convert --from %s/nope.ckpt --config %s --vocab %s --to %s", root, cfg_path, vocab,
             dir_bad);
    rc = run(args, &out);
    TC_CHECK(rc == 1 && strstr(out, "nope.ckpt"), "missing checkpoint: %d %s", rc, out);
    free(out);

    tc_model_free(&m);
    free(cfg_path); free(ck); free(ck_missing); free(ck_shape); free(dir); free(dir2); free(dir_bad); free(st);
    return tc_test_summary("infer_convert");
}
