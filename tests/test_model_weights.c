/* Loading parameters by name from safetensors and .ckpt files, with the report of missing, unexpected
 * and mis-shaped tensors, and the alias of the tied word table. */
#include "core/error.h"
#include "core/tensor.h"
#include "io/mindspore_ckpt.h"
#include "model/weights.h"
#include "tc_test.h"

#include <string.h>
#include <unistd.h>

static void make_params(tc_params *ps) {
    tc_params_init(ps);
    int s1[2] = {4, 3}, s2[1] = {3}, s3[1] = {1};
    tc_params_add(ps, "uniter.embeddings.word_embeddings.embedding_table", 2, s1);
    tc_params_add(ps, "uniter.pooler.dense.bias", 1, s2);
    tc_params_add(ps, "clip_loss.clip_temp", 1, s3);
    tc_params_add(ps, "new_head.bias", 1, s2);
    tc_params_finalize(ps);
    for (size_t i = 0; i < ps->total; i++) ps->data[i] = (float)i * 0.5f - 1.0f;
}

int main(void) {
    tc_params a, b;
    make_params(&a);
    char st[128], ck[128];
    snprintf(st, sizeof st, "/tmp/taichu_w_%d.safetensors", (int)getpid());
    snprintf(ck, sizeof ck, "/tmp/taichu_w_%d.ckpt", (int)getpid());
    const char *meta[] = {"arch", "opt-v1"};
    TC_CHECK(tc_weights_save_safetensors(&a, st, meta, 1) == 0, "%s", tc_error_get());

    make_params(&b);
    memset(b.data, 0, b.total * sizeof(float));
    tc_tensor_file f;
    TC_CHECK(tc_weights_open(st, &f) == 0, "%s", tc_error_get());
    tc_load_report rep;
    TC_CHECK(tc_weights_load(&b, &f, &rep) == 0, "load");
    TC_CHECK(rep.loaded == 4 && rep.n_missing == 0 && rep.n_unexpected == 0 && rep.n_mismatched == 0, "clean load");
    for (int i = 0; i < a.n; i++)
        TC_CHECK(memcmp(a.p[i]->t.data, b.p[i]->t.data, a.p[i]->numel * sizeof(float)) == 0, "identical values: %s",
                 a.p[i]->name);
    tc_load_report_free(&rep);
    tc_tensor_file_close(&f);

    /* A MindSpore checkpoint: word table under its alias, a scalar temperature, a wrong shape, optimizer state. */
    float w[12], bias[3] = {1, 2, 3}, temp = 0.07f, m[3] = {0};
    for (int i = 0; i < 12; i++) w[i] = (float)i;
    int64_t sw[2] = {4, 3}, sb[1] = {3}, sbad[1] = {2};
    const char *names[] = {"cls.predictions.decoder.weight", "uniter.pooler.dense.bias", "clip_loss.clip_temp",
                           "new_head.bias", "adam_m.uniter.pooler.dense.bias"};
    const float *data[] = {w, bias, &temp, bias, m};
    int nd[] = {2, 1, 0, 1, 1};
    const int64_t *shapes[] = {sw, sb, NULL, sbad, sb};
    TC_CHECK(tc_ckpt_write_f32(ck, names, data, nd, shapes, 5) == 0, "%s", tc_error_get());
    TC_CHECK(tc_weights_open(ck, &f) == 0, "%s", tc_error_get());
    TC_CHECK(tc_weights_load(&b, &f, &rep) == 0, "load ckpt");
    TC_CHECK(rep.loaded == 3, "loaded %d", rep.loaded);
    TC_CHECK(rep.n_mismatched == 1 && strstr(rep.mismatched[0], "new_head.bias") && strstr(rep.mismatched[0], "[2]"),
             "mismatch reported");
    /* unexpected: the alias's stored name and the optimizer state */
    TC_CHECK(rep.n_unexpected == 2, "unexpected %d", rep.n_unexpected);
    TC_CHECK(rep.n_missing == 0, "missing %d", rep.n_missing);
    tc_param *we = tc_params_find(&b, "uniter.embeddings.word_embeddings.embedding_table");
    TC_CHECK(we && we->t.data[11] == 11.0f, "word table through the alias");
    TC_CHECK(tc_params_find(&b, "clip_loss.clip_temp")->t.data[0] == 0.07f, "scalar into [1]");
    tc_load_report_free(&rep);
    tc_tensor_file_close(&f);
    TC_CHECK(tc_weights_open("/tmp/x.bin", &f) != 0 && strstr(tc_error_get(), "/tmp/x.bin"), "unknown extension");
    unlink(st);
    unlink(ck);
    tc_params_free(&a);
    tc_params_free(&b);
    return tc_test_summary("model_weights");
}
