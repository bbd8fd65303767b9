/* Fusion of the two streams (spec 4, Table V's variants) and the classifier heads.
 *
 * Choices where the paper is vague (ours):
 *  - attention: the audio projection is a per-step Linear (= 1x1 Conv1D) with bias; the fusion's residual
 *    blocks are the ResNet basic blocks of blocks.h (the first one 256 -> 128 with a 1x1 conv + BN shortcut);
 *    self-attention has Q/K/V biases and d_k = 128; the gate re-weights the temporal means of the projected,
 *    interpolated audio and of the visual stream; classifier input [g_a * audio, g_v * video, joint] (384).
 *  - concat: the same without self-attention and gate: [audio, video, joint].
 *  - intermediate: Linear(a + v -> 128) + ReLU, dropout, Linear.   late: dropout before each stream's Linear.
 *  - ia / it / lt follow the baseline's code (MultiModalCNN, transformer_timm.py): single head, no qkv bias,
 *    `it`/`lt` with output projection and x + MLP(LN(x)), `ia` uses only the q/k projections. With the
 *    paper's audio stream, stage 1 = blocks 1-2 and stage 2 = blocks 3-4. */
#include "model/fusion.h"

#include <stdio.h>
#include <string.h>

#define TRY(x)                   \
    do {                         \
        int st_ = (x);           \
        if (st_) return st_;     \
    } while (0)
#define ADD(L, field, kind, name, ...)                                                                   \
    layout_add(L, field, kind, 0, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),            \
               (const int64_t[]){__VA_ARGS__}, "%s", name)

/* sizes of the streams, as the fusions see them */
typedef struct { int T, v1, v2, ta1, a1, ta2, a2, fc, classes; } dims;
static dims get_dims(const model *m) {
    const model_config *c = &m->cfg;
    dims d = {c->video_frames, c->video_ch1, c->video_ch2, 0, 0, 0, 0, c->fusion_ch, c->n_classes};
    if (c->modality != MODALITY_VIDEO) {
        d.ta1 = audio_stream_out_t(&m->adims, 0), d.a1 = audio_stream_out_c(&m->adims, 0);
        d.ta2 = audio_stream_out_t(&m->adims, 1), d.a2 = audio_stream_out_c(&m->adims, 1);
    }
    return d;
}
static int is_av(const model *m, model_fusion f) { return m->cfg.modality == MODALITY_AV && m->cfg.fusion == f; }
static int attention_like(const model *m) { return is_av(m, FUSION_ATTENTION) || is_av(m, FUSION_CONCAT); }

/* ------------------------------------------------------------------ declarations */

