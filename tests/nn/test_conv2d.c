/* conv2d: (1) the float64 reference's backward against central finite differences; (2) the fast float paths
 * (nn.h) against the float reference; (3) PyTorch fixtures (tools/fixtures_conv.py). */
#include "fd.h"

#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>

static long x_count(const conv2d_shape *s) { return (long)s->n * s->h * s->w * s->c_in; }
static long y_count(const conv2d_shape *s) { return (long)s->n * conv2d_out_h(s) * conv2d_out_w(s) * s->c_out; }
static long w_count(const conv2d_shape *s) { return (long)s->c_out * (s->c_in / s->groups) * s->kh * s->kw; }

/* ---- (1) finite differences in float64 ---- */

/* L = sum(y * r), so dL/dx, dL/dw, dL/db are conv2d_backward_f64 with dy = r. */
typedef struct {
    double *y;
    const double *x, *w, *b, *r;
    const conv2d_shape *s;
} loss_ctx;

static double loss_f64(void *ctx) {
    const loss_ctx *c = ctx;
    conv2d_forward_f64(c->y, c->x, c->w, c->b, c->s);
    return dot_d(c->y, c->r, y_count(c->s));
}

static void fd_shape_check(const conv2d_shape *s, const char *what) {
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
    /* conv is linear in each argument, so the central difference is exact up to rounding:
     * with step 1e-3 that rounding is ~1e-16 * |L| / 1e-3, far below the 1e-6 tolerance. */
    const double step = 1e-3;
    loss_ctx c = {y, x, w, b, r, s};
    double ex = fd_check_step(loss_f64, &c, x, nx, dx, step);
    double ew = fd_check_step(loss_f64, &c, w, nw, dw, step);
    double eb = fd_check_step(loss_f64, &c, b, nb, db, step);
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
        fd_shape_check(&fd_shapes[i], what);
    }
}

/* A hand-computed case: 1 channel, 3x3 input, 2x2 kernel, stride 1, no padding. */
static void test_reference_by_hand(void) {
    conv2d_shape s = {1, 3, 3, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1};
    double x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 0, 0, -1}, b[1] = {10}, y[4];
    conv2d_forward_f64(y, x, w, b, &s);
    CHECK(y[0] == 6 && y[1] == 6 && y[2] == 6 && y[3] == 6, "y = %g %g %g %g", y[0], y[1], y[2], y[3]);
}

/* ---- (2) fast float paths vs the float reference ---- */

/* Tolerance FAST_TOL (fd.h) = 1e-5 (relative to the largest reference value): both sides sum the same products
 * in float but in a different order (GEMM blocking, per-thread partial sums); with <= ~2000 terms of random
 * sign the rounding difference stays around 1e-6 of the largest output. */

