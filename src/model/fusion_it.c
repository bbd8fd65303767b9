/* The baseline's `it` fusion (MultiModalCNN, transformer_timm.py; see fusion_it.h): between the streams'
 * stages, each stream attends to the other with the baseline's AttentionBlock (blocks.h: single head, no qkv
 * bias, output projection, x + MLP(LN(x))), added to it as a residual:
 *   audio stage-2 input [B, Ta1, a1] = a1 + AttentionBlock(a1 queries over v1)
 *   video stage-2 input [B, T, v1]   = v1 + AttentionBlock(v1 queries over a1)
 * After stage 2: the temporal means of both streams, concatenated [B, a2 + v2] -> dropout -> classifier. */
#include "model/fusion_it.h"

#include "model/model.h"

static cross_attn_dims stage1_dims(const fusion_dims *d) {
    cross_attn_dims cd = {d->audio_t1, d->audio_c1, d->T, d->video_c1};
    return cd;
}

void it_fusion_declare(model *m) {
    fusion_dims d = fusion_dims_of(m);
    it_fusion_p *p = &m->params.it;
    cross_attn_declare(&m->param_layout, &p->cross, "fusion", d.audio_c1, d.video_c1);
    linear_declare(&m->param_layout, &p->classifier, "classifier", d.audio_c2 + d.video_c2, d.n_classes, 1);
}

void it_fusion_declare_acts(model *m, int B) {
    fusion_dims d = fusion_dims_of(m);
    cross_attn_dims cd = stage1_dims(&d);
    stream_pool_dims pd = fusion_pool_dims(&d);
    layout *L = &m->act_layout;
    it_fusion_a *a = &m->acts.it;
    cross_attn_declare_acts(L, &a->cross, B, &cd);
    LAYOUT_ADD(L, &a->audio_mid, LT_ACT, 0, "audio_mid", B, d.audio_t1, d.audio_c1);
    LAYOUT_ADD(L, &a->video_mid, LT_ACT, 0, "video_mid", B, d.T, d.video_c1);
    pooled_classifier_declare_acts(L, &a->head, B, &pd);
}

int it_fusion_exchange_forward(model *m, const stream_pair *stage1, stream_pair *stage2_in) {
    const it_fusion_a *a = &m->acts.it, *da = &m->dacts.it;
    fusion_dims d = fusion_dims_of(m);
    cross_attn_dims cd = stage1_dims(&d);
    int B = m->B;
    int st = cross_attn_forward(&m->params.it.cross, &a->cross, stage1->audio, stage1->video, B, &cd);
    if (st) return st;
    add_forward(a->audio_mid, stage1->audio, a->cross.av.y, (long)B * d.audio_t1 * d.audio_c1);
    add_forward(a->video_mid, stage1->video, a->cross.va.y, (long)B * d.T * d.video_c1);
    *stage2_in = (stream_pair){.audio = a->audio_mid, .video = a->video_mid, .daudio = da->audio_mid,
                               .dvideo = da->video_mid};
    return 0;
}

int it_fusion_exchange_backward(model *m, const stream_pair *stage1) {
    const it_fusion_a *da = &m->dacts.it;
    fusion_dims d = fusion_dims_of(m);
    cross_attn_dims cd = stage1_dims(&d);
    int B = m->B;
    long n_audio = (long)B * d.audio_t1 * d.audio_c1, n_video = (long)B * d.T * d.video_c1;
    /* the residual: the stage-2 inputs' gradients reach both the stage-1 outputs and the attention blocks */
    for (long i = 0; i < n_audio; i++) stage1->daudio[i] += da->audio_mid[i], da->cross.av.y[i] += da->audio_mid[i];
    for (long i = 0; i < n_video; i++) stage1->dvideo[i] += da->video_mid[i], da->cross.va.y[i] += da->video_mid[i];
    return cross_attn_backward(&m->params.it.cross, &m->grads.it.cross, &m->acts.it.cross, &da->cross, stage1->audio,
                               stage1->video, stage1->daudio, stage1->dvideo, B, &cd);
}

int it_fusion_forward(model *m, const stream_pair *stage2, int train, rng_t *rng) {
    fusion_dims d = fusion_dims_of(m);
    stream_pool_dims pd = fusion_pool_dims(&d);
    return pooled_classifier_forward(&m->params.it.classifier, &m->acts.it.head, m->acts.logits, stage2->audio,
                                     stage2->video, m->B, &pd, d.n_classes, m->cfg.dropout, train, rng);
}

int it_fusion_backward(model *m, const stream_pair *stage2) {
    fusion_dims d = fusion_dims_of(m);
    stream_pool_dims pd = fusion_pool_dims(&d);
    return pooled_classifier_backward(&m->params.it.classifier, &m->grads.it.classifier, &m->acts.it.head,
                                      &m->dacts.it.head, m->dacts.logits, stage2->daudio, stage2->dvideo, m->B, &pd,
                                      d.n_classes, m->cfg.dropout);
}
