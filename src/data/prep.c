#include "data/prep.h"

#include "core/dist.h"
#include "core/err.h"
#include "data/loader.h"
#include "data/prep_shard.h"
#include "data/weights.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREP_SAVE_SECONDS 20.0 /* rewrite index.json at most this often during a run */

void prep_options_default(prep_options *o) {
    memset(o, 0, sizeof *o);
    featurizer_settings_default(&o->features);
}

unsigned prep_kinds(const prep_options *o) {
    int audio = o->features.modality & DATASET_NEED_AUDIO, video = o->features.modality & DATASET_NEED_VIDEO;
    return (audio ? CACHE_BIT(CACHE_AUDIO) : 0) | (video ? CACHE_BIT(CACHE_FACES) : 0) |
           (video && o->features.backbone_path ? CACHE_BIT(CACHE_FEATS) : 0);
}

int prep_options_for_dataset(prep_options *o, dataset_kind kind, int modality, int frames_kind, const char *input) {
    featurizer_settings *s = &o->features;
    int images = kind == DATASET_IMAGEFOLDER;
    s->modality = modality ? modality : images ? DATASET_NEED_VIDEO : DATASET_NEED_AUDIO | DATASET_NEED_VIDEO;
    if (images && (s->modality & DATASET_NEED_AUDIO))
        return avemo_error(AVEMO_EINVAL, "%s: image folders have no audio; use --modality video", input);
    s->frames_kind = frames_kind >= 0 ? (video_frames_kind)frames_kind : images ? VIDEO_FRAMES_WHOLE : VIDEO_FRAMES_FACES;
    if (!(s->modality & DATASET_NEED_VIDEO) && s->backbone_path)
        return avemo_error(AVEMO_EINVAL, "--backbone needs --modality av or video");
    return AVEMO_OK;
}

void prep_options_recipe(prep_options *o, prep_recipe r) {
    if (r == PREP_RECIPE_AUTO) r = o->features.modality == DATASET_NEED_AUDIO ? PREP_RECIPE_VOICE : PREP_RECIPE_PAPER;
    if (r == PREP_RECIPE_VOICE) o->features.pitch = 1;
}

void prep_dataset_options(dataset_options *d, const prep_options *o) {
    d->need = o->features.modality;
    if (!d->n_classes && d->kind == DATASET_RAVDESS) d->n_classes = 8;
    if (!d->n_classes && d->kind == DATASET_CREMAD) d->n_classes = 6;
}

int prep_check_weights(const prep_options *o) {
    const featurizer_settings *s = &o->features;
    if (!(s->modality & DATASET_NEED_VIDEO)) return AVEMO_OK;
    if (s->frames_kind == VIDEO_FRAMES_FACES) {
        char path[4096];
        int rc = weights_find(WEIGHTS_MTCNN, o->mtcnn_path, NULL, path, sizeof path);
        if (rc) return rc;
        if (access(path, R_OK) != 0)
            return avemo_error(AVEMO_EINVAL, "MTCNN weights not found (%s); give --mtcnn PATH", path);
    }
    if (s->backbone_path && access(s->backbone_path, R_OK) != 0)
        return avemo_error(AVEMO_EINVAL, "%s: backbone weights not readable", s->backbone_path);
    return AVEMO_OK;
}

int prep_create_cache(feature_cache *c, const char *dir, dataset *ds, const dataset_options *d, const prep_options *o) {
    char *config = NULL;
    int rc = featurizer_settings_to_json(&o->features, d, &config);
    if (rc) {
        dataset_free(ds);
        return rc;
    }
    rc = prep_shard_create_cache(c, dir, ds, config); /* alone: cache_create */
    free(config);
    return rc;
}

/* Audio of sample i into the cache; on failure the reason is recorded and the status returned. */
static int prep_audio_sample(feature_cache *c, int i, const featurizer *f) {
    const dataset_sample *s = &c->ds.samples[i];
    const char *src = s->audio_path ? s->audio_path : s->audio_from_video ? s->video_path : NULL;
    int C, F, rc;
    featurizer_audio_shape(&f->settings, &C, &F);
    float *feat = NULL;
    if (!src) rc = avemo_error(AVEMO_EINVAL, "%s: no audio source (silent video and no audio file)", s->id);
    else if (!(feat = malloc((size_t)C * F * sizeof *feat))) rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory", src);
    else if (!(rc = featurizer_audio_file(f, src, feat))) rc = cache_write_audio(c, i, feat, C, F);
    free(feat);
    if (rc) cache_mark_error(c, i, CACHE_AUDIO, avemo_last_error());
    return rc;
}

