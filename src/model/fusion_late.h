/* `late` fusion: each stream its own classifier, the mean of their log-probabilities (spec 4, Table V). See
 * fusion_late.c. */
#ifndef AVEMO_MODEL_FUSION_LATE_H
#define AVEMO_MODEL_FUSION_LATE_H
#include "model/classifier.h"
#include "model/fusion.h"

typedef struct {
    linear_p audio_classifier, video_classifier;
} late_fusion_p;

typedef struct {
    float *pooled_audio, *pooled_video;     /* [B, audio_c2], [B, video_c2] */
    classifier_a audio_classifier, video_classifier;
    float *audio_logits, *video_logits;     /* [B, n_classes] */
    float *audio_logp, *video_logp;         /* [B, n_classes] log-softmax */
} late_fusion_a;

void late_fusion_declare(model *m);
void late_fusion_declare_acts(model *m, int B);
int late_fusion_forward(model *m, const stream_pair *stage2, int train, rng_t *rng);
int late_fusion_backward(model *m, const stream_pair *stage2);

#endif
