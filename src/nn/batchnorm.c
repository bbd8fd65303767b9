/* Batch normalisation, fast path: channels-last x [m, c] with m up to ~1e5 (MobileNetV2's 112x112 stages at
 * batch 8) and c up to 960. Rows are split across threads; each thread sums its rows per channel (vectorised
 * over c) into float partials flushed every BN_BLOCK rows into double, and the per-thread double partials
 * are added in thread order afterwards. Statistics use a per-channel shift (the first row) so E[d^2] - E[d]^2
 * does not cancel when |mean| >> std. */
#include "nn/nn.h"

#include "avemo.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define BN_BLOCK 32             /* rows summed in float before flushing to double */
#define BN_PARALLEL_MIN 32768L  /* below this many elements one thread is faster */

/* Per-thread sums over rows [lo, hi) of a[i,j] and a[i,j] * b[i,j], with a = p - pa[j], b = q - qb[j]
 * (q == NULL: b = a). s1, s2: double [c] (added to); f1, f2: float [c] scratch. */
static void column_sums(double *s1, double *s2, float *f1, float *f2, const float *p, const float *pa,
                        const float *q, const float *qb, long lo, long hi, int c) {
    for (long r0 = lo; r0 < hi; r0 += BN_BLOCK) {
        long r1 = r0 + BN_BLOCK < hi ? r0 + BN_BLOCK : hi;
        for (int j = 0; j < c; j++) f1[j] = f2[j] = 0;
        for (long i = r0; i < r1; i++) {
            const float *pi = p + i * c;
            if (q) {
                const float *qi = q + i * c;
#pragma omp simd
                for (int j = 0; j < c; j++) {
                    float a = pi[j] - pa[j];
                    f1[j] += a;
                    f2[j] += a * (qi[j] - qb[j]);
                }
            } else {
#pragma omp simd
                for (int j = 0; j < c; j++) {
                    float a = pi[j] - pa[j];
                    f1[j] += a;
                    f2[j] += a * a;
                }
            }
        }
        for (int j = 0; j < c; j++) s1[j] += f1[j], s2[j] += f2[j];
    }
}

/* S1[j] = sum_i (p - pa), S2[j] = sum_i (p - pa)(q - qb) over all m rows, in parallel. 0 or AVEMO_ENOMEM. */
static int parallel_sums(double *S1, double *S2, const float *p, const float *pa, const float *q, const float *qb,
                         long m, int c) {
    int nt = (long)m * c >= BN_PARALLEL_MIN ? omp_get_max_threads() : 1;
    if (nt > m) nt = (int)m;
    if (nt < 1) nt = 1;
    double *part = calloc((size_t)nt * 2 * c, sizeof(double));
    float *fs = malloc(sizeof(float) * (size_t)nt * 2 * c);
    if (!part || !fs) {
        free(part);
        free(fs);
        return AVEMO_ENOMEM;
    }
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        long lo = m * t / n, hi = m * (t + 1) / n;
        column_sums(part + (size_t)t * 2 * c, part + (size_t)t * 2 * c + c, fs + (size_t)t * 2 * c,
                    fs + (size_t)t * 2 * c + c, p, pa, q, qb, lo, hi, c);
    }
    for (int j = 0; j < c; j++) S1[j] = S2[j] = 0;
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < c; j++) S1[j] += part[(size_t)t * 2 * c + j], S2[j] += part[(size_t)t * 2 * c + c + j];
    free(part);
    free(fs);
    return 0;
}

/* ---- synchronised statistics (nn.h batchnorm_set_sync), per calling thread */

static _Thread_local batchnorm_sum_fn sync_sum;
static _Thread_local void *sync_ctx;

void batchnorm_set_sync(batchnorm_sum_fn sum, void *ctx) {
    sync_sum = sum;
    sync_ctx = ctx;
}

/* S[2c] (S1, S2 over m local rows) summed over the ranks with the rows: *M. The forward's sums, taken about the
 * local shift x[0, j], are moved to the shared reference base[j] first (in double: S2 + 2 d S1 + m d^2). */
static int sync_sums(double *S, const double *shift, const double *base, long m, int c, double *M) {
    double *v = malloc(sizeof(double) * (2 * (size_t)c + 1));
    if (!v) return AVEMO_ENOMEM;
    for (int j = 0; j < c; j++) {
        double d = shift ? shift[j] - base[j] : 0.0;
        v[j] = S[j] + (double)m * d;
        v[c + j] = S[c + j] + 2.0 * d * S[j] + (double)m * d * d;
    }
    v[2 * c] = (double)m;
    sync_sum(v, 2L * c + 1, sync_ctx);
    memcpy(S, v, sizeof(double) * 2 * (size_t)c);
    *M = v[2 * c];
    free(v);
    return 0;
}

/* Forward, synchronised: S about base[j] = the running mean (0 without one) for all the ranks' *M rows. */
static int sync_forward(double *S, double *base, const float *x, const float *running_mean, long m, int c,
                        double *M) {
    double *shift = malloc(sizeof(double) * (size_t)c);
    if (!shift) return AVEMO_ENOMEM;
    for (int j = 0; j < c; j++) {
        shift[j] = x[j];
        base[j] = running_mean ? running_mean[j] : 0.0;
    }
    int rc = sync_sums(S, shift, base, m, c, M);
    free(shift);
    return rc;
}