static void fast_check(const conv2d_shape *s, const char *what) {
    long nx = x_count(s), ny = y_count(s), nw = w_count(s), nb = s->c_out;
    float *x = rand_f(nx, 21, -1, 1), *w = rand_f(nw, 22, -1, 1), *b = rand_f(nb, 23, -1, 1);
    float *dy = rand_f(ny, 24, -1, 1), *y = rand_f(ny, 25, -1, 1), *yr = rand_f(ny, 26, -1, 1);
    /* forward, with and without bias */
    CHECK(conv2d_forward(y, x, w, b, s) == 0, "%s: forward failed", what);
    conv2d_forward_ref(yr, x, w, b, s);
    double e = rel_err_f(y, yr, ny);
    CHECK(e < FAST_TOL, "%s: forward rel err %.2e", what, e);
    CHECK(conv2d_forward(y, x, w, NULL, s) == 0, "%s: forward failed", what);
    conv2d_forward_ref(yr, x, w, NULL, s);
    e = rel_err_f(y, yr, ny);
    CHECK(e < FAST_TOL, "%s: forward (no bias) rel err %.2e", what, e);

    /* backward accumulates onto random starting gradients */
    float *dx0 = rand_f(nx, 27, -1, 1), *dw0 = rand_f(nw, 28, -1, 1), *db0 = rand_f(nb, 29, -1, 1);
    float *dx = copy_f(dx0, nx), *dw = copy_f(dw0, nw), *db = copy_f(db0, nb);
    float *dxr = copy_f(dx0, nx), *dwr = copy_f(dw0, nw), *dbr = copy_f(db0, nb);
    CHECK(conv2d_backward(dx, dw, db, dy, x, w, s) == 0, "%s: backward failed", what);
    conv2d_backward_ref(dxr, dwr, dbr, dy, x, w, s);
    double ex = rel_err_f(dx, dxr, nx), ew = rel_err_f(dw, dwr, nw), eb = rel_err_f(db, dbr, nb);
    CHECK(ex < FAST_TOL && ew < FAST_TOL && eb < FAST_TOL, "%s: backward rel err dx %.2e dw %.2e db %.2e", what,
          ex, ew, eb);
    /* a second run gives bit-identical gradients (training runs must be reproducible: the per-thread partial
     * sums are reduced in a fixed order) */
    {
        float *dx2 = copy_f(dx0, nx), *dw2 = copy_f(dw0, nw), *db2 = copy_f(db0, nb);
        CHECK(conv2d_backward(dx2, dw2, db2, dy, x, w, s) == 0, "%s: backward failed", what);
        CHECK(!memcmp(dx2, dx, sizeof(float) * nx) && !memcmp(dw2, dw, sizeof(float) * nw) &&
                  !memcmp(db2, db, sizeof(float) * nb),
              "%s: two backward runs differ", what);
        free(dx2), free(dw2), free(db2);
    }
    /* each gradient alone (the others NULL) gives the same values */
    memcpy(dx, dx0, sizeof(float) * nx);
    CHECK(conv2d_backward(dx, NULL, NULL, dy, x, w, s) == 0, "%s: backward dx failed", what);
    CHECK(rel_err_f(dx, dxr, nx) < FAST_TOL, "%s: dx alone differs", what);
    memcpy(dw, dw0, sizeof(float) * nw);
    CHECK(conv2d_backward(NULL, dw, NULL, dy, x, w, s) == 0, "%s: backward dw failed", what);
    CHECK(rel_err_f(dw, dwr, nw) < FAST_TOL, "%s: dw alone differs", what);
    memcpy(db, db0, sizeof(float) * nb);
    CHECK(conv2d_backward(NULL, NULL, db, dy, x, w, s) == 0, "%s: backward db failed", what);
    CHECK(rel_err_f(db, dbr, nb) < FAST_TOL, "%s: db alone differs", what);
    free(x), free(w), free(b), free(dy), free(y), free(yr);
    free(dx0), free(dw0), free(db0), free(dx), free(dw), free(db), free(dxr), free(dwr), free(dbr);
}

