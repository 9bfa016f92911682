/* Text -> tokens -> coco-caption metrics (see caption_score.h). */
#include "eval/caption_score.h"

#include "eval/caption_metrics.h"
#include "eval/table.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

int tc_caption_score(const char *const *preds, const tc_caption_refs *refs, int n, const tc_caption_opts *opts,
                     tc_caption_scores *out, tc_caption_scores *per_item) {
    if (n < 1) return tc_error_set("caption scoring: no predictions (expected at least one)");
    tc_segment_mode mode = opts ? opts->segment : TC_SEGMENT_CHAR;
    int nref_tot = 0;
    for (int i = 0; i < n; i++) {
        if (!preds[i]) return tc_error_set("caption scoring: prediction %d is missing", i);
        if (refs[i].n < 1) return tc_error_set("caption scoring: item %d has no reference caption", i);
        for (int k = 0; k < refs[i].n; k++)
            if (!refs[i].text[k]) return tc_error_set("caption scoring: item %d: reference %d is missing", i, k);
        nref_tot += refs[i].n;
    }
    /* Segment everything into one token buffer; sentences are [start, end) offsets into it, turned
     * into pointers only at the end because the buffer grows. */
    tc_tokdict *v = tc_tokdict_new();
    int32_t *toks = NULL;
    int ntok = 0, cap = 0;
    int *cand_se = tc_xmalloc((size_t)n * 2 * sizeof *cand_se);       /* [n][2] */
    int *ref_se = tc_xmalloc((size_t)nref_tot * 2 * sizeof *ref_se);  /* [nref_tot][2] */
    int *ref_off = tc_xmalloc((size_t)(n + 1) * sizeof *ref_off);      /* [n+1] */
    int r = 0;
    for (int i = 0; i < n; i++) {
        cand_se[2 * i] = ntok;
        tc_segment(v, preds[i], mode, &toks, &ntok, &cap);
        cand_se[2 * i + 1] = ntok;
        ref_off[i] = r;
        for (int k = 0; k < refs[i].n; k++, r++) {
            ref_se[2 * r] = ntok;
            if (refs[i].text[k]) tc_segment(v, refs[i].text[k], mode, &toks, &ntok, &cap);
            ref_se[2 * r + 1] = ntok;
        }
    }
    ref_off[n] = r;
    tc_tokseq *cand = tc_xmalloc((size_t)n * sizeof *cand);
    tc_tokseq *rs = tc_xmalloc((size_t)nref_tot * sizeof *rs);
    for (int i = 0; i < n; i++) {
        cand[i].tok = toks ? toks + cand_se[2 * i] : NULL;
        cand[i].n = cand_se[2 * i + 1] - cand_se[2 * i];
    }
    for (int k = 0; k < nref_tot; k++) {
        rs[k].tok = toks ? toks + ref_se[2 * k] : NULL;
        rs[k].n = ref_se[2 * k + 1] - ref_se[2 * k];
    }
    int32_t ntypes = tc_tokdict_size(v);
    uint8_t *is_function = tc_xcalloc((size_t)(ntypes > 0 ? ntypes : 1), 1); /* [ntypes] */
    for (int32_t t = 0; t < ntypes; t++) is_function[t] = (uint8_t)tc_meteor_is_function_word(tc_tokdict_str(v, t));
    tc_caption_corpus c = {n, cand, ref_off, rs, is_function, ntypes};
    double (*bleu_item)[4] = per_item ? tc_xmalloc((size_t)n * sizeof *bleu_item) : NULL;
    double *met = per_item ? tc_xmalloc((size_t)n * 3 * sizeof *met) : NULL;
    int rc = tc_bleu(&c, out->bleu, bleu_item);
    if (!rc) rc = tc_meteor(&c, &out->meteor, met);
    if (!rc) rc = tc_rouge_l(&c, &out->rouge_l, met ? met + n : NULL);
    if (!rc) rc = tc_cider_d(&c, &out->cider, met ? met + 2 * n : NULL);
    if (!rc && per_item)
        for (int i = 0; i < n; i++) {
            memcpy(per_item[i].bleu, bleu_item[i], sizeof bleu_item[i]);
            per_item[i].meteor = met[i];
            per_item[i].rouge_l = met[n + i];
            per_item[i].cider = met[2 * n + i];
        }
    free(is_function);
    free(bleu_item);
    free(met);
    free(cand);
    free(rs);
    free(toks);
    free(cand_se);
    free(ref_se);
    free(ref_off);
    tc_tokdict_free(v);
    return rc;
}

void tc_caption_table_print(FILE *f, const tc_caption_scores *s) {
    static const char *const hdr[7] = {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"};
    double v[7] = {s->bleu[0], s->bleu[1], s->bleu[2], s->bleu[3], s->meteor, s->rouge_l, s->cider};
    char cells[7][32];
    const char *cp[7];
    for (int i = 0; i < 7; i++) {
        snprintf(cells[i], sizeof cells[i], "%.2f", 100.0 * v[i]);
        cp[i] = cells[i];
    }
    tc_table_print(f, 7, hdr, 1, cp);
}

char *tc_caption_scores_json(const tc_caption_scores *s, const char *extra) {
    size_t n = 512 + (extra ? strlen(extra) : 0);
    char *buf = tc_xmalloc(n);
    snprintf(buf, n,
             "{\"Bleu_1\": %.17g, \"Bleu_2\": %.17g, \"Bleu_3\": %.17g, \"Bleu_4\": %.17g, \"METEOR\": %.17g, "
             "\"ROUGE_L\": %.17g, \"CIDEr\": %.17g%s%s}",
             s->bleu[0], s->bleu[1], s->bleu[2], s->bleu[3], s->meteor, s->rouge_l, s->cider, extra ? ", " : "",
             extra ? extra : "");
    return buf;
}
