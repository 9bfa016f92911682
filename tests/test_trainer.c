/* The trainer on the toy tasks (tests/trainer_toy.h): MetaLoader mixing, a full run's artefacts (JSONL
 * log, checkpoints with keep-last-K, validation, curves.svg, `taichu plot`), gradient accumulation against
 * the full batch, the weighted-sum mode, skipped non-finite steps, start-mode errors, the progress line,
 * the peak-FLOP/s probe and the single-process all-gather. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fileio.h"
#include "tc_test.h"
#include "train/checkpoint.h"
#include "train/metaloader.h"
#include "train/peak.h"
#include "train/plot.h"
#include "trainer_toy.h"

static void test_metaloader(void) {
    tc_metaloader ml;
    int ratios[3] = {2, 1, 0};
    TC_CHECK(tc_metaloader_init(&ml, 3, ratios, 7) == 0, "init: %s", tc_error_get());
    int distinct = 0, prev[3] = {-1, -1, -1};
    for (long c = 0; c < 50; c++) {
        int cnt[3] = {0, 0, 0}, seq[3];
        for (int k = 0; k < 3; k++) cnt[seq[k] = tc_metaloader_task(&ml, c * 3 + k)]++;
        TC_CHECK(cnt[0] == 2 && cnt[1] == 1 && cnt[2] == 0, "cycle %ld: counts %d %d %d, want 2 1 0", c, cnt[0],
                 cnt[1], cnt[2]);
        if (memcmp(seq, prev, sizeof seq)) distinct++;
        memcpy(prev, seq, sizeof seq);
    }
    TC_CHECK(distinct > 10, "the order should change between cycles (%d changes in 50)", distinct);
    /* a pure function of (seed, step): random access and a second loader agree */
    tc_metaloader ml2;
    tc_metaloader_init(&ml2, 3, ratios, 7);
    int same = 1;
    for (long s = 149; s >= 0; s--) same &= tc_metaloader_task(&ml, s) == tc_metaloader_task(&ml2, s);
    TC_CHECK(same, "task order depends only on seed and step");
    tc_metaloader_free(&ml2);
    tc_metaloader_free(&ml);
    int zero[2] = {0, 0}, neg[2] = {1, -1};
    TC_CHECK(tc_metaloader_init(&ml, 2, zero, 1) == -1 && strstr(tc_error_get(), "mix_ratio"), "all-zero: %s",
             tc_error_get());
    TC_CHECK(tc_metaloader_init(&ml, 2, neg, 1) == -1 && strstr(tc_error_get(), "mix_ratio[1]"), "negative: %s",
             tc_error_get());
}

typedef struct rec {
    double loss[256], task_loss[256][3];
    int task[256];
    long n;
} rec;

static void on_step(void *user, const tc_step_record *r) {
    rec *x = user;
    if (x->n >= 256) return;
    x->loss[x->n] = r->loss;
    x->task[x->n] = -1;
    for (int i = 0; i < r->ntasks && i < 3; i++) {
        x->task_loss[x->n][i] = r->task_loss[i];
        if (r->task && !strcmp(r->task, r->task_names[i])) x->task[x->n] = i;
    }
    x->n++;
}

static int count_dir(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += !strncmp(e->d_name, prefix, strlen(prefix));
    closedir(d);
    return n;
}

