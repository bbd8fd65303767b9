/* The layers, optimizers and LR schedules against PyTorch 1.13 (fixtures written by
 * tools/fixtures_layers.py in avemo's channels-last layout).
 *
 * Tolerance: relative error (max abs diff / max |torch|) < 1e-4. Both sides compute in float32 but with
 * different algorithms and summation orders (torch's BN/LN use Welford-style reductions, its GEMMs block
 * differently, its softmax/erf/exp differ by an ulp or so), which leaves differences of ~1e-7..1e-6 relative;
 * 1e-4 keeps a wide margin for that while any formula error (wrong bias correction, a missing 1/n, the
 * biased vs unbiased variance, a transposed weight) shows up at 1e-3 or more. */
#include "fd.h"

#include "avemo.h"
#include "io/npy.h"
#include "nn/nn.h"

#define TORCH_TOL 1e-4

/* tests/fixtures/nn/layers_<c>_<name>.npy as float32 (float64 and int32 arrays are converted); NULL and a
 * failed check when missing. *count receives the element count. */
static float *fx(const char *c, const char *name, long *count) {
    char rel[256];
    snprintf(rel, sizeof rel, "nn/layers_%s_%s.npy", c, name);
    const char *p = fixture_path(rel);
    if (!p) return NULL;
    npy_array a;
    if (npy_read(p, &a) != 0) {
        CHECK(0, "%s: %s", rel, avemo_last_error());
        return NULL;
    }
    float *f = zeros_f(a.count);
    for (int64_t i = 0; i < a.count; i++)
        f[i] = a.dtype == NPY_F32   ? ((float *)a.data)[i]
               : a.dtype == NPY_F64 ? (float)((double *)a.data)[i]
                                    : (float)((int32_t *)a.data)[i];
    if (count) *count = (long)a.count;
    npy_free(&a);
    return f;
}

static double *fx64(const char *c, const char *name, long *count) {
    char rel[256];
    snprintf(rel, sizeof rel, "nn/layers_%s_%s.npy", c, name);
    const char *p = fixture_path(rel);
    npy_array a;
    if (!p || npy_read(p, &a) != 0 || a.dtype != NPY_F64) {
        CHECK(0, "%s: not a readable float64 array", rel);
        return NULL;
    }
    if (count) *count = (long)a.count;
    return a.data; /* malloc'd by npy_read: caller frees */
}

static int *fx_int(const char *c, const char *name, long *count) {
    long n = 0;
    float *f = fx(c, name, &n);
    if (!f) return NULL;
    int *v = malloc(sizeof(int) * (size_t)n);
    for (long i = 0; i < n; i++) v[i] = (int)f[i];
    free(f);
    if (count) *count = n;
    return v;
}

/* compare ours (n floats) with fixture <c>_<name> */
static void cmp(const char *c, const char *name, const float *ours, long n) {
    long m = 0;
    float *want = fx(c, name, &m);
    if (!want) return;
    CHECK(m == n, "%s_%s: %ld values, fixture has %ld", c, name, n, m);
    if (m == n) {
        double e = rel_err_f(ours, want, n);
        if (getenv("AVEMO_TEST_VERBOSE")) printf("  %s_%s: rel err %.3g\n", c, name, e);
        CHECK(e < TORCH_TOL, "%s_%s: rel err vs torch %.3g", c, name, e);
    }
    free(want);
}

static void test_torch_batchnorm(void) {
    const int n = 2, h = 3, w = 4, c = 5;
    long m = (long)n * h * w, nx = m * c;
    float *x = fx("bn", "x", NULL), *g = fx("bn", "gamma", NULL), *b = fx("bn", "beta", NULL);
    float *rm = fx("bn", "rm0", NULL), *rv = fx("bn", "rv0", NULL), *dy = fx("bn", "dy", NULL);
    if (!x || !g || !b || !rm || !rv || !dy) return;
    float *y = zeros_f(nx), *mean = zeros_f(c), *rstd = zeros_f(c), *dx = zeros_f(nx), *dg = zeros_f(c), *db = zeros_f(c);
    batchnorm_forward_train(y, mean, rstd, rm, rv, x, g, b, m, c, 0.1f, 1e-5f);
    cmp("bn", "y", y, nx);
    cmp("bn", "rm1", rm, c);
    cmp("bn", "rv1", rv, c);
    batchnorm_backward(dx, dg, db, dy, x, mean, rstd, g, m, c);
    cmp("bn", "dx", dx, nx);
    cmp("bn", "dgamma", dg, c);
    cmp("bn", "dbeta", db, c);
    batchnorm_forward_eval(y, x, g, b, rm, rv, m, c, 1e-5f);
    cmp("bn", "y_eval", y, nx);
    free(x), free(g), free(b), free(rm), free(rv), free(dy), free(y), free(mean), free(rstd), free(dx), free(dg), free(db);
}

