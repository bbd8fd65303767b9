/* libFuzzer harness: the .npy parser must reject any malformed input cleanly. */
#include "io/npy.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    npy_array a;
    if (npy_parse(data, size, "fuzz", &a) == 0) npy_free(&a);
    return 0;
}
