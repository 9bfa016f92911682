/* taichu eval: model-driven evaluation with the original protocols (docs/metrics.md, "Evaluation commands").
 *   taichu eval retrieval --model DIR --data TEST.json [--images ROOT] [--protocol v2|v1] [--k-test 128]
 *                         [--limit N] [--ties RULE] [--save-scores PREFIX] [--json] [--out FILE]
 *   taichu eval caption   --model DIR --data TEST.json --gt GT.json [--images ROOT] [--beam K] [--batch N]
 *                         [--out PRED.json] [--json]
 *   taichu eval vqa       --model DIR --data VQA.json [--gt FM-IQA.json] [--images ROOT] [--beam K]
 *                         [--out PRED.json] [--json]
 * Retrieval: spec Appendix A.5 (v2: ITC + ITM re-ranking of the top k) and §5.1 (v1: cross encoder on every
 * pair); recalls in standard naming (IR = text->image). Caption / VQA: generated in batches, predictions
 * written in the original's JSON formats (§5.2, §5.3) and scored exactly as `taichu score` scores them. */
#include "args.h"
#include "command.h"
#include "infer_cli.h"

#include "core/clock.h"
#include "core/error.h"
#include "core/fileio.h"
#include "data/dataset.h"
#include "eval/caption_json.h"
#include "eval/caption_score.h"
#include "eval/protocol_model.h"
#include "eval/recall.h"
#include "io/npy.h"
#include "model/infer.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Images of the v2 layout sit in DIR/image/ when the JSON is DIR/text/X.json (spec §6.2). */
static char *default_image_root(const char *data) {
    const char *slash = strrchr(data, '/');
    char *dir = slash ? tc_xstrdup(data) : tc_xstrdup(".");
    if (slash) dir[slash - data] = 0;
    char *root = tc_path_join(dir, "../image");
    free(dir);
    return root;
}

/* s and a newline as the file path, written atomically */
static int write_line(const char *path, const char *s) {
    size_t len = strlen(s);
    char *line = tc_xmalloc(len + 2);
    memcpy(line, s, len);
    line[len] = '\n';
    int rc = tc_write_file_atomic(path, line, len + 1);
    free(line);
    return rc;
}

static int write_json(const char *path, cJSON *doc) {
    char *s = cJSON_Print(doc);
    int rc = write_line(path, s);
    cJSON_free(s);
    return rc;
}

/* "dir/pred.json" -> "dir/pred_metric.json" (the original eval scripts' name for the scores) */
static char *metric_path(const char *pred) {
    size_t n = strlen(pred);
    const char *dot = strrchr(pred, '.');
    const char *slash = strrchr(pred, '/');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - pred) : n;
    char *out = tc_xmalloc(stem + 32);
    memcpy(out, pred, stem);
    strcpy(out + stem, "_metric.json");
    return out;
}

typedef struct eval_args {
    const char *model, *data, *images, *gt, *protocol, *out, *ties, *save_scores;
    int k_test, limit, batch, pair_batch, beam, max_len, threads;
    bool json, no_progress;
} eval_args;

/* ------------------------------------------------------------------------------------------ retrieval */

