/* maxpool2d/1d, global average pool, interp_time: float64 finite differences of the references, output
 * sizes against PyTorch's rules, fast float paths against the float references. */
#include "fd.h"

#include "nn/nn.h"

/* distinct values (a shuffled grid with gaps of 0.01 >> FD_STEP) so no max pooling window has a tie */
static double *distinct_d(long n, unsigned long long seed) {
    double *x = zeros_d(n);
    int *perm = malloc(sizeof(int) * n);
    for (long i = 0; i < n; i++) perm[i] = (int)i;
    rng_t r;
    rng_seed(&r, seed);
    rng_shuffle_int(&r, perm, (int)n);
    for (long i = 0; i < n; i++) x[i] = 0.01 * perm[i] - 0.005 * n;
    free(perm);
    return x;
}

typedef struct {
    int kind; /* 0 maxpool2d, 1 avgpool, 2 interp */
    pool2d_shape s;
    int ti, to;
    long nx, ny;
    double *x, *y, *r;
    int *argmax;
} pool_ctx;

static void pool_forward(pool_ctx *t) {
    if (t->kind == 0) maxpool2d_forward_f64(t->y, t->argmax, t->x, &t->s);
    else if (t->kind == 1) avgpool_global_forward_f64(t->y, t->x, t->s.n, (long)t->s.h * t->s.w, t->s.c);
    else interp_time_forward_f64(t->y, t->x, t->s.n, t->ti, t->to, t->s.c);
}

static double pool_loss(void *p) {
    pool_ctx *t = p;
    pool_forward(t);
    return dot_d(t->y, t->r, t->ny);
}

static void fd_pool(pool_ctx *t) {
    t->x = t->kind == 0 ? distinct_d(t->nx, 5) : rand_d(t->nx, 5, -1, 1);
    t->y = zeros_d(t->ny);
    t->r = rand_d(t->ny, 6, -1, 1);
    t->argmax = calloc(t->ny, sizeof(int));
    double *dx = zeros_d(t->nx);
    pool_forward(t);
    if (t->kind == 0) maxpool2d_backward_f64(dx, t->r, t->argmax, &t->s);
    else if (t->kind == 1) avgpool_global_backward_f64(dx, t->r, t->s.n, (long)t->s.h * t->s.w, t->s.c);
    else interp_time_backward_f64(dx, t->r, t->s.n, t->ti, t->to, t->s.c);
    CHECK_FD(fd_check(pool_loss, t, t->x, t->nx, dx), "dx");
    free(t->x), free(t->y), free(t->r), free(t->argmax), free(dx);
}

static void test_maxpool2d_fd(void) {
    /* MTCNN-style 3x3 stride 2 ceil_mode on an odd size, plus asymmetric padding */
    pool2d_shape shapes[2] = {
        {.n = 2, .h = 7, .w = 6, .c = 3, .kh = 3, .kw = 3, .stride_h = 2, .stride_w = 2, .ceil_mode = 1},
        {.n = 1, .h = 5, .w = 5, .c = 2, .kh = 2, .kw = 3, .stride_h = 1, .stride_w = 2, .pad_top = 1,
         .pad_left = 1, .pad_bottom = 0, .pad_right = 1},
    };
    for (int k = 0; k < 2; k++) {
        pool_ctx t = {.kind = 0, .s = shapes[k]};
        t.nx = (long)t.s.n * t.s.h * t.s.w * t.s.c;
        t.ny = (long)t.s.n * pool2d_out_h(&t.s) * pool2d_out_w(&t.s) * t.s.c;
        fd_pool(&t);
    }
}

static void test_avgpool_fd(void) {
    pool_ctx t = {.kind = 1, .s = {.n = 2, .h = 3, .w = 4, .c = 5}};
    t.nx = 2 * 3 * 4 * 5;
    t.ny = 2 * 5;
    fd_pool(&t);
}

static void test_interp_fd(void) {
    int sizes[3][2] = {{9, 15}, {15, 9}, {7, 7}};
    for (int k = 0; k < 3; k++) {
        pool_ctx t = {.kind = 2, .s = {.n = 2, .c = 3}, .ti = sizes[k][0], .to = sizes[k][1]};
        t.nx = 2L * t.ti * 3;
        t.ny = 2L * t.to * 3;
        fd_pool(&t);
    }
}

