#include "data/featurizer.h"

#include "core/err.h"
#include "data/loader.h"
#include "data/weights.h"
#include "dsp/deltas.h"
#include "dsp/pitch.h"
#include "io/audio.h"
#include "io/image.h"
#include "model/model_file.h"
#include "vision/imgops.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEATURIZER_PATH_MAX 4096
#define FEATURIZER_VIEW_CHUNK 32 /* frames per backbone pass when resizing or rendering views */

/* ---- settings ---- */

void featurizer_settings_default(featurizer_settings *s) {
    memset(s, 0, sizeof *s);
    s->modality = DATASET_NEED_AUDIO | DATASET_NEED_VIDEO;
    s->audio_features = AUDIO_FEATURES_MFCC;
    s->n_orders = 1;
    s->orders[0] = AVEMO_FRFT_ORDER_DEFAULT;
    mfcc_config_default(&s->mfcc);
    s->mfcc.sample_rate_hz = AVEMO_AUDIO_SAMPLE_RATE_HZ;
    s->clip_seconds = AVEMO_AUDIO_CLIP_SECONDS;
    s->speed = 1;
    faces_default_config(&s->faces);
    s->faces.track = 1; /* ours (issue 15): follow the face, full search for faces of 10 % of the frame and more */
    s->faces.min_face_frac = FACES_MIN_FACE_FRAC;
    s->frames_kind = VIDEO_FRAMES_FACES;
}

static void audio_settings_to_json(cJSON *a, const featurizer_settings *s) {
    int frft = s->audio_features == AUDIO_FEATURES_FRFT_MFCC;
    cJSON_AddStringToObject(a, "features", frft ? "frft-mfcc" : "mfcc");
    if (frft) {
        cJSON *ord = cJSON_AddArrayToObject(a, "frft_orders");
        for (int k = 0; k < s->n_orders; k++) cJSON_AddItemToArray(ord, cJSON_CreateNumber(s->orders[k]));
    }
    const mfcc_config *m = &s->mfcc;
    cJSON_AddNumberToObject(a, "sample_rate_hz", m->sample_rate_hz);
    cJSON_AddNumberToObject(a, "clip_seconds", s->clip_seconds);
    cJSON_AddNumberToObject(a, "n_mfcc", m->n_mfcc);
    cJSON_AddNumberToObject(a, "n_fft", m->n_fft);
    cJSON_AddNumberToObject(a, "hop_samples", m->hop_samples);
    cJSON_AddNumberToObject(a, "n_mels", m->n_mels);
    cJSON_AddNumberToObject(a, "fmin_hz", m->fmin_hz);
    cJSON_AddNumberToObject(a, "fmax_hz", m->fmax_hz);
    cJSON_AddNumberToObject(a, "top_db", m->top_db);
    cJSON_AddStringToObject(a, "pad_mode", m->pad_mode == MFCC_PAD_REFLECT ? "reflect" : "constant");
    if (s->deltas) cJSON_AddNumberToObject(a, "deltas", s->deltas); /* absent: 0 (older caches unchanged) */
    if (s->pitch) cJSON_AddBoolToObject(a, "pitch", 1);               /* absent: none */
    if (s->speed != 1) cJSON_AddNumberToObject(a, "speed", s->speed);  /* absent: 1 */
}

static void video_settings_to_json(cJSON *v, const featurizer_settings *s) {
    const faces_config *fc = &s->faces;
    cJSON_AddNumberToObject(v, "frames", fc->frames);
    cJSON_AddNumberToObject(v, "size", fc->size);
    cJSON_AddStringToObject(v, "color", fc->color_rgb ? "rgb" : "gray");
    cJSON_AddStringToObject(v, "frame_window", fc->window == FRAME_WINDOW_FIRST ? "first" : "center");
    cJSON_AddStringToObject(v, "faces", s->frames_kind == VIDEO_FRAMES_WHOLE ? "whole" : "detect");
    if (s->frames_kind == VIDEO_FRAMES_FACES) {
        cJSON_AddBoolToObject(v, "refine", fc->refine);
        cJSON_AddBoolToObject(v, "reuse_box", fc->reuse_box);
        cJSON_AddNumberToObject(v, "detect_max_side", fc->detect_max_side);
        cJSON_AddNumberToObject(v, "min_face_px", fc->mtcnn.min_face_px);
        if (fc->track) cJSON_AddBoolToObject(v, "track", 1); /* absent: off (older caches and models unchanged) */
        if (fc->min_face_frac > 0) /* absent: 0; rounded so that 0.1f reads 0.1 */
            cJSON_AddNumberToObject(v, "min_face_frac", round(fc->min_face_frac * 1e6) / 1e6);
    }
    if (s->backbone_path) cJSON_AddStringToObject(v, "backbone", s->backbone_path);
}

int featurizer_settings_to_json(const featurizer_settings *s, const dataset_options *d, char **json) {
    *json = NULL;
    cJSON *r = cJSON_CreateObject();
    if (!r) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int audio = s->modality & DATASET_NEED_AUDIO, video = s->modality & DATASET_NEED_VIDEO;
    cJSON_AddStringToObject(r, "modality", audio && video ? "av" : audio ? "audio" : "video");
    cJSON_AddStringToObject(r, "dataset", dataset_kind_name(d->kind));
    cJSON_AddNumberToObject(r, "classes", d->n_classes);
    cJSON_AddBoolToObject(r, "song", d->include_song);
    cJSON_AddBoolToObject(r, "both_videos", d->both_videos);
    if (audio) audio_settings_to_json(cJSON_AddObjectToObject(r, "audio"), s);
    if (video) video_settings_to_json(cJSON_AddObjectToObject(r, "video"), s);
    *json = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return *json ? AVEMO_OK : avemo_error(AVEMO_ENOMEM, "out of memory");
}