static int eval_retrieval(const eval_args *ea, tc_infer *m, const char *img_root) {
    int v1 = strcmp(ea->protocol, "v1") == 0;
    if (!v1 && strcmp(ea->protocol, "v2") != 0) {
        fprintf(stderr, "taichu eval retrieval: --protocol must be v2 or v1, not \"%s\"\n", ea->protocol);
        return 2;
    }
    if ((tc_model_arch(m) == 1) != v1)
        return tc_error_set("eval retrieval: protocol %s needs an opt-%s model, %s is opt-v%d", ea->protocol,
                            ea->protocol, ea->model, tc_model_arch(m)),
               tc_cli_fail();
    tc_tie_rule rule;
    const char *ties = ea->ties ? ea->ties : v1 ? "pessimistic" : "argsort";
    if (tc_tie_rule_parse(ties, &rule)) return tc_cli_fail();
    tc_ds_opts dso = tc_ds_opts_default();
    dso.vocab_size = m->m.cfg.vocab_size;
    tc_ds_captions caps;
    if (tc_ds_load_captions(ea->data, img_root, TC_DS_CAPS_SOME, &dso, &caps)) return tc_cli_fail();
    if (caps.n == 0) {
        tc_ds_captions_free(&caps);
        return tc_error_set("%s: no images to evaluate", ea->data), tc_cli_fail();
    }
    int n_img = caps.n;
    if (ea->limit > 0 && ea->limit < n_img) n_img = ea->limit;
    int n_txt = 0;
    for (int i = 0; i < n_img; i++) n_txt += caps.items[i].ncap;
    const char **paths = tc_xmalloc(sizeof(char *) * (size_t)(n_img + 1));
    tc_ds_ids *texts = tc_xmalloc(sizeof(tc_ds_ids) * (size_t)(n_txt + 1));
    int *txt2img = tc_xmalloc(sizeof(int) * (size_t)(n_txt + 1)), t = 0;
    for (int i = 0; i < n_img; i++) {
        paths[i] = caps.items[i].image;
        for (int c = 0; c < caps.items[i].ncap; c++) {
            texts[t] = caps.items[i].caps[c];
            txt2img[t++] = i;
        }
    }
    long nn = (long)n_img * n_txt;
    float *i2t = tc_xmalloc(sizeof(float) * (size_t)nn), *t2i = tc_xmalloc(sizeof(float) * (size_t)nn);
    tc_eval_opts o = {ea->batch, ea->pair_batch, !ea->no_progress};
    tc_eval_timing tm;
    /* v2: the ITC similarity matrix too, to report the dual encoder's own recalls beside the re-ranked ones */
    float *sim = v1 ? NULL : tc_xmalloc(sizeof(float) * (size_t)nn);
    double t0 = tc_now_s();
    int rc = v1 ? tc_eval_retrieval_v1(m, paths, n_img, texts, n_txt, &o, i2t, t2i, &tm)
                : tc_eval_retrieval_v2(m, paths, n_img, texts, n_txt, ea->k_test, &o, sim, i2t, t2i, &tm);
    double secs = tc_now_s() - t0;
    tc_retrieval_scores r, r_itc;
    int status = 0;
    if (rc == 0) rc = tc_retrieval_recall(i2t, t2i, n_img, n_txt, txt2img, rule, &r);
    if (rc == 0 && ea->save_scores) {
        /* PREFIX_i2t.npy [images x texts], PREFIX_t2i.npy [texts x images], PREFIX_txt2img.npy: the inputs of
         * `taichu score retrieval`; v2 also PREFIX_itc.npy, the ITC similarities (the itc_only recalls) */
        size_t pl = strlen(ea->save_scores) + 16;
        char *path = tc_xmalloc(pl);
        int64_t s_it[2] = {n_img, n_txt}, s_ti[2] = {n_txt, n_img}, s_map[1] = {n_txt};
        int64_t *map = tc_xmalloc(sizeof(int64_t) * (size_t)n_txt);
        for (int k = 0; k < n_txt; k++) map[k] = txt2img[k];
        snprintf(path, pl, "%s_i2t.npy", ea->save_scores);
        rc = tc_npy_write_f32(path, i2t, 2, s_it);
        snprintf(path, pl, "%s_t2i.npy", ea->save_scores);
        if (rc == 0) rc = tc_npy_write_f32(path, t2i, 2, s_ti);
        snprintf(path, pl, "%s_txt2img.npy", ea->save_scores);
        if (rc == 0) rc = tc_npy_write_i64(path, map, 1, s_map, "<i8");
        snprintf(path, pl, "%s_itc.npy", ea->save_scores); /* v2: the ITC similarities [images x texts] */
        if (rc == 0 && sim) rc = tc_npy_write_f32(path, sim, 2, s_it);
        free(map);
        free(path);
    }
    if (rc == 0 && sim) {
        /* ITC alone: i2t = sim, t2i = its transpose (t2i is reused: the re-ranked recalls
         * are in r and the scores saved) */
        for (int i = 0; i < n_img; i++)
            for (int k = 0; k < n_txt; k++) t2i[(size_t)k * n_img + i] = sim[(size_t)i * n_txt + k];
        rc = tc_retrieval_recall(sim, t2i, n_img, n_txt, txt2img, rule, &r_itc);
    }
    if (rc != 0) {
        status = tc_cli_fail();
    } else {
        char *rj = tc_retrieval_json(&r);
        cJSON *doc = cJSON_Parse(rj);
        free(rj);
        if (!doc) doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "task", "retrieval");
        cJSON_AddStringToObject(doc, "protocol", ea->protocol);
        cJSON_AddStringToObject(doc, "model", ea->model);
        cJSON_AddStringToObject(doc, "data", ea->data);
        cJSON_AddNumberToObject(doc, "images", n_img);
        cJSON_AddNumberToObject(doc, "texts", n_txt);
        if (!v1) {
            cJSON_AddNumberToObject(doc, "k_test", ea->k_test);
            char *ij = tc_retrieval_json(&r_itc);
            cJSON *itc = cJSON_Parse(ij);
            free(ij);
            if (itc) cJSON_AddItemToObject(doc, "itc_only", itc);
        } else {
            cJSON_AddBoolToObject(doc, "zero_shot", tc_itm_zero_shot(m));
        }
        cJSON_AddStringToObject(doc, "ties", ties);
        cJSON_AddStringToObject(doc, "naming", v1 ? "standard: IR = text->image, TR = image->text; the v1 original "
                                                    "(eval_retrieval.py, README) prints IR for image->text and TR "
                                                    "for text->image"
                                                  : "standard: IR = text->image, TR = image->text (v2 img_r* / txt_r*)");
        cJSON_AddNumberToObject(doc, "pairs_scored", (double)tm.pairs);
        cJSON_AddNumberToObject(doc, "seconds", secs);
        cJSON_AddNumberToObject(doc, "seconds_images", tm.images_s);
        cJSON_AddNumberToObject(doc, "seconds_texts", tm.texts_s);
        cJSON_AddNumberToObject(doc, "seconds_pairs", tm.pairs_s);
        if (ea->json) {
            tc_cli_print_json(cJSON_Duplicate(doc, 1));
        } else {
            printf("retrieval, protocol %s: %s, %d images x %d texts (%s)\n", ea->protocol, ea->model, n_img, n_txt,
                   ea->data);
            if (v1)
                printf("cross encoder on all %ld pairs, rank head %s\n", tm.pairs,
                       tc_itm_zero_shot(m) ? "= ITM class 2 (zero-shot)" : "fine-tuned rank_output");
            else
                printf("ITC similarities, ITM re-ranking of the top %d both ways (%ld distinct pairs), others -100\n",
                       ea->k_test, tm.pairs);
            tc_retrieval_table_print(stdout, &r);
            if (!v1) {
                printf("ITC similarity alone (no re-ranking):\n");
                tc_retrieval_table_print(stdout, &r_itc);
            }
            if (v1)
                printf("note: the v1 original swaps the two names (its \"IR\" is image->text = TR here, its \"TR\" "
                       "is text->image = IR here); in its naming: IR@1/5/10 %.2f/%.2f/%.2f, TR@1/5/10 %.2f/%.2f/%.2f\n",
                       r.tr[0], r.tr[1], r.tr[2], r.ir[0], r.ir[1], r.ir[2]);
            fprintf(stderr, "time: %.2f s (images %.2f s, texts %.2f s, pairs %.2f s = %.3f ms per pair)\n", secs,
                    tm.images_s, tm.texts_s, tm.pairs_s, tm.pairs ? 1e3 * tm.pairs_s / (double)tm.pairs : 0.0);
        }
        if (ea->out && write_json(ea->out, doc)) status = tc_cli_fail();
        cJSON_Delete(doc);
        if (!status) status = tc_cli_flush();
    }
    free(i2t);
    free(t2i);
    free(sim);
    free(paths);
    free(texts);
    free(txt2img);
    tc_ds_captions_free(&caps);
    return status;
}

