/* Resume is bit-identical: a run interrupted at step 13 (checkpoints every 5 and at the stop) and resumed
 * into a model initialised differently reproduces every later loss, the final parameters and AdamW moments
 * of an uninterrupted run EXACTLY, with dropout on, two mixed tasks and gradient accumulation (so the
 * data RNG, the MetaLoader order, the dropout streams and the optimizer step all have to be restored).
 * Also: a resume from an older checkpoint (a "crash" that lost the newest), and the log is rewritten to
 * hold each step once (lines after the checkpoint, including a torn last line, are dropped). */
#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/fileio.h"
#include "tc_test.h"
#include "train/checkpoint.h"
#include "trainer_toy.h"

#define STEPS 30

typedef struct rec {
    double loss[STEPS + 1];
    double grad_norm[STEPS + 1];
} rec;

static void on_step(void *user, const tc_step_record *r) {
    rec *x = user;
    if (r->step <= STEPS) {
        x->loss[r->step] = r->loss;
        x->grad_norm[r->step] = r->grad_norm;
    }
}

static tc_trainer_cfg cfg_for(const char *run, rec *r) {
    tc_trainer_cfg c = toy_cfg(run, STEPS);
    c.accum = 2;
    c.ckpt_every = 5;
    c.keep_last = 10;
    c.on_step = on_step;
    c.on_step_user = r;
    return c;
}

static void run_part(const char *run, rec *r, uint64_t init_seed, long stop_after, tc_start_mode mode, float *out_params,
                     float *out_m) {
    toy t;
    toy_init(&t, 4, 0.1f, init_seed);
    tc_train_task tasks[2] = {{"incr", 2, 1, toy_incr, &t}, {"reverse", 1, 1, toy_reverse, &t}};
    tc_trainer_cfg c = cfg_for(run, r);
    c.stop_after = stop_after;
    TC_CHECK(tc_train(&c, &t.m.ps, tasks, 2, NULL, mode) == 0, "%s: %s", run, tc_error_get());
    if (out_params) memcpy(out_params, t.m.ps.data, t.m.ps.total * sizeof(float));
    if (out_m) memcpy(out_m, t.m.ps.m, t.m.ps.total * sizeof(float));
    toy_free(&t);
}

/* The train lines' steps, in file order, into steps[] (returns the count; -1 on a bad line). */
static int log_steps(const char *run, int *steps, int cap) {
    char path[256];
    snprintf(path, sizeof path, "%s/log.jsonl", run);
    size_t len;
    char *text = tc_read_file(path, &len);
    if (!text) return -1;
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        if (!j) { n = -1; break; }
        if (n < cap) steps[n] = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "step"));
        n++;
        cJSON_Delete(j);
    }
    free(text);
    return n;
}

