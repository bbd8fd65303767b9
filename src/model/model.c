/* The trainable head: Fig. 1 of the paper after the per-frame MobileNetV2 features (see model.h). */
#include "model/model.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define TRY(x)                   \
    do {                         \
        int st_ = (x);           \
        if (st_) return st_;     \
    } while (0)

static int uses_audio(const model *m) { return m->cfg.modality != MODALITY_VIDEO; }
static int uses_video(const model *m) { return m->cfg.modality != MODALITY_AUDIO; }

/* The fusions (model/fusion.h), keyed by model_config.fusion; a one-stream model has none. */
static const fusion_ops FUSIONS[] = {
    [FUSION_ATTENTION] = {.declare = attention_fusion_declare, .declare_acts = attention_fusion_declare_acts,
                          .forward = attention_fusion_forward, .backward = attention_fusion_backward},
    [FUSION_CONCAT] = {.declare = attention_fusion_declare, .declare_acts = attention_fusion_declare_acts,
                       .forward = attention_fusion_forward, .backward = attention_fusion_backward},
    [FUSION_IA] = {.declare = ia_fusion_declare, .declare_acts = ia_fusion_declare_acts,
                   .exchange_forward = ia_fusion_exchange_forward, .exchange_backward = ia_fusion_exchange_backward,
                   .forward = ia_fusion_forward, .backward = ia_fusion_backward},
    [FUSION_IT] = {.declare = it_fusion_declare, .declare_acts = it_fusion_declare_acts,
                   .exchange_forward = it_fusion_exchange_forward, .exchange_backward = it_fusion_exchange_backward,
                   .forward = it_fusion_forward, .backward = it_fusion_backward},
    [FUSION_LT] = {.declare = lt_fusion_declare, .declare_acts = lt_fusion_declare_acts, .forward = lt_fusion_forward,
                   .backward = lt_fusion_backward},
    [FUSION_INTERMEDIATE] = {.declare = intermediate_fusion_declare, .declare_acts = intermediate_fusion_declare_acts,
                             .forward = intermediate_fusion_forward, .backward = intermediate_fusion_backward},
    [FUSION_LATE] = {.declare = late_fusion_declare, .declare_acts = late_fusion_declare_acts,
                     .forward = late_fusion_forward, .backward = late_fusion_backward},
};
_Static_assert(sizeof FUSIONS / sizeof FUSIONS[0] == FUSION_CONCAT + 1, "one row per model_fusion");
static const fusion_ops UNIMODAL = {.declare = unimodal_declare, .declare_acts = unimodal_declare_acts,
                                    .forward = unimodal_forward, .backward = unimodal_backward};

fusion_dims fusion_dims_of(const model *m) {
    const model_config *c = &m->cfg;
    fusion_dims d = {.T = c->video_frames, .fusion_ch = c->fusion_ch, .n_classes = c->n_classes};
    if (uses_video(m)) d.video_c1 = c->video_ch1, d.video_c2 = c->video_ch2;
    if (uses_audio(m)) {
        d.audio_t1 = audio_stream_out_t(&m->adims, 0), d.audio_c1 = audio_stream_out_c(&m->adims, 0);
        d.audio_t2 = audio_stream_out_t(&m->adims, 1), d.audio_c2 = audio_stream_out_c(&m->adims, 1);
    }
    return d;
}

stream_pool_dims fusion_pool_dims(const fusion_dims *d) {
    stream_pool_dims pd = {d->audio_t2, d->audio_c2, d->T, d->video_c2};
    return pd;
}

/* Declare the parameters and buffers of m->cfg into m->param_layout (no allocation of their storage). */
static void declare_params(model *m) {
    m->fusion = m->cfg.modality == MODALITY_AV ? &FUSIONS[m->cfg.fusion] : &UNIMODAL;
    layout_begin(&m->param_layout, &m->params);
    if (uses_video(m)) {
        temporal_stream_setup(&m->vdims, &m->cfg);
        temporal_stream_declare(&m->param_layout, &m->params.video, &m->vdims);
    }
    if (uses_audio(m)) {
        audio_stream_setup(&m->adims, &m->cfg);
        audio_stream_declare(&m->param_layout, &m->params.audio, &m->adims);
    }
    m->fusion->declare(m);
}

