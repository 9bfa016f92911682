/* safetensors and MindSpore .ckpt containers: round trips, split records, aliases, dtype conversion, and
 * every truncation/corruption of a valid file giving an error instead of a crash. */
#include "core/error.h"
#include "core/fileio.h"
#include "io/mindspore_ckpt.h"
#include "io/safetensors.h"
#include "tc_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static void test_safetensors_roundtrip(void) {
    float a[6] = {1, -2, 3.5f, 4, 5, 6e-8f};
    int64_t ia[3] = {-1, 0, 1LL << 40};
    int64_t sa[2] = {2, 3}, si[1] = {3}, s0[1] = {0};
    tc_st_entry e[3] = {
        {"enc.weight", TC_DT_F32, 2, sa, a},
        {"ids", TC_DT_I64, 1, si, ia},
        {"empty", TC_DT_F32, 1, s0, NULL},
    };
    const char *meta[] = {"format", "pt", "arch", "opt-v2"};
    char *path = tc_path_join(tmpdir, "a.safetensors");
    TC_CHECK(tc_safetensors_write(path, e, 3, meta, 2) == 0, "%s", tc_error_get());
    tc_tensor_file f;
    TC_CHECK(tc_safetensors_open(path, &f) == 0, "%s", tc_error_get());
    TC_CHECK(f.n == 3, "n = %d", f.n);
    const tc_io_tensor *w = tc_tensor_file_find(&f, "enc.weight");
    TC_CHECK(w && w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 3 && w->dtype == TC_DT_F32, "weight header");
    if (w) {
        float out[6];
        TC_CHECK(tc_io_tensor_to_f32(w, out) == 0, "convert");
        TC_CHECK(memcmp(out, a, sizeof a) == 0, "weight data");
        TC_CHECK(((uintptr_t)w->data - (uintptr_t)f.map) % 8 == 0, "data is 8-byte aligned in the file");
    }
    const tc_io_tensor *ids = tc_tensor_file_find(&f, "ids");
    TC_CHECK(ids && ids->dtype == TC_DT_I64 && memcmp(ids->data, ia, sizeof ia) == 0, "int64 data");
    TC_CHECK(tc_tensor_file_find(&f, "empty") && tc_tensor_file_find(&f, "empty")->numel == 0, "empty tensor");
    TC_CHECK(f.metadata_json && strstr(f.metadata_json, "\"arch\":\"opt-v2\""), "metadata");

    /* Every truncation and a sweep of single-byte corruptions must fail cleanly or parse consistently. */
    size_t len;
    char *buf = tc_read_file(path, &len);
    int truncated_ok = 1;
    for (size_t cut = 0; cut < len; cut++) {
        tc_tensor_file g;
        if (tc_safetensors_parse(buf, cut, "cut", &g) == 0) {
            /* A cut inside trailing data can only parse if every tensor still fits. */
            for (int i = 0; i < g.n; i++)
                truncated_ok &= (const char *)g.t[i].data + g.t[i].nbytes <= buf + cut;
            tc_tensor_file_close(&g);
        } else {
            truncated_ok &= strlen(tc_error_get()) > 0;
        }
    }
    TC_CHECK(truncated_ok, "truncations handled");
    for (size_t i = 0; i < len && i < 400; i++) {
        char *c = malloc(len);
        memcpy(c, buf, len);
        c[i] ^= 0x5a;
        tc_tensor_file g;
        if (tc_safetensors_parse(c, len, "corrupt", &g) == 0) {
            for (int k = 0; k < g.n; k++)
                TC_CHECK((const char *)g.t[k].data + g.t[k].nbytes <= c + len, "tensor inside buffer");
            tc_tensor_file_close(&g);
        }
        free(c);
    }
    tc_tensor_file g;
    TC_CHECK(tc_safetensors_parse("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10, "huge.safetensors", &g) != 0 &&
                 strstr(tc_error_get(), "huge.safetensors"),
             "error names the file: %s", tc_error_get());
    free(buf);
    tc_tensor_file_close(&f);
    unlink(path);
    free(path);
}

