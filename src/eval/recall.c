/* Recall@K with documented tie rules (see recall.h). */
#include "eval/recall.h"

#include "eval/table.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int tc_tie_rule_parse(const char *name, tc_tie_rule *out) {
    if (strcmp(name, "pessimistic") == 0) { *out = TC_TIES_PESSIMISTIC; return 0; }
    if (strcmp(name, "argsort") == 0) { *out = TC_TIES_ARGSORT; return 0; }
    return tc_error_set("ties: expected \"pessimistic\" or \"argsort\", got \"%s\"", name);
}

/* 0-based rank of item g in a row of ni scores under the tie rule. */
static int rank_of(const float *row, int ni, int g, tc_tie_rule rule) {
    float s = row[g];
    int rank = 0;
    for (int j = 0; j < ni; j++) {
        if (row[j] > s) rank++;
        else if (row[j] == s && j != g && (rule == TC_TIES_PESSIMISTIC || j > g)) rank++;
    }
    return rank;
}

int tc_recall_at_k(const float *scores, int nq, int ni, const int *gt_off, const int *gt, const int *ks, int nk,
                   tc_tie_rule rule, int *ranks_out, double *recall_out) {
    if (nq < 1 || ni < 1) return tc_error_set("recall: empty score matrix (%d queries x %d items)", nq, ni);
    int *hits = tc_xcalloc((size_t)(nk > 0 ? nk : 1), sizeof *hits);
    for (int q = 0; q < nq; q++) {
        const float *row = scores + (size_t)q * (size_t)ni;
        for (int j = 0; j < ni; j++)
            if (isnan(row[j])) {
                free(hits);
                return tc_error_set("recall: score[%d][%d] is NaN (expected finite scores)", q, j);
            }
        if (gt_off[q + 1] <= gt_off[q]) {
            free(hits);
            return tc_error_set("recall: query %d has no ground-truth item", q);
        }
        int best = ni;
        for (int t = gt_off[q]; t < gt_off[q + 1]; t++) {
            if (gt[t] < 0 || gt[t] >= ni) {
                free(hits);
                return tc_error_set("recall: query %d: ground-truth item %d out of range [0, %d)", q, gt[t], ni);
            }
            int r = rank_of(row, ni, gt[t], rule);
            if (r < best) best = r;
        }
        if (ranks_out) ranks_out[q] = best;
        for (int k = 0; k < nk; k++) hits[k] += best < ks[k];
    }
    for (int k = 0; k < nk; k++) recall_out[k] = 100.0 * hits[k] / nq;
    free(hits);
    return 0;
}

int tc_retrieval_recall(const float *i2t, const float *t2i, int n_img, int n_txt, const int *txt2img,
                        tc_tie_rule rule, tc_retrieval_scores *out) {
    static const int ks[3] = {1, 5, 10};
    if (n_img < 1 || n_txt < 1) return tc_error_set("retrieval recall: %d images x %d texts (expected >= 1 each)", n_img, n_txt);
    for (int t = 0; t < n_txt; t++)
        if (txt2img[t] < 0 || txt2img[t] >= n_img)
            return tc_error_set("retrieval recall: text %d: image %d out of range [0, %d)", t, txt2img[t], n_img);
    /* image -> text: GT texts of each image, grouped (counting sort by image) */
    int *img_off = tc_xcalloc((size_t)n_img + 1, sizeof *img_off);
    int *img_txt = tc_xmalloc((size_t)n_txt * sizeof *img_txt);
    for (int t = 0; t < n_txt; t++) img_off[txt2img[t] + 1]++;
    for (int i = 0; i < n_img; i++) img_off[i + 1] += img_off[i];
    int *fill = tc_xmalloc((size_t)n_img * sizeof *fill);
    memcpy(fill, img_off, (size_t)n_img * sizeof *fill);
    for (int t = 0; t < n_txt; t++) img_txt[fill[txt2img[t]]++] = t;
    int rc = tc_recall_at_k(i2t, n_img, n_txt, img_off, img_txt, ks, 3, rule, NULL, out->tr);
    if (!rc) {
        /* text -> image: one GT image per text */
        int *t_off = tc_xmalloc(((size_t)n_txt + 1) * sizeof *t_off);
        for (int t = 0; t <= n_txt; t++) t_off[t] = t;
        float *tr = NULL;
        const float *m = t2i;
        if (!m) { /* transpose i2t: [n_img x n_txt] -> [n_txt x n_img] */
            tr = tc_xmalloc((size_t)n_img * (size_t)n_txt * sizeof *tr);
            for (int i = 0; i < n_img; i++)
                for (int t = 0; t < n_txt; t++) tr[(size_t)t * n_img + i] = i2t[(size_t)i * n_txt + t];
            m = tr;
        }
        rc = tc_recall_at_k(m, n_txt, n_img, t_off, txt2img, ks, 3, rule, NULL, out->ir);
        free(tr);
        free(t_off);
    }
    free(img_off);
    free(img_txt);
    free(fill);
    if (rc) return rc;
    out->ir_mean = (out->ir[0] + out->ir[1] + out->ir[2]) / 3;
    out->tr_mean = (out->tr[0] + out->tr[1] + out->tr[2]) / 3;
    out->r_mean = (out->ir_mean + out->tr_mean) / 2;
    return 0;
}

void tc_retrieval_table_print(FILE *f, const tc_retrieval_scores *r) {
    static const char *const hdr[7] = {"IR@1", "IR@5", "IR@10", "TR@1", "TR@5", "TR@10", "mean"};
    char cells[7][32];
    const char *cp[7];
    double v[7] = {r->ir[0], r->ir[1], r->ir[2], r->tr[0], r->tr[1], r->tr[2], r->r_mean};
    for (int i = 0; i < 7; i++) {
        snprintf(cells[i], sizeof cells[i], "%.2f", v[i]);
        cp[i] = cells[i];
    }
    tc_table_print(f, 7, hdr, 1, cp);
    fprintf(f, "IR = text->image, TR = image->text (standard naming; the v1 code and README swap the two).\n");
}

char *tc_retrieval_json(const tc_retrieval_scores *r) {
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"img_r1\": %.17g, \"img_r5\": %.17g, \"img_r10\": %.17g, \"img_r_mean\": %.17g, "
             "\"txt_r1\": %.17g, \"txt_r5\": %.17g, \"txt_r10\": %.17g, \"txt_r_mean\": %.17g, \"r_mean\": %.17g}",
             r->ir[0], r->ir[1], r->ir[2], r->ir_mean, r->tr[0], r->tr[1], r->tr[2], r->tr_mean, r->r_mean);
    return tc_xstrdup(buf);
}
