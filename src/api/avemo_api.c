/* The public inference API (include/avemo.h): a trained model file -> emotion probabilities for media files
 * or in-memory PCM and face crops.
 *
 * Features are recomputed exactly as `avemo prep` made the training features, from the settings it stored
 * in the model file ("prep" metadata): the same functions in the same order (audio: decode mono -> soxr
 * resample -> centre crop / pad -> MFCC or FRFT-MFCC, as data/prep.c's prep_audio_features; video:
 * video_read_clip with the prep frame window -> faces_from_clip -> mobilenetv2_normalize_u8 ->
 * mobilenetv2_infer on all T frames at once), then transposed to channels-last and standardised with the
 * training fold's mean/std (data/loader.c), then the head in evaluation mode (train/trainer.c's eval).
 *
 * Threads: the weights, MTCNN, MobileNetV2 (folded) and the FRFT plans are read-only after open. The head's
 * `model` struct holds its activations, so each call borrows an instance from a pool (mutex-protected free
 * list; a new instance is a copy of the loaded parameters, made when all are busy) and returns it after.
 */
#include "avemo.h"

#include "core/err.h"
#include "data/loader.h"
#include "dsp/frft_mfcc.h"
#include "dsp/mfcc.h"
#include "io/audio.h"
#include "io/image.h"
#include "io/media_probe.h"
#include "io/video.h"
#include "model/mobilenetv2.h"
#include "model/model_file.h"
#include "vision/faces.h"
#include "vision/imgops.h"
#include "vision/mtcnn.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MTCNN_MANIFEST_REL "weights/mtcnn/mtcnn_model-weights_manifest.json"
#define WINDOW_DECODE_FRAMES 48 /* RGB frames decoded per pass in window mode (720p: 2.8 MB each) */
#define MAX_WINDOWS 100000

struct avemo_model {
    model_file mf;
    model_config cfg;
    int needs;    /* AVEMO_NEEDS_* */
    int tolerant; /* modality dropout: one missing stream is fed as zeros */
    /* audio features */
    int audio_frft;
    int n_orders;
    double orders[AVEMO_FRFT_MFCC_MAX_ORDERS];
    mfcc_config mfcc;
    int sample_rate_hz;
    double clip_seconds;
    long clip_samples;
    frft_mfcc *frft;
    /* video features */
    faces_config faces;
    int faces_whole; /* whole frames resized (image-folder models) instead of MTCNN crops */
    mtcnn *detector;
    mnv2_folded backbone;
    int have_backbone;
    mnv2_norm norm;
    /* head instances */
    pthread_mutex_t lock;
    model **pool;
    int n_pool, cap_pool;
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* ---- the prep settings ---- */

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

/* Audio settings of data/prep.c's prep_config_json; keys absent keep prep's defaults. */
static int parse_audio_prep(avemo_model *M, const cJSON *a, const char *path) {
    mfcc_config_default(&M->mfcc);
    M->sample_rate_hz = AVEMO_AUDIO_SAMPLE_RATE_HZ;
    M->clip_seconds = AVEMO_AUDIO_CLIP_SECONDS;
    M->n_orders = 1;
    M->orders[0] = AVEMO_FRFT_ORDER_DEFAULT;
    const char *feat = jstr(a, "features", "mfcc");
    if (!strcmp(feat, "frft-mfcc")) M->audio_frft = 1;
    else if (strcmp(feat, "mfcc")) return avemo_error(AVEMO_EFORMAT, "%s: prep settings: unknown audio features '%s'", path, feat);
    const cJSON *ord = cJSON_GetObjectItemCaseSensitive(a, "frft_orders");
    if (M->audio_frft && cJSON_IsArray(ord)) {
        int n = cJSON_GetArraySize(ord);
        if (n < 1 || n > AVEMO_FRFT_MFCC_MAX_ORDERS)
            return avemo_error(AVEMO_EFORMAT, "%s: prep settings: %d FRFT orders", path, n);
        for (int k = 0; k < n; k++) {
            const cJSON *v = cJSON_GetArrayItem(ord, k);
            if (!cJSON_IsNumber(v)) return avemo_error(AVEMO_EFORMAT, "%s: prep settings: bad FRFT order", path);
            M->orders[k] = v->valuedouble;
        }
        M->n_orders = n;
    }
    M->sample_rate_hz = (int)jnum(a, "sample_rate_hz", M->sample_rate_hz);
    M->clip_seconds = jnum(a, "clip_seconds", M->clip_seconds);
    M->mfcc.sample_rate_hz = M->sample_rate_hz;
    M->mfcc.n_mfcc = (int)jnum(a, "n_mfcc", M->mfcc.n_mfcc);
    M->mfcc.n_fft = (int)jnum(a, "n_fft", M->mfcc.n_fft);
    M->mfcc.hop_samples = (int)jnum(a, "hop_samples", M->mfcc.hop_samples);
    M->mfcc.n_mels = (int)jnum(a, "n_mels", M->mfcc.n_mels);
    M->mfcc.fmin_hz = jnum(a, "fmin_hz", M->mfcc.fmin_hz);
    M->mfcc.fmax_hz = jnum(a, "fmax_hz", M->mfcc.fmax_hz);
    M->mfcc.top_db = jnum(a, "top_db", M->mfcc.top_db);
    M->mfcc.pad_mode = !strcmp(jstr(a, "pad_mode", "constant"), "reflect") ? MFCC_PAD_REFLECT : MFCC_PAD_CONSTANT;
    if (M->sample_rate_hz < 1000 || M->sample_rate_hz > 384000 || !(M->clip_seconds > 0 && M->clip_seconds < 3600))
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings: bad sample rate or clip length", path);
    int rc = mfcc_config_check(&M->mfcc);
    if (rc) return avemo_error_prefix(rc, "%s: prep settings", path);
    M->clip_samples = audio_clip_samples(M->clip_seconds, M->sample_rate_hz);
    int C = M->mfcc.n_mfcc * (M->audio_frft ? M->n_orders : 1);
    long F = mfcc_frames(&M->mfcc, M->clip_samples);
    if (C != M->cfg.audio_channels || F != M->cfg.audio_frames)
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings give audio features [%d, %ld] but the model reads [%d, %d]",
                           path, C, F, M->cfg.audio_channels, M->cfg.audio_frames);
    if (M->audio_frft && (rc = frft_mfcc_create(&M->frft, &M->mfcc, M->orders, M->n_orders))) return rc;
    return AVEMO_OK;
}

