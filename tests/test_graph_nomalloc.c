/* After the first step, a training step (forward with dropout, backward into the param slab) calls no
 * allocator at all: this executable interposes malloc & co. (forwarding to glibc's __libc_* entry
 * points) and counts calls made while steps run, from the engine, OpenMP, OpenBLAS and tc_sgemm alike.
 * Skipped under the sanitizers, which own malloc themselves. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tc_test.h"

#if defined(TAICHU_SANITIZED) || !defined(__GLIBC__)
int main(void) {
    printf("graph_nomalloc: skipped (sanitizer build or not glibc)\n");
    return tc_test_summary("graph_nomalloc");
}
#else
#include <string.h>

#include "core/rng.h"
#include "core/tensor.h"
#include "core/threads.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static volatile int counting;
static volatile long calls;

void *malloc(size_t n) {
    if (counting) __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
    if (counting) __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    if (counting) __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t al, size_t n) {
    if (counting) __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return __libc_memalign(al, n);
}
int posix_memalign(void **out, size_t al, size_t n) {
    if (counting) __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    *out = __libc_memalign(al, n);
    return *out ? 0 : 12;
}
void free(void *p) { __libc_free(p); }

enum { B = 4, T = 32, D = 64, H = 4, F = 128, V = 50 };

static tc_tensor *step(tc_graph *g, tc_tensor **p, const int32_t *ids, const float *valid, const int32_t *tgt) {
    tc_tensor *x = tc_embedding(g, p[0], ids, B * T, 0);
    int s3[3] = {B, T, D};
    x = tc_reshape(g, x, 3, s3);
    tc_tensor *qkv = tc_linear(g, tc_layernorm(g, x, p[1], p[2], 1e-5f), p[3], p[4], TC_W_OUT_IN);
    tc_tensor *a = tc_attention(g, tc_slice(g, qkv, 2, 0, D), tc_slice(g, qkv, 2, D, D), tc_slice(g, qkv, 2, 2 * D, D),
                                H, valid, 0, 0.1f);
    x = tc_add(g, x, tc_dropout(g, tc_linear(g, a, p[5], NULL, TC_W_IN_OUT), 0.1f));
    tc_tensor *h = tc_gelu_erf(g, tc_linear(g, x, p[6], NULL, TC_W_OUT_IN));
    x = tc_add(g, x, tc_dropout(g, tc_linear(g, h, p[7], NULL, TC_W_OUT_IN), 0.1f));
    int s2[2] = {B * T, D};
    tc_tensor *logits = tc_linear(g, tc_reshape(g, x, 2, s2), p[0], NULL, TC_W_OUT_IN); /* tied table */
    return tc_cross_entropy(g, logits, tgt, -100, 0.1f, TC_REDUCE_MEAN);
}

int main(void) {
    tc_params ps;
    tc_params_init(&ps);
    int sh[8][2] = {{V, D}, {D, 0}, {D, 0}, {3 * D, D}, {3 * D, 0}, {D, D}, {F, D}, {D, F}};
    tc_tensor *p[8];
    for (int i = 0; i < 8; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "p%d", i);
        p[i] = tc_params_add(&ps, nm, sh[i][1] ? 2 : 1, sh[i]);
    }
    tc_params_finalize(&ps);
    tc_rng r;
    tc_rng_seed(&r, 3);
    for (size_t i = 0; i < ps.total; i++) ps.data[i] = 0.1f * tc_rng_normal(&r);
    int32_t ids[B * T], tgt[B * T];
    float valid[B * T];
    for (int i = 0; i < B * T; i++) {
        ids[i] = 1 + (int)tc_rng_below(&r, V - 1);
        tgt[i] = i % 7 == 0 ? -100 : (int)tc_rng_below(&r, V);
        valid[i] = (i % T) < T - 3 * (i / T) ? 1.0f : 0.0f;
    }
    tc_set_threads(2);
    tc_graph *g = tc_graph_new();
    float loss = 0;
    for (int s = 0; s < 6; s++) {
        if (s == 2) counting = 1; /* steps 0 and 1 may allocate: arena chunks, tape, thread pools */
        tc_graph_reset(g);
        tc_graph_set_mode(g, 1, 1, 11, (uint64_t)s);
        tc_params_zero_grad(&ps);
        tc_tensor *l = step(g, p, ids, valid, tgt);
        tc_backward(g, l);
        loss = l->data[0];
    }
    counting = 0;
    TC_CHECK(calls == 0, "%ld allocator calls during 4 steady-state training steps", calls);
    TC_CHECK(loss > 0 && loss < 10, "loss %g is sane", loss);
    tc_graph_free(g);
    tc_params_free(&ps);
    return tc_test_summary("graph_nomalloc");
}
#endif