static void test_pool_out_size(void) {
    /* torch.nn.MaxPool2d(3, 2, ceil_mode=True) on 12 -> 6, 7 -> 3, floor mode 12 -> 5 */
    pool2d_shape s = {.n = 1, .h = 12, .w = 7, .c = 1, .kh = 3, .kw = 3, .stride_h = 2, .stride_w = 2, .ceil_mode = 1};
    CHECK(pool2d_out_h(&s) == 6 && pool2d_out_w(&s) == 3, "ceil %d %d", pool2d_out_h(&s), pool2d_out_w(&s));
    s.ceil_mode = 0;
    CHECK(pool2d_out_h(&s) == 5 && pool2d_out_w(&s) == 3, "floor %d %d", pool2d_out_h(&s), pool2d_out_w(&s));
    /* MaxPool2d(2, 2, padding=1, ceil_mode=True) on 5: (5+2-2+1)/2+1 = 4, last window starts at 6 >= 5+1 -> 3 */
    pool2d_shape p = {.n = 1, .h = 5, .w = 4, .c = 1, .kh = 2, .kw = 2, .stride_h = 2, .stride_w = 2, .pad_top = 1,
                      .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .ceil_mode = 1};
    CHECK(pool2d_out_h(&p) == 3, "pad ceil h %d", pool2d_out_h(&p));
    CHECK(pool2d_out_w(&p) == 3, "pad ceil w %d", pool2d_out_w(&p));
    CHECK(maxpool1d_out_t(18, 2, 2) == 9 && maxpool1d_out_t(145, 2, 1) == 144, "1d sizes");
}

static void test_interp_values(void) {
    /* F.interpolate(torch.arange(4.).view(1,1,4), size=6, mode='linear', align_corners=False) */
    double x[4] = {0, 1, 2, 3}, y[6];
    double want[6] = {0, 0.49999999999999994, 1.1666666666666665, 1.8333333333333333, 2.5, 3};
    interp_time_forward_f64(y, x, 1, 4, 6, 1);
    for (int i = 0; i < 6; i++) CHECK(fabs(y[i] - want[i]) < 1e-12, "y[%d] = %.17g", i, y[i]);
}

static void test_pool_fast(void) {
    /* MTCNN P-Net's pool: 3x3 stride 2 ceil_mode over [1, 77, 61, 10]; plus the temporal MaxPool1d(2) */
    pool2d_shape s = {.n = 1, .h = 77, .w = 61, .c = 10, .kh = 3, .kw = 3, .stride_h = 2, .stride_w = 2, .ceil_mode = 1};
    long nx = 77L * 61 * 10, ny = (long)pool2d_out_h(&s) * pool2d_out_w(&s) * 10;
    long cap = 1L << 16; /* every buffer holds the largest case below */
    CHECK(nx <= cap && ny <= cap, "buffer size");
    float *x = rand_f(cap, 51, -1, 1), *y1 = zeros_f(cap), *y2 = zeros_f(cap), *dy = rand_f(cap, 52, -1, 1);
    float *dx1 = zeros_f(cap), *dx2 = zeros_f(cap);
    int *a1 = calloc(ny, sizeof(int)), *a2 = calloc(ny, sizeof(int));
    maxpool2d_forward(y1, a1, x, &s);
    maxpool2d_forward_ref(y2, a2, x, &s);
    CHECK_FAST(y1, y2, ny, "maxpool2d y");
    CHECK(memcmp(a1, a2, sizeof(int) * ny) == 0, "argmax");
    maxpool2d_backward(dx1, dy, a1, &s);
    maxpool2d_backward_ref(dx2, dy, a2, &s);
    CHECK_FAST(dx1, dx2, nx, "maxpool2d dx");
    /* maxpool1d == maxpool2d with h = 1 */
    int b = 8, t = 18, c = 64, ot = maxpool1d_out_t(t, 2, 2);
    pool2d_shape s1 = {.n = b, .h = 1, .w = t, .c = c, .kh = 1, .kw = 2, .stride_h = 1, .stride_w = 2};
    maxpool1d_forward(y1, a1, x, b, t, c, 2, 2);
    maxpool2d_forward_ref(y2, a2, x, &s1);
    CHECK(ot == pool2d_out_w(&s1), "1d size");
    CHECK_FAST(y1, y2, (long)b * ot * c, "maxpool1d y");
    memset(dx1, 0, sizeof(float) * cap), memset(dx2, 0, sizeof(float) * cap);
    maxpool1d_backward(dx1, dy, a1, b, t, c, 2, 2);
    maxpool2d_backward_ref(dx2, dy, a2, &s1);
    CHECK_FAST(dx1, dx2, (long)b * t * c, "maxpool1d dx");
    /* global average pool over [8, 49, 1280] and interp [8, 9, 128] -> [8, 15, 128] */
    long hw = 49;
    avgpool_global_forward(y1, x, 4, hw, 64);
    avgpool_global_forward_ref(y2, x, 4, hw, 64);
    CHECK_FAST(y1, y2, 4 * 64, "avgpool y");
    avgpool_global_backward(dx1, dy, 4, hw, 64);
    avgpool_global_backward_ref(dx2, dy, 4, hw, 64);
    CHECK_FAST(dx1, dx2, 4 * hw * 64, "avgpool dx");
    interp_time_forward(y1, x, 8, 9, 15, 128);
    interp_time_forward_ref(y2, x, 8, 9, 15, 128);
    CHECK_FAST(y1, y2, 8 * 15 * 128, "interp y");
    interp_time_backward(dx1, dy, 8, 9, 15, 128);
    interp_time_backward_ref(dx2, dy, 8, 9, 15, 128);
    CHECK_FAST(dx1, dx2, 8 * 9 * 128, "interp dx");
    free(x), free(y1), free(y2), free(dy), free(dx1), free(dx2), free(a1), free(a2);
}

