/* softmax, log-softmax, softmax cross-entropy (with label smoothing): float64 finite differences of the
 * references, fast float paths against the float references. */
#include "fd.h"

#include "nn/nn.h"

typedef struct {
    int kind; /* 0 softmax, 1 log_softmax, 2 xent */
    long n;
    int c;
    double smoothing;
    double *x, *y, *r;
    int *labels;
} sm_ctx;

static double sm_loss(void *p) {
    sm_ctx *t = p;
    if (t->kind == 0) softmax_forward_f64(t->y, t->x, t->n, t->c);
    else if (t->kind == 1) log_softmax_forward_f64(t->y, t->x, t->n, t->c);
    else return 0.7 * softmax_xent_forward_f64(t->y, t->x, t->labels, t->n, t->c, t->smoothing);
    return dot_d(t->y, t->r, t->n * t->c);
}

static void fd_softmax(int kind, double smoothing) {
    sm_ctx t = {.kind = kind, .n = 4, .c = 6, .smoothing = smoothing};
    long nn = t.n * t.c;
    t.x = rand_d(nn, 1, -3, 3);
    t.x[0] = 50; /* large logits must not overflow */
    t.y = zeros_d(nn);
    t.r = rand_d(nn, 2, -1, 1);
    int labels[4] = {0, 5, 2, 2};
    t.labels = labels;
    double *dx = zeros_d(nn);
    sm_loss(&t);
    if (kind == 0) softmax_backward_f64(dx, t.r, t.y, t.n, t.c);
    else if (kind == 1) log_softmax_backward_f64(dx, t.r, t.y, t.n, t.c);
    else softmax_xent_backward_f64(dx, t.y, labels, t.n, t.c, smoothing, 0.7);
    CHECK_FD(fd_check(sm_loss, &t, t.x, nn, dx), "dx");
    free(t.x), free(t.y), free(t.r), free(dx);
}

static void test_softmax_fd(void) { fd_softmax(0, 0); }
static void test_log_softmax_fd(void) { fd_softmax(1, 0); }
static void test_xent_fd(void) { fd_softmax(2, 0); }
static void test_xent_smoothing_fd(void) { fd_softmax(2, 0.1); }

static void test_xent_values(void) {
    /* torch.nn.CrossEntropyLoss(label_smoothing=0.2)(torch.tensor([[1., 2., 0.5]], dtype=torch.float64),
     * torch.tensor([1])) */
    double x[3] = {1, 2, 0.5}, p[3];
    int l = 1;
    double loss = softmax_xent_forward_f64(p, x, &l, 1, 3, 0.2);
    CHECK(fabs(loss - 0.6310354507746117) < 1e-14, "loss %.17g", loss);
}

static void test_softmax_fast(void) {
    long n = 8 * 15;
    int c = 300; /* rows of attention scores */
    float *x = rand_f(n * c, 91, -5, 5), *dy = rand_f(n * c, 92, -1, 1), *y1 = zeros_f(n * c), *y2 = zeros_f(n * c);
    float *dx1 = rand_f(n * c, 93, -1, 1), *dx2 = copy_f(dx1, n * c);
    softmax_forward(y1, x, n, c);
    softmax_forward_ref(y2, x, n, c);
    CHECK_FAST(y1, y2, n * c, "softmax y");
    softmax_backward(dx1, dy, y2, n, c);
    softmax_backward_ref(dx2, dy, y2, n, c);
    CHECK_FAST(dx1, dx2, n * c, "softmax dx");
    log_softmax_forward(y1, x, n, c);
    log_softmax_forward_ref(y2, x, n, c);
    CHECK_FAST(y1, y2, n * c, "log_softmax y");
    log_softmax_backward(dx1, dy, y2, n, c);
    log_softmax_backward_ref(dx2, dy, y2, n, c);
    CHECK_FAST(dx1, dx2, n * c, "log_softmax dx");
    int labels[8] = {0, 1, 2, 3, 4, 5, 0, 1};
    float l1 = softmax_xent_forward(y1, x, labels, 8, 6, 0.1f), l2 = softmax_xent_forward_ref(y2, x, labels, 8, 6, 0.1f);
    CHECK(fabsf(l1 - l2) <= FAST_TOL * fabsf(l2), "xent loss %g vs %g", l1, l2);
    CHECK_FAST(y1, y2, 8 * 6, "xent probs");
    softmax_xent_backward(dx1, y2, labels, 8, 6, 0.1f, 1.0f);
    softmax_xent_backward_ref(dx2, y2, labels, 8, 6, 0.1f, 1.0f);
    CHECK_FAST(dx1, dx2, 8 * 6, "xent dlogits");
    free(x), free(dy), free(y1), free(y2), free(dx1), free(dx2);
}

int main(void) {
    RUN(test_softmax_fast);
    RUN(test_softmax_fd);
    RUN(test_log_softmax_fd);
    RUN(test_xent_fd);
    RUN(test_xent_smoothing_fd);
    RUN(test_xent_values);
    return test_summary();
}
