/* Activation kinds shared by ops_elementwise.c (AVX2 kernels, dispatch) and ops_act512.c (AVX-512
 * kernels, chosen at run time). Internal to the engine. */
#ifndef TC_CORE_OPS_ACT_H
#define TC_CORE_OPS_ACT_H

enum { TC_ACT_GELU_TANH, TC_ACT_GELU_ERF, TC_ACT_QUICK_GELU, TC_ACT_RELU, TC_ACT_TANH, TC_ACT_EXP, TC_ACT_SIGMOID };

#define TC_GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define TC_GELU_C 0.044715f
#define TC_INV_SQRT2 0.7071067811865476f
#define TC_INV_SQRT_2PI 0.3989422804014327f

/* 1 when the CPU runs AVX-512F/DQ/BW/VL (decided once at load). */
int tc_have_avx512(void);
/* y[0..n) = f(x); gx (+)= gy * f'(x) (from x and y). Serial: callers split the work between threads.
 * Same formulas as the AVX2 kernels in 16 lanes (results may differ from them only in the last ulp,
 * through FMA contraction order). */
void tc_act512_fwd(int kind, const float *x, float *y, long n);
void tc_act512_bwd(int kind, const float *x, const float *y, const float *gy, float *gx, long n, int acc);

/* For tests: 1 = use the AVX2 kernels even on an AVX-512 CPU, 0 = back to automatic. */
void tc_act_force_avx2(int on);

#endif