/* Video settings (the data helper's prep: frames, size, color, frame_window, faces, refine, reuse_box,
 * detect_max_side, min_face_px, backbone); absent keys keep faces_default_config's values. */
static int parse_video_prep(avemo_model *M, const cJSON *v, const char *path, const char **backbone) {
    faces_default_config(&M->faces);
    faces_config *fc = &M->faces;
    fc->frames = (int)jnum(v, "frames", fc->frames);
    fc->size = (int)jnum(v, "size", fc->size);
    fc->color_rgb = !strcmp(jstr(v, "color", "gray"), "rgb");
    fc->window = !strcmp(jstr(v, "frame_window", "center"), "first") ? FRAME_WINDOW_FIRST : FRAME_WINDOW_CENTER;
    M->faces_whole = !strcmp(jstr(v, "faces", "detect"), "whole");
    fc->refine = jbool(v, "refine", fc->refine);
    fc->reuse_box = jbool(v, "reuse_box", fc->reuse_box);
    fc->detect_max_side = (int)jnum(v, "detect_max_side", fc->detect_max_side);
    fc->mtcnn.min_face_px = (float)jnum(v, "min_face_px", fc->mtcnn.min_face_px);
    *backbone = jstr(v, "backbone", NULL);
    if (fc->frames < 1 || fc->frames > 1000 || fc->size < 32 || fc->size > 4096 || fc->size % 32)
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings: bad video frames %d or size %d", path, fc->frames, fc->size);
    if (fc->frames != M->cfg.video_frames || M->cfg.video_dim != MNV2_FEATURES)
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings give %d frames x %d features but the model reads %d x %d",
                           path, fc->frames, MNV2_FEATURES, M->cfg.video_frames, M->cfg.video_dim);
    return AVEMO_OK;
}

static const char *default_mtcnn(char *buf, size_t cap) {
    const char *env = getenv("AVEMO_MTCNN");
    if (env && *env) return env;
    const char *shared = getenv("AVEMO_SHARED");
    snprintf(buf, cap, "%s/%s", shared && *shared ? shared : "../shared", MTCNN_MANIFEST_REL);
    return buf;
}

