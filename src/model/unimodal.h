/* The classifier of a one-stream model (modality audio or video, spec 4, Table III): no fusion. See
 * unimodal.c. */
#ifndef AVEMO_MODEL_UNIMODAL_H
#define AVEMO_MODEL_UNIMODAL_H
#include "model/classifier.h"
#include "model/fusion.h"

typedef struct { linear_p classifier; } unimodal_p;
typedef struct { pooled_classifier_a head; } unimodal_a;

void unimodal_declare(model *m);
void unimodal_declare_acts(model *m, int B);
int unimodal_forward(model *m, const stream_pair *stage2, int train, rng_t *rng);
int unimodal_backward(model *m, const stream_pair *stage2);

#endif
