/* OPT-v2 pre-training tasks on a tiny built-in dataset: every task's loss goes down over a few dozen
 * steps (alone under the MetaLoader, and summed as the original's itmTwo), ITM negatives really are
 * mismatched pairs, and the MLM masking rules (fixed 2 pieces; BERT 15 % with 80/10/10). */
#define _XOPEN_SOURCE 700
#include "tc_test.h"

#include <ftw.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "core/threads.h"
#include "data/synth.h"
#include "model/opt_v2.h"
#include "train/tasks.h"
#include "train/trainer.h"

static char root[256];
static tc_itm_neg g_itm_neg = TC_ITM_NEG_HARD; /* ITM negatives of the next train() */
static long g_itm_hard_from;
static int g_itm_rows; /* ITM triples per batch of the next train() (0: all 8) */
/* g_freeze: the next train() freezes both towers (vit_freeze + freeze_text) and counts, per parameter, the
 * frozen ones that changed and the trainable ones that did not */
static int g_freeze, g_frozen_n[2], g_frozen_changed, g_trainable, g_trainable_unchanged;
static int vocab;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f) {
    (void)sb; (void)flag; (void)f;
    return remove(p);
}

typedef struct losses { double v[4][256]; int n; } losses;

static void on_step(void *user, const tc_step_record *r) {
    losses *l = user;
    if (l->n >= 256) return;
    for (int i = 0; i < r->ntasks && i < 4; i++) l->v[i][l->n] = r->task_loss[i];
    l->n++;
}

static void tiny_cfg(tc_model_config *c) {
    tc_model_config_preset("opt-v2-tiny", c);
    c->hidden_size = c->vit_hidden_size = 32;
    c->num_attention_heads = c->vit_num_heads = 2;
    c->intermediate_size = c->vit_intermediate_size = 64;
    c->num_hidden_layers = c->text_num_layers = c->vit_num_layers = 1;
    c->patch_size = 8;
    c->train_image_size = 16;
    c->itc_dim = 16;
    c->vocab_size = c->txt_dec_vocab_size = vocab;
    c->dec_num_layers = 0;
    c->max_text_len = 48;
    c->hidden_dropout_prob = c->attention_probs_dropout_prob = 0.0f;
}

/* Mean of the non-NaN values in [a, b) of the series (NaN: the task did not run that step). */
static double mean_of(const double *v, int a, int b) {
    double s = 0;
    int n = 0;
    for (int i = a; i < b; i++)
        if (!isnan(v[i])) { s += v[i]; n++; }
    return n ? s / n : NAN;
}

