/* The blocked inference kernels (nn/blocked.h) against the float reference conv (nn/ref/conv2d_ref.c) plus
 * plain loops for ReLU6, the residual and the pool, over odd shapes: channel counts that are not multiples of
 * the vector width (and more than one weight panel), pixel counts that leave every tile remainder, stride 1
 * and 2, PyTorch padding and TF "SAME" (bottom/right only), plane strides larger than the tensor.
 * Tolerance FAST_TOL (fd.h, 1e-5 of the largest reference value): the same float products summed in another
 * order. The padding lanes of every output plane must stay exactly 0. */
#include "fd.h"

#include "nn/blocked.h"
#include "nn/ref/ref.h"

#include <stdlib.h>
#include <string.h>

#define LN BLK_LANES
#define SLACK (3 * LN) /* extra floats between planes: kernels must use the given plane stride */

static float relu6f(float v) { return v < 0 ? 0 : v > 6 ? 6 : v; }

/* blocked copy of x [m, c] with plane stride m * LN + SLACK */
static float *to_blocked(const float *x, long m, int c, long *ps) {
    *ps = m * LN + SLACK;
    float *b = rand_f(*ps * blk_blocks(c), 99, -9, 9); /* garbage between planes */
    blk_from_nhwc(b, *ps, x, m, c);
    return b;
}

/* the padding lanes (channels c .. blocks(c) * LN - 1) of m pixels are all 0 */
static int pad_lanes_zero(const float *b, long ps, long m, int c) {
    int nb = blk_blocks(c);
    for (long i = 0; i < m; i++)
        for (int j = c; j < nb * LN; j++)
            if (b[(j / LN) * ps + i * LN + j % LN] != 0.0f) return 0;
    return 1;
}

static void pointwise_case(long m, int k, int n, int relu6, int residual) {
    char what[96];
    snprintf(what, sizeof what, "pointwise m %ld k %d n %d relu6 %d res %d", m, k, n, relu6, residual);
    float *x = rand_f(m * k, 1, -1, 1), *w = rand_f((long)n * k, 2, -1, 1), *b = rand_f(n, 3, -1, 1);
    float *r = rand_f(m * n, 4, -2, 2), *yr = zeros_f(m * n), *y = zeros_f(m * n);
    conv2d_shape s = {1, 1, (int)m, k, n, 1, 1, 1, 1, 0, 0, 0, 0, 1};
    conv2d_forward_ref(yr, x, w, b, &s);
    for (long i = 0; i < m * n; i++) {
        if (relu6) yr[i] = relu6f(yr[i]);
        if (residual) yr[i] += r[i];
    }
    float *packed = zeros_f(blk_pw_packed_floats(k, n));
    blk_pw pw;
    blk_pw_pack(&pw, packed, w, b, k, n);
    long xps, rps, yps;
    float *xb = to_blocked(x, m, k, &xps), *rb = to_blocked(r, m, n, &rps), *yb = to_blocked(r, m, n, &yps);
    blk_pw_args args = {xb, xps, m, yb, yps, relu6, residual ? rb : NULL, rps, NULL, 0, 0};
    blk_pointwise(&pw, &args);
    blk_to_nhwc(y, yb, yps, m, n);
    double e = rel_err_f(y, yr, m * n);
    CHECK(e < FAST_TOL, "%s: rel err %.2e", what, e);
    CHECK(pad_lanes_zero(yb, yps, m, n), "%s: padding lanes not 0", what);
    /* pooled: per-channel sums of the (ReLU6) outputs over runs of pool_px pixels (one run, or runs that end
     * inside tiles), added onto what the pool held */
    for (long pool_px = m; !residual && pool_px >= 1; pool_px = pool_px > 5 ? 5 : 0) {
        long rows = (m + pool_px - 1) / pool_px, stride = (long)blk_blocks(n) * LN;
        float *pool = zeros_f(rows * stride), *sum = zeros_f(rows * n), *got = zeros_f(rows * n);
        for (long i = 0; i < rows * stride; i++) pool[i] = 1.0f;
        for (long i = 0; i < m; i++)
            for (int j = 0; j < n; j++) sum[i / pool_px * n + j] += yr[i * n + j];
        blk_pw_args pa = {xb, xps, m, NULL, 0, relu6, NULL, 0, pool, pool_px, 0};
        blk_pointwise(&pw, &pa);
        for (long i = 0; i < rows; i++)
            for (int j = 0; j < n; j++) got[i * n + j] = pool[i * stride + j] - 1.0f;
        e = rel_err_f(got, sum, rows * n);
        CHECK(e < FAST_TOL, "%s: pooled (%ld pixels a row) rel err %.2e", what, pool_px, e);
        free(pool), free(sum), free(got);
    }
    free(x), free(w), free(b), free(r), free(yr), free(y), free(packed), free(xb), free(rb), free(yb);
}