void avemo_model_close(avemo_model *M) {
    if (!M) return;
    for (int i = 0; i < M->n_pool; i++)
        if (M->pool[i] != M->mf.m) model_free(M->pool[i]);
    free(M->pool);
    model_file_free(&M->mf);
    frft_mfcc_destroy(M->frft);
    mtcnn_free(M->detector);
    if (M->have_backbone) mobilenetv2_folded_free(&M->backbone);
    pthread_mutex_destroy(&M->lock);
    free(M);
}

int avemo_model_open(const char *path, avemo_model **out) { return avemo_model_open_ex(path, NULL, out); }

int avemo_model_open_ex(const char *path, const avemo_open_options *opt, avemo_model **out) {
    if (!out) return avemo_error(AVEMO_EINVAL, "avemo_model_open: NULL output");
    *out = NULL;
    if (!path) return avemo_error(AVEMO_EINVAL, "avemo_model_open: NULL path");
    avemo_model *M = calloc(1, sizeof *M);
    if (!M) return avemo_error(AVEMO_ENOMEM, "out of memory");
    pthread_mutex_init(&M->lock, NULL);
    cJSON *prep = NULL;
    int rc = model_file_load(path, &M->mf);
    if (rc) {
        free(M);
        return rc;
    }
    M->cfg = M->mf.m->cfg;
    if (M->mf.n_classes > AVEMO_MAX_CLASSES) {
        rc = avemo_error(AVEMO_EUNSUP, "%s: %d classes (at most %d)", path, M->mf.n_classes, AVEMO_MAX_CLASSES);
        goto fail;
    }
    M->needs = (M->cfg.modality != MODALITY_VIDEO ? AVEMO_NEEDS_AUDIO : 0) |
               (M->cfg.modality != MODALITY_AUDIO ? AVEMO_NEEDS_VIDEO : 0);
    M->tolerant = M->cfg.modality == MODALITY_AV && M->cfg.modality_dropout;
    if (!M->mf.prep_json || !(prep = cJSON_Parse(M->mf.prep_json)) || !cJSON_IsObject(prep)) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: no feature settings (\"prep\" metadata): not trained on an avemo prep cache",
                         path);
        goto fail;
    }
    if (M->needs & AVEMO_NEEDS_AUDIO) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(prep, "audio");
        if (!cJSON_IsObject(a)) {
            rc = avemo_error(AVEMO_EFORMAT, "%s: the model reads audio but its prep settings have none", path);
            goto fail;
        }
        if ((rc = parse_audio_prep(M, a, path))) goto fail;
    }
    if (M->needs & AVEMO_NEEDS_VIDEO) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(prep, "video");
        const char *bb = NULL;
        if (!cJSON_IsObject(v)) {
            rc = avemo_error(AVEMO_EFORMAT, "%s: the model reads video but its prep settings have none", path);
            goto fail;
        }
        if ((rc = parse_video_prep(M, v, path, &bb))) goto fail;
        if (opt && opt->backbone) bb = opt->backbone;
        if (!bb) {
            rc = avemo_error(AVEMO_EINVAL, "%s: the prep settings name no MobileNetV2 backbone; give its weights "
                                           "(--backbone W.safetensors)", path);
            goto fail;
        }
        mobilenetv2 net;
        if ((rc = mobilenetv2_from_file(&net, bb, M->faces.color_rgb ? 3 : 1))) {
            avemo_error_prefix(rc, "MobileNetV2 backbone%s", opt && opt->backbone ? "" : " (the path avemo prep recorded; "
                                                                                         "give another with --backbone)");
            goto fail;
        }
        M->norm = net.norm;
        rc = mobilenetv2_fold(&M->backbone, &net);
        mobilenetv2_free(&net);
        if (rc) goto fail;
        M->have_backbone = 1;
        if (!M->faces_whole) {
            char buf[4096];
            const char *mp = opt && opt->mtcnn_manifest ? opt->mtcnn_manifest : default_mtcnn(buf, sizeof buf);
            if ((rc = mtcnn_load(mp, &M->detector))) {
                avemo_error_prefix(rc, "MTCNN weights (give their manifest with --mtcnn or $AVEMO_MTCNN)");
                goto fail;
            }
        }
    }
    cJSON_Delete(prep);
    prep = NULL;
    M->cap_pool = 4;
    M->pool = malloc(M->cap_pool * sizeof *M->pool);
    if (!M->pool) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto fail;
    }
    M->pool[M->n_pool++] = M->mf.m; /* the loaded instance is the first of the pool */
    *out = M;
    return AVEMO_OK;
fail:
    cJSON_Delete(prep);
    avemo_model_close(M);
    return rc;
}

