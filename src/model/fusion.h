/* The fusions of spec 4 and the classifier heads, called by model.c. Internal to src/model/. */
#ifndef AVEMO_MODEL_FUSION_H
#define AVEMO_MODEL_FUSION_H
#include "model/model.h"

/* Register the fusion's and classifiers' parameters / activations (sets m->n_features). */
void fusion_declare(model *m);
void fusion_declare_acts(model *m, int B);

/* ia / it: between stage 1 and stage 2 of the streams. a1 [B, Ta1, a1c], v1 [B, T, v1c]; sets the stage-2
 * inputs *a_mid / *v_mid. Other fusions: the stage-1 outputs pass through. */
int exchange_forward(model *m, const float *a1, const float *v1, const float **a_mid, const float **v_mid);
/* da_mid / dv_mid: gradients of the stage-2 inputs; accumulates into da1 / dv1 (the stage-1 output grads) */
int exchange_backward(model *m, const float *a1, const float *v1, float *da1, float *dv1);
/* Gradient buffers of the stage-2 inputs (dacts of *a_mid / *v_mid). */
float *exchange_grad_audio(model *m, float *da1);
float *exchange_grad_video(model *m, float *dv1);

/* After stage 2: a2 [B, Ta2, a2c] (NULL for video-only), v2 [B, T, v2c] (NULL for audio-only) -> logits. */
int fusion_forward(model *m, const float *a2, const float *v2, int train, rng_t *rng);
/* dlogits in m->dacts.logits; accumulates into da2 / dv2. */
int fusion_backward(model *m, const float *a2, const float *v2, float *da2, float *dv2);

#endif
