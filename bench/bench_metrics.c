/* Caption-metric speed on a COCO-sized synthetic test set: N images x 5 references of 10-20
 * characters, candidates that share about half their characters (default N = 5000, argv[1] overrides).
 * Reports seconds per metric and, as the in-run peer, each metric's time relative to BLEU. */
#include "eval/caption_metrics.h"
#include "eval/caption_score.h"

#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 5000;
    if (n < 2) n = 2;
    const int nref = 5, vocab = 800;
    uint64_t seed = 42;
    /* token ids: a Zipf-like draw (small ids frequent) as Chinese characters are */
    int32_t *toks = tc_xmalloc((size_t)n * (nref + 1) * 24 * sizeof *toks);
    tc_tokseq *cand = tc_xmalloc((size_t)n * sizeof *cand), *refs = tc_xmalloc((size_t)n * nref * sizeof *refs);
    int *off = tc_xmalloc((size_t)(n + 1) * sizeof *off);
    size_t p = 0;
    for (int i = 0; i < n; i++) {
        int32_t base[20];
        int bl = 10 + (int)(lcg(&seed) % 11);
        for (int k = 0; k < bl; k++) base[k] = (int32_t)((lcg(&seed) % vocab) * (lcg(&seed) % vocab) / vocab);
        off[i] = i * nref;
        for (int r = 0; r <= nref; r++) {
            tc_tokseq *s = r < nref ? &refs[i * nref + r] : &cand[i];
            s->tok = toks + p;
            int len = 0;
            for (int k = 0; k < bl; k++)
                toks[p + len++] = (lcg(&seed) % 2) ? base[k] : (int32_t)(lcg(&seed) % vocab);
            s->n = len;
            p += (size_t)len;
        }
    }
    off[n] = n * nref;
    tc_caption_corpus c = {n, cand, off, refs, NULL, 0};
    double b[4], m, r, cd, t[5], u[5];
    t[0] = now_s(), u[0] = cpu_s();
    tc_bleu(&c, b, NULL);
    t[1] = now_s(), u[1] = cpu_s();
    tc_rouge_l(&c, &r, NULL);
    t[2] = now_s(), u[2] = cpu_s();
    tc_cider_d(&c, &cd, NULL);
    t[3] = now_s(), u[3] = cpu_s();
    tc_meteor(&c, &m, NULL);
    t[4] = now_s(), u[4] = cpu_s();
    printf("bench_metrics: %d images x %d references (BLEU-4 %.4f ROUGE-L %.4f CIDEr-D %.4f METEOR %.4f)\n", n, nref,
           b[3], r, cd, m);
    /* wall time is noisy on a shared machine; CPU time of this (single-threaded) process is not */
    const char *name[4] = {"BLEU", "ROUGE-L", "CIDEr-D", "METEOR"};
    for (int k = 0; k < 4; k++)
        printf("  %-8s wall %.3f s  cpu %.3f s  (%.2fx BLEU cpu)\n", name[k], t[k + 1] - t[k], u[k + 1] - u[k],
               (u[k + 1] - u[k]) / (u[1] - u[0]));
    free(toks);
    free(cand);
    free(refs);
    free(off);
    return 0;
}
