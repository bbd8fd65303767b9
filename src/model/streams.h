/* The two streams of the head (spec 4), each in two stages so the baseline's `ia` and `it` fusions can act
 * between them. Stage s maps x to the last block's y; [b, t, c] channels-last throughout. */
#ifndef AVEMO_MODEL_STREAMS_H
#define AVEMO_MODEL_STREAMS_H
#include "model/blocks.h"
#include "model/config.h"

/* Visual temporal stream (Table I): per-frame MobileNetV2 features [B, T, 1280]
 *   -> stage 1: residual block, two Conv1D(k=3, 64, same) + BN + ReLU -> [B, T, 64]
 *   -> stage 2: residual block, two Conv1D(k=3, 128, same) + BN + ReLU -> [B, T, 128] */
typedef struct { resblock_p stage[2]; } temporal_stream_p;
typedef struct { resblock_a stage[2]; } temporal_stream_a;
typedef struct { resblock_dims stage[2]; } temporal_stream_dims;
void temporal_stream_setup(temporal_stream_dims *d, const model_config *c);
void temporal_stream_declare(layout *L, temporal_stream_p *p, const temporal_stream_dims *d);
void temporal_stream_declare_acts(layout *L, temporal_stream_a *a, int B, const temporal_stream_dims *d);
int temporal_stream_forward(const temporal_stream_p *p, const temporal_stream_a *a, int stage, const float *x,
                            int B, const temporal_stream_dims *d, int train);
int temporal_stream_backward(const temporal_stream_p *p, const temporal_stream_p *g, const temporal_stream_a *a,
                             const temporal_stream_a *da, int stage, const float *x, float *dx, int B,
                             const temporal_stream_dims *d);

/* Audio stream (Table II): MFCC [B, 156, 10]
 *   paper: 4 x (Conv1D(k=3, 64, same) + BN + residual + ReLU + MaxPool1d(2)) -> [B, 9, 64]
 *          (stage 1 = blocks 1-2 -> [B, 39, 64], stage 2 = blocks 3-4)
 *   baseline: Conv1D k=3 valid + BN + ReLU + MaxPool1d(2, 1) per block, 10->64->128 (stage 1, [B, 150, 128]),
 *          128->256->128 (stage 2) -> [B, 144, 128] */
typedef struct { audio_block_p block[MODEL_MAX_AUDIO_BLOCKS]; } audio_stream_p;
typedef struct { audio_block_a block[MODEL_MAX_AUDIO_BLOCKS]; } audio_stream_a;
typedef struct {
    int n_blocks, split; /* stage 1 = blocks [0, split), stage 2 = [split, n_blocks) */
    audio_block_dims block[MODEL_MAX_AUDIO_BLOCKS];
} audio_stream_dims;
void audio_stream_setup(audio_stream_dims *d, const model_config *c);
int audio_stream_out_t(const audio_stream_dims *d, int stage);
int audio_stream_out_c(const audio_stream_dims *d, int stage);
void audio_stream_declare(layout *L, audio_stream_p *p, const audio_stream_dims *d);
void audio_stream_declare_acts(layout *L, audio_stream_a *a, int B, const audio_stream_dims *d);
/* output: a->block[last block of the stage].y */
float *audio_stream_out(const audio_stream_a *a, const audio_stream_dims *d, int stage);
int audio_stream_forward(const audio_stream_p *p, const audio_stream_a *a, int stage, const float *x, int B,
                         const audio_stream_dims *d, int train);
int audio_stream_backward(const audio_stream_p *p, const audio_stream_p *g, const audio_stream_a *a,
                          const audio_stream_a *da, int stage, const float *x, float *dx, int B,
                          const audio_stream_dims *d);

#endif
