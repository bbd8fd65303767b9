/* Softmax, log-softmax and softmax cross-entropy over rows of [n, c] (max-subtracted for stability). */
#include "nn/ref/real.h"

void REF(softmax_forward)(real *y, const real *x, long n, int c) {
    for (long i = 0; i < n; i++) {
        const real *xi = x + i * c;
        real mx = xi[0];
        for (int j = 1; j < c; j++) mx = xi[j] > mx ? xi[j] : mx;
        double s = 0;
        for (int j = 0; j < c; j++) s += R_EXP(xi[j] - mx);
        for (int j = 0; j < c; j++) y[i * c + j] = (real)(R_EXP(xi[j] - mx) / s);
    }
}

/* dx += y (dy - sum(dy y)) */
void REF(softmax_backward)(real *dx, const real *dy, const real *y, long n, int c) {
    for (long i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < c; j++) s += (double)dy[i * c + j] * y[i * c + j];
        for (int j = 0; j < c; j++) dx[i * c + j] += (real)(y[i * c + j] * (dy[i * c + j] - s));
    }
}

void REF(log_softmax_forward)(real *y, const real *x, long n, int c) {
    for (long i = 0; i < n; i++) {
        const real *xi = x + i * c;
        real mx = xi[0];
        for (int j = 1; j < c; j++) mx = xi[j] > mx ? xi[j] : mx;
        double s = 0;
        for (int j = 0; j < c; j++) s += R_EXP(xi[j] - mx);
        real lse = mx + (real)log(s);
        for (int j = 0; j < c; j++) y[i * c + j] = xi[j] - lse;
    }
}

/* dx += dy - exp(y) sum(dy) */
void REF(log_softmax_backward)(real *dx, const real *dy, const real *y, long n, int c) {
    for (long i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < c; j++) s += dy[i * c + j];
        for (int j = 0; j < c; j++) dx[i * c + j] += (real)(dy[i * c + j] - R_EXP(y[i * c + j]) * s);
    }
}

/* PyTorch CrossEntropyLoss(label_smoothing=eps, reduction='mean'):
 * loss_i = -sum_j t_ij log p_ij with t_ij = (1 - eps) [j == label_i] + eps / c. */
real REF(softmax_xent_forward)(real *probs, const real *logits, const int *labels, long n, int c,
                               real smoothing) {
    double total = 0;
    for (long i = 0; i < n; i++) {
        const real *xi = logits + i * c;
        real mx = xi[0];
        for (int j = 1; j < c; j++) mx = xi[j] > mx ? xi[j] : mx;
        double s = 0, sum_logp = 0;
        for (int j = 0; j < c; j++) s += R_EXP(xi[j] - mx);
        double lse = mx + log(s);
        for (int j = 0; j < c; j++) {
            probs[i * c + j] = (real)(R_EXP(xi[j] - mx) / s);
            sum_logp += xi[j] - lse;
        }
        double nll = lse - xi[labels[i]];
        total += (1 - (double)smoothing) * nll - (double)smoothing / c * sum_logp;
    }
    return (real)(total / (double)n);
}

/* dlogits += dloss / n (probs - t) */
void REF(softmax_xent_backward)(real *dlogits, const real *probs, const int *labels, long n, int c,
                                real smoothing, real dloss) {
    real k = dloss / (real)n, off = smoothing / (real)c;
    for (long i = 0; i < n; i++)
        for (int j = 0; j < c; j++) {
            real t = off + (j == labels[i] ? 1 - smoothing : 0);
            dlogits[i * c + j] += k * (probs[i * c + j] - t);
        }
}
