/* The baseline's intermediate transformer (`it`, MultiModalCNN's "it" fusion, spec 4, Table V). See
 * fusion_it.c. */
#ifndef AVEMO_MODEL_FUSION_IT_H
#define AVEMO_MODEL_FUSION_IT_H
#include "model/classifier.h"
#include "model/fusion.h"

typedef struct {
    cross_attn_p cross; /* on the stage-1 features */
    linear_p classifier;
} it_fusion_p;

typedef struct {
    cross_attn_a cross;
    float *audio_mid;   /* [B, audio_t1, audio_c1] the audio stream's stage-2 input */
    float *video_mid;   /* [B, T, video_c1] the video stream's stage-2 input */
    pooled_classifier_a head;
} it_fusion_a;

void it_fusion_declare(model *m);
void it_fusion_declare_acts(model *m, int B);
int it_fusion_exchange_forward(model *m, const stream_pair *stage1, stream_pair *stage2_in);
int it_fusion_exchange_backward(model *m, const stream_pair *stage1);
int it_fusion_forward(model *m, const stream_pair *stage2, int train, rng_t *rng);
int it_fusion_backward(model *m, const stream_pair *stage2);

#endif
