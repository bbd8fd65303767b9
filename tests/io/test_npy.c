#include "test.h"

#include "io/npy.h"
#include "avemo.h"

#include <stdlib.h>
#include <string.h>

static void test_roundtrip(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/a.npy", test_tmpdir());
    float data[6] = {1, 2, 3, 4, 5, 6.5f};
    int64_t shape[2] = {2, 3};
    CHECK(npy_write(path, NPY_F32, 2, shape, data) == 0, "write: %s", avemo_last_error());
    npy_array a;
    CHECK(npy_read(path, &a) == 0, "read: %s", avemo_last_error());
    CHECK(a.dtype == NPY_F32 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3, "header");
    CHECK(a.data && memcmp(a.data, data, sizeof data) == 0, "data");
    npy_free(&a);
}

static void test_numpy_written(void) {
    /* tests/fixtures/io/u8_2x2.npy was written by numpy: np.save(..., np.arange(4, dtype=np.uint8).reshape(2,2)) */
    const char *p = fixture_path("io/u8_2x2.npy");
    if (!p) return;
    npy_array a;
    CHECK(npy_read(p, &a) == 0, "read: %s", avemo_last_error());
    CHECK(a.dtype == NPY_U8 && a.ndim == 2 && a.count == 4 && ((unsigned char *)a.data)[3] == 3, "content");
    npy_free(&a);
}

static void test_corrupt(void) {
    unsigned char buf[128];
    npy_array a;
    memset(buf, 0, sizeof buf);
    CHECK(npy_parse(buf, sizeof buf, "zeros", &a) == AVEMO_EFORMAT, "zeros accepted");
    const char hdr[] = "\x93NUMPY\x01\x00\x36\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1000000,), }\n";
    memcpy(buf, hdr, sizeof hdr - 1);
    CHECK(npy_parse(buf, sizeof hdr - 1 + 8, "short", &a) == AVEMO_EFORMAT, "truncated accepted");
    CHECK(strstr(avemo_last_error(), "short") != NULL, "error names the file: %s", avemo_last_error());
    const char big[] = "\x93NUMPY\x01\x00\x3a\x00{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999,), }\n";
    CHECK(npy_parse((const unsigned char *)big, sizeof big - 1, "big", &a) == AVEMO_EFORMAT, "huge accepted");
}

int main(void) {
    RUN(test_roundtrip);
    RUN(test_numpy_written);
    RUN(test_corrupt);
    return test_summary();
}