/* Embeddings of sample i from its frames [T, H, W(, channels)] (NULL: the cached crops of an earlier run). */
static int prep_feats_sample(feature_cache *c, int i, const featurizer *f, const uint8_t *frames, int T) {
    int H = f->settings.faces.size, W = H, channels = f->settings.faces.color_rgb ? 3 : 1, rc = AVEMO_OK;
    uint8_t *cached = NULL;
    if (!frames && !(rc = cache_load_faces(c, i, &cached, &T, &H, &W, &channels))) frames = cached;
    float *feats = NULL;
    if (!rc && !(feats = malloc((size_t)T * MNV2_FEATURES * sizeof *feats)))
        rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory", c->ds.samples[i].id);
    if (!rc) rc = featurizer_embed(f, frames, T, H, W, channels, 0, feats);
    if (!rc) rc = cache_write_feats(c, i, feats, T, MNV2_FEATURES);
    if (rc) cache_mark_error(c, i, CACHE_FEATS, avemo_last_error());
    free(feats);
    free(cached);
    return rc;
}

/* Frames (and embeddings) of sample i into the cache. Returns the first failure's status. */
static int prep_video_sample(feature_cache *c, int i, const featurizer *f, long *n_frames, long *n_noface) {
    const dataset_sample *s = &c->ds.samples[i];
    const featurizer_settings *fs = &f->settings;
    int ch = fs->faces.color_rgb ? 3 : 1, rc = AVEMO_OK, T = 0, noface = 0;
    uint8_t *frames = NULL;
    *n_frames = *n_noface = 0;
    if (!s->video_path) {
        rc = avemo_error(AVEMO_EINVAL, "%s: no video or image file", s->id);
        cache_mark_error(c, i, CACHE_FACES, avemo_last_error());
        if (f->have_backbone) cache_mark_error(c, i, CACHE_FEATS, avemo_last_error());
        return rc;
    }
    if (!(c->done[i] & CACHE_BIT(CACHE_FACES))) {
        rc = featurizer_frames_file(f, s->video_path, &frames, NULL, &T, &noface);
        *n_frames = T;
        *n_noface = noface;
        if (!rc) rc = cache_write_faces(c, i, frames, T, fs->faces.size, fs->faces.size, ch);
        if (rc) {
            cache_mark_error(c, i, CACHE_FACES, avemo_last_error());
            if (f->have_backbone) cache_mark_error(c, i, CACHE_FEATS, "no face crops (see faces)");
            free(frames);
            return rc;
        }
    }
    if (f->have_backbone && !(c->done[i] & CACHE_BIT(CACHE_FEATS))) rc = prep_feats_sample(c, i, f, frames, T);
    free(frames);
    return rc;
}

/* Counters of one run, summed over the workers; the first runtime failure (out of memory, an output that cannot
 * be written), which stops the run. */
typedef struct {
    int n_done, n_failed, n_clips_noface;
    long n_frames, n_noface;
    int runtime_status;
    char runtime_msg[512];
} prep_counts;

/* A sample's failure: recorded in the cache already; a runtime one also stops the run (the first is kept). */
static void note_failure(prep_counts *k, int rc) {
    if (!rc || !avemo_error_is_runtime(rc)) return;
#pragma omp critical(prep_runtime_failure)
    if (!k->runtime_status) {
        snprintf(k->runtime_msg, sizeof k->runtime_msg, "%s", avemo_last_error());
#pragma omp atomic write
        k->runtime_status = rc;
    }
}