static double jnum(const cJSON *o, const char *key, double def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static const char *jstr(const cJSON *o, const char *key, const char *def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : def;
}

static int jbool(const cJSON *o, const char *key, int def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

static int orders_from_json(const cJSON *ord, featurizer_settings *s, const char *origin) {
    int n = cJSON_GetArraySize(ord);
    if (n < 1 || n > AVEMO_FRFT_MFCC_MAX_ORDERS)
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings: %d FRFT orders", origin, n);
    for (int k = 0; k < n; k++) {
        const cJSON *v = cJSON_GetArrayItem(ord, k);
        if (!cJSON_IsNumber(v)) return avemo_error(AVEMO_EFORMAT, "%s: prep settings: bad FRFT order", origin);
        s->orders[k] = v->valuedouble;
    }
    s->n_orders = n;
    return AVEMO_OK;
}

static int audio_settings_from_json(const cJSON *a, featurizer_settings *s, const char *origin) {
    const char *feat = jstr(a, "features", "mfcc");
    if (!strcmp(feat, "frft-mfcc")) s->audio_features = AUDIO_FEATURES_FRFT_MFCC;
    else if (strcmp(feat, "mfcc"))
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings: unknown audio features '%s'", origin, feat);
    const cJSON *ord = cJSON_GetObjectItemCaseSensitive(a, "frft_orders");
    int rc;
    if (s->audio_features == AUDIO_FEATURES_FRFT_MFCC && cJSON_IsArray(ord) && (rc = orders_from_json(ord, s, origin)))
        return rc;
    mfcc_config *m = &s->mfcc;
    m->sample_rate_hz = (int)jnum(a, "sample_rate_hz", m->sample_rate_hz);
    s->clip_seconds = jnum(a, "clip_seconds", s->clip_seconds);
    m->n_mfcc = (int)jnum(a, "n_mfcc", m->n_mfcc);
    m->n_fft = (int)jnum(a, "n_fft", m->n_fft);
    m->hop_samples = (int)jnum(a, "hop_samples", m->hop_samples);
    m->n_mels = (int)jnum(a, "n_mels", m->n_mels);
    m->fmin_hz = jnum(a, "fmin_hz", m->fmin_hz);
    m->fmax_hz = jnum(a, "fmax_hz", m->fmax_hz);
    m->top_db = jnum(a, "top_db", m->top_db);
    m->pad_mode = !strcmp(jstr(a, "pad_mode", "constant"), "reflect") ? MFCC_PAD_REFLECT : MFCC_PAD_CONSTANT;
    s->deltas = (int)jnum(a, "deltas", 0);
    s->pitch = jbool(a, "pitch", 0);
    s->speed = jnum(a, "speed", 1);
    if (!(s->speed >= FEATURIZER_SPEED_MIN && s->speed <= FEATURIZER_SPEED_MAX))
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings: speed %g (%g to %g)", origin, s->speed,
                           FEATURIZER_SPEED_MIN, FEATURIZER_SPEED_MAX);
    if (s->deltas < 0 || s->deltas > 2)
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings: deltas %d (0, 1 or 2)", origin, s->deltas);
    if (m->sample_rate_hz < 1000 || m->sample_rate_hz > 384000 || !(s->clip_seconds > 0 && s->clip_seconds < 3600))
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings: bad sample rate or clip length", origin);
    if ((rc = mfcc_config_check(m))) return avemo_error_prefix(rc, "%s: prep settings", origin);
    return AVEMO_OK;
}

static int video_settings_from_json(const cJSON *v, featurizer_settings *s, const char *origin, char *backbone,
                                    size_t cap) {
    faces_config *fc = &s->faces;
    fc->frames = (int)jnum(v, "frames", fc->frames);
    fc->size = (int)jnum(v, "size", fc->size);
    fc->color_rgb = !strcmp(jstr(v, "color", "gray"), "rgb");
    fc->window = !strcmp(jstr(v, "frame_window", "center"), "first") ? FRAME_WINDOW_FIRST : FRAME_WINDOW_CENTER;
    s->frames_kind = !strcmp(jstr(v, "faces", "detect"), "whole") ? VIDEO_FRAMES_WHOLE : VIDEO_FRAMES_FACES;
    fc->refine = jbool(v, "refine", fc->refine);
    fc->reuse_box = jbool(v, "reuse_box", fc->reuse_box);
    fc->detect_max_side = (int)jnum(v, "detect_max_side", fc->detect_max_side);
    fc->mtcnn.min_face_px = (float)jnum(v, "min_face_px", fc->mtcnn.min_face_px);
    fc->track = jbool(v, "track", 0); /* absent: prepared before issue 15, with the full search on every frame */
    fc->min_face_frac = (float)jnum(v, "min_face_frac", 0);
    if (!(fc->min_face_frac >= 0 && fc->min_face_frac < 1))
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings: min_face_frac %g (0 to 1)", origin, fc->min_face_frac);
    if (fc->frames < 1 || fc->frames > 1000 || fc->size < 8 || fc->size > 4096)
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings: bad video frames %d or size %d", origin, fc->frames,
                           fc->size);
    const char *bb = jstr(v, "backbone", NULL);
    if (bb && snprintf(backbone, cap, "%s", bb) >= (int)cap)
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings: backbone path too long", origin);
    s->backbone_path = bb ? backbone : NULL;
    return AVEMO_OK;
}

