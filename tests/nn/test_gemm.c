/* nn_sgemm against a double-precision triple loop: every transpose combination, odd sizes, alpha/beta,
 * leading dimensions larger than the matrix, and sizes that take the threaded row/column split. */
#include "test.h"

#include "nn/nn.h"

#include <stdlib.h>

static void naive(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                  int ldb, float beta, float *c, int ldc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0;
            for (int p = 0; p < k; p++)
                acc += (double)(ta ? a[(long)p * lda + i] : a[(long)i * lda + p]) *
                       (tb ? b[(long)j * ldb + p] : b[(long)p * ldb + j]);
            c[(long)i * ldc + j] = (float)(alpha * acc + (beta == 0 ? 0 : beta * c[(long)i * ldc + j]));
        }
}

static void check(int ta, int tb, int m, int n, int k, float alpha, float beta) {
    int pad = 3;
    int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    long na = (long)(ta ? k : m) * lda, nb = (long)(tb ? n : k) * ldb, nc = (long)m * ldc;
    float *a = malloc(sizeof(float) * na), *b = malloc(sizeof(float) * nb);
    float *c = malloc(sizeof(float) * nc), *r = malloc(sizeof(float) * nc);
    fill_uniform_f(a, na, 1, -1, 1);
    fill_uniform_f(b, nb, 2, -1, 1);
    fill_uniform_f(c, nc, 3, -1, 1);
    for (long i = 0; i < nc; i++) r[i] = c[i];
    nn_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    naive(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, r, ldc);
    /* float accumulation over k terms vs double: ~k * 2^-24 relative at worst, k <= 300 here */
    double e = rel_err_f(c, r, nc);
    CHECK(e < 1e-5, "ta %d tb %d m %d n %d k %d: rel err %.2e", ta, tb, m, n, k, e);
    free(a), free(b), free(c), free(r);
}

static void test_gemm(void) {
    int sizes[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 9}, {300, 40, 70}, {40, 300, 70}, {129, 131, 257}};
    for (int t = 0; t < 4; t++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            check(t & 1, t >> 1, sizes[i][0], sizes[i][1], sizes[i][2], 1.0f, 0.0f);
            check(t & 1, t >> 1, sizes[i][0], sizes[i][1], sizes[i][2], 0.5f, 1.0f);
        }
}

static void test_k_zero(void) {
    float c[4] = {1, 2, 3, 4};
    nn_sgemm(0, 0, 2, 2, 0, 1.0f, c, 1, c, 1, 0.5f, c, 2);
    CHECK(c[0] == 0.5f && c[3] == 2.0f, "k = 0 must scale C by beta");
}

static void test_threads(void) {
    nn_set_threads(2);
    CHECK(nn_get_threads() == 2, "nn_get_threads %d", nn_get_threads());
    check(0, 1, 257, 65, 129, 1.0f, 0.0f);
    nn_set_threads(1);
    check(0, 1, 257, 65, 129, 1.0f, 0.0f);
    nn_set_threads(2);
}

int main(void) {
    RUN(test_gemm);
    RUN(test_k_zero);
    RUN(test_threads);
    return test_summary();
}
