/* The parameter store: one aligned slab per role, stable handles, lookup, zeroing, decay patterns. */
#include <stdint.h>

#include "core/tensor.h"
#include "tc_test.h"

int main(void) {
    tc_params ps;
    tc_params_init(&ps);
    int s1[2] = {3, 5}, s2[1] = {7}, s3[3] = {2, 2, 2};
    tc_tensor *a = tc_params_add(&ps, "enc.layer.0.dense.weight", 2, s1);
    tc_tensor *b = tc_params_add(&ps, "enc.layer.0.dense.bias", 1, s2);
    tc_tensor *c = tc_params_add(&ps, "enc.layernorm.gamma", 3, s3);
    TC_CHECK(a->data == NULL, "no data before finalize");
    tc_params_finalize(&ps);
    TC_CHECK(ps.n == 3, "3 params");
    TC_CHECK(ps.total == 16 + 16 + 16, "each parameter padded to 16 floats: total %zu", ps.total);
    TC_CHECK(a->data == ps.data && b->data == ps.data + 16 && c->data == ps.data + 32, "registration order = slab order");
    TC_CHECK(a->grad == ps.grad && c->grad == ps.grad + 32, "grads mirror the layout");
    TC_CHECK(((uintptr_t)ps.data % 64) == 0 && ((uintptr_t)b->data % 64) == 0, "64-byte aligned");
    TC_CHECK(ps.m == NULL && ps.v == NULL, "moments allocated by the optimizer");
    TC_CHECK(a->requires_grad && a->node == -1 && a->stride[0] == 5 && a->stride[1] == 1, "param tensor layout");
    TC_CHECK(tc_params_find(&ps, "enc.layer.0.dense.bias") == ps.p[1], "find");
    TC_CHECK(tc_params_find(&ps, "nope") == NULL, "find absent");
    TC_CHECK(ps.p[1]->numel == 7 && ps.p[1]->offset == 16, "numel/offset");
    for (size_t i = 0; i < ps.total; i++) TC_CHECK(ps.data[i] == 0 && ps.grad[i] == 0, "slabs start zeroed");
    b->grad[3] = 5;
    tc_params_zero_grad(&ps);
    TC_CHECK(b->grad[3] == 0, "zero_grad");
    const char *excl[] = {"bias", "layernorm", "gamma", NULL};
    tc_params_set_decay(&ps, excl);
    TC_CHECK(ps.p[0]->decay == 1 && ps.p[1]->decay == 0 && ps.p[2]->decay == 0, "decay exclusion by name pattern");
    tc_params_set_decay(&ps, NULL);
    TC_CHECK(ps.p[1]->decay == 1, "no patterns: everything decays");
    tc_params_free(&ps);
    return tc_test_summary("params");
}
