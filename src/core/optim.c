/* AdamW, gradient clipping and accumulation: flat loops over the parameter slabs (see optim.h).
 *
 * Work split: the parameters' elements, concatenated in slab order (padding skipped), are cut into one
 * contiguous range per thread, so a step over ~60 tensors of very different sizes costs one fork and is
 * balanced; each element's arithmetic is independent, so results don't depend on the thread count. */
#include "core/optim.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

const char *const tc_opt_decay_exclude[] = {"layernorm", "LayerNorm", "Layernorm", "LAYERNORM", "bias", NULL};

tc_adamw tc_adamw_torch(float weight_decay) {
    tc_adamw o = {0.9, 0.999, 1e-8, weight_decay, 1, 0};
    return o;
}

tc_adamw tc_adamw_mindspore(void) {
    tc_adamw o = {0.9, 0.98, 1e-6, 0.01, 0, 0};
    return o;
}

/* Total logical (unpadded) element count. */
static size_t logical_total(const tc_params *ps) {
    size_t n = 0;
    for (int i = 0; i < ps->n; i++) n += ps->p[i]->numel;
    return n;
}

/* Iterates over the pieces of the logical element range [lo, hi): each piece is one parameter's slab
 * span [off, off + cnt). Usage: for (seg_it it = seg_begin(lo); seg_next(ps, hi, &it);) use it.off... */
typedef struct seg_it {
    size_t lo;      /* next logical index to visit */
    size_t base;    /* logical index of parameter pi's first element */
    int pi;
    size_t off, cnt; /* the current piece */
    int decay;
    int frozen;      /* the parameter's requires_grad is cleared: AdamW leaves it alone (no decay either) */
} seg_it;

static seg_it seg_begin(size_t lo) {
    seg_it it = {lo, 0, 0, 0, 0, 0, 0};
    return it;
}

static int seg_next(const tc_params *ps, size_t hi, seg_it *it) {
    while (it->pi < ps->n && it->lo < hi) {
        const tc_param *p = ps->p[it->pi];
        size_t end = it->base + p->numel;
        if (end <= it->lo) { /* piece lies before the range: skip this parameter */
            it->base = end;
            it->pi++;
            continue;
        }
        size_t e = end < hi ? end : hi;
        it->off = p->offset + (it->lo - it->base);
        it->cnt = e - it->lo;
        it->decay = p->decay;
        it->frozen = !p->t.requires_grad;
        it->lo = e;
        if (e == end) {
            it->base = end;
            it->pi++;
        }
        return 1;
    }
    return 0;
}

static void thread_range(size_t total, int tid, int nth, size_t *lo, size_t *hi) {
    /* 16-float granularity keeps ranges on cache-line boundaries within a parameter */
    size_t chunks = (total + 15) / 16;
    *lo = chunks * (size_t)tid / (size_t)nth * 16;
    *hi = chunks * (size_t)(tid + 1) / (size_t)nth * 16;
    if (*lo > total) *lo = total;
    if (*hi > total) *hi = total;
}

/* Few elements: one thread (the fork costs more than the loop). */
static int nthreads_for(size_t total) { return total < 65536 ? 1 : omp_get_max_threads(); }

