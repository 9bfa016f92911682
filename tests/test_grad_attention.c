/* Gradient checks for multi-head attention: plain, key-padding mask, causal, cross (Tq != Tk), q/k/v as
 * strided column slices of one fused projection, and attention-probability dropout. */
#include "gradcheck.h"

typedef struct { int mask, causal, fused, heads; float drop; } opt;

static const float valid[2 * 5] = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};

static tc_tensor *build(tc_graph *g, tc_tensor **in, void *ud) {
    const opt *o = ud;
    if (o->fused) { /* in[0] = qkv [B, T, 3D] */
        int D = in[0]->shape[2] / 3;
        tc_tensor *q = tc_slice(g, in[0], 2, 0, D), *k = tc_slice(g, in[0], 2, D, D), *v = tc_slice(g, in[0], 2, 2 * D, D);
        return tc_attention(g, q, k, v, o->heads, o->mask ? valid : NULL, o->causal, o->drop);
    }
    return tc_attention(g, in[0], in[1], in[2], o->heads, o->mask ? valid : NULL, o->causal, o->drop);
}

int main(void) {
    struct { const char *name; opt o; int Tq, Tk; } cases[] = {
        {"self", {0, 0, 0, 2, 0}, 5, 5},
        {"self masked", {1, 0, 0, 2, 0}, 5, 5},
        {"self causal", {0, 1, 0, 2, 0}, 5, 5},
        {"causal + masked", {1, 1, 0, 1, 0}, 5, 5},
        {"cross Tq=3 Tk=5 masked", {1, 0, 0, 2, 0}, 3, 5},
        {"fused qkv slices, masked", {1, 0, 1, 2, 0}, 5, 5},
        {"dropout 0.25", {1, 0, 0, 2, 0.25f}, 4, 5},
    };
    for (int c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
        gc_inputs gi;
        int D = 8;
        int nd[3] = {3, 3, 3};
        int sh[3][4] = {{2, cases[c].Tq, cases[c].o.fused ? 3 * D : D}, {2, cases[c].Tk, D}, {2, cases[c].Tk, D}};
        gc_inputs_make(&gi, cases[c].o.fused ? 1 : 3, nd, sh, 300 + c, 1.0f);
        gc_check(cases[c].name, &gi.ps, gi.n, gi.in, build, &cases[c].o, cases[c].o.drop > 0, 1e-2f, 2e-3, 1e-3, 80);
        tc_params_free(&gi.ps);
    }
    return tc_test_summary("grad_attention");
}
