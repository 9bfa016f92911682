/* METEOR 1.5 with the exact-match module only (docs/metrics.md, "METEOR").
 *
 * Alignment is a port of METEOR 1.5's Aligner (edu.cmu.meteor.aligner) restricted to exact matches:
 *   1. candidate matches: for each reference position j, every test position i with the same token
 *      (i ascending); coverage counts per word;
 *   2. a match that is the only one of its reference word and whose two words are covered once is
 *      "definite" and fixed in the start path;
 *   3. beam search (width 40) left to right over reference positions; at each position every path
 *      is extended by each unused match and by skipping the position; paths are ordered by
 *      PARTIAL_COMPARE_TOTAL (more matched words, then fewer chunks, then smaller distance) with a
 *      stable sort, like Collections.sort. METEOR 1.5 adds the distance of a new match to the PARENT
 *      path (which continues as the "skip" path and seeds later siblings) rather than to the new
 *      path; that book-keeping decides ties between alignments and is reproduced as is;
 *   4. chunks and match counts are recounted from the final alignment (getCountAndChunks).
 * Scoring is MeteorScorer.computeMetrics. METEOR's English function-word list ("-l en") weighs
 * matches: P = (delta m_content + (1-delta) m_function) / (delta |content| + (1-delta) |function|),
 * R likewise on the reference. Chinese characters are never function words, so for Chinese text
 * P = m / |test| and R = m / |ref|; the list matters only for ASCII tokens such as "a", "in", ".".
 *   Fmean = P R / (alpha P + (1 - alpha) R), frag = chunks / m (0 when test = ref in one chunk),
 *   score = Fmean (1 - gamma frag^beta), NaN -> 0, clamped at 0.
 * A segment is scored against each reference and keeps the first best; the corpus score is computed
 * once from the statistics summed by MeteorStats.addStats (which leaves out the chunk of a segment
 * identical to its reference), as the Java tool's EVAL line does. */
#include "eval/caption_metrics.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct path {
    int *match;     /* [n2] test index matched to reference position j, or -1 */
    uint8_t *used1; /* [n1] */
    uint8_t *used2; /* [n2] */
    int idx, last_end, chunks, distance, matches;
} path;

typedef struct {
    int n1, n2;
    path **free_list;
    int nfree, cap_free;
} pool;

static path *path_new(pool *p) {
    if (p->nfree > 0) return p->free_list[--p->nfree];
    size_t bytes = sizeof(path) + (size_t)p->n2 * sizeof(int) + (size_t)p->n1 + (size_t)p->n2;
    path *q = tc_xmalloc(bytes);
    q->match = (int *)(q + 1);
    q->used1 = (uint8_t *)(q->match + p->n2);
    q->used2 = q->used1 + p->n1;
    return q;
}

static void path_release(pool *p, path *q) {
    if (p->nfree == p->cap_free) {
        p->cap_free = p->cap_free ? 2 * p->cap_free : 64;
        p->free_list = tc_xrealloc(p->free_list, (size_t)p->cap_free * sizeof *p->free_list);
    }
    p->free_list[p->nfree++] = q;
}

static path *path_copy(pool *p, const path *src) {
    path *q = path_new(p);
    memcpy(q->match, src->match, (size_t)p->n2 * sizeof(int));
    memcpy(q->used1, src->used1, (size_t)p->n1);
    memcpy(q->used2, src->used2, (size_t)p->n2);
    q->idx = src->idx;
    q->last_end = src->last_end;
    q->chunks = src->chunks;
    q->distance = src->distance;
    q->matches = src->matches;
    return q;
}

/* PARTIAL_COMPARE_TOTAL: negative when x sorts before y. matches1 + matches2 = 2 * matches here. */
static int path_cmp(const path *x, const path *y) {
    if (y->matches != x->matches) return y->matches > x->matches ? 1 : -1;
    if (x->chunks != y->chunks) return x->chunks - y->chunks;
    return x->distance - y->distance;
}

/* Stable merge sort of path pointers (Collections.sort is stable). */
static void sort_paths(path **a, path **tmp, int n) {
    if (n < 2) return;
    int h = n / 2;
    sort_paths(a, tmp, h);
    sort_paths(a + h, tmp, n - h);
    int i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = path_cmp(a[j], a[i]) < 0 ? a[j++] : a[i++];
    while (i < h) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, (size_t)n * sizeof *a);
}

typedef struct {
    path **v;
    int n, cap;
} pathvec;

static void pv_push(pathvec *pv, path *q) {
    if (pv->n == pv->cap) {
        pv->cap = pv->cap ? 2 * pv->cap : 64;
        pv->v = tc_xrealloc(pv->v, (size_t)pv->cap * sizeof *pv->v);
    }
    pv->v[pv->n++] = q;
}

