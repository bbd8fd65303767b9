/* The baseline's late transformer (`lt`, MultiModalCNN's "lt" fusion, spec 4, Table V). See fusion_lt.c. */
#ifndef AVEMO_MODEL_FUSION_LT_H
#define AVEMO_MODEL_FUSION_LT_H
#include "model/classifier.h"
#include "model/fusion.h"

typedef struct {
    cross_attn_p cross; /* on the stage-2 features */
    linear_p classifier;
} lt_fusion_p;

typedef struct {
    cross_attn_a cross;
    pooled_classifier_a head;
} lt_fusion_a;

void lt_fusion_declare(model *m);
void lt_fusion_declare_acts(model *m, int B);
int lt_fusion_forward(model *m, const stream_pair *stage2, int train, rng_t *rng);
int lt_fusion_backward(model *m, const stream_pair *stage2);

#endif
