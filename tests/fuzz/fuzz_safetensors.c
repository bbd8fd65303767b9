/* libFuzzer harness: the safetensors parser must reject any malformed input cleanly; accepted files convert. */
#include "io/safetensors.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_file f;
    if (st_parse(data, size, "fuzz", &f) == 0) {
        for (int i = 0; i < f.n_tensors; i++)
            if (f.tensors[i].count <= 4096) {
                float *out = malloc(sizeof(float) * (size_t)(f.tensors[i].count + 1));
                if (out) st_to_f32(&f.tensors[i], out, f.tensors[i].count, "fuzz");
                free(out);
            }
        st_free(&f);
    }
    return 0;
}