/* METEOR 1.5 resources/function/english.words (one entry per line there). */
static const char *const english_function_words[] = {
    "the", ",", ".", "to", "of", "and", "a", "in", "that", "for", "\"", "is", "on", "'s", "it", "with", "was",
    "as", "said", "at", "he", "by", "be", "from", "have", "has", "are", "his", "but", "an", "this", "not", "i",
    "will", "\xe2\x80\x99", "they", ")", "-rrb-", "(", "-lrb-", "who", "their", "had", "we", "which", "were",
    "been", "more", "or", "s", "its", "would", "about", "new", "one", "after", "you", ":", "also", "up", "when",
    "there", "than", "$", "all", "out", "her", "people", "she", "year", "two", "-", "can", "if", "last",
    "first", "\xe2\x80\x9c", "over", "other", "\xe2\x80\x9d", "into", "some", "what", "so", "--", "no",
    "time", "years", "could", "?", "'t", "\xe2\x80\x94", "'",
};

int tc_meteor_is_function_word(const char *tok) {
    for (size_t i = 0; i < sizeof english_function_words / sizeof english_function_words[0]; i++)
        if (strcmp(tok, english_function_words[i]) == 0) return 1;
    return 0;
}

static int is_func(const uint8_t *f, int32_t nf, int32_t tok) { return f && tok >= 0 && tok < nf && f[tok]; }

void tc_meteor_align(const tc_tokseq *test, const tc_tokseq *ref, const uint8_t *is_function, int32_t n_tokens,
                     tc_meteor_stats *st) {
    int n1 = test->n, n2 = ref->n;
    memset(st, 0, sizeof *st);
    st->test_len = n1;
    st->ref_len = n2;
    for (int i = 0; i < n1; i++) st->test_func += is_func(is_function, n_tokens, test->tok[i]);
    for (int j = 0; j < n2; j++) st->ref_func += is_func(is_function, n_tokens, ref->tok[j]);
    if (n1 <= 0 || n2 <= 0) return;

    /* 1. candidate matches per reference position: cand[cand_off[j] .. cand_off[j+1]) */
    int *cand_off = tc_xmalloc((size_t)(n2 + 1) * sizeof *cand_off);
    int *cov1 = tc_xcalloc((size_t)n1, sizeof *cov1), *cov2 = tc_xcalloc((size_t)n2, sizeof *cov2);
    int ncand = 0;
    for (int j = 0; j < n2; j++)
        for (int i = 0; i < n1; i++) ncand += test->tok[i] == ref->tok[j];
    int *cand = tc_xmalloc((size_t)(ncand > 0 ? ncand : 1) * sizeof *cand);
    ncand = 0;
    for (int j = 0; j < n2; j++) {
        cand_off[j] = ncand;
        for (int i = 0; i < n1; i++)
            if (test->tok[i] == ref->tok[j]) { cand[ncand++] = i; cov1[i]++; cov2[j]++; }
    }
    cand_off[n2] = ncand;

    pool pl = {n1, n2, NULL, 0, 0};
    /* 2. start path with the definite one-to-one matches */
    path *start = path_new(&pl);
    for (int j = 0; j < n2; j++) start->match[j] = -1;
    memset(start->used1, 0, (size_t)n1);
    memset(start->used2, 0, (size_t)n2);
    start->idx = 0;
    start->last_end = -1;
    start->chunks = start->distance = start->matches = 0;
    for (int j = 0; j < n2; j++) {
        if (cand_off[j + 1] - cand_off[j] != 1) continue;
        int i = cand[cand_off[j]];
        if (cov2[j] == 1 && cov1[i] == 1) {
            start->match[j] = i;
            start->used2[j] = 1;
            start->used1[i] = 1;
        }
    }

    /* 3. beam search */
    pathvec cur = {0}, next = {0};
    path **tmp = NULL;
    int tmp_cap = 0;
    pv_push(&next, start);
    for (int pos = 0; pos <= n2; pos++) {
        pathvec t = cur;
        cur = next;
        next = t;
        next.n = 0;
        if (cur.n > tmp_cap) {
            tmp_cap = cur.n * 2;
            tmp = tc_xrealloc(tmp, (size_t)tmp_cap * sizeof *tmp);
        }
        sort_paths(cur.v, tmp, cur.n);
        int keep = cur.n < TC_METEOR_BEAM ? cur.n : TC_METEOR_BEAM;
        for (int r = keep; r < cur.n; r++) path_release(&pl, cur.v[r]);
        for (int r = 0; r < keep; r++) {
            path *q = cur.v[r];
            if (pos == n2) { /* complete: close the last chunk */
                if (q->last_end != -1) q->chunks++;
                pv_push(&next, q);
                continue;
            }
            if (q->used2[pos]) {
                if (pos < q->idx) {
                    pv_push(&next, q);
                } else if (q->match[q->idx] >= 0) { /* a definite match */
                    int i = q->match[q->idx];
                    q->matches++;
                    if (q->last_end != -1 && i != q->last_end) q->chunks++;
                    q->idx = pos + 1;
                    q->last_end = i + 1;
                    q->distance += abs(pos - i);
                    pv_push(&next, q);
                } else {
                    path_release(&pl, q);
                }
                continue;
            }
            for (int c = cand_off[pos]; c < cand_off[pos + 1]; c++) {
                int i = cand[c];
                if (q->used1[i]) continue;
                path *np = path_copy(&pl, q);
                np->used2[pos] = 1;
                np->used1[i] = 1;
                np->match[pos] = i;
                np->matches++;
                if (np->last_end != -1 && i != np->last_end) np->chunks++;
                np->idx = pos + 1;
                np->last_end = i + 1;
                q->distance += abs(pos - i); /* sic: METEOR 1.5 charges the parent path */
                pv_push(&next, np);
            }
            if (q->last_end != -1) {
                q->chunks++;
                q->last_end = -1;
            }
            q->idx++;
            pv_push(&next, q);
        }
        /* next is never empty: every kept path is pushed back (keep >= 1 since cur.n >= 1) */
    }
    if (next.n > tmp_cap) tmp = tc_xrealloc(tmp, (size_t)next.n * sizeof *tmp);
    sort_paths(next.v, tmp, next.n);
    const path *best = next.v[0];

    /* 4. getCountAndChunks, and the content/function split of the matched words */
    int chunks = 0, last = -1;
    for (int j = 0; j < n2; j++) {
        int i = best->match[j];
        if (i < 0) {
            if (last != -1) { chunks++; last = -1; }
        } else {
            if (is_func(is_function, n_tokens, test->tok[i])) st->test_match_func++;
            else st->test_match_content++;
            if (is_func(is_function, n_tokens, ref->tok[j])) st->ref_match_func++;
            else st->ref_match_content++;
            if (last != -1 && i != last) chunks++;
            last = i + 1;
        }
    }
    if (last != -1) chunks++;
    st->chunks = chunks;

    for (int r = 0; r < next.n; r++) free(next.v[r]);
    for (int r = 0; r < pl.nfree; r++) free(pl.free_list[r]);
    free(pl.free_list);
    free(cur.v);
    free(next.v);
    free(tmp);
    free(cand);
    free(cand_off);
    free(cov1);
    free(cov2);
}

