/* The fractional Fourier transform of every row of an array (what `avemo frft` computes): rows in parallel
 * (OpenMP), each in double precision with one of the three transforms of dsp/frft.h. */
#ifndef AVEMO_DSP_FRFT_ROWS_H
#define AVEMO_DSP_FRFT_ROWS_H
#include "io/npy.h"

#include <stdint.h>

typedef enum {
    FRFT_METHOD_FAST = 0, /* O(N log N), Ozaktas et al. 1996 (frft_plan_create) */
    FRFT_METHOD_DIRECT,   /* O(N^2) sum of the discretised kernel, the reference (frft_direct) */
    FRFT_METHOD_CANDAN    /* exactly unitary eigenvector DFRFT, O(N^2) (frft_candan_plan_create) */
} frft_method;

#define FRFT_ROWS_MAX_N (1 << 24) /* longest row */

/* y [rows, n] complex (re, im interleaved) = FRFT of order `order` of each row of x: [rows, n] complex
 * interleaved when x_complex, else [rows, n] real. Errors: the plan's, or the first failing row's status
 * (the message as the transform left it, prefixed with "transform failed"). */
int frft_rows(float *y, const float *x, int x_complex, int64_t rows, int n, double order, frft_method method);

/* *y = a new complex64 array of x's shape holding the FRFT of each row of x, a complex64 (<c8) or float32
 * (<f4, taken as real) array of shape [rows, N] or [N], 2 <= N <= FRFT_ROWS_MAX_N. An x of another dtype or
 * shape is AVEMO_EFORMAT with a message naming `name` (its file); other errors are frft_rows's, or
 * AVEMO_ENOMEM. Free *y with npy_free. */
int frft_npy_rows(npy_array *y, const npy_array *x, const char *name, double order, frft_method method);

#endif
