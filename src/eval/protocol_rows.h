/* Row kernels on plain arrays for the v2 re-ranking's direct (graph-free) fusion path (protocol_v2.c):
 * the same formulas as the engine's tc_layernorm, GELU and softmax ops, without a tape or new tensors, so a
 * chunk of rows can run the whole layer while it stays in the core's L2 cache. */
#ifndef TC_EVAL_PROTOCOL_ROWS_H
#define TC_EVAL_PROTOCOL_ROWS_H

/* y[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta for rows r < rows of width d (biased variance, two
 * passes, like tc_layernorm). x and y have row strides ldx, ldy; y may not alias x. */
void tc_evr_layernorm(const float *x, int ldx, float *y, int ldy, int rows, int d, const float *gamma,
                      const float *beta, float eps);

/* x[i] = GELU(x[i]) in place, i < n: the tanh approximation (erf = 0) or the exact erf form (erf = 1). */
void tc_evr_gelu(float *x, long n, int erf);

/* Each row of s [rows][n] (row stride lds) becomes its softmax. */
void tc_evr_softmax_rows(float *s, int rows, int n, int lds);

#endif
