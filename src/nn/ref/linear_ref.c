/* Fully connected layer, PyTorch nn.Linear layout: y = x w^T + b. */
#include "nn/ref/real.h"

/* x [n, in], w [out, in], b [out] or NULL -> y [n, out] */
void REF(linear_forward)(real *y, const real *x, const real *w, const real *b, long n, int in, int out) {
    for (long i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0;
            for (int k = 0; k < in; k++) s += (double)x[i * in + k] * w[(long)o * in + k];
            y[i * out + o] = (real)s;
        }
}

/* dx += dy w,  dw += dy^T x,  db += sum_rows dy */
void REF(linear_backward)(real *dx, real *dw, real *db, const real *dy, const real *x, const real *w, long n,
                          int in, int out) {
    if (dx)
        for (long i = 0; i < n; i++)
            for (int k = 0; k < in; k++) {
                double s = 0;
                for (int o = 0; o < out; o++) s += (double)dy[i * out + o] * w[(long)o * in + k];
                dx[i * in + k] += (real)s;
            }
    if (dw)
        for (int o = 0; o < out; o++)
            for (int k = 0; k < in; k++) {
                double s = 0;
                for (long i = 0; i < n; i++) s += (double)dy[i * out + o] * x[i * in + k];
                dw[(long)o * in + k] += (real)s;
            }
    if (db)
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (long i = 0; i < n; i++) s += dy[i * out + o];
            db[o] += (real)s;
        }
}