int avemo_class_count(const avemo_model *M) { return M ? M->mf.n_classes : 0; }

const char *avemo_class_name(const avemo_model *M, int k) {
    return M && k >= 0 && k < M->mf.n_classes ? M->mf.class_names[k] : NULL;
}

int avemo_model_needs(const avemo_model *M) { return M ? M->needs : 0; }
int avemo_model_tolerates_missing(const avemo_model *M) { return M ? M->tolerant : 0; }

void avemo_model_video_shape(const avemo_model *M, int *frames, int *side, int *channels) {
    int v = M && (M->needs & AVEMO_NEEDS_VIDEO);
    if (frames) *frames = v ? M->faces.frames : 0;
    if (side) *side = v ? M->faces.size : 0;
    if (channels) *channels = v ? (M->faces.color_rgb ? 3 : 1) : 0;
}

void avemo_model_audio_shape(const avemo_model *M, int *sample_rate_hz, double *clip_seconds) {
    int a = M && (M->needs & AVEMO_NEEDS_AUDIO);
    if (sample_rate_hz) *sample_rate_hz = a ? M->sample_rate_hz : 0;
    if (clip_seconds) *clip_seconds = a ? M->clip_seconds : 0;
}

/* ---- head instances ---- */

static int head_acquire(avemo_model *M, model **out) {
    pthread_mutex_lock(&M->lock);
    model *m = M->n_pool ? M->pool[--M->n_pool] : NULL;
    pthread_mutex_unlock(&M->lock);
    if (!m) { /* all busy: a copy of the loaded parameters and BN statistics */
        int rc = model_create(&m, &M->cfg, 0);
        if (rc) return rc;
        memcpy(m->param_mem, M->mf.m->param_mem, (size_t)m->n_params * sizeof(float));
        if (m->n_buffers) memcpy(m->buffer_mem, M->mf.m->buffer_mem, (size_t)m->n_buffers * sizeof(float));
    }
    *out = m;
    return AVEMO_OK;
}

static void head_release(avemo_model *M, model *m) {
    pthread_mutex_lock(&M->lock);
    if (M->n_pool == M->cap_pool) {
        model **p = realloc(M->pool, 2 * M->cap_pool * sizeof *p);
        if (p) {
            M->pool = p;
            M->cap_pool *= 2;
        }
    }
    if (M->n_pool < M->cap_pool) M->pool[M->n_pool++] = m;
    else if (m != M->mf.m) model_free(m); /* cannot grow the list: drop the copy */
    pthread_mutex_unlock(&M->lock);
}

/* ---- features ---- */

/* x [n] at the model's rate -> audio [F, C] standardised (the model's input for one sample). */
static int audio_features(const avemo_model *M, const float *x, long n, float *audio) {
    long N = M->clip_samples;
    int C = M->cfg.audio_channels, F = M->cfg.audio_frames;
    float *fixed = malloc((size_t)N * sizeof *fixed), *y = malloc((size_t)C * F * sizeof *y);
    int rc = AVEMO_OK;
    if (!fixed || !y) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    audio_fix_length(x, n, fixed, N);
    rc = M->frft ? frft_mfcc_forward(M->frft, fixed, N, y) : mfcc_forward(&M->mfcc, fixed, N, y);
    if (rc) goto done;
    for (int c = 0; c < C; c++) /* [C, F] -> [F, C], as data/loader.c packs the cache */
        for (int f = 0; f < F; f++) audio[(long)f * C + c] = y[(long)c * F + f];
    feature_standardize(audio, F, C, M->mf.audio_mean, M->mf.audio_std);
done:
    free(fixed);
    free(y);
    return rc;
}

/* crops uint8 [T, S, S, ch] -> video [T, 1280] standardised. */
static int video_features(const avemo_model *M, const uint8_t *crops, float *video) {
    int T = M->faces.frames, S = M->faces.size, ch = M->faces.color_rgb ? 3 : 1;
    float *x = malloc((size_t)T * S * S * ch * sizeof *x);
    if (!x) return avemo_error(AVEMO_ENOMEM, "out of memory");
    mobilenetv2_normalize_u8(x, crops, (long)T * S * S, ch, M->norm);
    int rc = mobilenetv2_infer(&M->backbone, video, x, T, S, S, 0);
    free(x);
    if (!rc) feature_standardize(video, T, M->cfg.video_dim, M->mf.video_mean, M->mf.video_std);
    return rc;
}

