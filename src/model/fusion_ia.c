/* The baseline's `ia` fusion (MultiModalCNN, see fusion_ia.h): between the streams' stages, each stream is
 * re-weighted per time step by the attention the other stream pays it (blocks.h `ia`: the column sums of
 * softmax(Q K^T / sqrt(d)), single head, q/k projections without bias, no value projection):
 *   video stage-2 input [B, T, v1]     = w_av[b, t] * v1[b, t, :], audio (Ta1 steps) querying video
 *   audio stage-2 input [B, Ta1, a1]   = w_va[b, t] * a1[b, t, :], video (T steps) querying audio
 * After stage 2: the temporal means of both streams, concatenated [B, a2 + v2] -> dropout -> classifier. */
#include "model/fusion_ia.h"

#include "model/model.h"

void ia_fusion_declare(model *m) {
    fusion_dims d = fusion_dims_of(m);
    layout *L = &m->param_layout;
    ia_fusion_p *p = &m->params.ia;
    attention_shape av = {.d_q_in = d.audio_c1, .d_kv_in = d.video_c1, .d_k = d.audio_c1};
    attention_shape va = {.d_q_in = d.video_c1, .d_kv_in = d.audio_c1, .d_k = d.video_c1};
    attention_declare(L, &p->av, "fusion.av", &av, 0, 0);
    attention_declare(L, &p->va, "fusion.va", &va, 0, 0);
    linear_declare(L, &p->classifier, "classifier", d.audio_c2 + d.video_c2, d.n_classes, 1);
}

void ia_fusion_declare_acts(model *m, int B) {
    fusion_dims d = fusion_dims_of(m);
    stream_pool_dims pd = fusion_pool_dims(&d);
    layout *L = &m->act_layout;
    ia_fusion_a *a = &m->acts.ia;
    ia_declare_acts(L, &a->av, B, d.audio_t1, d.T, d.audio_c1, d.video_c1);
    ia_declare_acts(L, &a->va, B, d.T, d.audio_t1, d.video_c1, d.audio_c1);
    pooled_classifier_declare_acts(L, &a->head, B, &pd);
}

int ia_fusion_exchange_forward(model *m, const stream_pair *stage1, stream_pair *stage2_in) {
    const ia_fusion_p *p = &m->params.ia;
    const ia_fusion_a *a = &m->acts.ia, *da = &m->dacts.ia;
    fusion_dims d = fusion_dims_of(m);
    const float *a1 = stage1->audio, *v1 = stage1->video;
    int B = m->B, st;
    /* audio queries over video keys: column sums weight the video steps, and vice versa */
    if ((st = ia_forward(&p->av, &a->av, a1, v1, B, d.audio_t1, d.T, d.audio_c1, d.video_c1, d.audio_c1))) return st;
    if ((st = ia_forward(&p->va, &a->va, v1, a1, B, d.T, d.audio_t1, d.video_c1, d.audio_c1, d.video_c1))) return st;
    *stage2_in = (stream_pair){.audio = a->va.y, .video = a->av.y, .daudio = da->va.y, .dvideo = da->av.y};
    return 0;
}

int ia_fusion_exchange_backward(model *m, const stream_pair *stage1) {
    const ia_fusion_p *p = &m->params.ia, *g = &m->grads.ia;
    const ia_fusion_a *a = &m->acts.ia, *da = &m->dacts.ia;
    fusion_dims d = fusion_dims_of(m);
    const float *a1 = stage1->audio, *v1 = stage1->video;
    float *da1 = stage1->daudio, *dv1 = stage1->dvideo;
    int B = m->B, st;
    if ((st = ia_backward(&p->va, &g->va, &a->va, &da->va, v1, a1, dv1, da1, B, d.T, d.audio_t1, d.video_c1,
                          d.audio_c1, d.video_c1)))
        return st;
    return ia_backward(&p->av, &g->av, &a->av, &da->av, a1, v1, da1, dv1, B, d.audio_t1, d.T, d.audio_c1, d.video_c1,
                       d.audio_c1);
}

int ia_fusion_forward(model *m, const stream_pair *stage2, int train, rng_t *rng) {
    fusion_dims d = fusion_dims_of(m);
    stream_pool_dims pd = fusion_pool_dims(&d);
    return pooled_classifier_forward(&m->params.ia.classifier, &m->acts.ia.head, m->acts.logits, stage2->audio,
                                     stage2->video, m->B, &pd, d.n_classes, m->cfg.dropout, train, rng);
}

int ia_fusion_backward(model *m, const stream_pair *stage2) {
    fusion_dims d = fusion_dims_of(m);
    stream_pool_dims pd = fusion_pool_dims(&d);
    return pooled_classifier_backward(&m->params.ia.classifier, &m->grads.ia.classifier, &m->acts.ia.head,
                                      &m->dacts.ia.head, m->dacts.logits, stage2->daudio, stage2->dvideo, m->B, &pd,
                                      d.n_classes, m->cfg.dropout);
}
