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

int main(void) {
    RUN(test_batchnorm_fd);
    RUN(test_layernorm_fd);
    RUN(test_batchnorm_running_stats);
    return test_summary();
}