/* m, k, n: every tile remainder (MR, MR/2, single pixels), partial input planes, 1-4 vector panels and
 * a partial last panel, MobileNetV2's shapes (24 -> 144, 144 -> 24, 160 -> 960 over 49 pixels) */
static const int pw_cases[][3] = {{1, 1, 1},    {7, 5, 3},     {13, 17, 24}, {49, 24, 144}, {50, 40, 200},
                                   {100, 33, 80}, {31, 16, 16}, {6, 160, 70}, {97, 3, 65},   {49, 160, 960},
                                   {49, 144, 24}, {23, 64, 48}, {5, 320, 130}, {300, 960, 40}};

static void test_pointwise(void) {
    for (size_t i = 0; i < sizeof pw_cases / sizeof pw_cases[0]; i++)
        for (int act = 0; act < 2; act++)
            for (int res = 0; res < 2; res++) pointwise_case(pw_cases[i][0], pw_cases[i][1], pw_cases[i][2], act, res);
}

/* skip_zeros against the dense kernel on inputs with many exact zeros: zero channels over runs of pixels (what
 * a ReLU leaves, and what the skip looks for over a tile), scattered single zeros, whole planes of zeros, a NaN
 * (which must not be skipped). Skipping a 0 input drops products that are +-0, so the outputs must be equal
 * (compared with ==: the sign of an exact zero may differ), including the pooled sums and the residual. */
/* how many of n values differ (== for numbers, so +0 and -0 agree; NaN agrees with NaN) */
static long count_unequal(const float *a, const float *b, long n) {
    long differ = 0;
    for (long i = 0; i < n; i++) differ += !(a[i] == b[i] || (a[i] != a[i] && b[i] != b[i]));
    return differ;
}

static void pointwise_skip_case(long m, int k, int n, int relu6, int residual, int nan) {
    char what[112];
    snprintf(what, sizeof what, "skip_zeros m %ld k %d n %d relu6 %d res %d nan %d", m, k, n, relu6, residual, nan);
    float *x = rand_f(m * k, 5, -1, 1), *w = rand_f((long)n * k, 6, -1, 1), *b = rand_f(n, 7, -1, 1);
    float *r = rand_f(m * n, 8, -2, 2), *coin = rand_f(m * k, 9, 0, 1), *y0 = zeros_f(m * n), *y1 = zeros_f(m * n);
    for (long i = 0; i < m; i++)
        for (int j = 0; j < k; j++) {
            long run = i / 4; /* channel j off for runs of 4 pixels, by a hash of (run, j) */
            if ((run * 7 + j * 3) % 5 < 2 || coin[i * k + j] < 0.3f || j / LN == 1) x[i * k + j] = 0.0f;
        }
    if (nan) x[(m / 2) * k + k / 3] = 0.0f / 0.0f;
    float *packed = zeros_f(blk_pw_packed_floats(k, n));
    blk_pw pw;
    blk_pw_pack(&pw, packed, w, b, k, n);
    long xps, rps, yps;
    float *xb = to_blocked(x, m, k, &xps), *rb = to_blocked(r, m, n, &rps), *yb = to_blocked(r, m, n, &yps);
    for (int skip = 0; skip < 2; skip++) {
        blk_pw_args a = {xb, xps, m, yb, yps, relu6, residual ? rb : NULL, rps, NULL, 0, skip};
        blk_pointwise(&pw, &a);
        blk_to_nhwc(skip ? y1 : y0, yb, yps, m, n);
        CHECK(pad_lanes_zero(yb, yps, m, n), "%s: padding lanes not 0", what);
    }
    long differ = count_unequal(y0, y1, m * n);
    CHECK(differ == 0, "%s: %ld of %ld outputs differ from the dense kernel's", what, differ, m * n);
    long rows = (m + 4) / 5, stride = (long)blk_blocks(n) * LN;
    float *p0 = zeros_f(rows * stride), *p1 = zeros_f(rows * stride);
    blk_pw_args a0 = {xb, xps, m, NULL, 0, relu6, NULL, 0, p0, 5, 0};
    blk_pw_args a1 = {xb, xps, m, NULL, 0, relu6, NULL, 0, p1, 5, 1};
    blk_pointwise(&pw, &a0);
    blk_pointwise(&pw, &a1);
    differ = count_unequal(p0, p1, rows * stride);
    CHECK(differ == 0, "%s: %ld pooled sums differ from the dense kernel's", what, differ);
    free(x), free(w), free(b), free(r), free(coin), free(y0), free(y1), free(packed), free(xb), free(rb), free(yb);
    free(p0), free(p1);
}