/* Train `ntask` tasks (names) for `steps` steps; returns the per-task loss series. */
static int train(const tc_ds_captions *ds, const char *const *names, int ntask, int sum, int steps, losses *out,
                 tc_v2_tasks *keep) {
    tc_model_config mc;
    tiny_cfg(&mc);
    tc_model m;
    if (tc_model_create(&m, &mc, 7)) return -1;
    tc_loader_cfg lc = tc_loader_cfg_v2(16, 48);
    tc_loader *L = tc_loader_open(ds, &lc);
    if (!L) { tc_model_free(&m); return -1; }
    tc_v2_tasks vt;
    tc_v2_tasks_init(&vt, &m, L, ds, 8, 7);
    vt.rand_hi = vocab;
    vt.itm_neg = g_itm_neg;
    vt.itm_hard_from = g_itm_hard_from;
    vt.itm_rows = g_itm_rows;
    tc_train_task tasks[4];
    for (int i = 0; i < ntask; i++) tasks[i] = (tc_train_task){names[i], 1, 1.0f, tc_v2_task_by_name(names[i]), &vt};
    char run[512];
    static int nrun;
    snprintf(run, sizeof run, "%s/run_%s_%d_%d", root, names[0], sum, nrun++);
    tc_trainer_cfg tc = tc_trainer_defaults(steps);
    tc.run_dir = run;
    tc.lr = (tc_lr_schedule){TC_LR_WARMUP_COSINE, 2e-3, 1e-4, 3, steps};
    tc.sum_tasks = sum;
    tc.ckpt_every = 0;
    tc.progress = 0;
    tc.plot = 0;
    tc.peak_gflops = 1;
    memset(out, 0, sizeof *out);
    tc.on_step = on_step;
    tc.on_step_user = out;
    float *before = NULL;
    if (g_freeze) {
        tc_opt_v2_freeze_towers(&m, 1, 1, g_frozen_n, NULL);
        before = tc_xmalloc(sizeof(float) * m.params.total);
        memcpy(before, m.params.data, sizeof(float) * m.params.total);
    }
    int rc = tc_train(&tc, &m.params, tasks, ntask, NULL, TC_START_FRESH);
    if (before) {
        g_frozen_changed = g_trainable = g_trainable_unchanged = 0;
        for (int i = 0; i < m.params.n; i++) {
            const tc_param *p = m.params.p[i];
            int same = memcmp(before + p->offset, p->t.data, sizeof(float) * p->numel) == 0;
            if (!p->t.requires_grad) g_frozen_changed += !same;
            else if (strncmp(p->name, "itm_output.", 11) && strncmp(p->name, "uniter.pooler.", 14) &&
                     strcmp(p->name, "clip_temp")) {
                g_trainable++; /* the v2 tasks do not use the 5-way itm_output, the pooler or clip_temp */
                g_trainable_unchanged += same;
                if (same) printf("trainable but unchanged: %s\n", p->name);
            }
        }
        free(before);
    }
    if (keep) {
        *keep = vt;
        keep->last_neg_t = tc_xmalloc(sizeof(int) * 8);
        keep->last_neg_i = tc_xmalloc(sizeof(int) * 8);
        memcpy(keep->last_neg_t, vt.last_neg_t, sizeof(int) * 8);
        memcpy(keep->last_neg_i, vt.last_neg_i, sizeof(int) * 8);
        keep->gs = NULL;
    }
    tc_v2_tasks_free(&vt);
    tc_loader_close(L);
    tc_model_free(&m);
    return rc;
}

static void test_each_task(const tc_ds_captions *ds) {
    static const char *const names[4] = {"mlm", "itc", "itm", "td"};
    /* ITC starts on a plateau at ln B (the CLS embeddings of a fresh model hardly depend on the input; see
     * docs/training.md), so it gets more steps. ITM's first drop is towards the label prior (1/3 positives:
     * H = 0.6365); its threshold only asks for a real decrease below the starting loss. */
    static const int task_steps[4] = {40, 80, 40, 40};
    static const double need[4] = {0.8, 0.85, 0.93, 0.8};
    for (int t = 0; t < 4; t++) {
        int steps = task_steps[t];
        losses l;
        tc_v2_tasks vt;
        int rc = train(ds, &names[t], 1, 0, steps, &l, t == 2 ? &vt : NULL);
        TC_CHECK(rc == 0, "%s: %s", names[t], tc_error_get());
        if (rc) continue;
        double first = mean_of(l.v[0], 0, 5), last = mean_of(l.v[0], steps - 5, steps);
        printf("%s alone: first 5 steps %.4f, last 5 %.4f\n", names[t], first, last);
        TC_CHECK(last < need[t] * first, "%s: loss %.4f -> %.4f did not decrease below %.2f x", names[t], first, last, need[t]);
        if (t == 2) {
            /* every mined negative shows another image than its positive, none repeats the positive text */
            TC_CHECK(vt.itm_pairs == 2L * 8 * steps, "ITM pairs %ld", vt.itm_pairs);
            TC_CHECK(vt.itm_neg_same_item == 0, "%ld negatives share the positive's image", vt.itm_neg_same_item);
            for (int i = 0; i < 8; i++)
                TC_CHECK(vt.last_neg_t[i] != i && vt.last_neg_i[i] != i && vt.last_neg_t[i] >= 0 && vt.last_neg_t[i] < 8,
                         "row %d: negatives %d %d", i, vt.last_neg_t[i], vt.last_neg_i[i]);
            free(vt.last_neg_t);
            free(vt.last_neg_i);
        }
    }
}

