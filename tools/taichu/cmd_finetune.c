/* taichu finetune retrieval|caption|vqa: fine-tune a model directory (src/train/finetune.h,
 * docs/training.md "Fine-tuning"). */
#include "args.h"
#include "command.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/threads.h"
#include "train/finetune.h"

static int run_finetune(int argc, char **argv) {
    const char *data = NULL, *out = NULL, *init = NULL, *resume = NULL, *train = NULL, *progress = "auto";
    int steps = 0, batch = 0, threads = 0, warmup = -1, ckpt_every = -1, seed = 42;
    bool rank_itm = false, skip_bad = false;
    float lr = 0, end_lr = 0, epochs = 0, ls = -1;
    tc_arg_spec specs[] = {
        {"init", TC_ARG_STR, &init, "DIR", "model dir to start from (config.json + model.safetensors)", NULL},
        {"data", TC_ARG_STR, &data, "DIR", "dataset root in the v2 layout (DIR/text, DIR/image)", NULL},
        {"out", TC_ARG_STR, &out, "RUN", "run directory: checkpoints, log, RUN/model at the end", NULL},
        {"resume", TC_ARG_STR, &resume, "RUN", "resume an interrupted run from its last good checkpoint", NULL},
        {"train", TC_ARG_STR, &train, "FILE", "training file (default: the task's file under DIR/text)", NULL},
        {"steps", TC_ARG_INT, &steps, "N", "optimizer steps (default: epochs over the training set)", NULL},
        {"epochs", TC_ARG_FLOAT, &epochs, "E", "epochs (default: retrieval 3, caption 10, vqa 10)", NULL},
        {"batch", TC_ARG_INT, &batch, "B", "samples per step (default: retrieval 12, caption 40, vqa 10)", NULL},
        {"lr", TC_ARG_FLOAT, &lr, "LR", "peak learning rate (default: retrieval 2.5e-5, caption/vqa 1e-5)", NULL},
        {"end-lr", TC_ARG_FLOAT, &end_lr, "LR", "final learning rate (default: retrieval 1e-8, caption/vqa 1e-7)", NULL},
        {"warmup", TC_ARG_INT, &warmup, "N", "warm-up steps (default: min(1000, steps/10))", NULL},
        {"label-smoothing", TC_ARG_FLOAT, &ls, "EPS", "caption/vqa label smoothing (default: the model config's, 0.1)", NULL},
        {"rank-from-itm", TC_ARG_FLAG, &rank_itm, NULL, "v1 retrieval: start rank_output from ITM row 2 even if the model has one", NULL},
        {"skip-bad", TC_ARG_FLAG, &skip_bad, NULL, "skip malformed entries and unreadable images (counted) instead of stopping", NULL},
        {"ckpt-every", TC_ARG_INT, &ckpt_every, "N", "checkpoint every N steps (default 1000; 0: only at the end)", NULL},
        {"seed", TC_ARG_INT, &seed, "S", "seed (data order, dropout, fresh parameters)", NULL},
        {"threads", TC_ARG_INT, &threads, "N", "worker threads", "TAICHU_THREADS"},
        {"progress", TC_ARG_STR, &progress, "MODE", "auto | bar | lines | off", NULL},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "finetune", "retrieval|caption|vqa", specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    int kind = a.npos == 1 ? tc_ft_kind_parse(a.pos[0]) : -1;
    tc_args_free(&a);
    if (kind < 0) {
        fprintf(stderr, "taichu finetune: expected one task: retrieval, caption or vqa\n");
        return 2;
    }
    if (!data || (!out && !resume) || (out && !init)) {
        fprintf(stderr, "taichu finetune: --data DIR and --init DIR --out RUN (or --resume RUN) are required\n");
        return 2;
    }
    if (out && resume) {
        fprintf(stderr, "taichu finetune: give either --out RUN (fresh) or --resume RUN, not both\n");
        return 2;
    }
    if (steps < 0 || batch < 0 || lr < 0 || end_lr < 0 || epochs < 0 || seed < 0 || ls > 1) {
        fprintf(stderr, "taichu finetune: --steps, --batch, --lr, --end-lr, --epochs and --seed must be positive, "
                        "--label-smoothing at most 1\n");
        return 2;
    }
    int pm = strcmp(progress, "bar") == 0 ? 1 : strcmp(progress, "lines") == 0 ? 2 : strcmp(progress, "off") == 0 ? 0 : -1;
    if (pm == -1 && strcmp(progress, "auto") != 0) {
        fprintf(stderr, "taichu finetune: --progress: expected auto, bar, lines or off\n");
        return 2;
    }
    tc_set_threads(threads);
    tc_finetune_opts o = tc_finetune_defaults((tc_ft_kind)kind);
    o.init = init;
    o.data = data;
    o.out = out;
    o.resume = resume;
    o.train_file = train;
    o.steps = steps;
    o.epochs = epochs;
    o.batch = batch;
    o.lr = lr;
    o.end_lr = end_lr;
    o.warmup = warmup;
    o.ckpt_every = ckpt_every;
    o.label_smoothing = ls;
    o.rank_from_itm = rank_itm ? 1 : 0;
    o.skip_bad = skip_bad ? 1 : 0;
    o.seed = (unsigned long long)seed;
    o.progress = pm;
    rc = tc_finetune_run(&o);
    if (rc > 128) return rc;
    return rc ? tc_cli_fail() : 0;
}

const tc_command tc_command_finetune = {"finetune", "fine-tune a model: retrieval, caption or vqa", run_finetune};
