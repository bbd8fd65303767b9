/* What the fusions end with (spec 4): the streams' temporal means and the classifier. Same conventions as
 * model/blocks.h (backward accumulates into dx and the parameter gradients). */
#ifndef AVEMO_MODEL_CLASSIFIER_H
#define AVEMO_MODEL_CLASSIFIER_H
#include "model/blocks.h"

/* ---- temporal means of the streams, concatenated: audio [B, ta, ca], video [B, tv, cv] -> pooled audio
 * [B, ca], pooled video [B, cv], features [B, ca + cv]. A NULL stream (a one-stream model) is left out. ---- */
typedef struct { float *pooled_audio, *pooled_video, *features; } stream_pool_a;
typedef struct { int ta, ca, tv, cv; } stream_pool_dims;
void stream_pool_declare_acts(layout *L, stream_pool_a *a, int B, const stream_pool_dims *d);
void stream_pool_forward(const stream_pool_a *a, const float *audio, const float *video, int B,
                         const stream_pool_dims *d);
/* reads da->features; daudio / dvideo NULL for an absent stream */
void stream_pool_backward(const stream_pool_a *da, float *daudio, float *dvideo, int B, const stream_pool_dims *d);

/* ---- the classifier: x [B, n] -> dropout (training only; ours, spec 4) -> Linear(n, K) -> logits [B, K] ---- */
typedef struct { float *dropped, *mask; } classifier_a;
void classifier_declare_acts(layout *L, classifier_a *a, int B, int n);
int classifier_forward(const linear_p *p, const classifier_a *a, float *logits, const float *x, int B, int n, int K,
                       float dropout, int train, rng_t *rng);
/* after a train-mode forward with the same dropout */
int classifier_backward(const linear_p *p, const linear_p *g, const classifier_a *a, const classifier_a *da,
                        const float *dlogits, const float *x, float *dx, int B, int n, int K, float dropout);

/* ---- both together, the classifier of ia, it, lt and the one-stream models: temporal means, concatenated
 * [B, ca + cv] -> dropout -> Linear -> logits [B, K] ---- */
typedef struct { stream_pool_a pool; classifier_a classifier; } pooled_classifier_a;
void pooled_classifier_declare_acts(layout *L, pooled_classifier_a *a, int B, const stream_pool_dims *d);
int pooled_classifier_forward(const linear_p *p, const pooled_classifier_a *a, float *logits, const float *audio,
                              const float *video, int B, const stream_pool_dims *d, int K, float dropout, int train,
                              rng_t *rng);
int pooled_classifier_backward(const linear_p *p, const linear_p *g, const pooled_classifier_a *a,
                               const pooled_classifier_a *da, const float *dlogits, float *daudio, float *dvideo, int B,
                               const stream_pool_dims *d, int K, float dropout);

#endif
