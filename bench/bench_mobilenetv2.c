/* MobileNetV2 frame embedding throughput (the visual stream's frozen-feature path, spec 5): 1-channel
 * 224 x 224 frames, BN-folded inference (mobilenetv2_infer) against the unfolded eval forward
 * (mobilenetv2_forward, which also stores every activation for backward), same weights, same run. Also one
 * train-mode forward + backward (fine-tuning cost per frame). Threads: OpenMP default. */
#include "core/rng.h"
#include "model/mobilenetv2.h"
#include "nn/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define FRAMES 16
#define SIZE 224

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu_s(void) { /* all threads of the process: honest on a shared, loaded machine */
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    mobilenetv2 m;
    if (mobilenetv2_init(&m, 1, 0) || mobilenetv2_alloc_grads(&m)) return 1;
    rng_t rng;
    rng_seed(&rng, 1);
    mobilenetv2_init_random(&m, &rng);
    float *x = malloc(sizeof(float) * FRAMES * SIZE * SIZE), *feat = malloc(sizeof(float) * FRAMES * MNV2_FEATURES);
    float *dfeat = calloc(FRAMES * MNV2_FEATURES, sizeof(float));
    for (long i = 0; i < (long)FRAMES * SIZE * SIZE; i++) x[i] = (float)(rng_uniform(&rng) * 2 - 1);
    for (long i = 0; i < (long)FRAMES * MNV2_FEATURES; i++) dfeat[i] = (float)rng_normal(&rng);
    mnv2_folded f;
    if (!x || !feat || mobilenetv2_fold(&f, &m)) return 1;
    mobilenetv2_infer(&f, feat, x, FRAMES, SIZE, SIZE, FRAMES); /* warm-up */
    double t0 = now_s(), c0 = cpu_s();
    if (mobilenetv2_infer(&f, feat, x, FRAMES, SIZE, SIZE, FRAMES)) return 1;
    double t1 = now_s(), c1 = cpu_s();
    if (mobilenetv2_forward(&m, feat, x, FRAMES, SIZE, SIZE, 0)) return 1;
    double t2 = now_s();
    if (mobilenetv2_forward(&m, feat, x, FRAMES, SIZE, SIZE, 1) || mobilenetv2_backward(&m, NULL, dfeat)) return 1;
    double t3 = now_s();
    double folded = (t1 - t0) / FRAMES, eval = (t2 - t1) / FRAMES, train = (t3 - t2) / FRAMES;
    printf("mobilenetv2 1x%dx%d, %d frames, %d threads: folded inference %.1f ms/frame (%.1f frames/s), "
           "unfolded eval %.1f ms/frame, unfolded/folded = %.2fx; train forward+backward %.1f ms/frame\n",
           SIZE, SIZE, FRAMES, nn_get_threads(), folded * 1e3, 1 / folded, eval * 1e3, eval / folded, train * 1e3);
    printf("  folded inference CPU time %.1f ms/frame (all threads; %.2f GMAC/s at 0.30 GMAC per frame)\n",
           (c1 - c0) / FRAMES * 1e3, 0.30 * FRAMES / (c1 - c0));
    mobilenetv2_folded_free(&f);
    mobilenetv2_free(&m);
    free(x);
    free(feat);
    free(dfeat);
    return 0;
}
