/* Layer benchmark: fast paths vs their float reference kernels on MobileNetV2 / fusion sizes (batch 8).
 *
 *   bench_layers [--threads N] [--reps R]
 * Output lines: "result <layer> <fast ms> <ref ms> <speedup>" (best of R runs each, same process).
 */
#include "nn/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float *rnd(long n, unsigned seed, float lo, float hi) {
    float *a = malloc(sizeof(float) * (size_t)n);
    if (!a) {
        fprintf(stderr, "bench_layers: out of memory\n");
        exit(1);
    }
    rng_t r;
    rng_seed(&r, seed);
    for (long i = 0; i < n; i++) a[i] = lo + (hi - lo) * (float)rng_uniform(&r);
    return a;
}

static int reps = 5;

#define TIME_BEST(best, stmt)                                                                                   \
    do {                                                                                                        \
        best = 1e30;                                                                                            \
        for (int r_ = 0; r_ < reps; r_++) {                                                                     \
            double t0_ = now_s();                                                                               \
            stmt;                                                                                               \
            double t_ = now_s() - t0_;                                                                          \
            if (t_ < best) best = t_;                                                                           \
        }                                                                                                       \
    } while (0)

static void report(const char *name, double fast, double ref) {
    printf("result %-34s %9.3f ms %9.3f ms  x%.1f\n", name, fast * 1e3, ref * 1e3, ref / fast);
    fflush(stdout);
}

/* batchnorm train forward + backward on [m, c] */
static void bench_bn(const char *name, long m, int c) {
    long n = m * c;
    float *x = rnd(n, 1, -1, 3), *dy = rnd(n, 2, -1, 1), *y = rnd(n, 3, 0, 1), *dx = rnd(n, 4, 0, 1);
    float *g = rnd(c, 5, 0.5f, 1.5f), *b = rnd(c, 6, -1, 1), *mu = rnd(c, 7, 0, 1), *rs = rnd(c, 8, 0, 1);
    float *rm = rnd(c, 9, 0, 1), *rv = rnd(c, 10, 1, 2), *dg = rnd(c, 11, 0, 1), *db = rnd(c, 12, 0, 1);
    double f, r;
    char label[96];
    TIME_BEST(f, batchnorm_forward_train(y, mu, rs, rm, rv, x, g, b, m, c, 0.1f, 1e-5f));
    TIME_BEST(r, batchnorm_forward_train_ref(y, mu, rs, rm, rv, x, g, b, m, c, 0.1f, 1e-5f));
    snprintf(label, sizeof label, "bn_fwd_%s", name);
    report(label, f, r);
    TIME_BEST(f, batchnorm_backward(dx, dg, db, dy, x, mu, rs, g, m, c));
    TIME_BEST(r, batchnorm_backward_ref(dx, dg, db, dy, x, mu, rs, g, m, c));
    snprintf(label, sizeof label, "bn_bwd_%s", name);
    report(label, f, r);
    TIME_BEST(f, relu6_forward(y, x, n); relu6_backward(dx, dy, y, n));
    TIME_BEST(r, relu6_forward_ref(y, x, n); relu6_backward_ref(dx, dy, y, n));
    snprintf(label, sizeof label, "relu6_fwd+bwd_%s", name);
    report(label, f, r);
    free(x), free(dy), free(y), free(dx), free(g), free(b), free(mu), free(rs), free(rm), free(rv), free(dg), free(db);
}

static void bench_attention(void) {
    attention_shape s = {.b = 8, .tq = 15, .tk = 15, .d_q_in = 128, .d_kv_in = 128, .d_k = 128, .d_v = 128};
    long nx = 8L * 15 * 128, nw = 128L * 128, na = 8L * 15 * 15;
    float *x = rnd(nx, 1, -1, 1), *wq = rnd(nw, 2, -0.1f, 0.1f), *wk = rnd(nw, 3, -0.1f, 0.1f);
    float *wv = rnd(nw, 4, -0.1f, 0.1f), *out = rnd(nx, 5, 0, 1), *q = rnd(nx, 6, 0, 1), *k = rnd(nx, 7, 0, 1);
    float *v = rnd(nx, 8, 0, 1), *att = rnd(na, 9, 0, 1), *dout = rnd(nx, 10, -1, 1), *dx = rnd(nx, 11, 0, 1);
    float *dwq = rnd(nw, 12, 0, 1), *dwk = rnd(nw, 13, 0, 1), *dwv = rnd(nw, 14, 0, 1);
    double f, r;
    TIME_BEST(f, attention_forward(out, q, k, v, att, x, x, wq, NULL, wk, NULL, wv, NULL, &s);
              attention_backward(dx, dx, dwq, NULL, dwk, NULL, dwv, NULL, dout, q, k, v, att, x, x, wq, wk, wv, &s));
    TIME_BEST(r, attention_forward_ref(out, q, k, v, att, x, x, wq, NULL, wk, NULL, wv, NULL, &s);
              attention_backward_ref(dx, dx, dwq, NULL, dwk, NULL, dwv, NULL, dout, q, k, v, att, x, x, wq, wk, wv,
                                     &s));
    report("attention_fwd+bwd_8x15x128", f, r);
    free(x), free(wq), free(wk), free(wv), free(out), free(q), free(k), free(v), free(att), free(dout), free(dx);
    free(dwq), free(dwk), free(dwv);
}

/* MTCNN P-Net's MaxPool2d(2, 2, ceil_mode) after its first conv on a 640x360 frame: [1, 358, 638, 10] */
static void bench_maxpool(void) {
    pool2d_shape s = {.n = 1, .h = 358, .w = 638, .c = 10, .kh = 2, .kw = 2, .stride_h = 2, .stride_w = 2, .ceil_mode = 1};
    long nx = 358L * 638 * 10, ny = (long)pool2d_out_h(&s) * pool2d_out_w(&s) * 10;
    float *x = rnd(nx, 1, -1, 1), *y = rnd(ny, 2, 0, 1);
    int *am = malloc(sizeof(int) * (size_t)ny);
    double f, r;
    TIME_BEST(f, maxpool2d_forward(y, am, x, &s));
    TIME_BEST(r, maxpool2d_forward_ref(y, am, x, &s));
    report("maxpool2d_fwd_358x638x10", f, r);
    free(x), free(y), free(am);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) nn_set_threads(atoi(argv[++i]));
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_layers [--threads N] [--reps R]\n");
            return 2;
        }
    }
    printf("threads %d\n", nn_get_threads());
    /* MobileNetV2 (torchvision) at batch 8: features.1 (112x112x32), features.2 expand (112x112x96),
     * features.4 (28x28x192), features.18 (7x7x1280) */
    bench_bn("112x112x32", 8L * 112 * 112, 32);
    bench_bn("112x112x96", 8L * 112 * 112, 96);
    bench_bn("28x28x192", 8L * 28 * 28, 192);
    bench_bn("7x7x1280", 8L * 7 * 7, 1280);
    bench_attention();
    bench_maxpool();
    return 0;
}
