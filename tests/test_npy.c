/* npy/npz reader and writer against files made by numpy (tests/data/npy/make_goldens.py), plus
 * hostile inputs: every truncation and byte corruption of real files must give an error, never a crash. */
#include "core/error.h"
#include "core/fileio.h"
#include "io/npy.h"
#include "tc_test.h"

#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#define DATA TAICHU_TEST_DATA "/npy/"

static char *data_path(const char *name) { return tc_path_join(DATA, name); }

/* ---- golden manifest ---- */

static int check_case(char *line_case, char *line_f32, char *line_i64) {
    char file[128], key[64], dtype[8];
    int ndim, off;
    if (sscanf(line_case, "case %127s %63s %7s %d%n", file, key, dtype, &ndim, &off) != 4) return -1;
    int64_t shape[TC_NPY_MAX_DIMS];
    char *p = line_case + off;
    for (int i = 0; i < ndim; i++) shape[i] = strtoll(p, &p, 10);

    char *path = data_path(file);
    int is_npz = strcmp(key, "-") != 0;
    tc_npy a, b;
    int rc = is_npz ? tc_npz_read_f32(path, key, &a) : tc_npy_read_f32(path, &a);
    TC_CHECK(rc == 0, "%s[%s]: f32 read failed: %s", file, key, tc_error_get());
    if (rc == 0) {
        TC_CHECK(a.ndim == ndim, "%s: ndim %d want %d", file, a.ndim, ndim);
        for (int i = 0; i < ndim && i < a.ndim; i++) TC_CHECK(a.shape[i] == shape[i], "%s: shape[%d]", file, i);
        TC_CHECK(strcmp(a.dtype, dtype) == 0, "%s: dtype %s want %s", file, a.dtype, dtype);
        TC_CHECK(a.f32 != NULL && a.i64 == NULL, "%s: f32 buffer set", file);
        long n = strtol(line_f32 + 4, &p, 10);
        TC_CHECK(n == a.size, "%s: size %ld want %ld", file, (long)a.size, n);
        float *want = tc_xmalloc((size_t)(n ? n : 1) * sizeof(float));
        for (long i = 0; i < n; i++) want[i] = strtof(p, &p);
        /* Conversions are exact IEEE roundings (same as numpy's astype), so no tolerance. */
        if (n == a.size) TC_CHECK_ARRAY_CLOSE(file, a.f32, want, n, 0.0, 0.0);
        free(want);
        tc_npy_free(&a);
    }
    rc = is_npz ? tc_npz_read_i64(path, key, &b) : tc_npy_read_i64(path, &b);
    if (strncmp(line_i64, "i64 error", 9) == 0) {
        TC_CHECK(rc != 0, "%s[%s]: i64 read must fail", file, key);
        TC_CHECK(strstr(tc_error_get(), file) && strstr(tc_error_get(), "int64"), "%s: message: %s", file, tc_error_get());
    } else {
        TC_CHECK(rc == 0, "%s[%s]: i64 read failed: %s", file, key, tc_error_get());
        if (rc == 0) {
            long n = strtol(line_i64 + 4, &p, 10);
            TC_CHECK(n == b.size && b.i64 && !b.f32, "%s: i64 size", file);
            int same = n == b.size;
            for (long i = 0; i < n && same; i++) same = b.i64[i] == strtoll(p, &p, 10);
            TC_CHECK(same, "%s[%s]: int64 values differ", file, key);
            tc_npy_free(&b);
        }
    }
    free(path);
    return 0;
}

static void test_goldens(void) {
    char *path = data_path("expected.txt");
    char *text = tc_read_file(path, NULL);
    TC_CHECK(text != NULL, "manifest: %s", tc_error_get());
    if (!text) { free(path); return; }
    char *lines[3];
    int got = 0, cases = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == '#') continue;
        lines[got++] = l;
        if (got == 3) {
            TC_CHECK(check_case(lines[0], lines[1], lines[2]) == 0, "bad manifest line %s", lines[0]);
            got = 0;
            cases++;
        }
    }
    TC_CHECK(cases >= 45, "only %d golden cases", cases);
    free(text);
    free(path);
}

/* ---- writers ---- */

