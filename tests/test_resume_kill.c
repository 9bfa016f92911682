/* Killing a training process at any moment, including in the middle of writing a checkpoint, never
 * corrupts the last good checkpoint. A child process trains the toy model with a checkpoint after EVERY
 * step (so most of its time is spent saving) and resumes automatically; the parent SIGKILLs it after a
 * random delay, again and again, until a child finishes (another run from scratch if that took fewer than 5
 * kills). After every kill:
 *   - the newest checkpoint verifies (sizes and CRCs), loads, and its parameters and AdamW moments are
 *     exactly those an uninterrupted in-process run had after the same step;
 *   - the newest step never goes backwards.
 * At the end the killed-and-resumed run's final parameters equal the uninterrupted run's, and its log holds
 * every step once. */
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "core/fileio.h"
#include "tc_test.h"
#include "train/checkpoint.h"
#include "trainer_toy.h"

#ifdef TAICHU_SANITIZED
#define STEPS 12   /* every child start and save is several times slower under ASan */
#else
#define STEPS 24
#endif
#define RUN "kill_run"

static uint32_t state_crc(const tc_params *ps) {
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, (const Bytef *)ps->data, (uInt)(ps->total * sizeof(float)));
    if (ps->m) c = crc32(c, (const Bytef *)ps->m, (uInt)(ps->total * sizeof(float)));
    if (ps->v) c = crc32(c, (const Bytef *)ps->v, (uInt)(ps->total * sizeof(float)));
    return (uint32_t)c;
}

typedef struct ref {
    toy *t;
    uint32_t crc[STEPS + 1];
} ref;

static void on_step(void *user, const tc_step_record *r) {
    ref *x = user;
    if (r->step <= STEPS) x->crc[r->step] = state_crc(&x->t->m.ps);
}

static int train(const char *run, toy *t, ref *r, tc_start_mode mode) {
    tc_train_task tasks[2] = {{"incr", 1, 1, toy_incr, t}, {"copy", 1, 1, toy_copy, t}};
    tc_trainer_cfg c = toy_cfg(run, STEPS);
    c.ckpt_every = 1;
    c.keep_last = 2;
    if (r) {
        c.on_step = on_step;
        c.on_step_user = r;
    }
    return tc_train(&c, &t->m.ps, tasks, 2, NULL, mode);
}