void fusion_declare(model *m) {
    const model_config *c = &m->cfg;
    dims d = get_dims(m);
    layout *P = &m->P;
    model_params *p = &m->params;
    if (attention_like(m)) {
        linear_declare(P, &p->audio_proj, "fusion.audio_proj", d.a2, d.fc, 1);
        for (int i = 0; i < c->fusion_blocks; i++) {
            char name[32];
            snprintf(name, sizeof name, "fusion.block%d", i + 1);
            resblock_declare(P, &p->fusion[i], name, i == 0 ? d.fc + d.v2 : d.fc, d.fc);
        }
        if (c->fusion == FUSION_ATTENTION) {
            attention_shape s = {.b = 1, .tq = 1, .tk = 1, .d_q_in = d.fc, .d_kv_in = d.fc, .d_k = d.fc, .d_v = d.fc};
            attention_declare(P, &p->self_attn, "fusion.attn", &s, 1, 1);
            linear_declare(P, &p->gate, "fusion.gate", d.fc, 2, 1);
        }
        m->n_features = d.fc + d.v2 + d.fc;
    } else if (is_av(m, FUSION_IA)) {
        attention_shape av = {.d_q_in = d.a1, .d_kv_in = d.v1, .d_k = d.a1}, va = {.d_q_in = d.v1, .d_kv_in = d.a1, .d_k = d.v1};
        attention_declare(P, &p->ia_av, "fusion.av", &av, 0, 0);
        attention_declare(P, &p->ia_va, "fusion.va", &va, 0, 0);
        m->n_features = d.a2 + d.v2;
    } else if (is_av(m, FUSION_IT)) {
        attn_block_declare(P, &p->av, "fusion.av", d.a1, d.v1);
        attn_block_declare(P, &p->va, "fusion.va", d.v1, d.a1);
        m->n_features = d.a2 + d.v2;
    } else if (is_av(m, FUSION_LT)) {
        attn_block_declare(P, &p->av, "fusion.av", d.a2, d.v2);
        attn_block_declare(P, &p->va, "fusion.va", d.v2, d.a2);
        m->n_features = d.a2 + d.v2;
    } else if (is_av(m, FUSION_LATE)) {
        linear_declare(P, &p->audio_cls, "audio_classifier", d.a2, d.classes, 1);
        linear_declare(P, &p->video_cls, "video_classifier", d.v2, d.classes, 1);
        m->n_features = 0;
        return;
    } else if (is_av(m, FUSION_INTERMEDIATE)) {
        m->n_features = d.a2 + d.v2;
        linear_declare(P, &p->hidden, "mlp.hidden", m->n_features, c->mlp_hidden, 1);
        linear_declare(P, &p->classifier, "classifier", c->mlp_hidden, d.classes, 1);
        return;
    } else {
        m->n_features = c->modality == MODALITY_AUDIO ? d.a2 : d.v2;
    }
    linear_declare(P, &p->classifier, "classifier", m->n_features, d.classes, 1);
}