static void torch_attention(const char *c, attention_shape s, int bias, int self) {
    float *xq = fx(c, "xq", NULL), *xkv = self ? xq : fx(c, "xkv", NULL);
    float *wq = fx(c, "wq", NULL), *wk = fx(c, "wk", NULL), *wv = fx(c, "wv", NULL), *dout = fx(c, "dout", NULL);
    float *bq = bias ? fx(c, "bq", NULL) : NULL, *bk = bias ? fx(c, "bk", NULL) : NULL;
    float *bv = bias ? fx(c, "bv", NULL) : NULL;
    if (!xq || !xkv || !wq || !wk || !wv || !dout) return;
    long nq = (long)s.b * s.tq * s.d_q_in, nkv = (long)s.b * s.tk * s.d_kv_in, nout = (long)s.b * s.tq * s.d_v;
    long natt = (long)s.b * s.tq * s.tk;
    float *out = zeros_f(nout), *q = zeros_f((long)s.b * s.tq * s.d_k), *k = zeros_f((long)s.b * s.tk * s.d_k);
    float *v = zeros_f((long)s.b * s.tk * s.d_v), *att = zeros_f(natt);
    CHECK(attention_forward(out, q, k, v, att, xq, xkv, wq, bq, wk, bk, wv, bv, &s) == 0, "forward");
    cmp(c, "out", out, nout);
    cmp(c, "att", att, natt);
    float *dxq = zeros_f(nq), *dxkv = self ? dxq : zeros_f(nkv);
    float *dwq = zeros_f((long)s.d_k * s.d_q_in), *dwk = zeros_f((long)s.d_k * s.d_kv_in);
    float *dwv = zeros_f((long)s.d_v * s.d_kv_in), *dbq = zeros_f(s.d_k), *dbk = zeros_f(s.d_k), *dbv = zeros_f(s.d_v);
    CHECK(attention_backward(dxq, dxkv, dwq, bias ? dbq : NULL, dwk, bias ? dbk : NULL, dwv, bias ? dbv : NULL, dout,
                             q, k, v, att, xq, xkv, wq, wk, wv, &s) == 0,
          "backward");
    cmp(c, "dxq", dxq, nq);
    if (!self) cmp(c, "dxkv", dxkv, nkv);
    cmp(c, "dwq", dwq, (long)s.d_k * s.d_q_in);
    cmp(c, "dwk", dwk, (long)s.d_k * s.d_kv_in);
    cmp(c, "dwv", dwv, (long)s.d_v * s.d_kv_in);
    if (bias) {
        cmp(c, "dbq", dbq, s.d_k);
        cmp(c, "dbv", dbv, s.d_v);
        /* dL/dbk is 0 in exact arithmetic (softmax shift invariance); torch's is rounding noise */
        for (int e = 0; e < s.d_k; e++) CHECK(fabsf(dbk[e]) < 1e-5f, "dbk[%d] = %g", e, dbk[e]);
    }
    /* the same through the float reference kernels */
    float *out2 = zeros_f(nout);
    attention_forward_ref(out2, q, k, v, att, xq, xkv, wq, bq, wk, bk, wv, bv, &s);
    cmp(c, "out", out2, nout);
    free(out2);
    free(xq), free(wq), free(wk), free(wv), free(dout), free(bq), free(bk), free(bv);
    free(out), free(q), free(k), free(v), free(att), free(dxq), free(dwq), free(dwk), free(dwv), free(dbq), free(dbk),
        free(dbv);
    if (!self) free(xkv), free(dxkv);
}

static void test_torch_attention(void) {
    attention_shape cross = {.b = 2, .tq = 5, .tk = 4, .d_q_in = 6, .d_kv_in = 7, .d_k = 8, .d_v = 6};
    torch_attention("att_cross", cross, 1, 0);
    attention_shape self = {.b = 2, .tq = 5, .tk = 5, .d_q_in = 8, .d_kv_in = 8, .d_k = 8, .d_v = 8};
    torch_attention("att_self", self, 0, 1);
}

