#include "train/train_data.h"

#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_BATCH 64

unsigned train_kinds_for(model_modality m) {
    if (m == MODALITY_AUDIO) return CACHE_BIT(CACHE_AUDIO);
    if (m == MODALITY_VIDEO) return CACHE_BIT(CACHE_FEATS);
    return CACHE_BIT(CACHE_AUDIO) | CACHE_BIT(CACHE_FEATS);
}

int train_load_subset(const feature_cache *c, const int *idx, int n, unsigned kinds, cache_set *out) {
    memset(out, 0, sizeof *out);
    int *keep = malloc(((size_t)n + 1) * sizeof(int));
    if (!keep) return avemo_error(AVEMO_ENOMEM, "out of memory");
    memcpy(keep, idx, (size_t)n * sizeof(int));
    int k = cache_filter_indices(c, kinds, keep, n);
    int rc = k > 0 ? cache_load_set(c, keep, k, kinds, out) : AVEMO_OK;
    free(keep);
    return rc;
}

void fold_data_free(fold_data *d) {
    cache_set_free(&d->train);
    cache_set_free(&d->val);
    cache_set_free(&d->test);
    free(d->audio_mean);
    free(d->audio_std);
    free(d->video_mean);
    free(d->video_std);
    memset(d, 0, sizeof *d);
}

void train_standardize_set(cache_set *s, const float *audio_mean, const float *audio_std, const float *video_mean,
                           const float *video_std) {
    if (s->n == 0) return;
    if (s->audio && audio_mean)
        feature_standardize(s->audio, (long)s->n * s->audio_frames, s->audio_coeffs, audio_mean, audio_std);
    if (s->video && video_mean)
        feature_standardize(s->video, (long)s->n * s->video_frames, s->video_dim, video_mean, video_std);
}

int train_speaker_standardize_set(cache_set *s, speaker_count *counts, int cap, int *n_speakers) {
    *n_speakers = 0;
    if (s->n == 0 || !s->audio) return AVEMO_OK;
    return speaker_standardize(s->audio, s->n, s->audio_frames, s->audio_coeffs, s->actors, counts, cap, n_speakers);
}

/* mean/std [dim] of the training set's rows (frames x dim each), malloc'd */
static int stats_of(const float *x, long rows, int dim, float **mean, float **std) {
    *mean = malloc((size_t)dim * sizeof(float));
    *std = malloc((size_t)dim * sizeof(float));
    if (!*mean || !*std) return avemo_error(AVEMO_ENOMEM, "out of memory");
    feature_stats(x, rows, dim, *mean, *std);
    return AVEMO_OK;
}

/* Each set's audio per actor; the counts of all three sets into d->speakers. */
static int speaker_standardize_sets(fold_data *d) {
    cache_set *sets[3] = {&d->train, &d->val, &d->test};
    for (int i = 0; i < 3; i++) {
        int n = 0, rc = train_speaker_standardize_set(sets[i], d->speakers + d->n_speakers,
                                                      TRAIN_MAX_SPEAKERS - d->n_speakers, &n);
        if (rc) return rc;
        d->n_speakers += n < TRAIN_MAX_SPEAKERS - d->n_speakers ? n : TRAIN_MAX_SPEAKERS - d->n_speakers;
    }
    return AVEMO_OK;
}

int train_extra_check(const feature_cache *c, const feature_cache *x) {
    if (x->ds.n != c->ds.n)
        return avemo_error(AVEMO_EINVAL, "%s: %d samples where %s has %d (--train-extra takes copies of the same "
                           "clips)", x->dir, x->ds.n, c->dir, c->ds.n);
    for (int i = 0; i < c->ds.n; i++) {
        const dataset_sample *a = &c->ds.samples[i], *b = &x->ds.samples[i];
        if (strcmp(a->id, b->id) || a->actor != b->actor || a->label != b->label)
            return avemo_error(AVEMO_EINVAL, "%s: sample %d is %s (actor %d, label %d) where %s has %s (actor %d, "
                               "label %d)",
                               x->dir, i + 1, b->id, b->actor, b->label, c->dir, a->id, a->actor, a->label);
    }
    return AVEMO_OK;
}

int fold_data_load(const feature_cache *c, const fold *f, unsigned kinds, int speaker_norm, fold_data *d) {
    return fold_data_load_extra(c, NULL, 0, f, kinds, speaker_norm, d);
}

