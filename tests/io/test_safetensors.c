#include "test.h"

#include "io/safetensors.h"
#include "avemo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_roundtrip(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/rt.safetensors", test_tmpdir());
    float a[6] = {1, 2, 3, 4, 5, 6.5f};
    int64_t n = 42;
    unsigned char u[3] = {1, 2, 250};
    int64_t sa[2] = {2, 3}, sn[1] = {1}, su[1] = {3};
    st_writer *w = st_writer_new();
    CHECK(w != NULL, "writer");
    CHECK(st_writer_add(w, "features.0.0.weight", ST_F32, 2, sa, a) == 0, "add: %s", avemo_last_error());
    CHECK(st_writer_add(w, "n", ST_I64, 1, sn, &n) == 0, "add");
    CHECK(st_writer_add(w, "u", ST_U8, 1, su, u) == 0, "add");
    CHECK(st_writer_add(w, "u", ST_U8, 1, su, u) != 0, "duplicate name accepted");
    CHECK(st_writer_meta(w, "padding", "tf_same") == 0, "meta");
    CHECK(st_writer_meta(w, "padding", "torch") == 0, "meta replace");
    CHECK(st_writer_write(w, path) == 0, "write: %s", avemo_last_error());
    st_writer_free(w);

    st_file f;
    CHECK(st_read(path, &f) == 0, "read: %s", avemo_last_error());
    CHECK(f.n_tensors == 3 && f.n_meta == 1, "counts %d %d", f.n_tensors, f.n_meta);
    CHECK(st_meta(&f, "padding") && !strcmp(st_meta(&f, "padding"), "torch"), "meta value");
    CHECK(st_meta(&f, "nope") == NULL, "absent meta");
    const st_tensor *t = st_find(&f, "features.0.0.weight");
    CHECK(t && t->dtype == ST_F32 && t->ndim == 2 && t->shape[1] == 3 && t->count == 6, "tensor header");
    float b[6];
    CHECK(t && st_to_f32(t, b, 6, path) == 0 && !memcmp(a, b, sizeof a), "tensor data");
    CHECK(t && st_to_f32(t, b, 5, path) != 0, "count mismatch accepted");
    t = st_find(&f, "u");
    CHECK(t && st_to_f32(t, b, 3, path) == 0 && b[2] == 250.0f, "u8 conversion");
    /* header length is padded so the data starts on an 8-byte boundary */
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | f.buf[i];
    CHECK(hlen % 8 == 0, "header length %llu not a multiple of 8", (unsigned long long)hlen);
    st_free(&f);

    /* the metadata alone (model_file_is_model): the same values, no tensors, only the header's bytes read */
    CHECK(st_read_meta(path, &f) == 0, "read meta: %s", avemo_last_error());
    CHECK(f.n_tensors == 0 && f.n_meta == 1 && f.size == 8 + hlen, "meta only: %d tensors, %d meta, %zu bytes",
          f.n_tensors, f.n_meta, f.size);
    CHECK(st_meta(&f, "padding") && !strcmp(st_meta(&f, "padding"), "torch"), "meta value (header only)");
    st_free(&f);
    FILE *fp = fopen(path, "r+b"); /* a header length past the end of the file */
    CHECK(fp && fseek(fp, 0, SEEK_SET) == 0, "reopen");
    unsigned char big[8] = {0xff, 0xff, 0x0f, 0, 0, 0, 0, 0};
    CHECK(fp && fwrite(big, 1, 8, fp) == 8 && fclose(fp) == 0, "rewrite header length");
    CHECK(st_read_meta(path, &f) == AVEMO_EFORMAT, "header past the end accepted");
    CHECK(st_read(path, &f) == AVEMO_EFORMAT, "header past the end accepted by st_read");
    snprintf(path, sizeof path, "%s/absent.safetensors", test_tmpdir());
    CHECK(st_read_meta(path, &f) == AVEMO_EIO, "absent file");
}