static void test_pointwise_skip(void) {
    for (size_t i = 0; i < sizeof pw_cases / sizeof pw_cases[0]; i++)
        for (int act = 0; act < 2; act++)
            for (int res = 0; res < 2; res++)
                pointwise_skip_case(pw_cases[i][0], pw_cases[i][1], pw_cases[i][2], act, res, act && !res);
}

#if BLK_HAVE_BF16
/* blk_pointwise_bf16 against blk_pointwise. Tolerance, per output: x and w each round to bf16 (8 significant
 * bits, round to nearest: relative error <= 2^-8 each), so each product is off by <= (2^-7 + 2^-16) |x w|;
 * products are exact in fp32 and summed in fp32 (<= about k 2^-24 of the sum of |x w| more, on each side):
 * |bf16 - fp32| <= (2^-7 + k 2^-22) S with S = sum_k |x w|. ReLU6 only shrinks differences; the bias, the
 * residual and the pool add fp32 roundings of |y| size (the 1e-6 term; pooled bounds are the sums of the
 * pixels' bounds). Random signs make the typical error about sqrt(k) 2^-9 |x||w|, far inside; a layout or
 * pairing mistake gives O(S). (Measured: 0.72 of the bound at k = 3, 0.26 at k = 24, 0.05-0.14 at
 * k >= 64.) */
static void pointwise_bf16_case(long m, int k, int n, int relu6, int residual) {
    char what[96];
    snprintf(what, sizeof what, "pointwise bf16 m %ld k %d n %d relu6 %d res %d", m, k, n, relu6, residual);
    float *x = rand_f(m * k, 1, -1, 1), *w = rand_f((long)n * k, 2, -1, 1), *b = rand_f(n, 3, -1, 1);
    float *r = rand_f(m * n, 4, -2, 2), *s = zeros_f(m * n), *y = zeros_f(m * n), *y32 = zeros_f(m * n);
    float *xa = zeros_f(m * k), *wa = zeros_f((long)n * k);
    for (long i = 0; i < m * k; i++) xa[i] = x[i] < 0 ? -x[i] : x[i];
    for (long i = 0; i < (long)n * k; i++) wa[i] = w[i] < 0 ? -w[i] : w[i];
    conv2d_shape cs = {1, 1, (int)m, k, n, 1, 1, 1, 1, 0, 0, 0, 0, 1};
    conv2d_forward_ref(s, xa, wa, NULL, &cs); /* S = sum_k |x w| */
    double rel = 1.0 / 128 + k / 4194304.0; /* 2^-7 + k 2^-22 */
    float *p32 = zeros_f(blk_pw_packed_floats(k, n)), *p16 = zeros_f(blk_pw_bf16_packed_floats(k, n));
    blk_pw w32, w16;
    blk_pw_pack(&w32, p32, w, b, k, n);
    blk_pw_bf16_pack(&w16, p16, w, b, k, n);
    float *scratch = zeros_f(blk_pw_bf16_scratch_floats(&w16, m));
    long xps, rps, yps, zps;
    float *xb = to_blocked(x, m, k, &xps), *rb = to_blocked(r, m, n, &rps), *yb = to_blocked(r, m, n, &yps);
    float *zb = to_blocked(r, m, n, &zps);
    blk_pw_args a32 = {xb, xps, m, zb, zps, relu6, residual ? rb : NULL, rps, NULL, 0, 0};
    blk_pw_args a16 = {xb, xps, m, yb, yps, relu6, residual ? rb : NULL, rps, NULL, 0, 0};
    blk_pointwise(&w32, &a32);
    blk_pointwise_bf16(&w16, &a16, scratch);
    blk_to_nhwc(y, yb, yps, m, n);
    blk_to_nhwc(y32, zb, zps, m, n);
    long bad = 0;
    double worst = 0; /* largest |bf16 - fp32| / bound */
    for (long i = 0; i < m * n; i++) {
        double d = y[i] > y32[i] ? y[i] - y32[i] : y32[i] - y[i], bound = rel * s[i] + 1e-6 * (1 + fabs(y32[i]));
        bad += !(d <= bound);
        if (d / bound > worst) worst = d / bound;
    }
    CHECK(bad == 0, "%s: %ld of %ld outputs past (2^-7 + k 2^-22) sum|xw| (worst %.2f of it)", what, bad, m * n, worst);
    CHECK(pad_lanes_zero(yb, yps, m, n), "%s: padding lanes not 0", what);
    for (long pool_px = m; !residual && pool_px >= 1; pool_px = pool_px > 5 ? 5 : 0) {
        long rows = (m + pool_px - 1) / pool_px, stride = (long)blk_blocks(n) * LN;
        float *q16 = zeros_f(rows * stride), *q32 = zeros_f(rows * stride), *qs = zeros_f(rows * n);
        for (long i = 0; i < m; i++)
            for (int j = 0; j < n; j++) qs[i / pool_px * n + j] += (float)(rel * s[i * n + j]);
        blk_pw_args p16a = {xb, xps, m, NULL, 0, relu6, NULL, 0, q16, pool_px, 0};
        blk_pw_args p32a = {xb, xps, m, NULL, 0, relu6, NULL, 0, q32, pool_px, 0};
        blk_pointwise_bf16(&w16, &p16a, scratch);
        blk_pointwise(&w32, &p32a);
        long pbad = 0;
        for (long i = 0; i < rows; i++)
            for (int j = 0; j < n; j++) {
                double d = fabs((double)q16[i * stride + j] - q32[i * stride + j]);
                pbad += !(d <= qs[i * n + j] * 1.0001 + 1e-5 * (1 + fabs(q32[i * stride + j])));
            }
        CHECK(pbad == 0, "%s: pooled (%ld pixels a row): %ld sums past their bound", what, pool_px, pbad);
        free(q16), free(q32), free(qs);
    }
    free(x), free(w), free(b), free(r), free(s), free(y), free(y32), free(xa), free(wa), free(p32), free(p16);
    free(scratch), free(xb), free(rb), free(yb), free(zb);
}
#endif