/* ------------------------------------------------------------------------------------------ caption / VQA */

/* Score a written predictions file as `taichu score` does, print the table, save PRED_metric.json. */
static int score_and_report(const eval_args *ea, tc_caption_task task, const char *pred, const char *gt,
                            double gen_s) {
    tc_caption_set set;
    if (tc_caption_set_load(task, pred, gt, &set)) return tc_cli_fail();
    tc_caption_scores s;
    tc_caption_opts opts = {TC_SEGMENT_CHAR};
    if (tc_caption_score((const char *const *)set.pred, set.refs, set.n, &opts, &s, NULL)) {
        tc_caption_set_free(&set);
        return tc_cli_fail();
    }
    int vqa = task == TC_CAPTION_TASK_VQA;
    double acc = vqa ? tc_vqa_exact_match(&set) : 0;
    char extra[1024];
    int k = snprintf(extra, sizeof extra, "\"%s\": %d, \"segment\": \"char\", \"seconds_generate\": %.3f",
                     vqa ? "questions" : "images", set.n, gen_s);
    if (vqa) snprintf(extra + k, sizeof extra - (size_t)k, ", \"accuracy\": %.17g", acc);
    char *js = tc_caption_scores_json(&s, extra);
    char *mp = metric_path(pred);
    int status = 0;
    if (ea->json) {
        printf("%s\n", js);
    } else {
        printf("%s: %s, %d %s, predictions %s, scores %s\n", vqa ? "vqa" : "caption", ea->model, set.n,
               vqa ? "questions" : "images", pred, mp);
        tc_caption_table_print(stdout, &s);
        if (vqa) printf("exact-match accuracy: %.2f%%\n", acc);
        fprintf(stderr, "generation: %.2f s (%.1f ms per item)\n", gen_s, set.n ? 1e3 * gen_s / set.n : 0.0);
    }
    if (write_line(mp, js)) status = tc_cli_fail();
    free(js);
    free(mp);
    tc_caption_set_free(&set);
    return status ? status : tc_cli_flush();
}