int fold_data_load_extra(const feature_cache *c, const feature_cache *extra, int n_extra, const fold *f, unsigned kinds,
                         int speaker_norm, fold_data *d) {
    memset(d, 0, sizeof *d);
    d->speaker_norm = speaker_norm;
    int rc;
    if ((rc = train_load_subset(c, f->train, f->n_train, kinds, &d->train)) ||
        (rc = train_load_subset(c, f->val, f->n_val, kinds, &d->val)) ||
        (rc = train_load_subset(c, f->test, f->n_test, kinds, &d->test)))
        goto fail;
    if (d->train.n == 0) {
        rc = avemo_error(AVEMO_EINVAL, "%s: no training sample has the features this model needs (run prep)", c->dir);
        goto fail;
    }
    cache_set *t = &d->train;
    if (t->audio && (rc = stats_of(t->audio, (long)t->n * t->audio_frames, t->audio_coeffs, &d->audio_mean,
                                   &d->audio_std)))
        goto fail;
    if (t->video && (rc = stats_of(t->video, (long)t->n * t->video_frames, t->video_dim, &d->video_mean,
                                   &d->video_std)))
        goto fail;
    for (int e = 0; e < n_extra; e++) { /* after the statistics: they are the main cache's training samples' */
        cache_set x;
        if ((rc = train_load_subset(&extra[e], f->train, f->n_train, kinds, &x))) goto fail;
        rc = cache_set_append(&d->train, &x);
        cache_set_free(&x);
        if (rc) goto fail;
    }
    if (speaker_norm && (rc = speaker_standardize_sets(d))) goto fail;
    cache_set *sets[3] = {&d->train, &d->val, &d->test};
    for (int i = 0; i < 3; i++) /* per speaker: audio done, video still by the training statistics */
        train_standardize_set(sets[i], speaker_norm ? NULL : d->audio_mean, d->audio_std, d->video_mean,
                              d->video_std);
    return AVEMO_OK;
fail:
    fold_data_free(d);
    return rc;
}

int batch_alloc(batch_buf *b, const cache_set *s, int rows) {
    memset(b, 0, sizeof *b);
    b->video_per = s->video ? (long)s->video_frames * s->video_dim : 0;
    b->audio_per = s->audio ? (long)s->audio_frames * s->audio_coeffs : 0;
    b->labels = malloc((size_t)rows * sizeof(int));
    if (b->video_per) b->video = malloc((size_t)rows * b->video_per * sizeof(float));
    if (b->audio_per) b->audio = malloc((size_t)rows * b->audio_per * sizeof(float));
    if (!b->labels || (b->video_per && !b->video) || (b->audio_per && !b->audio))
        return avemo_error(AVEMO_ENOMEM, "out of memory for a batch of %d", rows);
    return AVEMO_OK;
}

void batch_free(batch_buf *b) {
    free(b->video);
    free(b->audio);
    free(b->labels);
    memset(b, 0, sizeof *b);
}

void batch_gather(batch_buf *b, const cache_set *s, const int *rows, int n) {
    for (int i = 0; i < n; i++) {
        int r = rows[i];
        b->labels[i] = s->labels[r];
        if (b->video) memcpy(b->video + i * b->video_per, s->video + r * b->video_per, b->video_per * sizeof(float));
        if (b->audio) memcpy(b->audio + i * b->audio_per, s->audio + r * b->audio_per, b->audio_per * sizeof(float));
    }
}

int evaluate_set(model *m, const cache_set *s, float *probs, double *loss) {
    batch_buf b;
    int rc = batch_alloc(&b, s, EVAL_BATCH), n_classes = m->cfg.n_classes;
    int *rows = malloc(EVAL_BATCH * sizeof(int));
    double sum = 0;
    if (!rc && !rows) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int i0 = 0; !rc && i0 < s->n; i0 += EVAL_BATCH) {
        int n = s->n - i0 < EVAL_BATCH ? s->n - i0 : EVAL_BATCH;
        for (int i = 0; i < n; i++) rows[i] = i0 + i;
        batch_gather(&b, s, rows, n);
        if ((rc = model_forward(m, b.video, b.audio, b.labels, n, 0, NULL))) break;
        memcpy(probs + (size_t)i0 * n_classes, m->acts.probs, (size_t)n * n_classes * sizeof(float));
        sum += (double)m->loss * n;
    }
    if (loss) *loss = s->n ? sum / s->n : NAN;
    free(rows);
    batch_free(&b);
    return rc;
}

int evaluate_members(model *const *members, int n_members, const cache_set *s, float *probs, float *scratch) {
    long n = (long)s->n * members[0]->cfg.n_classes;
    for (int j = 0; j < n_members; j++) {
        int rc = evaluate_set(members[j], s, j ? scratch : probs, NULL);
        if (rc) return rc;
        if (j)
            for (long i = 0; i < n; i++) probs[i] += scratch[i];
    }
    for (long i = 0; n_members > 1 && i < n; i++) probs[i] /= (float)n_members;
    return AVEMO_OK;
}
