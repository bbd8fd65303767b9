/* The trainable head: Fig. 1 of the paper after the per-frame MobileNetV2 features (see model.h). */
#include "model/model.h"

#include "core/err.h"
#include "model/fusion.h"

#include <stdlib.h>
#include <string.h>

#define TRY(x)                   \
    do {                         \
        int st_ = (x);           \
        if (st_) return st_;     \
    } while (0)

static int uses_audio(const model *m) { return m->cfg.modality != MODALITY_VIDEO; }
static int uses_video(const model *m) { return m->cfg.modality != MODALITY_AUDIO; }

/* Declare the parameters and buffers of m->cfg into m->P (no allocation of their storage). */
static void declare_params(model *m) {
    layout_begin(&m->P, &m->params);
    if (uses_video(m)) {
        temporal_stream_setup(&m->vdims, &m->cfg);
        temporal_stream_declare(&m->P, &m->params.video, &m->vdims);
    }
    if (uses_audio(m)) {
        audio_stream_setup(&m->adims, &m->cfg);
        audio_stream_declare(&m->P, &m->params.audio, &m->adims);
    }
    fusion_declare(m);
}

int model_config_n_values(const model_config *cfg, int64_t *n_values) {
    *n_values = 0;
    TRY(model_config_validate(cfg));
    model *m = calloc(1, sizeof *m);
    if (!m) return avemo_error(AVEMO_ENOMEM, "out of memory");
    m->cfg = *cfg;
    declare_params(m);
    int failed = m->P.failed;
    *n_values = (int64_t)m->P.n_grad + (int64_t)m->P.n_nograd;
    layout_free(&m->P);
    free(m);
    return failed ? avemo_error(AVEMO_ENOMEM, "out of memory declaring the model") : AVEMO_OK;
}

int model_create(model **out, const model_config *cfg, uint64_t seed) {
    *out = NULL;
    TRY(model_config_validate(cfg));
    model *m = calloc(1, sizeof *m);
    if (!m) return avemo_error(AVEMO_ENOMEM, "out of memory");
    m->cfg = *cfg;
    declare_params(m);
    int st = layout_alloc(&m->P, &m->params, &m->grads, &m->param_mem, &m->grad_mem, &m->buffer_mem, &m->param_int);
    if (st) {
        layout_free(&m->P);
        free(m);
        return st;
    }
    m->n_params = m->P.n_grad;
    m->n_buffers = m->P.n_nograd;
    rng_t rng;
    rng_seed(&rng, seed);
    layout_init_values(&m->P, &m->params, &rng);
    *out = m;
    return AVEMO_OK;
}

static void free_acts(model *m) {
    free(m->act_mem), free(m->dact_mem), free(m->stat_mem), free(m->act_int);
    m->act_mem = m->dact_mem = m->stat_mem = NULL;
    m->act_int = NULL;
    layout_free(&m->A);
    memset(&m->acts, 0, sizeof m->acts);
    memset(&m->dacts, 0, sizeof m->dacts);
    m->act_B = 0;
}

void model_free(model *m) {
    if (!m) return;
    free_acts(m);
    free(m->param_mem), free(m->grad_mem), free(m->buffer_mem), free(m->param_int);
    layout_free(&m->P);
    free(m);
}

/* Activations for batches of up to B samples. */
static int ensure_acts(model *m, int B) {
    if (B <= m->act_B) return AVEMO_OK;
    free_acts(m);
    layout_begin(&m->A, &m->acts);
    if (uses_video(m)) temporal_stream_declare_acts(&m->A, &m->acts.video, B, &m->vdims);
    if (uses_audio(m)) audio_stream_declare_acts(&m->A, &m->acts.audio, B, &m->adims);
    fusion_declare_acts(m, B);
    int st = layout_alloc(&m->A, &m->acts, &m->dacts, &m->act_mem, &m->dact_mem, &m->stat_mem, &m->act_int);
    if (st) {
        free_acts(m);
        return st;
    }
    m->act_B = B;
    return AVEMO_OK;
}

