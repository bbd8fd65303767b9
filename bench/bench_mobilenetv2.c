/* MobileNetV2 benchmark: 1-channel (grayscale, the paper's input) 224 x 224 frames, width 1.0, random weights
 * (torchvision init). bench/run.sh runs this and bench/torch_mobilenetv2.py (torchvision mobilenet_v2 with a
 * 1-channel stem, channels_last) in alternating rounds and prints the ratios.
 *
 *   bench_mobilenetv2 [--specs] [--threads N] [--reps R] [--only CASE] [--cpu-time]
 * Cases:
 *   infer15  batch 15 (one clip's frames), BN folded into the convs (mobilenetv2_fold + mobilenetv2_infer,
 *            chunk 15): pass "fwd"
 *   train    one training step: train-mode forward (batch statistics) + backward to every parameter gradient
 *            (gradients zeroed first, inside the timing; dfeatures = 1, the gradient of sum(features); no dx):
 *            pass "step". Batch MNV2_TRAIN_BATCH (env), default 60 = 4 clips x 15 frames, not the
 *            8 x 15 = 120 of a training batch: measured peak RSS at batch 8 is 588 MB for us (~70 MB per frame:
 *            conv output and BN/ReLU6 output of all 52 units, plus the backward scratch) and 933 MB for PyTorch
 *            (~85 MB per frame after its ~250 MB of libraries), so 120 frames would need ~8.5 GB (ours) and
 *            ~10 GB (torch) on this shared 24 GB machine, where other jobs run beside it. 60 frames: ~4.3 and
 *            ~5 GB, ~2 s and ~3-4 s per step on 2 idle cores.
 *            At most 2 repeats (a step takes seconds), whatever --reps says.
 * Output lines: "result <case> <pass> <best ms> <GFLOP/s>", plus a "# <case> ... images/s" line. FLOPs are
 * nominal: forward 2 * MACs of the 52 convs (0.29 GMAC per 1-channel frame); a training step counts 3 x the
 * forward (forward, dx, dw; the stem has no dx, ignored).
 */
#include "avemo.h"
#include "core/rng.h"
#include "model/mobilenetv2.h"
#include "nn/nn.h"
#include "twin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIZE 224
#define INFER_BATCH 15
#define TRAIN_BATCH_DEFAULT 60 /* see the header: 120 frames need > 8 GB */
#define TRAIN_MAX_REPS 2

static int train_batch(void) {
    const char *e = getenv("MNV2_TRAIN_BATCH");
    int b = e ? atoi(e) : TRAIN_BATCH_DEFAULT;
    return b > 0 ? b : TRAIN_BATCH_DEFAULT;
}