int model_config_n_values(const model_config *cfg, int64_t *n_values) {
    *n_values = 0;
    TRY(model_config_validate(cfg));
    model *m = calloc(1, sizeof *m);
    if (!m) return avemo_error(AVEMO_ENOMEM, "out of memory");
    m->cfg = *cfg;
    declare_params(m);
    int failed = m->param_layout.failed;
    *n_values = (int64_t)m->param_layout.n_grad + (int64_t)m->param_layout.n_nograd;
    layout_free(&m->param_layout);
    free(m);
    return failed ? avemo_error(AVEMO_ENOMEM, "out of memory declaring the model") : AVEMO_OK;
}

int model_create_unset(model **out, const model_config *cfg) {
    *out = NULL;
    TRY(model_config_validate(cfg));
    model *m = calloc(1, sizeof *m);
    if (!m) return avemo_error(AVEMO_ENOMEM, "out of memory");
    m->cfg = *cfg;
    declare_params(m);
    int st = layout_alloc(&m->param_layout, &m->params, &m->grads, &m->param_mem, &m->grad_mem, &m->buffer_mem, NULL);
    if (st) {
        layout_free(&m->param_layout);
        free(m);
        return st;
    }
    m->n_params = m->param_layout.n_grad;
    m->n_buffers = m->param_layout.n_nograd;
    *out = m;
    return AVEMO_OK;
}

int model_create(model **out, const model_config *cfg, uint64_t seed) {
    TRY(model_create_unset(out, cfg));
    rng_t rng;
    rng_seed(&rng, seed);
    layout_init_values(&(*out)->param_layout, &(*out)->params, &rng);
    return AVEMO_OK;
}

static void free_acts(model *m) {
    free(m->act_mem), free(m->dact_mem), free(m->stat_mem), free(m->act_int);
    m->act_mem = m->dact_mem = m->stat_mem = NULL;
    m->act_int = NULL;
    layout_free(&m->act_layout);
    memset(&m->acts, 0, sizeof m->acts);
    memset(&m->dacts, 0, sizeof m->dacts);
    m->act_B = 0;
}

void model_free(model *m) {
    if (!m) return;
    free_acts(m);
    free(m->param_mem), free(m->grad_mem), free(m->buffer_mem);
    layout_free(&m->param_layout);
    free(m);
}

/* Activations for batches of up to B samples. */
static int ensure_acts(model *m, int B) {
    if (B <= m->act_B) return AVEMO_OK;
    free_acts(m);
    layout *L = &m->act_layout;
    layout_begin(L, &m->acts);
    if (uses_video(m)) temporal_stream_declare_acts(L, &m->acts.video, B, &m->vdims);
    if (uses_audio(m)) audio_stream_declare_acts(L, &m->acts.audio, B, &m->adims);
    m->fusion->declare_acts(m, B);
    LAYOUT_ADD(L, &m->acts.logits, LT_ACT, 0, "logits", B, m->cfg.n_classes);
    LAYOUT_ADD(L, &m->acts.probs, LT_STAT, 0, "probs", B, m->cfg.n_classes);
    int st = layout_alloc(L, &m->acts, &m->dacts, &m->act_mem, &m->dact_mem, &m->stat_mem, &m->act_int);
    if (st) {
        free_acts(m);
        return st;
    }
    m->act_B = B;
    return AVEMO_OK;
}

/* The streams' outputs after stage s (0, 1) and their gradient buffers (NULL for a stream the model lacks). */
static stream_pair stage_outputs(const model *m, int stage) {
    stream_pair s = {0};
    if (uses_video(m)) s.video = m->acts.video.stage[stage].y, s.dvideo = m->dacts.video.stage[stage].y;
    if (uses_audio(m)) {
        s.audio = audio_stream_out(&m->acts.audio, &m->adims, stage);
        s.daudio = audio_stream_out(&m->dacts.audio, &m->adims, stage);
    }
    return s;
}

