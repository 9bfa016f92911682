/* Reading what the demo's stages wrote (eval JSON files, the dataset's GT) and printing the results
 * table. Nothing here computes a metric: a number shown is a number a stage saved. */
#include "demo.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/error.h"
#include "core/fileio.h"

static cJSON *load_json(const char *dir, const char *name) {
    char path[2400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    char *t = tc_read_file(path, &len);
    if (!t) {
        tc_error_clear();
        return NULL;
    }
    cJSON *root = cJSON_Parse(t);
    free(t);
    return root;
}

static int num(const cJSON *o, const char *key, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) return 0;
    *out = v->valuedouble;
    return 1;
}

/* a JSON id (string or number) as a string */
static void id_str(const cJSON *v, char *dst, size_t cap) {
    if (cJSON_IsString(v)) snprintf(dst, cap, "%s", v->valuestring);
    else if (cJSON_IsNumber(v)) snprintf(dst, cap, "%.0f", v->valuedouble);
    else dst[0] = 0;
}

/* "…/synth_000123.jpg" -> "000123" (the caption metrics' image id: last 6 characters of the stem) */
static void image_id(const char *path, char id[8]) {
    const char *dot = strrchr(path, '.');
    memset(id, 0, 8);
    if (dot && dot - path >= 6) memcpy(id, dot - 6, 6);
}

char **demo_test_images(const demo_ctx *c, int *n_out) {
    *n_out = 0;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/text", c->data);
    cJSON *root = load_json(dir, "flickr30k_test_zh_token.json");
    int n = cJSON_IsArray(root) ? cJSON_GetArraySize(root) : 0;
    if (n == 0) {
        cJSON_Delete(root);
        return NULL;
    }
    char **v = tc_xcalloc((size_t)n + 1, sizeof *v);
    int k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        const cJSON *img = cJSON_GetObjectItemCaseSensitive(e, "image");
        if (cJSON_IsString(img)) {
            char full[2400];
            snprintf(full, sizeof full, "%s/image/%s", c->data, img->valuestring);
            v[k++] = tc_xstrdup(full);
        }
    }
    cJSON_Delete(root);
    *n_out = k;
    return v;
}

static const char *gt_first(const cJSON *gt, const char *image_path) {
    char id[8];
    image_id(image_path, id);
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(gt, id);
    const cJSON *first = cJSON_IsArray(caps) ? cJSON_GetArrayItem(caps, 0) : NULL;
    return cJSON_IsString(first) ? first->valuestring : NULL;
}

int demo_gt_caption(const demo_ctx *c, const char *image_path, char *dst, size_t cap) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/text", c->data);
    cJSON *gt = load_json(dir, "json_coco_trans_captions.json");
    const char *s = gt_first(gt, image_path);
    if (s) snprintf(dst, cap, "%s", s);
    cJSON_Delete(gt);
    return s ? 0 : -1;
}

