/* relu, relu6, gelu, prelu, dropout: float64 finite differences of the references (inputs kept away from
 * the kinks at 0 and 6), fast float paths against the float references. */
#include "fd.h"

#include "nn/nn.h"

typedef struct {
    int kind; /* 0 relu, 1 relu6, 2 gelu, 3 prelu, 4 dropout */
    long m;
    int c;
    double *x, *alpha, *mask, *y, *r;
} act_ctx;

static void act_forward(act_ctx *t) {
    long n = t->m * t->c;
    switch (t->kind) {
    case 0: relu_forward_f64(t->y, t->x, n); break;
    case 1: relu6_forward_f64(t->y, t->x, n); break;
    case 2: gelu_forward_f64(t->y, t->x, n); break;
    case 3: prelu_forward_f64(t->y, t->x, t->alpha, t->m, t->c); break;
    default: dropout_forward_f64(t->y, t->x, t->mask, n); break;
    }
}

static double act_loss(void *p) {
    act_ctx *t = p;
    act_forward(t);
    return dot_d(t->y, t->r, t->m * t->c);
}

/* values uniform in [lo, hi) but at least 0.05 away from each kink */
static double *away_from_kinks(long n, unsigned long long seed, double lo, double hi) {
    double *x = rand_d(n, seed, lo, hi);
    for (long i = 0; i < n; i++) {
        if (fabs(x[i]) < 0.05) x[i] = x[i] < 0 ? -0.05 - fabs(x[i]) : 0.05 + x[i];
        if (fabs(x[i] - 6) < 0.05) x[i] = x[i] < 6 ? 5.95 - fabs(x[i] - 6) : 6.05 + (x[i] - 6);
    }
    return x;
}

static void fd_act(int kind) {
    act_ctx t = {.kind = kind, .m = 7, .c = 4};
    long n = t.m * t.c;
    t.x = away_from_kinks(n, 10 + kind, kind == 1 ? -2 : -3, kind == 1 ? 8 : 3);
    t.alpha = rand_d(t.c, 20, 0.05, 0.5);
    t.mask = zeros_d(n);
    for (long i = 0; i < n; i++) t.mask[i] = i % 3 == 0 ? 0 : 1 / (1 - 0.3);
    t.r = rand_d(n, 30, -1, 1);
    t.y = zeros_d(n);
    double *dx = zeros_d(n), *da = zeros_d(t.c);
    act_forward(&t);
    switch (kind) {
    case 0: relu_backward_f64(dx, t.r, t.y, n); break;
    case 1: relu6_backward_f64(dx, t.r, t.y, n); break;
    case 2: gelu_backward_f64(dx, t.r, t.x, n); break;
    case 3: prelu_backward_f64(dx, da, t.r, t.x, t.alpha, t.m, t.c); break;
    default: dropout_backward_f64(dx, t.r, t.mask, n); break;
    }
    CHECK_FD(fd_check(act_loss, &t, t.x, n, dx), "dx");
    if (kind == 3) CHECK_FD(fd_check(act_loss, &t, t.alpha, t.c, da), "dalpha");
    if (kind == 1) { /* the inputs cover all three pieces */
        int lo = 0, mid = 0, hi = 0;
        for (long i = 0; i < n; i++) lo += t.x[i] < 0, mid += t.x[i] > 0 && t.x[i] < 6, hi += t.x[i] > 6;
        CHECK(lo && mid && hi, "relu6 pieces %d %d %d", lo, mid, hi);
    }
    free(t.x), free(t.alpha), free(t.mask), free(t.r), free(t.y), free(dx), free(da);
}

static void test_relu_fd(void) { fd_act(0); }
static void test_relu6_fd(void) { fd_act(1); }
static void test_gelu_fd(void) { fd_act(2); }
static void test_prelu_fd(void) { fd_act(3); }
static void test_dropout_fd(void) { fd_act(4); }

static void test_gelu_values(void) {
    /* torch.nn.functional.gelu(torch.tensor([-1., 0.5, 2.], dtype=torch.float64)) */
    double x[3] = {-1, 0.5, 2}, y[3], want[3] = {-0.15865525393145702, 0.34573123063700656, 1.9544997361036416};
    gelu_forward_f64(y, x, 3);
    for (int i = 0; i < 3; i++) CHECK(fabs(y[i] - want[i]) < 1e-15, "gelu(%g) = %.17g", x[i], y[i]);
}