#if BLK_HAVE_BF16
static void test_pointwise_bf16(void) {
    for (size_t i = 0; i < sizeof pw_cases / sizeof pw_cases[0]; i++)
        for (int act = 0; act < 2; act++)
            for (int res = 0; res < 2; res++)
                pointwise_bf16_case(pw_cases[i][0], pw_cases[i][1], pw_cases[i][2], act, res);
}
#endif

static void same_pad(int in, int k, int s, int *lo, int *hi) {
    int out = (in + s - 1) / s, total = (out - 1) * s + k - in;
    if (total < 0) total = 0;
    *lo = total / 2;
    *hi = total - *lo;
}

/* conv2d_shape of a k x k conv on h x w, torch padding (k/2 each side) or TF SAME */
static conv2d_shape conv_shape(int h, int w, int c_in, int c_out, int k, int stride, int groups, int tf_same) {
    conv2d_shape s = {1, h, w, c_in, c_out, k, k, stride, stride, k / 2, k / 2, k / 2, k / 2, groups};
    if (tf_same) {
        same_pad(h, k, stride, &s.pad_top, &s.pad_bottom);
        same_pad(w, k, stride, &s.pad_left, &s.pad_right);
    }
    return s;
}

static void depthwise_case(int h, int w, int c, int stride, int tf_same, int relu6) {
    char what[96];
    snprintf(what, sizeof what, "dw3x3 %dx%dx%d stride %d %s relu6 %d", h, w, c, stride, tf_same ? "same" : "torch",
             relu6);
    conv2d_shape s = conv_shape(h, w, c, c, 3, stride, c, tf_same);
    int oh = conv2d_out_h(&s), ow = conv2d_out_w(&s);
    long m = (long)h * w, mo = (long)oh * ow;
    float *x = rand_f(m * c, 5, -1, 1), *wt = rand_f(9L * c, 6, -1, 1), *b = rand_f(c, 7, -1, 1);
    float *yr = zeros_f(mo * c), *y = zeros_f(mo * c), *zero = zeros_f((long)w * LN);
    conv2d_forward_ref(yr, x, wt, b, &s);
    if (relu6)
        for (long i = 0; i < mo * c; i++) yr[i] = relu6f(yr[i]);
    float *packed = zeros_f(blk_dw3x3_packed_floats(c));
    blk_dw3x3_pack(packed, wt, b, c);
    long xps, yps;
    float *xb = to_blocked(x, m, c, &xps), *yb = to_blocked(yr, mo, c, &yps);
    for (int oy = 0; oy < oh; oy++) {
        const float *rows[3];
        long rows_ps[3];
        for (int ky = 0; ky < 3; ky++) {
            int iy = oy * stride - s.pad_top + ky;
            rows[ky] = iy >= 0 && iy < h ? xb + (long)iy * w * LN : zero;
            rows_ps[ky] = iy >= 0 && iy < h ? xps : 0;
        }
        blk_dw3x3_row(yb + (long)oy * ow * LN, yps, rows, rows_ps, packed, c, w, ow, stride, s.pad_left, relu6);
    }
    blk_to_nhwc(y, yb, yps, mo, c);
    double e = rel_err_f(y, yr, mo * c);
    CHECK(e < FAST_TOL, "%s: rel err %.2e", what, e);
    CHECK(pad_lanes_zero(yb, yps, mo, c), "%s: padding lanes not 0", what);
    free(x), free(wt), free(b), free(yr), free(y), free(zero), free(packed), free(xb), free(yb);
}

