/* Head benchmark: eval forward and one training step (train forward + backward) of the trainable head at
 * the paper's sizes, on cached features (video [B, 15, 1280], MFCC [B, 156, 10]). bench/run.sh runs this and
 * bench/torch_head.py (the same network in PyTorch) in alternating rounds and prints the ratios.
 *
 *   bench_head [--specs] [--threads N] [--reps R] [--only CASE] [--cpu-time]
 * Output lines: "result <case> <eval|step> <best ms> 0" (no FLOP count: the cost is spread over many small
 * layers). Batch 32 = the baseline's batch 8 expanded x4 by modality dropout.
 */
#include "avemo.h"
#include "model/model.h"
#include "twin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *name;
    model_modality mod;
    model_fusion fusion;
    audio_stream_variant astream;
    int batch;
} bench_case;

static const bench_case cases[] = {
    {"attention_b8", MODALITY_AV, FUSION_ATTENTION, AUDIO_STREAM_PAPER, 8},
    {"attention_b32", MODALITY_AV, FUSION_ATTENTION, AUDIO_STREAM_PAPER, 32},
    {"ia_b32", MODALITY_AV, FUSION_IA, AUDIO_STREAM_BASELINE, 32},
    {"it_b32", MODALITY_AV, FUSION_IT, AUDIO_STREAM_BASELINE, 32},
    {"lt_b32", MODALITY_AV, FUSION_LT, AUDIO_STREAM_BASELINE, 32},
    {"audio_b32", MODALITY_AUDIO, FUSION_ATTENTION, AUDIO_STREAM_PAPER, 32},
    {"video_b32", MODALITY_VIDEO, FUSION_ATTENTION, AUDIO_STREAM_PAPER, 32},
};

int main(int argc, char **argv) {
    twin_args args = {0, 5, 0, NULL};
    if (twin_parse(argc, argv, &args, "usage: bench_head [--specs] [--threads N] [--reps R] [--only CASE] [--cpu-time]")) return 2;
    int threads = args.threads, reps = args.reps, specs = args.specs;
    const char *only = args.only;
    if (threads > 0) nn_set_threads(threads);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const bench_case *c = &cases[k];
        if (specs) {
            printf("spec %s %s %s %s %d\n", c->name, model_modality_name(c->mod), model_fusion_name(c->fusion),
                   audio_stream_name(c->astream), c->batch);
            continue;
        }
        if (only && strcmp(only, c->name)) continue;
        model_config cfg;
        model_config_default(&cfg, 8);
        cfg.modality = c->mod, cfg.fusion = c->fusion, cfg.audio_stream = c->astream;
        model *m = NULL;
        if (model_create(&m, &cfg, 1)) {
            fprintf(stderr, "bench_head: %s\n", avemo_last_error());
            return 1;
        }
        int B = c->batch, *labels = malloc(sizeof(int) * (size_t)B);
        long nv = (long)B * cfg.video_frames * cfg.video_dim, na = (long)B * cfg.audio_frames * cfg.audio_channels;
        float *video = malloc(sizeof(float) * (size_t)nv), *audio = malloc(sizeof(float) * (size_t)na);
        rng_t r;
        rng_seed(&r, 1);
        for (long i = 0; i < nv; i++) video[i] = (float)rng_uniform(&r);
        for (long i = 0; i < na; i++) audio[i] = (float)rng_normal(&r);
        for (int i = 0; i < B; i++) labels[i] = i % 8;
        double best_eval = 1e30, best_step = 1e30;
        for (int rep = 0; rep <= reps; rep++) { /* rep 0 warms up */
            double t0 = twin_now_s();
            if (model_forward(m, video, audio, NULL, B, 0, NULL)) return 1;
            double t1 = twin_now_s();
            model_zero_grad(m);
            if (model_forward(m, video, audio, labels, B, 1, &r) || model_backward(m, NULL, NULL)) return 1;
            double t2 = twin_now_s();
            if (rep) {
                if (t1 - t0 < best_eval) best_eval = t1 - t0;
                if (t2 - t1 < best_step) best_step = t2 - t1;
            }
        }
        printf("result %s eval %.4f 0\n", c->name, 1e3 * best_eval);
        printf("result %s step %.4f 0\n", c->name, 1e3 * best_step);
        fflush(stdout);
        free(video), free(audio), free(labels);
        model_free(m);
    }
    return 0;
}
