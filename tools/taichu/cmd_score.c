/* taichu score: metrics for outputs made anywhere, no model needed.
 *   taichu score caption   --pred PRED.json --gt GT.json [--json] [--segment char|space] [--out FILE]
 *   taichu score vqa       --pred PRED.json --gt FM-IQA.json [...]
 *   taichu score retrieval --i2t I2T.npy [--t2i T2I.npy] [--txt2img MAP.npy | --captions-per-image 5]
 *                          [--ties pessimistic|argsort] [--json] [--out FILE]
 * Formats are the original evaluation scripts' (src/eval/caption_json.h, docs/metrics.md). */
#include "args.h"
#include "command.h"

#include "core/clock.h"
#include "core/error.h"
#include "core/fileio.h"
#include "eval/caption_json.h"
#include "eval/caption_score.h"
#include "eval/recall.h"
#include "eval/segment.h"
#include "io/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int write_out(const char *out_path, const char *js) {
    size_t len = strlen(js);
    char *line = tc_xmalloc(len + 2);
    memcpy(line, js, len);
    line[len] = '\n';
    int rc = tc_write_file_atomic(out_path, line, len + 1);
    free(line);
    return rc;
}

/* Recall@1/5/10 both ways from similarity matrices. */
static int score_retrieval(const char *i2t_path, const char *t2i_path, const char *map_path, int per_image,
                           const char *ties, bool json, const char *out_path) {
    tc_tie_rule rule;
    if (tc_tie_rule_parse(ties, &rule)) return tc_cli_fail();
    if (!i2t_path) {
        fprintf(stderr, "taichu score retrieval: --i2t is required\n");
        return 2;
    }
    if (per_image < 1) {
        fprintf(stderr, "taichu score retrieval: --captions-per-image must be >= 1\n");
        return 2;
    }
    tc_npy i2t = {0}, t2i = {0}, map = {0};
    int *txt2img = NULL, ret = 1;
    char *js = NULL;
    if (tc_npy_read_f32(i2t_path, &i2t)) goto done;
    if (i2t.ndim != 2 || i2t.shape[0] < 1 || i2t.shape[1] < 1 || i2t.shape[0] > 1 << 24 || i2t.shape[1] > 1 << 24) {
        tc_error_set("%s: expected a 2-D [images x texts] score matrix", i2t_path);
        goto done;
    }
    int n_img = (int)i2t.shape[0], n_txt = (int)i2t.shape[1];
    if (t2i_path) {
        if (tc_npy_read_f32(t2i_path, &t2i)) goto done;
        if (t2i.ndim != 2 || t2i.shape[0] != n_txt || t2i.shape[1] != n_img) {
            tc_error_set("%s: expected a [%d x %d] (texts x images) score matrix", t2i_path, n_txt, n_img);
            goto done;
        }
    }
    txt2img = tc_xmalloc((size_t)n_txt * sizeof *txt2img);
    if (map_path) {
        if (tc_npy_read_i64(map_path, &map)) goto done;
        if (map.ndim != 1 || map.shape[0] != n_txt) {
            tc_error_set("%s: expected a 1-D array of %d image indices (one per text)", map_path, n_txt);
            goto done;
        }
        for (int t = 0; t < n_txt; t++) {
            if (map.i64[t] < 0 || map.i64[t] >= n_img) {
                tc_error_set("%s: entry %d: image index %lld out of range [0, %d)", map_path, t, (long long)map.i64[t], n_img);
                goto done;
            }
            txt2img[t] = (int)map.i64[t];
        }
    } else {
        if ((int64_t)n_img * per_image != n_txt) {
            tc_error_set("%s: %d texts is not %d images x %d captions (give --txt2img or --captions-per-image)",
                         i2t_path, n_txt, n_img, per_image);
            goto done;
        }
        for (int t = 0; t < n_txt; t++) txt2img[t] = t / per_image;
    }
    tc_retrieval_scores r;
    if (tc_retrieval_recall(i2t.f32, t2i_path ? t2i.f32 : NULL, n_img, n_txt, txt2img, rule, &r)) {
        tc_error_prefix("%s", i2t_path);
        goto done;
    }
    js = tc_retrieval_json(&r);
    if (json) {
        printf("%s\n", js);
    } else {
        printf("retrieval recall: %d images x %d texts, ties %s\n", n_img, n_txt, ties);
        tc_retrieval_table_print(stdout, &r);
    }
    ret = 0;
    if (out_path && write_out(out_path, js)) ret = 1;
done:
    if (ret) tc_cli_fail();
    free(js);
    free(txt2img);
    tc_npy_free(&i2t);
    tc_npy_free(&t2i);
    tc_npy_free(&map);
    return ret;
}

