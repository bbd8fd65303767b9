/* MobileNetV2 benchmark: width 1.0, random weights (torchvision init). bench/run.sh runs this beside its twins
 * on the same cases (the --specs lines), alternating, best of N: bench/torch_mobilenetv2.py (torchvision
 * mobilenet_v2, channels_last; eager, and with TORCH_JIT=1 traced + frozen + optimize_for_inference) and
 * bench/ort_mobilenetv2.js (ONNX Runtime, npm onnxruntime-node, graph optimisation "all", on the ONNX export
 * of the same architecture written by bench/ort_setup.sh).
 *
 *   bench_mobilenetv2 [--specs] [--threads N] [--reps R] [--only CASE] [--cpu-time]
 * Cases (--only takes a name, or a prefix of names ending in '*', e.g. "infer_g224*" or "infer*"):
 *   infer_<g|c><size>_b<batch>   BN-folded inference (mobilenetv2_fold + mobilenetv2_infer, one chunk of the
 *            whole batch) of gray (1-channel, the paper's input) or RGB (c) frames of size x size, batch 1 or 15
 *            (one clip's frames); size 224 (ImageNet), 112 (a smaller face size), 96 (gray only: the face
 *            size of the bundled face model) and 64 (gray only: the earlier face model's): pass "fwd". The old
 *            "infer15" is infer_g224_b15.
 *   train    one training step on gray 224 frames: train-mode forward (batch statistics) + backward to every
 *            parameter gradient (gradients zeroed first, inside the timing; dfeatures = 1, the gradient of
 *            sum(features); no dx): pass "step". Batch MNV2_TRAIN_BATCH (env), default 60 = 4 clips x 15 frames,
 *            not the 8 x 15 = 120 of a training batch: measured peak RSS at batch 8 is 588 MB for us (~70 MB per
 *            frame: conv output and BN/ReLU6 output of all 52 units, plus the backward scratch) and 933 MB for
 *            PyTorch (~85 MB per frame after its ~250 MB of libraries), so 120 frames would need ~8.5 GB (ours)
 *            and ~10 GB (torch) on this shared 24 GB machine. At most 2 repeats (a step takes seconds).
 * MNV2_REAL=SHARED (the ../shared folder): inference on real weights and real pictures instead of random ones:
 *   the ImageNet MobileNetV2 (SHARED/weights/mobilenet_v2, TFLite, dequantised; gray stem = summed RGB filters)
 *   on the stills and photos of SHARED/data/faces (sorted, cycled to fill a batch), resized bilinearly to the
 *   case's size, gray or RGB, scaled to [-1, 1]. Our speed depends on the data there (the project 1x1s skip
 *   input channels that are 0 over a tile of pixels, nn/blocked.h skip_zeros); a dense engine's does not.
 * Spec lines: "spec <case> <batch> <in_channels> <h> <w> <MACs per image>".
 * Output lines: "result <case> <pass> <best ms> <GFLOP/s>", plus a "# <case> ... images/s" line. FLOPs are
 * nominal: forward 2 * MACs of the 52 convs (0.29 GMAC per 1-channel 224 frame); a training step counts 3 x the
 * forward (forward, dx, dw; the stem has no dx, ignored).
 */
#include "avemo.h"
#include "core/rng.h"
#include "data/dataset_internal.h"
#include "io/image.h"
#include "model/mobilenetv2.h"
#include "nn/nn.h"
#include "twin.h"
#include "vision/imgops.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TRAIN_SIZE 224
#define TRAIN_BATCH_DEFAULT 60 /* see the header: 120 frames need > 8 GB */
#define TRAIN_MAX_REPS 2

typedef struct {
    const char *name;
    int channels, size, batch;
} infer_case;

static const infer_case infer_cases[] = {
    {"infer_g224_b15", 1, 224, 15}, {"infer_g224_b1", 1, 224, 1}, {"infer_c224_b15", 3, 224, 15},
    {"infer_c224_b1", 3, 224, 1},   {"infer_g112_b15", 1, 112, 15}, {"infer_g112_b1", 1, 112, 1},
    {"infer_c112_b15", 3, 112, 15}, {"infer_c112_b1", 3, 112, 1},   {"infer_g96_b15", 1, 96, 15},
    {"infer_g96_b1", 1, 96, 1},     {"infer_g64_b15", 1, 64, 15},   {"infer_g64_b1", 1, 64, 1},
};
#define N_INFER_CASES (int)(sizeof infer_cases / sizeof infer_cases[0])