static tc_gen_params gen_params(const eval_args *ea, tc_gen_params gp) {
    if (ea->beam > 0) gp.beam = ea->beam;
    if (ea->max_len > 0) gp.max_len = ea->max_len;
    return gp;
}

static int eval_caption(const eval_args *ea, tc_infer *m, const char *img_root) {
    if (!ea->gt) {
        fprintf(stderr, "taichu eval caption: --gt GT.json is required ({image_id: [captions]})\n");
        return 2;
    }
    tc_ds_opts dso = tc_ds_opts_default();
    dso.vocab_size = m->m.cfg.vocab_size;
    tc_ds_captions caps;
    if (tc_ds_load_captions(ea->data, img_root, TC_DS_CAPS_OPTIONAL, &dso, &caps)) return tc_cli_fail();
    if (caps.n == 0) {
        tc_ds_captions_free(&caps);
        return tc_error_set("%s: no images to caption", ea->data), tc_cli_fail();
    }
    int n = caps.n;
    if (ea->limit > 0 && ea->limit < n) n = ea->limit;
    const char **paths = tc_xmalloc(sizeof(char *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) paths[i] = caps.items[i].image;
    char **texts = tc_xcalloc((size_t)n + 1, sizeof *texts);
    tc_gen_params gp = gen_params(ea, tc_caption_defaults(m));
    tc_eval_opts o = {ea->batch, ea->pair_batch, !ea->no_progress};
    double t0 = tc_now_s();
    int status = 0;
    if (tc_eval_caption_gen(m, paths, n, &gp, &o, texts)) status = tc_cli_fail();
    double gen_s = tc_now_s() - t0;
    const char *pred = ea->out ? ea->out : "caption_pred.json";
    if (!status) {
        /* eval_caption.py: image_id = last 6 characters of the file stem */
        cJSON *doc = cJSON_CreateArray();
        for (int i = 0; i < n; i++) {
            char id[64];
            tc_ds_coco_image_id(caps.items[i].image_rel, id, sizeof id);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "image_id", id);
            cJSON_AddStringToObject(e, "caption", texts[i]);
            cJSON_AddItemToArray(doc, e);
        }
        if (write_json(pred, doc)) status = tc_cli_fail();
        cJSON_Delete(doc);
    }
    if (!status) status = score_and_report(ea, TC_CAPTION_TASK_CAPTION, pred, ea->gt, gen_s);
    for (int i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(paths);
    tc_ds_captions_free(&caps);
    return status;
}

static int eval_vqa(const eval_args *ea, tc_infer *m, const char *img_root) {
    tc_ds_opts dso = tc_ds_opts_default();
    dso.vocab_size = m->m.cfg.vocab_size;
    tc_ds_vqa q;
    if (tc_ds_load_vqa(ea->data, img_root, !ea->gt, &dso, &q)) return tc_cli_fail();
    if (q.n == 0) {
        tc_ds_vqa_free(&q);
        return tc_error_set("%s: no questions", ea->data), tc_cli_fail();
    }
    int n = q.n;
    if (ea->limit > 0 && ea->limit < n) n = ea->limit;
    const char **paths = tc_xmalloc(sizeof(char *) * (size_t)(n + 1));
    tc_ds_ids *qs = tc_xmalloc(sizeof(tc_ds_ids) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        paths[i] = q.items[i].image;
        qs[i] = q.items[i].question;
    }
    char **ans = tc_xcalloc((size_t)n + 1, sizeof *ans);
    tc_gen_params gp = gen_params(ea, tc_vqa_defaults(m));
    tc_eval_opts o = {ea->batch, ea->pair_batch, !ea->no_progress};
    double t0 = tc_now_s();
    int status = 0;
    if (tc_eval_vqa_gen(m, paths, qs, n, &gp, &o, ans)) status = tc_cli_fail();
    double gen_s = tc_now_s() - t0;
    const char *pred = ea->out ? ea->out : "vqa_pred.json";
    char *gt = ea->gt ? tc_xstrdup(ea->gt) : NULL;
    if (!status) {
        /* test_vqa.py's predictions: [{"question_id", "answer"}] */
        cJSON *doc = cJSON_CreateArray();
        for (int i = 0; i < n; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "question_id", q.items[i].question_id);
            cJSON_AddStringToObject(e, "answer", ans[i]);
            cJSON_AddItemToArray(doc, e);
        }
        if (write_json(pred, doc)) status = tc_cli_fail();
        cJSON_Delete(doc);
    }
    if (!status && !gt) {
        /* no FM-IQA.json: the data file's answer ids, as text, in FM-IQA.json's form beside the predictions */
        size_t pl = strlen(pred);
        gt = tc_xmalloc(pl + 16);
        memcpy(gt, pred, pl + 1);
        char *dot = strrchr(gt, '.');
        if (dot && !strchr(dot, '/')) *dot = 0;
        strcat(gt, "_gt.json");
        cJSON *doc = cJSON_CreateObject(), *val = cJSON_AddArrayToObject(doc, "val");
        for (int i = 0; i < n; i++) {
            char *a = tc_ids_to_text(m, q.items[i].answer.v, q.items[i].answer.n);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "question_id", q.items[i].question_id);
            cJSON_AddStringToObject(e, "Answer", a);
            cJSON_AddItemToArray(val, e);
            free(a);
        }
        if (write_json(gt, doc)) status = tc_cli_fail();
        cJSON_Delete(doc);
    }
    if (!status) status = score_and_report(ea, TC_CAPTION_TASK_VQA, pred, gt, gen_s);
    free(gt);
    for (int i = 0; i < n; i++) free(ans[i]);
    free(ans);
    free(paths);
    free(qs);
    tc_ds_vqa_free(&q);
    return status;
}

