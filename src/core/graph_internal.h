/* Engine internals shared by graph.c and the ops_*.c files (not part of the public API).
 *
 * A tape node is one recorded op: its backward function, its output, up to four tensor inputs and a
 * little op-specific state (saved scalars/ints and a pointer to arena-saved buffers). tc_backward walks
 * the node array in reverse and calls each node whose output received a gradient. */
#ifndef TC_CORE_GRAPH_INTERNAL_H
#define TC_CORE_GRAPH_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "core/tensor.h"

typedef struct tc_node tc_node;
typedef void (*tc_backward_fn)(tc_graph *g, tc_node *n);

struct tc_node {
    tc_backward_fn backward;
    const char *name;        /* op name, for debugging */
    tc_tensor *out;
    tc_tensor *in[4];
    void *ctx;               /* op-specific saved buffers (arena) */
    void *ctx2;
    float f[4];
    int i[8];
};

typedef struct tc_chunk {
    char *mem;
    size_t cap, used;
} tc_chunk;

struct tc_graph {
    tc_chunk *chunks;        /* kept across resets: after the first step no new chunk is needed */
    int nchunks, cur;
    size_t in_use, high_water, capacity;
    tc_node *nodes;          /* the tape (malloc'ed, grows only while the first step records) */
    int nnodes, cap_nodes;
    int grad_enabled, training;
    uint64_t seed, step;
    uint32_t op_counter;     /* counts random ops (dropout) this step: their RNG stream id */
    int backward_done;       /* tc_backward ran since the last reset */
};

/* Record a node for `out` if grad is enabled and any of the inputs requires grad; returns NULL (and
 * records nothing) otherwise. Sets out->requires_grad and out->node. */
tc_node *tc_record(tc_graph *g, tc_backward_fn fn, const char *name, tc_tensor *out, tc_tensor *a, tc_tensor *b,
                   tc_tensor *c, tc_tensor *d);

/* Gradient buffer of t, allocated zeroed in the arena on first use (views alias their base's grad). */
float *tc_grad(tc_graph *g, tc_tensor *t);
/* Like tc_grad, but for a caller that overwrites EVERY element of a non-view tensor: when the buffer is
 * fresh it is left uninitialised and *acc = 0 (write), else *acc = 1 (accumulate). */
float *tc_grad_w(tc_graph *g, tc_tensor *t, int *acc);

/* The RNG stream of the next random op: step * 65536 + op counter (see tc_graph_set_mode). */
uint64_t tc_next_stream(tc_graph *g);

/* Output/scratch helpers. */
tc_tensor *tc_new_like(tc_graph *g, const tc_tensor *x);
tc_tensor *tc_scalar(tc_graph *g, float v);
/* x itself when contiguous, else a recorded contiguous copy. */
tc_tensor *tc_contig(tc_graph *g, tc_tensor *x);
/* View x as rows [n, d] with row stride *ld (last dim contiguous, leading dims uniformly strided).
 * Returns 0 when x's layout doesn't allow it. */
int tc_rows(const tc_tensor *x, int *n, int *d, int *ld);
void tc_set_contiguous_strides(tc_tensor *t);
int tc_same_shape(const tc_tensor *a, const tc_tensor *b);
/* Copy (acc = 0) or add (acc = 1) a strided 4-D block: dst[idx] (+)= src[idx] over `shape`. */
void tc_strided_copy(float *dst, const int *dst_stride, const float *src, const int *src_stride, int ndim,
                     const int *shape, int acc);

/* Counter-based RNG (same function as tc_rng_hash, inlined for the hot dropout loops):
 * key = tc_hash_key(seed, stream); bits = tc_hash_at(key, index). */
static inline uint64_t tc_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline uint64_t tc_hash_key(uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    return tc_mix64(x + 0x9E3779B97F4A7C15ull);
}
static inline uint64_t tc_hash_at(uint64_t key, uint64_t index) {
    return tc_mix64((key ^ index) + 0x9E3779B97F4A7C15ull);
}
/* keep <=> tc_rng_hash_uniform(...) >= p <=> (bits >> 40) >= ceil(p * 2^24). */
static inline uint32_t tc_dropout_threshold(float p) {
    double t = (double)p * 16777216.0;
    if (t <= 0) return 0;
    if (t >= 16777216.0) return 16777216u;
    uint32_t k = (uint32_t)t;
    return (double)k < t ? k + 1 : k;
}

/* Keep-mask bytes m[i] = tc_rng_hash(.., start + i) >> 40 >= thr for key = tc_hash_key(seed, stream)
 * (ops_random.c: AVX-512DQ when available). Not thread-parallel itself: call it per block. */
void tc_keep_mask(uint8_t *m, long n, uint64_t key, uint64_t start, uint32_t thr);
void tc_keep_mask_force(int avx512);

/* Abort with a message naming the op when the caller breaks a shape contract (a programming error). */
void tc_shape_fail(const char *op, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
#define TC_REQUIRE(cond, op, ...)                             \
    do {                                                      \
        if (!(cond)) tc_shape_fail(op, __VA_ARGS__);          \
    } while (0)

/* Element-wise loops go parallel above this many elements (below it the fork costs more than it saves). */
#define TC_PAR_MIN 16384

#endif