static int is_perfect(const tc_meteor_stats *st) {
    return st->test_match_content + st->test_match_func == st->test_len &&
           st->ref_match_content + st->ref_match_func == st->ref_len && st->chunks == 1;
}

double tc_meteor_score(const tc_meteor_stats *st) {
    const double a = TC_METEOR_ALPHA, b = TC_METEOR_BETA, g = TC_METEOR_GAMMA, d = TC_METEOR_DELTA;
    double tm = st->test_match_content + st->test_match_func, rm = st->ref_match_content + st->ref_match_func;
    double tw_len = (d * (st->test_len - st->test_func)) + ((1.0 - d) * st->test_func);
    double rw_len = (d * (st->ref_len - st->ref_func)) + ((1.0 - d) * st->ref_func);
    double tw_m = st->test_match_content * 1.0 * d + st->test_match_func * 1.0 * (1.0 - d);
    double rw_m = st->ref_match_content * 1.0 * d + st->ref_match_func * 1.0 * (1.0 - d);
    /* Java evaluates 0/0 to NaN and x/0 to Infinity; every such case ends as score 0: an empty side
     * makes P or R NaN; no match makes Fmean 0 and frag 0/0 = NaN. Checked up front so that no
     * floating-point division by zero happens here. */
    if (tw_len <= 0 || rw_len <= 0 || tm <= 0 || rm <= 0 || tw_m <= 0 || rw_m <= 0) return 0.0;
    double p = tw_m / tw_len, r = rw_m / rw_len;
    double fmean = 1.0 / (((1.0 - a) / p) + (a / r));
    double frag = is_perfect(st) ? 0 : st->chunks / ((tm + rm) / 2);
    double score = fmean * (1.0 - g * pow(frag, b));
    if (isnan(score)) return 0.0;
    return score > 0.0 ? score : 0.0;
}

int tc_meteor(const tc_caption_corpus *c, double *out, double *per_item) {
    if (tc_caption_corpus_check(c)) return -1;
    tc_meteor_stats tot;
    memset(&tot, 0, sizeof tot);
    for (int i = 0; i < c->n; i++) {
        tc_meteor_stats best;
        memset(&best, 0, sizeof best);
        double best_score = -1;
        for (int r = c->ref_off[i]; r < c->ref_off[i + 1]; r++) {
            tc_meteor_stats st;
            tc_meteor_align(&c->cand[i], &c->refs[r], c->is_function, c->n_tokens, &st);
            double s = tc_meteor_score(&st);
            if (s > best_score) { best = st; best_score = s; }
        }
        if (per_item) per_item[i] = best_score;
        /* MeteorStats.addStats */
        tot.test_len += best.test_len;
        tot.ref_len += best.ref_len;
        tot.test_func += best.test_func;
        tot.ref_func += best.ref_func;
        tot.test_match_content += best.test_match_content;
        tot.test_match_func += best.test_match_func;
        tot.ref_match_content += best.ref_match_content;
        tot.ref_match_func += best.ref_match_func;
        if (!is_perfect(&best)) tot.chunks += best.chunks;
    }
    *out = tc_meteor_score(&tot);
    return 0;
}