/* Stream stage s (0, 1) of both streams on video / audio (the stage's inputs). */
static int streams_forward(model *m, int stage, const float *video, const float *audio, int train) {
    if (uses_video(m))
        TRY(temporal_stream_forward(&m->params.video, &m->acts.video, stage, video, m->B, &m->vdims, train));
    if (uses_audio(m))
        TRY(audio_stream_forward(&m->params.audio, &m->acts.audio, stage, audio, m->B, &m->adims, train));
    return AVEMO_OK;
}

/* Backward of stream stage s: accumulates into dvideo / daudio (the gradients of the stage's inputs). */
static int streams_backward(model *m, int stage, const stream_pair *in) {
    if (uses_video(m))
        TRY(temporal_stream_backward(&m->params.video, &m->grads.video, &m->acts.video, &m->dacts.video, stage,
                                     in->video, in->dvideo, m->B, &m->vdims));
    if (uses_audio(m))
        TRY(audio_stream_backward(&m->params.audio, &m->grads.audio, &m->acts.audio, &m->dacts.audio, stage,
                                  in->audio, in->daudio, m->B, &m->adims));
    return AVEMO_OK;
}

static int check_forward_inputs(const model *m, const float *video, const float *audio, const int *labels, int B,
                                int train, const rng_t *rng) {
    const model_config *c = &m->cfg;
    if (B < 1) return avemo_error(AVEMO_EINVAL, "model_forward: batch size %d", B);
    if ((uses_video(m) && !video) || (uses_audio(m) && !audio))
        return avemo_error(AVEMO_EINVAL, "model_forward: the %s model needs %s input", model_modality_name(c->modality),
                           !video ? "video" : "audio");
    if (train && c->dropout > 0 && !rng) return avemo_error(AVEMO_EINVAL, "model_forward: training needs an rng");
    for (int b = 0; labels && b < B; b++)
        if (labels[b] < 0 || labels[b] >= c->n_classes)
            return avemo_error(AVEMO_EINVAL, "model_forward: label %d of sample %d not in 0..%d", labels[b], b,
                               c->n_classes - 1);
    return AVEMO_OK;
}

int model_forward(model *m, const float *video, const float *audio, const int *labels, int B, int train, rng_t *rng) {
    const model_config *c = &m->cfg;
    TRY(check_forward_inputs(m, video, audio, labels, B, train, rng));
    TRY(ensure_acts(m, B));
    m->B = B, m->train = train, m->video = video, m->audio = audio, m->labels = labels;
    stream_pair stage1 = stage_outputs(m, 0), stage2 = stage_outputs(m, 1);
    /* stage 1. visual: [B, T, 1280] -> [B, T, 64];  audio: [B, 156, 10] -> [B, 39, 64] (baseline [B, 150, 128]) */
    TRY(streams_forward(m, 0, video, audio, train));
    /* ia / it: the baseline's exchange between the streams' stage-1 features (others: stage 1 feeds stage 2) */
    m->stage2_in = stage1;
    if (m->fusion->exchange_forward) TRY(m->fusion->exchange_forward(m, &stage1, &m->stage2_in));
    /* stage 2. visual: -> [B, T, 128];  audio: -> [B, 9, 64] (baseline [B, 144, 128]) */
    TRY(streams_forward(m, 1, m->stage2_in.video, m->stage2_in.audio, train));
    /* fusion and classifier -> logits [B, K] */
    TRY(m->fusion->forward(m, &stage2, train, rng));
    /* softmax (cross-entropy with the labels) */
    if (labels && m->mix_labels) {
        float lam = m->mix_lambda;
        float mixed = softmax_xent_forward(m->acts.probs, m->acts.logits, m->mix_labels, B, c->n_classes,
                                           c->label_smoothing);
        m->loss = lam * softmax_xent_forward(m->acts.probs, m->acts.logits, labels, B, c->n_classes, c->label_smoothing) +
                  (1 - lam) * mixed;
    } else if (labels)
        m->loss = softmax_xent_forward(m->acts.probs, m->acts.logits, labels, B, c->n_classes, c->label_smoothing);
    else
        softmax_forward(m->acts.probs, m->acts.logits, B, c->n_classes);
    return AVEMO_OK;
}