int model_forward(model *m, const float *video, const float *audio, const int *labels, int B, int train, rng_t *rng) {
    const model_config *c = &m->cfg;
    int K = c->n_classes;
    if (B < 1) return avemo_error(AVEMO_EINVAL, "model_forward: batch size %d", B);
    if ((uses_video(m) && !video) || (uses_audio(m) && !audio))
        return avemo_error(AVEMO_EINVAL, "model_forward: the %s model needs %s input", model_modality_name(c->modality),
                           !video ? "video" : "audio");
    if (train && c->dropout > 0 && !rng) return avemo_error(AVEMO_EINVAL, "model_forward: training needs an rng");
    for (int b = 0; labels && b < B; b++)
        if (labels[b] < 0 || labels[b] >= K)
            return avemo_error(AVEMO_EINVAL, "model_forward: label %d of sample %d not in 0..%d", labels[b], b, K - 1);
    TRY(ensure_acts(m, B));
    m->B = B, m->train = train, m->video = video, m->audio = audio, m->labels = labels;
    const model_params *p = &m->params;
    const model_acts *a = &m->acts;
    const float *v1 = NULL, *a1 = NULL, *v2 = NULL, *a2 = NULL;

    /* stage 1. visual: [B, T, 1280] -> [B, T, 64];  audio: [B, 156, 10] -> [B, 39, 64] (baseline [B, 150, 128]) */
    if (uses_video(m)) {
        TRY(temporal_stream_forward(&p->video, &a->video, 0, video, B, &m->vdims, train));
        v1 = a->video.stage[0].y;
    }
    if (uses_audio(m)) {
        TRY(audio_stream_forward(&p->audio, &a->audio, 0, audio, B, &m->adims, train));
        a1 = audio_stream_out(&a->audio, &m->adims, 0);
    }
    /* ia / it: the baseline's exchange between the streams' stage-1 features (others: identity) */
    TRY(exchange_forward(m, a1, v1, &m->a_mid, &m->v_mid));
    /* stage 2. visual: -> [B, T, 128];  audio: -> [B, 9, 64] (baseline [B, 144, 128]) */
    if (uses_video(m)) {
        TRY(temporal_stream_forward(&p->video, &a->video, 1, m->v_mid, B, &m->vdims, train));
        v2 = a->video.stage[1].y;
    }
    if (uses_audio(m)) {
        TRY(audio_stream_forward(&p->audio, &a->audio, 1, m->a_mid, B, &m->adims, train));
        a2 = audio_stream_out(&a->audio, &m->adims, 1);
    }
    /* fusion and classifier -> logits [B, K] */
    TRY(fusion_forward(m, a2, v2, train, rng));
    /* softmax (cross-entropy with the labels) */
    if (labels)
        m->loss = softmax_xent_forward(a->probs, a->logits, labels, B, K, c->label_smoothing);
    else
        softmax_forward(a->probs, a->logits, B, K);
    return AVEMO_OK;
}

void model_zero_grad(model *m) { memset(m->grad_mem, 0, (size_t)m->n_params * sizeof(float)); }

int model_backward(model *m, float *dvideo, float *daudio) {
    const model_config *c = &m->cfg;
    if (!m->act_B || !m->train || !m->labels)
        return avemo_error(AVEMO_EINVAL, "model_backward: needs a train-mode model_forward with labels first");
    int B = m->B, K = c->n_classes;
    const model_params *p = &m->params, *g = &m->grads;
    const model_acts *a = &m->acts, *da = &m->dacts;
    memset(m->dact_mem, 0, (size_t)m->A.n_grad * sizeof(float));
    if (dvideo && uses_video(m)) memset(dvideo, 0, (size_t)B * c->video_frames * c->video_dim * sizeof(float));
    if (daudio && uses_audio(m)) memset(daudio, 0, (size_t)B * c->audio_frames * c->audio_channels * sizeof(float));
    const float *v1 = NULL, *a1 = NULL, *v2 = NULL, *a2 = NULL;
    float *dv1 = NULL, *da1 = NULL, *dv2 = NULL, *da2 = NULL;
    if (uses_video(m)) {
        v1 = a->video.stage[0].y, v2 = a->video.stage[1].y;
        dv1 = da->video.stage[0].y, dv2 = da->video.stage[1].y;
    }
    if (uses_audio(m)) {
        a1 = audio_stream_out(&a->audio, &m->adims, 0), a2 = audio_stream_out(&a->audio, &m->adims, 1);
        da1 = (float *)audio_stream_out(&da->audio, &m->adims, 0), da2 = (float *)audio_stream_out(&da->audio, &m->adims, 1);
    }
    softmax_xent_backward(da->logits, a->probs, m->labels, B, K, c->label_smoothing, 1.0f);
    TRY(fusion_backward(m, a2, v2, da2, dv2));
    if (uses_video(m))
        TRY(temporal_stream_backward(&p->video, &g->video, &a->video, &da->video, 1, m->v_mid,
                                     exchange_grad_video(m, dv1), B, &m->vdims));
    if (uses_audio(m))
        TRY(audio_stream_backward(&p->audio, &g->audio, &a->audio, &da->audio, 1, m->a_mid,
                                  exchange_grad_audio(m, da1), B, &m->adims));
    TRY(exchange_backward(m, a1, v1, da1, dv1));
    if (uses_video(m)) TRY(temporal_stream_backward(&p->video, &g->video, &a->video, &da->video, 0, m->video, dvideo, B, &m->vdims));
    if (uses_audio(m)) TRY(audio_stream_backward(&p->audio, &g->audio, &a->audio, &da->audio, 0, m->audio, daudio, B, &m->adims));
    return AVEMO_OK;
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

int model_n_tensors(const model *m) { return m->P.n; }
const layout_entry *model_tensor(const model *m, int i) { return &m->P.e[i]; }
float *model_tensor_data(const model *m, int i) { return layout_ptr(&m->P.e[i], &m->params); }

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