/* itmTwo + td: the four losses summed on one shared batch per step (one ViT pass) */
static void test_sum(const tc_ds_captions *ds) {
    static const char *const names[4] = {"mlm", "itc", "itm", "td"};
    int steps = 30;
    losses l;
    int rc = train(ds, names, 4, 1, steps, &l, NULL);
    TC_CHECK(rc == 0, "%s", tc_error_get());
    if (rc) return;
    double f = 0, z = 0;
    for (int t = 0; t < 4; t++) {
        double first = mean_of(l.v[t], 0, 5), last = mean_of(l.v[t], steps - 5, steps);
        printf("%s in the sum: first 5 steps %.4f, last 5 %.4f\n", names[t], first, last);
        TC_CHECK(!isnan(first) && !isnan(last), "%s ran every step of the sum", names[t]);
        TC_CHECK(last < first + 0.01, "%s (summed): loss %.4f -> %.4f went up", names[t], first, last);
        f += first;
        z += last;
    }
    TC_CHECK(z < 0.9 * f, "summed loss %.4f -> %.4f", f, z);
}

static void test_masking(void) {
    tc_model m;
    memset(&m, 0, sizeof m);
    m.cfg.vocab_size = 300;
    tc_v2_tasks t;
    tc_v2_tasks_init(&t, &m, NULL, NULL, 2, 5);
    t.rand_lo = 200;
    t.rand_hi = 300;
    enum { T = 12 };
    int32_t ids[T] = {101, 210, 211, 212, 213, 214, 215, 216, 102, 0, 0, 0}, out[T], tgt[T];
    float valid[T] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
    int pos[T];
    int seen[T] = {0};
    for (int row = 0; row < 200; row++) {
        int n = tc_v2_mlm_mask_row(&t, ids, valid, T, 3, row, out, pos, tgt);
        TC_CHECK(n == 2, "fixed mode masks exactly 2 pieces, got %d", n);
        for (int j = 0; j < n; j++) {
            TC_CHECK(pos[j] >= 1 && pos[j] <= 7, "masked position %d outside the word pieces", pos[j]);
            TC_CHECK(out[pos[j]] == 103 && tgt[j] == ids[pos[j]], "mask/target at %d", pos[j]);
            seen[pos[j]]++;
        }
        int changed = 0;
        for (int k = 0; k < T; k++) changed += out[k] != ids[k];
        TC_CHECK(changed == 2, "%d ids changed", changed);
        int32_t again[T], tg2[T];
        int p2[T];
        TC_CHECK(tc_v2_mlm_mask_row(&t, ids, valid, T, 3, row, again, p2, tg2) == 2 && memcmp(again, out, sizeof out) == 0,
                 "masking is a function of (seed, key, row)");
    }
    for (int k = 1; k <= 7; k++) TC_CHECK(seen[k] > 20, "position %d masked only %d times in 200 rows", k, seen[k]);
    /* one piece: one mask; no piece: nothing */
    int32_t one[4] = {101, 220, 102, 0};
    float v1[4] = {1, 1, 1, 0};
    TC_CHECK(tc_v2_mlm_mask_row(&t, one, v1, 4, 0, 0, out, pos, tgt) == 1 && pos[0] == 1, "single piece");
    float v0[4] = {1, 1, 0, 0};
    TC_CHECK(tc_v2_mlm_mask_row(&t, one, v0, 4, 0, 0, out, pos, tgt) == 0, "no piece");
    /* BERT: ~15 % of the pieces, >= 1 per row, ~80 % [MASK] / 10 % random / 10 % kept */
    t.mlm_mode = TC_MLM_BERT;
    long masked = 0, pieces = 0, as_mask = 0, as_rand = 0, kept = 0;
    for (int row = 0; row < 3000; row++) {
        int n = tc_v2_mlm_mask_row(&t, ids, valid, T, 9, row, out, pos, tgt);
        TC_CHECK(n >= 1, "BERT mode masks at least one piece");
        masked += n;
        pieces += 7;
        for (int j = 0; j < n; j++) {
            if (out[pos[j]] == 103) as_mask++;
            else if (out[pos[j]] == ids[pos[j]]) kept++;
            else { as_rand++; TC_CHECK(out[pos[j]] >= 200 && out[pos[j]] < 300, "random id %d", out[pos[j]]); }
        }
    }
    double frac = (double)masked / pieces;
    printf("BERT masking: %.3f of pieces, %.3f [MASK], %.3f random, %.3f kept\n", frac, (double)as_mask / masked,
           (double)as_rand / masked, (double)kept / masked);
    /* expected 0.15 + P(no piece drawn)/7 = 0.15 + 0.85^7/7 = 0.196 */
    TC_CHECK(fabs(frac - 0.196) < 0.012, "masked fraction %.3f (0.15 + the at-least-one rule: 0.196)", frac);
    TC_CHECK(fabs((double)as_mask / masked - 0.8) < 0.03, "[MASK] share");
    TC_CHECK(fabs((double)as_rand / masked - 0.1) < 0.03 && fabs((double)kept / masked - 0.1) < 0.03, "random/kept shares");
    tc_v2_tasks_free(&t);
}

