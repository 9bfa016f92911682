/* The graph: a chunked bump arena for per-step activations (and their gradients), and the autograd tape.
 *
 * Arena: allocations are 64-byte aligned bumps in the current chunk; when it is full the next chunk is
 * used, and only when no chunk is left a new one is malloc'ed (at least 64 MiB, doubling the total).
 * tc_graph_reset rewinds every chunk but frees none, so a step that allocates what the previous step
 * allocated (the training loop) reuses the same memory: no malloc, no page faults after step one. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/graph_internal.h"

#define TC_ARENA_MIN_CHUNK ((size_t)64 << 20)
#define TC_ARENA_ALIGN 64

tc_graph *tc_graph_new(void) {
    tc_graph *g = tc_xcalloc(1, sizeof *g);
    g->grad_enabled = 1;
    return g;
}

void tc_graph_free(tc_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->nchunks; i++) free(g->chunks[i].mem);
    free(g->chunks);
    free(g->nodes);
    free(g);
}

void tc_graph_reset(tc_graph *g) {
    for (int i = 0; i < g->nchunks; i++) g->chunks[i].used = 0;
    g->cur = 0;
    g->in_use = 0;
    g->nnodes = 0;
    g->op_counter = 0;
    g->backward_done = 0;
}

void tc_graph_set_mode(tc_graph *g, int grad_enabled, int training, uint64_t seed, uint64_t step) {
    g->grad_enabled = grad_enabled;
    g->training = training;
    g->seed = seed;
    g->step = step;
}

size_t tc_graph_arena_bytes(const tc_graph *g) { return g->high_water; }

void *tc_graph_alloc(tc_graph *g, size_t bytes) {
    bytes = (bytes + TC_ARENA_ALIGN - 1) / TC_ARENA_ALIGN * TC_ARENA_ALIGN;
    if (!bytes) bytes = TC_ARENA_ALIGN;
    while (g->cur < g->nchunks) {
        tc_chunk *c = &g->chunks[g->cur];
        if (c->used + bytes <= c->cap) {
            void *p = c->mem + c->used;
            c->used += bytes;
            g->in_use += bytes;
            if (g->in_use > g->high_water) g->high_water = g->in_use;
            return p;
        }
        g->cur++;
    }
    /* No chunk left that fits: grow (only happens while the first step of a given shape runs). */
    size_t cap = g->capacity > TC_ARENA_MIN_CHUNK ? g->capacity : TC_ARENA_MIN_CHUNK;
    if (cap < bytes) cap = bytes;
    char *mem = aligned_alloc(TC_ARENA_ALIGN, cap);
    if (!mem) tc_shape_fail("arena", "out of memory growing the arena by %zu bytes", cap);
    g->chunks = tc_xrealloc(g->chunks, (size_t)(g->nchunks + 1) * sizeof *g->chunks);
    g->chunks[g->nchunks] = (tc_chunk){mem, cap, 0};
    g->cur = g->nchunks++;
    g->capacity += cap;
    return tc_graph_alloc(g, bytes);
}

/* Internal (declared in tensor.h's companion docs): capacity and chunk count, for the no-growth test. */
size_t tc_graph_arena_capacity(const tc_graph *g) { return g->capacity; }
int tc_graph_arena_chunks(const tc_graph *g) { return g->nchunks; }

static tc_tensor *new_header(tc_graph *g, int ndim, const int *shape, const char *op) {
    TC_REQUIRE(ndim >= 0 && ndim <= TC_MAX_DIMS, op, "ndim %d not in 0..4", ndim);
    tc_tensor *t = tc_graph_alloc(g, sizeof *t);
    memset(t, 0, sizeof *t);
    if (ndim == 0) { /* scalars are represented as [1] */
        t->ndim = 1;
        t->shape[0] = 1;
    } else {
        t->ndim = ndim;
        for (int i = 0; i < ndim; i++) {
            TC_REQUIRE(shape[i] >= 0, op, "dim %d is %d", i, shape[i]);
            t->shape[i] = shape[i];
        }
    }
    tc_set_contiguous_strides(t);
    t->node = -1;
    return t;
}

