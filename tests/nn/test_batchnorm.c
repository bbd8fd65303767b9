/* batchnorm (train, eval, backward, fold) and layernorm: float64 finite differences of the reference
 * kernels, fast float paths against the float references. */
#include "fd.h"

#include "nn/nn.h"

/* ---- float64 finite differences ---- */
typedef struct {
    long m;
    int c;
    double *x, *gamma, *beta, *y, *mean, *rstd, *r;
    int layer; /* 0 batchnorm train, 1 layernorm */
} norm_ctx;

static double norm_loss(void *p) {
    norm_ctx *t = p;
    if (t->layer == 0)
        batchnorm_forward_train_f64(t->y, t->mean, t->rstd, NULL, NULL, t->x, t->gamma, t->beta, t->m, t->c, 0.1,
                                    1e-5);
    else
        layernorm_forward_f64(t->y, t->mean, t->rstd, t->x, t->gamma, t->beta, t->m, t->c, 1e-5);
    return dot_d(t->y, t->r, t->m * t->c);
}

static void fd_norm(int layer) {
    norm_ctx t = {.m = 12, .c = 5, .layer = layer};
    long n = t.m * t.c, ns = layer == 0 ? t.c : t.m;
    t.x = rand_d(n, 1, -2, 3);
    t.gamma = rand_d(t.c, 2, 0.5, 1.5);
    t.beta = rand_d(t.c, 3, -1, 1);
    t.r = rand_d(n, 4, -1, 1);
    t.y = zeros_d(n);
    t.mean = zeros_d(ns);
    t.rstd = zeros_d(ns);
    double *dx = zeros_d(n), *dg = zeros_d(t.c), *db = zeros_d(t.c);
    norm_loss(&t);
    if (layer == 0) batchnorm_backward_f64(dx, dg, db, t.r, t.x, t.mean, t.rstd, t.gamma, t.m, t.c);
    else layernorm_backward_f64(dx, dg, db, t.r, t.x, t.mean, t.rstd, t.gamma, t.m, t.c);
    CHECK_FD(fd_check(norm_loss, &t, t.x, n, dx), "dx");
    CHECK_FD(fd_check(norm_loss, &t, t.gamma, t.c, dg), "dgamma");
    CHECK_FD(fd_check(norm_loss, &t, t.beta, t.c, db), "dbeta");
    /* accumulation: a second backward into the same buffers doubles them; NULL gradients are skipped */
    double *dx2 = zeros_d(n);
    memcpy(dx2, dx, sizeof(double) * n);
    if (layer == 0) batchnorm_backward_f64(dx2, NULL, NULL, t.r, t.x, t.mean, t.rstd, t.gamma, t.m, t.c);
    else layernorm_backward_f64(dx2, NULL, NULL, t.r, t.x, t.mean, t.rstd, t.gamma, t.m, t.c);
    for (long i = 0; i < n; i++) CHECK(fabs(dx2[i] - 2 * dx[i]) < 1e-12, "accumulate %ld", i);
    free(t.x), free(t.gamma), free(t.beta), free(t.r), free(t.y), free(t.mean), free(t.rstd);
    free(dx), free(dg), free(db), free(dx2);
}

static void test_batchnorm_fd(void) { fd_norm(0); }
static void test_layernorm_fd(void) { fd_norm(1); }