static void check_same_bytes(const char *written, const char *golden) {
    size_t la, lb;
    char *gp = data_path(golden);
    char *a = tc_read_file(written, &la), *b = tc_read_file(gp, &lb);
    TC_CHECK(a && b && la == lb && memcmp(a, b, la) == 0, "%s differs from numpy's %s", written, golden);
    free(a); free(b); free(gp);
}

static void test_writers(void) {
    char *out = tc_path_join(TAICHU_BINARY_DIR, "test_npy_out");
    TC_CHECK(tc_mkdir_p(out) == 0, "mkdir %s", out);
    char *p = tc_path_join(out, "f32.npy");

    /* np.save output is reproduced byte for byte (header text, 64-byte padding, data). */
    float f[6];
    for (int i = 0; i < 6; i++) f[i] = (float)(i - 2) / 3.0f;
    int64_t s23[2] = {2, 3};
    TC_CHECK(tc_npy_write_f32(p, f, 2, s23) == 0, "write f32: %s", tc_error_get());
    check_same_bytes(p, "write_f32.npy");
    int64_t v64[4] = {-5, 0, 9, (int64_t)1 << 40}, s4[1] = {4};
    TC_CHECK(tc_npy_write_i64(p, v64, 1, s4, "<i8") == 0, "write i8: %s", tc_error_get());
    check_same_bytes(p, "write_i64.npy");
    int64_t v4[4] = {-2, -1, 0, 1}, s221[3] = {2, 2, 1};
    TC_CHECK(tc_npy_write_i64(p, v4, 3, s221, "<i4") == 0, "write i4: %s", tc_error_get());
    check_same_bytes(p, "write_i4.npy");
    int64_t vu[3] = {0, 7, 255}, s3[1] = {3};
    TC_CHECK(tc_npy_write_i64(p, vu, 1, s3, "|u1") == 0, "write u1: %s", tc_error_get());
    check_same_bytes(p, "write_u1.npy");
    float one = 1.25f;
    TC_CHECK(tc_npy_write_f32(p, &one, 0, NULL) == 0, "write 0-d: %s", tc_error_get());
    check_same_bytes(p, "write_0d.npy");
    int64_t s20[2] = {2, 0};
    TC_CHECK(tc_npy_write_i64(p, NULL, 2, s20, "<i2") == 0, "write empty: %s", tc_error_get());
    check_same_bytes(p, "write_empty.npy");

    /* Out-of-range values are refused and the old file is left untouched. */
    int64_t big[2] = {1, 300};
    TC_CHECK(tc_npy_write_i64(p, big, 1, (int64_t[]){2}, "|u1") != 0, "300 into u1 must fail");
    TC_CHECK(strstr(tc_error_get(), "element 1") && strstr(tc_error_get(), "|u1"), "message: %s", tc_error_get());
    check_same_bytes(p, "write_empty.npy");
    TC_CHECK(tc_npy_write_i64(p, big, 1, (int64_t[]){2}, "<U3") != 0, "string dtype must fail");

    /* npz round trip with several dtypes, including big-endian and bool. */
    char *z = tc_path_join(out, "rt.npz");
    float feat[12];
    for (int i = 0; i < 12; i++) feat[i] = 0.5f * (float)i - 1.0f;
    int64_t ids[5] = {101, 5, -7, 0, 102}, flags[3] = {0, 1, 5};
    int64_t sf[2] = {3, 4}, si[1] = {5}, sb[1] = {3};
    tc_npz_member m[4] = {
        {"feat", feat, NULL, "<f4", 2, sf},
        {"ids", NULL, ids, ">i2", 1, si},
        {"mask", NULL, flags, "|b1", 1, sb},
        {"feat64", feat, NULL, ">f8", 2, sf},
    };
    TC_CHECK(tc_npz_write(z, m, 4) == 0, "npz write: %s", tc_error_get());
    tc_npy a;
    TC_CHECK(tc_npz_read_f32(z, "feat", &a) == 0 && a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == 4, "feat: %s", tc_error_get());
    if (a.f32) TC_CHECK_ARRAY_CLOSE("npz feat", a.f32, feat, 12, 0, 0);
    tc_npy_free(&a);
    TC_CHECK(tc_npz_read_f32(z, "feat64.npy", &a) == 0 && strcmp(a.dtype, ">f8") == 0, "feat64: %s", tc_error_get());
    if (a.f32) TC_CHECK_ARRAY_CLOSE("npz feat64", a.f32, feat, 12, 0, 0);
    tc_npy_free(&a);
    TC_CHECK(tc_npz_read_i64(z, "ids", &a) == 0 && a.size == 5 && strcmp(a.dtype, ">i2") == 0, "ids: %s", tc_error_get());
    for (int i = 0; i < 5 && a.i64; i++) TC_CHECK(a.i64[i] == ids[i], "ids[%d]", i);
    tc_npy_free(&a);
    TC_CHECK(tc_npz_read_i64(z, "mask", &a) == 0 && a.i64 && a.i64[0] == 0 && a.i64[1] == 1 && a.i64[2] == 1, "mask");
    tc_npy_free(&a);
    char **keys;
    int nk;
    TC_CHECK(tc_npz_list(z, &keys, &nk) == 0 && nk == 4, "list: %s", tc_error_get());
    for (int i = 0; i < nk; i++) {
        TC_CHECK(strcmp(keys[i], m[i].key) == 0, "key %d = %s", i, keys[i]);
        free(keys[i]);
    }
    free(keys);
    /* Writer output is deterministic (fixed zip timestamps). */
    char *z2 = tc_path_join(out, "rt2.npz");
    TC_CHECK(tc_npz_write(z2, m, 4) == 0, "npz write 2");
    size_t l1, l2;
    char *b1 = tc_read_file(z, &l1), *b2 = tc_read_file(z2, &l2);
    TC_CHECK(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0, "npz output must be reproducible");
    free(b1); free(b2);
    /* Duplicate keys and an empty archive. */
    tc_npz_member dup[2] = {m[0], m[0]};
    TC_CHECK(tc_npz_write(z2, dup, 2) != 0 && strstr(tc_error_get(), "duplicate"), "duplicate key: %s", tc_error_get());
    TC_CHECK(tc_npz_write(z2, NULL, 0) == 0, "empty npz: %s", tc_error_get());
    TC_CHECK(tc_npz_read_f32(z2, "feat", &a) != 0 && strstr(tc_error_get(), "holds 0"), "empty npz read: %s", tc_error_get());
    free(z); free(z2); free(p); free(out);
}

