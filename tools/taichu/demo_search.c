/* Text -> image top-k for the demo's report from two `taichu embed` matrices. The v2 ITC embeddings are
 * L2-normalised by embed, so the cosine similarity is a plain dot product (the ranking the ITC stage of
 * the retrieval protocol uses, before ITM re-ranking). */
#include "demo.h"

#include "core/error.h"
#include "io/npy.h"

int demo_search(const char *img_npy, const char *txt_npy, demo_query *q, int nq) {
    tc_npy I = {0}, T = {0};
    int rc = 0;
    if (tc_npy_read_f32(img_npy, &I) || tc_npy_read_f32(txt_npy, &T)) rc = -1;
    else if (I.ndim != 2 || T.ndim != 2 || I.shape[1] != T.shape[1])
        rc = tc_error_set("%s / %s: expected two [n, dim] matrices of the same dim", img_npy, txt_npy);
    else if (T.shape[0] < nq)
        rc = tc_error_set("%s: %lld rows, expected %d queries", txt_npy, (long long)T.shape[0], nq);
    if (rc == 0) {
        long ni = (long)I.shape[0], dim = (long)I.shape[1];
        for (int t = 0; t < nq; t++) {
            const float *tv = T.f32 + (long)t * dim; /* [dim] */
            int k = 0;
            /* insertion into a sorted top-k: n is a few hundred images */
            for (long i = 0; i < ni; i++) {
                const float *iv = I.f32 + i * dim;
                float s = 0;
                for (long d = 0; d < dim; d++) s += tv[d] * iv[d];
                int pos = k < DEMO_TOPK ? k : DEMO_TOPK;
                while (pos > 0 && q[t].score[pos - 1] < s) pos--;
                if (pos >= DEMO_TOPK) continue;
                int last = k < DEMO_TOPK ? k : DEMO_TOPK - 1;
                for (int j = last; j > pos; j--) {
                    q[t].score[j] = q[t].score[j - 1];
                    q[t].top[j] = q[t].top[j - 1];
                }
                q[t].score[pos] = s;
                q[t].top[pos] = (int)i;
                if (k < DEMO_TOPK) k++;
            }
            for (int j = k; j < DEMO_TOPK; j++) q[t].top[j] = -1;
        }
    }
    tc_npy_free(&I);
    tc_npy_free(&T);
    return rc;
}
