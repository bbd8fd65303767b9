/* Batch normalisation over channels-last x [m, c] (BatchNorm2d with m = n*h*w, BatchNorm1d with m = b*t).
 * Sums are accumulated in double so the float reference stays accurate at MobileNetV2 sizes (m ~ 1e5). */
#include "nn/ref/real.h"

/* y, x [m, c]; gamma, beta [c]; saves mean, rstd [c]. running_var uses the unbiased variance (PyTorch). */
void REF(batchnorm_forward_train)(real *y, real *mean, real *rstd, real *running_mean, real *running_var,
                                  const real *x, const real *gamma, const real *beta, long m, int c,
                                  real momentum, real eps) {
    for (int j = 0; j < c; j++) {
        double s = 0;
        for (long i = 0; i < m; i++) s += x[i * c + j];
        double mu = s / (double)m;
        double ss = 0;
        for (long i = 0; i < m; i++) {
            double d = x[i * c + j] - mu;
            ss += d * d;
        }
        double var = ss / (double)m;
        double rs = 1.0 / sqrt(var + eps);
        mean[j] = (real)mu;
        rstd[j] = (real)rs;
        for (long i = 0; i < m; i++) y[i * c + j] = (real)(((double)x[i * c + j] - mu) * rs * gamma[j] + beta[j]);
        if (running_mean) running_mean[j] = (1 - momentum) * running_mean[j] + momentum * (real)mu;
        if (running_var) {
            double unbiased = m > 1 ? ss / (double)(m - 1) : var;
            running_var[j] = (1 - momentum) * running_var[j] + momentum * (real)unbiased;
        }
    }
}

void REF(batchnorm_forward_eval)(real *y, const real *x, const real *gamma, const real *beta,
                                 const real *running_mean, const real *running_var, long m, int c, real eps) {
    for (long i = 0; i < m; i++)
        for (int j = 0; j < c; j++)
            y[i * c + j] = (x[i * c + j] - running_mean[j]) / R_SQRT(running_var[j] + eps) * gamma[j] + beta[j];
}

/* xhat = (x - mean) rstd:  dbeta += sum dy,  dgamma += sum dy xhat,
 * dx += gamma rstd (dy - mean(dy) - xhat mean(dy xhat)) */
void REF(batchnorm_backward)(real *dx, real *dgamma, real *dbeta, const real *dy, const real *x,
                             const real *mean, const real *rstd, const real *gamma, long m, int c) {
    for (int j = 0; j < c; j++) {
        double sdy = 0, sdyx = 0;
        for (long i = 0; i < m; i++) {
            double xh = ((double)x[i * c + j] - mean[j]) * rstd[j];
            sdy += dy[i * c + j];
            sdyx += dy[i * c + j] * xh;
        }
        if (dbeta) dbeta[j] += (real)sdy;
        if (dgamma) dgamma[j] += (real)sdyx;
        if (dx) {
            double k = (double)gamma[j] * rstd[j];
            for (long i = 0; i < m; i++) {
                double xh = ((double)x[i * c + j] - mean[j]) * rstd[j];
                dx[i * c + j] += (real)(k * (dy[i * c + j] - sdy / (double)m - xh * sdyx / (double)m));
            }
        }
    }
}
