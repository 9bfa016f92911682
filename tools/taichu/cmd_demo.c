/* taichu demo: the whole pipeline on the built-in dataset, one stage per child process of this same binary
 * (/proc/self/exe <command> ...), each printed as a command line the user can rerun by hand (they are
 * also saved to DIR/commands.sh). Stages: synth -> pretrain (opt-v2-tiny) -> zero-shot retrieval eval ->
 * caption fine-tune + eval -> VQA fine-tune + eval -> text->image search with `taichu embed`. A stage
 * whose command this build does not have is skipped and reported as such (never faked); a stage that
 * fails stops the demo with its command and exit status. Results: a table on stdout, DIR/results.md,
 * DIR/report.html (docs/demo.md). */
#define _XOPEN_SOURCE 700 /* nftw */
#define _DEFAULT_SOURCE
#include "args.h"
#include "command.h"
#include "demo.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "commands.inc"
#include "core/clock.h"
#include "core/error.h"
#include "core/fileio.h"
#include "data/synth_speech.h"

static int have_command(const char *name) {
    for (int i = 0; tc_commands[i]; i++)
        if (strcmp(tc_commands[i]->name, name) == 0) return 1;
    return 0;
}

/* ------------------------------------------------------------------ argv building and quoting */

typedef struct argv_t {
    char *v[4096];
    int n;
} argv_t;

static void av_add(argv_t *a, const char *s) {
    if (a->n < (int)(sizeof a->v / sizeof a->v[0]) - 1) a->v[a->n++] = tc_xstrdup(s);
    a->v[a->n] = NULL;
}

static void av_addf(argv_t *a, const char *fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    av_add(a, buf);
}

static void av_free(argv_t *a) {
    for (int i = 0; i < a->n; i++) free(a->v[i]);
    a->n = 0;
}

/* POSIX-shell quoting: bare when safe, else '...' with ' as '\'' */
static void quote_append(char *dst, size_t cap, const char *s) {
    size_t len = strlen(dst);
    int safe = *s != 0;
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *p)) safe = 0;
    if (len + 1 < cap && len) dst[len++] = ' ';
    if (safe) {
        for (const char *p = s; *p && len + 1 < cap; p++) dst[len++] = *p;
    } else {
        if (len + 1 < cap) dst[len++] = '\'';
        for (const char *p = s; *p && len + 5 < cap; p++) {
            if (*p == '\'') { memcpy(dst + len, "'\\''", 4); len += 4; }
            else dst[len++] = *p;
        }
        if (len + 1 < cap) dst[len++] = '\'';
    }
    dst[len] = 0;
}

/* The command as the user would type it: the binary's real path, then the arguments. Long lists (the
 * image files of `taichu embed`) are shortened on the console only; commands.sh gets every argument. */
static void format_cmd(char *dst, size_t cap, const char *exe, const argv_t *a, int shorten) {
    dst[0] = 0;
    quote_append(dst, cap, exe);
    int run = 0;
    for (int i = 1; i < a->n; i++) {
        int listed = a->v[i][0] != '-' && i > 1 && a->v[i - 1][0] != '-';
        run = listed ? run + 1 : 0;
        if (shorten && run == 3 && i + 1 < a->n && a->v[i + 1][0] != '-') {
            int k = i;
            while (k < a->n && a->v[k][0] != '-') k++;
            char more[64];
            snprintf(more, sizeof more, "... (%d more)", k - i);
            size_t len = strlen(dst);
            snprintf(dst + len, cap - len, " %s", more);
            i = k - 1;
            run = 0;
            continue;
        }
        quote_append(dst, cap, a->v[i]);
    }
}

/* ------------------------------------------------------------------ running a stage */

static FILE *g_script; /* DIR/commands.sh */
static char g_exe[4096];

static demo_stage *stage_new(demo_ctx *c, const char *title) {
    demo_stage *s = &c->stages[c->nstages++];
    memset(s, 0, sizeof *s);
    s->title = title;
    return s;
}

