/* conv2d: (1) the float64 reference's backward against central finite differences; (2) the fast float paths
 * (nn.h) against the float reference; (3) PyTorch fixtures (tools/fixtures_conv.py). */
#include "test.h"

#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>

static long x_count(const conv2d_shape *s) { return (long)s->n * s->h * s->w * s->c_in; }
static long y_count(const conv2d_shape *s) { return (long)s->n * conv2d_out_h(s) * conv2d_out_w(s) * s->c_out; }
static long w_count(const conv2d_shape *s) { return (long)s->c_out * (s->c_in / s->groups) * s->kh * s->kw; }

/* ---- (1) finite differences in float64 ---- */

/* L = sum(y * r), so dL/dx, dL/dw, dL/db are conv2d_backward_f64 with dy = r. */
static double loss_f64(double *y, const double *x, const double *w, const double *b, const double *r,
                       const conv2d_shape *s) {
    conv2d_forward_f64(y, x, w, b, s);
    double l = 0;
    for (long i = 0; i < y_count(s); i++) l += y[i] * r[i];
    return l;
}

/* Central differences of every element of p (n values) vs the analytic gradient g. */
static double fd_rel_err(double *p, long n, const double *g, double *y, const double *x, const double *w,
                         const double *b, const double *r, const conv2d_shape *s) {
    /* conv is linear in each argument, so the central difference is exact up to rounding:
     * with eps = 1e-3 that rounding is ~1e-16 * |L| / eps, far below the 1e-6 tolerance. */
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

static void fd_check(const conv2d_shape *s, const char *what) {
    long nx = x_count(s), ny = y_count(s), nw = w_count(s), nb = s->c_out;
    double *x = malloc(sizeof(double) * nx), *w = malloc(sizeof(double) * nw), *b = malloc(sizeof(double) * nb);
    double *r = malloc(sizeof(double) * ny), *y = malloc(sizeof(double) * ny);
    double *dx = malloc(sizeof(double) * nx), *dw = malloc(sizeof(double) * nw), *db = malloc(sizeof(double) * nb);
    fill_uniform_d(x, nx, 1, -1, 1);
    fill_uniform_d(w, nw, 2, -1, 1);
    fill_uniform_d(b, nb, 3, -1, 1);
    fill_uniform_d(r, ny, 4, -1, 1);
    /* backward accumulates: start from 0.25 and subtract it afterwards */
    for (long i = 0; i < nx; i++) dx[i] = 0.25;
    for (long i = 0; i < nw; i++) dw[i] = 0.25;
    for (long i = 0; i < nb; i++) db[i] = 0.25;
    conv2d_backward_f64(dx, dw, db, r, x, w, s);
    for (long i = 0; i < nx; i++) dx[i] -= 0.25;
    for (long i = 0; i < nw; i++) dw[i] -= 0.25;
    for (long i = 0; i < nb; i++) db[i] -= 0.25;
    double ex = fd_rel_err(x, nx, dx, y, x, w, b, r, s);
    double ew = fd_rel_err(w, nw, dw, y, x, w, b, r, s);
    double eb = fd_rel_err(b, nb, db, y, x, w, b, r, s);
    CHECK(ex < 1e-6 && ew < 1e-6 && eb < 1e-6, "%s: fd rel err dx %.2e dw %.2e db %.2e", what, ex, ew, eb);

    /* NULL gradients are skipped and do not change the others */
    double *dw2 = calloc(nw, sizeof(double));
    conv2d_backward_f64(NULL, dw2, NULL, r, x, w, s);
    CHECK(rel_err_d(dw2, dw, nw) < 1e-12, "%s: dw alone differs", what);
    free(dw2);
    free(x), free(w), free(b), free(r), free(y), free(dx), free(dw), free(db);
}

/* n, h, w, c_in, c_out, kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, groups */
static const conv2d_shape fd_shapes[] = {
    {2, 5, 6, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},   /* dense 3x3 same */
    {2, 7, 6, 3, 4, 3, 3, 2, 2, 0, 1, 1, 0, 1},   /* dense 3x3/2, asymmetric padding */
    {1, 8, 8, 2, 3, 3, 3, 2, 2, 0, 0, 1, 1, 1},   /* TF "SAME" 3x3/2: pad bottom/right only */
    {2, 6, 5, 4, 6, 5, 5, 1, 1, 2, 2, 2, 2, 2},   /* grouped (2 groups), kernel 5 */
    {1, 9, 7, 4, 4, 5, 3, 2, 1, 1, 2, 2, 0, 2},   /* grouped, 5x3 kernel, stride (2,1), uneven padding */
    {2, 6, 7, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5},   /* depthwise 3x3/1 */
    {2, 7, 8, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1, 5},   /* depthwise 3x3/2 */
    {2, 4, 5, 6, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1},   /* pointwise 1x1 */
    {1, 6, 6, 4, 8, 1, 1, 2, 2, 0, 0, 0, 0, 2},   /* 1x1/2 grouped */
    {1, 4, 4, 3, 2, 3, 3, 1, 1, 3, 0, 0, 2, 1},   /* padding wider than the kernel reach on one side */
};

static void test_fd_reference(void) {
    for (size_t i = 0; i < sizeof fd_shapes / sizeof fd_shapes[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "fd shape %zu", i);
        fd_check(&fd_shapes[i], what);
    }
}

/* A hand-computed case: 1 channel, 3x3 input, 2x2 kernel, stride 1, no padding. */
static void test_reference_by_hand(void) {
    conv2d_shape s = {1, 3, 3, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1};
    double x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 0, 0, -1}, b[1] = {10}, y[4];
    conv2d_forward_f64(y, x, w, b, &s);
    CHECK(y[0] == 6 && y[1] == 6 && y[2] == 6 && y[3] == 6, "y = %g %g %g %g", y[0], y[1], y[2], y[3]);
}

int main(void) {
    RUN(test_reference_by_hand);
    RUN(test_fd_reference);
    return test_summary();
}