static int count_tmp(const char *cdir) {
    DIR *d = opendir(cdir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += !strncmp(e->d_name, ".tmp-", 5);
    closedir(d);
    return n;
}

#define KILL_ROUNDS 60
#define MIN_KILLS 5

/* kill timing and the uninterrupted run's states */
typedef struct plan {
    tc_rng rng;
    uint32_t short_us, long_us;
    const ref *r;
    uint32_t final_crc;
} plan;

/* One killed-and-resumed run from scratch, checked after every kill and at the end. Adds to *kills and
 * *mid_save; returns 1 when a child completed the run. */
static int episode(plan *pl, int *kills, int *mid_save) {
    toy_rm_run(RUN);
    int finished = 0;
    long last_step = 0;
    for (int round = 0; round < 400 && !finished; round++) {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) {
            toy c;
            toy_init(&c, 8, 0.1f, 21); /* the reference init (a fresh start must match it) */
            int rc = train(RUN, &c, NULL, TC_START_AUTO);
            if (rc) fprintf(stderr, "child: %s\n", tc_error_get());
            _exit(rc == 0 ? 0 : 1);
        }
        /* 0..ref/8, every 4th round up to ref/3 so that the run makes progress. After KILL_ROUNDS rounds the
         * child is left to finish: on a slow (sanitized, loaded) machine random kills alone may never let the
         * run complete, and the resume-to-completion check must not depend on machine speed. */
        int last_round = round >= KILL_ROUNDS;
        int status = 0;
        if (!last_round) usleep((useconds_t)tc_rng_below(&pl->rng, round % 4 == 3 ? pl->long_us : pl->short_us));
        if (last_round) {
            waitpid(pid, &status, 0);
        } else if (waitpid(pid, &status, WNOHANG) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            (*kills)++;
        }
        if (WIFEXITED(status)) {
            TC_CHECK(WEXITSTATUS(status) == 0, "round %d: child failed with status %d", round, WEXITSTATUS(status));
            finished = WEXITSTATUS(status) == 0;
            if (!finished) break;
        }
        *mid_save += count_tmp(RUN "/checkpoints") > 0;
        char *dir = NULL;
        long step = 0;
        if (tc_ckpt_find_latest(RUN, &dir, &step) != 0) {
            /* killed before the first checkpoint completed: nothing may exist that claims to be one */
            TC_CHECK(last_step == 0, "round %d: checkpoints vanished after step %ld: %s", round, last_step,
                     tc_error_get());
            continue;
        }
        TC_CHECK(step >= last_step, "round %d: newest step went back from %ld to %ld", round, last_step, step);
        last_step = step;
        toy u;
        toy_init(&u, 8, 0.1f, 999);
        tc_ckpt_state st;
        int ok = tc_ckpt_load(dir, &u.m.ps, &st) == 0;
        TC_CHECK(ok, "round %d: %s does not load: %s", round, dir, tc_error_get());
        if (ok) {
            int match = st.step == step && step <= STEPS && state_crc(&u.m.ps) == pl->r->crc[step];
            TC_CHECK(match, "round %d: checkpoint of step %ld differs from the uninterrupted run's state", round, step);
            tc_ckpt_state_free(&st);
        }
        toy_free(&u);
        free(dir);
    }
    TC_CHECK(finished, "a child eventually completed the run");
    if (finished) {
        toy u;
        toy_init(&u, 8, 0.1f, 999);
        char *dir = NULL;
        long step = 0;
        tc_ckpt_state st;
        TC_CHECK(tc_ckpt_find_latest(RUN, &dir, &step) == 0 && step == STEPS, "final checkpoint at step %ld", step);
        TC_CHECK(dir && tc_ckpt_load(dir, &u.m.ps, &st) == 0 && state_crc(&u.m.ps) == pl->final_crc,
                 "the killed-and-resumed run ends exactly where the uninterrupted one does");
        tc_ckpt_state_free(&st);
        free(dir);
        toy_free(&u);
        size_t len;
        char *text = tc_read_file(RUN "/log.jsonl", &len);
        int n = 0, order = 1;
        char key[64];
        for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
            n++;
            snprintf(key, sizeof key, "\"step\":%d,", n);
            order &= strstr(line, key) != NULL;
        }
        free(text);
        TC_CHECK(n == STEPS && order, "log holds steps 1..%d once each (%d lines)", STEPS, n);
    }
    return finished;
}

int main(void) {
    /* reference: uninterrupted, recording the state after every step */
    static ref r;
    toy t;
    toy_init(&t, 8, 0.1f, 21);
    r.t = &t;
    toy_rm_run("kill_ref");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    TC_CHECK(train("kill_ref", &t, &r, TC_START_FRESH) == 0, "reference: %s", tc_error_get());
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* Kill delays scale with how long a whole run takes on this machine (a fast machine finishes a run
     * within fixed delays, a sanitized or loaded one never does): most kills land mid-run, every 4th
     * round waits longer so that the run makes progress. */
    double ref_us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    plan pl = {.short_us = (uint32_t)(ref_us / 8) + 1, .long_us = (uint32_t)(ref_us / 3) + 1, .r = &r,
               .final_crc = state_crc(&t.m.ps)};
    toy_free(&t);
    toy_rm_run("kill_ref");
    tc_rng_seed(&pl.rng, (uint64_t)time(NULL));

    /* A run can complete after few kills when the machine's speed changes after the reference was timed
     * (a load spike during the reference makes every delay long); then another run from scratch is killed,
     * until enough kills happened, at most 4 runs. */
    int kills = 0, mid_save = 0, runs = 0;
    while (runs < 4 && (runs == 0 || kills < MIN_KILLS || mid_save == 0)) {
        runs++;
        if (!episode(&pl, &kills, &mid_save)) break;
    }
    printf("%d kills (%d left a save half-done) over %d run(s)\n", kills, mid_save, runs);
    TC_CHECK(kills >= MIN_KILLS, "only %d kills happened in %d runs", kills, runs);
    /* saving dominates the child's time (fsyncs every step), so some kills must land inside a save */
    TC_CHECK(mid_save > 0, "no kill interrupted a save (%d kills)", kills);
    toy_rm_run(RUN);
    return tc_test_summary("resume_kill");
}