static void test_ckpt(void) {
    float w[4] = {1, 2, 3, 4}, b[2] = {0.5f, -0.5f}, s[1] = {7};
    int64_t sw[2] = {2, 2}, sb[1] = {2};
    const char *names[] = {"cls.predictions.decoder.weight", "uniter.pooler.dense.bias", "global_step",
                           "uniter.img_embeddings.vit.pos_embedding"};
    const float *data[] = {w, b, s, w};
    int nd[] = {2, 1, 0, 2};
    const int64_t *shapes[] = {sw, sb, NULL, sw};
    char *path = tc_path_join(tmpdir, "a.ckpt");
    TC_CHECK(tc_ckpt_write_f32(path, names, data, nd, shapes, 4) == 0, "%s", tc_error_get());
    tc_tensor_file f;
    TC_CHECK(tc_ckpt_open(path, &f) == 0, "%s", tc_error_get());
    TC_CHECK(f.n == 4, "n = %d", f.n);
    const tc_io_tensor *t = tc_tensor_file_find(&f, "cls.predictions.decoder.weight");
    TC_CHECK(t && t->ndim == 2 && t->shape[1] == 2 && memcmp(t->data, w, sizeof w) == 0, "weight");
    const tc_io_tensor *gs = tc_tensor_file_find(&f, "global_step");
    TC_CHECK(gs && gs->ndim == 0 && gs->numel == 1, "scalar");
    TC_CHECK(tc_ckpt_resolve_aliases(&f) == 2, "two aliases added (word table, ViT positions)");
    TC_CHECK(tc_tensor_file_find(&f, "uniter.img_embeddings.vit.encoder_pos_embedding") != NULL, "ViT position alias");
    const tc_io_tensor *we = tc_tensor_file_find(&f, "uniter.embeddings.word_embeddings.embedding_table");
    TC_CHECK(we && we->data == tc_tensor_file_find(&f, "cls.predictions.decoder.weight")->data, "alias shares data");
    tc_tensor_file_close(&f);

    size_t len;
    char *buf = tc_read_file(path, &len);
    /* Truncations: all rejected (the last tensor's content would be short) except the full length. */
    int all_rejected = 1;
    for (size_t cut = 1; cut < len; cut++) {
        tc_tensor_file g;
        if (tc_ckpt_parse(buf, cut, "cut.ckpt", &g) == 0) {
            /* A cut exactly between records is a valid shorter checkpoint. */
            for (int i = 0; i < g.n; i++)
                all_rejected &= (const char *)g.t[i].data + g.t[i].nbytes <= buf + cut;
            tc_tensor_file_close(&g);
        }
    }
    TC_CHECK(all_rejected, "no truncation reads past the end");
    tc_tensor_file g;
    TC_CHECK(tc_ckpt_parse("hello world, not protobuf", 25, "x.ckpt", &g) != 0 && strstr(tc_error_get(), "x.ckpt"),
             "garbage rejected: %s", tc_error_get());
    free(buf);

    /* A split tensor (same tag twice, each with the full dims) and a "str" record. Built by hand. */
    unsigned char split[256], *p = split;
    const char *tag = "big";
    for (int part = 0; part < 2; part++) {
        unsigned char tp[64], *q = tp;
        *q++ = 0x0a; *q++ = 2; *q++ = 2; *q++ = 2;      /* dims = [2, 2] packed */
        *q++ = 0x12; *q++ = 7; memcpy(q, "Float32", 7); q += 7;
        *q++ = 0x1a; *q++ = 8; memcpy(q, w + 2 * part, 8); q += 8;
        size_t tpl = (size_t)(q - tp), vl = 2 + strlen(tag) + 2 + tpl;
        *p++ = 0x0a; *p++ = (unsigned char)vl;
        *p++ = 0x0a; *p++ = (unsigned char)strlen(tag); memcpy(p, tag, strlen(tag)); p += strlen(tag);
        *p++ = 0x12; *p++ = (unsigned char)tpl; memcpy(p, tp, tpl); p += tpl;
    }
    {
        unsigned char tp[32], *q = tp;
        *q++ = 0x12; *q++ = 3; memcpy(q, "str", 3); q += 3;
        *q++ = 0x1a; *q++ = 2; *q++ = 'h'; *q++ = 'i';
        size_t tpl = (size_t)(q - tp), vl = 2 + 4 + 2 + tpl;
        *p++ = 0x0a; *p++ = (unsigned char)vl;
        *p++ = 0x0a; *p++ = 4; memcpy(p, "name", 4); p += 4;
        *p++ = 0x12; *p++ = (unsigned char)tpl; memcpy(p, tp, tpl); p += tpl;
    }
    TC_CHECK(tc_ckpt_parse(split, (size_t)(p - split), "split.ckpt", &g) == 0, "%s", tc_error_get());
    TC_CHECK(g.n == 1 && g.skipped == 1, "one tensor, one skipped record (n=%d skipped=%d)", g.n, g.skipped);
    if (g.n == 1) {
        TC_CHECK(g.t[0].numel == 4 && g.t[0].nbytes == 16 && memcmp(g.t[0].data, w, 16) == 0, "split parts concatenated");
        TC_CHECK(g.t[0].shape[0] == 2 && g.t[0].shape[1] == 2, "packed dims");
    }
    tc_tensor_file_close(&g);
    unlink(path);
    free(path);
}

static void test_dtype_conversion(void) {
    uint16_t h[4] = {0x3c00, 0xc000, 0x0001, 0x7c00}; /* 1, -2, smallest subnormal, +inf */
    tc_io_tensor t = {.name = "h", .dtype = TC_DT_F16, .numel = 4, .data = h, .nbytes = 8};
    float out[4];
    TC_CHECK(tc_io_tensor_to_f32(&t, out) == 0, "f16");
    TC_CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == 5.9604645e-8f && isinf(out[3]), "f16 values %g %g %g %g",
             out[0], out[1], out[2], out[3]);
    uint16_t bf[2] = {0x3f80, 0xc0a0}; /* 1, -5 */
    tc_io_tensor tb = {.name = "b", .dtype = TC_DT_BF16, .numel = 2, .data = bf, .nbytes = 4};
    TC_CHECK(tc_io_tensor_to_f32(&tb, out) == 0 && out[0] == 1.0f && out[1] == -5.0f, "bf16");
    int8_t i8[2] = {-128, 127};
    tc_io_tensor ti = {.name = "i", .dtype = TC_DT_I8, .numel = 2, .data = i8, .nbytes = 2};
    TC_CHECK(tc_io_tensor_to_f32(&ti, out) == 0 && out[0] == -128 && out[1] == 127, "int8");
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/taichu_ckpt_io_%d", (int)getpid());
    tc_mkdir_p(tmpdir);
    test_safetensors_roundtrip();
    test_ckpt();
    test_dtype_conversion();
    rmdir(tmpdir);
    return tc_test_summary("checkpoint_io");
}