/* n, h, w, c_in, c_out, kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, groups */
static const conv2d_shape fast_shapes[] = {
    /* pointwise GEMM path: MobileNetV2 expand / project / head at small spatial sizes */
    {2, 7, 7, 144, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {2, 14, 14, 24, 144, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {3, 5, 5, 320, 1280, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {1, 3, 5, 7, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    /* depthwise 3x3: stride 1 and 2, channel counts with and without a tail block, TF-style padding */
    {2, 14, 14, 96, 96, 3, 3, 1, 1, 1, 1, 1, 1, 96},
    {2, 14, 14, 144, 144, 3, 3, 2, 2, 1, 1, 1, 1, 144},
    {2, 9, 10, 40, 40, 3, 3, 2, 2, 0, 0, 1, 1, 40},
    {1, 6, 5, 5, 5, 3, 3, 1, 2, 2, 0, 0, 2, 5},
    {2, 1, 1, 33, 33, 3, 3, 1, 1, 1, 1, 1, 1, 33},
    {1, 7, 21, 48, 48, 3, 3, 1, 1, 0, 2, 2, 0, 48},  /* stride 1, padding 2 on one side, 0 on the other */
    {1, 6, 19, 80, 80, 3, 3, 1, 1, 0, 0, 0, 0, 80},  /* stride 1, no padding: 4-pixel steps and a remainder */
    {2, 11, 23, 64, 64, 3, 3, 2, 2, 1, 1, 1, 1, 64}, /* stride 2, wider than one pixel tile */
    /* the stem 3x3/2 (c_in 3 and 1: direct path), then generic im2col + GEMM: dense 3x3, grouped, 1x1/2,
     * depthwise 5x5 */
    {2, 32, 32, 3, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1},
    {2, 32, 30, 1, 32, 3, 3, 2, 2, 0, 0, 1, 1, 1},
    /* the direct few-input-channel path at other c_out (1..4 vectors), kernel 5, no interior columns */
    {1, 9, 11, 2, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1},
    {1, 10, 9, 4, 48, 3, 3, 2, 1, 1, 0, 0, 1, 1},
    {1, 8, 8, 1, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {2, 3, 2, 3, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {2, 9, 9, 16, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {2, 8, 7, 12, 8, 3, 5, 1, 2, 1, 2, 0, 1, 4},
    {2, 8, 8, 16, 32, 1, 1, 2, 2, 0, 0, 0, 0, 1},
    {2, 9, 9, 8, 8, 5, 5, 2, 2, 2, 2, 2, 2, 8},
    {1, 5, 5, 64, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1},
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

static void test_bad_shape(void) {
    conv2d_shape s = {1, 4, 4, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4}; /* 4 groups do not divide c_in 6 */
    float buf[256] = {0};
    CHECK(conv2d_forward(buf, buf, buf, NULL, &s) == AVEMO_EINVAL, "groups not dividing c_in accepted");
    conv2d_shape k = {1, 2, 2, 1, 1, 5, 5, 1, 1, 0, 0, 0, 0, 1}; /* kernel larger than the input */
    CHECK(conv2d_backward(buf, buf, buf, buf, buf, buf, &k) == AVEMO_EINVAL, "kernel > input accepted");
}

/* ---- (3) PyTorch fixtures (tools/fixtures_conv.py, torch 1.13 float32, transposed to NHWC) ----
 * Tolerance 1e-4 relative: PyTorch (oneDNN / its own kernels) and we both compute in float32 but sum in
 * different orders and blockings; the differences seen are 1e-7 to 3e-7, and 1e-4 leaves room for a torch build that
 * picks another algorithm, while a wrong index or a missed tap gives errors of order 1. */
#define TORCH_TOL 1e-4

static float *load(const char *c, const char *name, long count) {
    char rel[96];
    snprintf(rel, sizeof rel, "nn/conv_%s_%s.npy", c, name);
    return fixture_f32(rel, count);
}

static void torch_case(const char *c, const conv2d_shape *s) {
    long nx = x_count(s), ny = y_count(s), nw = w_count(s), nb = s->c_out;
    float *x = load(c, "x", nx), *w = load(c, "w", nw), *b = load(c, "b", nb), *dy = load(c, "dy", ny);
    float *ty = load(c, "y", ny), *tdx = load(c, "dx", nx), *tdw = load(c, "dw", nw), *tdb = load(c, "db", nb);
    if (x && w && b && dy && ty && tdx && tdw && tdb) {
        float *y = malloc(sizeof(float) * ny), *dx = calloc(nx, sizeof(float)), *dw = calloc(nw, sizeof(float));
        float *db = calloc(nb, sizeof(float));
        CHECK(conv2d_forward(y, x, w, b, s) == 0, "%s: forward failed", c);
        CHECK(conv2d_backward(dx, dw, db, dy, x, w, s) == 0, "%s: backward failed", c);
        double ey = rel_err_f(y, ty, ny), ex = rel_err_f(dx, tdx, nx), ew = rel_err_f(dw, tdw, nw),
               eb = rel_err_f(db, tdb, nb);
        CHECK(ey < TORCH_TOL && ex < TORCH_TOL && ew < TORCH_TOL && eb < TORCH_TOL,
              "%s vs torch: rel err y %.2e dx %.2e dw %.2e db %.2e", c, ey, ex, ew, eb);
        conv2d_forward_ref(y, x, w, b, s);
        ey = rel_err_f(y, ty, ny);
        CHECK(ey < TORCH_TOL, "%s: reference forward vs torch rel err %.2e", c, ey);
        free(y), free(dx), free(dw), free(db);
    }
    free(x), free(w), free(b), free(dy), free(ty), free(tdx), free(tdw), free(tdb);
}

static void test_torch_fixtures(void) {
    /* the shapes of tools/fixtures_conv.py CASES_2D; padding order here: top, left, bottom, right */
    conv2d_shape dense = {2, 9, 8, 3, 8, 3, 3, 2, 2, 0, 1, 1, 0, 1};
    conv2d_shape dw1 = {2, 7, 6, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16};
    conv2d_shape dw2 = {2, 8, 9, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, 16};
    conv2d_shape pw = {2, 5, 5, 24, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1};
    torch_case("dense", &dense);
    torch_case("dw1", &dw1);
    torch_case("dw2", &dw2);
    torch_case("pw", &pw);
}

int main(void) {
    RUN(test_reference_by_hand);
    RUN(test_fd_reference);
    RUN(test_fast_paths);
    RUN(test_bad_shape);
    RUN(test_torch_fixtures);
    return test_summary();
}