void fusion_declare_acts(model *m, int B) {
    const model_config *c = &m->cfg;
    dims d = get_dims(m);
    layout *A = &m->A;
    model_acts *a = &m->acts;
    int nf = m->n_features;
    if (attention_like(m)) {
        ADD(A, &a->audio_proj, LT_ACT, "audio_proj", B, d.ta2, d.fc);
        ADD(A, &a->audio_interp, LT_ACT, "audio_interp", B, d.T, d.fc);
        ADD(A, &a->joint_in, LT_ACT, "joint_in", B, d.T, d.fc + d.v2);
        for (int i = 0; i < c->fusion_blocks; i++) {
            resblock_dims rd = {d.T, i == 0 ? d.fc + d.v2 : d.fc, d.fc};
            resblock_declare_acts(A, &a->fusion[i], B, &rd);
        }
        if (c->fusion == FUSION_ATTENTION) {
            attention_shape s = {.b = B, .tq = d.T, .tk = d.T, .d_q_in = d.fc, .d_kv_in = d.fc, .d_k = d.fc, .d_v = d.fc};
            attention_declare_acts(A, &a->self_attn, &s, 1);
            ADD(A, &a->gate_scores, LT_ACT, "gate_scores", B, 2);
            ADD(A, &a->gate, LT_ACT, "gate", B, 2);
        }
        ADD(A, &a->joint, LT_ACT, "joint", B, d.T, d.fc);
        ADD(A, &a->pooled_joint, LT_ACT, "pooled_joint", B, d.fc);
        ADD(A, &a->pooled_audio, LT_ACT, "pooled_audio", B, d.fc);
    } else {
        if (is_av(m, FUSION_IA)) {
            ia_declare_acts(A, &a->ia_av, B, d.ta1, d.T, d.a1, d.v1);
            ia_declare_acts(A, &a->ia_va, B, d.T, d.ta1, d.v1, d.a1);
        } else if (is_av(m, FUSION_IT)) {
            attn_block_declare_acts(A, &a->av, B, d.ta1, d.T, d.a1, d.v1);
            attn_block_declare_acts(A, &a->va, B, d.T, d.ta1, d.v1, d.a1);
            ADD(A, &a->audio_mid, LT_ACT, "audio_mid", B, d.ta1, d.a1);
            ADD(A, &a->video_mid, LT_ACT, "video_mid", B, d.T, d.v1);
        } else if (is_av(m, FUSION_LT)) {
            attn_block_declare_acts(A, &a->av, B, d.ta2, d.T, d.a2, d.v2);
            attn_block_declare_acts(A, &a->va, B, d.T, d.ta2, d.v2, d.a2);
        }
        if (c->modality != MODALITY_VIDEO) ADD(A, &a->pooled_audio, LT_ACT, "pooled_audio", B, d.a2);
    }
    if (c->modality != MODALITY_AUDIO) ADD(A, &a->pooled_video, LT_ACT, "pooled_video", B, d.v2);
    if (is_av(m, FUSION_LATE)) {
        ADD(A, &a->audio_dropped, LT_ACT, "audio_dropped", B, d.a2);
        ADD(A, &a->audio_mask, LT_STAT, "audio_mask", B, d.a2);
        ADD(A, &a->video_dropped, LT_ACT, "video_dropped", B, d.v2);
        ADD(A, &a->video_mask, LT_STAT, "video_mask", B, d.v2);
        ADD(A, &a->audio_logits, LT_ACT, "audio_logits", B, d.classes);
        ADD(A, &a->video_logits, LT_ACT, "video_logits", B, d.classes);
        ADD(A, &a->audio_logp, LT_ACT, "audio_logp", B, d.classes);
        ADD(A, &a->video_logp, LT_ACT, "video_logp", B, d.classes);
    } else {
        int nx = nf;
        ADD(A, &a->features, LT_ACT, "features", B, nf);
        if (is_av(m, FUSION_INTERMEDIATE)) {
            nx = c->mlp_hidden;
            ADD(A, &a->hidden_pre, LT_ACT, "hidden_pre", B, nx);
            ADD(A, &a->hidden, LT_ACT, "hidden", B, nx);
        }
        ADD(A, &a->dropped, LT_ACT, "dropped", B, nx);
        ADD(A, &a->drop_mask, LT_STAT, "drop_mask", B, nx);
    }
    ADD(A, &a->logits, LT_ACT, "logits", B, d.classes);
    ADD(A, &a->probs, LT_STAT, "probs", B, d.classes);
}

/* ------------------------------------------------------------------ ia / it: between the stages */

int exchange_forward(model *m, const float *a1, const float *v1, const float **a_mid, const float **v_mid) {
    dims d = get_dims(m);
    const model_params *p = &m->params;
    const model_acts *a = &m->acts;
    int B = m->B;
    *a_mid = a1, *v_mid = v1;
    if (is_av(m, FUSION_IA)) {
        /* audio queries over video keys: column sums weight the video steps, and vice versa */
        TRY(ia_forward(&p->ia_av, &a->ia_av, a1, v1, B, d.ta1, d.T, d.a1, d.v1, d.a1)); /* -> [B, T, v1] */
        TRY(ia_forward(&p->ia_va, &a->ia_va, v1, a1, B, d.T, d.ta1, d.v1, d.a1, d.v1)); /* -> [B, Ta1, a1] */
        *v_mid = a->ia_av.y, *a_mid = a->ia_va.y;
    } else if (is_av(m, FUSION_IT)) {
        TRY(attn_block_forward(&p->av, &a->av, a1, v1, B, d.ta1, d.T, d.a1, d.v1)); /* [B, Ta1, a1] */
        TRY(attn_block_forward(&p->va, &a->va, v1, a1, B, d.T, d.ta1, d.v1, d.a1)); /* [B, T, v1] */
        add_forward(a->audio_mid, a1, a->av.y, (long)B * d.ta1 * d.a1);
        add_forward(a->video_mid, v1, a->va.y, (long)B * d.T * d.v1);
        *a_mid = a->audio_mid, *v_mid = a->video_mid;
    }
    return 0;
}