/* fast float paths vs the float references, on a MobileNetV2-sized tensor [8*112*112*32] with values
 * around both kinks; backward accumulates onto nonzero gradients */
static void test_activation_fast(void) {
    long n = 8L * 112 * 112 * 32;
    int c = 32;
    float *x = rand_f(n, 41, -3, 8), *dy = rand_f(n, 42, -1, 1), *alpha = rand_f(c, 43, 0.05f, 0.5f);
    float *y1 = zeros_f(n), *y2 = zeros_f(n), *dx1 = rand_f(n, 44, -1, 1), *dx2 = copy_f(dx1, n);
    float *da1 = zeros_f(c), *da2 = zeros_f(c);
    x[0] = 0, x[1] = 6, x[2] = -0.0f; /* the kinks themselves: both paths treat them alike */
    for (int kind = 0; kind < 5; kind++) {
        const char *name[5] = {"relu", "relu6", "gelu", "prelu", "dropout"};
        float *mask = dy; /* any values work for the masked product */
        switch (kind) {
        case 0: relu_forward(y1, x, n), relu_forward_ref(y2, x, n); break;
        case 1: relu6_forward(y1, x, n), relu6_forward_ref(y2, x, n); break;
        case 2: gelu_forward(y1, x, n), gelu_forward_ref(y2, x, n); break;
        case 3: prelu_forward(y1, x, alpha, n / c, c), prelu_forward_ref(y2, x, alpha, n / c, c); break;
        default: dropout_forward(y1, x, mask, n), dropout_forward_ref(y2, x, mask, n); break;
        }
        CHECK_FAST(y1, y2, n, name[kind]);
        switch (kind) {
        case 0: relu_backward(dx1, dy, y2, n), relu_backward_ref(dx2, dy, y2, n); break;
        case 1: relu6_backward(dx1, dy, y2, n), relu6_backward_ref(dx2, dy, y2, n); break;
        case 2: gelu_backward(dx1, dy, x, n), gelu_backward_ref(dx2, dy, x, n); break;
        case 3:
            prelu_backward(dx1, da1, dy, x, alpha, n / c, c), prelu_backward_ref(dx2, da2, dy, x, alpha, n / c, c);
            CHECK_FAST(da1, da2, c, "prelu dalpha");
            break;
        default: dropout_backward(dx1, dy, mask, n), dropout_backward_ref(dx2, dy, mask, n); break;
        }
        CHECK_FAST(dx1, dx2, n, name[kind]);
    }
    /* in place (y == x) for relu6, as the MobileNetV2 blocks use it */
    float *x2 = copy_f(x, n);
    relu6_forward(x2, x2, n);
    relu6_forward_ref(y2, x, n);
    CHECK(memcmp(x2, y2, sizeof(float) * n) == 0, "relu6 in place");
    free(x), free(dy), free(alpha), free(y1), free(y2), free(dx1), free(dx2), free(da1), free(da2), free(x2);
}

static void test_dropout_mask(void) {
    long n = 100000;
    float *mask = zeros_f(n), *mask2 = zeros_f(n);
    rng_t r, r2;
    rng_seed(&r, 7);
    rng_seed(&r2, 7);
    dropout_mask(mask, n, 0.5f, &r);
    dropout_mask(mask2, n, 0.5f, &r2);
    long zeros = 0;
    for (long i = 0; i < n; i++) {
        zeros += mask[i] == 0;
        CHECK(mask[i] == 0 || mask[i] == 2.0f, "mask value %g", mask[i]);
        if (test_failed_now) break;
    }
    /* binomial(1e5, 0.5): std 158, so 5 std = 790 */
    CHECK(labs(zeros - n / 2) < 800, "dropped %ld of %ld", zeros, n);
    CHECK(memcmp(mask, mask2, sizeof(float) * n) == 0, "same seed, same mask");
    dropout_mask(mask, n, 0.0f, &r);
    for (long i = 0; i < n; i++) CHECK(mask[i] == 1.0f, "p = 0 keeps all");
    free(mask), free(mask2);
}

int main(void) {
    RUN(test_activation_fast);
    RUN(test_dropout_mask);
    RUN(test_relu_fd);
    RUN(test_relu6_fd);
    RUN(test_gelu_fd);
    RUN(test_prelu_fd);
    RUN(test_dropout_fd);
    RUN(test_gelu_values);
    return test_summary();
}
