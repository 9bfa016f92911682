/* taichu pretrain: pre-train an OPT model from the original's task config (src/train/pretrain.h,
 * docs/training.md "Pre-training"). */
#include "args.h"
#include "command.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/threads.h"
#include "train/pretrain.h"

static int run_pretrain(int argc, char **argv) {
    const char *config = NULL, *data = NULL, *out = NULL, *init = NULL, *resume = NULL, *preset = NULL;
    const char *progress = "auto";
    int steps = 0, batch = 0, threads = 0, warmup = -1, eval_every = -1, eval_images = 0;
    float lr = 0;
    bool skip_bad = false;
    tc_arg_spec specs[] = {
        {"config", TC_ARG_STR, &config, "CFG.json", "task config (the original's keys; docs/config.md)", NULL},
        {"data", TC_ARG_STR, &data, "DIR", "dataset root in the v2 layout (DIR/text, DIR/image; v1 also DIR/audio, DIR/img_tokens)", NULL},
        {"out", TC_ARG_STR, &out, "RUN", "run directory: checkpoints, log, RUN/model at the end", NULL},
        {"init", TC_ARG_STR, &init, "DIR", "start from this model dir (config.json + model.safetensors)", NULL},
        {"resume", TC_ARG_STR, &resume, "RUN", "resume an interrupted run from its last good checkpoint", NULL},
        {"steps", TC_ARG_INT, &steps, "N", "optimizer steps (overrides the config)", NULL},
        {"batch", TC_ARG_INT, &batch, "B", "samples per step and process (overrides train_batch_size)", NULL},
        {"lr", TC_ARG_FLOAT, &lr, "LR", "peak learning rate (overrides learning_rate)", NULL},
        {"warmup", TC_ARG_INT, &warmup, "N", "warm-up steps (overrides warmup_steps)", NULL},
        {"eval-every", TC_ARG_INT, &eval_every, "N", "ITC retrieval check every N steps (0: at the end)", NULL},
        {"eval-images", TC_ARG_INT, &eval_images, "N", "images of the test split used by the check (default 1000)", NULL},
        {"preset", TC_ARG_STR, &preset, "NAME", "model preset, e.g. opt-v2-tiny (overrides model_config)", NULL},
        {"threads", TC_ARG_INT, &threads, "N", "worker threads", "TAICHU_THREADS"},
        {"progress", TC_ARG_STR, &progress, "MODE", "auto | bar | lines | off", NULL},
        {"skip-bad", TC_ARG_FLAG, &skip_bad, NULL, "skip malformed entries and unreadable images (counted) instead of stopping", NULL},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "pretrain", NULL, specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    tc_args_free(&a);
    if (!data || (!out && !resume)) {
        fprintf(stderr, "taichu pretrain: --data DIR and --out RUN (or --resume RUN) are required\n");
        return 2;
    }
    if (out && resume) {
        fprintf(stderr, "taichu pretrain: give either --out RUN (fresh) or --resume RUN, not both\n");
        return 2;
    }
    if (steps < 0 || batch < 0 || lr < 0 || eval_images < 0) {
        fprintf(stderr, "taichu pretrain: --steps, --batch, --lr and --eval-images must be positive\n");
        return 2;
    }
    int pm = strcmp(progress, "bar") == 0 ? 1 : strcmp(progress, "lines") == 0 ? 2 : strcmp(progress, "off") == 0 ? 0 : -1;
    if (pm == -1 && strcmp(progress, "auto") != 0) {
        fprintf(stderr, "taichu pretrain: --progress: expected auto, bar, lines or off\n");
        return 2;
    }
    tc_set_threads(threads);
    tc_pretrain_opts o = {config, data, out, init, resume, preset, steps, batch, lr, warmup, eval_every, eval_images, pm,
                          skip_bad ? 1 : 0};
    rc = tc_pretrain_run(&o);
    if (rc > 128) return rc;
    return rc ? tc_cli_fail() : 0;
}

const tc_command tc_command_pretrain = {"pretrain", "pre-train an OPT model (opt-v2: MLM + ITC + ITM; opt-v1: token, modality and sample level tasks)", run_pretrain};
