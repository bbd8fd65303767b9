/* GEMM for the layers (OpenBLAS cblas) and the layers' thread count.
 *
 * Threading: one pool only. The OpenBLAS here is the pthread build with its own thread pool; mixing it with
 * OpenMP regions oversubscribes the cores (both pools spin-wait) and concurrent calls serialise on its
 * server lock. So OpenBLAS is pinned to one thread and nn_sgemm splits C into nn_get_threads() blocks of
 * rows (or columns) itself, one single-threaded cblas_sgemm per OpenMP thread. Inside an OpenMP parallel
 * region nn_sgemm runs serially in the calling thread, so callers may nest it freely.
 */
#include "nn/nn.h"

#include <cblas.h>
#include <omp.h>
#include <pthread.h>

static int nn_threads; /* 0 = not set: OpenMP's default */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_single_thread(void) { openblas_set_num_threads(1); }

void nn_set_threads(int n) {
    if (n < 1) n = 1;
    nn_threads = n;
    omp_set_num_threads(n);
    pthread_once(&blas_once, blas_single_thread);
}

int nn_get_threads(void) { return nn_threads > 0 ? nn_threads : omp_get_max_threads(); }

static void sgemm1(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
                lda, b, ldb, beta, c, ldc);
}

/* C[m,n] = alpha * op(A) op(B) + beta * C, row-major. op(A) is [m,k], op(B) is [k,n]. */
void nn_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
              int ldb, float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* cblas rejects lda < 1 for k = 0; the product is empty: C = beta * C */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(long)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(long)i * ldc + j];
        return;
    }
    pthread_once(&blas_once, blas_single_thread);
    int nt = omp_in_parallel() ? 1 : nn_get_threads();
    /* below ~2 MFLOP the fork/join costs more than it saves */
    if ((double)m * n * k < 1e6) nt = 1;
    if (nt <= 1) {
        sgemm1(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    /* split the longer side of C in blocks of whole 16-wide panels: up to 4 per thread, at least 64 wide,
     * handed out dynamically so that a thread delayed by other processes on the machine does not hold up
     * the others (each block repacks the other operand: negligible at >= 64 rows) */
    int split_m = m >= n;
    int len = split_m ? m : n;
    int chunk = ((len + 4 * nt - 1) / (4 * nt) + 15) / 16 * 16;
    if (chunk < 64) chunk = 64;
    int nblk = (len + chunk - 1) / chunk;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int t = 0; t < nblk; t++) {
        int lo = t * chunk, cnt = len - lo < chunk ? len - lo : chunk;
        if (split_m) {
            /* rows lo.. of op(A): A[lo,0] when not transposed, A[0,lo] when transposed */
            const float *ab = ta ? a + lo : a + (long)lo * lda;
            sgemm1(ta, tb, cnt, n, k, alpha, ab, lda, b, ldb, beta, c + (long)lo * ldc, ldc);
        } else {
            /* columns lo.. of op(B): B[0,lo] when not transposed, B[lo,0] when transposed */
            const float *bb = tb ? b + (long)lo * ldb : b + lo;
            sgemm1(ta, tb, m, cnt, k, alpha, a, lda, bb, ldb, beta, c + lo, ldc);
        }
    }
}