static void stage_skip(demo_ctx *c, const char *title, const char *fmt, ...) {
    demo_stage *s = stage_new(c, title);
    s->status = DEMO_SKIPPED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->note, sizeof s->note, fmt, ap);
    va_end(ap);
    printf("\n== [%d] %s: SKIPPED: %s\n", c->nstages, title, s->note);
    fflush(stdout);
}

/* Run `exe argv[1..]` as a child with inherited stdout/stderr (its progress bars show through). Returns
 * 0 on success; on failure records the exit status in the stage and returns -1. */
static int stage_run(demo_ctx *c, const char *title, argv_t *a) {
    demo_stage *s = stage_new(c, title);
    format_cmd(s->cmdline, sizeof s->cmdline, "taichu", a, 1);
    char shown[8192];
    format_cmd(shown, sizeof shown, g_exe, a, 1);
    printf("\n== [%d] %s\n$ %s\n", c->nstages, title, shown);
    fflush(stdout);
    fflush(stderr);
    if (g_script) {
        char full[65536];
        format_cmd(full, sizeof full, g_exe, a, 0);
        fprintf(g_script, "# %s\n%s\n\n", title, full);
        fflush(g_script);
    }
    double t0 = tc_now_s();
    pid_t pid = fork();
    if (pid < 0) {
        s->status = DEMO_FAILED;
        snprintf(s->note, sizeof s->note, "fork failed: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        execv("/proc/self/exe", a->v);
        execv(g_exe, a->v);
        fprintf(stderr, "taichu demo: cannot run %s: %s\n", g_exe, strerror(errno));
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    s->seconds = tc_now_s() - t0;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        s->status = DEMO_OK;
        printf("== [%d] done in %.1f s\n", c->nstages, s->seconds);
        return 0;
    }
    s->status = DEMO_FAILED;
    if (WIFEXITED(st)) snprintf(s->note, sizeof s->note, "exit status %d", WEXITSTATUS(st));
    else snprintf(s->note, sizeof s->note, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    fprintf(stderr, "\ntaichu demo: stage %d (%s) failed: %s\ntaichu demo: the command was:\n  %s\n", c->nstages,
            title, s->note, shown);
    return -1;
}

/* ------------------------------------------------------------------ fresh output folders */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

/* Each demo run starts clean, but only folders the demo itself made are ever removed: DIR must be empty,
 * new, or carry the marker DIR/.taichu-demo from an earlier demo. */
static int prepare_out(const char *out) {
    char *marker = tc_path_join(out, ".taichu-demo");
    struct stat sb;
    int rc = 0;
    if (stat(out, &sb) == 0 && !tc_file_exists(marker)) {
        /* a non-empty folder that is not ours: refuse rather than delete or mix in someone's files */
        int entries = 0;
        DIR *d = opendir(out);
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) entries++;
        if (d) closedir(d);
        if (!d || entries)
            rc = tc_error_set("demo: --out %s: the folder exists, is not empty and was not made by taichu demo "
                              "(no .taichu-demo marker); choose a new or empty folder", out);
    }
    if (rc == 0) {
        static const char *const subdirs[] = {"data", "data_v1", "pretrain", "pretrain_v1", "finetune_caption",
                                              "finetune_vqa", "eval"};
        for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
            char *d = tc_path_join(out, subdirs[i]);
            if (stat(d, &sb) == 0 && nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
                rc = tc_error_set("demo: cannot remove the previous run's %s: %s", d, strerror(errno));
            free(d);
        }
    }
    if (rc == 0 && tc_mkdir_p(out)) rc = -1;
    if (rc == 0 && tc_write_file_atomic(marker, "taichu demo output folder\n", 26)) rc = -1;
    free(marker);
    return rc;
}

/* ------------------------------------------------------------------ the demo */

static void common_threads(argv_t *a, int threads) {
    if (threads > 0) av_addf(a, "--threads=%d", threads);
}

static int run_demo(int argc, char **argv) {
    const char *out = "taichu-demo";
    int quick = 0, images = 0, pre_steps = 0, ft_steps = 0, threads = 0, batch = 0, v1_images = 0, v1_steps = 0;
    bool quick_flag = false;
    tc_arg_spec specs[] = {
        {"out", TC_ARG_STR, &out, "DIR", "output folder (default ./taichu-demo)", NULL},
        {"quick", TC_ARG_FLAG, &quick_flag, NULL, "small and fast (a smoke test: ~1-2 minutes on 2 cores)", NULL},
        {"images", TC_ARG_INT, &images, "N", "images of the built-in dataset (default 4000; --quick 300)", NULL},
        {"pretrain-steps", TC_ARG_INT, &pre_steps, "N", "pre-training steps (default 1000; --quick 30)", NULL},
        {"v1-images", TC_ARG_INT, &v1_images, "N", "images (with speech) of the tri-modal opt-v1 set (default 600; --quick 60)", NULL},
        {"v1-steps", TC_ARG_INT, &v1_steps, "N", "tri-modal opt-v1 pre-training steps (default 300; --quick 12)", NULL},
        {"finetune-steps", TC_ARG_INT, &ft_steps, "N", "steps of each fine-tuning (default 300; --quick 20)", NULL},
        {"batch", TC_ARG_INT, &batch, "B", "batch size of every training stage (default 32; --quick 16)", NULL},
        {"threads", TC_ARG_INT, &threads, "N", "worker threads of every stage (default: all cores)", "TAICHU_THREADS"},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "demo", NULL, specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    if (a.npos) {
        fprintf(stderr, "taichu demo: unexpected argument \"%s\" (see taichu demo --help)\n", a.pos[0]);
        tc_args_free(&a);
        return 2;
    }
    tc_args_free(&a);
    quick = quick_flag;
    if (images == 0) images = quick ? 300 : 4000;
    if (pre_steps == 0) pre_steps = quick ? 30 : 1000;
    if (ft_steps == 0) ft_steps = quick ? 20 : 300;
    if (batch == 0) batch = quick ? 16 : 32;
    if (v1_images == 0) v1_images = quick ? 60 : 600;
    if (v1_steps == 0) v1_steps = quick ? 12 : 300;
    if (strlen(out) > 900) {
        fprintf(stderr, "taichu demo: --out: path too long (at most 900 bytes)\n");
        return 2;
    }
    if (images < 30 || v1_images < 30 || pre_steps < 1 || ft_steps < 1 || v1_steps < 1 || batch < 2 || threads < 0) {
        fprintf(stderr, "taichu demo: --images and --v1-images must be >= 30, --pretrain-steps, --v1-steps and "
                        "--finetune-steps >= 1, --batch >= 2, --threads >= 0\n");
        return 2;
    }

    ssize_t el = readlink("/proc/self/exe", g_exe, sizeof g_exe - 1);
    if (el <= 0) snprintf(g_exe, sizeof g_exe, "%s", "taichu");
    else g_exe[el] = 0;

    demo_ctx *c = tc_xcalloc(1, sizeof *c);
    c->out = out;
    c->quick = quick;
    c->images = images;
    c->pretrain_steps = pre_steps;
    c->finetune_steps = ft_steps;
    c->v1_images = v1_images;
    c->v1_steps = v1_steps;
    c->v1_speech = tc_synth_speech_available();
    snprintf(c->data, sizeof c->data, "%s/data", out);
    snprintf(c->data_v1, sizeof c->data_v1, "%s/data_v1", out);
    snprintf(c->pretrain_v1_run, sizeof c->pretrain_v1_run, "%s/pretrain_v1", out);
    snprintf(c->pretrain_run, sizeof c->pretrain_run, "%s/pretrain", out);
    snprintf(c->caption_run, sizeof c->caption_run, "%s/finetune_caption", out);
    snprintf(c->vqa_run, sizeof c->vqa_run, "%s/finetune_vqa", out);
    snprintf(c->pretrain_model, sizeof c->pretrain_model, "%s/model", c->pretrain_run);
    snprintf(c->caption_model, sizeof c->caption_model, "%s/model", c->caption_run);
    snprintf(c->vqa_model, sizeof c->vqa_model, "%s/model", c->vqa_run);
    snprintf(c->eval_dir, sizeof c->eval_dir, "%s/eval", out);

    if (prepare_out(out) || tc_mkdir_p(c->eval_dir)) {
        free(c);
        return tc_cli_fail();
    }
    char script[1200];
    snprintf(script, sizeof script, "%s/commands.sh", out);
    g_script = fopen(script, "w");
    if (g_script) fprintf(g_script, "#!/bin/sh\n# The commands `taichu demo` ran, in order (rerun any of them by hand).\nset -e\n\n");

    printf("taichu demo: %d images, opt-v2-tiny, %d pre-training steps, %d fine-tuning steps per task, batch %d%s;\n"
           "             tri-modal opt-v1-tiny: %d images%s, %d pre-training steps\n"
           "output: %s (report.html, results.md, commands.sh)\n",
           images, pre_steps, ft_steps, batch, quick ? " (--quick)" : "", v1_images,
           c->v1_speech ? " with speech" : " (no speech: built without espeak-ng)", v1_steps, out);
    double t0 = tc_now_s();
    int failed = 0;
    argv_t av = {0};
    char buf[2400];

    /* 1. the built-in dataset (speech is not used by the image-text stages, so it is not made) */
    av_add(&av, "taichu"); av_add(&av, "synth");
    av_addf(&av, "--out=%s", c->data);
    av_addf(&av, "--images=%d", images);
    av_add(&av, "--no-audio");
    common_threads(&av, threads);
    failed = stage_run(c, "make the built-in dataset", &av) != 0;
    av_free(&av);

    /* 1b. a smaller tri-modal set (speech costs ~30 ms of CPU per caption) for the v1 pre-training */
    if (!failed) {
        av_add(&av, "taichu"); av_add(&av, "synth");
        av_addf(&av, "--out=%s", c->data_v1);
        av_addf(&av, "--images=%d", v1_images);
        av_add(&av, "--seed=1");
        if (!c->v1_speech) av_add(&av, "--no-audio");
        common_threads(&av, threads);
        failed = stage_run(c, c->v1_speech ? "make the tri-modal set (images, captions, speech, VQ tokens)"
                                           : "make the tri-modal set (no speech: built without espeak-ng)", &av) != 0;
        av_free(&av);
    }

    /* 2. pre-training of opt-v2-tiny at OPT's three levels, summed each step on one batch: token (MLM),
     * modality (TD: the caption rebuilt from the image alone), sample (ITC + ITM). ITM's negatives: uniform for
     * the first half of the steps, then mined from the ITC similarities by sampling (softmax over the
     * non-matches). The original's argmax from the start picks near-duplicate captions that a few minutes of
     * training cannot tell apart (ITM stayed at its label prior and its re-ranking lowered R@1; docs/demo.md) */
    int have_pre = 0;
    char cfg_path[1200];
    snprintf(cfg_path, sizeof cfg_path, "%s/pretrain_v2.json", out);
    char cfg_v2[512];
    int cfg_len = snprintf(cfg_v2, sizeof cfg_v2,
                           "{\n"
                           "  \"train_datasets\": [{\"tasks\": [\"mlm\", \"td\", \"itc\", \"itm\"], \"mix_ratio\": [1, 1, 1, 1]}],\n"
                           "  \"sum_tasks\": true,\n  \"itm_negatives\": \"sampled\",\n  \"itm_hard_from_step\": %d\n}\n",
                           pre_steps / 2);
    if (!failed && have_command("pretrain") && tc_write_file_atomic(cfg_path, cfg_v2, (size_t)cfg_len)) {
        fprintf(stderr, "taichu demo: %s\n", tc_error_get());
        failed = 1;
    }
    if (!failed && have_command("pretrain")) {
        av_add(&av, "taichu"); av_add(&av, "pretrain");
        av_add(&av, "--preset=opt-v2-tiny");
        av_addf(&av, "--config=%s", cfg_path);
        av_addf(&av, "--data=%s", c->data);
        av_addf(&av, "--out=%s", c->pretrain_run);
        av_addf(&av, "--steps=%d", pre_steps);
        av_addf(&av, "--batch=%d", batch);
        av_addf(&av, "--lr=%g", 1e-3);
        av_addf(&av, "--warmup=%d", pre_steps / 10);
        av_addf(&av, "--eval-every=%d", pre_steps / 4 > 0 ? pre_steps / 4 : 1);
        av_addf(&av, "--eval-images=%d", quick ? 30 : 200); /* the log's ITC check on the val split */
        av_add(&av, "--progress=lines");
        common_threads(&av, threads);
        failed = stage_run(c, "pre-train opt-v2-tiny at three levels (MLM; TD; ITC + ITM)", &av) != 0;
        have_pre = !failed;
        av_free(&av);
    } else if (!failed) {
        stage_skip(c, "pre-train opt-v2-tiny", "this build has no `taichu pretrain` command");
    }

    /* 2b. tri-modal pre-training of opt-v1-tiny with every v1 task (MetaLoader: one task per step): token
     * (MLM, masked vision, masked audio: regression + contrastive), modality (text and VQ-image
     * reconstruction), sample (5-way itmThree, image-text and audio-text ITC). Without speech the audio
     * tasks are left out by `taichu pretrain`'s default task list. */
    if (!failed && have_command("pretrain")) {
        av_add(&av, "taichu"); av_add(&av, "pretrain");
        av_add(&av, "--preset=opt-v1-tiny");
        av_addf(&av, "--data=%s", c->data_v1);
        av_addf(&av, "--out=%s", c->pretrain_v1_run);
        av_addf(&av, "--steps=%d", v1_steps);
        av_addf(&av, "--batch=%d", quick ? 8 : 16);
        av_addf(&av, "--lr=%g", 3e-4); /* at 1e-3 the single-stream v1 encoder collapses (docs/training.md) */
        av_addf(&av, "--warmup=%d", v1_steps / 10);
        av_addf(&av, "--eval-every=%d", v1_steps);
        av_addf(&av, "--eval-images=%d", quick ? 6 : 60);
        av_add(&av, "--progress=lines");
        common_threads(&av, threads);
        failed = stage_run(c, c->v1_speech ? "pre-train opt-v1-tiny, tri-modal, at three levels"
                                           : "pre-train opt-v1-tiny at three levels (image-text only: no speech)",
                           &av) != 0;
        av_free(&av);
    }

    /* 3. zero-shot retrieval: ITC ranking + ITM re-ranking of the top k (the v2 protocol) */
    if (!failed && have_pre && have_command("eval")) {
        av_add(&av, "taichu"); av_add(&av, "eval"); av_add(&av, "retrieval");
        av_addf(&av, "--model=%s", c->pretrain_model);
        av_addf(&av, "--data=%s/text/flickr30k_test_zh_token.json", c->data);
        av_addf(&av, "--k-test=%d", quick ? 8 : 16);
        av_addf(&av, "--out=%s/retrieval_zeroshot.json", c->eval_dir);
        av_add(&av, "--no-progress");
        common_threads(&av, threads);
        failed = stage_run(c, "zero-shot retrieval on the test split", &av) != 0;
        av_free(&av);
    } else if (!failed) {
        stage_skip(c, "zero-shot retrieval", have_pre ? "this build has no `taichu eval` command"
                                                      : "no pre-trained model");
    }

    /* 4-5. fine-tune and evaluate captioning, then VQA */
    static const char *const ft_task[2] = {"caption", "vqa"};
    for (int k = 0; k < 2; k++) {
        const char *run = k == 0 ? c->caption_run : c->vqa_run;
        const char *model = k == 0 ? c->caption_model : c->vqa_model;
        char title[96];
        snprintf(title, sizeof title, "fine-tune %s", k == 0 ? "captioning" : "VQA");
        int have_ft = 0;
        if (failed) break;
        if (!have_pre) {
            stage_skip(c, k == 0 ? "fine-tune captioning" : "fine-tune VQA", "no pre-trained model");
        } else if (!have_command("finetune")) {
            stage_skip(c, k == 0 ? "fine-tune captioning" : "fine-tune VQA",
                       "this build has no `taichu finetune` command yet");
        } else {
            av_add(&av, "taichu"); av_add(&av, "finetune"); av_add(&av, ft_task[k]);
            av_addf(&av, "--init=%s", c->pretrain_model);
            av_addf(&av, "--data=%s", c->data);
            av_addf(&av, "--out=%s", run);
            av_addf(&av, "--steps=%d", ft_steps);
            av_addf(&av, "--batch=%d", batch);
            /* the original's 1e-5 suits a pre-trained 1B model; the tiny one (and its fresh VQA decoder)
             * needs a larger step to learn anything in a few hundred steps */
            av_addf(&av, "--lr=%g", 5e-4);
            av_addf(&av, "--warmup=%d", ft_steps / 10);
            av_add(&av, "--progress=lines");
            common_threads(&av, threads);
            failed = stage_run(c, k == 0 ? "fine-tune captioning" : "fine-tune VQA", &av) != 0;
            have_ft = !failed;
            av_free(&av);
        }
        if (failed) break;
        if (!have_ft) {
            stage_skip(c, k == 0 ? "evaluate captioning" : "evaluate VQA", "no fine-tuned model");
            continue;
        }
        if (!have_command("eval")) {
            stage_skip(c, k == 0 ? "evaluate captioning" : "evaluate VQA", "this build has no `taichu eval` command");
            continue;
        }
        av_add(&av, "taichu"); av_add(&av, "eval"); av_add(&av, ft_task[k]);
        av_addf(&av, "--model=%s", model);
        if (k == 0) {
            av_addf(&av, "--data=%s/text/json_coco_test_zh_token_for_cap.json", c->data);
            av_addf(&av, "--gt=%s/text/json_coco_trans_captions.json", c->data);
            av_addf(&av, "--out=%s/caption_pred.json", c->eval_dir);
        } else {
            av_addf(&av, "--data=%s/text/FM-IQA_val_token_ids.json", c->data);
            av_addf(&av, "--gt=%s/text/FM-IQA.json", c->data);
            av_addf(&av, "--out=%s/vqa_pred.json", c->eval_dir);
        }
        /* generation is the slow part (beam search per item): a subset keeps the demo in its time */
        av_addf(&av, "--limit=%d", k == 0 ? (quick ? 20 : 100) : (quick ? 40 : 300));
        av_add(&av, "--no-progress");
        common_threads(&av, threads);
        failed = stage_run(c, k == 0 ? "evaluate captioning on the test split" : "evaluate VQA on the test split",
                           &av) != 0;
        av_free(&av);
    }

    /* 6. text -> image search with the pre-trained model's ITC embeddings */
    int nimg = 0;
    char **imgs = NULL;
    demo_results *res = tc_xcalloc(1, sizeof *res);
    if (!failed && have_pre && have_command("embed")) {
        imgs = demo_test_images(c, &nimg);
        int nsearch = nimg < (quick ? 30 : 200) ? nimg : (quick ? 30 : 200);
        int nq = nsearch < DEMO_QUERIES ? nsearch : DEMO_QUERIES;
        /* queries: the first GT caption of evenly spaced test images (their true image is known) */
        for (int q = 0; q < nq; q++) {
            int idx = (int)((long)q * nsearch / nq);
            if (demo_gt_caption(c, imgs[idx], res->queries[res->nqueries].text, sizeof res->queries[0].text) == 0)
                res->queries[res->nqueries++].truth = idx;
        }
        av_add(&av, "taichu"); av_add(&av, "embed");
        av_addf(&av, "--model=%s", c->pretrain_model);
        av_addf(&av, "--out=%s/search_images.npy", c->eval_dir);
        common_threads(&av, threads);
        av_add(&av, "--image");
        for (int i = 0; i < nsearch; i++) av_add(&av, imgs[i]);
        failed = stage_run(c, "embed test images for text search", &av) != 0;
        av_free(&av);
        if (!failed && res->nqueries > 0) {
            av_add(&av, "taichu"); av_add(&av, "embed");
            av_addf(&av, "--model=%s", c->pretrain_model);
            av_addf(&av, "--out=%s/search_texts.npy", c->eval_dir);
            common_threads(&av, threads);
            av_add(&av, "--text");
            for (int q = 0; q < res->nqueries; q++) av_add(&av, res->queries[q].text);
            failed = stage_run(c, "embed the text queries", &av) != 0;
            av_free(&av);
        }
        if (!failed && res->nqueries > 0) {
            char ip[1200], tp[1200];
            snprintf(ip, sizeof ip, "%s/search_images.npy", c->eval_dir);
            snprintf(tp, sizeof tp, "%s/search_texts.npy", c->eval_dir);
            if (demo_search(ip, tp, res->queries, res->nqueries)) {
                fprintf(stderr, "taichu demo: text search: %s\n", tc_error_get());
                res->nqueries = 0;
            } else {
                res->search_images = tc_xcalloc((size_t)nsearch + 1, sizeof(char *));
                for (int i = 0; i < nsearch; i++) res->search_images[i] = tc_xstrdup(imgs[i]);
                res->nsearch = nsearch;
            }
        } else {
            res->nqueries = 0;
        }
    } else if (!failed) {
        stage_skip(c, "text -> image search", have_pre ? "this build has no `taichu embed` command"
                                                       : "no pre-trained model");
    }
    for (int i = 0; i < nimg; i++) free(imgs[i]);
    free(imgs);
    if (g_script) fclose(g_script);
    g_script = NULL;
    chmod(script, 0755);

    c->seconds_total = tc_now_s() - t0;
    /* results: table on stdout, results.md, report.html (also after a failure: what did run is shown) */
    int nq = res->nqueries;
    demo_query saved[DEMO_QUERIES];
    memcpy(saved, res->queries, sizeof saved);
    char **simg = res->search_images;
    int ns = res->nsearch;
    demo_results_load(c, res);
    memcpy(res->queries, saved, sizeof saved);
    res->nqueries = nq;
    res->search_images = simg;
    res->nsearch = ns;
    demo_results_print(stdout, c, res);
    {
        char *md = NULL;
        size_t mdlen = 0;
        FILE *mf = open_memstream(&md, &mdlen);
        if (mf) {
            fprintf(mf, "# taichu demo results\n");
            demo_results_print(mf, c, res);
            fclose(mf);
            snprintf(buf, sizeof buf, "%s/results.md", out);
            if (tc_write_file_atomic(buf, md, mdlen)) fprintf(stderr, "taichu demo: %s\n", tc_error_get());
            free(md);
        }
    }
    snprintf(buf, sizeof buf, "%s/report.html", out);
    int status = failed ? 1 : 0;
    if (demo_report_write(c, res, buf)) {
        fprintf(stderr, "taichu demo: report: %s\n", tc_error_get());
        status = 1;
    } else {
        printf("\nreport: %s (open it in a browser; it works offline)\n", buf);
    }
    if (failed) fprintf(stderr, "taichu demo: stopped after a failed stage (see above); partial report written\n");
    demo_results_free(res);
    free(res);
    free(c);
    return status;
}

const tc_command tc_command_demo = {"demo", "the whole pipeline on the built-in dataset: results table + report.html",
                                    run_demo};
