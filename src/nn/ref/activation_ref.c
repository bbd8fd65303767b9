/* Elementwise activations: relu, relu6, gelu (erf form), per-channel prelu. */
#include "nn/ref/real.h"

void REF(relu_forward)(real *y, const real *x, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

/* from the output: y > 0 exactly where x > 0 (PyTorch's threshold_backward uses the same test) */
void REF(relu_backward)(real *dx, const real *dy, const real *y, long n) {
    for (long i = 0; i < n; i++)
        if (y[i] > 0) dx[i] += dy[i];
}

void REF(relu6_forward)(real *y, const real *x, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? (x[i] < 6 ? x[i] : 6) : 0;
}

/* hardtanh_backward(0, 6): gradient passes where 0 < x < 6, i.e. 0 < y < 6 */
void REF(relu6_backward)(real *dx, const real *dy, const real *y, long n) {
    for (long i = 0; i < n; i++)
        if (y[i] > 0 && y[i] < 6) dx[i] += dy[i];
}

/* gelu(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2 */
void REF(gelu_forward)(real *y, const real *x, long n) {
    for (long i = 0; i < n; i++) y[i] = (real)0.5 * x[i] * (1 + R_ERF(x[i] * (real)0.70710678118654752440));
}

/* gelu'(x) = Phi(x) + x phi(x) */
void REF(gelu_backward)(real *dx, const real *dy, const real *x, long n) {
    for (long i = 0; i < n; i++) {
        real cdf = (real)0.5 * (1 + R_ERF(x[i] * (real)0.70710678118654752440));
        real pdf = R_EXP((real)-0.5 * x[i] * x[i]) * (real)0.39894228040143267794;
        dx[i] += dy[i] * (cdf + x[i] * pdf);
    }
}

/* x [m, c], alpha [c]: y = x > 0 ? x : alpha x */
void REF(prelu_forward)(real *y, const real *x, const real *alpha, long m, int c) {
    for (long i = 0; i < m; i++)
        for (int j = 0; j < c; j++) {
            real v = x[i * c + j];
            y[i * c + j] = v > 0 ? v : alpha[j] * v;
        }
}

void REF(prelu_backward)(real *dx, real *dalpha, const real *dy, const real *x, const real *alpha, long m,
                         int c) {
    for (long i = 0; i < m; i++)
        for (int j = 0; j < c; j++) {
            real v = x[i * c + j], g = dy[i * c + j];
            if (dx) dx[i * c + j] += v > 0 ? g : alpha[j] * g;
            if (dalpha && !(v > 0)) dalpha[j] += g * v;
        }
}