int featurizer_settings_from_json(const char *json, const char *origin, featurizer_settings *s, char *backbone,
                                  size_t cap) {
    featurizer_settings_default(s);
    s->modality = 0;
    cJSON *r = json ? cJSON_Parse(json) : NULL;
    if (!cJSON_IsObject(r)) {
        cJSON_Delete(r);
        return avemo_error(AVEMO_EFORMAT, "%s: no feature settings (\"prep\" metadata): not trained on an avemo prep "
                                          "cache", origin);
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(r, "audio"), *v = cJSON_GetObjectItemCaseSensitive(r, "video");
    int rc = AVEMO_OK;
    if (cJSON_IsObject(a)) {
        s->modality |= DATASET_NEED_AUDIO;
        rc = audio_settings_from_json(a, s, origin);
    }
    if (!rc && cJSON_IsObject(v)) {
        s->modality |= DATASET_NEED_VIDEO;
        rc = video_settings_from_json(v, s, origin, backbone, cap);
    }
    cJSON_Delete(r);
    return rc;
}

void featurizer_audio_shape(const featurizer_settings *s, int *channels, int *frames) {
    int orders = s->audio_features == AUDIO_FEATURES_FRFT_MFCC ? s->n_orders : 1;
    *channels = s->mfcc.n_mfcc * orders * (1 + s->deltas) + (s->pitch ? 2 : 0);
    *frames = (int)mfcc_frames(&s->mfcc, audio_clip_samples(s->clip_seconds, s->mfcc.sample_rate_hz));
}

long featurizer_frame_bytes(const featurizer_settings *s) { return faces_frame_bytes(&s->faces); }

/* The YIN settings of the pitch rows: the defaults on the MFCC's rate and frames. */
static const yin_config *featurizer_yin_config(const featurizer_settings *s, yin_config *c) {
    yin_config_default(c);
    c->sample_rate_hz = s->mfcc.sample_rate_hz;
    c->frame = s->mfcc.n_fft;
    c->hop = s->mfcc.hop_samples;
    return c;
}

/* ---- opening ---- */

static int open_audio(featurizer *f) {
    const featurizer_settings *s = &f->settings;
    int rc = mfcc_config_check(&s->mfcc);
    if (rc) return rc;
    f->clip_samples = audio_clip_samples(s->clip_seconds, s->mfcc.sample_rate_hz);
    if (f->clip_samples < 1)
        return avemo_error(AVEMO_EINVAL, "a clip of %g s is shorter than one sample", s->clip_seconds);
    int C, F;
    featurizer_audio_shape(s, &C, &F);
    if (s->deltas < 0 || s->deltas > 2) return avemo_error(AVEMO_EINVAL, "deltas %d (0, 1 or 2)", s->deltas);
    if (!(s->speed >= FEATURIZER_SPEED_MIN && s->speed <= FEATURIZER_SPEED_MAX))
        return avemo_error(AVEMO_EINVAL, "speed %g (%g to %g)", s->speed, FEATURIZER_SPEED_MIN, FEATURIZER_SPEED_MAX);
    if (s->deltas && F < DELTA_WIDTH)
        return avemo_error(AVEMO_EINVAL, "deltas need clips of %d frames or more (%d)", DELTA_WIDTH, F);
    yin_config yc;
    if (s->pitch && (rc = yin_config_check(featurizer_yin_config(s, &yc)))) return rc;
    if (s->audio_features == AUDIO_FEATURES_FRFT_MFCC) return frft_mfcc_create(&f->frft, &s->mfcc, s->orders, s->n_orders);
    return AVEMO_OK;
}

/* The folded backbone and its input convention from a loaded network. */
static int fold_backbone(featurizer *f, const mobilenetv2 *net) {
    f->norm = net->norm;
    int rc = mobilenetv2_fold(&f->backbone, net);
    if (!rc) f->have_backbone = 1;
    return rc;
}

/* Bare weights (avemo import), or the fine-tuned backbone of an avemo model file with its input size. */
static int open_backbone(featurizer *f, const char *path) {
    mobilenetv2 net;
    int channels = f->settings.faces.color_rgb ? 3 : 1, rc;
    if (model_file_is_model(path)) {
        rc = model_file_load_backbone(path, &net, &f->embed_size);
        if (!rc && net.in_channels != channels) {
            mobilenetv2_free(&net);
            rc = avemo_error(AVEMO_EINVAL, "%s: the backbone takes %d channels but the frames have %d", path,
                             net.in_channels, channels);
        }
    } else {
        rc = mobilenetv2_from_file(&net, path, channels);
    }
    if (rc) return avemo_error_prefix(rc, "MobileNetV2 backbone");
    rc = fold_backbone(f, &net);
    mobilenetv2_free(&net);
    return rc;
}

int featurizer_open_backbone(featurizer *f, const mobilenetv2 *net) {
    memset(f, 0, sizeof *f);
    featurizer_settings_default(&f->settings);
    f->settings.modality = DATASET_NEED_VIDEO;
    f->settings.frames_kind = VIDEO_FRAMES_WHOLE;
    f->settings.faces.color_rgb = net->in_channels == 3;
    int rc = fold_backbone(f, net);
    if (rc) featurizer_close(f);
    return rc;
}

static int open_detector(featurizer *f, const char *mtcnn_path) {
    char path[FEATURIZER_PATH_MAX];
    int rc = weights_find(WEIGHTS_MTCNN, mtcnn_path, NULL, path, sizeof path);
    if (!rc && (rc = mtcnn_load(path, &f->detector)))
        avemo_error_prefix(rc, "MTCNN weights (give them with --mtcnn or $AVEMO_MTCNN)");
    return rc;
}

/* MTCNN (faces) and the backbone (bb, when given), side by side on 2 OpenMP threads when both are read and 2 are
 * allowed (ours, issue 15: they are independent, and together the larger part of opening a model for `avemo
 * predict`). Each fills its own fields of f; an error comes back on the caller's thread, the detector's first. */
static int open_detector_and_backbone(featurizer *f, int faces, const char *mtcnn_path, const char *bb) {
    if (!faces || !bb || omp_get_max_threads() < 2 || omp_in_parallel()) {
        int rc = faces ? open_detector(f, mtcnn_path) : AVEMO_OK;
        return !rc && bb ? open_backbone(f, bb) : rc;
    }
    int rc_d = AVEMO_OK, rc_b = AVEMO_OK;
    char msg_d[1024] = "", msg_b[1024] = "";
#pragma omp parallel sections num_threads(2)
    {
#pragma omp section
        if ((rc_d = open_detector(f, mtcnn_path))) snprintf(msg_d, sizeof msg_d, "%s", avemo_last_error());
#pragma omp section
        if ((rc_b = open_backbone(f, bb))) snprintf(msg_b, sizeof msg_b, "%s", avemo_last_error());
    }
    return rc_d ? avemo_error(rc_d, "%s", msg_d) : rc_b ? avemo_error(rc_b, "%s", msg_b) : AVEMO_OK;
}

int featurizer_open(featurizer *f, const featurizer_settings *s, const char *mtcnn_path, const char *backbone_path) {
    memset(f, 0, sizeof *f);
    f->settings = *s;
    f->settings.backbone_path = NULL; /* the caller's string: read here only */
    int audio = s->modality & DATASET_NEED_AUDIO, video = s->modality & DATASET_NEED_VIDEO;
    if (!audio && !video) return avemo_error(AVEMO_EINVAL, "featurizer: no modality chosen");
    int rc = audio ? open_audio(f) : AVEMO_OK;
    if (!rc && video && (s->faces.size < 8 || s->faces.size > 4096))
        rc = avemo_error(AVEMO_EINVAL, "face size must be in 8..4096");
    const char *bb = backbone_path ? backbone_path : s->backbone_path;
    if (!rc && video) rc = open_detector_and_backbone(f, s->frames_kind == VIDEO_FRAMES_FACES, mtcnn_path, bb);
    if (rc) featurizer_close(f);
    return rc;
}

int featurizer_use_backbone(featurizer *f, const mobilenetv2 *net, int input_size) {
    if (f->have_backbone) mobilenetv2_folded_free(&f->backbone);
    f->have_backbone = 0;
    if (net->in_channels != (f->settings.faces.color_rgb ? 3 : 1))
        return avemo_error(AVEMO_EINVAL, "the backbone takes %d channels but the frames have %d", net->in_channels,
                           f->settings.faces.color_rgb ? 3 : 1);
    f->embed_size = input_size;
    return fold_backbone(f, net);
}

void featurizer_close(featurizer *f) {
    frft_mfcc_destroy(f->frft);
    mtcnn_free(f->detector);
    if (f->have_backbone) mobilenetv2_folded_free(&f->backbone);
    memset(f, 0, sizeof *f);
}

/* ---- audio ---- */

/* The rate audio is decoded at: the features' rate, or with a speed factor sample_rate_hz / speed (then read as
 * sample_rate_hz: featurizer_settings.speed). */
static int decode_rate(const featurizer_settings *s) {
    return s->speed == 1 ? s->mfcc.sample_rate_hz : (int)lround(s->mfcc.sample_rate_hz / s->speed);
}

int featurizer_open_audio(const featurizer *f, const char *path, audio_source **src) {
    return audio_source_open(path, decode_rate(&f->settings), 0, src);
}

int featurizer_audio_clip(const featurizer *f, const char *path, float *clip, long *n_total) {
    if (f->clip_samples < 1) return avemo_error(AVEMO_EINVAL, "featurizer: opened without audio");
    audio_source *src;
    int rc = featurizer_open_audio(f, path, &src);
    if (rc) return rc;
    audio_source_info info;
    audio_source_get_info(src, &info);
    rc = audio_source_read_center(src, f->clip_samples, clip);
    audio_source_close(src);
    if (!rc && n_total) *n_total = info.n;
    return rc;
}

int featurizer_load_audio(const featurizer *f, const char *path, float **x, long *n) {
    audio_clip clip;
    int rc = audio_load(path, decode_rate(&f->settings), &clip);
    if (rc) return rc;
    *x = clip.samples; /* ownership passes to the caller */
    *n = clip.n;
    return AVEMO_OK;
}

int featurizer_resample(const featurizer *f, const float *x, long n, int rate_hz, float **y, long *ny) {
    return audio_resample(x, n, rate_hz, decode_rate(&f->settings), y, ny);
}

void featurizer_fit_clip(const featurizer *f, const float *x, long n, float *clip) {
    audio_fix_length(x, n, clip, f->clip_samples);
}

/* Index of the first non-finite value of x [n], or -1. */
static long first_non_finite(const float *x, long n) {
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return -1;
}

/* The 2 pitch rows [2, F] of clip [N]. */
static int pitch_features(const featurizer_settings *s, const float *clip, long N, int F, float *out) {
    yin_config c;
    featurizer_yin_config(s, &c);
    float *track = malloc(2 * (size_t)F * sizeof *track);
    if (!track) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int rc = yin_track(&c, clip, N, track, track + F);
    if (!rc) yin_pitch_rows(&c, track, track + F, F, out);
    free(track);
    return rc;
}

int featurizer_audio(const featurizer *f, const float *x, long n, float *out) {
    long N = f->clip_samples;
    if (N < 1) return avemo_error(AVEMO_EINVAL, "featurizer: opened without audio");
    float *clip = malloc((size_t)N * sizeof *clip);
    if (!clip) return avemo_error(AVEMO_ENOMEM, "out of memory");
    featurizer_fit_clip(f, x, n, clip);
    int rc = f->frft ? frft_mfcc_forward(f->frft, clip, N, out) : mfcc_forward(&f->settings.mfcc, clip, N, out);
    /* deltas: rows [base, 2 base) the first-order deltas of rows [0, base), rows [2 base, 3 base) the second-order */
    int C, F;
    featurizer_audio_shape(&f->settings, &C, &F);
    int pitch_rows = f->settings.pitch ? 2 : 0, base = (C - pitch_rows) / (1 + f->settings.deltas);
    for (int d = 1; !rc && d <= f->settings.deltas; d++)
        rc = feature_deltas(out, base, F, d, out + (long)d * base * F);
    if (!rc && pitch_rows) rc = pitch_features(&f->settings, clip, N, F, out + (long)(C - pitch_rows) * F);
    free(clip);
    long bad = rc ? -1 : first_non_finite(out, (long)C * F);
    if (bad >= 0)
        rc = avemo_error(AVEMO_EFORMAT, "non-finite audio features (%g at coefficient %ld, frame %ld): the audio holds "
                         "NaN or Inf samples", out[bad], bad / F, bad % F);
    return rc;
}

int featurizer_audio_file(const featurizer *f, const char *path, float *out) {
    float *clip = malloc((size_t)(f->clip_samples > 0 ? f->clip_samples : 1) * sizeof *clip);
    if (!clip) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    int rc = featurizer_audio_clip(f, path, clip, NULL);
    if (!rc && (rc = featurizer_audio(f, clip, f->clip_samples, out))) avemo_error_prefix(rc, "%s", path);
    free(clip);
    return rc;
}

void featurizer_audio_channels_last(const float *features, int channels, int frames, float *out) {
    for (int c = 0; c < channels; c++)
        for (int t = 0; t < frames; t++) out[(long)t * channels + c] = features[(long)c * frames + t];
}

void featurizer_model_audio(const float *features, int channels, int frames, const float *mean, const float *std,
                            float *model) {
    featurizer_audio_channels_last(features, channels, frames, model);
    feature_standardize(model, frames, channels, mean, std);
}

/* ---- video ---- */

int featurizer_read_frames(const featurizer *f, const char *path, video_clip *clip) {
    const faces_config *fc = &f->settings.faces;
    return image_is_image_path(path) ? image_read_clip(path, clip) : video_read_clip(path, fc->frames, fc->window, clip);
}

/* Whole frames resized to size x size, grayscale unless colour: out [clip->n, size, size(, 3)]. */
static int whole_frames(const faces_config *fc, const video_clip *clip, uint8_t *out) {
    long per = faces_frame_bytes(fc), px = (long)clip->h * clip->w;
    uint8_t *gray = fc->color_rgb ? NULL : malloc((size_t)px);
    if (!fc->color_rgb && !gray) return avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int t = 0; t < clip->n; t++) {
        const uint8_t *rgb = clip->rgb + (size_t)t * px * 3;
        uint8_t *dst = out + (size_t)t * per;
        if (clip->index && clip->index[t] < 0) {
            memset(dst, 0, (size_t)per);
        } else if (fc->color_rgb) {
            resize_bilinear_u8(dst, fc->size, fc->size, rgb, clip->h, clip->w, 3);
        } else {
            rgb_to_gray(gray, rgb, px);
            resize_bilinear_u8(dst, fc->size, fc->size, gray, clip->h, clip->w, 1);
        }
    }
    free(gray);
    return AVEMO_OK;
}

