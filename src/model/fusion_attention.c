/* The paper's feature-level fusion (`attention`) and `concat` (see fusion_attention.h).
 *
 *   audio [B, Ta2, a2] -> Linear per step -> [B, Ta2, fc] -> linear interpolation in time -> [B, T, fc]
 *   concatenated with video [B, T, v2] -> [B, T, fc + v2] -> Conv1D residual blocks -> [B, T, fc]
 *   (attention: + self-attention over time, eq. (4)-(7), residual) -> joint [B, T, fc]
 *   temporal means: audio [B, fc], video [B, v2], joint [B, fc]
 *   (attention: modality gate g = softmax(Linear(pooled joint)) [B, 2])
 *   features [g_a * audio, g_v * video, joint] [B, fc + v2 + fc] -> dropout -> classifier -> logits
 *
 * Choices where the paper is vague (ours): the audio projection is a per-step Linear (= 1x1 Conv1D) with
 * bias; the residual blocks are the ResNet basic blocks of blocks.h (the first one fc + v2 -> fc with a 1x1
 * conv + BN shortcut); self-attention has Q/K/V biases and d_k = fc (128); the gate re-weights the temporal
 * means of the projected, interpolated audio and of the visual stream. `concat` has neither self-attention
 * nor gate (weights 1). */
#include "model/fusion_attention.h"

#include "model/model.h"

#include <stdio.h>
#include <string.h>

#define TRY(x)                   \
    do {                         \
        int st_ = (x);           \
        if (st_) return st_;     \
    } while (0)

static int with_attention(const model *m) { return m->cfg.fusion == FUSION_ATTENTION; }

static attention_shape self_attention_shape(int B, const fusion_dims *d) {
    attention_shape s = {.b = B, .tq = d->T, .tk = d->T, .d_q_in = d->fusion_ch, .d_kv_in = d->fusion_ch,
                         .d_k = d->fusion_ch, .d_v = d->fusion_ch};
    return s;
}

/* residual block i: [B, T, fc + v2] -> [B, T, fc] for the first, [B, T, fc] -> [B, T, fc] after */
static resblock_dims block_dims(const fusion_dims *d, int i) {
    resblock_dims rd = {d->T, i == 0 ? d->fusion_ch + d->video_c2 : d->fusion_ch, d->fusion_ch};
    return rd;
}

static int n_features(const fusion_dims *d) { return d->fusion_ch + d->video_c2 + d->fusion_ch; }

void attention_fusion_declare(model *m) {
    fusion_dims d = fusion_dims_of(m);
    layout *L = &m->param_layout;
    attention_fusion_p *p = &m->params.attention;
    linear_declare(L, &p->audio_proj, "fusion.audio_proj", d.audio_c2, d.fusion_ch, 1);
    for (int i = 0; i < m->cfg.fusion_blocks; i++) {
        char name[32];
        resblock_dims rd = block_dims(&d, i);
        snprintf(name, sizeof name, "fusion.block%d", i + 1);
        resblock_declare(L, &p->block[i], name, rd.ci, rd.co);
    }
    if (with_attention(m)) {
        attention_shape s = self_attention_shape(1, &d);
        attention_declare(L, &p->self_attn, "fusion.attn", &s, 1, 1);
        linear_declare(L, &p->gate, "fusion.gate", d.fusion_ch, 2, 1);
    }
    linear_declare(L, &p->classifier, "classifier", n_features(&d), d.n_classes, 1);
}

void attention_fusion_declare_acts(model *m, int B) {
    fusion_dims d = fusion_dims_of(m);
    layout *L = &m->act_layout;
    attention_fusion_a *a = &m->acts.attention;
    LAYOUT_ADD(L, &a->audio_proj, LT_ACT, 0, "audio_proj", B, d.audio_t2, d.fusion_ch);
    LAYOUT_ADD(L, &a->audio_interp, LT_ACT, 0, "audio_interp", B, d.T, d.fusion_ch);
    LAYOUT_ADD(L, &a->joint_in, LT_ACT, 0, "joint_in", B, d.T, d.fusion_ch + d.video_c2);
    for (int i = 0; i < m->cfg.fusion_blocks; i++) {
        resblock_dims rd = block_dims(&d, i);
        resblock_declare_acts(L, &a->block[i], B, &rd);
    }
    if (with_attention(m)) {
        attention_shape s = self_attention_shape(B, &d);
        attention_declare_acts(L, &a->self_attn, &s, 1);
        LAYOUT_ADD(L, &a->gate_scores, LT_ACT, 0, "gate_scores", B, 2);
        LAYOUT_ADD(L, &a->gate, LT_ACT, 0, "gate", B, 2);
    }
    LAYOUT_ADD(L, &a->joint, LT_ACT, 0, "joint", B, d.T, d.fusion_ch);
    LAYOUT_ADD(L, &a->pooled_joint, LT_ACT, 0, "pooled_joint", B, d.fusion_ch);
    LAYOUT_ADD(L, &a->pooled_audio, LT_ACT, 0, "pooled_audio", B, d.fusion_ch);
    LAYOUT_ADD(L, &a->pooled_video, LT_ACT, 0, "pooled_video", B, d.video_c2);
    LAYOUT_ADD(L, &a->features, LT_ACT, 0, "features", B, n_features(&d));
    classifier_declare_acts(L, &a->classifier, B, n_features(&d));
}