static void test_full_run(void) {
    const char *run = "trainer_run";
    toy_rm_run(run);
    toy t;
    toy_init(&t, 8, 0.1f, 1);
    tc_train_task tasks[2] = {{"incr", 1, 1, toy_incr, &t}, {"copy", 1, 1, toy_copy, &t}};
    tc_trainer_cfg c = toy_cfg(run, 60);
    c.ckpt_every = 20;
    c.keep_last = 2;
    c.eval = toy_eval;
    c.eval_user = &t;
    c.eval_every = 20;
    c.plot = 1;
    c.config_json = "{\"note\": \"toy\"}";
    rec r;
    memset(&r, 0, sizeof r);
    c.on_step = on_step;
    c.on_step_user = &r;
    TC_CHECK(tc_train(&c, &t.m.ps, tasks, 2, NULL, TC_START_FRESH) == 0, "train: %s", tc_error_get());
    TC_CHECK(r.n == 60, "%ld steps recorded", r.n);
    /* each task's mean loss over its first and last 5 steps */
    for (int k = 0; k < 2; k++) {
        double first = 0, last = 0;
        int nf = 0, nl = 0;
        for (long s = 0; s < r.n; s++) {
            if (r.task[s] != k) continue;
            TC_CHECK(isnan(r.task_loss[s][1 - k]), "step %ld: the other task did not run", s);
            if (nf < 5) first += r.task_loss[s][k], nf++;
        }
        for (long s = r.n - 1; s >= 0 && nl < 5; s--)
            if (r.task[s] == k) last += r.task_loss[s][k], nl++;
        TC_CHECK(nf == 5 && nl == 5 && last / nl < 0.7 * first / nf, "task %d: loss %.4f -> %.4f should fall", k,
                 first / nf, last / nl);
    }
    /* log.jsonl: 60 train lines with steps 1..60 and 3 eval lines */
    size_t len;
    char *text = tc_read_file("trainer_run/log.jsonl", &len);
    TC_CHECK(text != NULL, "log.jsonl exists");
    int ntrain = 0, neval = 0, bad = 0;
    double acc_last = -1;
    for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        if (!j) { bad++; continue; }
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(j, "type"));
        int step = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "step"));
        if (type && !strcmp(type, "train")) {
            ntrain++;
            bad += step != ntrain;
            static const char *fields[] = {"loss", "lr", "grad_norm", "samples_per_s", "gflops", "mfu", "eta_s",
                                           "elapsed_s", "step_s"};
            for (int f = 0; f < 9; f++) bad += !cJSON_IsNumber(cJSON_GetObjectItem(j, fields[f]));
            bad += (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "samples")) != 8;
            bad += !cJSON_IsObject(cJSON_GetObjectItem(j, "losses"));
        } else if (type && !strcmp(type, "eval")) {
            neval++;
            bad += step != 20 * neval;
            acc_last = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metrics"), "incr_acc"));
        }
        cJSON_Delete(j);
    }
    free(text);
    TC_CHECK(ntrain == 60 && neval == 3 && bad == 0, "log: %d train, %d eval lines, %d bad fields", ntrain, neval, bad);
    TC_CHECK(acc_last > 0.3, "validation accuracy logged and above chance (1/11): %.3f", acc_last);
    /* checkpoints: keep the last 2 (40, 60), LATEST names step 60, it verifies and loads */
    TC_CHECK(count_dir("trainer_run/checkpoints", "step-") == 2, "%d checkpoint dirs kept, want 2",
             count_dir("trainer_run/checkpoints", "step-"));
    TC_CHECK(tc_file_exists("trainer_run/checkpoints/step-00000040/state.json") &&
                 tc_file_exists("trainer_run/checkpoints/step-00000060/model.safetensors"),
             "steps 40 and 60 kept");
    char *dir = NULL;
    long step = -1;
    TC_CHECK(tc_ckpt_find_latest(run, &dir, &step) == 0 && step == 60, "latest step %ld: %s", step, tc_error_get());
    toy u;
    toy_init(&u, 8, 0.1f, 999);
    tc_ckpt_state st;
    TC_CHECK(dir && tc_ckpt_load(dir, &u.m.ps, &st) == 0, "load: %s", tc_error_get());
    TC_CHECK(memcmp(u.m.ps.data, t.m.ps.data, t.m.ps.total * sizeof(float)) == 0 &&
                 memcmp(u.m.ps.m, t.m.ps.m, t.m.ps.total * sizeof(float)) == 0 &&
                 memcmp(u.m.ps.v, t.m.ps.v, t.m.ps.total * sizeof(float)) == 0,
             "checkpoint holds the final parameters and moments exactly");
    TC_CHECK(st.step == 60 && st.opt_step == 60, "state step %ld opt_step %ld", st.step, st.opt_step);
    tc_ckpt_state_free(&st);
    free(dir);
    toy_free(&u);
    /* config and curves */
    text = tc_read_file("trainer_run/config.json", &len);
    TC_CHECK(text && strstr(text, "toy"), "config.json written");
    free(text);
    text = tc_read_file("trainer_run/curves.svg", &len);
    TC_CHECK(text && !strncmp(text, "<?xml", 5) && strstr(text, "</svg>") && strstr(text, "<path style") &&
                 strstr(text, ">incr") && strstr(text, ">copy") && strstr(text, ">incr_acc") &&
                 strstr(text, "learning rate"),
             "curves.svg has the loss, validation and lr panels with legends");
    free(text);
    /* taichu plot RUN --out FILE through the CLI */
    const char *cli = getenv("TAICHU_CLI");
    if (cli) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "'%s' plot %s --out trainer_plot.svg", cli, run);
        remove("trainer_plot.svg");
        TC_CHECK(system(cmd) == 0 && tc_file_exists("trainer_plot.svg"), "%s", cmd);
        snprintf(cmd, sizeof cmd, "'%s' plot no_such_run_dir 2>/dev/null", cli);
        TC_CHECK(system(cmd) != 0, "plot of a missing run fails");
    }
    /* a fresh start refuses a directory with checkpoints; resume of an empty one fails clearly */
    TC_CHECK(tc_train(&c, &t.m.ps, tasks, 2, NULL, TC_START_FRESH) == -1 && strstr(tc_error_get(), "already holds"),
             "fresh over a run: %s", tc_error_get());
    tc_trainer_cfg c2 = toy_cfg("trainer_empty", 5);
    toy_rm_run("trainer_empty");
    TC_CHECK(tc_train(&c2, &t.m.ps, tasks, 2, NULL, TC_START_RESUME) == -1 && strstr(tc_error_get(), "cannot resume"),
             "resume of nothing: %s", tc_error_get());
    toy_free(&t);
}