int featurizer_frames(const featurizer *f, const video_clip *clip, uint8_t *out, face_frame *info, int *n_noface) {
    *n_noface = 0;
    if (f->settings.frames_kind == VIDEO_FRAMES_WHOLE) return whole_frames(&f->settings.faces, clip, out);
    if (!f->detector) return avemo_error(AVEMO_EINVAL, "featurizer: opened without a face detector");
    face_frame *own = info ? NULL : malloc(sizeof *own * (clip->n ? clip->n : 1));
    if (!info && !own) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int rc = faces_from_clip(f->detector, clip, &f->settings.faces, out, info ? info : own, n_noface);
    free(own);
    return rc;
}

/* ---- video: decode and face following overlapped ---- */

int featurizer_overlap_usable(const featurizer *f, const char *path) {
    return f->settings.frames_kind == VIDEO_FRAMES_FACES && f->detector && f->settings.faces.track &&
           !image_is_image_path(path) && omp_get_max_threads() >= 2 && !omp_in_parallel();
}

int featurizer_overlap_init(featurizer_overlap *o, const featurizer *f, const char *path, uint8_t *out,
                            face_frame *info) {
    memset(o, 0, sizeof *o);
    o->f = f, o->path = path, o->out = out, o->info = info;
    if (pthread_mutex_init(&o->lock, NULL)) return avemo_error(AVEMO_ENOMEM, "%s: cannot make a lock", path);
    if (pthread_cond_init(&o->changed, NULL)) {
        pthread_mutex_destroy(&o->lock);
        return avemo_error(AVEMO_ENOMEM, "%s: cannot make a condition variable", path);
    }
    return AVEMO_OK;
}

