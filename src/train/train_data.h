/* What training and evaluation share (train/trainer.c, train/eval.c): a fold's features loaded and
 * standardised, batches gathered from them, and the evaluation-mode forward of one model or a seed ensemble
 * over a whole set. */
#ifndef AVEMO_TRAIN_TRAIN_DATA_H
#define AVEMO_TRAIN_TRAIN_DATA_H
#include "data/cache.h"
#include "data/loader.h"
#include "data/protocol.h"
#include "data/speaker_norm.h"
#include "model/model.h"

#define TRAIN_MAX_SPEAKERS PROTOCOL_MAX_ACTORS

/* The cache kinds a model of modality m reads. */
unsigned train_kinds_for(model_modality m);

/* Load rows idx[0..n) that have every kind (the others are skipped); an empty set when none has them. */
int train_load_subset(const feature_cache *c, const int *idx, int n, unsigned kinds, cache_set *out);

/* One fold's sets, standardised:
 *   default        audio and video per coefficient with the training samples' mean and std (kept here: they go
 *                  into the model file)
 *   speaker_norm   audio of every set per actor with that actor's own clips' statistics (data/speaker_norm.h);
 *                  audio_mean/audio_std still hold the training samples' global statistics (the fallback the
 *                  model file stores); video as by default
 * speakers[n_speakers] lists how many clips fed each actor's statistics (speaker_norm). */
typedef struct {
    cache_set train, val, test;
    float *audio_mean, *audio_std, *video_mean, *video_std;
    int speaker_norm;
    speaker_count speakers[TRAIN_MAX_SPEAKERS];
    int n_speakers;
} fold_data;
int fold_data_load(const feature_cache *c, const fold *f, unsigned kinds, int speaker_norm, fold_data *d);

/* Extra training copies of the same clips (train --train-extra; e.g. prep --speed 0.9): caches whose samples are
 * the main cache's (the same ids, actors and labels, in the same order; train_extra_check: an error naming x's
 * folder otherwise). fold_data_load_extra is fold_data_load with the n_extra caches' rows of the fold's training
 * samples joining the training set after the standardisation statistics are taken from the main cache's alone;
 * validation and test stay the main cache's. */
int train_extra_check(const feature_cache *c, const feature_cache *x);
int fold_data_load_extra(const feature_cache *c, const feature_cache *extra, int n_extra, const fold *f, unsigned kinds,
                         int speaker_norm, fold_data *d);
void fold_data_free(fold_data *d);

/* Standardise a loaded set with mean/std (per coefficient, the model file's; a stream whose mean is NULL is left
 * as is), or its audio per actor. */
void train_standardize_set(cache_set *s, const float *audio_mean, const float *audio_std, const float *video_mean,
                           const float *video_std);
int train_speaker_standardize_set(cache_set *s, speaker_count *counts, int cap, int *n_speakers);

/* A batch of rows of a set. */
typedef struct {
    float *video, *audio;
    int *labels;
    long video_per, audio_per; /* floats per sample */
} batch_buf;
int batch_alloc(batch_buf *b, const cache_set *s, int rows);
void batch_free(batch_buf *b);
void batch_gather(batch_buf *b, const cache_set *s, const int *rows, int n);

/* Evaluation-mode forward over a whole set: probs [n, classes], *loss the mean cross-entropy (loss may be NULL). */
int evaluate_set(model *m, const cache_set *s, float *probs, double *loss);
/* The same for a seed ensemble: probs is the mean of the members' softmax outputs; scratch [n, classes]. */
int evaluate_members(model *const *members, int n_members, const cache_set *s, float *probs, float *scratch);

#endif
