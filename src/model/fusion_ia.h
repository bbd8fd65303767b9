/* The baseline's intermediate attention (`ia`, MultiModalCNN's "ia" fusion, spec 4, Table V). See
 * fusion_ia.c. */
#ifndef AVEMO_MODEL_FUSION_IA_H
#define AVEMO_MODEL_FUSION_IA_H
#include "model/classifier.h"
#include "model/fusion.h"

typedef struct {
    attention_p av, va; /* q and k projections: audio queries over video keys, and vice versa */
    linear_p classifier;
} ia_fusion_p;

typedef struct {
    ia_a av;            /* -> the video stream's stage-2 input [B, T, video_c1] */
    ia_a va;            /* -> the audio stream's stage-2 input [B, audio_t1, audio_c1] */
    pooled_classifier_a head;
} ia_fusion_a;

void ia_fusion_declare(model *m);
void ia_fusion_declare_acts(model *m, int B);
int ia_fusion_exchange_forward(model *m, const stream_pair *stage1, stream_pair *stage2_in);
int ia_fusion_exchange_backward(model *m, const stream_pair *stage1);
int ia_fusion_forward(model *m, const stream_pair *stage2, int train, rng_t *rng);
int ia_fusion_backward(model *m, const stream_pair *stage2);

#endif