/* io/video.h's sink, on the decoding thread: slots [0, slots) are decoded. */
static void overlap_ready(void *ctx, const uint8_t *rgb, int h, int w, int slots) {
    featurizer_overlap *o = ctx;
    pthread_mutex_lock(&o->lock);
    o->rgb = rgb, o->h = h, o->w = w, o->ready = slots;
    pthread_cond_broadcast(&o->changed);
    pthread_mutex_unlock(&o->lock);
}

/* The decoder starts again from the start: the follower stops; returns once it no longer reads a frame. */
static void overlap_restart(void *ctx) {
    featurizer_overlap *o = ctx;
    pthread_mutex_lock(&o->lock);
    o->restarted = 1;
    pthread_cond_broadcast(&o->changed);
    while (o->following) pthread_cond_wait(&o->changed, &o->lock);
    pthread_mutex_unlock(&o->lock);
}

int featurizer_overlap_decode(featurizer_overlap *o) {
    double t0 = omp_get_wtime();
    const faces_config *fc = &o->f->settings.faces;
    video_clip *c = &o->clip;
    video_frame_sink sink = {overlap_ready, overlap_restart, o};
    int rc = AVEMO_OK;
    c->n = fc->frames;
    if (!(c->index = malloc(sizeof *c->index * (c->n > 0 ? c->n : 1))))
        rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory", o->path);
    if (!rc) rc = video_probe(o->path, &c->total_frames, &c->fps, &c->h, &c->w);
    if (!rc) rc = video_sample_indices(c->index, c->n, c->total_frames, c->fps, fc->window);
    if (!rc) rc = video_decode_indices_fed(o->path, c->index, c->n, 0, &sink, &c->rgb, &c->h, &c->w);
    pthread_mutex_lock(&o->lock);
    o->decode_ended = 1;
    if ((o->decode_rc = rc)) snprintf(o->decode_msg, sizeof o->decode_msg, "%s", avemo_last_error());
    pthread_cond_broadcast(&o->changed);
    pthread_mutex_unlock(&o->lock);
    o->decode_ms = 1e3 * (omp_get_wtime() - t0);
    return rc;
}