tc_tensor *tc_new(tc_graph *g, int ndim, const int *shape) {
    tc_tensor *t = new_header(g, ndim, shape, "tc_new");
    t->data = tc_graph_alloc(g, tc_numel(t) * sizeof(float));
    return t;
}

tc_tensor *tc_zeros(tc_graph *g, int ndim, const int *shape) {
    tc_tensor *t = tc_new(g, ndim, shape);
    memset(t->data, 0, tc_numel(t) * sizeof(float));
    return t;
}

tc_tensor *tc_from_data(tc_graph *g, const float *src, int ndim, const int *shape) {
    tc_tensor *t = tc_new(g, ndim, shape);
    memcpy(t->data, src, tc_numel(t) * sizeof(float));
    return t;
}

tc_tensor *tc_new_like(tc_graph *g, const tc_tensor *x) { return tc_new(g, x->ndim, x->shape); }

tc_tensor *tc_scalar(tc_graph *g, float v) {
    int one = 1;
    tc_tensor *t = tc_new(g, 1, &one);
    t->data[0] = v;
    return t;
}

/* ------------------------------------------------------------------------------------------- tape */

tc_node *tc_record(tc_graph *g, tc_backward_fn fn, const char *name, tc_tensor *out, tc_tensor *a, tc_tensor *b,
                   tc_tensor *c, tc_tensor *d) {
    if (!g->grad_enabled) return NULL;
    int need = (a && a->requires_grad) || (b && b->requires_grad) || (c && c->requires_grad) ||
               (d && d->requires_grad);
    if (!need) return NULL;
    if (g->nnodes == g->cap_nodes) {
        g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 1024;
        g->nodes = tc_xrealloc(g->nodes, (size_t)g->cap_nodes * sizeof *g->nodes);
    }
    tc_node *n = &g->nodes[g->nnodes];
    memset(n, 0, sizeof *n);
    n->backward = fn;
    n->name = name;
    n->out = out;
    n->in[0] = a;
    n->in[1] = b;
    n->in[2] = c;
    n->in[3] = d;
    out->requires_grad = 1;
    out->node = g->nnodes++;
    return n;
}

float *tc_grad(tc_graph *g, tc_tensor *t) {
    if (t->grad) return t->grad;
    if (t->base) {
        tc_tensor *b = t->base;
        float *bg = tc_grad(g, b);
        t->grad = bg + (t->data - b->data);
        return t->grad;
    }
    size_t n = tc_numel(t);
    t->grad = tc_graph_alloc(g, n * sizeof(float));
    memset(t->grad, 0, n * sizeof(float));
    return t->grad;
}

float *tc_grad_w(tc_graph *g, tc_tensor *t, int *acc) {
    if (t->grad || t->base) {
        *acc = 1;
        return tc_grad(g, t);
    }
    *acc = 0;
    t->grad = tc_graph_alloc(g, tc_numel(t) * sizeof(float));
    return t->grad;
}

uint64_t tc_next_stream(tc_graph *g) { return g->step * 65536u + g->op_counter++; }

void tc_backward(tc_graph *g, tc_tensor *loss) {
    TC_REQUIRE(tc_numel(loss) == 1, "tc_backward", "loss must have one element, has %zu", tc_numel(loss));
    /* A second backward over the same tape would push every activation gradient through again and
     * double-count shared paths: combine losses with tc_add first, or reset between micro-batches. */
    TC_REQUIRE(!g->backward_done, "tc_backward", "called twice since the last tc_graph_reset");
    if (!loss->requires_grad) return; /* nothing upstream needs a gradient */
    g->backward_done = 1;
    float *gl = tc_grad(g, loss);
    gl[0] += 1.0f;
    for (int i = g->nnodes - 1; i >= 0; i--) {
        tc_node *n = &g->nodes[i];
        if (!n->out->grad) continue; /* output never reached the loss */
        n->backward(g, n);
    }
}