/* ---- bad input ---- */

static void expect_error(int rc, const char *what, const char *must_contain) {
    TC_CHECK(rc != 0, "%s: must fail", what);
    TC_CHECK(strstr(tc_error_get(), must_contain) != NULL, "%s: message \"%s\" lacks \"%s\"", what, tc_error_get(), must_contain);
    TC_CHECK(strchr(tc_error_get(), '\n') == NULL, "%s: message must be one line", what);
}

static void test_bad_files(void) {
    tc_npy a;
    char *p = data_path("stored.npz");
    expect_error(tc_npz_read_f32(p, "nope", &a), "wrong key", "key 'nope': no such member (archive holds 3: 'feat.npy', 'ids.npy'");
    TC_CHECK(tc_npz_read_f32(p, "feat.npy", &a) == 0 && a.size == 7 * 16, "full member name: %s", tc_error_get());
    tc_npy_free(&a);
    expect_error(tc_npy_read_f32(p, &a), "npz as npy", "zip (.npz) archive");
    free(p);
    p = data_path("dt_f4le.npy");
    expect_error(tc_npz_read_f32(p, "feat", &a), "npy as npz", "this is a .npy file");
    free(p);
    expect_error(tc_npy_read_f32(DATA "does_not_exist.npy", &a), "missing", "does_not_exist.npy: cannot open");
    expect_error(tc_npy_read_f32(DATA, &a), "directory", "not a regular file");
    expect_error(tc_npy_parse_f32("", 0, "empty.npy", &a), "empty", "empty.npy: empty file");
    expect_error(tc_npz_parse_f32("", 0, "empty.npz", "feat", &a), "empty npz", "empty.npz: empty file");
    expect_error(tc_npy_parse_f32("hello world", 11, "text.npy", &a), "text", "text.npy: magic");
    expect_error(tc_npz_parse_f32("hello world, this is not a zip", 30, "t.npz", "feat", &a), "text npz", "t.npz: no zip end");

    /* Hand-written headers: each field's failure names the field. */
    struct { const char *hdr; const char *msg; } bad[] = {
        {"{'descr': '<U4', 'fortran_order': False, 'shape': (2,), }", "'descr': expected a numeric dtype"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", "got '<c8'"},
        {"{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }", "'descr'"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "structured dtypes"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", "'fortran_order': expected True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", "'shape': expected a non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "dimension too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", "overflows"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", "at most 8 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, }", "missing key 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "key 'extra'"},
        {"{'descr': '<f4', 'descr': '<f4', 'shape': (2,), }", "key 'descr'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,) } junk", "unexpected text"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (2,) }", "to close the header dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), }", "data: expected 4000 bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t buf[256];
        size_t hl = strlen(bad[i].hdr);
        memcpy(buf, "\x93NUMPY\x01\x00", 8);
        buf[8] = (uint8_t)hl;
        buf[9] = 0;
        memcpy(buf + 10, bad[i].hdr, hl);
        memset(buf + 10 + hl, 0, 8);   /* 8 data bytes: enough for (2,) f4 */
        expect_error(tc_npy_parse_f32(buf, 10 + hl + 8, "h.npy", &a), bad[i].hdr, bad[i].msg);
        TC_CHECK(strncmp(tc_error_get(), "h.npy: ", 7) == 0, "message names the file: %s", tc_error_get());
    }
    uint8_t v9[16] = "\x93NUMPY\x09\x00\x00\x00";
    expect_error(tc_npy_parse_f32(v9, 16, "v.npy", &a), "version", "version 9.0: expected 1.0, 2.0 or 3.0");
    uint8_t hl[16] = "\x93NUMPY\x01\x00\xff\xff";
    expect_error(tc_npy_parse_f32(hl, 16, "l.npy", &a), "header length", "truncated");
}