/* The follower's wait for frame k: 1 with the frame's pixels and index, 0 when it must stop (the decoder failed or
 * starts again). Frame k is then the follower's until overlap_release. */
static int overlap_acquire(featurizer_overlap *o, int k, const uint8_t **rgb, int *h, int *w, long *index) {
    pthread_mutex_lock(&o->lock);
    while (o->ready <= k && !o->decode_ended && !o->restarted) pthread_cond_wait(&o->changed, &o->lock);
    int go = o->ready > k && !o->restarted;
    if (go) {
        o->following = 1;
        *rgb = o->rgb ? o->rgb + (size_t)k * o->h * o->w * 3 : NULL; /* NULL: padded slots before the first frame */
        *h = o->h, *w = o->w;
        *index = o->clip.index[k];
    }
    pthread_mutex_unlock(&o->lock);
    return go;
}

static void overlap_release(featurizer_overlap *o) {
    pthread_mutex_lock(&o->lock);
    o->following = 0;
    pthread_cond_broadcast(&o->changed);
    pthread_mutex_unlock(&o->lock);
}

/* The follower's loop: frame by frame as they are decoded, until all are cropped or the decoder stops it. */
static int follow_frames(featurizer_overlap *o) {
    const faces_config *fc = &o->f->settings.faces;
    long fb = faces_frame_bytes(fc);
    faces_sequence seq;
    faces_sequence_init(&seq);
    int rc = AVEMO_OK, k, h, w;
    const uint8_t *rgb;
    long index;
    for (k = 0; k < fc->frames && !rc && overlap_acquire(o, k, &rgb, &h, &w, &index); k++) {
        double t0 = omp_get_wtime();
        rc = faces_sequence_frame(o->f->detector, fc, &seq, rgb, h, w, index, o->out + (size_t)k * fb, &o->info[k],
                                  &o->n_noface);
        o->faces_ms += 1e3 * (omp_get_wtime() - t0);
        overlap_release(o);
    }
    o->faces_done = !rc && k == fc->frames;
    return rc;
}

int featurizer_overlap_faces(featurizer_overlap *o) {
    int rc;
    if (omp_in_parallel()) {
        rc = follow_frames(o);
    } else { /* called alone: MTCNN's layers serial as in faces_from_clip (their sums depend on the thread count) */
#pragma omp parallel
#pragma omp master
        rc = follow_frames(o);
    }
    if ((o->faces_rc = rc)) snprintf(o->faces_msg, sizeof o->faces_msg, "%s", avemo_last_error());
    return rc;
}