int main(void) {
    toy probe;
    toy_init(&probe, 4, 0.1f, 11);
    size_t total = probe.m.ps.total;
    toy_free(&probe);
    float *pa = malloc(total * sizeof(float)), *ma = malloc(total * sizeof(float));
    float *pb = malloc(total * sizeof(float)), *mb = malloc(total * sizeof(float));

    /* A: uninterrupted */
    rec a, b, c;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    toy_rm_run("resume_a");
    run_part("resume_a", &a, 11, 0, TC_START_FRESH, pa, ma);

    /* B: stop after 13, then resume into a differently initialised model */
    toy_rm_run("resume_b");
    run_part("resume_b", &b, 11, 13, TC_START_FRESH, NULL, NULL);
    char *dir = NULL;
    long step = -1;
    TC_CHECK(tc_ckpt_find_latest("resume_b", &dir, &step) == 0 && step == 13, "latest after the stop: %ld", step);
    free(dir);
    /* a crash after the checkpoint leaves log lines past it, the last one torn */
    FILE *f = fopen("resume_b/log.jsonl", "a");
    fputs("{\"type\":\"train\",\"step\":14,\"loss\":1}\n{\"type\":\"train\",\"ste", f);
    fclose(f);
    run_part("resume_b", &b, 12345, 0, TC_START_RESUME, pb, mb);
    int same = 1;
    for (int s = 14; s <= STEPS; s++) {
        same &= b.loss[s] == a.loss[s] && b.grad_norm[s] == a.grad_norm[s];
        if (b.loss[s] != a.loss[s]) fprintf(stderr, "step %d: resumed loss %.9g, uninterrupted %.9g\n", s, b.loss[s], a.loss[s]);
    }
    TC_CHECK(same, "losses and gradient norms of steps 14..%d equal the uninterrupted run exactly", STEPS);
    for (int s = 1; s <= 13; s++) same &= b.loss[s] == a.loss[s];
    TC_CHECK(same, "and so do steps 1..13 before the interruption");
    TC_CHECK(memcmp(pa, pb, total * sizeof(float)) == 0, "final parameters identical");
    TC_CHECK(memcmp(ma, mb, total * sizeof(float)) == 0, "final AdamW first moments identical");
    int steps[64];
    int n = log_steps("resume_b", steps, 64);
    int ordered = n == STEPS;
    for (int i = 0; i < n && i < 64 && ordered; i++) ordered = steps[i] == i + 1;
    TC_CHECK(ordered, "log.jsonl holds steps 1..%d once each, in order (%d lines)", STEPS, n);

    /* C: resume from an older checkpoint (the newest lost): delete 13 and 10 and LATEST, resume from 5 */
    toy_rm_run("resume_c");
    run_part("resume_c", &c, 11, 13, TC_START_FRESH, NULL, NULL);
    tc_rm_flat_dir("resume_c/checkpoints/step-00000013");
    tc_rm_flat_dir("resume_c/checkpoints/step-00000010");
    remove("resume_c/checkpoints/LATEST");
    TC_CHECK(tc_ckpt_find_latest("resume_c", &dir, &step) == 0 && step == 5, "fallback finds step 5: %ld", step);
    free(dir);
    /* a corrupted newer checkpoint is skipped too: flip a byte of step 5's sibling ... make a bad step 7 */
    tc_mkdir_p("resume_c/checkpoints/step-00000007");
    tc_write_file_atomic("resume_c/checkpoints/step-00000007/state.json", "{\"step\": 7", 10);
    TC_CHECK(tc_ckpt_find_latest("resume_c", &dir, &step) == 0 && step == 5, "a broken step 7 is skipped: %ld", step);
    free(dir);
    run_part("resume_c", &c, 777, 0, TC_START_RESUME, pb, NULL);
    same = 1;
    for (int s = 6; s <= STEPS; s++) same &= c.loss[s] == a.loss[s];
    TC_CHECK(same, "resumed from step 5: steps 6..%d equal the uninterrupted run", STEPS);
    TC_CHECK(memcmp(pa, pb, total * sizeof(float)) == 0, "final parameters identical");
    TC_CHECK(!tc_file_exists("resume_c/checkpoints/step-00000007"), "the stale step-7 directory was pruned");

    /* a checkpoint whose model file changed after the save does not verify */
    f = fopen("resume_a/checkpoints/step-00000030/model.safetensors", "r+b");
    fseek(f, -3, SEEK_END);
    fputc('x', f);
    fclose(f);
    TC_CHECK(tc_ckpt_verify("resume_a/checkpoints/step-00000030") == -1 && strstr(tc_error_get(), "crc32"),
             "corruption detected: %s", tc_error_get());
    TC_CHECK(tc_ckpt_find_latest("resume_a", &dir, &step) == 0 && step == 25, "falls back to step 25: %ld", step);
    free(dir);

    /* a state.json with an impossible step verifies (the tensor files are intact) but does not load */
    {
        size_t len;
        char *text = tc_read_file("resume_a/checkpoints/step-00000025/state.json", &len);
        char *p = text ? strstr(text, "\"step\"") : NULL;
        TC_CHECK(p != NULL, "state.json has a step field");
        if (p) {
            char *q = strchr(p, ',');
            char *bad = malloc(len + 64);
            snprintf(bad, len + 64, "%.*s\"step\": 1e300%s", (int)(p - text), text, q);
            tc_write_file_atomic("resume_a/checkpoints/step-00000025/state.json", bad, strlen(bad));
            free(bad);
            toy u;
            toy_init(&u, 4, 0.1f, 1);
            tc_ckpt_state st;
            TC_CHECK(tc_ckpt_verify("resume_a/checkpoints/step-00000025") == 0, "files still verify");
            TC_CHECK(tc_ckpt_load("resume_a/checkpoints/step-00000025", &u.m.ps, &st) == -1 &&
                         strstr(tc_error_get(), "state.json") && strstr(tc_error_get(), "\"step\""),
                     "bad step rejected: %s", tc_error_get());
            toy_free(&u);
        }
        free(text);
    }

    free(pa);
    free(ma);
    free(pb);
    free(mb);
    toy_rm_run("resume_a");
    toy_rm_run("resume_b");
    toy_rm_run("resume_c");
    return tc_test_summary("resume");
}
