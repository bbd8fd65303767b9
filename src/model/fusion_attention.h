/* The paper's feature-level fusion (`attention`, the default) and `concat`, which is the same network
 * without the self-attention and the modality gate (spec 4, Table V). See fusion_attention.c. */
#ifndef AVEMO_MODEL_FUSION_ATTENTION_H
#define AVEMO_MODEL_FUSION_ATTENTION_H
#include "model/classifier.h"
#include "model/config.h"
#include "model/fusion.h"

typedef struct {
    linear_p audio_proj;                 /* audio channels -> fusion_ch, per time step */
    resblock_p block[MODEL_MAX_FUSION_BLOCKS]; /* Conv1D residual blocks over the joint sequence */
    attention_p self_attn;               /* eq. (4)-(7) (attention only) */
    linear_p gate;                       /* modality gate: pooled joint vector -> 2 scores (attention only) */
    linear_p classifier;
} attention_fusion_p;

typedef struct {
    float *audio_proj;         /* [B, audio_t2, fc] */
    float *audio_interp;       /* [B, T, fc] */
    float *joint_in;           /* [B, T, fc + video_c2] */
    resblock_a block[MODEL_MAX_FUSION_BLOCKS];
    attention_a self_attn;
    float *joint;              /* [B, T, fc]  fused sequence + self-attention (residual) */
    float *pooled_joint;       /* [B, fc] */
    float *pooled_audio;       /* [B, fc]  temporal mean of audio_interp */
    float *pooled_video;       /* [B, video_c2] */
    float *gate_scores, *gate; /* [B, 2] */
    float *features;           /* [B, fc + video_c2 + fc] the classifier's input */
    classifier_a classifier;
} attention_fusion_a;

void attention_fusion_declare(model *m);
void attention_fusion_declare_acts(model *m, int B);
int attention_fusion_forward(model *m, const stream_pair *stage2, int train, rng_t *rng);
int attention_fusion_backward(model *m, const stream_pair *stage2);

#endif