static void test_torch_xent(void) {
    const char *cases[2] = {"xent", "xent_ls"};
    float eps[2] = {0, 0.1f};
    for (int t = 0; t < 2; t++) {
        const char *c = cases[t];
        const int n = 8, k = 6;
        float *logits = fx(c, "logits", NULL);
        int *labels = fx_int(c, "labels", NULL);
        if (!logits || !labels) return;
        float probs[8 * 6], dl[8 * 6] = {0};
        float loss = softmax_xent_forward(probs, logits, labels, n, k, eps[t]);
        cmp(c, "loss", &loss, 1);
        softmax_xent_backward(dl, probs, labels, n, k, eps[t], 1.0f);
        cmp(c, "dlogits", dl, n * k);
        free(logits), free(labels);
    }
}

static void test_torch_linear(void) {
    const long n = 4;
    const int in = 10, out = 5;
    float *x = fx("linear", "x", NULL), *w = fx("linear", "w", NULL), *b = fx("linear", "b", NULL);
    float *dy = fx("linear", "dy", NULL);
    if (!x || !w || !b || !dy) return;
    float y[20], dx[40] = {0}, dw[50] = {0}, db[5] = {0};
    CHECK(linear_forward(y, x, w, b, n, in, out) == 0, "forward");
    cmp("linear", "y", y, n * out);
    CHECK(linear_backward(dx, dw, db, dy, x, w, n, in, out) == 0, "backward");
    cmp("linear", "dx", dx, n * in);
    cmp("linear", "dw", dw, (long)out * in);
    cmp("linear", "db", db, out);
    free(x), free(w), free(b), free(dy);
}

static void test_torch_layernorm(void) {
    const long m = 6;
    const int c = 16;
    float *x = fx("ln", "x", NULL), *g = fx("ln", "gamma", NULL), *b = fx("ln", "beta", NULL), *dy = fx("ln", "dy", NULL);
    if (!x || !g || !b || !dy) return;
    float y[96], mean[6], rstd[6], dx[96] = {0}, dg[16] = {0}, db[16] = {0};
    layernorm_forward(y, mean, rstd, x, g, b, m, c, 1e-5f);
    cmp("ln", "y", y, m * c);
    layernorm_backward(dx, dg, db, dy, x, mean, rstd, g, m, c);
    cmp("ln", "dx", dx, m * c);
    cmp("ln", "dgamma", dg, c);
    cmp("ln", "dbeta", db, c);
    free(x), free(g), free(b), free(dy);
}

static void torch_maxpool(const char *c) {
    int *sh = fx_int(c, "shape", NULL);
    float *x = fx(c, "x", NULL), *dy = fx(c, "dy", NULL);
    if (!sh || !x || !dy) return;
    pool2d_shape s = {.n = sh[0], .h = sh[1], .w = sh[2], .c = sh[3], .kh = sh[4], .kw = sh[4], .stride_h = sh[5],
                      .stride_w = sh[5], .pad_top = sh[6], .pad_left = sh[6], .pad_bottom = sh[6], .pad_right = sh[6],
                      .ceil_mode = 1};
    long nx = (long)s.n * s.h * s.w * s.c, ny = (long)s.n * pool2d_out_h(&s) * pool2d_out_w(&s) * s.c;
    float *y = zeros_f(ny), *dx = zeros_f(nx);
    int *am = calloc(ny, sizeof(int));
    maxpool2d_forward(y, am, x, &s);
    cmp(c, "y", y, ny); /* also checks the ceil_mode output size */
    maxpool2d_backward(dx, dy, am, &s);
    cmp(c, "dx", dx, nx);
    free(sh), free(x), free(dy), free(y), free(dx), free(am);
}

static void test_torch_maxpool(void) {
    torch_maxpool("mp_ceil");
    torch_maxpool("mp_pad");
}

static void torch_interp(const char *c, int b, int ti, int to, int ch) {
    float *x = fx(c, "x", NULL), *dy = fx(c, "dy", NULL);
    if (!x || !dy) return;
    float *y = zeros_f((long)b * to * ch), *dx = zeros_f((long)b * ti * ch);
    interp_time_forward(y, x, b, ti, to, ch);
    cmp(c, "y", y, (long)b * to * ch);
    interp_time_backward(dx, dy, b, ti, to, ch);
    cmp(c, "dx", dx, (long)b * ti * ch);
    free(x), free(dy), free(y), free(dx);
}