/* Two micro-batches of B/2 reproduce one batch of B (dropout 0: same samples in the same order). */
static void test_accumulation(void) {
    rec a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    for (int pass = 0; pass < 2; pass++) {
        const char *run = pass ? "trainer_acc2" : "trainer_acc1";
        toy_rm_run(run);
        toy t;
        toy_init(&t, pass ? 4 : 8, 0.0f, 3);
        tc_train_task task = {"reverse", 1, 1, toy_reverse, &t};
        tc_trainer_cfg c = toy_cfg(run, 12);
        c.accum = pass ? 2 : 1;
        c.on_step = on_step;
        c.on_step_user = pass ? &b : &a;
        TC_CHECK(tc_train(&c, &t.m.ps, &task, 1, NULL, TC_START_FRESH) == 0, "train: %s", tc_error_get());
        toy_free(&t);
        toy_rm_run(run);
    }
    for (int s = 0; s < 12; s++) TC_CHECK_CLOSE(b.loss[s], a.loss[s], 2e-5, 1e-6);
}

/* Sum mode: every task every step, the optimised loss is Σ weight·loss. */
static void test_sum_mode(void) {
    const char *run = "trainer_sum";
    toy_rm_run(run);
    toy t;
    toy_init(&t, 8, 0.0f, 4);
    tc_train_task tasks[2] = {{"reverse", 0, 1.0f, toy_reverse, &t}, {"copy", 0, 0.5f, toy_copy, &t}};
    tc_trainer_cfg c = toy_cfg(run, 6);
    c.sum_tasks = 1;
    rec r;
    memset(&r, 0, sizeof r);
    c.on_step = on_step;
    c.on_step_user = &r;
    TC_CHECK(tc_train(&c, &t.m.ps, tasks, 2, NULL, TC_START_FRESH) == 0, "train: %s", tc_error_get());
    for (int s = 0; s < 6; s++)
        TC_CHECK_CLOSE(r.loss[s], r.task_loss[s][0] + 0.5 * r.task_loss[s][1], 1e-6, 1e-7);
    toy_free(&t);
    toy_rm_run(run);
}