float *exchange_grad_audio(model *m, float *da1) {
    if (is_av(m, FUSION_IA)) return m->dacts.ia_va.y;
    if (is_av(m, FUSION_IT)) return m->dacts.audio_mid;
    return da1;
}
float *exchange_grad_video(model *m, float *dv1) {
    if (is_av(m, FUSION_IA)) return m->dacts.ia_av.y;
    if (is_av(m, FUSION_IT)) return m->dacts.video_mid;
    return dv1;
}

int exchange_backward(model *m, const float *a1, const float *v1, float *da1, float *dv1) {
    dims d = get_dims(m);
    const model_params *p = &m->params;
    const model_params *g = &m->grads;
    const model_acts *a = &m->acts, *da = &m->dacts;
    int B = m->B;
    if (is_av(m, FUSION_IA)) {
        TRY(ia_backward(&p->ia_va, &g->ia_va, &a->ia_va, &da->ia_va, v1, a1, dv1, da1, B, d.T, d.ta1, d.v1, d.a1, d.v1));
        TRY(ia_backward(&p->ia_av, &g->ia_av, &a->ia_av, &da->ia_av, a1, v1, da1, dv1, B, d.ta1, d.T, d.a1, d.v1, d.a1));
    } else if (is_av(m, FUSION_IT)) {
        long na = (long)B * d.ta1 * d.a1, nv = (long)B * d.T * d.v1;
        for (long i = 0; i < na; i++) da1[i] += da->audio_mid[i], da->av.y[i] += da->audio_mid[i];
        for (long i = 0; i < nv; i++) dv1[i] += da->video_mid[i], da->va.y[i] += da->video_mid[i];
        TRY(attn_block_backward(&p->va, &g->va, &a->va, &da->va, v1, a1, dv1, da1, B, d.T, d.ta1, d.v1, d.a1));
        TRY(attn_block_backward(&p->av, &g->av, &a->av, &da->av, a1, v1, da1, dv1, B, d.ta1, d.T, d.a1, d.v1));
    }
    return 0;
}

/* ------------------------------------------------------------------ attention / concat fusion */

/* features [B, fc + v2 + fc] = [g_audio * pooled audio, g_video * pooled video, pooled joint];
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

static int attention_fusion_forward(model *m, const float *a2, const float *v2, int train) {
    const model_config *c = &m->cfg;
    const model_params *p = &m->params;
    const model_acts *a = &m->acts;
    dims d = get_dims(m);
    int B = m->B, nb = c->fusion_blocks, attn = c->fusion == FUSION_ATTENTION;
    long n_joint = (long)B * d.T * d.fc;
    /* audio [B, Ta2, a2] -> projection [B, Ta2, fc] -> linear interpolation to the video's T [B, T, fc] */
    TRY(linear_forward(a->audio_proj, a2, p->audio_proj.w, p->audio_proj.b, (long)B * d.ta2, d.a2, d.fc));
    interp_time_forward(a->audio_interp, a->audio_proj, B, d.ta2, d.T, d.fc);
    /* concatenate with the video along channels [B, T, fc + v2] -> Conv1D residual blocks [B, T, fc] */
    concat_channels_forward(a->joint_in, a->audio_interp, v2, (long)B * d.T, d.fc, d.v2);
    for (int i = 0; i < nb; i++) {
        resblock_dims rd = {d.T, i == 0 ? d.fc + d.v2 : d.fc, d.fc};
        TRY(resblock_forward(&p->fusion[i], &a->fusion[i], i == 0 ? a->joint_in : a->fusion[i - 1].y, B, &rd, train));
    }
    const float *x = a->fusion[nb - 1].y;
    if (attn) {
        /* self-attention over time, eq. (4)-(7), with a residual connection [B, T, fc] */
        attention_shape s = {.b = B, .tq = d.T, .tk = d.T, .d_q_in = d.fc, .d_kv_in = d.fc, .d_k = d.fc, .d_v = d.fc};
        TRY(attention_forward(a->self_attn.out, a->self_attn.q, a->self_attn.k, a->self_attn.v, a->self_attn.att, x, x,
                              p->self_attn.q.w, p->self_attn.q.b, p->self_attn.k.w, p->self_attn.k.b,
                              p->self_attn.v.w, p->self_attn.v.b, &s));
        add_forward(a->joint, x, a->self_attn.out, n_joint);
    } else {
        memcpy(a->joint, x, (size_t)n_joint * sizeof(float));
    }
    /* pooled joint, audio and video vectors */
    avgpool_global_forward(a->pooled_joint, a->joint, B, d.T, d.fc);
    avgpool_global_forward(a->pooled_audio, a->audio_interp, B, d.T, d.fc);
    avgpool_global_forward(a->pooled_video, v2, B, d.T, d.v2);
    if (attn) {
        /* modality gate: 2 scores from the pooled joint vector, softmax */
        TRY(linear_forward(a->gate_scores, a->pooled_joint, p->gate.w, p->gate.b, B, d.fc, 2));
        softmax_forward(a->gate, a->gate_scores, B, 2);
    }
    gate_apply_forward(a->features, attn ? a->gate : NULL, a->pooled_audio, a->pooled_video, a->pooled_joint, B,
                       d.fc, d.v2, d.fc);
    return 0;
}

