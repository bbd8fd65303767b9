/* TF.js weights manifest reader: the MTCNN manifest, and manifests that lie about their shards. */
#include "test.h"

#include "avemo.h"
#include "io/tfjs.h"

#include <stdlib.h>
#include <string.h>

static void test_mtcnn_manifest(void) {
    const char *p = shared_path("weights/mtcnn/mtcnn_model-weights_manifest.json");
    if (!p) return;
    tfjs_weights w;
    CHECK(tfjs_load(p, &w) == 0, "%s", avemo_last_error());
    CHECK(w.n_tensors == 50, "%d tensors", w.n_tensors); /* P-Net 13, R-Net 16, O-Net 21 */
    long total = 0;
    for (int i = 0; i < w.n_tensors; i++) total += w.tensors[i].count;
    CHECK(total * 4 == 1983400, "%ld floats do not fill the 1983400-byte shard", total);
    const tfjs_tensor *t = tfjs_find(&w, "onet/fc1/weights");
    CHECK(t && t->ndim == 2 && t->shape[0] == 1152 && t->shape[1] == 256, "onet/fc1/weights");
    t = tfjs_find(&w, "pnet/conv1/weights");
    CHECK(t && t->ndim == 4 && t->shape[3] == 10 && t->data == w.storage, "pnet/conv1/weights first");
    int finite = 1;
    for (long i = 0; i < total; i++) finite &= w.storage[i] == w.storage[i] && fabsf(w.storage[i]) < 1e4f;
    CHECK(finite, "weights not finite/plausible");
    CHECK(tfjs_find(&w, "nope") == NULL, "found a missing tensor");
    tfjs_free(&w);
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static void test_bad_manifests(void) {
    char dir[512], m[600], s[600];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(m, sizeof m, "%s/m.json", dir);
    snprintf(s, sizeof s, "%s/shard", dir);
    float data[6] = {1, 2, 3, 4, 5, 6};
    write_file(s, data, sizeof data);
    tfjs_weights w;
    const char *ok = "[{\"paths\":[\"shard\"],\"weights\":[{\"name\":\"a\",\"shape\":[2,3],\"dtype\":\"float32\"}]}]";
    write_file(m, ok, strlen(ok));
    CHECK(tfjs_load(m, &w) == 0 && w.n_tensors == 1 && w.tensors[0].data[5] == 6, "valid: %s", avemo_last_error());
    tfjs_free(&w);
    const char *bad[] = {
        "[{\"paths\":[\"shard\"],\"weights\":[{\"name\":\"a\",\"shape\":[2,4],\"dtype\":\"float32\"}]}]", /* too big */
        "[{\"paths\":[\"shard\"],\"weights\":[{\"name\":\"a\",\"shape\":[5],\"dtype\":\"float32\"}]}]",   /* leftover */
        "[{\"paths\":[\"shard\"],\"weights\":[{\"name\":\"a\",\"shape\":[6],\"dtype\":\"int32\"}]}]",     /* dtype */
        "[{\"paths\":[\"missing\"],\"weights\":[{\"name\":\"a\",\"shape\":[6],\"dtype\":\"float32\"}]}]", /* no shard */
        "[{\"paths\":[\"../shard\"],\"weights\":[]}]",                                                     /* escape */
        "{\"not\": \"a list\"}", "[{\"paths\":[\"shard\"],\"weights\":[{\"name\":\"a\",\"shape\":[-6],\"dtype\":\"float32\"}]}]",
        "[{\"paths\":[\"shard\"],\"weights\":[{\"name\":\"a\",\"shape\":[3],\"dtype\":\"float32\"},"
        "{\"name\":\"a\",\"shape\":[3],\"dtype\":\"float32\"}]}]", /* duplicate */
        "[{\"paths\":[\"shard\"],\"weights\":[{\"name\":\"a\",\"shape\":[3],\"dtype\"", /* cut JSON */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_file(m, bad[i], strlen(bad[i]));
        int err = tfjs_load(m, &w);
        CHECK(err != 0 && (strstr(avemo_last_error(), "m.json") || strstr(avemo_last_error(), "missing")),
              "bad manifest %zu accepted or error does not name it: %s", i, avemo_last_error());
        if (!err) tfjs_free(&w);
    }
    /* uint8 quantisation: value = min + q * scale */
    unsigned char q[4] = {0, 1, 2, 255};
    write_file(s, q, 4);
    const char *qm = "[{\"paths\":[\"shard\"],\"weights\":[{\"name\":\"q\",\"shape\":[4],\"dtype\":\"float32\","
                     "\"quantization\":{\"dtype\":\"uint8\",\"scale\":0.5,\"min\":-1}}]}]";
    write_file(m, qm, strlen(qm));
    CHECK(tfjs_load(m, &w) == 0 && w.tensors[0].data[0] == -1.0f && w.tensors[0].data[3] == 126.5f, "uint8: %s",
          avemo_last_error());
    tfjs_free(&w);
}

/* A 100-byte manifest must not make the reader allocate what it claims: sizes are checked against the shard
 * files (stat) before the weights are allocated (a [2^30] float32 tensor used to allocate 4 GiB first). */
static void test_claims_checked_before_allocation(void) {
    char m[600], s[600];
    snprintf(m, sizeof m, "%s/big.json", test_tmpdir());
    snprintf(s, sizeof s, "%s/small_shard", test_tmpdir());
    float data[6] = {1, 2, 3, 4, 5, 6};
    write_file(s, data, sizeof data);
    const char *big = "[{\"paths\":[\"small_shard\"],\"weights\":[{\"name\":\"a\",\"shape\":[1073741824],"
                      "\"dtype\":\"float32\"}]}]";
    write_file(m, big, strlen(big));
    tfjs_weights w;
    CHECK(tfjs_load(m, &w) == AVEMO_EFORMAT && strstr(avemo_last_error(), "24 bytes"), "%s", avemo_last_error());
}

int main(void) {
    RUN(test_claims_checked_before_allocation);
    RUN(test_mtcnn_manifest);
    RUN(test_bad_manifests);
    return test_summary();
}
