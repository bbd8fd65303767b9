#include "data/prep.h"

#include "core/err.h"
#include "io/audio.h"

#include <cjson/cJSON.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREP_SAVE_SECONDS 20.0 /* rewrite index.json at most this often during a run */
#define AVEMO_FRAMES_PER_CLIP 15

void prep_options_default(prep_options *o) {
    memset(o, 0, sizeof *o);
    o->modality = DATASET_NEED_AUDIO | DATASET_NEED_VIDEO;
    o->features = PREP_FEATURES_MFCC;
    o->n_orders = 1;
    o->orders[0] = AVEMO_FRFT_ORDER_DEFAULT;
    mfcc_config_default(&o->mfcc);
    o->sample_rate_hz = AVEMO_AUDIO_SAMPLE_RATE_HZ;
    o->clip_seconds = AVEMO_AUDIO_CLIP_SECONDS;
    o->frames = AVEMO_FRAMES_PER_CLIP;
}

int prep_config_json(const prep_options *o, const dataset_options *d, char **json) {
    *json = NULL;
    cJSON *r = cJSON_CreateObject();
    if (!r) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int audio = o->modality & DATASET_NEED_AUDIO, video = o->modality & DATASET_NEED_VIDEO;
    cJSON_AddStringToObject(r, "modality", audio && video ? "av" : audio ? "audio" : "video");
    cJSON_AddStringToObject(r, "dataset", dataset_kind_name(d->kind));
    cJSON_AddNumberToObject(r, "classes", d->n_classes);
    cJSON_AddBoolToObject(r, "song", d->include_song);
    cJSON_AddBoolToObject(r, "both_videos", d->both_videos);
    if (audio) {
        cJSON *a = cJSON_AddObjectToObject(r, "audio");
        cJSON_AddStringToObject(a, "features", o->features == PREP_FEATURES_FRFT_MFCC ? "frft-mfcc" : "mfcc");
        if (o->features == PREP_FEATURES_FRFT_MFCC) {
            cJSON *ord = cJSON_AddArrayToObject(a, "frft_orders");
            for (int k = 0; k < o->n_orders; k++) cJSON_AddItemToArray(ord, cJSON_CreateNumber(o->orders[k]));
        }
        cJSON_AddNumberToObject(a, "sample_rate_hz", o->sample_rate_hz);
        cJSON_AddNumberToObject(a, "clip_seconds", o->clip_seconds);
        cJSON_AddNumberToObject(a, "n_mfcc", o->mfcc.n_mfcc);
        cJSON_AddNumberToObject(a, "n_fft", o->mfcc.n_fft);
        cJSON_AddNumberToObject(a, "hop_samples", o->mfcc.hop_samples);
        cJSON_AddNumberToObject(a, "n_mels", o->mfcc.n_mels);
        cJSON_AddNumberToObject(a, "fmin_hz", o->mfcc.fmin_hz);
        cJSON_AddNumberToObject(a, "fmax_hz", o->mfcc.fmax_hz);
        cJSON_AddNumberToObject(a, "top_db", o->mfcc.top_db);
        cJSON_AddStringToObject(a, "pad_mode", o->mfcc.pad_mode == MFCC_PAD_REFLECT ? "reflect" : "constant");
    }
    if (video) {
        cJSON *v = cJSON_AddObjectToObject(r, "video");
        cJSON_AddNumberToObject(v, "frames", o->frames);
    }
    *json = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return *json ? AVEMO_OK : avemo_error(AVEMO_ENOMEM, "out of memory");
}

int prep_audio_features(const char *path, const prep_options *o, const frft_mfcc *f, float **out, int *n_coeffs,
                        int *n_frames) {
    *out = NULL;
    audio_clip clip;
    int rc = audio_load(path, o->sample_rate_hz, &clip);
    if (rc) return rc;
    long n = audio_clip_samples(o->clip_seconds, o->sample_rate_hz);
    float *x = malloc(n * sizeof *x);
    if (!x) {
        audio_clip_free(&clip);
        return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    }
    audio_fix_length(clip.samples, clip.n, x, n);
    audio_clip_free(&clip);
    int C = f ? frft_mfcc_channels(f) : o->mfcc.n_mfcc;
    long F = mfcc_frames(&o->mfcc, n);
    float *y = malloc((size_t)C * F * sizeof *y);
    if (!y) {
        free(x);
        return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    }
    rc = f ? frft_mfcc_forward(f, x, n, y) : mfcc_forward(&o->mfcc, x, n, y);
    free(x);
    if (rc) {
        free(y);
        return avemo_error_prefix(rc, "%s", path);
    }
    *out = y;
    *n_coeffs = C;
    *n_frames = (int)F;
    return AVEMO_OK;
}