int featurizer_overlap_end(featurizer_overlap *o) {
    if (o->decode_rc) return avemo_error(o->decode_rc, "%s", o->decode_msg);
    if (o->faces_rc) return avemo_error_prefix(avemo_error(o->faces_rc, "%s", o->faces_msg), "%s", o->path);
    if (o->faces_done) return AVEMO_OK;
    double t0 = omp_get_wtime(); /* the follower stopped (the decoder started again): the faces of the clip now */
    o->n_noface = 0;
    int rc = featurizer_frames(o->f, &o->clip, o->out, o->info, &o->n_noface);
    o->faces_ms += 1e3 * (omp_get_wtime() - t0);
    return rc ? avemo_error_prefix(rc, "%s", o->path) : AVEMO_OK;
}

void featurizer_overlap_free(featurizer_overlap *o) {
    video_clip_free(&o->clip);
    pthread_cond_destroy(&o->changed);
    pthread_mutex_destroy(&o->lock);
}

/* featurizer_frames_file's frames and crops, decode and face following overlapped on 2 threads. */
static int frames_file_overlapped(const featurizer *f, const char *path, uint8_t *out, face_frame *info,
                                  int *n_noface) {
    featurizer_overlap o;
    int rc = featurizer_overlap_init(&o, f, path, out, info);
    if (rc) return rc;
#pragma omp parallel num_threads(2)
    {
        if (omp_get_thread_num() == 0) featurizer_overlap_decode(&o);
        if (omp_get_thread_num() == 1 || omp_get_num_threads() == 1) featurizer_overlap_faces(&o);
    }
    rc = featurizer_overlap_end(&o);
    *n_noface = o.n_noface;
    featurizer_overlap_free(&o);
    return rc;
}

int featurizer_frames_file(const featurizer *f, const char *path, uint8_t **out, face_frame **info, int *n_frames,
                           int *n_noface) {
    *out = NULL;
    if (info) *info = NULL;
    *n_frames = *n_noface = 0;
    if (featurizer_overlap_usable(f, path)) {
        int n = f->settings.faces.frames, rc = AVEMO_OK;
        uint8_t *frames = malloc((size_t)n * featurizer_frame_bytes(&f->settings));
        face_frame *fi = malloc(sizeof *fi * n);
        if (!frames || !fi) rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
        if (!rc) rc = frames_file_overlapped(f, path, frames, fi, n_noface);
        if (rc || !info) free(fi);
        if (rc) {
            free(frames);
            return rc;
        }
        *out = frames;
        if (info) *info = fi;
        *n_frames = n;
        return AVEMO_OK;
    }
    video_clip clip;
    int rc = featurizer_read_frames(f, path, &clip);
    if (rc) return rc;
    uint8_t *frames = malloc((size_t)clip.n * featurizer_frame_bytes(&f->settings));
    face_frame *fi = info ? malloc(sizeof *fi * clip.n) : NULL;
    if (!frames || (info && !fi)) rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    if (!rc && (rc = featurizer_frames(f, &clip, frames, fi, n_noface))) avemo_error_prefix(rc, "%s", path);
    if (rc) {
        free(frames);
        free(fi);
    } else {
        *out = frames;
        if (info) *info = fi;
        *n_frames = clip.n;
    }
    video_clip_free(&clip);
    return rc;
}

/* ---- embeddings ---- */

/* One frame src [px, in_ch] uint8 -> dst [px, stem] normalised; scratch [px * 3]. */
static void frame_to_stem_u8(float *dst, const uint8_t *src, long px, int in_ch, int stem, mnv2_norm norm,
                             uint8_t *scratch) {
    if (in_ch == stem) {
        mobilenetv2_normalize_u8(dst, src, px, stem, norm);
    } else if (in_ch == 3) { /* RGB -> 1-channel stem */
        rgb_to_gray(scratch, src, px);
        mobilenetv2_normalize_u8(dst, scratch, px, 1, norm);
    } else { /* gray -> 3-channel stem */
        for (long p = 0; p < px; p++) scratch[3 * p] = scratch[3 * p + 1] = scratch[3 * p + 2] = src[p];
        mobilenetv2_normalize_u8(dst, scratch, px, 3, norm);
    }
}

/* One frame src [px, in_ch] float (normalised) -> dst [px, stem]. */
static void frame_to_stem_f32(float *dst, const float *src, long px, int in_ch, int stem) {
    for (long p = 0; p < px; p++) {
        if (in_ch == stem) {
            for (int c = 0; c < stem; c++) dst[p * stem + c] = src[p * stem + c];
        } else if (in_ch == 3) {
            dst[p] = 0.299f * src[3 * p] + 0.587f * src[3 * p + 1] + 0.114f * src[3 * p + 2];
        } else {
            dst[3 * p] = dst[3 * p + 1] = dst[3 * p + 2] = src[p];
        }
    }
}

/* featurizer_embed for uint8 (u8 != NULL) or float frames. Groups of `chunk` frames (all at once for 0) are
 * converted to the stem's channels and run through the folded backbone. */