static int attention_fusion_backward(model *m, const float *a2, const float *v2, float *da2, float *dv2) {
    const model_config *c = &m->cfg;
    const model_params *p = &m->params, *g = &m->grads;
    const model_acts *a = &m->acts, *da = &m->dacts;
    dims d = get_dims(m);
    int B = m->B, nb = c->fusion_blocks, attn = c->fusion == FUSION_ATTENTION;
    long n_joint = (long)B * d.T * d.fc;
    gate_apply_backward(attn ? da->gate : NULL, da->pooled_audio, da->pooled_video, da->pooled_joint, da->features,
                        attn ? a->gate : NULL, a->pooled_audio, a->pooled_video, B, d.fc, d.v2, d.fc);
    if (attn) {
        softmax_backward(da->gate_scores, da->gate, a->gate, B, 2);
        TRY(linear_backward(da->pooled_joint, g->gate.w, g->gate.b, da->gate_scores, a->pooled_joint, p->gate.w, B, d.fc, 2));
    }
    avgpool_global_backward(dv2, da->pooled_video, B, d.T, d.v2);
    avgpool_global_backward(da->audio_interp, da->pooled_audio, B, d.T, d.fc);
    avgpool_global_backward(da->joint, da->pooled_joint, B, d.T, d.fc);
    const float *x = a->fusion[nb - 1].y;
    float *dx = da->fusion[nb - 1].y;
    for (long i = 0; i < n_joint; i++) dx[i] += da->joint[i];
    if (attn) {
        attention_shape s = {.b = B, .tq = d.T, .tk = d.T, .d_q_in = d.fc, .d_kv_in = d.fc, .d_k = d.fc, .d_v = d.fc};
        TRY(attention_backward(dx, dx, g->self_attn.q.w, g->self_attn.q.b, g->self_attn.k.w, g->self_attn.k.b,
                               g->self_attn.v.w, g->self_attn.v.b, da->joint, a->self_attn.q, a->self_attn.k,
                               a->self_attn.v, a->self_attn.att, x, x, p->self_attn.q.w, p->self_attn.k.w,
                               p->self_attn.v.w, &s));
    }
    for (int i = nb - 1; i >= 0; i--) {
        resblock_dims rd = {d.T, i == 0 ? d.fc + d.v2 : d.fc, d.fc};
        TRY(resblock_backward(&p->fusion[i], &g->fusion[i], &a->fusion[i], &da->fusion[i],
                              i == 0 ? a->joint_in : a->fusion[i - 1].y, i == 0 ? da->joint_in : da->fusion[i - 1].y,
                              B, &rd));
    }
    concat_channels_backward(da->audio_interp, dv2, da->joint_in, (long)B * d.T, d.fc, d.v2);
    interp_time_backward(da->audio_proj, da->audio_interp, B, d.ta2, d.T, d.fc);
    return linear_backward(da2, g->audio_proj.w, g->audio_proj.b, da->audio_proj, a2, p->audio_proj.w,
                           (long)B * d.ta2, d.a2, d.fc);
}