static void test_python_written(void) {
    /* tests/fixtures/io/st_small.safetensors: tools/fixtures_backbone.py (tools/st_writer.py, numpy) */
    const char *p = fixture_path("io/st_small.safetensors");
    if (!p) return;
    st_file f;
    CHECK(st_read(p, &f) == 0, "read: %s", avemo_last_error());
    CHECK(f.n_tensors == 6, "n_tensors %d", f.n_tensors);
    CHECK(st_meta(&f, "format") && !strcmp(st_meta(&f, "format"), "pt"), "metadata");
    float v[6];
    const st_tensor *t = st_find(&f, "a.weight");
    CHECK(t && st_to_f32(t, v, 6, p) == 0 && v[0] == -1.0f && v[5] == 1.5f, "f32 values");
    t = st_find(&f, "half");
    CHECK(t && t->dtype == ST_F16 && st_to_f32(t, v, 4, p) == 0, "f16 read");
    CHECK(v[0] == 1.0f && v[1] == -2.5f && v[2] == 65504.0f && fabsf(v[3] - 6.1035156e-05f) < 1e-10f,
          "f16 values %g %g %g %g", v[0], v[1], v[2], v[3]);
    t = st_find(&f, "bf");
    CHECK(t && t->dtype == ST_BF16 && st_to_f32(t, v, 3, p) == 0 && v[0] == 1.0f && v[1] == -3.0f &&
              v[2] == 0.15625f, "bf16 values");
    t = st_find(&f, "count");
    CHECK(t && t->ndim == 0 && t->count == 1 && st_to_f32(t, v, 1, p) == 0 && v[0] == 7.0f, "i64 scalar");
    t = st_find(&f, "empty");
    CHECK(t && t->count == 0 && t->nbytes == 0 && t->shape[1] == 4, "empty tensor");
    st_free(&f);
}

/* Build a file from a header string and `data_bytes` zero bytes of data. */
static int parse_hdr(const char *json, size_t data_bytes) {
    size_t hl = strlen(json), n = 8 + hl + data_bytes;
    unsigned char *buf = calloc(1, n);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, json, hl);
    st_file f;
    int rc = st_parse(buf, n, "hostile", &f);
    if (rc == 0) st_free(&f);
    free(buf);
    return rc;
}

static void test_hostile(void) {
    st_file f;
    unsigned char tiny[4] = {1, 2, 3, 4};
    CHECK(st_parse(tiny, sizeof tiny, "tiny", &f) == AVEMO_EFORMAT, "4-byte file accepted");
    unsigned char big[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    CHECK(st_parse(big, sizeof big, "big", &f) == AVEMO_EFORMAT, "huge header length accepted");
    CHECK(strstr(avemo_last_error(), "big") != NULL, "error names the file: %s", avemo_last_error());
    CHECK(parse_hdr("{}", 0) == 0, "empty file rejected: %s", avemo_last_error());
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8) == 0, "valid: %s",
          avemo_last_error());
    const char *bad[] = {
        "[1,2]",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",          /* truncated JSON */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}",        /* past the end */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",         /* size mismatch */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",        /* negative dim */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}",       /* fractional dim */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",         /* reversed */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}",        /* negative offset */
        "{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}",          /* unknown dtype */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}",                                /* no offsets */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", /* overflow */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}",     /* 9 dims */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",         /* overlap */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",         /* duplicate */
        "{\"__metadata__\":{\"k\":3}}",                                            /* non-string metadata */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x",       /* trailing junk */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse_hdr(bad[i], 16);
        CHECK(rc == AVEMO_EFORMAT || rc == AVEMO_EUNSUP, "hostile header %zu accepted: %s", i, bad[i]);
    }
    /* every truncation of a valid file fails cleanly (runs under ASan in `make test SAN=1`) */
    const char *p = fixture_path("io/st_small.safetensors");
    if (!p) return;
    FILE *fp = fopen(p, "rb");
    unsigned char buf[4096];
    size_t n = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp) fclose(fp);
    CHECK(n > 100, "fixture read");
    for (size_t k = 0; k + 1 < n; k++) {
        int rc = st_parse(buf, k, "trunc", &f);
        CHECK(rc != 0, "truncation at %zu accepted", k);
        if (rc == 0) st_free(&f);
    }
    /* flip each header byte: any result is fine as long as nothing crashes and successes are consistent */
    for (size_t k = 0; k < n; k++) {
        unsigned char c = buf[k];
        buf[k] ^= 0x5a;
        if (st_parse(buf, n, "flip", &f) == 0) {
            for (int i = 0; i < f.n_tensors; i++)
                CHECK((const unsigned char *)f.tensors[i].data + f.tensors[i].nbytes <= f.buf + f.size,
                      "tensor outside file after flip at %zu", k);
            st_free(&f);
        }
        buf[k] = c;
    }
}

int main(void) {
    RUN(test_roundtrip);
    RUN(test_python_written);
    RUN(test_hostile);
    return test_summary();
}