/* Every prefix and every single-byte corruption of real files: errors only, never a crash (ASan). */
static void test_mutations(const char *name, int is_npz, int check_all_prefixes_fail) {
    char *p = data_path(name);
    size_t len;
    uint8_t *orig = (uint8_t *)tc_read_file(p, &len);
    TC_CHECK(orig != NULL, "%s: %s", name, tc_error_get());
    if (!orig) { free(p); return; }
    tc_npy a;
    int prefix_ok = 0, msg_ok = 1;
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = tc_xmalloc(n ? n : 1);   /* exact-size copy so ASan sees over-reads */
        memcpy(cut, orig, n);
        int rc = is_npz ? tc_npz_parse_f32(cut, n, name, "feat", &a) : tc_npy_parse_f32(cut, n, name, &a);
        if (rc == 0) { prefix_ok++; tc_npy_free(&a); }
        else msg_ok &= strncmp(tc_error_get(), name, strlen(name)) == 0;
        free(cut);
    }
    if (check_all_prefixes_fail) TC_CHECK(prefix_ok == 0, "%s: %d truncated prefixes parsed", name, prefix_ok);
    TC_CHECK(msg_ok, "%s: an error message does not name the file", name);
    uint8_t *mut = tc_xmalloc(len);
    for (size_t i = 0; i < len; i++) {
        static const uint8_t flips[] = {0xFF, 0x01, 0x80};
        for (int f = 0; f < 3; f++) {
            memcpy(mut, orig, len);
            mut[i] ^= flips[f];
            int rc = is_npz ? tc_npz_parse_i64(mut, len, name, "feat", &a) : tc_npy_parse_f32(mut, len, name, &a);
            if (rc == 0) tc_npy_free(&a);
        }
    }
    free(mut);
    free(orig);
    free(p);
}

int main(void) {
    test_goldens();
    test_writers();
    test_bad_files();
    test_mutations("dt_f4le.npy", 0, 1);
    test_mutations("fortran_i2be.npy", 0, 1);
    test_mutations("stored.npz", 1, 1);
    test_mutations("deflated.npz", 1, 1);
    test_mutations("zip64.npz", 0, 0);   /* as .npy: exercises the npy-vs-zip detection on every prefix */
    return tc_test_summary("npy");
}
