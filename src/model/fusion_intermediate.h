/* `intermediate` fusion: the pooled streams concatenated, then an MLP (spec 4, Table V). See
 * fusion_intermediate.c. */
#ifndef AVEMO_MODEL_FUSION_INTERMEDIATE_H
#define AVEMO_MODEL_FUSION_INTERMEDIATE_H
#include "model/classifier.h"
#include "model/fusion.h"

typedef struct {
    linear_p hidden;           /* the MLP's hidden layer */
    linear_p classifier;
} intermediate_fusion_p;

typedef struct {
    stream_pool_a pool;        /* features [B, audio_c2 + video_c2] */
    float *hidden_pre, *hidden; /* [B, mlp_hidden] before and after the ReLU */
    classifier_a classifier;
} intermediate_fusion_a;

void intermediate_fusion_declare(model *m);
void intermediate_fusion_declare_acts(model *m, int B);
int intermediate_fusion_forward(model *m, const stream_pair *stage2, int train, rng_t *rng);
int intermediate_fusion_backward(model *m, const stream_pair *stage2);

#endif
