/* Helpers shared by the nn layer tests: central finite differences in float64 and float/double buffers.
 * Header-only (each test is its own binary). */
#ifndef AVEMO_TESTS_NN_FD_H
#define AVEMO_TESTS_NN_FD_H
#include "test.h"

#include "avemo.h"
#include "io/npy.h"

#include <stdlib.h>
#include <string.h>

/* FD gradients are checked at relative error < 1e-6 (the brief's bar): with step 1e-5 on O(1) inputs the
 * truncation error is ~h^2 = 1e-10 and the float64 rounding error ~1e-16 / h = 1e-11. */
#define FD_STEP 1e-5
#define FD_TOL 1e-6
/* Fast float path vs its float reference: both round in float32 (eps 6e-8) but sum in different orders
 * (GEMM blocking, per-thread partial sums); 1e-5 of the largest magnitude leaves room for ~1e3-term sums. */
#define FAST_TOL 1e-5

typedef double (*fd_loss_fn)(void *ctx);

/* Numerical gradient of loss(ctx) with respect to p[0..n) by central differences of step h (p is perturbed
 * and restored), compared with the analytic gradient g. Returns the relative error (max abs diff / max
 * |numerical|). */
static inline double fd_check_step(fd_loss_fn loss, void *ctx, double *p, long n, const double *g, double h) {
    double *num = malloc(sizeof(double) * (size_t)n);
    if (!num) return INFINITY;
    for (long i = 0; i < n; i++) {
        double save = p[i];
        p[i] = save + h;
        double lp = loss(ctx);
        p[i] = save - h;
        double lm = loss(ctx);
        p[i] = save;
        num[i] = (lp - lm) / (2 * h);
    }
    double e = rel_err_d(g, num, n);
    free(num);
    return e;
}

/* fd_check_step with the default step FD_STEP */
static inline double fd_check(fd_loss_fn loss, void *ctx, double *p, long n, const double *g) {
    return fd_check_step(loss, ctx, p, n, g, FD_STEP);
}

/* sum_i y_i r_i: turns an output into a scalar loss whose gradient dy is r */
static inline double dot_d(const double *y, const double *r, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += y[i] * r[i];
    return s;
}

static inline double *zeros_d(long n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(double)); }
static inline float *zeros_f(long n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }
static inline double *rand_d(long n, unsigned long long seed, double lo, double hi) {
    double *a = zeros_d(n);
    fill_uniform_d(a, n, seed, lo, hi);
    return a;
}
static inline float *rand_f(long n, unsigned long long seed, float lo, float hi) {
    float *a = zeros_f(n);
    fill_uniform_f(a, n, seed, lo, hi);
    return a;
}
static inline float *copy_f(const float *a, long n) {
    float *b = zeros_f(n);
    memcpy(b, a, sizeof(float) * (size_t)n);
    return b;
}

/* tests/fixtures/<rel> as float32 with `count` values (malloc'd); NULL and a failed check when missing,
 * unreadable or of another dtype or size. */
static inline float *fixture_f32(const char *rel, long count) {
    const char *p = fixture_path(rel);
    if (!p) return NULL;
    npy_array a;
    if (npy_read(p, &a) != 0) {
        CHECK(0, "%s: %s", rel, avemo_last_error());
        return NULL;
    }
    if (a.dtype != NPY_F32 || a.count != count) {
        CHECK(0, "%s: expected %ld float32 values, got %lld", rel, count, (long long)a.count);
        npy_free(&a);
        return NULL;
    }
    return a.data;
}

/* check fast vs reference arrays and report which one differs */
#define CHECK_FAST(fast, ref, n, what)                                                             \
    do {                                                                                           \
        double e_ = rel_err_f(fast, ref, n);                                                       \
        if (getenv("AVEMO_TEST_VERBOSE")) printf("  %s %s: rel err %.3g\n", test_name_now, what, e_); \
        CHECK(e_ < FAST_TOL, "%s: fast vs ref rel err %.3g", what, e_);                            \
    } while (0)
#define CHECK_FD(err, what) CHECK((err) < FD_TOL, "%s: FD rel err %.3g", what, (err))

#endif