/* features [B, ca + cv + cj] = [g_audio * pooled audio, g_video * pooled video, pooled joint];
 * gate NULL (concat) means weights 1. */
static void gate_apply_forward(float *features, const float *gate, const float *pa, const float *pv,
                               const float *pj, int B, int ca, int cv, int cj) {
    int nf = ca + cv + cj;
    for (int b = 0; b < B; b++) {
        float ga = gate ? gate[2 * b] : 1.0f, gv = gate ? gate[2 * b + 1] : 1.0f;
        float *f = features + (long)b * nf;
        for (int i = 0; i < ca; i++) f[i] = ga * pa[(long)b * ca + i];
        for (int i = 0; i < cv; i++) f[ca + i] = gv * pv[(long)b * cv + i];
        memcpy(f + ca + cv, pj + (long)b * cj, (size_t)cj * sizeof(float));
    }
}

static void gate_apply_backward(float *dgate, float *dpa, float *dpv, float *dpj, const float *dfeatures,
                                const float *gate, const float *pa, const float *pv, int B, int ca, int cv, int cj) {
    int nf = ca + cv + cj;
    for (int b = 0; b < B; b++) {
        float ga = gate ? gate[2 * b] : 1.0f, gv = gate ? gate[2 * b + 1] : 1.0f, sa = 0, sv = 0;
        const float *df = dfeatures + (long)b * nf;
        for (int i = 0; i < ca; i++) {
            dpa[(long)b * ca + i] += ga * df[i];
            sa += df[i] * pa[(long)b * ca + i];
        }
        for (int i = 0; i < cv; i++) {
            if (dpv) dpv[(long)b * cv + i] += gv * df[ca + i];
            sv += df[ca + i] * pv[(long)b * cv + i];
        }
        for (int i = 0; i < cj; i++) dpj[(long)b * cj + i] += df[ca + cv + i];
        if (dgate) dgate[2 * b] += sa, dgate[2 * b + 1] += sv;
    }
}

/* audio a2 [B, Ta2, a2], video v2 [B, T, v2] -> a->joint [B, T, fc] */
static int joint_sequence_forward(model *m, const float *a2, const float *v2, int train) {
    const attention_fusion_p *p = &m->params.attention;
    const attention_fusion_a *a = &m->acts.attention;
    fusion_dims d = fusion_dims_of(m);
    int B = m->B, n_blocks = m->cfg.fusion_blocks, fc = d.fusion_ch;
    long n_joint = (long)B * d.T * fc;
    /* audio [B, Ta2, a2] -> projection [B, Ta2, fc] -> linear interpolation to the video's T [B, T, fc] */
    TRY(linear_forward(a->audio_proj, a2, p->audio_proj.w, p->audio_proj.b, (long)B * d.audio_t2, d.audio_c2, fc));
    interp_time_forward(a->audio_interp, a->audio_proj, B, d.audio_t2, d.T, fc);
    /* concatenate with the video along channels [B, T, fc + v2] -> Conv1D residual blocks [B, T, fc] */
    concat_channels_forward(a->joint_in, a->audio_interp, v2, (long)B * d.T, fc, d.video_c2);
    for (int i = 0; i < n_blocks; i++) {
        resblock_dims rd = block_dims(&d, i);
        TRY(resblock_forward(&p->block[i], &a->block[i], i == 0 ? a->joint_in : a->block[i - 1].y, B, &rd, train));
    }
    const float *x = a->block[n_blocks - 1].y;
    if (!with_attention(m)) {
        memcpy(a->joint, x, (size_t)n_joint * sizeof(float));
        return 0;
    }
    /* self-attention over time, eq. (4)-(7), with a residual connection [B, T, fc] */
    attention_shape s = self_attention_shape(B, &d);
    TRY(attention_forward(a->self_attn.out, a->self_attn.q, a->self_attn.k, a->self_attn.v, a->self_attn.att, x, x,
                          p->self_attn.q.w, p->self_attn.q.b, p->self_attn.k.w, p->self_attn.k.b, p->self_attn.v.w,
                          p->self_attn.v.b, &s));
    add_forward(a->joint, x, a->self_attn.out, n_joint);
    return 0;
}