/* running statistics as PyTorch: biased var normalises, unbiased var goes into running_var */
static void test_batchnorm_running_stats(void) {
    double x[6] = {1, 2, 3, 4, 6, 8}; /* m = 3, c = 2: columns {1,3,6}, {2,4,8} */
    double g[2] = {1, 1}, b[2] = {0, 0}, y[6], mean[2], rstd[2], rm[2] = {0.5, 0}, rv[2] = {1, 2};
    batchnorm_forward_train_f64(y, mean, rstd, rm, rv, x, g, b, 3, 2, 0.1, 1e-5);
    double mu0 = 10.0 / 3, var0 = ((1 - mu0) * (1 - mu0) + (3 - mu0) * (3 - mu0) + (6 - mu0) * (6 - mu0)) / 3;
    CHECK(fabs(mean[0] - mu0) < 1e-12, "mean %g", mean[0]);
    CHECK(fabs(rstd[0] - 1 / sqrt(var0 + 1e-5)) < 1e-12, "rstd");
    CHECK(fabs(rm[0] - (0.9 * 0.5 + 0.1 * mu0)) < 1e-12, "running_mean %g", rm[0]);
    CHECK(fabs(rv[0] - (0.9 * 1 + 0.1 * var0 * 3 / 2)) < 1e-12, "running_var %g", rv[0]);
    /* eval with the batch statistics reproduces the train output */
    double ye[6], var[2] = {var0, 0};
    double mu1 = 14.0 / 3;
    var[1] = ((2 - mu1) * (2 - mu1) + (4 - mu1) * (4 - mu1) + (8 - mu1) * (8 - mu1)) / 3;
    batchnorm_forward_eval_f64(ye, x, g, b, mean, var, 3, 2, 1e-5);
    for (int i = 0; i < 6; i++) CHECK(fabs(ye[i] - y[i]) < 1e-12, "eval %d", i);
}

/* ---- fast float paths vs float references ---- */
static void fast_batchnorm(long m, int c, float lo, float hi, int threads) {
    int saved_threads = nn_get_threads();
    if (threads) nn_set_threads(threads);
    long n = m * c;
    float *x = rand_f(n, 11, lo, hi), *dy = rand_f(n, 12, -1, 1), *g = rand_f(c, 13, 0.5f, 1.5f);
    float *b = rand_f(c, 14, -1, 1), *rm = rand_f(c, 15, -1, 1), *rv = rand_f(c, 16, 0.5f, 2);
    float *y1 = zeros_f(n), *y2 = zeros_f(n), *mu1 = zeros_f(c), *mu2 = zeros_f(c), *rs1 = zeros_f(c),
          *rs2 = zeros_f(c);
    float *rm2 = copy_f(rm, c), *rv2 = copy_f(rv, c);
    batchnorm_forward_train(y1, mu1, rs1, rm, rv, x, g, b, m, c, 0.1f, 1e-5f);
    batchnorm_forward_train_ref(y2, mu2, rs2, rm2, rv2, x, g, b, m, c, 0.1f, 1e-5f);
    CHECK_FAST(y1, y2, n, "y");
    CHECK_FAST(mu1, mu2, c, "mean");
    CHECK_FAST(rs1, rs2, c, "rstd");
    CHECK_FAST(rm, rm2, c, "running_mean");
    CHECK_FAST(rv, rv2, c, "running_var");
    /* backward accumulates onto nonzero gradients */
    float *dx1 = rand_f(n, 17, -1, 1), *dx2 = copy_f(dx1, n), *dg1 = rand_f(c, 18, -1, 1), *dg2 = copy_f(dg1, c);
    float *db1 = rand_f(c, 19, -1, 1), *db2 = copy_f(db1, c);
    batchnorm_backward(dx1, dg1, db1, dy, x, mu2, rs2, g, m, c);
    batchnorm_backward_ref(dx2, dg2, db2, dy, x, mu2, rs2, g, m, c);
    CHECK_FAST(dx1, dx2, n, "dx");
    CHECK_FAST(dg1, dg2, c, "dgamma");
    CHECK_FAST(db1, db2, c, "dbeta");
    batchnorm_backward(NULL, dg1, NULL, dy, x, mu2, rs2, g, m, c); /* NULL gradients are skipped */
    batchnorm_forward_eval(y1, x, g, b, rm, rv, m, c, 1e-3f);
    batchnorm_forward_eval_ref(y2, x, g, b, rm, rv, m, c, 1e-3f);
    CHECK_FAST(y1, y2, n, "eval y");
    free(x), free(dy), free(g), free(b), free(rm), free(rv), free(y1), free(y2), free(mu1), free(mu2);
    free(rs1), free(rs2), free(rm2), free(rv2), free(dx1), free(dx2), free(dg1), free(dg2), free(db1), free(db2);
    if (threads) nn_set_threads(saved_threads);
}