static int run_score(int argc, char **argv) {
    const char *pred = NULL, *gt = NULL, *segment = "char", *out_path = NULL;
    const char *i2t = NULL, *t2i = NULL, *txt2img = NULL, *ties = "pessimistic";
    int per_image = 5;
    bool json = false;
    tc_arg_spec specs[] = {
        {"pred", TC_ARG_STR, &pred, "FILE", "predictions JSON: [{\"image_id\", \"caption\"}] (vqa: question_id, answer)", NULL},
        {"gt", TC_ARG_STR, &gt, "FILE", "ground truth JSON: {image_id: [captions]} or {\"annotations\": [...]} (vqa: FM-IQA.json)", NULL},
        {"segment", TC_ARG_STR, &segment, "MODE", "char (default: one token per Chinese character) or space (pre-segmented text)", NULL},
        {"json", TC_ARG_FLAG, &json, NULL, "print the scores as JSON (the original's *_metric.json names, raw scale)", NULL},
        {"out", TC_ARG_STR, &out_path, "FILE", "also write the JSON scores to FILE (atomically)", NULL},
        {"i2t", TC_ARG_STR, &i2t, "NPY", "retrieval: [images x texts] scores (image->text queries)", NULL},
        {"t2i", TC_ARG_STR, &t2i, "NPY", "retrieval: [texts x images] scores (default: transpose of --i2t)", NULL},
        {"txt2img", TC_ARG_STR, &txt2img, "NPY", "retrieval: image index of each text (int array)", NULL},
        {"captions-per-image", TC_ARG_INT, &per_image, "N", "retrieval without --txt2img: text t shows image t / N (default 5)", NULL},
        {"ties", TC_ARG_STR, &ties, "RULE", "retrieval: pessimistic (default) or argsort (numpy stable argsort, reversed)", NULL},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "score", "caption|vqa", specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    tc_caption_task task;
    if (a.npos != 1 || (strcmp(a.pos[0], "caption") != 0 && strcmp(a.pos[0], "vqa") != 0 &&
                        strcmp(a.pos[0], "retrieval") != 0)) {
        fprintf(stderr, "taichu score: expected one task: caption, vqa or retrieval\n");
        tc_args_usage("score", "caption|vqa|retrieval", specs, (int)(sizeof specs / sizeof specs[0]));
        tc_args_free(&a);
        return 2;
    }
    if (strcmp(a.pos[0], "retrieval") == 0) {
        tc_args_free(&a);
        return score_retrieval(i2t, t2i, txt2img, per_image, ties, json, out_path);
    }
    task = strcmp(a.pos[0], "vqa") == 0 ? TC_CAPTION_TASK_VQA : TC_CAPTION_TASK_CAPTION;
    tc_args_free(&a);
    if (!pred || !gt) {
        fprintf(stderr, "taichu score: --pred and --gt are required\n");
        return 2;
    }
    tc_caption_opts opts = {TC_SEGMENT_CHAR};
    if (tc_segment_mode_parse(segment, &opts.segment)) return tc_cli_fail();

    double t0 = tc_now_s();
    tc_caption_set set;
    if (tc_caption_set_load(task, pred, gt, &set)) return tc_cli_fail();
    tc_caption_scores s;
    if (tc_caption_score((const char *const *)set.pred, set.refs, set.n, &opts, &s, NULL)) {
        tc_caption_set_free(&set);
        return tc_cli_fail();
    }
    double secs = tc_now_s() - t0;
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
    if (out_path && write_out(out_path, js)) ret = tc_cli_fail();
    free(js);
    tc_caption_set_free(&set);
    return ret;
}

const tc_command tc_command_score = {"score", "metrics of outputs made anywhere: caption / VQA (BLEU, METEOR, ROUGE-L, CIDEr-D), retrieval recall",
                                     run_score};
