/* A separable synthetic audio-only feature cache shaped like RAVDESS (03- ids), for training tests:
 * SYNTH_ACTORS actors x per_actor utterances, SYNTH_CLASSES classes; each sample's features [10, 32] are
 * N(0, 1) noise (seed 7) plus `bump` on the coefficient row of its class. Header-only (static). */
#ifndef AVEMO_TESTS_SYNTH_CACHE_H
#define AVEMO_TESTS_SYNTH_CACHE_H
#include "avemo.h"
#include "core/rng.h"
#include "data/cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNTH_ACTORS 4
#define SYNTH_CLASSES 4
#define SYNTH_COEFFS 10
#define SYNTH_FRAMES 32

/* Returns 0, or an avemo status with avemo_last_error() set. nan_sample >= 0: that sample's first value is NaN
 * (written through the cache, so its hash in index.json matches: what a featurizer bug would leave). */
static int synth_audio_cache_nan(const char *dir, int per_actor, float bump, int nan_sample) {
    dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.kind = DATASET_RAVDESS;
    ds.root = strdup("/synthetic");
    ds.n_classes = SYNTH_CLASSES;
    const char *names[SYNTH_CLASSES] = {"neutral", "happy", "sad", "angry"};
    for (int i = 0; i < SYNTH_CLASSES; i++) ds.class_names[i] = strdup(names[i]);
    ds.n_splits = 1;
    ds.split_names = calloc(1, sizeof(char *));
    ds.split_names[0] = strdup("");
    ds.n = SYNTH_ACTORS * per_actor;
    ds.samples = calloc((size_t)ds.n, sizeof *ds.samples);
    for (int i = 0; i < ds.n; i++) {
        char id[64];
        int actor = 1 + i / per_actor, k = i % per_actor;
        snprintf(id, sizeof id, "03-01-%02d-01-%02d-01-%02d", 1 + k % SYNTH_CLASSES, 1 + k / SYNTH_CLASSES, actor);
        ds.samples[i].id = strdup(id);
        ds.samples[i].audio_path = strdup(id);
        ds.samples[i].label = k % SYNTH_CLASSES;
        ds.samples[i].actor = actor;
    }
    feature_cache c;
    int rc = cache_create(&c, dir, &ds, "{\"features\":\"synthetic\"}");
    if (rc) return rc;
    rng_t r;
    rng_seed(&r, 7);
    float x[SYNTH_COEFFS * SYNTH_FRAMES];
    for (int i = 0; i < c.ds.n && !rc; i++) {
        int label = c.ds.samples[i].label;
        for (int j = 0; j < SYNTH_COEFFS * SYNTH_FRAMES; j++) x[j] = (float)rng_normal(&r);
        for (int f = 0; f < SYNTH_FRAMES; f++) x[label * SYNTH_FRAMES + f] += bump;
        if (i == nan_sample) x[0] = NAN;
        rc = cache_write_audio(&c, i, x, SYNTH_COEFFS, SYNTH_FRAMES);
    }
    if (!rc) rc = cache_save(&c);
    cache_free(&c);
    return rc;
}

static int synth_audio_cache(const char *dir, int per_actor, float bump) {
    return synth_audio_cache_nan(dir, per_actor, bump, -1);
}

#endif