/* MobileNetV2's first block at batch 8: [8*112*112, 32]; the last: [8*7*7, 960]; an offset mean (|mean| = 4
 * std) checks the shifted sums; 3 threads split the rows unevenly. */
static void test_batchnorm_fast_mbv2(void) { fast_batchnorm(8L * 112 * 112, 32, -1, 3, 0); }
static void test_batchnorm_fast_wide(void) { fast_batchnorm(8L * 7 * 7, 960, -2, 2, 0); }
static void test_batchnorm_fast_offset(void) { fast_batchnorm(4099, 17, 3, 5, 3); }
static void test_batchnorm_fast_tiny(void) { fast_batchnorm(2, 3, -1, 1, 0); }

static void test_batchnorm_fold(void) {
    /* eval BN after a linear layer == the folded linear layer */
    int in = 6, out = 4;
    long n = 5;
    float *x = rand_f(n * in, 21, -1, 1), *w = rand_f(out * in, 22, -1, 1), *bias = rand_f(out, 23, -1, 1);
    float *g = rand_f(out, 24, 0.5f, 1.5f), *be = rand_f(out, 25, -1, 1), *rm = rand_f(out, 26, -1, 1);
    float *rv = rand_f(out, 27, 0.5f, 2), *t = zeros_f(n * out), *y1 = zeros_f(n * out), *y2 = zeros_f(n * out);
    linear_forward_ref(t, x, w, bias, n, in, out);
    batchnorm_forward_eval_ref(y1, t, g, be, rm, rv, n, out, 1e-5f);
    batchnorm_fold(w, bias, out, in, g, be, rm, rv, 1e-5f);
    linear_forward_ref(y2, x, w, bias, n, in, out);
    CHECK_FAST(y2, y1, n * out, "folded");
    free(x), free(w), free(bias), free(g), free(be), free(rm), free(rv), free(t), free(y1), free(y2);
}

static void test_layernorm_fast(void) {
    long m = 8 * 15;
    int c = 256;
    long n = m * c;
    float *x = rand_f(n, 31, -2, 3), *dy = rand_f(n, 32, -1, 1), *g = rand_f(c, 33, 0.5f, 1.5f);
    float *b = rand_f(c, 34, -1, 1), *y1 = zeros_f(n), *y2 = zeros_f(n);
    float *mu1 = zeros_f(m), *mu2 = zeros_f(m), *rs1 = zeros_f(m), *rs2 = zeros_f(m);
    layernorm_forward(y1, mu1, rs1, x, g, b, m, c, 1e-5f);
    layernorm_forward_ref(y2, mu2, rs2, x, g, b, m, c, 1e-5f);
    CHECK_FAST(y1, y2, n, "y");
    CHECK_FAST(mu1, mu2, m, "mean");
    CHECK_FAST(rs1, rs2, m, "rstd");
    float *dx1 = rand_f(n, 35, -1, 1), *dx2 = copy_f(dx1, n), *dg1 = zeros_f(c), *dg2 = zeros_f(c);
    float *db1 = zeros_f(c), *db2 = zeros_f(c);
    layernorm_backward(dx1, dg1, db1, dy, x, mu2, rs2, g, m, c);
    layernorm_backward_ref(dx2, dg2, db2, dy, x, mu2, rs2, g, m, c);
    CHECK_FAST(dx1, dx2, n, "dx");
    CHECK_FAST(dg1, dg2, c, "dgamma");
    CHECK_FAST(db1, db2, c, "dbeta");
    free(x), free(dy), free(g), free(b), free(y1), free(y2), free(mu1), free(mu2), free(rs1), free(rs2);
    free(dx1), free(dx2), free(dg1), free(dg2), free(db1), free(db2);
}

int main(void) {
    RUN(test_batchnorm_fast_mbv2);
    RUN(test_batchnorm_fast_wide);
    RUN(test_batchnorm_fast_offset);
    RUN(test_batchnorm_fast_tiny);
    RUN(test_batchnorm_fold);
    RUN(test_layernorm_fast);
    RUN(test_batchnorm_fd);
    RUN(test_layernorm_fd);
    RUN(test_batchnorm_running_stats);
    return test_summary();
}
