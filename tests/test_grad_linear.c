/* Gradient checks: linear (both weight layouts, with/without bias, strided input rows) and matmul
 * (all four transpose cases, batched and broadcast). */
#include "gradcheck.h"

typedef struct { int layout, bias, strided, ta, tb; } opt;

static tc_tensor *build_linear(tc_graph *g, tc_tensor **in, void *ud) {
    const opt *o = ud;
    tc_tensor *x = in[0];
    if (o->strided) x = tc_slice(g, x, 2, 1, 5); /* [2, 3, 5] view with row stride 7 */
    return tc_linear(g, x, in[1], o->bias ? in[2] : NULL, (tc_weight_layout)o->layout);
}

static tc_tensor *build_matmul(tc_graph *g, tc_tensor **in, void *ud) {
    const opt *o = ud;
    return tc_matmul(g, in[0], in[1], o->ta, o->tb);
}

int main(void) {
    for (int layout = 0; layout < 2; layout++)
        for (int bias = 0; bias < 2; bias++)
            for (int strided = 0; strided < 2; strided++) {
                gc_inputs gi;
                int nd[3] = {3, 2, 1};
                int sh[3][4] = {{2, 3, strided ? 7 : 5}, {layout ? 5 : 4, layout ? 4 : 5}, {4}};
                gc_inputs_make(&gi, 3, nd, sh, 1 + layout * 4 + bias * 2 + strided, 1.0f);
                opt o = {layout, bias, strided, 0, 0};
                char name[64];
                snprintf(name, sizeof name, "linear layout=%d bias=%d strided=%d", layout, bias, strided);
                gc_check(name, &gi.ps, 3, gi.in, build_linear, &o, 0, 1e-2f, 1e-3, 1e-3, 64);
                /* forward against a naive product */
                tc_graph *g = tc_graph_new();
                tc_tensor *y = build_linear(g, gi.in, &o);
                int K = 5, ldx = strided ? 7 : 5;
                float want[24];
                for (int r = 0; r < 6; r++)
                    for (int nn = 0; nn < 4; nn++) {
                        double s = bias ? gi.in[2]->data[nn] : 0;
                        for (int k = 0; k < K; k++) {
                            float w = layout ? gi.in[1]->data[k * 4 + nn] : gi.in[1]->data[nn * 5 + k];
                            s += (double)gi.in[0]->data[r * ldx + k + (strided ? 1 : 0)] * w;
                        }
                        want[r * 4 + nn] = (float)s;
                    }
                TC_CHECK_ARRAY_CLOSE(name, y->data, want, 24, 1e-5, 1e-5);
                tc_graph_free(g);
                tc_params_free(&gi.ps);
            }
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bcast = 0; bcast < 2; bcast++) {
                gc_inputs gi;
                int M = 3, K = 4, N = 5;
                int nd[2] = {3, bcast ? 2 : 3};
                int sh[2][4] = {{2, ta ? K : M, ta ? M : K}, {0}};
                if (bcast) { sh[1][0] = tb ? N : K; sh[1][1] = tb ? K : N; }
                else { sh[1][0] = 2; sh[1][1] = tb ? N : K; sh[1][2] = tb ? K : N; }
                gc_inputs_make(&gi, 2, nd, sh, 50 + ta * 4 + tb * 2 + bcast, 1.0f);
                opt o = {0, 0, 0, ta, tb};
                char name[64];
                snprintf(name, sizeof name, "matmul ta=%d tb=%d bcast=%d", ta, tb, bcast);
                gc_check(name, &gi.ps, 2, gi.in, build_matmul, &o, 0, 1e-2f, 1e-3, 1e-3, 64);
                tc_params_free(&gi.ps);
            }
    return tc_test_summary("grad_linear");
}