/* reads dacts.joint; accumulates into da2, dv2 */
static int joint_sequence_backward(model *m, const float *a2, float *da2, float *dv2) {
    const attention_fusion_p *p = &m->params.attention, *g = &m->grads.attention;
    const attention_fusion_a *a = &m->acts.attention, *da = &m->dacts.attention;
    fusion_dims d = fusion_dims_of(m);
    int B = m->B, n_blocks = m->cfg.fusion_blocks, fc = d.fusion_ch;
    long n_joint = (long)B * d.T * fc;
    const float *x = a->block[n_blocks - 1].y;
    float *dx = da->block[n_blocks - 1].y;
    for (long i = 0; i < n_joint; i++) dx[i] += da->joint[i];
    if (with_attention(m)) {
        attention_shape s = self_attention_shape(B, &d);
        TRY(attention_backward(dx, dx, g->self_attn.q.w, g->self_attn.q.b, g->self_attn.k.w, g->self_attn.k.b,
                               g->self_attn.v.w, g->self_attn.v.b, da->joint, a->self_attn.q, a->self_attn.k,
                               a->self_attn.v, a->self_attn.att, x, x, p->self_attn.q.w, p->self_attn.k.w,
                               p->self_attn.v.w, &s));
    }
    for (int i = n_blocks - 1; i >= 0; i--) {
        resblock_dims rd = block_dims(&d, i);
        TRY(resblock_backward(&p->block[i], &g->block[i], &a->block[i], &da->block[i],
                              i == 0 ? a->joint_in : a->block[i - 1].y, i == 0 ? da->joint_in : da->block[i - 1].y, B,
                              &rd));
    }
    concat_channels_backward(da->audio_interp, dv2, da->joint_in, (long)B * d.T, fc, d.video_c2);
    interp_time_backward(da->audio_proj, da->audio_interp, B, d.audio_t2, d.T, fc);
    return linear_backward(da2, g->audio_proj.w, g->audio_proj.b, da->audio_proj, a2, p->audio_proj.w,
                           (long)B * d.audio_t2, d.audio_c2, fc);
}

int attention_fusion_forward(model *m, const stream_pair *stage2, int train, rng_t *rng) {
    const attention_fusion_p *p = &m->params.attention;
    const attention_fusion_a *a = &m->acts.attention;
    fusion_dims d = fusion_dims_of(m);
    int B = m->B, fc = d.fusion_ch, attn = with_attention(m);
    TRY(joint_sequence_forward(m, stage2->audio, stage2->video, train));
    /* pooled joint, audio and video vectors */
    avgpool_global_forward(a->pooled_joint, a->joint, B, d.T, fc);
    avgpool_global_forward(a->pooled_audio, a->audio_interp, B, d.T, fc);
    avgpool_global_forward(a->pooled_video, stage2->video, B, d.T, d.video_c2);
    if (attn) {
        /* modality gate: 2 scores from the pooled joint vector, softmax */
        TRY(linear_forward(a->gate_scores, a->pooled_joint, p->gate.w, p->gate.b, B, fc, 2));
        softmax_forward(a->gate, a->gate_scores, B, 2);
    }
    gate_apply_forward(a->features, attn ? a->gate : NULL, a->pooled_audio, a->pooled_video, a->pooled_joint, B, fc,
                       d.video_c2, fc);
    return classifier_forward(&p->classifier, &a->classifier, m->acts.logits, a->features, B, n_features(&d),
                              d.n_classes, m->cfg.dropout, train, rng);
}

int attention_fusion_backward(model *m, const stream_pair *stage2) {
    const attention_fusion_p *p = &m->params.attention, *g = &m->grads.attention;
    const attention_fusion_a *a = &m->acts.attention, *da = &m->dacts.attention;
    fusion_dims d = fusion_dims_of(m);
    int B = m->B, fc = d.fusion_ch, attn = with_attention(m);
    TRY(classifier_backward(&p->classifier, &g->classifier, &a->classifier, &da->classifier, m->dacts.logits,
                            a->features, da->features, B, n_features(&d), d.n_classes, m->cfg.dropout));
    gate_apply_backward(attn ? da->gate : NULL, da->pooled_audio, da->pooled_video, da->pooled_joint, da->features,
                        attn ? a->gate : NULL, a->pooled_audio, a->pooled_video, B, fc, d.video_c2, fc);
    if (attn) {
        softmax_backward(da->gate_scores, da->gate, a->gate, B, 2);
        TRY(linear_backward(da->pooled_joint, g->gate.w, g->gate.b, da->gate_scores, a->pooled_joint, p->gate.w, B,
                            fc, 2));
    }
    avgpool_global_backward(stage2->dvideo, da->pooled_video, B, d.T, d.video_c2);
    avgpool_global_backward(da->audio_interp, da->pooled_audio, B, d.T, fc);
    avgpool_global_backward(da->joint, da->pooled_joint, B, d.T, fc);
    return joint_sequence_backward(m, stage2->audio, stage2->daudio, stage2->dvideo);
}