static void test_torch_interp(void) {
    torch_interp("interp_up", 2, 9, 15, 4);
    torch_interp("interp_down", 2, 15, 9, 3);
}

static void test_torch_prelu_gelu(void) {
    const long m = 2 * 3 * 3;
    const int c = 4;
    float *x = fx("prelu", "x", NULL), *a = fx("prelu", "alpha", NULL), *dy = fx("prelu", "dy", NULL);
    if (!x || !a || !dy) return;
    float y[72], dx[72] = {0}, da[4] = {0};
    prelu_forward(y, x, a, m, c);
    cmp("prelu", "y", y, m * c);
    prelu_backward(dx, da, dy, x, a, m, c);
    cmp("prelu", "dx", dx, m * c);
    cmp("prelu", "dalpha", da, c);
    free(x), free(a), free(dy);
    float *gx = fx("gelu", "x", NULL), *gdy = fx("gelu", "dy", NULL);
    if (!gx || !gdy) return;
    float gy[64], gdx[64] = {0};
    gelu_forward(gy, gx, 64);
    cmp("gelu", "y", gy, 64);
    gelu_backward(gdx, gdy, gx, 64);
    cmp("gelu", "dx", gdx, 64);
    free(gx), free(gdy);
}

/* p0 [n], grads [steps, n], traj [steps, n]: our optimizer after every step vs torch.optim */
static void torch_optimizer(const char *c, int adam) {
    long n = 0, ng = 0, nc = 0;
    float *p = fx(c, "p0", &n), *grads = fx(c, "grads", &ng), *traj = fx(c, "traj", NULL);
    double *cfg = fx64(c, "cfg", &nc);
    if (!p || !grads || !traj || !cfg) return;
    long steps = ng / n;
    float *buf = zeros_f(n), *m = zeros_f(n), *v = zeros_f(n);
    sgd_config sc = {.lr = (float)cfg[0], .momentum = (float)cfg[1], .dampening = (float)cfg[2],
                     .weight_decay = (float)cfg[3], .nesterov = cfg[4] != 0};
    adam_config ac = {.lr = (float)cfg[0], .beta1 = (float)cfg[1], .beta2 = (float)cfg[2], .eps = (float)cfg[3],
                      .weight_decay = (float)cfg[4], .decoupled = nc > 5 && cfg[5] != 0};
    for (long t = 0; t < steps; t++) {
        if (adam) adam_step(p, grads + t * n, m, v, n, &ac, t + 1);
        else sgd_step(p, grads + t * n, buf, n, &sc, t + 1);
        double e = rel_err_f(p, traj + t * n, n);
        CHECK(e < TORCH_TOL, "%s step %ld: rel err vs torch %.3g", c, t + 1, e);
    }
    free(p), free(grads), free(traj), free(cfg), free(buf), free(m), free(v);
}

static void test_torch_optimizers(void) {
    torch_optimizer("sgd_plain", 0);
    torch_optimizer("sgd_baseline", 0);
    torch_optimizer("sgd_nesterov", 0);
    torch_optimizer("adam", 1);
    torch_optimizer("adam_wd", 1);
    torch_optimizer("adamw", 1);
}

static void test_torch_schedules(void) {
    long n = 0;
    double *lr = fx64("lr_multistep", "lr", &n);
    int ms[4] = {40, 55, 65, 70};
    for (long e = 0; lr && e < n; e++) {
        float ours = lr_multistep(0.04f, (int)e, ms, 4, 0.1f);
        CHECK(fabs(ours - lr[e]) <= 1e-6 * lr[e], "multistep epoch %ld: %g vs torch %g", e, ours, lr[e]);
    }
    free(lr);
    lr = fx64("lr_cosine", "lr", &n);
    for (long e = 0; lr && e < n; e++) {
        float ours = lr_cosine(0.04f, (int)e, 100, 1e-4f);
        CHECK(fabs(ours - lr[e]) <= 1e-5 * lr[e], "cosine epoch %ld: %g vs torch %g", e, ours, lr[e]);
    }
    free(lr);
}

int main(void) {
    RUN(test_torch_batchnorm);
    RUN(test_torch_attention);
    RUN(test_torch_xent);
    RUN(test_torch_linear);
    RUN(test_torch_layernorm);
    RUN(test_torch_maxpool);
    RUN(test_torch_interp);
    RUN(test_torch_prelu_gelu);
    RUN(test_torch_optimizers);
    RUN(test_torch_schedules);
    return test_summary();
}