/* ------------------------------------------------------------------ classifier heads */

/* x [B, n] -> dropout (train) -> y; returns the classifier's input */
static const float *drop(const float *x, float *y, float *mask, long n, float p, int train, rng_t *rng) {
    if (!train || p == 0.0f) return x;
    dropout_mask(mask, n, p, rng);
    dropout_forward(y, x, mask, n);
    return y;
}

int fusion_forward(model *m, const float *a2, const float *v2, int train, rng_t *rng) {
    const model_config *c = &m->cfg;
    const model_params *p = &m->params;
    const model_acts *a = &m->acts;
    dims d = get_dims(m);
    int B = m->B, K = d.classes;
    if (attention_like(m)) {
        TRY(attention_fusion_forward(m, a2, v2, train));
    } else {
        const float *fa = a2, *fv = v2; /* the streams' final sequences */
        if (is_av(m, FUSION_LT)) {
            TRY(attn_block_forward(&p->av, &a->av, a2, v2, B, d.ta2, d.T, d.a2, d.v2)); /* [B, Ta2, a2] */
            TRY(attn_block_forward(&p->va, &a->va, v2, a2, B, d.T, d.ta2, d.v2, d.a2)); /* [B, T, v2] */
            fa = a->av.y, fv = a->va.y;
        }
        /* temporal means [B, a2], [B, v2] */
        if (fa) avgpool_global_forward(a->pooled_audio, fa, B, d.ta2, d.a2);
        if (fv) avgpool_global_forward(a->pooled_video, fv, B, d.T, d.v2);
        if (is_av(m, FUSION_LATE)) {
            /* mean of the two streams' own classifiers' log-probabilities */
            const float *xa = drop(a->pooled_audio, a->audio_dropped, a->audio_mask, (long)B * d.a2, c->dropout, train, rng);
            const float *xv = drop(a->pooled_video, a->video_dropped, a->video_mask, (long)B * d.v2, c->dropout, train, rng);
            TRY(linear_forward(a->audio_logits, xa, p->audio_cls.w, p->audio_cls.b, B, d.a2, K));
            TRY(linear_forward(a->video_logits, xv, p->video_cls.w, p->video_cls.b, B, d.v2, K));
            log_softmax_forward(a->audio_logp, a->audio_logits, B, K);
            log_softmax_forward(a->video_logp, a->video_logits, B, K);
            for (long i = 0; i < (long)B * K; i++) a->logits[i] = 0.5f * (a->audio_logp[i] + a->video_logp[i]);
            return 0;
        }
        if (fa && fv)
            concat_channels_forward(a->features, a->pooled_audio, a->pooled_video, B, d.a2, d.v2);
        else
            memcpy(a->features, fa ? a->pooled_audio : a->pooled_video, (size_t)B * m->n_features * sizeof(float));
    }
    const float *x = a->features;
    int nx = m->n_features;
    if (is_av(m, FUSION_INTERMEDIATE)) { /* MLP: Linear -> ReLU (-> dropout -> Linear below) */
        TRY(linear_forward(a->hidden_pre, x, p->hidden.w, p->hidden.b, B, nx, c->mlp_hidden));
        relu_forward(a->hidden, a->hidden_pre, (long)B * c->mlp_hidden);
        x = a->hidden, nx = c->mlp_hidden;
    }
    x = drop(x, a->dropped, a->drop_mask, (long)B * nx, c->dropout, train, rng);
    return linear_forward(a->logits, x, p->classifier.w, p->classifier.b, B, nx, K);
}

