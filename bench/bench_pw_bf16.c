/* The 1x1 kernel in fp32 (blk_pointwise) against its bf16 variant (blk_pointwise_bf16, AVX512_BF16 builds) on
 * MobileNetV2's 1x1 layers, each over a whole layer's pixels (m = H * W, batch 1) at input sizes 224 and 64.
 *
 *   bench_pw_bf16 [--reps R]
 * One thread, thread CPU time; per layer the two kernels alternate call by call (R calls each), min and median
 * kept. Output: per layer "layer k n m fp32_min bf16_min ratio fp32_med bf16_med ratio" (us), then per input
 * size the sums over the network's 1x1 layers (each layer counted as often as the network has it) and their
 * ratio fp32 / bf16 (> 1: bf16 faster), and GMAC/s of each. The bf16 time includes rounding the input to bf16.
 */
#include "nn/blocked.h"

#include "core/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if BLK_HAVE_BF16
static double cpu_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float *rnd(long n, unsigned seed, float lo, float hi) {
    float *a = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (!a) {
        fprintf(stderr, "bench_pw_bf16: out of memory\n");
        exit(1);
    }
    rng_t r;
    rng_seed(&r, seed);
    for (long i = 0; i < n; i++) a[i] = lo + (hi - lo) * (float)rng_uniform(&r);
    return a;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* MobileNetV2's 1x1 layers: input channels, output channels, stride of the feature map against the input
 * (2 = the 112 x 112 map of a 224 input), how often the network has the layer, ReLU6, pooled (the head) */
static const struct {
    int k, n, down, times, relu6, pool;
} layers[] = {
    {32, 16, 2, 1, 0, 0},    {16, 96, 2, 1, 1, 0},    {96, 24, 4, 1, 0, 0},   {24, 144, 4, 2, 1, 0},
    {144, 24, 4, 1, 0, 0},   {144, 32, 8, 1, 0, 0},   {32, 192, 8, 3, 1, 0},  {192, 32, 8, 2, 0, 0},
    {192, 64, 16, 1, 0, 0},  {64, 384, 16, 4, 1, 0},  {384, 64, 16, 3, 0, 0}, {384, 96, 16, 1, 0, 0},
    {96, 576, 16, 3, 1, 0},  {576, 96, 16, 2, 0, 0},  {576, 160, 32, 1, 0, 0}, {160, 960, 32, 3, 1, 0},
    {960, 160, 32, 2, 0, 0}, {960, 320, 32, 1, 0, 0}, {320, 1280, 32, 1, 1, 1},
};

int main(int argc, char **argv) {
    int reps = 200;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("bench_pw_bf16: 1 thread, thread CPU time, %d alternating calls per kernel and layer%s%s\n", reps,
           ct ? ", OPENBLAS_CORETYPE=" : "", ct ? ct : "");
    double *tf = malloc(sizeof(double) * reps), *tb = malloc(sizeof(double) * reps);
    static const int sizes[] = {224, 64};
    for (int s = 0; s < 2; s++) {
        int g = sizes[s];
        double sum_f = 0, sum_b = 0, sum_fm = 0, sum_bm = 0, macs = 0;
        printf("\ninput %d, batch 1:\n%10s %5s %5s %6s %10s %10s %6s %10s %10s %6s\n", g, "layer", "k", "n", "m",
               "fp32 min", "bf16 min", "ratio", "fp32 med", "bf16 med", "ratio");
        for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
            int k = layers[l].k, n = layers[l].n, hw = (g + layers[l].down - 1) / layers[l].down;
            long m = (long)hw * hw, xps = m * BLK_LANES, yps = xps;
            float *w = rnd((long)n * k, 1, -0.2f, 0.2f), *b = rnd(n, 2, -1, 1);
            float *x = rnd(xps * blk_blocks(k), 3, 0, 3), *y = rnd(yps * blk_blocks(n), 4, 0, 1);
            float *pool = rnd((long)blk_blocks(n) * BLK_LANES, 5, 0, 1);
            float *pf = malloc(sizeof(float) * blk_pw_packed_floats(k, n));
            float *pb = malloc(sizeof(float) * blk_pw_bf16_packed_floats(k, n));
            blk_pw wf, wb;
            blk_pw_pack(&wf, pf, w, b, k, n);
            blk_pw_bf16_pack(&wb, pb, w, b, k, n);
            float *scratch = malloc(sizeof(float) * blk_pw_bf16_scratch_floats(&wb, m));
            blk_pw_args a = {x, xps, m, y, yps, layers[l].relu6, NULL, 0, layers[l].pool ? pool : NULL, m};
            for (int r = 0; r < reps; r++) {
                double t0 = cpu_s();
                blk_pointwise(&wf, &a);
                double t1 = cpu_s();
                blk_pointwise_bf16(&wb, &a, scratch);
                double t2 = cpu_s();
                tf[r] = t1 - t0, tb[r] = t2 - t1;
            }
            qsort(tf, reps, sizeof *tf, cmp_d), qsort(tb, reps, sizeof *tb, cmp_d);
            double fmin = tf[0], bmin = tb[0], fmed = tf[reps / 2], bmed = tb[reps / 2];
            char name[32];
            snprintf(name, sizeof name, "%dx%d", hw, hw);
            printf("%10s %5d %5d %6ld %10.1f %10.1f %6.2f %10.1f %10.1f %6.2f  x%d\n", name, k, n, m, fmin * 1e6,
                   bmin * 1e6, fmin / bmin, fmed * 1e6, bmed * 1e6, fmed / bmed, layers[l].times);
            int t = layers[l].times;
            sum_f += t * fmin, sum_b += t * bmin, sum_fm += t * fmed, sum_bm += t * bmed;
            macs += (double)t * m * k * n;
            free(w), free(b), free(x), free(y), free(pool), free(pf), free(pb), free(scratch);
        }
        printf("%10s %5s %5s %6s %10.1f %10.1f %6.2f %10.1f %10.1f %6.2f\n", "all 1x1", "", "", "", sum_f * 1e6,
               sum_b * 1e6, sum_f / sum_b, sum_fm * 1e6, sum_bm * 1e6, sum_fm / sum_bm);
        printf("result pw_g%d_b1 fp32 %.1f us bf16 %.1f us ratio %.2f (min) | %.2f (median) | %.1f / %.1f GMAC/s\n",
               g, sum_f * 1e6, sum_b * 1e6, sum_f / sum_b, sum_fm / sum_bm, macs / sum_f * 1e-9, macs / sum_b * 1e-9);
    }
    free(tf), free(tb);
    return 0;
}
#else
int main(void) {
    printf("bench_pw_bf16: skipped (this build has no AVX512_BF16)\n");
    return 0;
}
#endif