/* A NaN loss: the update is skipped (parameters unchanged) and the step logged as skipped. */
static tc_tensor *nan_loss(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_tensor *l = toy_reverse(user, g, ctx);
    return tc_scale(g, l, NAN);
}
static void on_step_skipped(void *user, const tc_step_record *r) { *(int *)user += r->skipped; }

static void test_skip_nonfinite(void) {
    const char *run = "trainer_nan";
    toy_rm_run(run);
    toy t;
    toy_init(&t, 4, 0.0f, 5);
    float *before = malloc(t.m.ps.total * sizeof(float));
    memcpy(before, t.m.ps.data, t.m.ps.total * sizeof(float));
    tc_train_task task = {"nan", 1, 1, nan_loss, &t};
    tc_trainer_cfg c = toy_cfg(run, 3);
    int skipped = 0;
    c.on_step = on_step_skipped;
    c.on_step_user = &skipped;
    TC_CHECK(tc_train(&c, &t.m.ps, &task, 1, NULL, TC_START_FRESH) == 0, "train: %s", tc_error_get());
    TC_CHECK(skipped == 3, "%d of 3 steps skipped", skipped);
    TC_CHECK(memcmp(before, t.m.ps.data, t.m.ps.total * sizeof(float)) == 0, "parameters unchanged");
    free(before);
    toy_free(&t);
    toy_rm_run(run);
}

static void test_progress_and_peak(void) {
    const char *names[2] = {"mlm", "itm"};
    double losses[2] = {2.5, NAN};
    tc_step_record r;
    memset(&r, 0, sizeof r);
    r.step = 120;
    r.total = 1000;
    r.ntasks = 2;
    r.task_names = names;
    r.task_loss = losses;
    r.task = "mlm";
    r.loss = 2.5;
    r.lr = 4e-5;
    r.samples_per_s = 48.8;
    r.gflops = 61.2;
    r.mfu = 0.153;
    r.eta_s = 192;
    char buf[512];
    tc_train_progress_format(buf, sizeof buf, &r, NULL, 1);
    printf("progress line: %s\n", buf);
    TC_CHECK(strstr(buf, "120/1000") && strstr(buf, "mlm 2.5000") && !strstr(buf, "itm") && strstr(buf, "lr 4.00e-05") &&
                 strstr(buf, "48.8 samples/s") && strstr(buf, "61.2 GFLOP/s") && strstr(buf, "MFU 15.3%") &&
                 strstr(buf, "ETA 3:12") && strstr(buf, "[##..."),
             "progress line: %s", buf);
    double p = tc_peak_measure(1, 0.05);
    printf("FMA peak, 1 thread: %.1f GFLOP/s\n", p);
    TC_CHECK(p > 5 && p < 1000, "measured single-thread FP32 peak %.1f GFLOP/s is plausible", p);
    TC_CHECK(tc_peak_gflops(123.0) == 123.0, "an override wins");
    /* plotting a log without records fails with a message */
    tc_write_file_atomic("trainer_bad.jsonl", "not json\n", 9);
    TC_CHECK(tc_plot_log("trainer_bad.jsonl", "trainer_bad.svg", NULL) == -1 && strstr(tc_error_get(), "no training"),
             "bad log: %s", tc_error_get());
    remove("trainer_bad.jsonl");
}

/* One process: the all-gather is the identity and its backward passes the gradient through (× world = 1). */
static void test_allgather_single(void) {
    tc_dist d;
    tc_dist_init(&d, NULL, NULL);
    TC_CHECK(d.world == 1 && d.rank == 0, "not under mpirun: world %d rank %d", d.world, d.rank);
    tc_params ps;
    tc_params_init(&ps);
    int shp[2] = {3, 4};
    tc_tensor *w = tc_params_add(&ps, "w", 2, shp);
    tc_params_finalize(&ps);
    for (int i = 0; i < 12; i++) w->data[i] = (float)i;
    tc_graph *g = tc_graph_new();
    tc_graph_set_mode(g, 1, 0, 0, 0);
    tc_tensor *y = tc_dist_allgather_rows(g, &d, w);
    TC_CHECK(y->shape[0] == 3 && y->shape[1] == 4 && y->data[7] == 7.0f, "identity forward");
    tc_backward(g, tc_sum(g, tc_mul(g, y, y)));
    int ok = 1;
    for (int i = 0; i < 12; i++) ok &= w->grad[i] == 2.0f * i;
    TC_CHECK(ok, "backward: d/dw Σ w² = 2w");
    tc_graph_free(g);
    tc_params_free(&ps);
    tc_dist_finalize(&d);
}

