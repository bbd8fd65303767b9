/* libFuzzer harness: cache_open on an arbitrary CACHE/index.json (written to a scratch folder, since the
 * cache reads its index from disk). */
#include "data/cache.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64], index_path[128];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/avemo-fuzz-cache-XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(index_path, sizeof index_path, "%s/index.json", dir);
    }
    FILE *f = fopen(index_path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    feature_cache c;
    if (cache_open(&c, dir) == 0) {
        int done, failed;
        for (int k = 0; k < CACHE_N_KINDS; k++) cache_count(&c, (cache_kind)k, &done, &failed);
        cache_free(&c);
    }
    return 0;
}
