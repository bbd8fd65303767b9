/* The streams' temporal means and the classifier (see model/classifier.h). */
#include "model/classifier.h"

#include <string.h>

void stream_pool_declare_acts(layout *L, stream_pool_a *a, int B, const stream_pool_dims *d) {
    if (d->ca) LAYOUT_ADD(L, &a->pooled_audio, LT_ACT, 0, "pooled_audio", B, d->ca);
    if (d->cv) LAYOUT_ADD(L, &a->pooled_video, LT_ACT, 0, "pooled_video", B, d->cv);
    LAYOUT_ADD(L, &a->features, LT_ACT, 0, "features", B, d->ca + d->cv);
}

void stream_pool_forward(const stream_pool_a *a, const float *audio, const float *video, int B,
                         const stream_pool_dims *d) {
    if (audio) avgpool_global_forward(a->pooled_audio, audio, B, d->ta, d->ca);
    if (video) avgpool_global_forward(a->pooled_video, video, B, d->tv, d->cv);
    if (audio && video)
        concat_channels_forward(a->features, a->pooled_audio, a->pooled_video, B, d->ca, d->cv);
    else
        memcpy(a->features, audio ? a->pooled_audio : a->pooled_video, (size_t)B * (d->ca + d->cv) * sizeof(float));
}

void stream_pool_backward(const stream_pool_a *da, float *daudio, float *dvideo, int B, const stream_pool_dims *d) {
    if (daudio && dvideo)
        concat_channels_backward(da->pooled_audio, da->pooled_video, da->features, B, d->ca, d->cv);
    else
        concat_channels_backward(daudio ? da->pooled_audio : da->pooled_video, NULL, da->features, B, d->ca + d->cv, 0);
    if (daudio) avgpool_global_backward(daudio, da->pooled_audio, B, d->ta, d->ca);
    if (dvideo) avgpool_global_backward(dvideo, da->pooled_video, B, d->tv, d->cv);
}

void classifier_declare_acts(layout *L, classifier_a *a, int B, int n) {
    LAYOUT_ADD(L, &a->dropped, LT_ACT, 0, "dropped", B, n);
    LAYOUT_ADD(L, &a->mask, LT_STAT, 0, "drop_mask", B, n);
}

static int applies_dropout(float dropout, int train) { return train && dropout != 0.0f; }

int classifier_forward(const linear_p *p, const classifier_a *a, float *logits, const float *x, int B, int n, int K,
                       float dropout, int train, rng_t *rng) {
    if (applies_dropout(dropout, train)) {
        dropout_mask(a->mask, (long)B * n, dropout, rng);
        dropout_forward(a->dropped, x, a->mask, (long)B * n);
        x = a->dropped;
    }
    return linear_forward(logits, x, p->w, p->b, B, n, K);
}

int classifier_backward(const linear_p *p, const linear_p *g, const classifier_a *a, const classifier_a *da,
                        const float *dlogits, const float *x, float *dx, int B, int n, int K, float dropout) {
    if (!applies_dropout(dropout, 1)) return linear_backward(dx, g->w, g->b, dlogits, x, p->w, B, n, K);
    int st = linear_backward(da->dropped, g->w, g->b, dlogits, a->dropped, p->w, B, n, K);
    if (st) return st;
    dropout_backward(dx, da->dropped, a->mask, (long)B * n);
    return 0;
}

void pooled_classifier_declare_acts(layout *L, pooled_classifier_a *a, int B, const stream_pool_dims *d) {
    stream_pool_declare_acts(L, &a->pool, B, d);
    classifier_declare_acts(L, &a->classifier, B, d->ca + d->cv);
}

int pooled_classifier_forward(const linear_p *p, const pooled_classifier_a *a, float *logits, const float *audio,
                              const float *video, int B, const stream_pool_dims *d, int K, float dropout, int train,
                              rng_t *rng) {
    stream_pool_forward(&a->pool, audio, video, B, d);
    return classifier_forward(p, &a->classifier, logits, a->pool.features, B, d->ca + d->cv, K, dropout, train, rng);
}

int pooled_classifier_backward(const linear_p *p, const linear_p *g, const pooled_classifier_a *a,
                               const pooled_classifier_a *da, const float *dlogits, float *daudio, float *dvideo, int B,
                               const stream_pool_dims *d, int K, float dropout) {
    int st = classifier_backward(p, g, &a->classifier, &da->classifier, dlogits, a->pool.features, da->pool.features, B,
                                 d->ca + d->cv, K, dropout);
    if (st) return st;
    stream_pool_backward(&da->pool, daudio, dvideo, B, d);
    return 0;
}