static void test_maxpool_nan(void) {
    /* PyTorch propagates NaN through max pooling */
    float x[4] = {1, NAN, 3, 2}, y[2];
    int a[2];
    maxpool1d_forward(y, a, x, 1, 4, 1, 2, 2);
    CHECK(isnan(y[0]) && a[0] == 1 && y[1] == 3 && a[1] == 2, "y %g %g a %d %d", y[0], y[1], a[0], a[1]);
}

/* NaN, -inf and ties: the fast path picks the same element as the reference */
static void test_maxpool_special_values(void) {
    pool2d_shape s = {.n = 2, .h = 9, .w = 8, .c = 5, .kh = 3, .kw = 2, .stride_h = 2, .stride_w = 1, .pad_top = 1,
                      .pad_left = 1, .pad_bottom = 1, .pad_right = 0, .ceil_mode = 1};
    long nx = 2L * 9 * 8 * 5, ny = 2L * pool2d_out_h(&s) * pool2d_out_w(&s) * 5;
    float *x = rand_f(nx, 55, -1, 1), *y1 = zeros_f(ny), *y2 = zeros_f(ny);
    for (long i = 0; i < nx; i++) {
        if (i % 7 == 0) x[i] = 0.5f;           /* ties */
        if (i % 31 == 3) x[i] = NAN;
        if (i % 13 == 5) x[i] = -INFINITY;
    }
    for (long i = 0; i < 9 * 8; i++) x[i * 5 + 4] = -INFINITY; /* a channel of only -inf in image 0 */
    int *a1 = calloc(ny, sizeof(int)), *a2 = calloc(ny, sizeof(int));
    maxpool2d_forward(y1, a1, x, &s);
    maxpool2d_forward_ref(y2, a2, x, &s);
    CHECK(memcmp(a1, a2, sizeof(int) * ny) == 0, "argmax differs");
    for (long i = 0; i < ny; i++)
        CHECK((isnan(y1[i]) && isnan(y2[i])) || y1[i] == y2[i], "y[%ld] %g vs %g", i, y1[i], y2[i]);
    maxpool2d_forward(y1, NULL, x, &s); /* no argmax */
    for (long i = 0; i < ny; i++)
        CHECK((isnan(y1[i]) && isnan(y2[i])) || y1[i] == y2[i], "no argmax: y[%ld] %g vs %g", i, y1[i], y2[i]);
    free(x), free(y1), free(y2), free(a1), free(a2);
}

int main(void) {
    RUN(test_maxpool_special_values);
    RUN(test_pool_fast);
    RUN(test_maxpool_nan);
    RUN(test_maxpool2d_fd);
    RUN(test_avgpool_fd);
    RUN(test_interp_fd);
    RUN(test_pool_out_size);
    RUN(test_interp_values);
    return test_summary();
}
