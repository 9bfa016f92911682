/* The optimizer side of training: AdamW (PyTorch's and MindSpore's AdamWeightDecay), global-norm gradient
 * clipping and gradient accumulation. Everything is a flat loop over the tc_params slabs (core/tensor.h):
 * parameter i owns slab[offset_i .. offset_i + numel_i) in data, grad, m and v alike.
 *
 * Update rules (g = gradient after clipping, θ = parameter, t = 1-based step count, wd = weight decay,
 * applied only to parameters with decay = 1, see tc_params_set_decay):
 *
 *   m ← β1·m + (1−β1)·g            v ← β2·v + (1−β2)·g²
 *   bias_correction = 1 (torch.optim.AdamW):
 *       θ ← θ·(1 − lr·wd) − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
 *   bias_correction = 0 (MindSpore nn.AdamWeightDecay, the original's optimizer, opt-spec §4.2):
 *       θ ← θ − lr · (m / (√v + ε) + wd·θ)
 *
 * Both decay with the pre-update θ, so without bias correction the two differ only by the 1−βᵗ factors.
 * Results do not depend on the thread count (element-wise); the gradient norm is reduced in double in a
 * fixed order per thread count. */
#ifndef TC_CORE_OPTIM_H
#define TC_CORE_OPTIM_H

#include "core/tensor.h"

typedef struct tc_adamw {
    double beta1, beta2, eps, weight_decay; /* double, as PyTorch's Python-float hyper-parameters */
    int bias_correction;  /* 1: torch.optim.AdamW; 0: MindSpore AdamWeightDecay (no 1−βᵗ factors) */
    long step;            /* optimizer steps taken so far (checkpoint it to resume bias correction) */
} tc_adamw;

/* torch.optim.AdamW defaults: β (0.9, 0.999), ε 1e-8, bias correction, with the given weight decay. */
tc_adamw tc_adamw_torch(float weight_decay);
/* The original's optimizer (opt-spec §4.2): β (0.9, 0.98), ε 1e-6, weight decay 0.01, no bias correction.
 * Use with tc_params_set_decay(ps, tc_opt_decay_exclude) for its decay rule. */
tc_adamw tc_adamw_mindspore(void);

/* Name patterns the original exempts from weight decay: names containing "layernorm" (the original
 * compares lower-cased names; tc_params_set_decay matches case-sensitively, so the list spells out
 * layernorm, LayerNorm, Layernorm and LAYERNORM: the checkpoints use the first two) or "bias". Note "layer_norm", "img_layer_norm" and
 * the ViT's "norm" are decayed, as in the original. NULL-terminated, for tc_params_set_decay. */
extern const char *const tc_opt_decay_exclude[];

/* One update of every parameter from its gradient. Allocates ps->m / ps->v (zeroed) on first use; they
 * are slabs like ps->data, freed by tc_params_free. lr is the learning rate for this step. */
void tc_adamw_step(tc_adamw *opt, tc_params *ps, float lr);

/* Global L2 norm of all gradients (double accumulation). NaN/Inf if any gradient is non-finite. */
double tc_grad_norm(const tc_params *ps);
/* Scale all gradients by max_norm / (norm + eps) when that factor is below 1; returns the norm before
 * clipping. eps = 1e-6 reproduces torch.nn.utils.clip_grad_norm_, eps = 0 MindSpore's ClipByGlobalNorm
 * (scale = clip / max(norm, clip)). A non-finite norm leaves the gradients untouched (the caller decides
 * to skip the step, as the original's loss-scale cell does). */
double tc_clip_grad_norm(tc_params *ps, float max_norm, float eps);
/* grad *= s over every parameter. */
void tc_grad_scale(tc_params *ps, float s);

/* Gradient accumulation over micro-batches. tc_backward already ACCUMULATES into the grad slab, so k
 * micro-batches are: tc_grad_accum_begin; k × (forward, tc_backward); tc_grad_accum_end. With
 * mean-reduced losses, end scales by 1/k, which reproduces the full batch exactly when all micro-batches
 * weigh the same; for unequal micro-batches (e.g. different numbers of non-ignored tokens) pass the weights
 * instead: begin with total weight W, scale each micro loss by w_i / W yourself (tc_scale) and end with
 * mean = 0. */
typedef struct tc_grad_accum {
    int micro;            /* micro-batches accumulated since begin */
} tc_grad_accum;
void tc_grad_accum_begin(tc_grad_accum *a, tc_params *ps);   /* zero grads */
void tc_grad_accum_add(tc_grad_accum *a);                    /* count one micro-batch (after its backward) */
void tc_grad_accum_end(tc_grad_accum *a, tc_params *ps, int mean); /* mean = 1: grads /= micro count */

#endif
