/* conv1d over [b, t, c]: (1) the float64 reference's backward against central finite differences;
 * (2) the fast float path (nn.h) against the float reference; (3) a PyTorch fixture. */
#include "fd.h"

#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>

static long x_count(const conv1d_shape *s) { return (long)s->b * s->t * s->c_in; }
static long y_count(const conv1d_shape *s) { return (long)s->b * conv1d_out_t(s) * s->c_out; }
static long w_count(const conv1d_shape *s) { return (long)s->c_out * (s->c_in / s->groups) * s->k; }

/* ---- (1) finite differences in float64 ---- */

/* L = sum(y * r): its gradients are conv1d_backward_f64 with dy = r. */
typedef struct {
    double *y;
    const double *x, *w, *b, *r;
    const conv1d_shape *s;
} loss_ctx;

static double loss_f64(void *ctx) {
    const loss_ctx *c = ctx;
    conv1d_forward_f64(c->y, c->x, c->w, c->b, c->s);
    return dot_d(c->y, c->r, y_count(c->s));
}

static void fd_shape_check(const conv1d_shape *s, const char *what) {
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
    /* linear in each argument: the central difference is exact up to rounding (~1e-16 |L| / step) */
    const double step = 1e-3;
    loss_ctx c = {y, x, w, b, r, s};
    double ex = fd_check_step(loss_f64, &c, x, nx, dx, step);
    double ew = fd_check_step(loss_f64, &c, w, nw, dw, step);
    double eb = fd_check_step(loss_f64, &c, b, nb, db, step);
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
        fd_shape_check(&fd_shapes[i], what);
    }
}

/* ---- (2) the fast float path vs the float reference ---- */

/* FAST_TOL (fd.h) = 1e-5 relative to the largest reference value: same products summed in another order (GEMM
 * blocking) */

static void fast_check(const conv1d_shape *s, const char *what) {
    long nx = x_count(s), ny = y_count(s), nw = w_count(s), nb = s->c_out;
    float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), *b = malloc(sizeof(float) * nb);
    float *dy = malloc(sizeof(float) * ny), *y = malloc(sizeof(float) * ny), *yr = malloc(sizeof(float) * ny);
    float *g = malloc(sizeof(float) * (nx + nw + nb)), *gr = malloc(sizeof(float) * (nx + nw + nb));
    fill_uniform_f(x, nx, 31, -1, 1);
    fill_uniform_f(w, nw, 32, -1, 1);
    fill_uniform_f(b, nb, 33, -1, 1);
    fill_uniform_f(dy, ny, 34, -1, 1);
    CHECK(conv1d_forward(y, x, w, b, s) == 0, "%s: forward failed", what);
    conv1d_forward_ref(yr, x, w, b, s);
    double e = rel_err_f(y, yr, ny);
    CHECK(e < FAST_TOL, "%s: forward rel err %.2e", what, e);
    /* gradients [dx | dw | db] accumulate onto the same random start */
    fill_uniform_f(g, nx + nw + nb, 35, -1, 1);
    memcpy(gr, g, sizeof(float) * (nx + nw + nb));
    CHECK(conv1d_backward(g, g + nx, g + nx + nw, dy, x, w, s) == 0, "%s: backward failed", what);
    conv1d_backward_ref(gr, gr + nx, gr + nx + nw, dy, x, w, s);
    double ex = rel_err_f(g, gr, nx), ew = rel_err_f(g + nx, gr + nx, nw), eb = rel_err_f(g + nx + nw, gr + nx + nw, nb);
    CHECK(ex < FAST_TOL && ew < FAST_TOL && eb < FAST_TOL, "%s: backward rel err dx %.2e dw %.2e db %.2e", what,
          ex, ew, eb);
    free(x), free(w), free(b), free(dy), free(y), free(yr), free(g), free(gr);
}

/* b, t, c_in, c_out, k, stride, pad_left, pad_right, groups */
static const conv1d_shape fast_shapes[] = {
    {4, 15, 1280, 64, 3, 1, 1, 1, 1}, /* temporal stage 1 entry: [B, T=15, 1280] -> 64, k=3 same */
    {4, 15, 64, 64, 3, 1, 1, 1, 1},
    {2, 15, 64, 128, 1, 1, 0, 0, 1},  /* 1x1 residual projection */
    {2, 156, 40, 64, 3, 1, 1, 1, 1},  /* audio block 1: 156 MFCC frames */
    {2, 156, 40, 64, 3, 1, 0, 0, 1},  /* baseline: valid padding */
    {2, 33, 12, 8, 5, 2, 2, 1, 4},    /* grouped, stride 2, asymmetric padding */
};

static void test_fast_paths(void) {
    for (int threads = 1; threads <= 2; threads++) {
        nn_set_threads(threads);
        for (size_t i = 0; i < sizeof fast_shapes / sizeof fast_shapes[0]; i++) {
            char what[48];
            snprintf(what, sizeof what, "fast shape %zu (%d threads)", i, threads);
            fast_check(&fast_shapes[i], what);
        }
    }
}

/* ---- (3) PyTorch fixture (tools/fixtures_conv.py case "c1d": Conv1d k=3 "same", [b, t, c] layout) ----
 * 1e-4 relative: float32 on both sides, different summation order (see test_conv2d.c). */
static float *load(const char *name, long count) {
    char rel[96];
    snprintf(rel, sizeof rel, "nn/conv_c1d_%s.npy", name);
    return fixture_f32(rel, count);
}

static void test_torch_fixture(void) {
    conv1d_shape s = {2, 15, 12, 16, 3, 1, 1, 1, 1};
    long nx = x_count(&s), ny = y_count(&s), nw = w_count(&s), nb = s.c_out;
    float *x = load("x", nx), *w = load("w", nw), *b = load("b", nb), *dy = load("dy", ny);
    float *ty = load("y", ny), *tdx = load("dx", nx), *tdw = load("dw", nw), *tdb = load("db", nb);
    if (x && w && b && dy && ty && tdx && tdw && tdb) {
        float *y = malloc(sizeof(float) * ny), *dx = calloc(nx, sizeof(float)), *dw = calloc(nw, sizeof(float));
        float *db = calloc(nb, sizeof(float));
        CHECK(conv1d_forward(y, x, w, b, &s) == 0, "forward failed");
        CHECK(conv1d_backward(dx, dw, db, dy, x, w, &s) == 0, "backward failed");
        double ey = rel_err_f(y, ty, ny), ex = rel_err_f(dx, tdx, nx), ew = rel_err_f(dw, tdw, nw),
               eb = rel_err_f(db, tdb, nb);
        CHECK(ey < 1e-4 && ex < 1e-4 && ew < 1e-4 && eb < 1e-4, "vs torch: rel err y %.2e dx %.2e dw %.2e db %.2e",
              ey, ex, ew, eb);
        free(y), free(dx), free(dw), free(db);
    }
    free(x), free(w), free(b), free(dy), free(ty), free(tdx), free(tdw), free(tdb);
}

int main(void) {
    RUN(test_fd_reference);
    RUN(test_fast_paths);
    RUN(test_torch_fixture);
    return test_summary();
}