/* A task that fails, or returns a non-scalar: tc_train stops with a message naming the task and step. */
static tc_tensor *failing(void *user, tc_graph *g, tc_train_ctx *ctx) {
    (void)user;
    (void)g;
    if (ctx->step == 2) {
        tc_error_set("data/x.json: entry 7: field \"caption\": expected a string");
        return NULL;
    }
    return toy_copy(user, g, ctx);
}
static tc_tensor *not_scalar(void *user, tc_graph *g, tc_train_ctx *ctx) {
    toy *t = user;
    int32_t ids[TOY_T] = {1, 2, 3, 4, 5, 6, 7, 8};
    (void)ctx;
    return tc_seq_encoder_fwd(g, &t->m, ids, NULL, 1, TOY_T);
}

static void test_task_errors(void) {
    toy t;
    toy_init(&t, 4, 0.0f, 8);
    tc_train_task a = {"cap", 1, 1, failing, &t}, b = {"bad", 1, 1, not_scalar, &t};
    tc_trainer_cfg c = toy_cfg("trainer_err", 5);
    toy_rm_run("trainer_err");
    int rc = tc_train(&c, &t.m.ps, &a, 1, NULL, TC_START_FRESH);
    TC_CHECK(rc == -1 && strstr(tc_error_get(), "task cap, step 2: data/x.json: entry 7"), "failing task: rc %d: %s",
             rc, tc_error_get());
    toy_rm_run("trainer_err");
    TC_CHECK(tc_train(&c, &t.m.ps, &b, 1, NULL, TC_START_FRESH) == -1 && strstr(tc_error_get(), "expected a scalar"),
             "non-scalar loss: %s", tc_error_get());
    toy_rm_run("trainer_err");
    tc_params empty;
    tc_params_init(&empty);
    TC_CHECK(tc_train(&c, &empty, &a, 1, NULL, TC_START_FRESH) == -1 && strstr(tc_error_get(), "not finalized"),
             "unfinalized parameters: %s", tc_error_get());
    toy_free(&t);
}

/* SIGINT during a run with handle_signals: the step finishes, a checkpoint is written, the status is 130. */
static void raise_at_4(void *user, const tc_step_record *r) {
    (void)user;
    if (r->step == 4) raise(SIGINT);
}

static void test_signal(void) {
    const char *run = "trainer_sig";
    toy_rm_run(run);
    toy t;
    toy_init(&t, 4, 0.0f, 6);
    tc_train_task task = {"copy", 1, 1, toy_copy, &t};
    tc_trainer_cfg c = toy_cfg(run, 50);
    c.handle_signals = 1;
    c.on_step = raise_at_4;
    int rc = tc_train(&c, &t.m.ps, &task, 1, NULL, TC_START_FRESH);
    TC_CHECK(rc == 128 + SIGINT, "status %d, want %d", rc, 128 + SIGINT);
    char *dir = NULL;
    long step = -1;
    TC_CHECK(tc_ckpt_find_latest(run, &dir, &step) == 0 && step == 4, "checkpoint at the interrupted step: %ld", step);
    free(dir);
    struct sigaction sa;
    sigaction(SIGINT, NULL, &sa);
    TC_CHECK(sa.sa_handler == SIG_DFL, "the previous SIGINT handler is restored");
    toy_free(&t);
    toy_rm_run(run);
}

int main(void) {
    test_metaloader();
    test_progress_and_peak();
    test_allgather_single();
    test_full_run();
    test_accumulation();
    test_sum_mode();
    test_skip_nonfinite();
    test_signal();
    test_task_errors();
    return tc_test_summary("trainer");
}