/* ------------------------------------------------------------------------------------------ dispatch */

static int run_eval(int argc, char **argv) {
    eval_args ea = {.protocol = "v2", .k_test = 128};
    tc_arg_spec specs[] = {
        {"model", TC_ARG_STR, &ea.model, "DIR", "model directory (config.json, model.safetensors, vocab.txt)", "TAICHU_MODEL"},
        {"data", TC_ARG_STR, &ea.data, "FILE", "retrieval: [{image, caption: [[ids]...]}]; caption: [{image}]; vqa: [{image_id, Question, question_id}]", NULL},
        {"images", TC_ARG_STR, &ea.images, "ROOT", "image root the JSON paths are relative to (default: DATA_DIR/../image)", NULL},
        {"gt", TC_ARG_STR, &ea.gt, "FILE", "caption: {image_id: [captions]}; vqa: FM-IQA.json (default: the data file's answers)", NULL},
        {"protocol", TC_ARG_STR, &ea.protocol, "v2|v1", "retrieval protocol (v2: ITC + ITM re-ranking; v1: cross encoder on every pair)", NULL},
        {"k-test", TC_ARG_INT, &ea.k_test, "K", "v2: candidates re-ranked by ITM per query (128)", NULL},
        {"ties", TC_ARG_STR, &ea.ties, "RULE", "recall tie rule: argsort (v2 default) or pessimistic (v1 default)", NULL},
        {"limit", TC_ARG_INT, &ea.limit, "N", "only the first N images / questions", NULL},
        {"beam", TC_ARG_INT, &ea.beam, "K", "caption / vqa beam width (default: the architecture's)", NULL},
        {"max-len", TC_ARG_INT, &ea.max_len, "N", "caption / vqa decode steps (default: the architecture's)", NULL},
        {"batch", TC_ARG_INT, &ea.batch, "N", "images / texts per forward pass (16)", NULL},
        {"pair-batch", TC_ARG_INT, &ea.pair_batch, "N", "retrieval: pairs per fusion / cross-encoder pass (v2 128, v1 64)", NULL},
        {"out", TC_ARG_STR, &ea.out, "FILE", "retrieval: results JSON; caption / vqa: predictions JSON (default caption_pred.json / vqa_pred.json), scores beside as *_metric.json", NULL},
        {"save-scores", TC_ARG_STR, &ea.save_scores, "PREFIX", "retrieval: also write PREFIX_i2t.npy, PREFIX_t2i.npy, PREFIX_txt2img.npy (for taichu score retrieval); v2 also PREFIX_itc.npy (ITC similarities)", NULL},
        {"json", TC_ARG_FLAG, &ea.json, NULL, "print the results as JSON", NULL},
        {"no-progress", TC_ARG_FLAG, &ea.no_progress, NULL, "no progress bars", NULL},
        {"threads", TC_ARG_INT, &ea.threads, "N", "worker threads (default: all cores)", "TAICHU_THREADS"},
    };
    int nspecs = (int)(sizeof specs / sizeof specs[0]);
    tc_args a;
    int rc = tc_args_parse(&a, "eval", "retrieval|caption|vqa", specs, nspecs, argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    const char *task = a.npos == 1 ? a.pos[0] : "";
    if (strcmp(task, "retrieval") != 0 && strcmp(task, "caption") != 0 && strcmp(task, "vqa") != 0) {
        fprintf(stderr, "taichu eval: expected one task: retrieval, caption or vqa\n");
        tc_args_usage("eval", "retrieval|caption|vqa", specs, nspecs);
        tc_args_free(&a);
        return 2;
    }
    if (!ea.model || !ea.data) {
        fprintf(stderr, "taichu eval %s: --model DIR and --data FILE are required\n", task);
        tc_args_free(&a);
        return 2;
    }
    if (ea.k_test < 1 || ea.batch < 0 || ea.pair_batch < 0 || ea.limit < 0) {
        fprintf(stderr, "taichu eval: --k-test must be >= 1; --batch, --pair-batch, --limit >= 0\n");
        tc_args_free(&a);
        return 2;
    }
    char *root = ea.images ? tc_xstrdup(ea.images) : default_image_root(ea.data);
    tc_infer *m = tc_cli_open_model(ea.model, ea.threads);
    int status;
    if (!m) status = tc_cli_fail();
    else if (strcmp(task, "retrieval") == 0) status = eval_retrieval(&ea, m, root);
    else if (strcmp(task, "caption") == 0) status = eval_caption(&ea, m, root);
    else status = eval_vqa(&ea, m, root);
    tc_model_close(m);
    free(root);
    tc_args_free(&a);
    return status;
}

const tc_command tc_command_eval = {"eval", "evaluate a model: retrieval (v2/v1 protocols), caption, vqa, with the original metrics",
                                    run_eval};