int fusion_backward(model *m, const float *a2, const float *v2, float *da2, float *dv2) {
    const model_config *c = &m->cfg;
    const model_params *p = &m->params, *g = &m->grads;
    const model_acts *a = &m->acts, *da = &m->dacts;
    dims d = get_dims(m);
    int B = m->B, K = d.classes, dropping = m->train && c->dropout > 0.0f;
    if (is_av(m, FUSION_LATE)) {
        for (long i = 0; i < (long)B * K; i++) {
            da->audio_logp[i] += 0.5f * da->logits[i];
            da->video_logp[i] += 0.5f * da->logits[i];
        }
        log_softmax_backward(da->audio_logits, da->audio_logp, a->audio_logp, B, K);
        log_softmax_backward(da->video_logits, da->video_logp, a->video_logp, B, K);
        TRY(linear_backward(dropping ? da->audio_dropped : da->pooled_audio, g->audio_cls.w, g->audio_cls.b,
                            da->audio_logits, dropping ? a->audio_dropped : a->pooled_audio, p->audio_cls.w, B, d.a2, K));
        TRY(linear_backward(dropping ? da->video_dropped : da->pooled_video, g->video_cls.w, g->video_cls.b,
                            da->video_logits, dropping ? a->video_dropped : a->pooled_video, p->video_cls.w, B, d.v2, K));
        if (dropping) {
            dropout_backward(da->pooled_audio, da->audio_dropped, a->audio_mask, (long)B * d.a2);
            dropout_backward(da->pooled_video, da->video_dropped, a->video_mask, (long)B * d.v2);
        }
    } else {
        int inter = is_av(m, FUSION_INTERMEDIATE), nx = inter ? c->mlp_hidden : m->n_features;
        const float *x = inter ? a->hidden : a->features;
        float *dx = inter ? da->hidden : da->features;
        TRY(linear_backward(dropping ? da->dropped : dx, g->classifier.w, g->classifier.b, da->logits,
                            dropping ? a->dropped : x, p->classifier.w, B, nx, K));
        if (dropping) dropout_backward(dx, da->dropped, a->drop_mask, (long)B * nx);
        if (inter) {
            relu_backward(da->hidden_pre, da->hidden, a->hidden, (long)B * nx);
            TRY(linear_backward(da->features, g->hidden.w, g->hidden.b, da->hidden_pre, a->features, p->hidden.w, B,
                                m->n_features, c->mlp_hidden));
        }
        if (attention_like(m)) return attention_fusion_backward(m, a2, v2, da2, dv2);
        if (a2 && v2)
            concat_channels_backward(da->pooled_audio, da->pooled_video, da->features, B, d.a2, d.v2);
        else
            concat_channels_backward(a2 ? da->pooled_audio : da->pooled_video, NULL, da->features, B, m->n_features, 0);
    }
    /* temporal means, then lt's attention blocks */
    int lt = is_av(m, FUSION_LT);
    if (a2) avgpool_global_backward(lt ? da->av.y : da2, da->pooled_audio, B, d.ta2, d.a2);
    if (v2) avgpool_global_backward(lt ? da->va.y : dv2, da->pooled_video, B, d.T, d.v2);
    if (lt) {
        TRY(attn_block_backward(&p->va, &g->va, &a->va, &da->va, v2, a2, dv2, da2, B, d.T, d.ta2, d.v2, d.a2));
        TRY(attn_block_backward(&p->av, &g->av, &a->av, &da->av, a2, v2, da2, dv2, B, d.ta2, d.T, d.a2, d.v2));
    }
    return 0;
}
