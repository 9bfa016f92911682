/* taichu score: caption metrics for predictions made anywhere, no model needed.
 *   taichu score caption --pred PRED.json --gt GT.json [--json] [--segment char|space] [--out FILE]
 *   taichu score vqa     --pred PRED.json --gt FM-IQA.json [...]
 * Formats are the original evaluation scripts' (src/eval/caption_json.h, docs/metrics.md). */
#include "args.h"
#include "command.h"

#include "core/error.h"
#include "core/fileio.h"
#include "eval/caption_json.h"
#include "eval/caption_score.h"
#include "eval/segment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int run_score(int argc, char **argv) {
    const char *pred = NULL, *gt = NULL, *segment = "char", *out_path = NULL;
    bool json = false;
    tc_arg_spec specs[] = {
        {"pred", TC_ARG_STR, &pred, "FILE", "predictions JSON: [{\"image_id\", \"caption\"}] (vqa: question_id, answer)", NULL},
        {"gt", TC_ARG_STR, &gt, "FILE", "ground truth JSON: {image_id: [captions]} or {\"annotations\": [...]} (vqa: FM-IQA.json)", NULL},
        {"segment", TC_ARG_STR, &segment, "MODE", "char (default: one token per Chinese character) or space (pre-segmented text)", NULL},
        {"json", TC_ARG_FLAG, &json, NULL, "print the scores as JSON (the original's *_metric.json names, raw scale)", NULL},
        {"out", TC_ARG_STR, &out_path, "FILE", "also write the JSON scores to FILE (atomically)", NULL},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "score", "caption|vqa", specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    tc_caption_task task;
    if (a.npos != 1 || (strcmp(a.pos[0], "caption") != 0 && strcmp(a.pos[0], "vqa") != 0)) {
        fprintf(stderr, "taichu score: expected one task, \"caption\" or \"vqa\"\n");
        tc_args_usage("score", "caption|vqa", specs, (int)(sizeof specs / sizeof specs[0]));
        tc_args_free(&a);
        return 2;
    }
    task = strcmp(a.pos[0], "vqa") == 0 ? TC_CAPTION_TASK_VQA : TC_CAPTION_TASK_CAPTION;
    tc_args_free(&a);
    if (!pred || !gt) {
        fprintf(stderr, "taichu score: --pred and --gt are required\n");
        return 2;
    }
    tc_caption_opts opts = {TC_SEGMENT_CHAR};
    if (tc_segment_mode_parse(segment, &opts.segment)) return tc_cli_fail();

    double t0 = now_s();
    tc_caption_set set;
    if (tc_caption_set_load(task, pred, gt, &set)) return tc_cli_fail();
    tc_caption_scores s;
    if (tc_caption_score((const char *const *)set.pred, set.refs, set.n, &opts, &s, NULL)) {
        tc_caption_set_free(&set);
        return tc_cli_fail();
    }
    double secs = now_s() - t0;
    const char *unit = task == TC_CAPTION_TASK_VQA ? "questions" : "images";
    char extra[256];
    double acc = task == TC_CAPTION_TASK_VQA ? tc_vqa_exact_match(&set) : 0;
    if (task == TC_CAPTION_TASK_VQA)
        snprintf(extra, sizeof extra, "\"accuracy\": %.17g, \"%s\": %d, \"segment\": \"%s\"", acc, unit, set.n,
                 tc_segment_mode_name(opts.segment));
    else
        snprintf(extra, sizeof extra, "\"%s\": %d, \"segment\": \"%s\"", unit, set.n, tc_segment_mode_name(opts.segment));
    char *js = tc_caption_scores_json(&s, extra);
    if (json) {
        printf("%s\n", js);
    } else {
        printf("%s scores: %d %s of %d in %s, segmentation \"%s\", coco-caption definitions (values x100)\n",
               task == TC_CAPTION_TASK_VQA ? "vqa" : "caption", set.n, unit, set.n_gt_items, gt, tc_segment_mode_name(opts.segment));
        tc_caption_table_print(stdout, &s);
        if (task == TC_CAPTION_TASK_VQA) printf("exact-match accuracy: %.2f%%\n", acc);
        fprintf(stderr, "scored in %.3f s\n", secs);
    }
    int ret = 0;
    if (out_path) {
        size_t len = strlen(js);
        char *line = tc_xmalloc(len + 2);
        memcpy(line, js, len);
        line[len] = '\n';
        if (tc_write_file_atomic(out_path, line, len + 1)) ret = tc_cli_fail();
        free(line);
    }
    free(js);
    tc_caption_set_free(&set);
    return ret;
}

const tc_command tc_command_score = {"score", "caption / VQA metrics (BLEU, METEOR, ROUGE-L, CIDEr-D) of a predictions file",
                                     run_score};
