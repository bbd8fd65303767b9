/* GEMM for the layers (OpenBLAS cblas) and the layers' thread count.
 *
 * Threading: the OpenBLAS here is the pthread build, with its own thread pool next to OpenMP's.
 * nn_set_threads sets both pools to the same size. Call nn_sgemm from outside OpenMP parallel regions
 * (it parallelises inside OpenBLAS); calling it from inside one runs up to threads^2 threads on the cores.
 */
#include "nn/nn.h"

#include <cblas.h>
#include <omp.h>

static int nn_threads; /* 0 = not set: OpenMP's default */

void nn_set_threads(int n) {
    if (n < 1) n = 1;
    nn_threads = n;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int nn_get_threads(void) { return nn_threads > 0 ? nn_threads : omp_get_max_threads(); }

/* C[m,n] = alpha * op(A) op(B) + beta * C, row-major. op(A) is [m,k], op(B) is [k,n]. */
void nn_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
              int ldb, float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* cblas rejects lda < 1 for k = 0; the product is empty: C = beta * C */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(long)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(long)i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
                lda, b, ldb, beta, c, ldc);
}
