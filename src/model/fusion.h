/* What every fusion of spec 4 (Table V's variants) implements, and what model.c needs to run one. Internal to
 * src/model/.
 *
 * A fusion turns the two streams' stage-2 features into logits: audio [B, audio_t2, audio_c2] and video
 * [B, T, video_c2] -> m->acts.logits [B, n_classes]. The baseline's `ia` and `it` also act between the
 * streams' stages (the exchange). Each fusion lives in its own file, model/fusion_<name>.c, with its own
 * parameter and activation structs (members of model_params / model_acts) and these functions; model.c's
 * table picks one per model_config. Adding a fusion: one file, one table row, one member in each struct. */
#ifndef AVEMO_MODEL_FUSION_H
#define AVEMO_MODEL_FUSION_H
#include "core/rng.h"
#include "model/classifier.h"

typedef struct model model; /* model/model.h */

/* The two streams' features at one point of the network (after a stage, or between the stages) and the
 * buffers their gradients accumulate into. A stream the model lacks is NULL. */
typedef struct {
    const float *audio, *video;
    float *daudio, *dvideo;
} stream_pair;

typedef struct {
    /* Register the parameters with m->param_layout (under &m->params) / the activations for batches of B
     * with m->act_layout (under &m->acts). */
    void (*declare)(model *m);
    void (*declare_acts)(model *m, int B);
    /* Between the stages (NULL: stage 1's outputs feed stage 2). stage1 -> *stage2_in (the stage-2 inputs
     * and their gradient buffers, owned by the fusion); backward reads those gradients and accumulates into
     * stage1's. */
    int (*exchange_forward)(model *m, const stream_pair *stage1, stream_pair *stage2_in);
    int (*exchange_backward)(model *m, const stream_pair *stage1);
    /* stage2 -> m->acts.logits (dropout drawn from rng when train); backward reads m->dacts.logits and
     * accumulates into stage2's gradient buffers. */
    int (*forward)(model *m, const stream_pair *stage2, int train, rng_t *rng);
    int (*backward)(model *m, const stream_pair *stage2);
} fusion_ops;

/* Sizes the fusions see: after stream stage s (1, 2) video is [B, T, video_cs], audio [B, audio_ts, audio_cs]
 * (a stream the model lacks has sizes 0). */
typedef struct {
    int T, video_c1, video_c2;
    int audio_t1, audio_c1, audio_t2, audio_c2;
    int fusion_ch, n_classes;
} fusion_dims;
fusion_dims fusion_dims_of(const model *m);
/* The stage-2 streams as model/classifier.h's temporal means see them. */
stream_pool_dims fusion_pool_dims(const fusion_dims *d);

#endif
