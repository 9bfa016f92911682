/* The tensor engine's contract: tensors, the parameter store, and the graph (arena + autograd tape).
 *
 * Design (see docs/engine.md):
 *  - Tensors are fp32, up to 4-D, row-major with explicit strides, so slice/transpose/reshape can be views.
 *  - Parameters live in ONE slab (tc_params.data); their gradients in a second slab (tc_params.grad) with the
 *    same layout, and AdamW moments in two more. Checkpointing, zeroing, clipping, all-reduce and the
 *    optimizer are flat loops over these slabs.
 *  - Activations (and their gradients) live in the graph's arena, a bump allocator reset each step:
 *    after the first step the hot loop does no malloc.
 *  - Every op records on the tape what its backward needs; tc_backward(g, loss) runs the tape in reverse
 *    and ACCUMULATES (+=) into .grad, so models and losses compose with no hand-written backward per task.
 *  - Ops are pure functions of their inputs plus (for dropout) the graph's seed/step, so a step is
 *    reproducible for any thread count.
 *
 * Shapes in comments: B batch, T time/tokens, D model width, H heads, V vocab, N rows. */
#ifndef TC_CORE_TENSOR_H
#define TC_CORE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define TC_MAX_DIMS 4

typedef struct tc_tensor {
    float *data;          /* element (i0,..,i3) at data[i0*stride[0] + ... + i3*stride[3]] */
    float *grad;          /* same strides as data; NULL when no gradient is tracked/allocated yet */
    int ndim;
    int shape[TC_MAX_DIMS];
    int stride[TC_MAX_DIMS]; /* in elements */
    int requires_grad;    /* 1 for parameters and for anything computed from them while grad is enabled */
    int node;             /* internal: index of the tape node that produced it, -1 for leaves */
    struct tc_tensor *base; /* internal: the tensor this is a view of, or NULL */
} tc_tensor;

size_t tc_numel(const tc_tensor *t);
int tc_is_contiguous(const tc_tensor *t);

/* ---------------------------------------------------------------- parameters */

typedef struct tc_param {
    char *name;           /* the original's checkpoint name, e.g. "uniter.encoder.encoder.blocks.0.layernorm1.gamma" */
    size_t offset;        /* into the slabs, in floats (aligned to 16 floats) */
    size_t numel;
    int decay;            /* 1 if AdamW weight decay applies (see tc_params_set_decay) */
    tc_tensor t;          /* data/grad point into the slabs once finalized */
} tc_param;

typedef struct tc_params {
    tc_param **p;         /* stable pointers: registration order = slab order */
    int n, cap;
    size_t total;         /* floats in each slab, including alignment padding */
    float *data, *grad, *m, *v; /* NULL until tc_params_finalize (m, v: until the first optimizer step) */
} tc_params;

void tc_params_init(tc_params *ps);
void tc_params_free(tc_params *ps);
/* Register a parameter (before finalize). Returns the stable tensor handle that models keep. */
tc_tensor *tc_params_add(tc_params *ps, const char *name, int ndim, const int *shape);
/* Allocate the zeroed slabs and point every parameter's data/grad into them. */
void tc_params_finalize(tc_params *ps);
tc_param *tc_params_find(const tc_params *ps, const char *name); /* NULL if absent */
void tc_params_zero_grad(tc_params *ps);
/* Weight decay applies to every parameter except those whose name contains one of the NULL-terminated
 * patterns (the original excludes "layernorm", "bias", "gamma", "beta", ...). */
void tc_params_set_decay(tc_params *ps, const char *const *exclude_patterns);

/* ---------------------------------------------------------------- graph: arena + tape */

typedef struct tc_graph tc_graph;

tc_graph *tc_graph_new(void);
void tc_graph_free(tc_graph *g);
/* Forget the tape and every activation of the previous step; keeps the arena's memory for reuse. */
void tc_graph_reset(tc_graph *g);
/* grad_enabled = 0: ops record nothing (inference). training = 1 turns dropout on; dropout masks are
 * drawn from tc_rng_hash(seed, step * 65536 + op counter, element). */
