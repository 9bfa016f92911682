/* The training loop: see trainer.h. */
#include "train/trainer.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/fileio.h"
#include "train/checkpoint.h"
#include "train/metaloader.h"
#include "train/peak.h"
#include "train/plot.h"

tc_trainer_cfg tc_trainer_defaults(long total_steps) {
    tc_trainer_cfg c;
    memset(&c, 0, sizeof c);
    c.total_steps = total_steps;
    c.accum = 1;
    c.seed = 42;
    c.opt = tc_adamw_mindspore();
    c.opt.beta2 = 0.98;   /* the configs' betas (opt-spec §4.2) */
    c.lr = (tc_lr_schedule){TC_LR_MINDSPORE, 5e-5, 1e-7, 1000, total_steps};
    c.clip = 1.0f;
    c.clip_eps = 0.0f;
    c.ckpt_every = 1000;
    c.keep_last = 3;
    c.progress = -1;
    c.plot = 1;
    return c;
}

static volatile sig_atomic_t g_signal;
static void on_signal(int sig) { g_signal = sig; }

/* Broadcast a float slab from rank 0 in chunks (MPI counts are int). */
static void bcast_slab(const tc_dist *d, float *x, size_t n) {
    const size_t chunk = (size_t)1 << 28; /* bytes */
    char *p = (char *)x;
    size_t bytes = n * sizeof(float);
    for (size_t off = 0; off < bytes; off += chunk)
        tc_dist_bcast(d, p + off, bytes - off < chunk ? bytes - off : chunk);
}