void model_zero_grad(model *m) { memset(m->grad_mem, 0, (size_t)m->n_params * sizeof(float)); }

int model_backward(model *m, float *dvideo, float *daudio) { return model_backward_scaled(m, dvideo, daudio, 1.0f); }

int model_backward_scaled(model *m, float *dvideo, float *daudio, float loss_scale) {
    const model_config *c = &m->cfg;
    if (!m->act_B || !m->train || !m->labels)
        return avemo_error(AVEMO_EINVAL, "model_backward: needs a train-mode model_forward with labels first");
    int B = m->B;
    memset(m->dact_mem, 0, (size_t)m->act_layout.n_grad * sizeof(float));
    if (dvideo && uses_video(m)) memset(dvideo, 0, (size_t)B * c->video_frames * c->video_dim * sizeof(float));
    if (daudio && uses_audio(m)) memset(daudio, 0, (size_t)B * c->audio_frames * c->audio_channels * sizeof(float));
    stream_pair stage1 = stage_outputs(m, 0), stage2 = stage_outputs(m, 1);
    stream_pair inputs = {.audio = m->audio, .video = m->video, .daudio = daudio, .dvideo = dvideo};
    /* mixup: lambda dCE(labels) + (1 - lambda) dCE(mix_labels) (CE is linear in the target; both accumulate),
     * each times loss_scale */
    float lam = m->mix_labels ? m->mix_lambda : 1.0f;
    softmax_xent_backward(m->dacts.logits, m->acts.probs, m->labels, B, c->n_classes, c->label_smoothing,
                          lam * loss_scale);
    if (m->mix_labels)
        softmax_xent_backward(m->dacts.logits, m->acts.probs, m->mix_labels, B, c->n_classes, c->label_smoothing,
                              (1.0f - lam) * loss_scale);
    TRY(m->fusion->backward(m, &stage2));
    TRY(streams_backward(m, 1, &m->stage2_in));
    if (m->fusion->exchange_backward) TRY(m->fusion->exchange_backward(m, &stage1));
    TRY(streams_backward(m, 0, &inputs));
    return AVEMO_OK;
}

void model_set_mix(model *m, const int *labels_b, float lambda) {
    m->mix_labels = labels_b;
    m->mix_lambda = lambda;
}

void model_predict(const model *m, int *pred) {
    int K = m->cfg.n_classes;
    for (int b = 0; b < m->B; b++) {
        const float *l = m->acts.logits + (long)b * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (l[k] > l[best]) best = k;
        pred[b] = best;
    }
}

int model_n_tensors(const model *m) { return m->param_layout.n; }
const layout_entry *model_tensor(const model *m, int i) { return &m->param_layout.e[i]; }
float *model_tensor_data(const model *m, int i) { return layout_ptr(&m->param_layout.e[i], &m->params); }

int modality_dropout_softhard(float *video_out, float *audio_out, int *labels_out, const float *video,
                              const float *audio, const int *labels, int B, long video_per, long audio_per,
                              rng_t *rng) {
    int n = 4 * B, *order = malloc((size_t)n * sizeof(int));
    if (!order) return avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) order[i] = i;
    rng_shuffle_int(rng, order, n);
    for (int j = 0; j < n; j++) {
        int variant = order[j] / B, i = order[j] % B;
        /* 0: original; 1: audio x c, video x (1 - c); 2: audio zeroed; 3: video zeroed */
        float ca = 1.0f, cv = 1.0f;
        if (variant == 1) {
            ca = (float)rng_uniform(rng);
            cv = 1.0f - ca;
        } else if (variant == 2) {
            ca = 0.0f;
        } else if (variant == 3) {
            cv = 0.0f;
        }
        for (long k = 0; video && k < video_per; k++) video_out[j * video_per + k] = cv * video[i * video_per + k];
        for (long k = 0; audio && k < audio_per; k++) audio_out[j * audio_per + k] = ca * audio[i * audio_per + k];
        if (labels) labels_out[j] = labels[i];
    }
    free(order);
    return AVEMO_OK;
}