static void load_gallery(const demo_ctx *c, demo_results *r) {
    int n = 0;
    char **imgs = demo_test_images(c, &n);
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/text", c->data);
    cJSON *gt = load_json(dir, "json_coco_trans_captions.json");
    cJSON *fm = load_json(dir, "FM-IQA.json");
    cJSON *cap = load_json(c->eval_dir, "caption_pred.json");
    cJSON *vqa = load_json(c->eval_dir, "vqa_pred.json");
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(fm, "val");
    r->ngallery = n < DEMO_GALLERY ? n : DEMO_GALLERY;
    for (int i = 0; i < r->ngallery; i++) {
        demo_gallery_item *g = &r->gallery[i];
        memset(g, 0, sizeof *g);
        snprintf(g->image, sizeof g->image, "%s", imgs[i]);
        char id[8];
        image_id(imgs[i], id);
        const char *s = gt_first(gt, imgs[i]);
        if (s) snprintf(g->gt_caption, sizeof g->gt_caption, "%s", s);
        const cJSON *e;
        cJSON_ArrayForEach(e, cap) {
            char pid[64];
            id_str(cJSON_GetObjectItemCaseSensitive(e, "image_id"), pid, sizeof pid);
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "caption");
            if (strcmp(pid, id) == 0 && cJSON_IsString(t)) {
                snprintf(g->caption, sizeof g->caption, "%s", t->valuestring);
                g->has_caption = 1;
                break;
            }
        }
        /* the image's first question in FM-IQA.json's val list (numeric image ids) and its prediction */
        cJSON_ArrayForEach(e, val) {
            char iid[64], qid[64];
            id_str(cJSON_GetObjectItemCaseSensitive(e, "image_id"), iid, sizeof iid);
            if (!iid[0] || atol(iid) != atol(id)) continue;
            const cJSON *q = cJSON_GetObjectItemCaseSensitive(e, "Question");
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "Answer");
            if (cJSON_IsString(q)) snprintf(g->question, sizeof g->question, "%s", q->valuestring);
            if (cJSON_IsString(a)) snprintf(g->gt_answer, sizeof g->gt_answer, "%s", a->valuestring);
            id_str(cJSON_GetObjectItemCaseSensitive(e, "question_id"), qid, sizeof qid);
            const cJSON *p;
            cJSON_ArrayForEach(p, vqa) {
                char pq[64];
                id_str(cJSON_GetObjectItemCaseSensitive(p, "question_id"), pq, sizeof pq);
                const cJSON *ans = cJSON_GetObjectItemCaseSensitive(p, "answer");
                if (strcmp(pq, qid) == 0 && cJSON_IsString(ans)) {
                    snprintf(g->answer, sizeof g->answer, "%s", ans->valuestring);
                    g->has_answer = 1;
                    break;
                }
            }
            break;
        }
    }
    for (int i = 0; i < n; i++) free(imgs[i]);
    free(imgs);
    cJSON_Delete(gt);
    cJSON_Delete(fm);
    cJSON_Delete(cap);
    cJSON_Delete(vqa);
}

/* OPT's three levels (spec §4.1; docs/training.md): which one a task name belongs to */
static const char *task_level(const char *t) {
    static const char *const token[] = {"mlm", "mlmThree", "mlmTwo", "mrfrThree", "mvm", "mafrThree", "mam", "macThree", "mac"};
    static const char *const modality[] = {"td", "tdThree", "tdTwo", "idThree", "id"};
    for (size_t i = 0; i < sizeof token / sizeof token[0]; i++)
        if (strcmp(t, token[i]) == 0) return "token";
    for (size_t i = 0; i < sizeof modality / sizeof modality[0]; i++)
        if (strcmp(t, modality[i]) == 0) return "modality";
    return "sample"; /* itm, itc, itmThree, itc_audio */
}

/* Per task of a run's log.jsonl: mean loss over the first and the last tenth of the steps that trained it. */
static void load_losses(const char *run, const char *model, demo_results *r) {
    char path[1200];
    snprintf(path, sizeof path, "%s/log.jsonl", run);
    FILE *f = fopen(path, "r");
    if (!f) return;
    enum { MAXT = 12 };
    char names[MAXT][32];
    double *vals[MAXT] = {0};
    int nv[MAXT] = {0}, cap[MAXT] = {0}, nt = 0;
    char *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) > 0) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
        const cJSON *ls = cJSON_GetObjectItemCaseSensitive(j, "losses");
        const cJSON *e;
        if (cJSON_IsString(type) && strcmp(type->valuestring, "train") == 0 && cJSON_IsObject(ls))
            cJSON_ArrayForEach(e, ls) {
                if (!cJSON_IsNumber(e) || !e->string) continue;
                int k = 0;
                while (k < nt && strcmp(names[k], e->string) != 0) k++;
                if (k == nt) {
                    if (nt == MAXT) continue;
                    snprintf(names[nt++], sizeof names[0], "%s", e->string);
                }
                if (nv[k] == cap[k]) {
                    cap[k] = cap[k] ? 2 * cap[k] : 64;
                    vals[k] = realloc(vals[k], sizeof(double) * (size_t)cap[k]);
                    if (!vals[k]) abort();
                }
                vals[k][nv[k]++] = e->valuedouble;
            }
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    for (int k = 0; k < nt && r->nlosses < DEMO_MAX_TASK_LOSSES; k++) {
        int w = nv[k] / 10 > 0 ? nv[k] / 10 : 1;
        double a = 0, b = 0;
        for (int i = 0; i < w; i++) { a += vals[k][i]; b += vals[k][nv[k] - 1 - i]; }
        demo_task_loss *d = &r->losses[r->nlosses++];
        d->model = model;
        snprintf(d->task, sizeof d->task, "%s", names[k]);
        d->level = task_level(names[k]);
        d->first = a / w;
        d->last = b / w;
        d->steps = nv[k];
    }
    for (int k = 0; k < nt; k++) free(vals[k]);
}

