/* libFuzzer: the MindSpore .ckpt (protobuf) parser must reject or accept any byte string safely. */
#include "io/mindspore_ckpt.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tc_tensor_file f;
    if (tc_ckpt_parse(data, size, "fuzz", &f) == 0) {
        tc_ckpt_resolve_aliases(&f);
        for (int i = 0; i < f.n; i++) {
            if (f.t[i].numel > (1 << 16)) continue;
            float *out = malloc((size_t)f.t[i].numel * sizeof(float) + 1);
            tc_io_tensor_to_f32(&f.t[i], out);
            free(out);
        }
        tc_tensor_file_close(&f);
    }
    return 0;
}
