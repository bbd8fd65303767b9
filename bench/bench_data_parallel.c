/* Data-parallel training on paper: how far `avemo train --distribute batch` (train/data_parallel.h) can scale,
 * from what one step costs here and what it sends. Per case it measures (1 thread, process CPU time, best of
 * R after a warm-up) the compute of one training step (train forward + backward) at the rows one rank gets of
 * the global batch, counts the floats of the gradient allreduce (one per step, n_params) and the synchronised
 * BN sums (through a counting nn.h batchnorm_set_sync hook), and prints the modelled step time and speed-up at
 * P = 1, 2, 8, 64 ranks over two stated networks:
 *   step(P)  = compute(rows / P) + allreduce(4 n_params bytes) + BN sums (2 per BN layer: forward, backward)
 *   allreduce of n bytes, ring (the large one):   2 (P - 1) alpha + 2 (P - 1) / P * n / beta
 *   small allreduce, recursive doubling (BN sums): ceil(log2 P) (alpha + m / beta)
 *   10 GbE:              alpha 30 us, beta 1.1 GB/s (TCP, MPI over sockets)
 *   InfiniBand HDR100:   alpha  2 us, beta  11 GB/s
 * Nothing overlaps (avemo sums the gradients after the backward); with fewer rows than ranks a batch runs
 * whole on every rank (no gain). Cases: the paper's audio-visual head at the baseline's batch 8 x 4 (modality
 * dropout) = 32 rows and at 256 rows; MobileNetV2 fine-tuning (1-channel 224 x 224 frames, the face trainer's
 * backbone) at 256 frames, its compute taken as the frames x the cost per frame measured at 16 frames.
 *
 *   bench_data_parallel [--reps R] [--only head|mnv2]
 */
#include "avemo.h"
#include "model/mobilenetv2.h"
#include "model/model.h"
#include "nn/nn.h"
#include "twin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MNV2_SIZE 224
#define N_RANKS 4
static const int ranks[N_RANKS] = {1, 2, 8, 64};

typedef struct {
    const char *name;
    double alpha_s, beta_bytes_s;
} network;
static const network networks[] = {{"10 GbE", 30e-6, 1.1e9}, {"IB HDR100", 2e-6, 11e9}};

/* ---- what a step sends: a counting BN hook */
static long bn_sums, bn_doubles;
static int count_bn(double *v, long n, void *ctx) {
    bn_sums++;
    bn_doubles += n;
    return 0;
}

typedef struct {
    const char *name;
    int global_rows;
    long n_params;
    long bn_sums, bn_doubles; /* per step */
    double ms_per_row, ms_fixed; /* compute(rows) = fixed + rows x per_row when exact is 0 */
    double exact_ms[N_RANKS];    /* measured at rows / P, or 0 */
} dp_case;

static double ring_s(const network *n, int P, double bytes) {
    return P == 1 ? 0 : 2.0 * (P - 1) * n->alpha_s + 2.0 * (P - 1) / P * bytes / n->beta_bytes_s;
}

static double small_s(const network *n, int P, double bytes) {
    return P == 1 ? 0 : ceil(log2((double)P)) * (n->alpha_s + bytes / n->beta_bytes_s);
}

static void print_model(const dp_case *c) {
    printf("\n%s: global batch %d rows, %ld parameters (%.2f MB of gradient per step), %ld BN sums per step "
           "(%.1f KB)\n", c->name, c->global_rows, c->n_params, 4e-6 * c->n_params, c->bn_sums, 8e-3 * c->bn_doubles);
    printf("| network | ranks | rows/rank | compute ms | gradient allreduce ms | BN sums ms | step ms | speed-up |\n");
    printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    double one = 0;
    for (size_t k = 0; k < sizeof networks / sizeof *networks; k++) {
        const network *n = &networks[k];
        for (int i = 0; i < N_RANKS; i++) {
            int P = ranks[i], whole = c->global_rows < P;
            double rows = whole ? c->global_rows : (double)c->global_rows / P;
            double comp = c->exact_ms[i] > 0 ? c->exact_ms[i] : c->ms_fixed + rows * c->ms_per_row;
            double grad = whole ? 0 : 1e3 * ring_s(n, P, 4.0 * c->n_params);
            double bn = whole ? 0 : 1e3 * c->bn_sums * small_s(n, P, 8.0 * c->bn_doubles / fmax(1, c->bn_sums));
            double step = comp + grad + bn;
            if (P == 1) one = step;
            printf("| %s | %d | %s%.1f | %.2f | %.2f | %.2f | %.2f | %.2fx |\n", n->name, P, whole ? "whole " : "",
                   rows, comp, grad, bn, step, one / step);
        }
    }
    fflush(stdout);
}

/* ---- the head */

static double head_step_ms(model *m, const model_config *cfg, int B, int reps) {
    long nv = (long)B * cfg->video_frames * cfg->video_dim, na = (long)B * cfg->audio_frames * cfg->audio_channels;
    float *video = malloc(sizeof(float) * (size_t)nv), *audio = malloc(sizeof(float) * (size_t)na);
    int *labels = malloc(sizeof(int) * (size_t)B);
    rng_t r;
    rng_seed(&r, 1);
    for (long i = 0; i < nv; i++) video[i] = (float)rng_uniform(&r);
    for (long i = 0; i < na; i++) audio[i] = (float)rng_normal(&r);
    for (int i = 0; i < B; i++) labels[i] = i % cfg->n_classes;
    double best = 1e30;
    for (int rep = 0; rep <= reps; rep++) {
        double t0 = twin_now_s();
        model_zero_grad(m);
        if (model_forward(m, video, audio, labels, B, 1, &r) || model_backward(m, NULL, NULL)) exit(1);
        double t = twin_now_s() - t0;
        if (rep && t < best) best = t;
    }
    free(video), free(audio), free(labels);
    return 1e3 * best;
}

