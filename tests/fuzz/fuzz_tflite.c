/* libFuzzer harness: the TFLite flatbuffer reader must reject any malformed input cleanly; accepted constant
 * tensors dequantise without reading outside the file. */
#include "io/tflite.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tfl_model m;
    if (tfl_parse(data, size, "fuzz", &m) == 0) {
        for (int i = 0; i < m.n_tensors; i++)
            if (m.tensors[i].data && m.tensors[i].count <= 4096) {
                float *out = malloc(sizeof(float) * (size_t)(m.tensors[i].count + 1));
                if (out) tfl_to_f32(&m.tensors[i], out, m.tensors[i].count, "fuzz");
                free(out);
            }
        tfl_free(&m);
    }
    return 0;
}
