/* Tests of dsp/frft_rows.c: each row of the output is the one-row transform of dsp/frft.h rounded to float
 * (the same double computation, so exactly equal), for complex and real rows and every method; bad arrays are
 * AVEMO_EFORMAT naming the file. */
#include "test.h"

#include "avemo.h"
#include "dsp/frft.h"
#include "dsp/frft_rows.h"

#include <complex.h>
#include <stdlib.h>
#include <string.h>

static void test_rows_equal_one_row_transforms(void) {
    enum { ROWS = 7, N = 50 };
    float x[2 * ROWS * N], y[2 * ROWS * N];
    fill_uniform_f(x, 2 * ROWS * N, 3, -1, 1);
    const frft_method methods[3] = {FRFT_METHOD_FAST, FRFT_METHOD_DIRECT, FRFT_METHOD_CANDAN};
    for (int m = 0; m < 3; m++)
        for (int is_complex = 0; is_complex <= 1; is_complex++) {
            const double order = 0.7;
            CHECK(frft_rows(y, x, is_complex, ROWS, N, order, methods[m]) == AVEMO_OK, "%s", avemo_last_error());
            int mismatches = 0;
            for (int r = 0; r < ROWS; r++) {
                double complex row[N];
                for (int k = 0; k < N; k++)
                    row[k] = is_complex ? x[2 * (r * N + k)] + I * x[2 * (r * N + k) + 1] : x[r * N + k];
                int st = m == 0 ? frft(row, row, N, order) : m == 1 ? frft_direct(row, row, N, order)
                                                                     : frft_candan(row, row, N, order);
                CHECK(st == 0, "reference: %s", avemo_last_error());
                for (int k = 0; k < N; k++)
                    mismatches += y[2 * (r * N + k)] != (float)creal(row[k]) ||
                                  y[2 * (r * N + k) + 1] != (float)cimag(row[k]);
            }
            CHECK(mismatches == 0, "method %d, complex %d: %d values differ", m, is_complex, mismatches);
        }
}

static void test_npy(void) {
    float data[2 * 3 * 4] = {0};
    data[2] = 1;
    npy_array x = {.dtype = NPY_C64, .ndim = 2, .shape = {3, 4}, .count = 12, .nbytes = sizeof data, .data = data};
    npy_array y;
    CHECK(frft_npy_rows(&y, &x, "x.npy", 1, FRFT_METHOD_FAST) == AVEMO_OK, "%s", avemo_last_error());
    CHECK(y.dtype == NPY_C64 && y.ndim == 2 && y.shape[0] == 3 && y.shape[1] == 4 && y.count == 12 &&
              y.nbytes == sizeof data,
          "output array");
    npy_free(&y);
    x.dtype = NPY_F64;
    CHECK(frft_npy_rows(&y, &x, "x.npy", 1, FRFT_METHOD_FAST) == AVEMO_EFORMAT &&
              strstr(avemo_last_error(), "x.npy: dtype <f8 not supported"),
          "f64: %s", avemo_last_error());
    x.dtype = NPY_F32;
    x.ndim = 3;
    CHECK(frft_npy_rows(&y, &x, "x.npy", 1, FRFT_METHOD_FAST) == AVEMO_EFORMAT &&
              strstr(avemo_last_error(), "x.npy: 3 dimensions"),
          "3-d: %s", avemo_last_error());
    x.ndim = 1;
    x.shape[0] = 1;
    CHECK(frft_npy_rows(&y, &x, "x.npy", 1, FRFT_METHOD_FAST) == AVEMO_EFORMAT &&
              strstr(avemo_last_error(), "x.npy: row length 1"),
          "N = 1: %s", avemo_last_error());
    CHECK(y.data == NULL, "no output after a failure");
}

int main(void) {
    RUN(test_rows_equal_one_row_transforms);
    RUN(test_npy);
    return test_summary();
}
