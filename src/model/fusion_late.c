/* `late` fusion (see fusion_late.h). Ours where the paper is vague: per stream, temporal mean -> dropout ->
 * its own classifier -> log-softmax; logits [B, n_classes] = the mean of the two log-probabilities. */
#include "model/fusion_late.h"

#include "model/model.h"

void late_fusion_declare(model *m) {
    fusion_dims d = fusion_dims_of(m);
    late_fusion_p *p = &m->params.late;
    linear_declare(&m->param_layout, &p->audio_classifier, "audio_classifier", d.audio_c2, d.n_classes, 1);
    linear_declare(&m->param_layout, &p->video_classifier, "video_classifier", d.video_c2, d.n_classes, 1);
}

void late_fusion_declare_acts(model *m, int B) {
    fusion_dims d = fusion_dims_of(m);
    layout *L = &m->act_layout;
    late_fusion_a *a = &m->acts.late;
    int K = d.n_classes;
    LAYOUT_ADD(L, &a->pooled_audio, LT_ACT, 0, "pooled_audio", B, d.audio_c2);
    LAYOUT_ADD(L, &a->pooled_video, LT_ACT, 0, "pooled_video", B, d.video_c2);
    classifier_declare_acts(L, &a->audio_classifier, B, d.audio_c2);
    classifier_declare_acts(L, &a->video_classifier, B, d.video_c2);
    LAYOUT_ADD(L, &a->audio_logits, LT_ACT, 0, "audio_logits", B, K);
    LAYOUT_ADD(L, &a->video_logits, LT_ACT, 0, "video_logits", B, K);
    LAYOUT_ADD(L, &a->audio_logp, LT_ACT, 0, "audio_logp", B, K);
    LAYOUT_ADD(L, &a->video_logp, LT_ACT, 0, "video_logp", B, K);
}

int late_fusion_forward(model *m, const stream_pair *stage2, int train, rng_t *rng) {
    const late_fusion_p *p = &m->params.late;
    const late_fusion_a *a = &m->acts.late;
    fusion_dims d = fusion_dims_of(m);
    int B = m->B, K = d.n_classes, st;
    float dropout = m->cfg.dropout;
    avgpool_global_forward(a->pooled_audio, stage2->audio, B, d.audio_t2, d.audio_c2);
    avgpool_global_forward(a->pooled_video, stage2->video, B, d.T, d.video_c2);
    if ((st = classifier_forward(&p->audio_classifier, &a->audio_classifier, a->audio_logits, a->pooled_audio, B,
                                 d.audio_c2, K, dropout, train, rng)) ||
        (st = classifier_forward(&p->video_classifier, &a->video_classifier, a->video_logits, a->pooled_video, B,
                                 d.video_c2, K, dropout, train, rng)))
        return st;
    log_softmax_forward(a->audio_logp, a->audio_logits, B, K);
    log_softmax_forward(a->video_logp, a->video_logits, B, K);
    for (long i = 0; i < (long)B * K; i++) m->acts.logits[i] = 0.5f * (a->audio_logp[i] + a->video_logp[i]);
    return 0;
}

int late_fusion_backward(model *m, const stream_pair *stage2) {
    const late_fusion_p *p = &m->params.late, *g = &m->grads.late;
    const late_fusion_a *a = &m->acts.late, *da = &m->dacts.late;
    fusion_dims d = fusion_dims_of(m);
    int B = m->B, K = d.n_classes, st;
    float dropout = m->cfg.dropout;
    for (long i = 0; i < (long)B * K; i++) {
        da->audio_logp[i] += 0.5f * m->dacts.logits[i];
        da->video_logp[i] += 0.5f * m->dacts.logits[i];
    }
    log_softmax_backward(da->audio_logits, da->audio_logp, a->audio_logp, B, K);
    log_softmax_backward(da->video_logits, da->video_logp, a->video_logp, B, K);
    if ((st = classifier_backward(&p->audio_classifier, &g->audio_classifier, &a->audio_classifier,
                                  &da->audio_classifier, da->audio_logits, a->pooled_audio, da->pooled_audio, B,
                                  d.audio_c2, K, dropout)) ||
        (st = classifier_backward(&p->video_classifier, &g->video_classifier, &a->video_classifier,
                                  &da->video_classifier, da->video_logits, a->pooled_video, da->pooled_video, B,
                                  d.video_c2, K, dropout)))
        return st;
    avgpool_global_backward(stage2->daudio, da->pooled_audio, B, d.audio_t2, d.audio_c2);
    avgpool_global_backward(stage2->dvideo, da->pooled_video, B, d.T, d.video_c2);
    return 0;
}
