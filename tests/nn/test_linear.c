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

/* ---- fast (GEMM) paths vs float references ---- */
static void test_linear_fast(void) {
    /* the classifier [8, 1280] -> 6 (fused features) and a wide case [120, 256] -> 128 */
    int cases[2][3] = {{8, 1280, 6}, {120, 256, 128}};
    for (int k = 0; k < 2; k++) {
        long n = cases[k][0];
        int in = cases[k][1], out = cases[k][2];
        float *x = rand_f(n * in, 61, -1, 1), *w = rand_f((long)out * in, 62, -0.1f, 0.1f);
        float *b = k ? NULL : rand_f(out, 63, -1, 1), *dy = rand_f(n * out, 64, -1, 1);
        float *y1 = zeros_f(n * out), *y2 = zeros_f(n * out);
        float *dx1 = rand_f(n * in, 65, -1, 1), *dx2 = copy_f(dx1, n * in);
        float *dw1 = rand_f((long)out * in, 66, -1, 1), *dw2 = copy_f(dw1, (long)out * in);
        float *db1 = zeros_f(out), *db2 = zeros_f(out);
        CHECK(linear_forward(y1, x, w, b, n, in, out) == 0, "forward");
        linear_forward_ref(y2, x, w, b, n, in, out);
        CHECK_FAST(y1, y2, n * out, "y");
        CHECK(linear_backward(dx1, dw1, db1, dy, x, w, n, in, out) == 0, "backward");
        linear_backward_ref(dx2, dw2, db2, dy, x, w, n, in, out);
        CHECK_FAST(dx1, dx2, n * in, "dx");
        CHECK_FAST(dw1, dw2, (long)out * in, "dw");
        CHECK_FAST(db1, db2, out, "db");
        CHECK(linear_backward(NULL, NULL, db1, dy, x, w, n, in, out) == 0, "NULL grads");
        free(x), free(w), free(b), free(dy), free(y1), free(y2), free(dx1), free(dx2), free(dw1), free(dw2);
        free(db1), free(db2);
    }
}

static double *to_d(const float *a, long n) {
    double *d = zeros_d(n);
    for (long i = 0; i < n; i++) d[i] = a[i];
    return d;
}