/* y[i,j] = (x[i,j] - sub[j]) * mul[j] + add[j], parallel over rows */
static void affine_rows(float *y, const float *x, const float *sub, const float *mul, const float *add, long m,
                        int c) {
#pragma omp parallel for schedule(static) if (m * c >= BN_PARALLEL_MIN)
    for (long i = 0; i < m; i++) {
        const float *xi = x + i * c;
        float *yi = y + i * c;
#pragma omp simd
        for (int j = 0; j < c; j++) yi[j] = (xi[j] - sub[j]) * mul[j] + add[j];
    }
}

void batchnorm_forward_train(float *y, float *mean, float *rstd, float *running_mean, float *running_var,
                             const float *x, const float *gamma, const float *beta, long m, int c,
                             float momentum, float eps) {
    if (m < 1 || c < 1) return;
    double *S = malloc(sizeof(double) * 3 * (size_t)c), M = (double)m; /* S1, S2, then the sums' base */
    float *shift = malloc(sizeof(float) * 3 * (size_t)c);
    if (!S || !shift || parallel_sums(S, S + c, x, x, NULL, NULL, m, c) != 0 ||
        (sync_sum && sync_forward(S, S + 2 * c, x, running_mean, m, c, &M) != 0)) {
        free(S);
        free(shift);
        batchnorm_forward_train_ref(y, mean, rstd, running_mean, running_var, x, gamma, beta, m, c, momentum, eps);
        return;
    }
    /* y = (x - shift) scale + offset with shift = x[0, j] and offset = beta - (mean - shift) scale: x - shift
     * is exact or nearly, so y keeps float accuracy even when std << |mean| */
    float *scale = shift + c, *offset = shift + 2 * c;
    for (int j = 0; j < c; j++) {
        double d = S[j] / M; /* mean of x - base: base = x[0, j], or the shared base when synchronised */
        double var = S[c + j] / M - d * d;
        if (var < 0) var = 0;
        if (sync_sum) d += S[2 * c + j] - (double)x[j]; /* then mean - x[0, j] */
        double mu = (double)x[j] + d, rs = 1.0 / sqrt(var + eps);
        shift[j] = x[j];
        scale[j] = (float)(rs * gamma[j]);
        offset[j] = (float)(beta[j] - d * rs * gamma[j]);
        mean[j] = (float)mu;
        rstd[j] = (float)rs;
        if (running_mean) running_mean[j] = (1 - momentum) * running_mean[j] + momentum * (float)mu;
        if (running_var) {
            double unbiased = M > 1 ? var * M / (M - 1) : var;
            running_var[j] = (1 - momentum) * running_var[j] + momentum * (float)unbiased;
        }
    }
    affine_rows(y, x, shift, scale, offset, m, c);
    free(S);
    free(shift);
}

void batchnorm_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                            const float *running_mean, const float *running_var, long m, int c, float eps) {
    float *scale = malloc(sizeof(float) * (size_t)(c > 0 ? c : 1));
    if (!scale) {
        batchnorm_forward_eval_ref(y, x, gamma, beta, running_mean, running_var, m, c, eps);
        return;
    }
    for (int j = 0; j < c; j++) scale[j] = gamma[j] / sqrtf(running_var[j] + eps);
    affine_rows(y, x, running_mean, scale, beta, m, c);
    free(scale);
}

/* S1 = sum dy, S2 = sum dy (x - mean); dgamma += rstd S2, dbeta += S1,
 * dx += gamma rstd (dy - S1/m) - gamma rstd^3 S2/m (x - mean) */
void batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *gamma, long m, int c) {
    if (m < 1 || c < 1) return;
    double *S = malloc(sizeof(double) * 2 * (size_t)c);
    float *zero = calloc((size_t)c * 3, sizeof(float));
    if (!S || !zero || parallel_sums(S, S + c, dy, zero, x, mean, m, c) != 0) {
        free(S);
        free(zero);
        batchnorm_backward_ref(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, m, c);
        return;
    }
    float *k1 = zero + c, *k2 = zero + 2 * c;
    for (int j = 0; j < c; j++) {
        if (dbeta) dbeta[j] += (float)S[j];
        if (dgamma) dgamma[j] += (float)(S[c + j] * rstd[j]);
    }
    double M = (double)m; /* synchronised: dx from the sums over every rank's rows (dgamma, dbeta: this rank's) */
    if (sync_sum && sync_sums(S, NULL, NULL, m, c, &M) != 0) M = (double)m;
    for (int j = 0; j < c; j++) {
        double g = (double)gamma[j] * rstd[j];
        k1[j] = (float)g;
        k2[j] = (float)(g * rstd[j] * rstd[j] * S[c + j] / M);
        zero[j] = (float)(S[j] / M); /* reused: mean of dy */
    }
    const float *dymean = zero;
    if (dx) {
#pragma omp parallel for schedule(static) if (m * c >= BN_PARALLEL_MIN)
        for (long i = 0; i < m; i++) {
            const float *dyi = dy + i * c, *xi = x + i * c;
            float *dxi = dx + i * c;
#pragma omp simd
            for (int j = 0; j < c; j++) dxi[j] += k1[j] * (dyi[j] - dymean[j]) - k2[j] * (xi[j] - mean[j]);
        }
    }
    free(S);
    free(zero);
}

void batchnorm_fold(float *w, float *b, int c_out, long per_out, const float *gamma, const float *beta,
                    const float *running_mean, const float *running_var, float eps) {
    for (int o = 0; o < c_out; o++) {
        double s = (double)gamma[o] / sqrt((double)running_var[o] + eps);
        for (long k = 0; k < per_out; k++) w[(long)o * per_out + k] = (float)(w[(long)o * per_out + k] * s);
        b[o] = (float)(((double)b[o] - running_mean[o]) * s + beta[o]);
    }
}