/* Whole frames resized to size x size (grayscale unless colour): what prep stores for image-folder models. */
static void whole_frames(const avemo_model *M, const video_clip *clip, uint8_t *out, uint8_t *gray) {
    const faces_config *fc = &M->faces;
    long per = faces_frame_bytes(fc), px = (long)clip->h * clip->w;
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
}

/* Face crops of a decoded clip: out [clip->n, S, S, ch]. */
static int clip_crops(const avemo_model *M, const video_clip *clip, const char *path, uint8_t *out, int *n_noface) {
    *n_noface = 0;
    if (M->faces_whole) {
        uint8_t *gray = malloc((size_t)clip->h * clip->w);
        if (!gray) return avemo_error(AVEMO_ENOMEM, "out of memory");
        whole_frames(M, clip, out, gray);
        free(gray);
        return AVEMO_OK;
    }
    face_frame *info = malloc(sizeof *info * clip->n);
    if (!info) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int rc = faces_from_clip(M->detector, clip, &M->faces, out, info, n_noface);
    free(info);
    return rc ? avemo_error_prefix(rc, "%s", path) : AVEMO_OK;
}

/* ---- the head ---- */

static void result_init(const avemo_model *M, avemo_result *r) {
    memset(r, 0, sizeof *r);
    r->n_classes = M->mf.n_classes;
}

/* video [T, D] or NULL, audio [F, C] or NULL (standardised) -> r->probs. A NULL stream the model reads is
 * fed as zeros (only reached when the model tolerates it). */
static int run_head(avemo_model *M, const float *video, const float *audio, avemo_result *r) {
    double t0 = now_ms();
    float *zv = NULL, *za = NULL;
    int rc = AVEMO_OK;
    if ((M->needs & AVEMO_NEEDS_VIDEO) && !video) {
        video = zv = calloc((size_t)M->cfg.video_frames * M->cfg.video_dim, sizeof *zv);
        if (!zv) return avemo_error(AVEMO_ENOMEM, "out of memory");
    }
    if ((M->needs & AVEMO_NEEDS_AUDIO) && !audio) {
        audio = za = calloc((size_t)M->cfg.audio_frames * M->cfg.audio_channels, sizeof *za);
        if (!za) {
            free(zv);
            return avemo_error(AVEMO_ENOMEM, "out of memory");
        }
    }
    model *m;
    if (!(rc = head_acquire(M, &m))) {
        rc = model_forward(m, video, audio, NULL, 1, 0, NULL);
        if (!rc) {
            int nc = M->mf.n_classes;
            memcpy(r->probs, m->acts.probs, (size_t)nc * sizeof(float));
            r->top_class = 0;
            for (int k = 1; k < nc; k++)
                if (r->probs[k] > r->probs[r->top_class]) r->top_class = k;
        }
        head_release(M, m);
    }
    free(zv);
    free(za);
    r->model_ms += now_ms() - t0;
    return rc;
}

/* Which streams to feed for an input that has has_audio / has_video; error naming `what` otherwise. */
static int choose_streams(const avemo_model *M, const char *what, int has_audio, int has_video, int *use_audio,
                          int *use_video) {
    *use_audio = has_audio && (M->needs & AVEMO_NEEDS_AUDIO);
    *use_video = has_video && (M->needs & AVEMO_NEEDS_VIDEO);
    int miss_a = (M->needs & AVEMO_NEEDS_AUDIO) && !has_audio, miss_v = (M->needs & AVEMO_NEEDS_VIDEO) && !has_video;
    if (!miss_a && !miss_v) return AVEMO_OK;
    if (M->tolerant && (*use_audio || *use_video)) return AVEMO_OK;
    const char *kind = M->needs == (AVEMO_NEEDS_AUDIO | AVEMO_NEEDS_VIDEO) ? "audio and video" : miss_a ? "audio" : "video";
    return avemo_error(AVEMO_EDECODE, "%s: no %s %s; the model needs %s%s", what, miss_a ? "audio" : "video",
                       miss_a && miss_v ? "or video" : "stream", kind,
                       M->needs == (AVEMO_NEEDS_AUDIO | AVEMO_NEEDS_VIDEO) && !M->tolerant
                           ? " (trained without modality dropout)" : "");
}

/* ---- predict ---- */