static void fast_attention(attention_shape s, int self) {
    long nq = (long)s.b * s.tq * s.d_q_in, nkv = (long)s.b * s.tk * s.d_kv_in;
    long nwq = (long)s.d_k * s.d_q_in, nwk = (long)s.d_k * s.d_kv_in, nwv = (long)s.d_v * s.d_kv_in;
    long nout = (long)s.b * s.tq * s.d_v, nqq = (long)s.b * s.tq * s.d_k, nkk = (long)s.b * s.tk * s.d_k;
    long nvv = (long)s.b * s.tk * s.d_v, natt = (long)s.b * s.tq * s.tk;
    float *xq = rand_f(nq, 71, -1, 1), *xkv = self ? xq : rand_f(nkv, 72, -1, 1);
    float sc = 2.0f / sqrtf((float)s.d_q_in); /* peaked but not saturated attention */
    float *wq = rand_f(nwq, 73, -sc, sc), *wk = rand_f(nwk, 74, -sc, sc), *wv = rand_f(nwv, 75, -sc, sc);
    float *bq = rand_f(s.d_k, 76, -0.5f, 0.5f), *bk = rand_f(s.d_k, 77, -0.5f, 0.5f), *bv = rand_f(s.d_v, 78, -0.5f, 0.5f);
    float *o[2], *q[2], *k[2], *v[2], *att[2];
    for (int r = 0; r < 2; r++)
        o[r] = zeros_f(nout), q[r] = zeros_f(nqq), k[r] = zeros_f(nkk), v[r] = zeros_f(nvv), att[r] = zeros_f(natt);
    CHECK(attention_forward(o[0], q[0], k[0], v[0], att[0], xq, xkv, wq, bq, wk, bk, wv, bv, &s) == 0, "forward");
    attention_forward_ref(o[1], q[1], k[1], v[1], att[1], xq, xkv, wq, bq, wk, bk, wv, bv, &s);
    CHECK_FAST(o[0], o[1], nout, "out");
    CHECK_FAST(q[0], q[1], nqq, "q");
    CHECK_FAST(k[0], k[1], nkk, "k");
    CHECK_FAST(v[0], v[1], nvv, "v");
    CHECK_FAST(att[0], att[1], natt, "att");
    float *dout = rand_f(nout, 79, -1, 1);
    float *g[2][8];
    long len[8] = {nq, nkv, nwq, s.d_k, nwk, s.d_k, nwv, s.d_v};
    const char *name[8] = {"dxq", "dxkv", "dwq", "dbq", "dwk", "dbk", "dwv", "dbv"};
    for (int i = 0; i < 8; i++) {
        g[0][i] = rand_f(len[i], 80 + i, -1, 1);
        g[1][i] = copy_f(g[0][i], len[i]);
    }
    float **g0 = g[0], **g1 = g[1];
    /* the same backward in float64 from the same float inputs: the fast path's own error, without the float
     * reference's (which pushes ~t*(d_v + 2 d_k) float additions into each input gradient) */
    double *gd[8];
    for (int i = 0; i < 8; i++) gd[i] = to_d(g0[i], len[i]);
    double *dd[10] = {to_d(dout, nout), to_d(q[1], nqq), to_d(k[1], nkk), to_d(v[1], nvv), to_d(att[1], natt),
                      to_d(xq, nq), to_d(xkv, nkv), to_d(wq, nwq), to_d(wk, nwk), to_d(wv, nwv)};
    attention_backward_f64(gd[0], self ? gd[0] : gd[1], gd[2], gd[3], gd[4], gd[5], gd[6], gd[7], dd[0], dd[1], dd[2],
                           dd[3], dd[4], dd[5], self ? dd[5] : dd[6], dd[7], dd[8], dd[9], &s);
    CHECK(attention_backward(g0[0], self ? g0[0] : g0[1], g0[2], g0[3], g0[4], g0[5], g0[6], g0[7], dout, q[1], k[1],
                             v[1], att[1], xq, xkv, wq, wk, wv, &s) == 0, "backward");
    attention_backward_ref(g1[0], self ? g1[0] : g1[1], g1[2], g1[3], g1[4], g1[5], g1[6], g1[7], dout, q[1], k[1],
                           v[1], att[1], xq, xkv, wq, wk, wv, &s);
    for (int i = 0; i < 8; i++)
        if (!(self && i == 1)) {
            CHECK_FAST(g0[i], g1[i], len[i], name[i]);
            float *f = zeros_f(len[i]);
            for (long j = 0; j < len[i]; j++) f[j] = (float)gd[i][j];
            char what[32];
            snprintf(what, sizeof what, "%s vs f64", name[i]);
            CHECK_FAST(g0[i], f, len[i], what);
            free(f);
        }
    for (int i = 0; i < 8; i++) free(gd[i]);
    for (int i = 0; i < 10; i++) free(dd[i]);
    for (int i = 0; i < 8; i++) free(g0[i]), free(g1[i]);
    for (int r = 0; r < 2; r++) free(o[r]), free(q[r]), free(k[r]), free(v[r]), free(att[r]);
    free(xq), free(wq), free(wk), free(wv), free(bq), free(bk), free(bv), free(dout);
    if (!self) free(xkv);
}

/* the fusion's self-attention over [8, 15, 128]; a cross-attention audio (9 steps) -> video (15 steps) */
static void test_attention_fast_self(void) {
    attention_shape s = {.b = 8, .tq = 15, .tk = 15, .d_q_in = 128, .d_kv_in = 128, .d_k = 128, .d_v = 128};
    fast_attention(s, 1);
}
static void test_attention_fast_cross(void) {
    attention_shape s = {.b = 3, .tq = 15, .tk = 9, .d_q_in = 64, .d_kv_in = 48, .d_k = 32, .d_v = 40};
    fast_attention(s, 0);
}

int main(void) {
    RUN(test_linear_fast);
    RUN(test_attention_fast_self);
    RUN(test_attention_fast_cross);
    RUN(test_linear_fd);
    RUN(test_attention_cross_fd);
    RUN(test_attention_self_fd);
    return test_summary();
}
