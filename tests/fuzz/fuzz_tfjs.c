/* libFuzzer harness: TF.js manifest + shard. The input is MANIFEST "\n@@SHARD@@\n" SHARD (no separator: all
 * manifest, empty shard); both are written to a scratch folder as weights_manifest.json and s.bin, since
 * tfjs_load reads files (shard paths resolve relative to the manifest). */
#include "io/tfjs.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], manifest[128], shard[128];

static void write_file(const char *path, const uint8_t *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(d, 1, n, f) != n) abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/avemo-fuzz-tfjs-XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(manifest, sizeof manifest, "%s/weights_manifest.json", dir);
        snprintf(shard, sizeof shard, "%s/s.bin", dir);
    }
    static const char sep[] = "\n@@SHARD@@\n";
    const uint8_t *s = memmem(data, size, sep, sizeof sep - 1);
    size_t mlen = s ? (size_t)(s - data) : size;
    write_file(manifest, data, mlen);
    if (s) write_file(shard, s + sizeof sep - 1, size - mlen - (sizeof sep - 1));
    else write_file(shard, NULL, 0);
    tfjs_weights w;
    if (tfjs_load(manifest, &w) == 0) {
        for (int i = 0; i < w.n_tensors; i++) (void)tfjs_find(&w, w.tensors[i].name);
        tfjs_free(&w);
    }
    return 0;
}