/* Audio of sample i into the cache; on failure the reason is recorded and the status returned. */
static int prep_audio_sample(feature_cache *c, int i, const prep_options *o, const frft_mfcc *f) {
    const dataset_sample *s = &c->ds.samples[i];
    const char *src = s->audio_path ? s->audio_path : s->audio_from_video ? s->video_path : NULL;
    int rc;
    if (!src) {
        rc = avemo_error(AVEMO_EINVAL, "%s: no audio source (silent video and no audio file)", s->id);
    } else {
        float *feat;
        int C, F;
        rc = prep_audio_features(src, o, f, &feat, &C, &F);
        if (!rc) {
            rc = cache_write_audio(c, i, feat, C, F);
            free(feat);
        }
    }
    if (rc) cache_mark_error(c, i, CACHE_AUDIO, avemo_last_error());
    return rc;
}

int prep_run(feature_cache *c, const prep_options *o, progress *p, prep_stats *st) {
    memset(st, 0, sizeof *st);
    st->n_samples = c->ds.n;
    double t0 = now_seconds();
    if (o->modality & DATASET_NEED_VIDEO)
        return avemo_error(AVEMO_EUNSUP, "video preprocessing (MTCNN face crops) is not in this build yet; use "
                                         "--modality audio");
    if (!(o->modality & DATASET_NEED_AUDIO)) return avemo_error(AVEMO_EINVAL, "prep: no modality chosen");
    int rc = mfcc_config_check(&o->mfcc);
    if (rc) return rc;
    frft_mfcc *f = NULL;
    if (o->features == PREP_FEATURES_FRFT_MFCC && (rc = frft_mfcc_create(&f, &o->mfcc, o->orders, o->n_orders)))
        return rc;
    unsigned want = CACHE_BIT(CACHE_AUDIO);
    int *todo = malloc((c->ds.n ? c->ds.n : 1) * sizeof *todo), n_todo = 0;
    if (!todo) {
        frft_mfcc_destroy(f);
        return avemo_error(AVEMO_ENOMEM, "out of memory");
    }
    for (int i = 0; i < c->ds.n; i++)
        if ((c->done[i] & want) != want) todo[n_todo++] = i;
    st->n_already = c->ds.n - n_todo;
    if (p) progress_update(p, 0);
    int jobs = o->jobs > 0 ? o->jobs : omp_get_max_threads();
    int chunk = jobs * 16 > 64 ? jobs * 16 : 64;
    double last_save = now_seconds();
    int n_done = 0, n_failed = 0;
    for (int start = 0; start < n_todo && !rc; start += chunk) {
        int end = start + chunk < n_todo ? start + chunk : n_todo;
#pragma omp parallel for schedule(dynamic, 1) num_threads(jobs) reduction(+ : n_failed)
        for (int k = start; k < end; k++) {
            if (prep_audio_sample(c, todo[k], o, f)) n_failed++;
            if (p) {
                int d;
#pragma omp atomic capture
                d = ++n_done;
                if (omp_get_thread_num() == 0) progress_update(p, d);
            }
        }
        n_done = end;
        if (p) {
            progress_set_extra(p, "%d failed", n_failed);
            progress_update(p, n_done);
        }
        if (now_seconds() - last_save > PREP_SAVE_SECONDS) {
            rc = cache_save(c);
            last_save = now_seconds();
        }
    }
    if (!rc) rc = cache_save(c);
    if (p) progress_finish(p);
    st->n_processed = n_done;
    st->n_failed = n_failed;
    st->seconds = now_seconds() - t0;
    free(todo);
    frft_mfcc_destroy(f);
    return rc;
}