int avemo_predict_pcm(avemo_model *M, const float *samples, long n, int sample_rate_hz, const unsigned char *frames,
                      int T, int H, int W, avemo_result *r) {
    if (!M || !r) return avemo_error(AVEMO_EINVAL, "avemo_predict_pcm: NULL model or result");
    double t_start = now_ms();
    result_init(M, r);
    int has_audio = samples && n > 0, has_video = frames != NULL, use_a, use_v;
    int rc = choose_streams(M, "input", has_audio, has_video, &use_a, &use_v);
    if (rc) return rc;
    if (use_a && (sample_rate_hz < 1 || sample_rate_hz > 1000000))
        return avemo_error(AVEMO_EINVAL, "avemo_predict_pcm: bad sample rate %d Hz", sample_rate_hz);
    if (use_v && (T != M->faces.frames || H != M->faces.size || W != M->faces.size))
        return avemo_error(AVEMO_EINVAL, "avemo_predict_pcm: frames are [%d, %d, %d]; the model reads [%d, %d, %d]", T, H,
                           W, M->faces.frames, M->faces.size, M->faces.size);
    float *audio = NULL, *video = NULL, *x = NULL;
    if (use_a) {
        double t0 = now_ms();
        long nx;
        if ((rc = audio_resample(samples, n, sample_rate_hz, M->sample_rate_hz, &x, &nx))) goto done;
        r->decode_ms += now_ms() - t0;
        t0 = now_ms();
        audio = malloc((size_t)M->cfg.audio_frames * M->cfg.audio_channels * sizeof *audio);
        if (!audio) {
            rc = avemo_error(AVEMO_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = audio_features(M, x, nx, audio))) goto done;
        r->features_ms += now_ms() - t0;
    }
    if (use_v) {
        double t0 = now_ms();
        video = malloc((size_t)M->cfg.video_frames * M->cfg.video_dim * sizeof *video);
        if (!video) {
            rc = avemo_error(AVEMO_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = video_features(M, frames, video))) goto done;
        r->features_ms += now_ms() - t0;
        r->video_frames = T;
    }
    r->used_audio = use_a;
    r->used_video = use_v;
    if (use_a) r->end_s = (double)n / sample_rate_hz;
    rc = run_head(M, video, audio, r);
done:
    free(x);
    free(audio);
    free(video);
    r->total_ms = now_ms() - t_start;
    return rc;
}

/* Decode the whole audio of `path` at the model's rate: *x [*n] (malloc'd). */
static int load_audio(const avemo_model *M, const char *path, float **x, long *n) {
    audio_clip clip;
    int rc = audio_load(path, M->sample_rate_hz, &clip);
    if (rc) return rc;
    *x = clip.samples;
    *n = clip.n;
    return AVEMO_OK;
}

int avemo_predict_file(avemo_model *M, const char *path, avemo_result *r) {
    if (!M || !path || !r) return avemo_error(AVEMO_EINVAL, "avemo_predict_file: NULL argument");
    double t_start = now_ms();
    result_init(M, r);
    media_info mi;
    int use_a, use_v, rc = media_probe(path, &mi);
    if (rc) return rc;
    if ((rc = choose_streams(M, path, mi.has_audio, mi.has_video, &use_a, &use_v))) return rc;
    r->decode_ms += now_ms() - t_start;
    float *x = NULL, *audio = NULL, *video = NULL;
    uint8_t *crops = NULL;
    video_clip clip = {0};
    long nx = 0;
    if (use_a) {
        double t0 = now_ms();
        if ((rc = load_audio(M, path, &x, &nx))) goto done;
        r->decode_ms += now_ms() - t0;
        t0 = now_ms();
        audio = malloc((size_t)M->cfg.audio_frames * M->cfg.audio_channels * sizeof *audio);
        if (!audio) {
            rc = avemo_error(AVEMO_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = audio_features(M, x, nx, audio))) {
            avemo_error_prefix(rc, "%s", path);
            goto done;
        }
        r->features_ms += now_ms() - t0;
        r->end_s = (double)nx / M->sample_rate_hz;
    }
    if (use_v) {
        double t0 = now_ms();
        rc = mi.is_image ? image_read_clip(path, &clip) : video_read_clip(path, M->faces.frames, M->faces.window, &clip);
        if (rc) goto done;
        if (clip.n != M->faces.frames) {
            rc = avemo_error(AVEMO_EINVAL, "%s: %d frame%s; the model reads %d", path, clip.n, clip.n == 1 ? "" : "s",
                             M->faces.frames);
            goto done;
        }
        r->decode_ms += now_ms() - t0;
        t0 = now_ms();
        crops = malloc((size_t)clip.n * faces_frame_bytes(&M->faces));
        if (!crops) {
            rc = avemo_error(AVEMO_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = clip_crops(M, &clip, path, crops, &r->frames_without_face))) goto done;
        r->faces_ms += now_ms() - t0;
        t0 = now_ms();
        video = malloc((size_t)M->cfg.video_frames * M->cfg.video_dim * sizeof *video);
        if (!video) {
            rc = avemo_error(AVEMO_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = video_features(M, crops, video))) {
            avemo_error_prefix(rc, "%s", path);
            goto done;
        }
        r->features_ms += now_ms() - t0;
        r->video_frames = clip.n;
        if (clip.fps > 0) r->end_s = clip.total_frames / clip.fps;
    }
    r->used_audio = use_a;
    r->used_video = use_v;
    rc = run_head(M, video, audio, r);
done:
    video_clip_free(&clip);
    free(crops);
    free(x);
    free(audio);
    free(video);
    r->total_ms = now_ms() - t_start;
    return rc;
}