/* MACs of one frame's forward (all 52 convs; pooling and BN not counted). */
static double macs_per_frame(const mobilenetv2 *m) {
    double macs = 0;
    int h = SIZE, w = SIZE;
    for (int i = 0; i < MNV2_UNITS; i++) {
        conv2d_shape s;
        mnv2_unit_shape(&s, &m->p.units[i], m->padding, 1, h, w);
        h = conv2d_out_h(&s);
        w = conv2d_out_w(&s);
        macs += (double)h * w * s.c_out * s.kh * s.kw * (s.c_in / s.groups);
    }
    return macs;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench_mobilenetv2: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static void report(const char *name, const char *pass, int batch, double best, double flops) {
    printf("result %s %s %.3f %.2f\n", name, pass, best * 1e3, flops / best * 1e-9);
    printf("# %s %s: batch %d, %.1f ms/image, %.2f images/s\n", name, pass, batch, best * 1e3 / batch,
           batch / best);
    fflush(stdout);
}

int main(int argc, char **argv) {
    twin_args args = {2, 5, 0, NULL};
    if (twin_parse(argc, argv, &args, "usage: bench_mobilenetv2 [--specs] [--threads N] [--reps R] [--only CASE] [--cpu-time]")) return 2;
    int threads = args.threads, reps = args.reps, specs = args.specs;
    const char *only = args.only;
    int tb = train_batch();
    if (specs) { /* spec <case> <batch> <in_channels> <h> <w> */
        printf("spec infer15 %d 1 %d %d\n", INFER_BATCH, SIZE, SIZE);
        printf("spec train %d 1 %d %d\n", tb, SIZE, SIZE);
        return 0;
    }
    if (reps < 1) reps = 1;
    nn_set_threads(threads);
    printf("# avemo bench_mobilenetv2: 1x%dx%d, width 1.0, %d threads, best of %d (train: of %d), %s time\n", SIZE,
           SIZE, threads, reps, reps < TRAIN_MAX_REPS ? reps : TRAIN_MAX_REPS,
           twin_clock == CLOCK_MONOTONIC ? "wall" : "CPU");

    mobilenetv2 m;
    if (mobilenetv2_init(&m, 1, 0)) {
        fprintf(stderr, "bench_mobilenetv2: %s\n", avemo_last_error());
        return 1;
    }
    rng_t rng;
    rng_seed(&rng, 1);
    mobilenetv2_init_random(&m, &rng);
    double fwd_flops = 2.0 * macs_per_frame(&m);

    if (!only || strstr("infer15", only)) {
        long nx = (long)INFER_BATCH * SIZE * SIZE;
        float *x = xmalloc(sizeof(float) * nx), *feat = xmalloc(sizeof(float) * INFER_BATCH * MNV2_FEATURES);
        for (long i = 0; i < nx; i++) x[i] = (float)(rng_uniform(&rng) * 2 - 1);
        mnv2_folded f;
        if (mobilenetv2_fold(&f, &m)) {
            fprintf(stderr, "bench_mobilenetv2: %s\n", avemo_last_error());
            return 1;
        }
        double best = 1e30;
        for (int r = 0; r <= reps; r++) { /* r = 0 is the warm-up */
            double t0 = twin_now_s();
            if (mobilenetv2_infer(&f, feat, x, INFER_BATCH, SIZE, SIZE, INFER_BATCH)) {
                fprintf(stderr, "bench_mobilenetv2: %s\n", avemo_last_error());
                return 1;
            }
            double t = twin_now_s() - t0;
            if (r > 0 && t < best) best = t;
        }
        report("infer15", "fwd", INFER_BATCH, best, fwd_flops * INFER_BATCH);
        mobilenetv2_folded_free(&f);
        free(x);
        free(feat);
    }

    if (!only || strstr("train", only)) {
        long nx = (long)tb * SIZE * SIZE;
        float *x = xmalloc(sizeof(float) * nx), *feat = xmalloc(sizeof(float) * tb * MNV2_FEATURES);
        float *dfeat = xmalloc(sizeof(float) * tb * MNV2_FEATURES);
        for (long i = 0; i < nx; i++) x[i] = (float)(rng_uniform(&rng) * 2 - 1);
        for (long i = 0; i < (long)tb * MNV2_FEATURES; i++) dfeat[i] = 1.0f; /* d sum(features) */
        if (mobilenetv2_alloc_grads(&m)) {
            fprintf(stderr, "bench_mobilenetv2: %s\n", avemo_last_error());
            return 1;
        }
        int treps = reps < TRAIN_MAX_REPS ? reps : TRAIN_MAX_REPS;
        double best = 1e30;
        for (int r = 0; r <= treps; r++) { /* r = 0 is the warm-up (allocates the saved activations) */
            double t0 = twin_now_s();
            mobilenetv2_zero_grads(&m);
            if (mobilenetv2_forward(&m, feat, x, tb, SIZE, SIZE, 1) || mobilenetv2_backward(&m, NULL, dfeat)) {
                fprintf(stderr, "bench_mobilenetv2: %s\n", avemo_last_error());
                return 1;
            }
            double t = twin_now_s() - t0;
            if (r > 0 && t < best) best = t;
        }
        report("train", "step", tb, best, 3 * fwd_flops * tb);
        free(x);
        free(feat);
        free(dfeat);
    }
    mobilenetv2_free(&m);
    return 0;
}