static int train_batch(void) {
    const char *e = getenv("MNV2_TRAIN_BATCH");
    int b = e ? atoi(e) : TRAIN_BATCH_DEFAULT;
    return b > 0 ? b : TRAIN_BATCH_DEFAULT;
}

/* --only: a case name, or a prefix of names ending in '*' */
static int selected(const char *only, const char *name) {
    size_t n = only ? strlen(only) : 0;
    if (!only) return 1;
    return n && only[n - 1] == '*' ? !strncmp(name, only, n - 1) : !strcmp(name, only);
}

/* MACs of one frame's forward (all 52 convs; pooling and BN not counted). */
static double macs_per_frame(const mobilenetv2 *m, int size) {
    double macs = 0;
    int h = size, w = size;
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

static void fail(void) {
    fprintf(stderr, "bench_mobilenetv2: %s\n", avemo_last_error());
    exit(1);
}

static void report(const char *name, const char *pass, int batch, double best, double flops) {
    printf("result %s %s %.3f %.2f\n", name, pass, best * 1e3, flops / best * 1e-9);
    printf("# %s %s: batch %d, %.2f ms/image, %.2f images/s\n", name, pass, batch, best * 1e3 / batch,
           batch / best);
    fflush(stdout);
}

/* One model per stem width, random weights (torchvision init, seed 1). */
static void make_model(mobilenetv2 *m, int channels) {
    if (mobilenetv2_init(m, channels, 0)) fail();
    rng_t rng;
    rng_seed(&rng, 1);
    mobilenetv2_init_random(m, &rng);
}

/* The image files of dir (sorted: data/dataset_internal.h's listing) appended to names (at most max); returns the
 * new count. */
static int list_images(const char *dir, char **names, int n, int max) {
    dir_list l;
    if (dataset_list_dir(dir, &l)) {
        fprintf(stderr, "bench_mobilenetv2: %s (MNV2_REAL must name the shared folder)\n", avemo_last_error());
        exit(1);
    }
    for (int i = 0; i < l.n && n < max; i++) {
        if (!image_is_image_path(l.names[i])) continue;
        if (!(names[n++] = dataset_path_join(dir, l.names[i]))) {
            fprintf(stderr, "bench_mobilenetv2: out of memory\n");
            exit(1);
        }
    }
    dataset_dir_list_free(&l);
    return n;
}

/* MNV2_REAL's pictures: batch frames of size x size x channels in [-1, 1], the files cycled. */
static void real_frames(float *x, const char *shared, int batch, int size, int channels) {
    char *names[256], dir[4096];
    int n = 0;
    snprintf(dir, sizeof dir, "%s/data/faces/ravdess-stills", shared);
    n = list_images(dir, names, n, 256);
    snprintf(dir, sizeof dir, "%s/data/faces/photos", shared);
    n = list_images(dir, names, n, 256);
    if (!n) {
        fprintf(stderr, "bench_mobilenetv2: no pictures under %s/data/faces\n", shared);
        exit(1);
    }
    long px = (long)size * size;
    uint8_t *rgb = xmalloc(px * 3), *gray = xmalloc(px);
    for (int i = 0; i < batch; i++) {
        image_rgb img;
        if (image_load_rgb(names[i % n], &img)) fail();
        resize_bilinear_u8(rgb, size, size, img.rgb, img.h, img.w, 3);
        image_free(&img);
        rgb_to_gray(gray, rgb, px);
        const uint8_t *src = channels == 1 ? gray : rgb;
        for (long j = 0; j < px * channels; j++) x[i * px * channels + j] = src[j] / 127.5f - 1.0f;
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(rgb);
    free(gray);
}

static void run_infer(const infer_case *c, int reps) {
    mobilenetv2 m;
    const char *shared = getenv("MNV2_REAL");
    long nx = (long)c->batch * c->size * c->size * c->channels;
    float *x = xmalloc(sizeof(float) * nx), *feat = xmalloc(sizeof(float) * c->batch * MNV2_FEATURES);
    if (shared && *shared) {
        char path[4096];
        snprintf(path, sizeof path, "%s/weights/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite", shared);
        if (mobilenetv2_from_tflite(&m, path, c->channels)) fail();
        real_frames(x, shared, c->batch, c->size, c->channels);
    } else {
        make_model(&m, c->channels);
        rng_t rng;
        rng_seed(&rng, 2);
        for (long i = 0; i < nx; i++) x[i] = (float)(rng_uniform(&rng) * 2 - 1);
    }
    mnv2_folded f;
    if (mobilenetv2_fold(&f, &m)) fail();
    double best = 1e30;
    for (int r = 0; r <= reps; r++) { /* r = 0 is the warm-up */
        double t0 = twin_now_s();
        if (mobilenetv2_infer(&f, feat, x, c->batch, c->size, c->size, c->batch)) fail();
        double t = twin_now_s() - t0;
        if (r > 0 && t < best) best = t;
    }
    report(c->name, "fwd", c->batch, best, 2.0 * macs_per_frame(&m, c->size) * c->batch);
    mobilenetv2_folded_free(&f);
    mobilenetv2_free(&m);
    free(x);
    free(feat);
}

static void run_train(int tb, int reps) {
    mobilenetv2 m;
    make_model(&m, 1);
    long nx = (long)tb * TRAIN_SIZE * TRAIN_SIZE;
    float *x = xmalloc(sizeof(float) * nx), *feat = xmalloc(sizeof(float) * tb * MNV2_FEATURES);
    float *dfeat = xmalloc(sizeof(float) * tb * MNV2_FEATURES);
    rng_t rng;
    rng_seed(&rng, 2);
    for (long i = 0; i < nx; i++) x[i] = (float)(rng_uniform(&rng) * 2 - 1);
    for (long i = 0; i < (long)tb * MNV2_FEATURES; i++) dfeat[i] = 1.0f; /* d sum(features) */
    if (mobilenetv2_alloc_grads(&m)) fail();
    int treps = reps < TRAIN_MAX_REPS ? reps : TRAIN_MAX_REPS;
    double best = 1e30;
    for (int r = 0; r <= treps; r++) { /* r = 0 is the warm-up (allocates the saved activations) */
        double t0 = twin_now_s();
        mobilenetv2_zero_grads(&m);
        if (mobilenetv2_forward(&m, feat, x, tb, TRAIN_SIZE, TRAIN_SIZE, 1) || mobilenetv2_backward(&m, NULL, dfeat))
            fail();
        double t = twin_now_s() - t0;
        if (r > 0 && t < best) best = t;
    }
    report("train", "step", tb, best, 3 * 2.0 * macs_per_frame(&m, TRAIN_SIZE) * tb);
    mobilenetv2_free(&m);
    free(x);
    free(feat);
    free(dfeat);
}

int main(int argc, char **argv) {
    twin_args args = {2, 5, 0, NULL};
    if (twin_parse(argc, argv, &args,
                   "usage: bench_mobilenetv2 [--specs] [--threads N] [--reps R] [--only CASE] [--cpu-time]"))
        return 2;
    int tb = train_batch();
    if (args.specs) { /* spec <case> <batch> <in_channels> <h> <w> <MACs per image> */
        mobilenetv2 m;
        make_model(&m, 1);
        for (int i = 0; i < N_INFER_CASES; i++) {
            const infer_case *c = &infer_cases[i];
            mobilenetv2 mc;
            make_model(&mc, c->channels);
            printf("spec %s %d %d %d %d %.0f\n", c->name, c->batch, c->channels, c->size, c->size,
                   macs_per_frame(&mc, c->size));
            mobilenetv2_free(&mc);
        }
        printf("spec train %d 1 %d %d %.0f\n", tb, TRAIN_SIZE, TRAIN_SIZE, macs_per_frame(&m, TRAIN_SIZE));
        mobilenetv2_free(&m);
        return 0;
    }
    int reps = args.reps < 1 ? 1 : args.reps;
    nn_set_threads(args.threads);
    const char *real = getenv("MNV2_REAL");
    printf("# avemo bench_mobilenetv2: width 1.0, %s, %d threads, best of %d (train: of %d), %s time%s%s\n",
           real && *real ? "ImageNet weights on real pictures (MNV2_REAL; train: random)" : "random weights and input",
           args.threads, reps, reps < TRAIN_MAX_REPS ? reps : TRAIN_MAX_REPS,
           twin_clock == CLOCK_MONOTONIC ? "wall" : "CPU", getenv("OPENBLAS_CORETYPE") ? ", OPENBLAS_CORETYPE=" : "",
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "");
    for (int i = 0; i < N_INFER_CASES; i++)
        if (selected(args.only, infer_cases[i].name)) run_infer(&infer_cases[i], reps);
    if (selected(args.only, "train")) run_train(tb, reps);
    return 0;
}