/* Samples todo[start, end) in parallel. */
static void prep_chunk(feature_cache *c, const featurizer *f, const int *todo, int start, int end, int jobs,
                       progress *p, prep_counts *k) {
    int audio = f->settings.modality & DATASET_NEED_AUDIO, video = f->settings.modality & DATASET_NEED_VIDEO;
    int n_failed = 0, n_clips_noface = 0;
    long n_frames = 0, n_noface = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(jobs) reduction(+ : n_failed, n_frames, n_noface, n_clips_noface)
    for (int j = start; j < end; j++) {
        int i = todo[j], bad = 0, stop, rc;
#pragma omp atomic read
        stop = k->runtime_status;
        if (stop) continue;
        if (audio && !(c->done[i] & CACHE_BIT(CACHE_AUDIO))) {
            bad |= (rc = prep_audio_sample(c, i, f)) != 0;
            note_failure(k, rc);
        }
        if (video) {
            long nf, nn;
            bad |= (rc = prep_video_sample(c, i, f, &nf, &nn)) != 0;
            note_failure(k, rc);
            n_frames += nf;
            n_noface += nn;
            n_clips_noface += nn > 0;
        }
        n_failed += bad;
        if (p) {
            int d;
#pragma omp atomic capture
            d = ++k->n_done;
            if (omp_get_thread_num() == 0) progress_update(p, d);
        }
    }
    k->n_done = end;
    k->n_failed += n_failed;
    k->n_clips_noface += n_clips_noface;
    k->n_frames += n_frames;
    k->n_noface += n_noface;
}

/* The samples that lack a wanted kind, in the cache's order: *todo [*n_todo] malloc'd. */
static int prep_todo(const feature_cache *c, unsigned want, int **todo, int *n_todo) {
    *n_todo = 0;
    *todo = malloc((c->ds.n ? c->ds.n : 1) * sizeof **todo);
    if (!*todo) return avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int i = 0; i < c->ds.n; i++)
        if ((c->done[i] & want) != want) (*todo)[(*n_todo)++] = i;
    return AVEMO_OK;
}

int prep_run(feature_cache *c, const prep_options *o, progress *p, prep_stats *st) {
    memset(st, 0, sizeof *st);
    st->n_samples = c->ds.n;
    double t0 = now_seconds();
    unsigned want = prep_kinds(o);
    featurizer f;
    int *todo = NULL, n_todo = 0;
    int rc = featurizer_open(&f, &o->features, o->mtcnn_path, NULL);
    if (!rc) rc = prep_todo(c, want, &todo, &n_todo);
    if ((rc = dist_agree(rc))) goto done; /* under MPI every rank stops, or none */
    st->n_already = c->ds.n - n_todo;
    n_todo = prep_shard_select(todo, n_todo); /* under MPI: this rank's share */
    if (p) {
        p->total = n_todo;
        progress_update(p, 0);
    }
    int jobs = o->jobs > 0 ? o->jobs : omp_get_max_threads();
    int chunk = jobs * 16 > 64 ? jobs * 16 : 64;
    double last_save = now_seconds();
    prep_counts k = {0};
    for (int start = 0; start < n_todo && !rc && !k.runtime_status; start += chunk) {
        prep_chunk(c, &f, todo, start, start + chunk < n_todo ? start + chunk : n_todo, jobs, p, &k);
        if (p) {
            progress_set_extra(p, "%d failed", k.n_failed);
            progress_update(p, k.n_done);
        }
        if (dist_rank() == 0 && now_seconds() - last_save > PREP_SAVE_SECONDS) {
            rc = cache_save(c);
            last_save = now_seconds();
        }
    }
    rc = prep_shard_finish(c, todo, n_todo, rc); /* alone: cache_save; under MPI rank 0 joins the ranks' */
    if (p) progress_finish(p);
    /* A runtime failure (out of memory, disk full) stops the run after what was done is saved; every rank
     * learns of it. */
    if (!rc) rc = dist_agree(k.runtime_status ? avemo_error(k.runtime_status, "%s", k.runtime_msg) : AVEMO_OK);
    int64_t counts[5] = {k.n_done, k.n_failed, k.n_frames, k.n_noface, k.n_clips_noface};
    if (!rc) rc = dist_allreduce_sum_i64(counts, 5);
    st->n_processed = (int)counts[0];
    st->n_failed = (int)counts[1];
    st->n_frames = counts[2];
    st->n_noface = counts[3];
    st->n_clips_noface = (int)counts[4];
    for (int i = 0; i < c->ds.n; i++) st->n_ready += (c->done[i] & want) == want;
    if (!rc) rc = dist_bcast(&st->n_ready, sizeof st->n_ready, 0); /* rank 0 holds every rank's samples */
done:
    st->seconds = now_seconds() - t0;
    free(todo);
    featurizer_close(&f);
    return rc;
}
