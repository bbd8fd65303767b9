/* One step of train --finetune (train/finetune.c finetune_net_step) at the input sizes FER2013 can use, against
 * bench/torch_finetune.py (PyTorch 1.13 channels_last doing the same step), through bench/run.sh:
 *   bench_finetune [--specs] [--threads N] [--reps R] [--only CASE] [--cpu-time]
 * Cases step48, step64, step96, step112: batch 64 gray frames of S x S (already rendered: augmentation is the
 * caller's), MobileNetV2 width 1.0 in train mode (batch statistics), pooled features standardised, the
 * video-only head at T = 1 (attention head; its cost is < 1 % of the backbone's), cross-entropy with label
 * smoothing 0.1, backward through head and backbone, AdamW update of every parameter.
 * Prints "result <case> step <best ms> <GFLOP/s>" (nominal: 3 x 2 x conv MACs per image) and images/s. */
#include "avemo.h"
#include "core/rng.h"
#include "model/mobilenetv2.h"
#include "model/model.h"
#include "nn/nn.h"
#include "train/finetune.h"
#include "train/trainer.h"
#include "twin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 64
#define K 7

static const int sizes[] = {48, 64, 96, 112};

/* Nominal conv MACs of one S x S gray image (stride-2 stages, "same" output sizes). */
static double conv_macs(int S) {
    static const int t[] = {1, 6, 6, 6, 6, 6, 6}, c[] = {16, 24, 32, 64, 96, 160, 320}, n[] = {1, 2, 3, 4, 3, 3, 1},
                     s[] = {1, 2, 2, 2, 1, 2, 1};
    int h = (S + 1) / 2, cin = 32;
    double macs = (double)h * h * 32 * 9; /* stem, 1 channel */
    for (int g = 0; g < 7; g++)
        for (int i = 0; i < n[g]; i++) {
            int hid = cin * t[g], ho = i == 0 && s[g] == 2 ? (h + 1) / 2 : h;
            if (t[g] != 1) macs += (double)h * h * cin * hid;
            macs += (double)ho * ho * hid * 9 + (double)ho * ho * hid * c[g];
            h = ho, cin = c[g];
        }
    return macs + (double)h * h * cin * 1280;
}

static int run_case(int S, int reps) {
    mobilenetv2 bb;
    rng_t rng;
    rng_seed(&rng, 1);
    if (mobilenetv2_init(&bb, 1, 0) || mobilenetv2_alloc_grads(&bb)) return 1;
    mobilenetv2_init_random(&bb, &rng);
    model_config cfg;
    model_config_default(&cfg, K);
    cfg.modality = MODALITY_VIDEO, cfg.video_frames = 1, cfg.video_dim = MNV2_FEATURES, cfg.label_smoothing = 0.1f;
    model *head = NULL;
    if (model_create(&head, &cfg, 1)) return 1;
    train_options o;
    train_options_default(&o);
    o.optimizer = OPT_ADAMW, o.lr = 1e-3f, o.weight_decay = 0.05f;
    long nx = (long)BATCH * S * S;
    float *x = malloc(nx * sizeof(float)), mean[MNV2_FEATURES], std[MNV2_FEATURES];
    float *bb_m = calloc((size_t)bb.n_params, 4), *bb_v = calloc((size_t)bb.n_params, 4);
    float *head_m = calloc((size_t)head->n_params, 4), *head_v = calloc((size_t)head->n_params, 4);
    float *feat = malloc(sizeof(float) * BATCH * MNV2_FEATURES), *dfeat = malloc(sizeof(float) * BATCH * MNV2_FEATURES);
    int labels[BATCH];
    for (long i = 0; i < nx; i++) x[i] = 2 * rng_uniform(&rng) - 1;
    for (int i = 0; i < BATCH; i++) labels[i] = i % K;
    for (int j = 0; j < MNV2_FEATURES; j++) mean[j] = 0, std[j] = 1;
    finetune_net net = {&bb, head, mean, std, bb_m, bb_v, head_m, head_v, feat, dfeat};
    double best = 1e30;
    long step = 0;
    int rc = 0;
    for (int r = 0; r <= reps && !rc; r++) { /* r = 0: warm-up */
        double t0 = twin_now_s();
        rc = finetune_net_step(&net, &o, x, BATCH, S, labels, NULL, 1.0f, 1e-4f, ++step, &rng);
        double t = twin_now_s() - t0;
        if (r > 0 && t < best) best = t;
    }
    if (rc) fprintf(stderr, "step%d: %s\n", S, avemo_last_error());
    else {
        double flops = 3 * 2 * conv_macs(S) * BATCH;
        printf("result step%d step %.3f %.2f\n", S, best * 1e3, flops / best * 1e-9);
        printf("# step%d: batch %d, %.2f ms/image, %.1f images/s\n", S, BATCH, best * 1e3 / BATCH, BATCH / best);
    }
    free(x), free(bb_m), free(bb_v), free(head_m), free(head_v), free(feat), free(dfeat);
    model_free(head);
    mobilenetv2_free(&bb);
    return rc != 0;
}

int main(int argc, char **argv) {
    twin_args args = {.threads = 2, .reps = 3};
    if (twin_parse(argc, argv, &args, "usage: bench_finetune [--specs] [--threads N] [--reps R] [--only CASE] [--cpu-time]"))
        return 2;
    int status = 0;
    for (int k = 0; k < 4; k++) {
        char name[16];
        snprintf(name, sizeof name, "step%d", sizes[k]);
        if (args.only && strcmp(args.only, name)) continue;
        if (args.specs) {
            printf("spec %s %d 1 %d %d\n", name, BATCH, sizes[k], sizes[k]);
            continue;
        }
        nn_set_threads(args.threads);
        status |= run_case(sizes[k], args.reps);
    }
    return status;
}