/* ---- windows ---- */

/* Frame indices of the window [s, s + w): slot k shows time s + (k + 0.5) w / frames (video_sample_indices'
 * CENTER rule on this window); -1 outside the clip. */
static void window_indices(long *idx, int frames, double s, double w, long total, double fps) {
    for (int k = 0; k < frames; k++) {
        double t = s + (k + 0.5) * w / frames;
        long i = t < 0 ? -1 : (long)floor(t * fps + 1e-9);
        idx[k] = i >= 0 && i < total ? i : -1;
    }
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

int avemo_predict_file_windows(avemo_model *M, const char *path, double window_s, double hop_s, avemo_result *res,
                               int max_results, int *n_results) {
    if (!M || !path || !n_results || (max_results > 0 && !res))
        return avemo_error(AVEMO_EINVAL, "avemo_predict_file_windows: NULL argument");
    *n_results = 0;
    if (!(window_s > 0 && window_s < 1e6) || !(hop_s > 0 && hop_s < 1e6))
        return avemo_error(AVEMO_EINVAL, "window and hop must be positive seconds (got %g, %g)", window_s, hop_s);
    double t_start = now_ms(), dec_ms = 0;
    media_info mi;
    int use_a, use_v, rc = media_probe(path, &mi);
    if (rc) return rc;
    if ((rc = choose_streams(M, path, mi.has_audio, mi.has_video, &use_a, &use_v))) return rc;
    if (use_v && mi.is_image)
        return avemo_error(AVEMO_EINVAL, "%s: a still image has no time axis for windows", path);
    long total = 0;
    double fps = 0;
    int vh = 0, vw = 0;
    float *x = NULL, *audio = NULL, *video = NULL;
    uint8_t *rgb = NULL, *crops = NULL;
    long *idx = NULL, *uniq = NULL;
    long nx = 0;
    double duration;
    if (use_v && (rc = video_probe(path, &total, &fps, &vh, &vw))) return rc;
    if (use_a && (rc = load_audio(M, path, &x, &nx))) return rc;
    dec_ms += now_ms() - t_start;
    duration = use_v ? total / fps : (double)nx / M->sample_rate_hz;
    double nw_d = duration < window_s ? 1 : floor((duration - window_s) / hop_s + 1e-9) + 1;
    if (nw_d > MAX_WINDOWS) {
        free(x);
        return avemo_error(AVEMO_EINVAL, "%s: %.0f windows (at most %d)", path, nw_d, MAX_WINDOWS);
    }
    int nw = (int)nw_d, T = M->faces.frames;
    *n_results = nw;
    int n_out = nw < max_results ? nw : max_results;
    if (n_out <= 0) {
        free(x);
        return AVEMO_OK;
    }
    long fb = use_v ? faces_frame_bytes(&M->faces) : 0, frame_px = (long)vh * vw * 3;
    if (use_a) audio = malloc((size_t)M->cfg.audio_frames * M->cfg.audio_channels * sizeof *audio);
    if (use_v) {
        video = malloc((size_t)M->cfg.video_frames * M->cfg.video_dim * sizeof *video);
        idx = malloc((size_t)n_out * T * sizeof *idx);
        uniq = malloc((size_t)n_out * T * sizeof *uniq);
        crops = malloc((size_t)T * fb);
    }
    if ((use_a && !audio) || (use_v && (!video || !idx || !uniq || !crops))) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    double a_dec_share = use_a ? dec_ms / n_out : 0;
    for (int w = 0; w < n_out; w++) {
        result_init(M, &res[w]);
        res[w].start_s = w * hop_s;
        res[w].end_s = w * hop_s + window_s;
        res[w].used_audio = use_a;
        res[w].used_video = use_v;
        res[w].decode_ms = a_dec_share;
        if (use_v) window_indices(idx + (long)w * T, T, w * hop_s, window_s, total, fps);
    }
    /* windows in groups whose distinct frames fit one decoding pass */
    for (int w0 = 0; w0 < n_out;) {
        int w1 = w0, nu = 0;
        if (use_v) {
            while (w1 < n_out) { /* grow the group while its distinct frames stay within the budget */
                int cand = 0;
                for (long k = (long)w0 * T; k < (long)(w1 + 1) * T; k++)
                    if (idx[k] >= 0) uniq[cand++] = idx[k];
                qsort(uniq, cand, sizeof *uniq, cmp_long);
                int u = 0;
                for (int k = 0; k < cand; k++)
                    if (!u || uniq[k] != uniq[u - 1]) uniq[u++] = uniq[k];
                if (w1 > w0 && u > WINDOW_DECODE_FRAMES) break;
                w1++;
                nu = u;
            }
            /* recompute the distinct list of the final group [w0, w1) */
            int cand = 0;
            for (long k = (long)w0 * T; k < (long)w1 * T; k++)
                if (idx[k] >= 0) uniq[cand++] = idx[k];
            qsort(uniq, cand, sizeof *uniq, cmp_long);
            nu = 0;
            for (int k = 0; k < cand; k++)
                if (!nu || uniq[k] != uniq[nu - 1]) uniq[nu++] = uniq[k];
            double t0 = now_ms();
            int h = vh, wd = vw;
            if (nu > 0 && (rc = video_decode_indices(path, uniq, nu, &rgb, &h, &wd))) goto done;
            double share = (now_ms() - t0) / (w1 - w0);
            for (int w = w0; w < w1; w++) res[w].decode_ms += share;
        } else {
            w1 = n_out;
        }
        for (int w = w0; w < w1; w++) {
            avemo_result *r = &res[w];
            double tw = now_ms();
            const float *va = NULL, *vv = NULL;
            if (use_a) {
                double t0 = now_ms();
                long a0 = lround(r->start_s * M->sample_rate_hz), len = lround(window_s * M->sample_rate_hz);
                if (a0 > nx) a0 = nx;
                if (a0 + len > nx) len = nx - a0;
                if ((rc = audio_features(M, x + a0, len, audio))) {
                    avemo_error_prefix(rc, "%s", path);
                    goto done;
                }
                r->features_ms += now_ms() - t0;
                va = audio;
            }
            if (use_v) {
                double t0 = now_ms();
                video_clip clip = {.n = T, .h = vh, .w = vw, .fps = fps, .total_frames = total,
                                   .index = idx + (long)w * T, .rgb = NULL};
                clip.rgb = calloc((size_t)T, (size_t)frame_px);
                if (!clip.rgb) {
                    rc = avemo_error(AVEMO_ENOMEM, "out of memory");
                    goto done;
                }
                for (int k = 0; k < T; k++) {
                    long want = clip.index[k];
                    if (want < 0) continue;
                    long *hit = bsearch(&want, uniq, nu, sizeof *uniq, cmp_long);
                    memcpy(clip.rgb + (size_t)k * frame_px, rgb + (size_t)(hit - uniq) * frame_px, (size_t)frame_px);
                }
                rc = clip_crops(M, &clip, path, crops, &r->frames_without_face);
                free(clip.rgb);
                if (rc) goto done;
                r->faces_ms += now_ms() - t0;
                r->video_frames = T;
                t0 = now_ms();
                if ((rc = video_features(M, crops, video))) {
                    avemo_error_prefix(rc, "%s", path);
                    goto done;
                }
                r->features_ms += now_ms() - t0;
                vv = video;
            }
            if ((rc = run_head(M, vv, va, r))) goto done;
            r->total_ms = r->decode_ms + (now_ms() - tw);
        }
        free(rgb);
        rgb = NULL;
        w0 = w1;
    }
done:
    free(rgb);
    free(crops);
    free(idx);
    free(uniq);
    free(x);
    free(audio);
    free(video);
    (void)t_start;
    return rc;
}
