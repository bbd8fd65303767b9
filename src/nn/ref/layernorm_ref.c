/* Layer normalisation over the last axis of x [m, c] (PyTorch LayerNorm(c), biased variance). */
#include "nn/ref/real.h"

/* y, x [m, c]; gamma, beta [c]; saves mean, rstd [m] */
void REF(layernorm_forward)(real *y, real *mean, real *rstd, const real *x, const real *gamma,
                            const real *beta, long m, int c, real eps) {
    for (long i = 0; i < m; i++) {
        const real *xi = x + i * c;
        double s = 0, ss = 0;
        for (int j = 0; j < c; j++) s += xi[j];
        double mu = s / c;
        for (int j = 0; j < c; j++) ss += (xi[j] - mu) * (xi[j] - mu);
        double rs = 1.0 / sqrt(ss / c + eps);
        mean[i] = (real)mu;
        rstd[i] = (real)rs;
        for (int j = 0; j < c; j++) y[i * c + j] = (real)((xi[j] - mu) * rs * gamma[j] + beta[j]);
    }
}

/* g = dy gamma:  dx += rstd (g - mean(g) - xhat mean(g xhat)),  dgamma += sum_rows dy xhat,  dbeta += sum dy */
void REF(layernorm_backward)(real *dx, real *dgamma, real *dbeta, const real *dy, const real *x,
                             const real *mean, const real *rstd, const real *gamma, long m, int c) {
    for (long i = 0; i < m; i++) {
        const real *xi = x + i * c, *dyi = dy + i * c;
        double sg = 0, sgx = 0;
        for (int j = 0; j < c; j++) {
            double xh = (xi[j] - (double)mean[i]) * rstd[i];
            double g = (double)dyi[j] * gamma[j];
            sg += g;
            sgx += g * xh;
            if (dgamma) dgamma[j] += (real)(dyi[j] * xh);
            if (dbeta) dbeta[j] += dyi[j];
        }
        if (dx)
            for (int j = 0; j < c; j++) {
                double xh = (xi[j] - (double)mean[i]) * rstd[i];
                double g = (double)dyi[j] * gamma[j];
                dx[i * c + j] += (real)(rstd[i] * (g - sg / c - xh * sgx / c));
            }
    }
}