/* Same allocation as the params' slabs (64-byte aligned, freed by tc_params_free). */
static float *zeroed_slab(size_t total) {
    size_t bytes = ((total ? total : 1) * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (!p) p = tc_xmalloc(bytes);
    memset(p, 0, bytes);
    return p;
}

typedef struct bcast_state {
    long step, opt_step;
    uint64_t rng[4];
    double elapsed;
    long task_state_len;  /* -1: none */
    int ok;
} bcast_state;

/* Rank 0 decides fresh/resume and loads; everyone receives parameters, moments and state. */
static int start_run(const tc_trainer_cfg *cfg, tc_params *ps, const tc_dist *d, tc_start_mode mode,
                     tc_adamw *opt, tc_rng *rng, long *step, double *elapsed) {
    bcast_state bs;
    memset(&bs, 0, sizeof bs);
    bs.task_state_len = -1;
    char *task_state = NULL;
    int resumed = 0;
    if (d->rank == 0) {
        char *dir = NULL;
        long s = 0;
        int have = tc_ckpt_find_latest(cfg->run_dir, &dir, &s) == 0;
        bs.ok = 1;
        if (mode == TC_START_FRESH && have) {
            tc_error_set("%s already holds checkpoints (latest: step %ld); resume it or choose a new directory",
                         cfg->run_dir, s);
            bs.ok = 0;
        } else if (mode == TC_START_RESUME && !have) {
            tc_error_prefix("cannot resume");
            bs.ok = 0;
        } else if (have) {
            tc_ckpt_state st;
            if (tc_ckpt_load(dir, ps, &st)) {
                bs.ok = 0;
            } else {
                bs.step = st.step;
                bs.opt_step = st.opt_step;
                memcpy(bs.rng, st.data_rng, sizeof bs.rng);
                bs.elapsed = st.elapsed_s;
                if (st.task_state) {
                    task_state = st.task_state;
                    st.task_state = NULL;
                    bs.task_state_len = (long)strlen(task_state);
                }
                resumed = 1;
                tc_ckpt_drop_after(cfg->run_dir, st.step);
                if (st.seed != cfg->seed)
                    fprintf(stderr, "taichu: warning: %s was saved with seed %llu, continuing with its state (this "
                            "run's seed %llu only affects dropout)\n", dir, (unsigned long long)st.seed,
                            (unsigned long long)cfg->seed);
                tc_ckpt_state_free(&st);
            }
        }
        free(dir);
        if (bs.ok && !resumed) {
            tc_rng_seed(rng, tc_rng_hash(cfg->seed, 0x64617461 /* "data" */, 0));
            memcpy(bs.rng, rng->s, sizeof bs.rng);
            if (tc_mkdir_p(cfg->run_dir)) {
                tc_error_set("%s: cannot create the run directory", cfg->run_dir);
                bs.ok = 0;
            } else if (cfg->config_json) {
                char *p = tc_path_join(cfg->run_dir, "config.json");
                if (tc_write_file_atomic(p, cfg->config_json, strlen(cfg->config_json))) bs.ok = 0;
                free(p);
            }
        }
    }
    tc_dist_bcast(d, &bs, sizeof bs);
    if (!bs.ok) {
        free(task_state);
        if (d->rank != 0) tc_error_set("rank 0 could not start the run");
        return -1;
    }
    resumed = bs.task_state_len >= 0 || bs.step > 0;
    /* every rank needs the moment slabs for the broadcast (AdamW would allocate them zeroed) */
    if (!ps->m) ps->m = zeroed_slab(ps->total);
    if (!ps->v) ps->v = zeroed_slab(ps->total);
    bcast_slab(d, ps->data, ps->total);
    bcast_slab(d, ps->m, ps->total);
    bcast_slab(d, ps->v, ps->total);
    if (bs.task_state_len >= 0) {
        if (d->rank != 0) task_state = tc_xcalloc((size_t)bs.task_state_len + 1, 1);
        tc_dist_bcast(d, task_state, (size_t)bs.task_state_len);
        if (cfg->state_load && cfg->state_load(cfg->state_user, task_state)) {
            free(task_state);
            return tc_error_prefix("%s: task state", cfg->run_dir);
        }
        free(task_state);
    }
    memcpy(rng->s, bs.rng, sizeof bs.rng);
    *step = bs.step;
    *elapsed = bs.elapsed;
    opt->step = bs.opt_step;
    return resumed;
}

static int save_ckpt(const tc_trainer_cfg *cfg, tc_params *ps, const tc_dist *d, const tc_adamw *opt,
                     const tc_rng *rng, long step, double elapsed) {
    int rc = 0;
    if (d->rank == 0) {
        tc_ckpt_state st;
        memset(&st, 0, sizeof st);
        st.step = step;
        st.opt_step = opt->step;
        st.seed = cfg->seed;
        memcpy(st.data_rng, rng->s, sizeof st.data_rng);
        st.elapsed_s = elapsed;
        st.task_state = cfg->state_save ? cfg->state_save(cfg->state_user) : NULL;
        rc = tc_ckpt_save(cfg->run_dir, ps, &st, cfg->keep_last);
        tc_ckpt_state_free(&st);
    }
    return tc_dist_allreduce_int_sum(d, rc ? 1 : 0) ? -1 : 0;
}

static int run_eval(const tc_trainer_cfg *cfg, tc_graph *g, long step, tc_train_log *log, const tc_dist *d) {
    tc_metric m[64];
    memset(m, 0, sizeof m);
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    int n = cfg->eval(cfg->eval_user, g, step, m, 64);
    if (tc_dist_allreduce_int_sum(d, n < 0 ? 1 : 0)) return n < 0 ? tc_error_prefix("validation at step %ld", step)
                                                                   : tc_error_set("validation failed on another rank");
    if (n > 64) n = 64;
    if (d->rank == 0) tc_train_log_eval(log, step, m, n);
    return 0;
}

int tc_train(const tc_trainer_cfg *cfg, tc_params *ps, const tc_train_task *tasks, int ntasks,
             const tc_dist *dist, tc_start_mode mode) {
    tc_dist solo = {0, 1, 0, 0};
    const tc_dist *d = dist ? dist : &solo;
    if (!cfg->run_dir) return tc_error_set("trainer: run_dir is required");
    if (cfg->total_steps <= 0) return tc_error_set("trainer: total_steps = %ld, expected > 0", cfg->total_steps);
    if (ntasks <= 0) return tc_error_set("trainer: no tasks");
    if (!ps->data || !ps->grad) return tc_error_set("trainer: parameters not finalized (call tc_params_finalize)");
    for (int i = 0; i < ntasks; i++)
        if (!tasks[i].loss || !tasks[i].name) return tc_error_set("trainer: task %d has no name or loss function", i);
    int accum = cfg->accum > 0 ? cfg->accum : 1;

    tc_metaloader ml;
    memset(&ml, 0, sizeof ml);
    if (!cfg->sum_tasks) {
        int *ratios = tc_xmalloc(sizeof(int) * (size_t)ntasks);
        for (int i = 0; i < ntasks; i++) ratios[i] = tasks[i].mix_ratio;
        int rc = tc_metaloader_init(&ml, ntasks, ratios, cfg->seed);
        free(ratios);
        if (rc) return -1;
    }

    tc_adamw opt = cfg->opt;
    tc_rng rng;
    long step = 0;
    double elapsed = 0;
    int resumed = start_run(cfg, ps, d, mode, &opt, &rng, &step, &elapsed);
    if (resumed < 0) {
        tc_metaloader_free(&ml);
        return -1;
    }

    tc_train_log log;
    memset(&log, 0, sizeof log);
    if (tc_train_log_open(&log, d->rank == 0 ? cfg->run_dir : NULL, step, d->rank == 0 ? cfg->progress : 0,
                          cfg->print_every)) {
        tc_metaloader_free(&ml);
        return -1;
    }
    double peak = cfg->peak_gflops > 0 ? cfg->peak_gflops : tc_peak_gflops(0);
    if (resumed && d->rank == 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "resumed %s at step %ld", cfg->run_dir, step);
        tc_train_log_message(&log, msg);
    }

    struct sigaction old_int, old_term;
    if (cfg->handle_signals) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        g_signal = 0;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
    }

    const char **names = tc_xmalloc(sizeof(char *) * (size_t)ntasks);
    for (int i = 0; i < ntasks; i++) names[i] = tasks[i].name;
    double *task_loss = tc_xmalloc(sizeof(double) * (size_t)ntasks);
    double *red = tc_xmalloc(sizeof(double) * (size_t)(ntasks + 3));
    tc_graph *g = tc_graph_new();
    uint64_t drop_seed = tc_rng_hash(cfg->seed, 0x64726f70 /* "drop" */, (uint64_t)d->rank);
    long start_step = step;
    double session_s = 0;
    int rc = 0;

    while (step < cfg->total_steps) {
        double t0 = tc_now_s();
        int task = cfg->sum_tasks ? -1 : tc_metaloader_task(&ml, step);
        for (int i = 0; i < ntasks; i++) task_loss[i] = NAN;
        double loss_sum = 0, flops = 0;
        long samples = 0;
        int failed = 0;
        tc_grad_accum acc;
        tc_grad_accum_begin(&acc, ps);
        for (int micro = 0; micro < accum && !failed; micro++) {
            tc_graph_reset(g);
            tc_graph_set_mode(g, 1, 1, drop_seed, (uint64_t)step * (uint64_t)accum + (uint64_t)micro);
            tc_tensor *total = NULL;
            for (int i = 0; i < ntasks && !failed; i++) {
                if (!cfg->sum_tasks && i != task) continue;
                tc_train_ctx ctx = {.step = step, .micro = micro, .accum = accum, .task = i, .rank = d->rank,
                                    .world = d->world, .seed = cfg->seed, .data_rng = &rng, .dist = d};
                tc_tensor *l = tasks[i].loss(tasks[i].user, g, &ctx);
                if (!l || tc_numel(l) != 1) {
                    if (l) tc_error_set("task %s, step %ld: the loss has %zu elements, expected a scalar",
                                        tasks[i].name, step, tc_numel(l));
                    else tc_error_prefix("task %s, step %ld", tasks[i].name, step);
                    failed = 1;
                    break;
                }
                /* mean over the micro-batches (task_loss starts NaN for tasks that may not run) */
                if (isnan(task_loss[i])) task_loss[i] = 0;
                task_loss[i] += l->data[0] / accum;
                samples += ctx.samples;
                flops += 3.0 * ctx.flops;
                if (cfg->sum_tasks) {
                    tc_tensor *w = tasks[i].weight == 1.0f ? l : tc_scale(g, l, tasks[i].weight);
                    total = total ? tc_add(g, total, w) : w;
                } else {
                    total = l;
                }
            }
            if (failed) break;
            loss_sum += total->data[0] / accum;
            tc_backward(g, total);
            tc_grad_accum_add(&acc);
        }
        if (tc_dist_allreduce_int_sum(d, failed)) {
            if (!failed) tc_error_set("step %ld failed on another rank", step);
            rc = -1;
            break;
        }
        tc_grad_accum_end(&acc, ps, 1);
        tc_dist_allreduce_grads(d, ps);

        /* losses and throughput over ranks: losses averaged (each rank's is a mean over its share) */
        for (int i = 0; i < ntasks; i++) red[i] = isnan(task_loss[i]) ? 0 : task_loss[i];
        red[ntasks] = loss_sum;
        tc_dist_allreduce_mean_f64(d, red, ntasks + 1);
        for (int i = 0; i < ntasks; i++)
            if (!isnan(task_loss[i])) task_loss[i] = red[i];
        loss_sum = red[ntasks];
        red[0] = (double)samples;
        red[1] = flops;
        tc_dist_allreduce_sum_f64(d, red, 2);
        samples = (long)red[0];
        flops = red[1];

        double lr = tc_lr_at(&cfg->lr, step);
        double norm = cfg->clip > 0 ? tc_clip_grad_norm(ps, cfg->clip, cfg->clip_eps) : tc_grad_norm(ps);
        int skipped = !isfinite(norm);
        if (!skipped) tc_adamw_step(&opt, ps, (float)lr);
        step++;

        double dt = tc_now_s() - t0;
        session_s += dt;
        elapsed += dt;
        tc_step_record r;
        memset(&r, 0, sizeof r);
        r.step = step;
        r.total = cfg->total_steps;
        r.ntasks = ntasks;
        r.task_names = names;
        r.task_loss = task_loss;
        r.task = cfg->sum_tasks ? NULL : tasks[task].name;
        r.loss = loss_sum;
        r.lr = lr;
        r.grad_norm = norm;
        r.samples = samples;
        r.step_s = dt;
        r.samples_per_s = dt > 0 ? samples / dt : 0;
        r.gflops = dt > 0 ? flops / dt / 1e9 : 0;
        r.mfu = peak > 0 ? r.gflops / (peak * d->world) : 0;
        r.elapsed_s = elapsed;
        r.eta_s = session_s / (double)(step - start_step) * (double)(cfg->total_steps - step);
        r.skipped = skipped;
        if (d->rank == 0) tc_train_log_step(&log, &r);
        if (cfg->on_step) cfg->on_step(cfg->on_step_user, &r);

        int sig = cfg->handle_signals ? (int)g_signal : 0;
        int stop = (cfg->stop_after > 0 && step >= cfg->stop_after) || sig;
        if (cfg->handle_signals) stop = tc_dist_allreduce_int_sum(d, stop) > 0;
        if (cfg->eval && ((cfg->eval_every > 0 && step % cfg->eval_every == 0) || step == cfg->total_steps)) {
            if (run_eval(cfg, g, step, &log, d)) {
                rc = -1;
                break;
            }
        }
        if ((cfg->ckpt_every > 0 && step % cfg->ckpt_every == 0) || step == cfg->total_steps || stop) {
            if (save_ckpt(cfg, ps, d, &opt, &rng, step, elapsed)) {
                rc = -1;
                break;
            }
        }
        if (stop) {
            if (sig) rc = 128 + sig;
            break;
        }
    }

    if (cfg->handle_signals) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    tc_train_log_close(&log);
    if (rc == 0 && step == cfg->total_steps && cfg->plot && d->rank == 0) {
        char *svg = tc_path_join(cfg->run_dir, "curves.svg");
        if (tc_plot_run(cfg->run_dir, svg)) fprintf(stderr, "taichu: warning: no plot: %s\n", tc_error_get());
        free(svg);
    }
    tc_graph_free(g);
    free(names);
    free(task_loss);
    free(red);
    tc_metaloader_free(&ml);
    return rc;
}
