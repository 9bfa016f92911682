/* The parameter store: every parameter's data in one 64-byte-aligned slab, gradients in a second with
 * the same layout (AdamW's m and v, allocated by the optimizer, follow the same layout too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/error.h"
#include "core/graph_internal.h"

static void slab_free(float *s, size_t n);

#define TC_PARAM_ALIGN 16 /* floats: every parameter starts on a 64-byte boundary */

void tc_params_init(tc_params *ps) { memset(ps, 0, sizeof *ps); }

void tc_params_free(tc_params *ps) {
    for (int i = 0; i < ps->n; i++) {
        free(ps->p[i]->name);
        free(ps->p[i]);
    }
    free(ps->p);
    slab_free(ps->data, ps->total);
    slab_free(ps->grad, ps->total);
    free(ps->m);
    free(ps->v);
    memset(ps, 0, sizeof *ps);
}

tc_tensor *tc_params_add(tc_params *ps, const char *name, int ndim, const int *shape) {
    TC_REQUIRE(!ps->data, "tc_params_add", "parameter \"%s\" registered after tc_params_finalize", name);
    TC_REQUIRE(ndim >= 1 && ndim <= TC_MAX_DIMS, "tc_params_add", "parameter \"%s\": ndim %d not in 1..4", name,
               ndim);
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 64;
        ps->p = tc_xrealloc(ps->p, (size_t)ps->cap * sizeof *ps->p);
    }
    tc_param *p = tc_xcalloc(1, sizeof *p);
    p->name = tc_xstrdup(name);
    p->t.ndim = ndim;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        TC_REQUIRE(shape[i] > 0, "tc_params_add", "parameter \"%s\": dim %d is %d, expected > 0", name, i,
                   shape[i]);
        p->t.shape[i] = shape[i];
        n *= (size_t)shape[i];
    }
    tc_set_contiguous_strides(&p->t);
    p->numel = n;
    p->offset = ps->total;
    p->decay = 1;
    p->t.requires_grad = 1;
    p->t.node = -1;
    ps->total += (n + TC_PARAM_ALIGN - 1) / TC_PARAM_ALIGN * TC_PARAM_ALIGN;
    ps->p[ps->n++] = p;
    return &p->t;
}

/* The data and gradient slabs come from anonymous mmap: the kernel hands out zero pages lazily, so a
 * slab that is never written (the gradient slab of an inference-only model) costs no memory, and creating
 * a 1B-parameter model does not touch 2 x 4.7 GB up front. */
static size_t slab_bytes(size_t n) {
    size_t bytes = (n ? n : 1) * sizeof(float);
    return (bytes + 4095) / 4096 * 4096;
}

static float *slab(size_t n) {
    size_t bytes = slab_bytes(n);
    void *s = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED) {
        fprintf(stderr, "taichu: out of memory (mapping a %zu-byte parameter slab)\n", bytes);
        abort();
    }
    return s;
}

static void slab_free(float *s, size_t n) {
    if (s) munmap(s, slab_bytes(n));
}

void tc_params_finalize(tc_params *ps) {
    TC_REQUIRE(!ps->data, "tc_params_finalize", "called twice");
    ps->data = slab(ps->total);
    ps->grad = slab(ps->total);
    for (int i = 0; i < ps->n; i++) {
        tc_param *p = ps->p[i];
        p->t.data = ps->data + p->offset;
        p->t.grad = ps->grad + p->offset;
    }
}

tc_param *tc_params_find(const tc_params *ps, const char *name) {
    for (int i = 0; i < ps->n; i++)
        if (strcmp(ps->p[i]->name, name) == 0) return ps->p[i];
    return NULL;
}

void tc_params_zero_grad(tc_params *ps) {
    if (ps->grad) memset(ps->grad, 0, ps->total * sizeof(float));
}

void tc_params_set_decay(tc_params *ps, const char *const *exclude_patterns) {
    for (int i = 0; i < ps->n; i++) {
        int decay = 1;
        for (const char *const *pat = exclude_patterns; pat && *pat; pat++)
            if (strstr(ps->p[i]->name, *pat)) { decay = 0; break; }
        ps->p[i]->decay = decay;
    }
}
