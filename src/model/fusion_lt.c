/* The baseline's `lt` fusion (MultiModalCNN, transformer_timm.py; see fusion_lt.h): after the streams' stage
 * 2, each stream attends to the other with the baseline's AttentionBlock (blocks.h), without a residual:
 *   audio [B, Ta2, a2] -> AttentionBlock(audio queries over video) [B, Ta2, a2]
 *   video [B, T, v2]   -> AttentionBlock(video queries over audio) [B, T, v2]
 * then the temporal means of both, concatenated [B, a2 + v2] -> dropout -> classifier. */
#include "model/fusion_lt.h"

#include "model/model.h"

static cross_attn_dims stage2_dims(const fusion_dims *d) {
    cross_attn_dims cd = {d->audio_t2, d->audio_c2, d->T, d->video_c2};
    return cd;
}

void lt_fusion_declare(model *m) {
    fusion_dims d = fusion_dims_of(m);
    lt_fusion_p *p = &m->params.lt;
    cross_attn_declare(&m->param_layout, &p->cross, "fusion", d.audio_c2, d.video_c2);
    linear_declare(&m->param_layout, &p->classifier, "classifier", d.audio_c2 + d.video_c2, d.n_classes, 1);
}

void lt_fusion_declare_acts(model *m, int B) {
    fusion_dims d = fusion_dims_of(m);
    cross_attn_dims cd = stage2_dims(&d);
    stream_pool_dims pd = fusion_pool_dims(&d);
    cross_attn_declare_acts(&m->act_layout, &m->acts.lt.cross, B, &cd);
    pooled_classifier_declare_acts(&m->act_layout, &m->acts.lt.head, B, &pd);
}

int lt_fusion_forward(model *m, const stream_pair *stage2, int train, rng_t *rng) {
    const lt_fusion_a *a = &m->acts.lt;
    fusion_dims d = fusion_dims_of(m);
    cross_attn_dims cd = stage2_dims(&d);
    stream_pool_dims pd = fusion_pool_dims(&d);
    int st = cross_attn_forward(&m->params.lt.cross, &a->cross, stage2->audio, stage2->video, m->B, &cd);
    if (st) return st;
    return pooled_classifier_forward(&m->params.lt.classifier, &a->head, m->acts.logits, a->cross.av.y, a->cross.va.y,
                                     m->B, &pd, d.n_classes, m->cfg.dropout, train, rng);
}

int lt_fusion_backward(model *m, const stream_pair *stage2) {
    const lt_fusion_p *p = &m->params.lt, *g = &m->grads.lt;
    const lt_fusion_a *a = &m->acts.lt, *da = &m->dacts.lt;
    fusion_dims d = fusion_dims_of(m);
    cross_attn_dims cd = stage2_dims(&d);
    stream_pool_dims pd = fusion_pool_dims(&d);
    int st = pooled_classifier_backward(&p->classifier, &g->classifier, &a->head, &da->head, m->dacts.logits,
                                        da->cross.av.y, da->cross.va.y, m->B, &pd, d.n_classes, m->cfg.dropout);
    if (st) return st;
    return cross_attn_backward(&p->cross, &g->cross, &a->cross, &da->cross, stage2->audio, stage2->video,
                               stage2->daudio, stage2->dvideo, m->B, &cd);
}