/* Same allocation as the params' slabs (64-byte aligned, freed by tc_params_free with free()). */
static float *zeroed_slab(size_t total) {
    size_t bytes = ((total ? total : 1) * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (!p) p = tc_xmalloc(bytes); /* tc_xmalloc aborts with a message when memory is really gone */
    memset(p, 0, bytes);
    return p;
}

void tc_adamw_step(tc_adamw *opt, tc_params *ps, float lr) {
    if (!ps->data || !ps->grad) {
        fprintf(stderr, "tc_adamw_step: parameters not finalized (call tc_params_finalize first)\n");
        abort();
    }
    if (!ps->m) ps->m = zeroed_slab(ps->total);
    if (!ps->v) ps->v = zeroed_slab(ps->total);
    opt->step++;
    /* Scalars as torch forms them: Python doubles, rounded to float when a kernel uses them. */
    const float b1 = (float)opt->beta1, b2 = (float)opt->beta2, eps = (float)opt->eps;
    const float omb1 = (float)(1.0 - opt->beta1), omb2 = (float)(1.0 - opt->beta2);
    float step_size = lr, bc2_sqrt = 1.0f;
    const float decay_mul = (float)(1.0 - (double)lr * opt->weight_decay);
    if (opt->bias_correction) {
        double bc1 = 1.0 - pow(opt->beta1, (double)opt->step);
        double bc2 = 1.0 - pow(opt->beta2, (double)opt->step);
        step_size = (float)((double)lr / bc1);
        bc2_sqrt = (float)sqrt(bc2);
    }
    const float wd = (float)opt->weight_decay;
    const int bc = opt->bias_correction;
    float *restrict P = ps->data, *restrict G = ps->grad, *restrict M = ps->m, *restrict V = ps->v;
    size_t total = logical_total(ps);
    int nth = nthreads_for(total);
#pragma omp parallel num_threads(nth)
    {
        size_t lo, hi;
        thread_range(total, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        for (seg_it it = seg_begin(lo); seg_next(ps, hi, &it);) {
            if (it.frozen) continue;
            float *p = P + it.off, *g = G + it.off, *m = M + it.off, *v = V + it.off;
            const size_t cnt = it.cnt;
            if (bc) {
                const float dm = it.decay ? decay_mul : 1.0f;
#pragma omp simd
                for (size_t j = 0; j < cnt; j++) {
                    float gj = g[j];
                    float mj = b1 * m[j] + omb1 * gj;
                    float vj = b2 * v[j] + omb2 * gj * gj;
                    m[j] = mj;
                    v[j] = vj;
                    float denom = sqrtf(vj) / bc2_sqrt + eps;
                    p[j] = p[j] * dm - step_size * (mj / denom);
                }
            } else {
                const float w = it.decay ? wd : 0.0f;
#pragma omp simd
                for (size_t j = 0; j < cnt; j++) {
                    float gj = g[j];
                    float mj = b1 * m[j] + omb1 * gj;
                    float vj = b2 * v[j] + omb2 * gj * gj;
                    m[j] = mj;
                    v[j] = vj;
                    float u = mj / (sqrtf(vj) + eps) + w * p[j];
                    p[j] = p[j] - lr * u;
                }
            }
        }
    }
}

double tc_grad_norm(const tc_params *ps) {
    if (!ps->grad) return 0.0;
    size_t total = logical_total(ps);
    int nth = nthreads_for(total);
    double partial[256];
    if (nth > 256) nth = 256;
    const float *G = ps->grad;
    int used = 1;
#pragma omp parallel num_threads(nth)
    {
        int tid = omp_get_thread_num(), n = omp_get_num_threads();
#pragma omp single
        used = n;
        size_t lo, hi;
        thread_range(total, tid, n, &lo, &hi);
        double s = 0.0;
        for (seg_it it = seg_begin(lo); seg_next(ps, hi, &it);) {
            const float *g = G + it.off;
            const size_t cnt = it.cnt;
            /* float partial sums per 16-lane block keep it vectorised; double across blocks */
            size_t j = 0;
            for (; j + 64 <= cnt; j += 64) {
                float acc[16] = {0};
                for (size_t k = 0; k < 64; k += 16)
#pragma omp simd
                    for (int l = 0; l < 16; l++) acc[l] += g[j + k + l] * g[j + k + l];
                double b = 0;
                for (int l = 0; l < 16; l++) b += acc[l];
                s += b;
            }
            for (; j < cnt; j++) s += (double)g[j] * g[j];
        }
        partial[tid] = s;
    }
    double sum = 0.0;
    for (int t = 0; t < used; t++) sum += partial[t];
    return sqrt(sum);
}

void tc_grad_scale(tc_params *ps, float s) {
    if (!ps->grad || s == 1.0f) return;
    size_t total = logical_total(ps);
    int nth = nthreads_for(total);
    float *G = ps->grad;
#pragma omp parallel num_threads(nth)
    {
        size_t lo, hi;
        thread_range(total, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        for (seg_it it = seg_begin(lo); seg_next(ps, hi, &it);) {
            float *g = G + it.off;
#pragma omp simd
            for (size_t j = 0; j < it.cnt; j++) g[j] *= s;
        }
    }
}

double tc_clip_grad_norm(tc_params *ps, float max_norm, float eps) {
    double norm = tc_grad_norm(ps);
    if (!isfinite(norm) || max_norm <= 0.0f) return norm;
    /* torch: clip_coef = max_norm / (total_norm + 1e-6) in float32, clamped to 1 */
    float coef = max_norm / ((float)norm + eps);
    if (coef < 1.0f) tc_grad_scale(ps, coef);
    return norm;
}

void tc_grad_accum_begin(tc_grad_accum *a, tc_params *ps) {
    a->micro = 0;
    tc_params_zero_grad(ps);
}

void tc_grad_accum_add(tc_grad_accum *a) { a->micro++; }

void tc_grad_accum_end(tc_grad_accum *a, tc_params *ps, int mean) {
    if (mean && a->micro > 1) tc_grad_scale(ps, 1.0f / (float)a->micro);
}
