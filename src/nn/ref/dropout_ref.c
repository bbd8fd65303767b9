/* Inverted dropout with a precomputed mask (0 or 1/(1-p) per element, see dropout_mask in nn.h). */
#include "nn/ref/real.h"

void REF(dropout_forward)(real *y, const real *x, const real *mask, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] * mask[i];
}

void REF(dropout_backward)(real *dx, const real *dy, const real *mask, long n) {
    for (long i = 0; i < n; i++) dx[i] += dy[i] * mask[i];
}
