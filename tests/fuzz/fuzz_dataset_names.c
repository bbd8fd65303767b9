/* libFuzzer harness: the RAVDESS file-name and CREMA-D stem parsers on arbitrary strings. */
#include "data/dataset.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    int f[7], a, e, l;
    char why[256];
    if (ravdess_parse_name(s, f, why, sizeof why) == 0)
        for (int i = 0; i < 7; i++)
            if (f[i] < 1 || f[i] > 24) abort();
    if (cremad_parse_name(s, &a, &e, &l, why, sizeof why) == 0)
        if (a < 1001 || a > 1091 || e < 0 || e > 5 || l < 0 || l > 3) abort();
    free(s);
    return 0;
}