/* The recalls of an `eval retrieval` JSON object (percent; IR = text->image): 1 when all are there. */
static int recalls(const cJSON *j, double ir[3], double tr[3], double *mean) {
    return cJSON_IsObject(j) && num(j, "img_r1", &ir[0]) && num(j, "img_r5", &ir[1]) && num(j, "img_r10", &ir[2]) &&
           num(j, "txt_r1", &tr[0]) && num(j, "txt_r5", &tr[1]) && num(j, "txt_r10", &tr[2]) && num(j, "r_mean", mean);
}

void demo_results_load(const demo_ctx *c, demo_results *r) {
    r->nlosses = 0;
    load_losses(c->pretrain_run, "opt-v2-tiny", r);
    load_losses(c->pretrain_v1_run, "opt-v1-tiny", r);
    cJSON *j = load_json(c->eval_dir, "retrieval_zeroshot.json");
    double v;
    r->have_ret = j && recalls(j, r->ir, r->tr, &r->r_mean);
    if (r->have_ret) {
        if (num(j, "images", &v)) r->ret_images = (int)v;
        if (num(j, "texts", &v)) r->ret_texts = (int)v;
    }
    r->have_itc = j && recalls(cJSON_GetObjectItemCaseSensitive(j, "itc_only"), r->itc_ir, r->itc_tr, &r->itc_r_mean);
    cJSON_Delete(j);
    j = load_json(c->eval_dir, "caption_pred_metric.json");
    if (j && num(j, "Bleu_4", &r->bleu4) && num(j, "CIDEr", &r->cider)) {
        r->have_cap = 1;
        num(j, "METEOR", &r->meteor);
        num(j, "ROUGE_L", &r->rouge_l);
        if (num(j, "images", &v)) r->cap_images = (int)v;
    }
    cJSON_Delete(j);
    j = load_json(c->eval_dir, "vqa_pred_metric.json");
    if (j && num(j, "accuracy", &r->vqa_acc)) {
        r->have_vqa = 1;
        num(j, "Bleu_4", &r->vqa_bleu4);
        if (num(j, "questions", &v)) r->vqa_questions = (int)v;
    }
    cJSON_Delete(j);
    load_gallery(c, r);
}

void demo_results_free(demo_results *r) {
    for (int i = 0; i < r->nsearch; i++) free(r->search_images[i]);
    free(r->search_images);
    r->search_images = NULL;
    r->nsearch = 0;
}

static const char *status_word(int s) {
    return s == DEMO_OK ? "ok" : s == DEMO_SKIPPED ? "SKIPPED" : s == DEMO_FAILED ? "FAILED" : "not run";
}

