/* Fully connected layer via GEMM (nn_sgemm, row-major): y = x w^T + b. */
#include "nn/nn.h"

#include "core/err.h"

#include <limits.h>

int linear_forward(float *y, const float *x, const float *w, const float *b, long n, int in, int out) {
    if (n < 0 || n > INT_MAX || in < 0 || out < 0) return avemo_error(AVEMO_EINVAL, "linear: bad size n=%ld", n);
    if (b)
        for (long i = 0; i < n; i++)
            for (int o = 0; o < out; o++) y[i * out + o] = b[o];
    /* y [n, out] (+)= x [n, in] . w^T [in, out] */
    nn_sgemm(0, 1, (int)n, out, in, 1.0f, x, in, w, in, b ? 1.0f : 0.0f, y, out);
    return 0;
}

int linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, long n,
                    int in, int out) {
    if (n < 0 || n > INT_MAX || in < 0 || out < 0) return avemo_error(AVEMO_EINVAL, "linear: bad size n=%ld", n);
    if (dx) nn_sgemm(0, 0, (int)n, in, out, 1.0f, dy, out, w, in, 1.0f, dx, in);   /* dx += dy . w */
    if (dw) nn_sgemm(1, 0, out, in, (int)n, 1.0f, dy, out, x, in, 1.0f, dw, in);   /* dw += dy^T . x */
    if (db)
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (long i = 0; i < n; i++) s += dy[i * out + o];
            db[o] += (float)s;
        }
    return 0;
}
