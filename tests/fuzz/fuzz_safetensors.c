/* libFuzzer harness: the safetensors parser (header JSON, dtypes, shapes, offsets) must reject any malformed
 * input cleanly; every accepted tensor must convert to float within the file's bounds. */
#include "io/safetensors.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_file f;
    if (st_parse(data, size, "fuzz", &f) != 0) return 0;
    for (int i = 0; i < f.n_tensors; i++) {
        const st_tensor *t = &f.tensors[i];
        float *out = malloc((size_t)(t->count ? t->count : 1) * sizeof *out);
        if (out) st_to_f32(t, out, t->count, "fuzz");
        free(out);
        (void)st_find(&f, t->name);
    }
    for (int i = 0; i < f.n_meta; i++) (void)st_meta(&f, f.meta_keys[i]);
    st_free(&f);
    return 0;
}