/* the curriculum: hard mining configured but starting at a later step draws exactly the random negatives
 * before it (same draws, same losses); from that step on the negatives are the mined ones */
static void test_itm_curriculum(const tc_ds_captions *ds) {
    static const char *const names[1] = {"itm"};
    const int steps = 4;
    losses a, b, c;
    tc_v2_tasks va, vb, vc;
    g_itm_neg = TC_ITM_NEG_RANDOM; g_itm_hard_from = 0;
    int rc = train(ds, names, 1, 0, steps, &a, &va);
    g_itm_neg = TC_ITM_NEG_HARD; g_itm_hard_from = 1000;
    rc |= train(ds, names, 1, 0, steps, &b, &vb);
    g_itm_neg = TC_ITM_NEG_HARD; g_itm_hard_from = 0;
    rc |= train(ds, names, 1, 0, steps, &c, &vc);
    TC_CHECK(rc == 0, "%s", tc_error_get());
    if (rc) return;
    int same_ab = 1, same_ac = 1;
    for (int i = 0; i < steps; i++) {
        same_ab &= a.v[0][i] == b.v[0][i];
        same_ac &= a.v[0][i] == c.v[0][i];
    }
    for (int i = 0; i < 8; i++) same_ab &= va.last_neg_t[i] == vb.last_neg_t[i] && va.last_neg_i[i] == vb.last_neg_i[i];
    TC_CHECK(same_ab, "itm_hard_from 1000 did not draw the random negatives before that step");
    TC_CHECK(!same_ac, "hard mining from step 0 gave the random run's losses");
    free(va.last_neg_t); free(va.last_neg_i);
    free(vb.last_neg_t); free(vb.last_neg_i);
    free(vc.last_neg_t); free(vc.last_neg_i);
}

/* the three ways to pick a negative, on a hand-made similarity row: hard takes the most similar allowed
 * candidate, random is uniform over the allowed ones, sampled follows softmax(scale * sim) over them; an
 * excluded candidate is never taken. 40 000 draws each: the bound is 5 binomial standard deviations. */
static void test_itm_negative_draws(void) {
    enum { N = 5, DRAWS = 40000 };
    const float sim[2 * N] = {0.1f, -9, 0.5f, -9, 0.3f, -9, 0.9f, -9, 0.2f, -9}; /* stride 2 */
    const unsigned char ok[N] = {1, 1, 1, 0, 1}, none[N] = {0};
    const float scale = 5.0f;
    tc_rng r;
    tc_rng_seed(&r, 11);
    TC_CHECK(tc_v2_itm_negative(sim, 2, ok, N, TC_ITM_NEG_HARD, scale, &r) == 1, "hard: not the most similar allowed row");
    for (int mode = 0; mode < 3; mode++)
        TC_CHECK(tc_v2_itm_negative(sim, 2, none, N, (tc_itm_neg)mode, scale, &r) == -1, "mode %d: a pick with no candidate", mode);
    double z = 0, p[2][N];
    for (int j = 0; j < N; j++) z += ok[j] ? exp(scale * sim[2 * j]) : 0;
    for (int j = 0; j < N; j++) {
        p[0][j] = ok[j] ? 0.25 : 0;                       /* random */
        p[1][j] = ok[j] ? exp(scale * sim[2 * j]) / z : 0; /* sampled */
    }
    const tc_itm_neg modes[2] = {TC_ITM_NEG_RANDOM, TC_ITM_NEG_SAMPLED};
    for (int m = 0; m < 2; m++) {
        long cnt[N] = {0};
        int bad = 0;
        for (int k = 0; k < DRAWS; k++) {
            int j = tc_v2_itm_negative(sim, 2, ok, N, modes[m], scale, &r);
            if (j < 0 || j >= N) bad++;
            else cnt[j]++;
        }
        TC_CHECK(bad == 0, "mode %d: %d picks out of range", (int)modes[m], bad);
        for (int j = 0; j < N; j++) {
            double f = (double)cnt[j] / DRAWS, sd = sqrt(p[m][j] * (1 - p[m][j]) / DRAWS);
            TC_CHECK(fabs(f - p[m][j]) <= 5 * sd + 1e-9, "mode %d: row %d drawn %.4f of the time, expected %.4f",
                     (int)modes[m], j, f, p[m][j]);
        }
    }
}

