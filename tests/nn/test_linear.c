/* linear and attention (eq. 4-7): float64 finite differences of the references (cross- and
 * self-attention, with and without biases), fast GEMM paths against the float references. */
#include "fd.h"

#include "nn/nn.h"

typedef struct {
    long n;
    int in, out;
    double *x, *w, *b, *y, *r;
} lin_ctx;

static double lin_loss(void *p) {
    lin_ctx *t = p;
    linear_forward_f64(t->y, t->x, t->w, t->b, t->n, t->in, t->out);
    return dot_d(t->y, t->r, t->n * t->out);
}

static void test_linear_fd(void) {
    lin_ctx t = {.n = 5, .in = 7, .out = 4};
    t.x = rand_d(t.n * t.in, 1, -1, 1);
    t.w = rand_d((long)t.out * t.in, 2, -1, 1);
    t.b = rand_d(t.out, 3, -1, 1);
    t.r = rand_d(t.n * t.out, 4, -1, 1);
    t.y = zeros_d(t.n * t.out);
    double *dx = zeros_d(t.n * t.in), *dw = zeros_d((long)t.out * t.in), *db = zeros_d(t.out);
    linear_backward_f64(dx, dw, db, t.r, t.x, t.w, t.n, t.in, t.out);
    CHECK_FD(fd_check(lin_loss, &t, t.x, t.n * t.in, dx), "dx");
    CHECK_FD(fd_check(lin_loss, &t, t.w, (long)t.out * t.in, dw), "dw");
    CHECK_FD(fd_check(lin_loss, &t, t.b, t.out, db), "db");
    free(t.x), free(t.w), free(t.b), free(t.r), free(t.y), free(dx), free(dw), free(db);
}

typedef struct {
    attention_shape s;
    double *xq, *xkv, *wq, *bq, *wk, *bk, *wv, *bv;
    double *out, *q, *k, *v, *att, *r;
} att_ctx;

static double att_loss(void *p) {
    att_ctx *t = p;
    attention_forward_f64(t->out, t->q, t->k, t->v, t->att, t->xq, t->xkv, t->wq, t->bq, t->wk, t->bk, t->wv,
                          t->bv, &t->s);
    return dot_d(t->out, t->r, (long)t->s.b * t->s.tq * t->s.d_v);
}

static void fd_attention(attention_shape s, int self, int biases) {
    att_ctx t = {.s = s};
    long nq = (long)s.b * s.tq * s.d_q_in, nkv = (long)s.b * s.tk * s.d_kv_in;
    long nwq = (long)s.d_k * s.d_q_in, nwk = (long)s.d_k * s.d_kv_in, nwv = (long)s.d_v * s.d_kv_in;
    t.xq = rand_d(nq, 1, -1, 1);
    t.xkv = self ? t.xq : rand_d(nkv, 2, -1, 1);
    /* weights large enough that the softmax is far from uniform */
    t.wq = rand_d(nwq, 3, -1, 1), t.wk = rand_d(nwk, 4, -1, 1), t.wv = rand_d(nwv, 5, -1, 1);
    t.bq = biases ? rand_d(s.d_k, 6, -0.5, 0.5) : NULL;
    t.bk = biases ? rand_d(s.d_k, 7, -0.5, 0.5) : NULL;
    t.bv = biases ? rand_d(s.d_v, 8, -0.5, 0.5) : NULL;
    t.out = zeros_d((long)s.b * s.tq * s.d_v);
    t.q = zeros_d((long)s.b * s.tq * s.d_k), t.k = zeros_d((long)s.b * s.tk * s.d_k);
    t.v = zeros_d((long)s.b * s.tk * s.d_v), t.att = zeros_d((long)s.b * s.tq * s.tk);
    t.r = rand_d((long)s.b * s.tq * s.d_v, 9, -1, 1);
    double *dxq = zeros_d(nq), *dxkv = self ? dxq : zeros_d(nkv);
    double *dwq = zeros_d(nwq), *dwk = zeros_d(nwk), *dwv = zeros_d(nwv);
    double *dbq = zeros_d(s.d_k), *dbk = zeros_d(s.d_k), *dbv = zeros_d(s.d_v);
    att_loss(&t);
    attention_backward_f64(dxq, dxkv, dwq, biases ? dbq : NULL, dwk, biases ? dbk : NULL, dwv, biases ? dbv : NULL,
                           t.r, t.q, t.k, t.v, t.att, t.xq, t.xkv, t.wq, t.wk, t.wv, &s);
    CHECK_FD(fd_check(att_loss, &t, t.xq, nq, dxq), "dxq");
    if (!self) CHECK_FD(fd_check(att_loss, &t, t.xkv, nkv, dxkv), "dxkv");
    CHECK_FD(fd_check(att_loss, &t, t.wq, nwq, dwq), "dwq");
    CHECK_FD(fd_check(att_loss, &t, t.wk, nwk, dwk), "dwk");
    CHECK_FD(fd_check(att_loss, &t, t.wv, nwv, dwv), "dwv");
    if (biases) {
        CHECK_FD(fd_check(att_loss, &t, t.bq, s.d_k, dbq), "dbq");
        /* softmax is invariant to the constant q_i . bk added to every score of row i: dL/dbk = 0 */
        for (int e = 0; e < s.d_k; e++) CHECK(fabs(dbk[e]) < 1e-12, "dbk[%d] = %g", e, dbk[e]);
        CHECK_FD(fd_check(att_loss, &t, t.bv, s.d_v, dbv), "dbv");
    }
    free(t.xq), free(t.wq), free(t.wk), free(t.wv), free(t.bq), free(t.bk), free(t.bv);
    free(t.out), free(t.q), free(t.k), free(t.v), free(t.att), free(t.r);
    free(dxq), free(dwq), free(dwk), free(dwv), free(dbq), free(dbk), free(dbv);
    if (!self) free(t.xkv), free(dxkv);
}

static void test_attention_cross_fd(void) {
    attention_shape s = {.b = 2, .tq = 3, .tk = 4, .d_q_in = 5, .d_kv_in = 6, .d_k = 3, .d_v = 4};
    fd_attention(s, 0, 1);
    fd_attention(s, 0, 0);
}

static void test_attention_self_fd(void) {
    attention_shape s = {.b = 2, .tq = 4, .tk = 4, .d_q_in = 5, .d_kv_in = 5, .d_k = 4, .d_v = 5};
    fd_attention(s, 1, 1);
    fd_attention(s, 1, 0);
}

int main(void) {
    RUN(test_linear_fd);
    RUN(test_attention_cross_fd);
    RUN(test_attention_self_fd);
    return test_summary();
}
