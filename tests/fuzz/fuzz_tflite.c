/* libFuzzer harness: the TFLite flatbuffer reader must reject any malformed input cleanly, and every
 * constant tensor it accepts must dequantise within the file's bounds. */
#include "io/tflite.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tfl_model m;
    if (tfl_parse(data, size, "fuzz", &m) != 0) return 0;
    for (int i = 0; i < m.n_tensors; i++) {
        const tfl_tensor *t = &m.tensors[i];
        if (!t->data) continue;
        float *out = malloc((size_t)(t->count ? t->count : 1) * sizeof *out);
        if (out) tfl_to_f32(t, out, t->count, "fuzz");
        free(out);
        (void)tfl_op_name(i < m.n_ops ? m.ops[i].opcode : -1);
        (void)tfl_type_name(t->type);
    }
    tfl_free(&m);
    return 0;
}