void demo_results_print(FILE *f, const demo_ctx *c, const demo_results *r) {
    fprintf(f, "\n## Stages (%.0f s in all)\n\n| # | stage | status | time |\n|---|---|---|---|\n", c->seconds_total);
    for (int i = 0; i < c->nstages; i++) {
        const demo_stage *s = &c->stages[i];
        fprintf(f, "| %d | %s | %s%s%s | %.1f s |\n", i + 1, s->title, status_word(s->status), s->note[0] ? ": " : "",
                s->note, s->seconds);
    }
    fprintf(f, "\n## Pre-training at three levels (loss of each task: mean of its first and last tenth of steps)\n\n"
               "| model | level | task | steps | first | last |\n|---|---|---|---|---|---|\n");
    static const char *const levels[3] = {"token", "modality", "sample"};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < r->nlosses; i++)
            if (strcmp(r->losses[i].level, levels[l]) == 0)
                fprintf(f, "| %s | %s | %s | %d | %.4f | %.4f |\n", r->losses[i].model, r->losses[i].level, r->losses[i].task,
                        r->losses[i].steps, r->losses[i].first, r->losses[i].last);
    if (r->nlosses == 0) fprintf(f, "| not run | | | | | |\n");
    fprintf(f, "\n## Results: opt-v2-tiny on the built-in dataset (%d images; test split)\n\n", c->images);
    fprintf(f, "Retrieval (zero-shot; IR = text->image, TR = image->text; recall in %%)");
    if (r->have_ret) fprintf(f, ", %d images x %d texts:\n\n", r->ret_images, r->ret_texts);
    else fprintf(f, ":\n\n");
    fprintf(f, "| ranking | IR@1 | IR@5 | IR@10 | TR@1 | TR@5 | TR@10 | mean |\n|---|---|---|---|---|---|---|---|\n");
    if (r->have_ret)
        fprintf(f, "| ITC + ITM re-ranking (v2 protocol) | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", r->ir[0],
                r->ir[1], r->ir[2], r->tr[0], r->tr[1], r->tr[2], r->r_mean);
    else
        fprintf(f, "| ITC + ITM re-ranking (v2 protocol) | not run | | | | | | |\n");
    if (r->have_itc)
        fprintf(f, "| ITC similarity alone | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", r->itc_ir[0],
                r->itc_ir[1], r->itc_ir[2], r->itc_tr[0], r->itc_tr[1], r->itc_tr[2], r->itc_r_mean);
    fprintf(f, "\nThe v2 protocol re-scores each query's ITC top k with the ITM head; the second row ranks by the "
               "ITC similarity alone (the same evaluation's `itc_only`).\n");
    fprintf(f, "\nCaptioning (fine-tuned; x100) and VQA (fine-tuned; exact-match accuracy in %%):\n\n"
               "| BLEU-4 | METEOR | ROUGE-L | CIDEr | VQA accuracy |\n|---|---|---|---|---|\n");
    char b4[32] = "not run", me[32] = "not run", ro[32] = "not run", ci[32] = "not run", acc[32] = "not run";
    if (r->have_cap) {
        snprintf(b4, sizeof b4, "%.2f", 100 * r->bleu4);
        snprintf(me, sizeof me, "%.2f", 100 * r->meteor);
        snprintf(ro, sizeof ro, "%.2f", 100 * r->rouge_l);
        snprintf(ci, sizeof ci, "%.2f", 100 * r->cider);
    }
    if (r->have_vqa) snprintf(acc, sizeof acc, "%.2f", r->vqa_acc);
    fprintf(f, "| %s | %s | %s | %s | %s |\n", b4, me, ro, ci, acc);
    if (r->have_cap) fprintf(f, "\n(captioning: %d test images", r->cap_images);
    if (r->have_vqa) fprintf(f, "%s%d test questions", r->have_cap ? "; VQA: " : "\n(VQA: ", r->vqa_questions);
    if (r->have_cap || r->have_vqa) fprintf(f, ")\n");

    fprintf(f, "\n## Test images\n\n");
    for (int i = 0; i < r->ngallery; i++) {
        const demo_gallery_item *g = &r->gallery[i];
        fprintf(f, "%s\n  caption:   %s\n  reference: %s\n", g->image, g->has_caption ? (g->caption[0] ? g->caption : "(empty)") : "(not captioned in this run)",
                g->gt_caption);
        if (g->question[0])
            fprintf(f, "  question:  %s  answer: %s  (reference: %s)\n", g->question,
                    g->has_answer ? (g->answer[0] ? g->answer : "(empty)") : "(not answered in this run)", g->gt_answer);
    }
    if (r->nqueries > 0) {
        fprintf(f, "\n## Text -> image search (pre-trained ITC embeddings, %d test images)\n\n", r->nsearch);
        for (int q = 0; q < r->nqueries; q++) {
            const demo_query *d = &r->queries[q];
            int rank = 0;
            for (int k = 0; k < DEMO_TOPK; k++)
                if (d->top[k] == d->truth) rank = k + 1;
            fprintf(f, "\"%s\": true image %s", d->text, rank ? "" : "not in the top 5");
            if (rank) fprintf(f, "at rank %d", rank);
            fprintf(f, "\n");
            for (int k = 0; k < DEMO_TOPK && d->top[k] >= 0; k++)
                fprintf(f, "  %d. %.3f %s\n", k + 1, d->score[k], r->search_images[d->top[k]]);
        }
    }
}
