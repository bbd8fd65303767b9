/* `intermediate` fusion (see fusion_intermediate.h). Ours where the paper is vague:
 *   temporal means audio [B, a2], video [B, v2] -> concatenated [B, a2 + v2] -> Linear(a2 + v2, mlp_hidden)
 *   -> ReLU -> dropout -> classifier -> logits [B, n_classes] */
#include "model/fusion_intermediate.h"

#include "model/model.h"

void intermediate_fusion_declare(model *m) {
    fusion_dims d = fusion_dims_of(m);
    intermediate_fusion_p *p = &m->params.intermediate;
    linear_declare(&m->param_layout, &p->hidden, "mlp.hidden", d.audio_c2 + d.video_c2, m->cfg.mlp_hidden, 1);
    linear_declare(&m->param_layout, &p->classifier, "classifier", m->cfg.mlp_hidden, d.n_classes, 1);
}

void intermediate_fusion_declare_acts(model *m, int B) {
    fusion_dims d = fusion_dims_of(m);
    stream_pool_dims pd = fusion_pool_dims(&d);
    layout *L = &m->act_layout;
    intermediate_fusion_a *a = &m->acts.intermediate;
    stream_pool_declare_acts(L, &a->pool, B, &pd);
    LAYOUT_ADD(L, &a->hidden_pre, LT_ACT, 0, "hidden_pre", B, m->cfg.mlp_hidden);
    LAYOUT_ADD(L, &a->hidden, LT_ACT, 0, "hidden", B, m->cfg.mlp_hidden);
    classifier_declare_acts(L, &a->classifier, B, m->cfg.mlp_hidden);
}

int intermediate_fusion_forward(model *m, const stream_pair *stage2, int train, rng_t *rng) {
    const intermediate_fusion_p *p = &m->params.intermediate;
    const intermediate_fusion_a *a = &m->acts.intermediate;
    fusion_dims d = fusion_dims_of(m);
    stream_pool_dims pd = fusion_pool_dims(&d);
    int B = m->B, hidden = m->cfg.mlp_hidden;
    stream_pool_forward(&a->pool, stage2->audio, stage2->video, B, &pd);
    int st = linear_forward(a->hidden_pre, a->pool.features, p->hidden.w, p->hidden.b, B, pd.ca + pd.cv, hidden);
    if (st) return st;
    relu_forward(a->hidden, a->hidden_pre, (long)B * hidden);
    return classifier_forward(&p->classifier, &a->classifier, m->acts.logits, a->hidden, B, hidden, d.n_classes,
                              m->cfg.dropout, train, rng);
}

int intermediate_fusion_backward(model *m, const stream_pair *stage2) {
    const intermediate_fusion_p *p = &m->params.intermediate, *g = &m->grads.intermediate;
    const intermediate_fusion_a *a = &m->acts.intermediate, *da = &m->dacts.intermediate;
    fusion_dims d = fusion_dims_of(m);
    stream_pool_dims pd = fusion_pool_dims(&d);
    int B = m->B, hidden = m->cfg.mlp_hidden;
    int st = classifier_backward(&p->classifier, &g->classifier, &a->classifier, &da->classifier, m->dacts.logits,
                                 a->hidden, da->hidden, B, hidden, d.n_classes, m->cfg.dropout);
    if (st) return st;
    relu_backward(da->hidden_pre, da->hidden, a->hidden, (long)B * hidden);
    if ((st = linear_backward(da->pool.features, g->hidden.w, g->hidden.b, da->hidden_pre, a->pool.features,
                              p->hidden.w, B, pd.ca + pd.cv, hidden)))
        return st;
    stream_pool_backward(&da->pool, stage2->daudio, stage2->dvideo, B, &pd);
    return 0;
}