static int embed_frames(const featurizer *f, const uint8_t *u8, const float *f32, int n, int h, int w, int channels,
                        int chunk, float *out) {
    if (!f->have_backbone) return avemo_error(AVEMO_EINVAL, "featurizer: opened without a backbone");
    if (channels != 1 && channels != 3) return avemo_error(AVEMO_EINVAL, "frames have %d channels (1 or 3)", channels);
    int stem = f->settings.faces.color_rgb ? 3 : 1, group = chunk > 0 ? chunk : n;
    if (n <= 0) return AVEMO_OK;
    if (group > n) group = n;
    long px = (long)h * w;
    float *x = malloc((size_t)group * px * stem * sizeof *x);
    uint8_t *scratch = u8 && channels != stem ? malloc((size_t)px * 3) : NULL;
    if (!x || (u8 && channels != stem && !scratch)) {
        free(x);
        free(scratch);
        return avemo_error(AVEMO_ENOMEM, "out of memory for %d frames of %dx%d", group, w, h);
    }
    int rc = AVEMO_OK;
    for (int n0 = 0; n0 < n && !rc; n0 += group) {
        int nb = n - n0 < group ? n - n0 : group;
        for (int k = 0; k < nb; k++) {
            long img = (long)n0 + k;
            float *dst = x + (long)k * px * stem;
            if (u8) frame_to_stem_u8(dst, u8 + img * px * channels, px, channels, stem, f->norm, scratch);
            else frame_to_stem_f32(dst, f32 + img * px * channels, px, channels, stem);
        }
        rc = mobilenetv2_infer(&f->backbone, out + (long)n0 * MNV2_FEATURES, x, nb, h, w, chunk > 0 ? nb : 0);
        long bad = rc ? -1 : first_non_finite(out + (long)n0 * MNV2_FEATURES, (long)nb * MNV2_FEATURES);
        if (bad >= 0)
            rc = avemo_error(AVEMO_EFORMAT, "non-finite backbone embedding (%g in frame %ld): the backbone's weights "
                             "overflow", out[(long)n0 * MNV2_FEATURES + bad], n0 + bad / MNV2_FEATURES);
    }
    free(x);
    free(scratch);
    return rc;
}

int featurizer_frame_input(float *dst, int S, int stem_channels, mnv2_norm norm, const uint8_t *src, int h, int w,
                           int channels, const augment_view *v, uint8_t *scratch) {
    if ((channels != 1 && channels != 3) || (stem_channels != 1 && stem_channels != 3))
        return avemo_error(AVEMO_EINVAL, "frames have %d channels (1 or 3)", channels);
    long px = (long)h * w;
    const uint8_t *img = src;
    if (channels == 3 && stem_channels == 1) { /* RGB -> 1-channel stem */
        rgb_to_gray(scratch, src, px);
        img = scratch;
    } else if (channels == 1 && stem_channels == 3) { /* gray -> 3-channel stem */
        for (long p = 0; p < px; p++) scratch[3 * p] = scratch[3 * p + 1] = scratch[3 * p + 2] = src[p];
        img = scratch;
    }
    int rc = augment_render(dst, S, img, h, w, stem_channels, v);
    if (!rc) mobilenetv2_normalize_f32(dst, (long)S * S, stem_channels, norm);
    return rc;
}

/* Frames through views at embed_size: each frame rendered by featurizer_frame_input, then the backbone. */
static int embed_frames_view(const featurizer *f, const uint8_t *frames, int n, int h, int w, int channels,
                             const augment_view *v, float *out) {
    if (!f->have_backbone) return avemo_error(AVEMO_EINVAL, "featurizer: opened without a backbone");
    int S = f->embed_size > 0 ? f->embed_size : h, stem = f->settings.faces.color_rgb ? 3 : 1;
    if (f->embed_size <= 0 && h != w) return avemo_error(AVEMO_EINVAL, "featurizer: views need square frames");
    int group = n < FEATURIZER_VIEW_CHUNK ? n : FEATURIZER_VIEW_CHUNK;
    long per_in = (long)S * S * stem;
    float *x = malloc((size_t)(group > 0 ? group : 1) * per_in * sizeof *x);
    uint8_t *scratch = malloc((size_t)h * w * 3);
    int rc = x && scratch ? AVEMO_OK : avemo_error(AVEMO_ENOMEM, "out of memory for frames of %dx%d", S, S);
    for (int n0 = 0; n0 < n && !rc; n0 += group) {
        int nb = n - n0 < group ? n - n0 : group;
        for (int k = 0; k < nb && !rc; k++)
            rc = featurizer_frame_input(x + k * per_in, S, stem, f->norm, frames + ((long)n0 + k) * h * w * channels,
                                        h, w, channels, v, scratch);
        if (!rc) rc = mobilenetv2_infer(&f->backbone, out + (long)n0 * MNV2_FEATURES, x, nb, S, S, nb);
    }
    free(x);
    free(scratch);
    return rc;
}

int featurizer_embed_view(const featurizer *f, const uint8_t *frames, int n, int h, int w, int channels,
                          const augment_view *v, float *out) {
    return embed_frames_view(f, frames, n, h, w, channels, v, out);
}

int featurizer_embed(const featurizer *f, const uint8_t *frames, int n, int h, int w, int channels, int chunk,
                     float *out) {
    if (f->embed_size > 0 && (h != f->embed_size || w != f->embed_size)) {
        augment_view id;
        augment_view_identity(&id);
        return embed_frames_view(f, frames, n, h, w, channels, &id, out);
    }
    return embed_frames(f, frames, NULL, n, h, w, channels, chunk, out);
}

int featurizer_embed_f32(const featurizer *f, const float *frames, int n, int h, int w, int channels, int chunk,
                         float *out) {
    return embed_frames(f, NULL, frames, n, h, w, channels, chunk, out);
}
