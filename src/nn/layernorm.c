/* Layer normalisation, fast path: rows are independent, so blocks of rows run the reference in parallel;
 * the parameter gradients (a sum over rows) stay in one thread. */
#include "nn/nn.h"

#include <stddef.h>

#define LN_PARALLEL_MIN 16384L

void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                       const float *beta, long m, int c, float eps) {
#pragma omp parallel for schedule(static) if (m * c >= LN_PARALLEL_MIN)
    for (long i = 0; i < m; i++)
        layernorm_forward_ref(y + i * c, mean + i, rstd + i, x + i * c, gamma, beta, 1, c, eps);
}

void layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *gamma, long m, int c) {
    if (dx) {
#pragma omp parallel for schedule(static) if (m * c >= LN_PARALLEL_MIN)
        for (long i = 0; i < m; i++)
            layernorm_backward_ref(dx + i * c, NULL, NULL, dy + i * c, x + i * c, mean + i, rstd + i, gamma, 1, c);
    }
    if (dgamma || dbeta) layernorm_backward_ref(NULL, dgamma, dbeta, dy, x, mean, rstd, gamma, m, c);
}
