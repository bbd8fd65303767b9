/* libFuzzer harness: model_config_from_json (checkpoint metadata) on arbitrary text; an accepted config must
 * validate and round-trip. */
#include "model/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    model_config c;
    if (model_config_from_json(s, &c) == 0) {
        if (model_config_validate(&c) != 0) abort();
        char *j = model_config_to_json(&c);
        model_config d;
        if (j && model_config_from_json(j, &d) != 0) abort();
        free(j);
    }
    free(s);
    return 0;
}