void tc_graph_set_mode(tc_graph *g, int grad_enabled, int training, uint64_t seed, uint64_t step);
size_t tc_graph_arena_bytes(const tc_graph *g); /* high-water mark, for reports */
size_t tc_graph_arena_capacity(const tc_graph *g); /* bytes the arena has malloc'ed in total (grows only on a new high) */
int tc_graph_arena_chunks(const tc_graph *g);       /* number of arena chunks (for the no-growth test) */

/* New activations in the arena. */
tc_tensor *tc_new(tc_graph *g, int ndim, const int *shape);            /* uninitialised */
tc_tensor *tc_zeros(tc_graph *g, int ndim, const int *shape);
tc_tensor *tc_from_data(tc_graph *g, const float *src, int ndim, const int *shape); /* copies src */
/* Scratch memory from the arena (freed by tc_graph_reset), e.g. for int index arrays. */
void *tc_graph_alloc(tc_graph *g, size_t bytes);

/* Run the tape backwards from a scalar loss (its grad is seeded with 1) accumulating into .grad of every
 * tensor that requires grad, parameters included (their grads live in the params' grad slab). */
void tc_backward(tc_graph *g, tc_tensor *loss);

/* ---------------------------------------------------------------- ops (forward + backward) */
/* Every op allocates its output in the arena and, when grad is enabled and an input requires grad,
 * records its backward. Leading dimensions are flattened where an op works on rows. */

typedef enum { TC_W_OUT_IN = 0, TC_W_IN_OUT = 1 } tc_weight_layout;

/* x [..., K] · W -> [..., N]. W is [N, K] (TC_W_OUT_IN, torch/Dense layout) or [K, N] (TC_W_IN_OUT). b [N] or NULL. */
tc_tensor *tc_linear(tc_graph *g, tc_tensor *x, tc_tensor *w, tc_tensor *b, tc_weight_layout layout);
/* Batched matmul: a [..., M, K'] b [..., K', N'] with optional transposes of the last two dims;
 * leading dims must match (or b has none: broadcast). */
tc_tensor *tc_matmul(tc_graph *g, tc_tensor *a, tc_tensor *b, int trans_a, int trans_b);

tc_tensor *tc_add(tc_graph *g, tc_tensor *a, tc_tensor *b);        /* same shape (residual add) */
tc_tensor *tc_add_bias(tc_graph *g, tc_tensor *x, tc_tensor *b);   /* x [..., D] + b [D] (broadcast over rows) */
tc_tensor *tc_add_rows(tc_graph *g, tc_tensor *x, tc_tensor *r);   /* x [B, T, D] + r [T, D] (e.g. positions) */
tc_tensor *tc_mul(tc_graph *g, tc_tensor *a, tc_tensor *b);        /* element-wise, same shape */
tc_tensor *tc_scale(tc_graph *g, tc_tensor *x, float s);

tc_tensor *tc_layernorm(tc_graph *g, tc_tensor *x, tc_tensor *gamma, tc_tensor *beta, float eps); /* over last dim */
tc_tensor *tc_gelu_tanh(tc_graph *g, tc_tensor *x);
tc_tensor *tc_gelu_erf(tc_graph *g, tc_tensor *x);
tc_tensor *tc_quick_gelu(tc_graph *g, tc_tensor *x);  /* x·σ(1.702x) */
tc_tensor *tc_relu(tc_graph *g, tc_tensor *x);
tc_tensor *tc_tanh(tc_graph *g, tc_tensor *x);
tc_tensor *tc_exp(tc_graph *g, tc_tensor *x);
tc_tensor *tc_softmax(tc_graph *g, tc_tensor *x);     /* over last dim */
/* Added by the engine (composition helpers for the tasks: hinge losses, clamped temperatures, log-probs) */
tc_tensor *tc_sigmoid(tc_graph *g, tc_tensor *x);
tc_tensor *tc_log_softmax(tc_graph *g, tc_tensor *x); /* over last dim */
tc_tensor *tc_sub(tc_graph *g, tc_tensor *a, tc_tensor *b);       /* same shape */
tc_tensor *tc_add_scalar(tc_graph *g, tc_tensor *x, float c);
tc_tensor *tc_clamp(tc_graph *g, tc_tensor *x, float lo, float hi); /* grad passes where lo <= x <= hi (torch) */

