/* libFuzzer harness for the .npy/.npz readers: any byte string must give 0 or a one-line error,
 * never a crash, leak or out-of-bounds access. Seeds: the .npy and .npz files in tests/data/npy.
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DTAICHU_FUZZ=ON && cmake --build build-fuzz
 *   build-fuzz/fuzz/fuzz_npy -max_total_time=60 corpus/ tests/data/npy/ */
#include "core/error.h"
#include "io/npy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tc_npy a;
    /* Both readers see every input: zip detection and npy detection must each reject the other. */
    if (tc_npy_parse_f32(data, size, "fuzz.npy", &a) == 0) tc_npy_free(&a);
    else if (strchr(tc_error_get(), '\n')) abort();
    if (tc_npy_parse_i64(data, size, "fuzz.npy", &a) == 0) tc_npy_free(&a);
    static const char *keys[] = {"feat", "arr_0", "a", "ids"};
    for (int k = 0; k < 4; k++) {
        if (tc_npz_parse_f32(data, size, "fuzz.npz", keys[k], &a) == 0) {
            if (a.size > 0 && !a.f32) abort();
            tc_npy_free(&a);
        }
    }
    if (tc_npz_parse_i64(data, size, "fuzz.npz", "feat", &a) == 0) tc_npy_free(&a);
    return 0;
}
