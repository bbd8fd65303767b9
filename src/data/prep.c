#include "data/prep.h"

#include "core/err.h"
#include "data/loader.h"
#include "io/audio.h"
#include "io/image.h"
#include "io/video.h"
#include "model/mobilenetv2.h"
#include "vision/imgops.h"
#include "vision/mtcnn.h"

#include <cjson/cJSON.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREP_SAVE_SECONDS 20.0 /* rewrite index.json at most this often during a run */

void prep_options_default(prep_options *o) {
    memset(o, 0, sizeof *o);
    o->modality = DATASET_NEED_AUDIO | DATASET_NEED_VIDEO;
    o->features = PREP_FEATURES_MFCC;
    o->n_orders = 1;
    o->orders[0] = AVEMO_FRFT_ORDER_DEFAULT;
    mfcc_config_default(&o->mfcc);
    o->sample_rate_hz = AVEMO_AUDIO_SAMPLE_RATE_HZ;
    o->clip_seconds = AVEMO_AUDIO_CLIP_SECONDS;
    faces_default_config(&o->faces);
    o->faces_mode = PREP_FACES_DETECT;
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
        const faces_config *fc = &o->faces;
        cJSON_AddNumberToObject(v, "frames", fc->frames);
        cJSON_AddNumberToObject(v, "size", fc->size);
        cJSON_AddStringToObject(v, "color", fc->color_rgb ? "rgb" : "gray");
        cJSON_AddStringToObject(v, "frame_window", fc->window == FRAME_WINDOW_FIRST ? "first" : "center");
        cJSON_AddStringToObject(v, "faces", o->faces_mode == PREP_FACES_WHOLE ? "whole" : "detect");
        if (o->faces_mode == PREP_FACES_DETECT) {
            cJSON_AddBoolToObject(v, "refine", fc->refine);
            cJSON_AddBoolToObject(v, "reuse_box", fc->reuse_box);
            cJSON_AddNumberToObject(v, "detect_max_side", fc->detect_max_side);
            cJSON_AddNumberToObject(v, "min_face_px", fc->mtcnn.min_face_px);
        }
        if (o->backbone_path) cJSON_AddStringToObject(v, "backbone", o->backbone_path);
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

/* Whole frames (no detection) resized to size x size, grayscale unless colour is asked: out [n, size, size(, 3)]. */
static int whole_frames(const char *path, const faces_config *cfg, uint8_t **out, int *n_frames) {
    video_clip clip;
    int rc = image_is_image_path(path) ? image_read_clip(path, &clip) : video_read_clip(path, cfg->frames, cfg->window, &clip);
    if (rc) return rc;
    int ch = cfg->color_rgb ? 3 : 1;
    long per = faces_frame_bytes(cfg), px = (long)clip.h * clip.w;
    uint8_t *dst = malloc((size_t)clip.n * per), *gray = ch == 1 ? malloc((size_t)px) : NULL;
    if (!dst || (ch == 1 && !gray)) {
        free(dst);
        free(gray);
        video_clip_free(&clip);
        return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    }
    for (int t = 0; t < clip.n; t++) {
        const uint8_t *rgb = clip.rgb + (size_t)t * px * 3;
        if (clip.index && clip.index[t] < 0) { /* sampled time outside the clip: zero frame */
            memset(dst + (size_t)t * per, 0, (size_t)per);
            continue;
        }
        if (ch == 1) {
            rgb_to_gray(gray, rgb, px);
            resize_bilinear_u8(dst + (size_t)t * per, cfg->size, cfg->size, gray, clip.h, clip.w, 1);
        } else {
            resize_bilinear_u8(dst + (size_t)t * per, cfg->size, cfg->size, rgb, clip.h, clip.w, 3);
        }
    }
    *out = dst;
    *n_frames = clip.n;
    free(gray);
    video_clip_free(&clip);
    return AVEMO_OK;
}

typedef struct {
    const mtcnn *detector;      /* NULL with PREP_FACES_WHOLE */
    const mnv2_folded *backbone; /* NULL: no feats */
    mnv2_norm norm;
} video_models;

/* Face crops (and embeddings) of sample i into the cache. Returns the first failure's status. */
static int prep_video_sample(feature_cache *c, int i, const prep_options *o, const video_models *vm, long *n_frames,
                             long *n_noface) {
    const dataset_sample *s = &c->ds.samples[i];
    const faces_config *fc = &o->faces;
    int ch = fc->color_rgb ? 3 : 1, rc = AVEMO_OK, T = 0, H = fc->size, W = fc->size;
    uint8_t *faces = NULL;
    *n_frames = *n_noface = 0;
    if (!s->video_path) {
        rc = avemo_error(AVEMO_EINVAL, "%s: no video or image file", s->id);
        cache_mark_error(c, i, CACHE_FACES, avemo_last_error());
        if (vm->backbone) cache_mark_error(c, i, CACHE_FEATS, avemo_last_error());
        return rc;
    }
    if (!(c->done[i] & CACHE_BIT(CACHE_FACES))) {
        if (vm->detector) {
            face_frame *info = NULL;
            int noface = 0;
            rc = faces_from_file(vm->detector, s->video_path, fc, &faces, &info, &T, &noface);
            free(info);
            *n_noface = noface;
        } else {
            rc = whole_frames(s->video_path, fc, &faces, &T);
        }
        *n_frames = T;
        if (!rc) rc = cache_write_faces(c, i, faces, T, H, W, ch);
        if (rc) {
            cache_mark_error(c, i, CACHE_FACES, avemo_last_error());
            if (vm->backbone) cache_mark_error(c, i, CACHE_FEATS, "no face crops (see faces)");
            free(faces);
            return rc;
        }
    }
    if (vm->backbone && !(c->done[i] & CACHE_BIT(CACHE_FEATS))) {
        int cc = ch;
        if (!faces) rc = cache_load_faces(c, i, &faces, &T, &H, &W, &cc); /* crops from an earlier run */
        float *x = NULL, *feats = NULL;
        if (!rc) {
            x = malloc((size_t)T * H * W * cc * sizeof *x);
            feats = malloc((size_t)T * MNV2_FEATURES * sizeof *feats);
            if (!x || !feats) rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory", s->id);
        }
        if (!rc) {
            mobilenetv2_normalize_u8(x, faces, (long)T * H * W, cc, vm->norm);
            rc = mobilenetv2_infer(vm->backbone, feats, x, T, H, W, 0);
        }
        if (!rc) rc = cache_write_feats(c, i, feats, T, MNV2_FEATURES);
        if (rc) cache_mark_error(c, i, CACHE_FEATS, avemo_last_error());
        free(x);
        free(feats);
    }
    free(faces);
    return rc;
}

int prep_run(feature_cache *c, const prep_options *o, progress *p, prep_stats *st) {
    memset(st, 0, sizeof *st);
    st->n_samples = c->ds.n;
    double t0 = now_seconds();
    int audio = o->modality & DATASET_NEED_AUDIO, video = o->modality & DATASET_NEED_VIDEO;
    if (!audio && !video) return avemo_error(AVEMO_EINVAL, "prep: no modality chosen");
    int rc = audio ? mfcc_config_check(&o->mfcc) : AVEMO_OK;
    if (rc) return rc;
    frft_mfcc *f = NULL;
    mtcnn *det = NULL;
    mobilenetv2 net;
    mnv2_folded folded;
    int have_net = 0, have_folded = 0;
    video_models vm = {0};
    int *todo = NULL;
    if (audio && o->features == PREP_FEATURES_FRFT_MFCC && (rc = frft_mfcc_create(&f, &o->mfcc, o->orders, o->n_orders)))
        goto done;
    if (video && o->faces_mode == PREP_FACES_DETECT) {
        if (!o->mtcnn_path) {
            rc = avemo_error(AVEMO_EINVAL, "prep: video face crops need the MTCNN weights (manifest path)");
            goto done;
        }
        if ((rc = mtcnn_load(o->mtcnn_path, &det))) goto done;
        vm.detector = det;
    }
    if (video && o->backbone_path) {
        if ((rc = mobilenetv2_from_file(&net, o->backbone_path, o->faces.color_rgb ? 3 : 1))) goto done;
        have_net = 1;
        if ((rc = mobilenetv2_fold(&folded, &net))) goto done;
        have_folded = 1;
        vm.backbone = &folded;
        vm.norm = net.norm;
    }
    unsigned want = (audio ? CACHE_BIT(CACHE_AUDIO) : 0) | (video ? CACHE_BIT(CACHE_FACES) : 0) |
                    (vm.backbone ? CACHE_BIT(CACHE_FEATS) : 0);
    todo = malloc((c->ds.n ? c->ds.n : 1) * sizeof *todo);
    if (!todo) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    int n_todo = 0;
    for (int i = 0; i < c->ds.n; i++)
        if ((c->done[i] & want) != want) todo[n_todo++] = i;
    st->n_already = c->ds.n - n_todo;
    if (p) {
        p->total = n_todo;
        progress_update(p, 0);
    }
    int jobs = o->jobs > 0 ? o->jobs : omp_get_max_threads();
    int chunk = jobs * 16 > 64 ? jobs * 16 : 64;
    double last_save = now_seconds();
    int n_done = 0, n_failed = 0, n_clips_noface = 0;
    long n_frames = 0, n_noface = 0;
    for (int start = 0; start < n_todo && !rc; start += chunk) {
        int end = start + chunk < n_todo ? start + chunk : n_todo;
#pragma omp parallel for schedule(dynamic, 1) num_threads(jobs) reduction(+ : n_failed, n_frames, n_noface, n_clips_noface)
        for (int k = start; k < end; k++) {
            int i = todo[k], bad = 0;
            if (audio && !(c->done[i] & CACHE_BIT(CACHE_AUDIO))) bad |= prep_audio_sample(c, i, o, f) != 0;
            if (video) {
                long nf, nn;
                bad |= prep_video_sample(c, i, o, &vm, &nf, &nn) != 0;
                n_frames += nf;
                n_noface += nn;
                n_clips_noface += nn > 0;
            }
            n_failed += bad;
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
    st->n_frames = n_frames;
    st->n_noface = n_noface;
    st->n_clips_noface = n_clips_noface;
done:
    st->seconds = now_seconds() - t0;
    free(todo);
    frft_mfcc_destroy(f);
    if (det) mtcnn_free(det);
    if (have_folded) mobilenetv2_folded_free(&folded);
    if (have_net) mobilenetv2_free(&net);
    return rc;
}