static void head_case(int global_rows, int reps) {
    model_config cfg;
    model_config_default(&cfg, 8);
    cfg.modality = MODALITY_AV;
    model *m = NULL;
    if (model_create(&m, &cfg, 1)) {
        fprintf(stderr, "bench_data_parallel: %s\n", avemo_last_error());
        exit(1);
    }
    char name[64];
    snprintf(name, sizeof name, "audio-visual head (attention fusion, paper widths)");
    dp_case c = {name, global_rows, m->n_params, 0, 0, 0, 0, {0}};
    bn_sums = bn_doubles = 0;
    batchnorm_set_sync(count_bn, NULL);
    head_step_ms(m, &cfg, 2, 0);
    batchnorm_set_sync(NULL, NULL);
    c.bn_sums = bn_sums / 2, c.bn_doubles = bn_doubles / 2; /* head_step_ms ran the step twice */
    for (int i = 0; i < N_RANKS; i++) {
        int rows = global_rows < ranks[i] ? global_rows : global_rows / ranks[i];
        c.exact_ms[i] = head_step_ms(m, &cfg, rows, reps);
    }
    print_model(&c);
    model_free(m);
}

/* ---- MobileNetV2 fine-tuning */

static double mnv2_step_ms(mobilenetv2 *m, int n, int reps) {
    long nx = (long)n * MNV2_SIZE * MNV2_SIZE;
    float *x = malloc(sizeof(float) * (size_t)nx), *feat = malloc(sizeof(float) * (size_t)n * MNV2_FEATURES);
    float *dfeat = malloc(sizeof(float) * (size_t)n * MNV2_FEATURES);
    rng_t r;
    rng_seed(&r, 2);
    for (long i = 0; i < nx; i++) x[i] = (float)(rng_uniform(&r) * 2 - 1);
    for (long i = 0; i < (long)n * MNV2_FEATURES; i++) dfeat[i] = 1.0f;
    double best = 1e30;
    for (int rep = 0; rep <= reps; rep++) {
        double t0 = twin_now_s();
        mobilenetv2_zero_grads(m);
        if (mobilenetv2_forward(m, feat, x, n, MNV2_SIZE, MNV2_SIZE, 1) || mobilenetv2_backward(m, NULL, dfeat)) exit(1);
        double t = twin_now_s() - t0;
        if (rep && t < best) best = t;
    }
    free(x), free(feat), free(dfeat);
    return 1e3 * best;
}

static void mnv2_case(int global_rows, int reps) {
    mobilenetv2 m;
    rng_t r;
    rng_seed(&r, 1);
    if (mobilenetv2_init(&m, 1, 0) || mobilenetv2_alloc_grads(&m)) {
        fprintf(stderr, "bench_data_parallel: %s\n", avemo_last_error());
        exit(1);
    }
    mobilenetv2_init_random(&m, &r);
    dp_case c = {"MobileNetV2 fine-tuning (1 x 224 x 224 frames)", global_rows, m.n_params, 0, 0, 0, 0, {0}};
    bn_sums = bn_doubles = 0;
    batchnorm_set_sync(count_bn, NULL);
    mnv2_step_ms(&m, 1, 0);
    batchnorm_set_sync(NULL, NULL);
    c.bn_sums = bn_sums, c.bn_doubles = bn_doubles;
    int reps2 = reps < 2 ? reps : 2;
    double t4 = mnv2_step_ms(&m, 4, reps2), t16 = mnv2_step_ms(&m, 16, reps2);
    c.ms_per_row = t16 / 16.0; /* the larger batch's cost per frame, for every batch: smaller batches ran faster
                                  per frame here (cache), so the model does not credit ranks with that */
    printf("\nMobileNetV2 step, measured: 4 frames %.1f ms (%.1f per frame), 16 frames %.1f ms (%.1f per frame; the "
           "model's cost per frame)\n", t4, t4 / 4, t16, c.ms_per_row);
    print_model(&c);
    mobilenetv2_free(&m);
}

int main(int argc, char **argv) {
    twin_args args = {1, 5, 0, NULL};
    twin_clock = CLOCK_PROCESS_CPUTIME_ID;
    if (twin_parse(argc, argv, &args, "usage: bench_data_parallel [--reps R] [--only head|mnv2]")) return 2;
    nn_set_threads(1);
    printf("# avemo bench_data_parallel: 1 thread, process CPU time, best of %d; model of the step over P ranks "
           "(see the source's header)\n", args.reps);
    if (!args.only || !strcmp(args.only, "head")) {
        head_case(32, args.reps);
        head_case(256, args.reps < 2 ? args.reps : 2);
    }
    if (!args.only || !strcmp(args.only, "mnv2")) mnv2_case(256, args.reps);
    return 0;
}
