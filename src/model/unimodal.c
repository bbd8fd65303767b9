/* A one-stream model's classifier (see unimodal.h): the stream's temporal mean [B, c2] -> dropout ->
 * classifier -> logits [B, n_classes]. */
#include "model/unimodal.h"

#include "model/model.h"

void unimodal_declare(model *m) {
    fusion_dims d = fusion_dims_of(m);
    linear_declare(&m->param_layout, &m->params.unimodal.classifier, "classifier", d.audio_c2 + d.video_c2,
                   d.n_classes, 1);
}

void unimodal_declare_acts(model *m, int B) {
    fusion_dims d = fusion_dims_of(m);
    stream_pool_dims pd = fusion_pool_dims(&d);
    pooled_classifier_declare_acts(&m->act_layout, &m->acts.unimodal.head, B, &pd);
}

int unimodal_forward(model *m, const stream_pair *stage2, int train, rng_t *rng) {
    fusion_dims d = fusion_dims_of(m);
    stream_pool_dims pd = fusion_pool_dims(&d);
    return pooled_classifier_forward(&m->params.unimodal.classifier, &m->acts.unimodal.head, m->acts.logits,
                                     stage2->audio, stage2->video, m->B, &pd, d.n_classes, m->cfg.dropout, train, rng);
}

int unimodal_backward(model *m, const stream_pair *stage2) {
    fusion_dims d = fusion_dims_of(m);
    stream_pool_dims pd = fusion_pool_dims(&d);
    return pooled_classifier_backward(&m->params.unimodal.classifier, &m->grads.unimodal.classifier,
                                      &m->acts.unimodal.head, &m->dacts.unimodal.head, m->dacts.logits, stage2->daudio,
                                      stage2->dvideo, m->B, &pd, d.n_classes, m->cfg.dropout);
}