static void test_depthwise(void) {
    static const int sizes[][3] = {{5, 7, 5}, {8, 8, 16}, {7, 9, 24}, {2, 3, 40}, {1, 1, 17}, {16, 33, 32},
                                   {4, 2, 3}, {12, 19, 48}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int stride = 1; stride <= 2; stride++)
            for (int same = 0; same < 2; same++)
                for (int act = 0; act < 2; act++) depthwise_case(sizes[i][0], sizes[i][1], sizes[i][2], stride, same, act);
}

static void stem_case(int h, int w, int c_in, int c_out, int k, int stride, int tf_same, int relu6) {
    char what[96];
    snprintf(what, sizeof what, "stem %dx%dx%d -> %d k %d stride %d %s", h, w, c_in, c_out, k, stride,
             tf_same ? "same" : "torch");
    conv2d_shape s = conv_shape(h, w, c_in, c_out, k, stride, 1, tf_same);
    int oh = conv2d_out_h(&s), ow = conv2d_out_w(&s);
    long mo = (long)oh * ow;
    float *x = rand_f((long)h * w * c_in, 8, -1, 1), *wt = rand_f((long)c_out * c_in * k * k, 9, -1, 1);
    float *b = rand_f(c_out, 10, -1, 1), *yr = zeros_f(mo * c_out), *y = zeros_f(mo * c_out);
    conv2d_forward_ref(yr, x, wt, b, &s);
    if (relu6)
        for (long i = 0; i < mo * c_out; i++) yr[i] = relu6f(yr[i]);
    float *packed = zeros_f(blk_stem_packed_floats(c_in, c_out, k));
    blk_stem_pack(packed, wt, b, c_in, c_out, k);
    long yps;
    float *yb = to_blocked(yr, mo, c_out, &yps);
    for (int oy = 0; oy < oh; oy++)
        blk_stem_row(yb + (long)oy * ow * LN, yps, x, h, w, c_in, packed, c_out, k, stride, s.pad_top, s.pad_left, oy,
                     ow, relu6);
    blk_to_nhwc(y, yb, yps, mo, c_out);
    double e = rel_err_f(y, yr, mo * c_out);
    CHECK(e < FAST_TOL, "%s: rel err %.2e", what, e);
    CHECK(pad_lanes_zero(yb, yps, mo, c_out), "%s: padding lanes not 0", what);
    free(x), free(wt), free(b), free(yr), free(y), free(packed), free(yb);
}

static void test_stem(void) {
    /* h, w, c_in, c_out, k, stride (c_out up to 6 vectors: two passes of at most 4) */
    static const int cases[][6] = {{9, 11, 1, 32, 3, 2}, {8, 8, 3, 32, 3, 2}, {7, 5, 3, 16, 3, 1},
                                   {12, 10, 2, 4 * LN, 5, 2}, {3, 3, 1, 8, 3, 1}, {1, 2, 4, 3 * LN - 1, 3, 2},
                                   {17, 16, 3, 32, 7, 2}, {6, 9, 3, 6 * LN - 3, 3, 2}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int same = 0; same < 2; same++)
            stem_case(cases[i][0], cases[i][1], cases[i][2], cases[i][3], cases[i][4], cases[i][5], same, same);
}

static void test_layout_roundtrip(void) {
    long m = 13, ps;
    int c = LN + 3;
    float *x = rand_f(m * c, 11, -1, 1), *y = zeros_f(m * c);
    float *b = to_blocked(x, m, c, &ps);
    blk_to_nhwc(y, b, ps, m, c);
    CHECK(!memcmp(x, y, sizeof(float) * m * c), "NHWC -> blocked -> NHWC changed the values");
    CHECK(pad_lanes_zero(b, ps, m, c), "padding lanes not 0");
    free(x), free(y), free(b);
}

int main(void) {
    RUN(test_pointwise);
    RUN(test_pointwise_skip);
#if BLK_HAVE_BF16
    RUN(test_pointwise_bf16);
#endif
    RUN(test_depthwise);
    RUN(test_stem);
    RUN(test_layout_roundtrip);
    return test_summary();
}