/* itm_rows: ITM triples for only the first rows of the batch (negatives still from all of it); the loss
 * still falls with sampled negatives */
static void test_itm_rows(const tc_ds_captions *ds) {
    static const char *const names[1] = {"itm"};
    const int steps = 40;
    losses l;
    tc_v2_tasks vt;
    g_itm_neg = TC_ITM_NEG_SAMPLED; g_itm_rows = 4;
    int rc = train(ds, names, 1, 0, steps, &l, &vt);
    g_itm_neg = TC_ITM_NEG_HARD; g_itm_rows = 0;
    TC_CHECK(rc == 0, "%s", tc_error_get());
    if (rc) return;
    TC_CHECK(vt.itm_pairs == 2L * 4 * steps, "ITM pairs %ld, expected %d", vt.itm_pairs, 2 * 4 * steps);
    TC_CHECK(vt.itm_neg_same_item == 0, "%ld negatives share the positive's image", vt.itm_neg_same_item);
    double first = mean_of(l.v[0], 0, 5), last = mean_of(l.v[0], steps - 5, steps);
    printf("itm (sampled, 4 of 8 rows): first 5 steps %.4f, last 5 %.4f\n", first, last);
    TC_CHECK(last < 0.93 * first, "ITM on 4 rows: loss %.4f -> %.4f", first, last);
    free(vt.last_neg_t);
    free(vt.last_neg_i);
}

/* vit_freeze + freeze_text: after steps of the summed v2 tasks every ViT and text-tower tensor is exactly as
 * it was, and every other tensor the tasks use has moved (weight decay alone would move a frozen one) */
static void test_freeze(const tc_ds_captions *ds) {
    static const char *const names[4] = {"mlm", "itc", "itm", "td"};
    losses l;
    g_freeze = 1;
    int rc = train(ds, names, 4, 1, 3, &l, NULL);
    g_freeze = 0;
    TC_CHECK(rc == 0, "%s", tc_error_get());
    if (rc) return;
    TC_CHECK(g_frozen_n[0] > 0 && g_frozen_n[1] > 0, "froze %d ViT and %d text tensors", g_frozen_n[0], g_frozen_n[1]);
    TC_CHECK(g_frozen_changed == 0, "%d frozen tensors changed", g_frozen_changed);
    TC_CHECK(g_trainable > 0 && g_trainable_unchanged == 0, "%d of %d trainable tensors did not change",
             g_trainable_unchanged, g_trainable);
}

int main(void) {
    tc_set_threads(2);
    snprintf(root, sizeof root, "/tmp/taichu_test_tasks_%d", (int)getpid());
    tc_synth_opts so = {root, 30, 16, 3, 0, 0, 0, 90};
    tc_synth_stats st;
    if (tc_synth_generate(&so, &st)) {
        fprintf(stderr, "synth: %s\n", tc_error_get());
        return 1;
    }
    vocab = st.vocab_size;
    char *caps = tc_path_join(root, "text/json_coco_train_zh_token.json"), *img = tc_path_join(root, "image");
    tc_ds_opts o = tc_ds_opts_default();
    o.vocab_size = vocab;
    tc_ds_captions ds;
    int rc = tc_ds_load_captions(caps, img, TC_DS_CAPS_SOME, &o, &ds);
    TC_CHECK(rc == 0, "%s", tc_error_get());
    test_masking();
    test_itm_negative_draws();
    if (rc == 0) {
        test_each_task(&ds);
        test_sum(&ds);
        test_itm_curriculum(&ds);
        test_itm_rows(&ds);
        test_freeze(&ds);
        tc_ds_captions_free(&ds);
    }
    free(caps);
    free(img);
    nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return tc_test_summary("test_tasks");
}
