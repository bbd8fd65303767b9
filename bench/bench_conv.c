/* Conv layer benchmark: forward and backward time / GFLOP/s of avemo's conv2d/conv1d on MobileNetV2-sized
 * layers (batch 8). bench/run.sh runs this and bench/torch_conv.py (PyTorch on the same shapes) in alternating
 * rounds and prints the ratios.
 *
 *   bench_conv [--specs] [--threads N] [--reps R] [--only SUBSTRING] [--cpu-time]
 *     --specs     print the layer shapes ("spec ..." lines, read by torch_conv.py) and exit
 *     --cpu-time  time with the process CPU clock instead of the wall clock: on a loaded shared machine this
 *                 leaves out the time the process waits for a core (meaningful with --threads 1 only)
 * Output lines: "result <layer> <fwd|bwd> <best ms> <GFLOP/s>".
 * FLOPs are nominal: forward 2 * M * c_out * (kh*kw*c_in/groups), M = output pixels (padding taps counted);
 * backward = forward for each of dx and dw that is computed (the stem computes no dx: its input is the image).
 */
#include "nn/nn.h"
#include "twin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *name;
    int conv1d; /* shape is the conv1d as conv2d with h = 1 */
    conv2d_shape s;
    int need_dx;
} layer;

/* n, h, w, c_in, c_out, kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, groups */
static const layer layers[] = {
    /* MobileNetV2 (torchvision) features.3 project 1x1: 56x56x144 -> 24 */
    {"pw_56x56_144to24", 0, {8, 56, 56, 144, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1}, 1},
    /* features.2 expand 1x1: 112x112x16 -> 96 */
    {"pw_112x112_16to96", 0, {8, 112, 112, 16, 96, 1, 1, 1, 1, 0, 0, 0, 0, 1}, 1},
    /* features.2 depthwise 3x3/2 on 112x112x96, and the same at stride 1 */
    {"dw3x3s1_112x112x96", 0, {8, 112, 112, 96, 96, 3, 3, 1, 1, 1, 1, 1, 1, 96}, 1},
    {"dw3x3s2_112x112x96", 0, {8, 112, 112, 96, 96, 3, 3, 2, 2, 1, 1, 1, 1, 96}, 1},
    /* features.0 stem 3x3/2, 224x224 RGB -> 32, and the grayscale stem (c_in 1) */
    {"stem3x3s2_224_c3", 0, {8, 224, 224, 3, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1}, 0},
    {"stem3x3s2_224_c1", 0, {8, 224, 224, 1, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1}, 0},
    /* audio block Conv1D(k=3, 64, same) over 156 MFCC frames, batch 32 */
    {"conv1d_k3_t156_64", 1, {32, 1, 156, 64, 64, 1, 3, 1, 1, 0, 1, 0, 1, 1}, 1},
};

static float *rnd(long n, unsigned seed) {
    float *a = malloc(sizeof(float) * n);
    if (!a) {
        fprintf(stderr, "bench_conv: out of memory\n");
        exit(1);
    }
    for (long i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        a[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    return a;
}

int main(int argc, char **argv) {
    twin_args args = {2, 5, 0, NULL};
    if (twin_parse(argc, argv, &args, "usage: bench_conv [--specs] [--threads N] [--reps R] [--only SUBSTRING] [--cpu-time]")) return 2;
    int threads = args.threads, reps = args.reps, specs = args.specs;
    const char *only = args.only;
    int nl = (int)(sizeof layers / sizeof layers[0]);
    if (specs) {
        for (int i = 0; i < nl; i++) {
            const conv2d_shape *s = &layers[i].s;
            printf("spec %s %s %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d\n", layers[i].name,
                   layers[i].conv1d ? "conv1d" : "conv2d", s->n, s->h, s->w, s->c_in, s->c_out, s->kh, s->kw,
                   s->stride_h, s->stride_w, s->pad_top, s->pad_left, s->pad_bottom, s->pad_right, s->groups,
                   layers[i].need_dx);
        }
        return 0;
    }
    nn_set_threads(threads);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("# avemo bench_conv: %d threads, best of %d, %s time%s%s\n", threads, reps,
           twin_clock == CLOCK_MONOTONIC ? "wall" : "CPU", ct ? ", OPENBLAS_CORETYPE=" : "", ct ? ct : "");
    for (int i = 0; i < nl; i++) {
        if (only && !strstr(layers[i].name, only)) continue;
        const conv2d_shape *s = &layers[i].s;
        long oh = conv2d_out_h(s), ow = conv2d_out_w(s);
        long nx = (long)s->n * s->h * s->w * s->c_in, ny = (long)s->n * oh * ow * s->c_out;
        long nw = (long)s->c_out * (s->c_in / s->groups) * s->kh * s->kw;
        double flops = 2.0 * ny * (s->kh * s->kw * (s->c_in / s->groups));
        float *x = rnd(nx, 1), *w = rnd(nw, 2), *b = rnd(s->c_out, 3), *dy = rnd(ny, 4), *y = rnd(ny, 5);
        float *dx = rnd(nx, 6), *dw = rnd(nw, 7), *db = rnd(s->c_out, 8);
        conv1d_shape s1 = {s->n, s->w, s->c_in, s->c_out, s->kw, s->stride_w, s->pad_left, s->pad_right, s->groups};
        double best_f = 1e30, best_b = 1e30;
        for (int r = 0; r <= reps; r++) { /* r = 0 is the warm-up */
            double t0 = twin_now_s();
            int st = layers[i].conv1d ? conv1d_forward(y, x, w, b, &s1) : conv2d_forward(y, x, w, b, s);
            double t1 = twin_now_s();
            /* backward includes zeroing the gradients it accumulates into (PyTorch writes fresh tensors) */
            if (layers[i].need_dx) memset(dx, 0, sizeof(float) * nx);
            memset(dw, 0, sizeof(float) * nw);
            memset(db, 0, sizeof(float) * s->c_out);
            float *dxp = layers[i].need_dx ? dx : NULL;
            st |= layers[i].conv1d ? conv1d_backward(dxp, dw, db, dy, x, w, &s1)
                                   : conv2d_backward(dxp, dw, db, dy, x, w, s);
            double t2 = twin_now_s();
            if (st) {
                fprintf(stderr, "bench_conv: %s failed\n", layers[i].name);
                return 1;
            }
            if (r > 0 && t1 - t0 < best_f) best_f = t1 - t0;
            if (r > 0 && t2 - t1 < best_b) best_b = t2 - t1;
        }
        double bflops = flops * (layers[i].need_dx ? 2 : 1);
        printf("result %s fwd %.3f %.2f\n", layers[i].name, best_f * 1e3, flops / best_f * 1e-9);
        printf("result %s bwd %.3f %.2f\n", layers[i].name, best_b * 1e3, bflops / best_b * 1e-9);
        fflush(stdout);
        free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
    }
    return 0;
}