/* Multi-head scaled dot-product attention on already-projected q [B, Tq, D], k/v [B, Tk, D], H heads
 * (head h uses columns h*D/H .. (h+1)*D/H-1). key_valid [B, Tk] (1 = real token, 0 = padding) adds -10000
 * to padded keys' scores, as OPT does; NULL = all valid. causal = 1 also masks keys j > i (with -10000).
 * Scores and softmax are fp32. dropout_p applies to the attention probabilities in training mode.
 * Returns [B, Tq, D]. */
tc_tensor *tc_attention(tc_graph *g, tc_tensor *q, tc_tensor *k, tc_tensor *v, int heads, const float *key_valid,
                        int causal, float dropout_p);

/* table [V, D] (a parameter), ids [n] -> [n, D]; rows whose id == padding_idx get no gradient
 * (padding_idx < 0: none). Out-of-range ids are a caller bug (asserted). */
tc_tensor *tc_embedding(tc_graph *g, tc_tensor *table, const int32_t *ids, int n, int padding_idx);

/* Rows of a 2-D view of x ([N, D] after flattening leading dims). */
tc_tensor *tc_gather_rows(tc_graph *g, tc_tensor *x, const int32_t *idx, int n);          /* -> [n, D] */
tc_tensor *tc_scatter_rows(tc_graph *g, tc_tensor *src, const int32_t *idx, int n, int rows); /* -> [rows, D], zeros elsewhere */
tc_tensor *tc_concat(tc_graph *g, tc_tensor *const *xs, int n, int axis);
tc_tensor *tc_slice(tc_graph *g, tc_tensor *x, int axis, int start, int len);  /* a view when possible */
tc_tensor *tc_transpose(tc_graph *g, tc_tensor *x, int axis0, int axis1);     /* a view */
tc_tensor *tc_reshape(tc_graph *g, tc_tensor *x, int ndim, const int *shape);  /* view of contiguous x; copies otherwise */
tc_tensor *tc_contiguous(tc_graph *g, tc_tensor *x);

tc_tensor *tc_dropout(tc_graph *g, tc_tensor *x, float p);   /* identity unless training; inverted scaling */
tc_tensor *tc_l2_normalize(tc_graph *g, tc_tensor *x, float eps); /* over last dim */

/* Losses and reductions: all return a scalar tensor (ndim 0 is represented as ndim 1, shape {1}). */
typedef enum { TC_REDUCE_MEAN = 0, TC_REDUCE_SUM = 1 } tc_reduction;
/* logits [N, V], targets [N]; targets == ignore_index are skipped (mean over the rest). label_smoothing eps:
 * target distribution (1-eps) one-hot + eps/V uniform, as torch.nn.CrossEntropyLoss. (OPT's sequence loss,
 * 0.9 on the gold token and 0.1/(V-1) elsewhere, is eps = 0.1·V/(V-1).) */
tc_tensor *tc_cross_entropy(tc_graph *g, tc_tensor *logits, const int32_t *targets, int ignore_index,
                            float label_smoothing, tc_reduction red);
tc_tensor *tc_mse(tc_graph *g, tc_tensor *pred, tc_tensor *target, tc_reduction red); /* target gets no grad unless it requires it */
/* Symmetric InfoNCE (CLIP loss): a [N, E], b [N, E] (normalise them first if wanted),
 * logits = scale * a·bᵀ where scale is a 1-element tensor (e.g. exp(learnable t), clamped by the caller);
 * loss = (CE(logits, diag) + CE(logitsᵀ, diag)) / 2. Gradients flow to a, b and scale. */
tc_tensor *tc_info_nce(tc_graph *g, tc_tensor *a, tc_tensor *b, tc_tensor *scale);
tc_tensor *tc_mean(tc_graph *g, tc_tensor *x);
tc_tensor *tc_sum(tc_graph *g, tc_tensor *x);

#endif
