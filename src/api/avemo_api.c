/* The public inference API (include/avemo.h): a trained model file -> emotion probabilities for media files
 * or in-memory PCM and face crops.
 *
 * Features are computed by the featurizer (data/featurizer.h) that `avemo prep` computed the training features
 * with, opened on the settings prep stored in the model file ("prep" metadata): the same functions in the same
 * order, then put in the model's layout and standardised with the training fold's mean/std as the trainer does
 * (featurizer_model_audio, feature_standardize), then the head in evaluation mode (train/trainer.c's eval).
 *
 * Threads: the weights and the featurizer (MTCNN, MobileNetV2 folded, FRFT plans) are read-only after open.
 * The head's `model` struct holds its activations, so each call borrows an instance from a pool
 * (mutex-protected free list; a new instance is a copy of the loaded parameters, made when all are busy) and
 * returns it after.
 */
#include "avemo.h"

#include "api/api_internal.h"
#include "api/predict_inputs.h"
#include "core/err.h"
#include "data/featurizer.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/speaker_norm.h"
#include "data/weights.h"
#include "io/media_probe.h"
#include "io/video.h"
#include "model/model_file.h"
#include "vision/augment.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW_DECODE_FRAMES 48 /* RGB frames decoded per pass in window mode (720p: 2.8 MB each) */
#define MAX_WINDOWS 100000
#define API_PATH_MAX 4096

/* One instance of the head: a model per ensemble member (the loaded file's, or copies of them). */
typedef struct {
    model *m[MODEL_FILE_MAX_MEMBERS];
} head_set;

struct avemo_model {
    model_file mf;
    model_config cfg;
    int needs;    /* AVEMO_NEEDS_* */
    int tolerant; /* modality dropout: one missing stream is fed as zeros */
    int views;    /* test-time views of the video frames (1: none); video inputs hold [views, T, D] */
    featurizer feat; /* opened on the model's prep settings, for the streams it needs */
    /* head instances */
    pthread_mutex_t lock;
    head_set **pool;
    int n_pool, cap_pool;
    head_set *loaded;  /* the set holding mf's own models (freed with mf) */
    int detect_faces;  /* 1: MTCNN face crops even when the model was trained on whole images (api_internal.h) */
};

/* A speaker's audio statistics (include/avemo.h). */
struct avemo_speaker {
    int n_clips, channels;
    float *mean, *std; /* [channels] */
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* ---- opening ---- */

/* The prep settings must give the shapes the head reads. */
static int check_shapes(const avemo_model *M, const featurizer_settings *s, const char *path) {
    if (M->needs & AVEMO_NEEDS_AUDIO) {
        int C, F;
        featurizer_audio_shape(s, &C, &F);
        if (C != M->cfg.audio_channels || F != M->cfg.audio_frames)
            return avemo_error(AVEMO_EFORMAT, "%s: prep settings give audio features [%d, %d] but the model reads [%d, %d]",
                               path, C, F, M->cfg.audio_channels, M->cfg.audio_frames);
    }
    if ((M->needs & AVEMO_NEEDS_VIDEO) && (s->faces.frames != M->cfg.video_frames || M->cfg.video_dim != MNV2_FEATURES))
        return avemo_error(AVEMO_EFORMAT, "%s: prep settings give %d frames x %d features but the model reads %d x %d",
                           path, s->faces.frames, MNV2_FEATURES, M->cfg.video_frames, M->cfg.video_dim);
    return AVEMO_OK;
}

/* The featurizer of the streams the model reads, on its prep settings and the weights found for them. */
static int open_featurizer(avemo_model *M, const char *path, const avemo_open_options *opt) {
    featurizer_settings s;
    char recorded[API_PATH_MAX], backbone[API_PATH_MAX];
    int rc = featurizer_settings_from_json(M->mf.prep_json, path, &s, recorded, sizeof recorded);
    if (rc) return rc;
    /* a model trained on an image set (whole frames, e.g. FER2013) reads one frame: what a still image gives */
    if ((M->needs & AVEMO_NEEDS_VIDEO) && s.frames_kind == VIDEO_FRAMES_WHOLE && M->cfg.video_frames == 1)
        s.faces.frames = 1;
    if (M->detect_faces) s.frames_kind = VIDEO_FRAMES_FACES;
    if ((M->needs & AVEMO_NEEDS_AUDIO) && !(s.modality & DATASET_NEED_AUDIO))
        return avemo_error(AVEMO_EFORMAT, "%s: the model reads audio but its prep settings have none", path);
    if ((M->needs & AVEMO_NEEDS_VIDEO) && !(s.modality & DATASET_NEED_VIDEO))
        return avemo_error(AVEMO_EFORMAT, "%s: the model reads video but its prep settings have none", path);
    s.modality = (M->needs & AVEMO_NEEDS_AUDIO ? DATASET_NEED_AUDIO : 0) | (M->needs & AVEMO_NEEDS_VIDEO ? DATASET_NEED_VIDEO : 0);
    if ((rc = check_shapes(M, &s, path))) return rc;
    const char *bb = NULL;
    if (M->mf.backbone) { /* fine-tuned with the head: its own backbone at its own input size */
        s.backbone_path = NULL;
        int rc_open = featurizer_open(&M->feat, &s, opt ? opt->mtcnn_manifest : NULL, NULL);
        return rc_open ? rc_open : featurizer_use_backbone(&M->feat, M->mf.backbone, M->mf.input_size);
    }
    if (M->needs & AVEMO_NEEDS_VIDEO) {
        if ((rc = weights_find(WEIGHTS_BACKBONE, opt ? opt->backbone : NULL, s.backbone_path, backbone, sizeof backbone)))
            return avemo_error_prefix(rc, "%s", path);
        bb = backbone;
    }
    return featurizer_open(&M->feat, &s, opt ? opt->mtcnn_manifest : NULL, bb);
}

static void head_set_free(const avemo_model *M, head_set *h) {
    if (!h) return;
    if (h != M->loaded)
        for (int j = 0; j < M->mf.n_members; j++) model_free(h->m[j]);
    free(h);
}

void avemo_model_close(avemo_model *M) {
    if (!M) return;
    for (int i = 0; i < M->n_pool; i++) head_set_free(M, M->pool[i]);
    free(M->pool);
    model_file_free(&M->mf);
    featurizer_close(&M->feat);
    pthread_mutex_destroy(&M->lock);
    free(M);
}

int avemo_model_open(const char *path, avemo_model **out) { return avemo_model_open_ex(path, NULL, out); }

int avemo_model_open_ex(const char *path, const avemo_open_options *opt, avemo_model **out) {
    return api_model_open(path, opt, 0, out);
}

int api_model_open(const char *path, const avemo_open_options *opt, int detect_faces, avemo_model **out) {
    if (!out) return avemo_error(AVEMO_EINVAL, "avemo_model_open: NULL output");
    *out = NULL;
    if (!path) return avemo_error(AVEMO_EINVAL, "avemo_model_open: NULL path");
    avemo_model *M = calloc(1, sizeof *M);
    if (!M) return avemo_error(AVEMO_ENOMEM, "out of memory");
    M->detect_faces = detect_faces;
    pthread_mutex_init(&M->lock, NULL);
    int rc = model_file_load(path, &M->mf);
    if (rc) {
        pthread_mutex_destroy(&M->lock);
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
    M->views = opt && opt->tta > 1 ? opt->tta : 1;
    if (M->views > AUGMENT_TTA_MAX) {
        rc = avemo_error(AVEMO_EINVAL, "test-time views: %d (at most %d)", M->views, AUGMENT_TTA_MAX);
        goto fail;
    }
    if ((rc = open_featurizer(M, path, opt))) goto fail;
    M->cap_pool = 4;
    M->pool = malloc(M->cap_pool * sizeof *M->pool);
    M->loaded = calloc(1, sizeof *M->loaded);
    if (!M->pool || !M->loaded) {
        free(M->loaded);
        M->loaded = NULL;
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto fail;
    }
    memcpy(M->loaded->m, M->mf.members, sizeof M->loaded->m);
    M->pool[M->n_pool++] = M->loaded; /* the loaded instance is the first of the pool */
    *out = M;
    return AVEMO_OK;
fail:
    avemo_model_close(M);
    return rc;
}

int avemo_class_count(const avemo_model *M) { return M ? M->mf.n_classes : 0; }

const char *avemo_class_name(const avemo_model *M, int k) {
    return M && k >= 0 && k < M->mf.n_classes ? M->mf.class_names[k] : NULL;
}

int avemo_model_needs(const avemo_model *M) { return M ? M->needs : 0; }
int avemo_model_members(const avemo_model *M) { return M ? M->mf.n_members : 0; }

float avemo_model_temperature(const avemo_model *M) { return M && M->mf.temperature > 0 ? M->mf.temperature : 1.0f; }
int avemo_model_speaker_norm(const avemo_model *M) { return M ? M->mf.speaker_norm : 0; }
int avemo_model_tolerates_missing(const avemo_model *M) { return M ? M->tolerant : 0; }
const featurizer *predict_featurizer(const avemo_model *M) { return &M->feat; }

void avemo_model_video_shape(const avemo_model *M, int *frames, int *side, int *channels) {
    int v = M && (M->needs & AVEMO_NEEDS_VIDEO);
    const faces_config *fc = v ? &M->feat.settings.faces : NULL;
    if (frames) *frames = v ? fc->frames : 0;
    if (side) *side = v ? fc->size : 0;
    if (channels) *channels = v ? (fc->color_rgb ? 3 : 1) : 0;
}

void avemo_model_audio_shape(const avemo_model *M, int *sample_rate_hz, double *clip_seconds) {
    int a = M && (M->needs & AVEMO_NEEDS_AUDIO);
    if (sample_rate_hz) *sample_rate_hz = a ? M->feat.settings.mfcc.sample_rate_hz : 0;
    if (clip_seconds) *clip_seconds = a ? M->feat.settings.clip_seconds : 0;
}

/* ---- the model's inputs ---- */

/* x [n] at the featurizer's rate -> audio [F, C] standardised (the model's input for one sample): with the
 * speaker's statistics when given, else the model file's. */
static int audio_input(const avemo_model *M, const float *x, long n, const avemo_speaker *speaker, float *audio) {
    int C = M->cfg.audio_channels, F = M->cfg.audio_frames;
    float *feat = malloc((size_t)C * F * sizeof *feat);
    if (!feat) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int rc = featurizer_audio(&M->feat, x, n, feat);
    if (!rc)
        featurizer_model_audio(feat, C, F, speaker ? speaker->mean : M->mf.audio_mean,
                               speaker ? speaker->std : M->mf.audio_std, audio);
    free(feat);
    return rc;
}

/* frames uint8 [T, S, S, ch] -> video [T, 1280] standardised. */
static int video_input(const avemo_model *M, const uint8_t *frames, float *video) {
    const faces_config *fc = &M->feat.settings.faces;
    int rc = AVEMO_OK;
    for (int v = 0; v < M->views && !rc; v++) { /* view 0: the frames as prep embedded them */
        float *out = video + (long)v * fc->frames * M->cfg.video_dim;
        augment_view view;
        augment_tta_view(&view, v);
        rc = v == 0 ? featurizer_embed(&M->feat, frames, fc->frames, fc->size, fc->size, fc->color_rgb ? 3 : 1, 0, out)
                    : featurizer_embed_view(&M->feat, frames, fc->frames, fc->size, fc->size, fc->color_rgb ? 3 : 1,
                                            &view, out);
        if (!rc) feature_standardize(out, fc->frames, M->cfg.video_dim, M->mf.video_mean, M->mf.video_std);
    }
    return rc;
}

static float *alloc_audio(const avemo_model *M) {
    return malloc((size_t)M->cfg.audio_frames * M->cfg.audio_channels * sizeof(float));
}

static float *alloc_video(const avemo_model *M) {
    return malloc((size_t)M->views * M->cfg.video_frames * M->cfg.video_dim * sizeof(float));
}

/* ---- the head ---- */

static int head_acquire(avemo_model *M, head_set **out) {
    pthread_mutex_lock(&M->lock);
    head_set *h = M->n_pool ? M->pool[--M->n_pool] : NULL;
    pthread_mutex_unlock(&M->lock);
    if (!h) { /* all busy: copies of the loaded members' parameters and BN statistics */
        if (!(h = calloc(1, sizeof *h))) return avemo_error(AVEMO_ENOMEM, "out of memory");
        for (int j = 0; j < M->mf.n_members; j++) {
            int rc = model_create_unset(&h->m[j], &M->cfg); /* every value copied below */
            if (rc) {
                head_set_free(M, h);
                return rc;
            }
            const model *src = M->mf.members[j];
            memcpy(h->m[j]->param_mem, src->param_mem, (size_t)src->n_params * sizeof(float));
            if (src->n_buffers) memcpy(h->m[j]->buffer_mem, src->buffer_mem, (size_t)src->n_buffers * sizeof(float));
        }
    }
    *out = h;
    return AVEMO_OK;
}

static void head_release(avemo_model *M, head_set *h) {
    pthread_mutex_lock(&M->lock);
    if (M->n_pool == M->cap_pool) {
        head_set **p = realloc(M->pool, 2 * M->cap_pool * sizeof *p);
        if (p) {
            M->pool = p;
            M->cap_pool *= 2;
        }
    }
    if (M->n_pool < M->cap_pool) M->pool[M->n_pool++] = h;
    else head_set_free(M, h); /* cannot grow the list: drop the copy */
    pthread_mutex_unlock(&M->lock);
}

static void result_init(const avemo_model *M, avemo_result *r) {
    memset(r, 0, sizeof *r);
    r->n_classes = M->mf.n_classes;
}

/* The members' mean softmax for one input (one view), times `scale`, added into probs (a single model: its own). */
static int head_forward(const avemo_model *M, head_set *h, const float *video, const float *audio, float scale,
                        float *probs) {
    int nc = M->mf.n_classes, n = M->mf.n_members;
    for (int j = 0; j < n; j++) {
        int rc = model_forward(h->m[j], video, audio, NULL, 1, 0, NULL);
        if (rc) return rc;
        float w = n == 1 ? scale : scale / (float)n;
        for (int k = 0; k < nc; k++) probs[k] += w * h->m[j]->acts.probs[k];
    }
    return AVEMO_OK;
}

/* video [views, T, D] or NULL, audio [F, C] or NULL (standardised) -> r->probs: the ensemble's mean softmax
 * (head_forward) averaged over the test-time views. A NULL stream the model reads is fed as zeros (only reached
 * when the model tolerates it; one view). */
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
    head_set *h = NULL;
    if (!(rc = head_acquire(M, &h))) {
        int nc = M->mf.n_classes, views = video && !zv ? M->views : 1;
        long view_size = (long)M->cfg.video_frames * M->cfg.video_dim;
        memset(r->probs, 0, (size_t)nc * sizeof(float));
        for (int v = 0; v < views && !rc; v++)
            rc = head_forward(M, h, video ? video + v * view_size : NULL, audio, 1.0f / (float)views, r->probs);
        model_temper_probs(r->probs, nc, M->mf.temperature); /* calibration (1: none) */
        r->top_class = 0;
        for (int k = 1; k < nc; k++)
            if (r->probs[k] > r->probs[r->top_class]) r->top_class = k;
        head_release(M, h);
    }
    for (int k = 0; !rc && k < M->mf.n_classes; k++) /* inputs and weights are finite; huge weights can still overflow */
        if (!isfinite(r->probs[k]))
            rc = avemo_error(AVEMO_EFORMAT, "the model gives a non-finite probability (%g) for '%s' (its weights are "
                             "out of range)", r->probs[k], M->mf.class_names[k]);
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
    const faces_config *fc = &M->feat.settings.faces;
    if (use_a && (sample_rate_hz < AUDIO_MIN_RATE_HZ || sample_rate_hz > AUDIO_MAX_RATE_HZ))
        return avemo_error(AVEMO_EINVAL, "avemo_predict_pcm: sample rate %d Hz is outside %d..%d Hz", sample_rate_hz,
                           AUDIO_MIN_RATE_HZ, AUDIO_MAX_RATE_HZ);
    for (long i = 0; use_a && i < n; i++)
        if (!isfinite(samples[i]))
            return avemo_error(AVEMO_EINVAL, "avemo_predict_pcm: sample %ld is %g", i, samples[i]);
    if (use_v && (T != fc->frames || H != fc->size || W != fc->size))
        return avemo_error(AVEMO_EINVAL, "avemo_predict_pcm: frames are [%d, %d, %d]; the model reads [%d, %d, %d]", T, H,
                           W, fc->frames, fc->size, fc->size);
    float *audio = NULL, *video = NULL, *x = NULL;
    if (use_a) {
        double t0 = now_ms();
        long nx;
        if ((rc = featurizer_resample(&M->feat, samples, n, sample_rate_hz, &x, &nx))) goto done;
        r->decode_ms += now_ms() - t0;
        t0 = now_ms();
        if (!(audio = alloc_audio(M))) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        if (rc || (rc = audio_input(M, x, nx, NULL, audio))) goto done;
        r->features_ms += now_ms() - t0;
    }
    if (use_v) {
        double t0 = now_ms();
        if (!(video = alloc_video(M))) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        if (rc || (rc = video_input(M, frames, video))) goto done;
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

/* The audio input of a whole file into audio [F, C]: its centre clip (only that decoded from a long file). */
static int file_audio_input(const avemo_model *M, const char *path, avemo_result *r, float *audio) {
    double t0 = now_ms();
    long N = M->feat.clip_samples, n_total;
    float *clip = malloc((size_t)N * sizeof *clip);
    if (!clip) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int rc = featurizer_audio_clip(&M->feat, path, clip, &n_total);
    if (!rc) {
        r->decode_ms += now_ms() - t0;
        t0 = now_ms();
        if ((rc = audio_input(M, clip, N, NULL, audio))) avemo_error_prefix(rc, "%s", path);
    }
    free(clip);
    if (rc) return rc;
    r->features_ms += now_ms() - t0;
    r->end_s = (double)n_total / M->feat.settings.mfcc.sample_rate_hz;
    return AVEMO_OK;
}

/* The face crops of a whole file: *frames [T, S, S(, ch)] malloc'd (the settings' sampled frames, decoded and
 * cropped), the result's frame counts and length set. */
static int file_video_frames(const avemo_model *M, const char *path, avemo_result *r, uint8_t **frames) {
    const featurizer *f = &M->feat;
    double t0 = now_ms();
    video_clip clip;
    *frames = NULL;
    int rc = featurizer_read_frames(f, path, &clip);
    if (rc) return rc;
    if (clip.n != f->settings.faces.frames) {
        rc = avemo_error(AVEMO_EINVAL, "%s: %d frame%s; the model reads %d", path, clip.n, clip.n == 1 ? "" : "s",
                         f->settings.faces.frames);
        goto done;
    }
    r->decode_ms += now_ms() - t0;
    t0 = now_ms();
    if (!(*frames = malloc((size_t)clip.n * featurizer_frame_bytes(&f->settings)))) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = featurizer_frames(f, &clip, *frames, NULL, &r->frames_without_face))) {
        avemo_error_prefix(rc, "%s", path);
        goto done;
    }
    r->faces_ms += now_ms() - t0;
    r->video_frames = clip.n;
    if (clip.fps > 0) r->end_s = clip.total_frames / clip.fps;
done:
    if (rc) {
        free(*frames);
        *frames = NULL;
    }
    video_clip_free(&clip);
    return rc;
}

/* The embeddings of the crops into video [T, D]; frees frames. */
static int file_video_embed(const avemo_model *M, const char *path, avemo_result *r, uint8_t *frames, float *video) {
    double t0 = now_ms();
    int rc = video_input(M, frames, video);
    if (rc) avemo_error_prefix(rc, "%s", path);
    else r->features_ms += now_ms() - t0;
    free(frames);
    return rc;
}

/* The video input of a whole file into video [T, D]: the settings' sampled frames, their crops, embeddings. */
static int file_video_input(const avemo_model *M, const char *path, avemo_result *r, float *video) {
    uint8_t *frames;
    int rc = file_video_frames(M, path, r, &frames);
    return rc ? rc : file_video_embed(M, path, r, frames, video);
}

/* The video's decode on one thread; the audio, then the face followed in the frames already decoded, on the
 * other (data/featurizer.h's overlap: frame k's face while k + 1.. decode). *frames [T, S, S(, ch)] malloc'd and
 * r's video fields as file_video_frames sets them; the audio into audio [F, C] with its times in ra. */
static int file_inputs_overlapped(const avemo_model *M, const char *path, avemo_result *r, avemo_result *ra,
                                  float *audio, uint8_t **frames) {
    const featurizer *f = &M->feat;
    int T = f->settings.faces.frames, rc_a = AVEMO_OK;
    char msg_a[1024] = "";
    featurizer_overlap o;
    *frames = malloc((size_t)T * featurizer_frame_bytes(&f->settings));
    face_frame *info = malloc(sizeof *info * T);
    int rc = *frames && info ? featurizer_overlap_init(&o, f, path, *frames, info)
                             : avemo_error(AVEMO_ENOMEM, "out of memory");
    if (rc) goto done;
#pragma omp parallel num_threads(2)
    {
        if (omp_get_thread_num() == 0) featurizer_overlap_decode(&o);
        if (omp_get_thread_num() == 1 || omp_get_num_threads() == 1) {
            if ((rc_a = file_audio_input(M, path, ra, audio))) snprintf(msg_a, sizeof msg_a, "%s", avemo_last_error());
            else featurizer_overlap_faces(&o);
        }
    }
    rc = rc_a ? avemo_error(rc_a, "%s", msg_a) : featurizer_overlap_end(&o);
    if (!rc) {
        r->decode_ms += o.decode_ms;
        r->faces_ms += o.faces_ms;
        r->frames_without_face = o.n_noface;
        r->video_frames = T;
        if (o.clip.fps > 0) r->end_s = o.clip.total_frames / o.clip.fps;
    }
    featurizer_overlap_free(&o);
done:
    free(info);
    if (rc) {
        free(*frames);
        *frames = NULL;
    }
    return rc;
}

/* The audio and the video of one file side by side on 2 threads (ours, issue 15): the audio's decode, resampling
 * and MFCC beside the video's decode and face search (mostly sequential: following the face from frame to frame),
 * and when the face is followed, the decode beside the audio and then the follower (file_inputs_overlapped);
 * the embeddings after, on all threads (as alone: MobileNetV2's sums depend on its thread count, and predict
 * must give prep's inputs bit for bit). Stage times are each thread's own, so on 2 threads they may add up to
 * more than the wall time. Errors come back on the caller's thread. */
static int file_inputs_side_by_side(const avemo_model *M, const char *path, avemo_result *r, float *audio,
                                    float *video) {
    avemo_result ra = *r, rv = *r;
    ra.decode_ms = ra.features_ms = 0;
    uint8_t *frames = NULL;
    int rc_a = AVEMO_OK, rc_v = AVEMO_OK;
    char msg_a[1024] = "", msg_v[1024] = "";
    if (featurizer_overlap_usable(&M->feat, path)) {
        if ((rc_v = file_inputs_overlapped(M, path, &rv, &ra, audio, &frames))) return rc_v;
    } else {
#pragma omp parallel sections num_threads(2)
        {
#pragma omp section
            if ((rc_a = file_audio_input(M, path, &ra, audio))) snprintf(msg_a, sizeof msg_a, "%s", avemo_last_error());
#pragma omp section
            if ((rc_v = file_video_frames(M, path, &rv, &frames))) snprintf(msg_v, sizeof msg_v, "%s", avemo_last_error());
        }
    }
    if (rc_a || rc_v) {
        free(frames);
        return rc_a ? avemo_error(rc_a, "%s", msg_a) : avemo_error(rc_v, "%s", msg_v);
    }
    double end_s = r->end_s;
    *r = rv;
    r->decode_ms += ra.decode_ms;
    r->features_ms += ra.features_ms;
    r->end_s = rv.end_s != end_s ? rv.end_s : ra.end_s; /* the video's length, as the sequential order leaves it */
    return file_video_embed(M, path, r, frames, video);
}

int predict_file_inputs(avemo_model *M, const char *path, avemo_result *r, float **audio, float **video) {
    *audio = *video = NULL;
    double t0 = now_ms();
    result_init(M, r);
    media_info mi;
    int use_a, use_v, rc = media_probe(path, &mi);
    if (rc) return rc;
    if ((rc = choose_streams(M, path, mi.has_audio, mi.has_video, &use_a, &use_v))) return rc;
    r->decode_ms += now_ms() - t0;
    if ((use_a && !(*audio = alloc_audio(M))) || (use_v && !(*video = alloc_video(M))))
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!rc && use_a && use_v && omp_get_max_threads() > 1 && !omp_in_parallel()) {
        rc = file_inputs_side_by_side(M, path, r, *audio, *video);
    } else {
        if (!rc && use_a) rc = file_audio_input(M, path, r, *audio);
        if (!rc && use_v) rc = file_video_input(M, path, r, *video);
    }
    if (rc) {
        free(*audio);
        free(*video);
        *audio = *video = NULL;
        return rc;
    }
    r->used_audio = use_a;
    r->used_video = use_v;
    return AVEMO_OK;
}

int avemo_predict_file(avemo_model *M, const char *path, avemo_result *r) {
    if (!M || !path || !r) return avemo_error(AVEMO_EINVAL, "avemo_predict_file: NULL argument");
    double t_start = now_ms();
    float *audio, *video;
    int rc = predict_file_inputs(M, path, r, &audio, &video);
    if (!rc && (rc = run_head(M, video, audio, r))) avemo_error_prefix(rc, "%s", path);
    free(audio);
    free(video);
    r->total_ms = now_ms() - t_start;
    return rc;
}

/* ---- windows ---- */

/* What the windows of one file share: the audio source, the video stream's geometry, each window's frames. */
typedef struct {
    const char *path;
    double window_s, hop_s;
    int use_a, use_v;
    audio_source *src; /* the audio, read one window at a time */
    long nx;           /* its length at the featurizer's rate */
    float *x;          /* [clip samples] one window's audio, fitted to the clip */
    long total;        /* frames in the video stream */
    double fps;
    int h, w;          /* frame size */
    int n_windows;     /* all windows of the file */
    int n_out;         /* of those, computed */
    long *idx;         /* [n_out, T]: source frame of each window's slots (-1: none) */
    uint8_t *crops;    /* [T, S, S(, 3)] one window's frames */
    float *audio;      /* [F, C] one window's audio input */
    float *video;      /* [T, D] one window's video input */
} window_plan;

static void window_plan_free(window_plan *p) {
    audio_source_close(p->src);
    free(p->x);
    free(p->idx);
    free(p->crops);
    free(p->audio);
    free(p->video);
}

/* Frame indices of the window [s, s + w): its frames_per_clip slots sampled over the part of the window
 * inside the clip (video_sample_span), as a whole clip shorter than the clip window is sampled over itself. */
static void window_indices(long *idx, int frames, double s, double w, long total, double fps) {
    double duration = total / fps, span = s + w <= duration + 1e-9 ? w : duration - s;
    video_sample_span(idx, frames, s, span, total, fps);
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* The distinct source frames of windows [w0, w1), ascending, into uniq; returns how many. */
static int distinct_frames(const window_plan *p, int T, int w0, int w1, long *uniq) {
    int cand = 0, u = 0;
    for (long k = (long)w0 * T; k < (long)w1 * T; k++)
        if (p->idx[k] >= 0) uniq[cand++] = p->idx[k];
    qsort(uniq, cand, sizeof *uniq, cmp_long);
    for (int k = 0; k < cand; k++)
        if (!u || uniq[k] != uniq[u - 1]) uniq[u++] = uniq[k];
    return u;
}

/* The file's audio opened for window reads, its length, a window's buffer. */
static int window_audio_open(const avemo_model *M, window_plan *p) {
    int rc = featurizer_open_audio(&M->feat, p->path, &p->src);
    if (rc) return rc;
    audio_source_info info;
    audio_source_get_info(p->src, &info);
    p->nx = info.n;
    if (!(p->x = malloc((size_t)M->feat.clip_samples * sizeof *p->x))) return avemo_error(AVEMO_ENOMEM, "out of memory");
    return AVEMO_OK;
}

/* Probe the file, open its audio, count the windows and sample each computed window's frames. */
static int window_plan_make(const avemo_model *M, window_plan *p, int max_results, double *decode_ms) {
    double t0 = now_ms();
    media_info mi;
    int rc = media_probe(p->path, &mi);
    if (rc) return rc;
    if ((rc = choose_streams(M, p->path, mi.has_audio, mi.has_video, &p->use_a, &p->use_v))) return rc;
    if (p->use_v && mi.is_image) return avemo_error(AVEMO_EINVAL, "%s: a still image has no time axis for windows", p->path);
    if (p->use_v && (rc = video_probe(p->path, &p->total, &p->fps, &p->h, &p->w))) return rc;
    if (p->use_a && (rc = window_audio_open(M, p))) return rc;
    *decode_ms = now_ms() - t0;
    double duration = p->use_v ? p->total / p->fps : (double)p->nx / M->feat.settings.mfcc.sample_rate_hz;
    double nw = duration < p->window_s ? 1 : floor((duration - p->window_s) / p->hop_s + 1e-9) + 1;
    if (nw > MAX_WINDOWS) return avemo_error(AVEMO_EINVAL, "%s: %.0f windows (at most %d)", p->path, nw, MAX_WINDOWS);
    p->n_windows = (int)nw;
    p->n_out = p->n_windows < max_results ? p->n_windows : max_results;
    if (p->n_out <= 0) return AVEMO_OK;
    const featurizer_settings *s = &M->feat.settings;
    int T = s->faces.frames;
    if (p->use_a && !(p->audio = alloc_audio(M))) return avemo_error(AVEMO_ENOMEM, "out of memory");
    if (p->use_v && (!(p->video = alloc_video(M)) || !(p->idx = malloc((size_t)p->n_out * T * sizeof *p->idx)) ||
                     !(p->crops = malloc((size_t)T * featurizer_frame_bytes(s)))))
        return avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int w = 0; p->use_v && w < p->n_out; w++)
        window_indices(p->idx + (long)w * T, T, w * p->hop_s, p->window_s, p->total, p->fps);
    return AVEMO_OK;
}

/* Window w's audio input: samples [a0, a0 + len) of the whole audio (clipped to it) fitted to the clip as
 * featurizer_audio fits them, so only the clip's samples are decoded, whatever the window's length. */
static int window_audio(const avemo_model *M, window_plan *p, avemo_result *r) {
    double t0 = now_ms();
    int rate = M->feat.settings.mfcc.sample_rate_hz;
    long a0 = lround(r->start_s * rate), len = lround(p->window_s * rate), N = M->feat.clip_samples;
    if (a0 > p->nx) a0 = p->nx;
    if (a0 + len > p->nx) len = p->nx - a0;
    long from = len >= N ? a0 + (len - N) / 2 : a0, n = len >= N ? N : len; /* audio_fix_length's crop */
    int rc = audio_source_read(p->src, from, n, p->x);
    r->decode_ms += now_ms() - t0;
    t0 = now_ms();
    if (!rc) rc = audio_input(M, p->x, n, NULL, p->audio);
    if (rc) return avemo_error_prefix(rc, "%s", p->path);
    r->features_ms += now_ms() - t0;
    return AVEMO_OK;
}

/* Window w's video input from the decoded frames rgb [nu, h, w, 3] of the source frames uniq [nu]. */
static int window_video(const avemo_model *M, window_plan *p, int w, const uint8_t *rgb, const long *uniq, int nu,
                        avemo_result *r) {
    int T = M->feat.settings.faces.frames;
    long frame_px = (long)p->h * p->w * 3;
    double t0 = now_ms();
    video_clip clip = {.n = T, .h = p->h, .w = p->w, .fps = p->fps, .total_frames = p->total,
                       .index = p->idx + (long)w * T, .rgb = calloc((size_t)T, (size_t)frame_px)};
    if (!clip.rgb) return avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int k = 0; k < T; k++) {
        long want = clip.index[k];
        if (want < 0) continue;
        const long *hit = bsearch(&want, uniq, nu, sizeof *uniq, cmp_long);
        memcpy(clip.rgb + (size_t)k * frame_px, rgb + (size_t)(hit - uniq) * frame_px, (size_t)frame_px);
    }
    int rc = featurizer_frames(&M->feat, &clip, p->crops, NULL, &r->frames_without_face);
    free(clip.rgb);
    if (rc) return avemo_error_prefix(rc, "%s", p->path);
    r->faces_ms += now_ms() - t0;
    r->video_frames = T;
    t0 = now_ms();
    if ((rc = video_input(M, p->crops, p->video))) return avemo_error_prefix(rc, "%s", p->path);
    r->features_ms += now_ms() - t0;
    return AVEMO_OK;
}

/* The windows [w0, *w1) whose distinct frames fit one decoding pass (at least one window): their source frames
 * uniq [*nu], ascending, decoded into *rgb [*nu, h, w, 3]. */
static int window_group_decode(const avemo_model *M, const window_plan *p, int w0, int *w1, long *uniq, int *nu,
                               uint8_t **rgb, avemo_result *res) {
    int T = M->feat.settings.faces.frames, end = w0 + 1;
    while (end < p->n_out && distinct_frames(p, T, w0, end + 1, uniq) <= WINDOW_DECODE_FRAMES) end++;
    *w1 = end;
    *nu = distinct_frames(p, T, w0, end, uniq);
    double t0 = now_ms();
    int h = p->h, w = p->w;
    int rc = *nu > 0 ? video_decode_indices(p->path, uniq, *nu, 0, rgb, &h, &w) : AVEMO_OK;
    double share = (now_ms() - t0) / (end - w0);
    for (int k = w0; k < end; k++) res[k].decode_ms += share;
    return rc;
}

/* Windows [w0, w1): inputs and head, one result each. */
static int window_results(avemo_model *M, window_plan *p, int w0, int w1, const uint8_t *rgb, const long *uniq, int nu,
                          avemo_result *res) {
    for (int w = w0; w < w1; w++) {
        avemo_result *r = &res[w];
        double tw = now_ms();
        int rc = p->use_a ? window_audio(M, p, r) : AVEMO_OK;
        if (!rc && p->use_v) rc = window_video(M, p, w, rgb, uniq, nu, r);
        if (!rc && (rc = run_head(M, p->use_v ? p->video : NULL, p->use_a ? p->audio : NULL, r)))
            avemo_error_prefix(rc, "%s", p->path);
        if (rc) return rc;
        r->total_ms = r->decode_ms + (now_ms() - tw);
    }
    return AVEMO_OK;
}

int avemo_predict_file_windows(avemo_model *M, const char *path, double window_s, double hop_s, avemo_result *res,
                               int max_results, int *n_results) {
    if (!M || !path || !n_results || (max_results > 0 && !res))
        return avemo_error(AVEMO_EINVAL, "avemo_predict_file_windows: NULL argument");
    *n_results = 0;
    if (!(window_s > 0 && window_s < 1e6) || !(hop_s > 0 && hop_s < 1e6))
        return avemo_error(AVEMO_EINVAL, "window and hop must be positive seconds (got %g, %g)", window_s, hop_s);
    window_plan p = {.path = path, .window_s = window_s, .hop_s = hop_s};
    double decode_ms = 0;
    long *uniq = NULL;
    int rc = window_plan_make(M, &p, max_results, &decode_ms);
    if (!rc) *n_results = p.n_windows;
    if (rc || p.n_out <= 0) goto done;
    int T = M->feat.settings.faces.frames;
    if (p.use_v && !(uniq = malloc((size_t)p.n_out * T * sizeof *uniq))) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    for (int w = 0; w < p.n_out; w++) {
        result_init(M, &res[w]);
        res[w].start_s = w * hop_s;
        res[w].end_s = w * hop_s + window_s;
        res[w].used_audio = p.use_a;
        res[w].used_video = p.use_v;
        res[w].decode_ms = p.use_a ? decode_ms / p.n_out : 0;
    }
    for (int w0 = 0, w1; w0 < p.n_out && !rc; w0 = w1) { /* groups whose distinct frames fit one decoding pass */
        uint8_t *rgb = NULL;
        int nu = 0;
        w1 = p.n_out;
        if (p.use_v) rc = window_group_decode(M, &p, w0, &w1, uniq, &nu, &rgb, res);
        if (!rc) rc = window_results(M, &p, w0, w1, rgb, uniq, nu, res);
        free(rgb);
    }
done:
    free(uniq);
    window_plan_free(&p);
    return rc;
}

/* ---- per-speaker statistics and test-time crops ---- */

int avemo_speaker_of_file(const char *path, int *id) { return path && id ? dataset_speaker_of_name(path, id) : 0; }

int avemo_speaker_clips(const avemo_speaker *s) { return s ? s->n_clips : 0; }

void avemo_speaker_free(avemo_speaker *s) {
    if (!s) return;
    free(s->mean);
    free(s->std);
    free(s);
}

/* The audio features [F, C] (not standardised) of the files that decode into feats, one after the other:
 * *n_used of them. A file that fails is skipped; an error (the last failure's) only when none decodes. */
static int speaker_features(avemo_model *M, const char *const *paths, int n, float *feats, int *n_used) {
    int C = M->cfg.audio_channels, F = M->cfg.audio_frames, rc = AVEMO_OK;
    float *one = malloc((size_t)C * F * sizeof *one);
    if (!one) return avemo_error(AVEMO_ENOMEM, "out of memory");
    *n_used = 0;
    for (int i = 0; i < n; i++) {
        if (!paths[i]) rc = avemo_error(AVEMO_EINVAL, "avemo_speaker_from_files: NULL path %d", i);
        else if (!(rc = featurizer_audio_file(&M->feat, paths[i], one)))
            featurizer_audio_channels_last(one, C, F, feats + (long)(*n_used)++ * F * C);
        if (rc == AVEMO_ENOMEM) break;
    }
    free(one);
    return *n_used > 0 ? AVEMO_OK : rc;
}

int avemo_speaker_from_files(avemo_model *M, const char *const *paths, int n, avemo_speaker **out) {
    if (!out) return avemo_error(AVEMO_EINVAL, "avemo_speaker_from_files: NULL output");
    *out = NULL;
    if (!M || !paths || n < 1) return avemo_error(AVEMO_EINVAL, "avemo_speaker_from_files: no model or no files");
    if (!(M->needs & AVEMO_NEEDS_AUDIO)) return avemo_error(AVEMO_EINVAL, "the model reads no audio");
    int C = M->cfg.audio_channels, F = M->cfg.audio_frames, used = 0;
    avemo_speaker *s = calloc(1, sizeof *s);
    float *feats = malloc((size_t)n * F * C * sizeof *feats);
    int *rows = malloc((size_t)n * sizeof *rows), rc = AVEMO_OK;
    if (s) s->mean = malloc((size_t)C * sizeof(float)), s->std = malloc((size_t)C * sizeof(float));
    if (!s || !feats || !rows || !s->mean || !s->std) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!rc) rc = speaker_features(M, paths, n, feats, &used);
    if (!rc) {
        for (int i = 0; i < used; i++) rows[i] = i;
        speaker_stats(feats, rows, used, F, C, s->mean, s->std);
        s->n_clips = used;
        s->channels = C;
        *out = s;
    } else {
        avemo_speaker_free(s);
    }
    free(feats);
    free(rows);
    return rc;
}

/* The mean softmax over `crops` clip-length windows spread evenly over x [nx] (one window, the centre fit,
 * when x is no longer than a clip), each standardised with the speaker's statistics or the model's. */
static int predict_crops(avemo_model *M, const float *x, long nx, const float *video, const avemo_predict_options *o,
                         avemo_result *r) {
    long N = M->feat.clip_samples;
    int K = nx > N && o->crops > 1 ? o->crops : 1, nc = M->mf.n_classes, rc = AVEMO_OK;
    float *audio = alloc_audio(M), sum[AVEMO_MAX_CLASSES] = {0};
    if (!audio) return avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int i = 0; i < K && !rc; i++) {
        long start = K > 1 ? (long)((double)i * (nx - N) / (K - 1) + 0.5) : 0, len = K > 1 ? N : nx;
        double t0 = now_ms();
        if ((rc = audio_input(M, x + start, len, o->speaker, audio))) break;
        r->features_ms += now_ms() - t0;
        if ((rc = run_head(M, video, audio, r))) break;
        for (int k = 0; k < nc; k++) sum[k] += r->probs[k] / K;
    }
    free(audio);
    if (rc) return rc;
    memcpy(r->probs, sum, (size_t)nc * sizeof *sum);
    r->top_class = 0;
    for (int k = 1; k < nc; k++)
        if (r->probs[k] > r->probs[r->top_class]) r->top_class = k;
    return AVEMO_OK;
}

int avemo_predict_file_ex(avemo_model *M, const char *path, const avemo_predict_options *o, avemo_result *r) {
    if (!o || (!o->speaker && o->crops <= 1)) return avemo_predict_file(M, path, r);
    if (!M || !path || !r) return avemo_error(AVEMO_EINVAL, "avemo_predict_file_ex: NULL argument");
    if (o->speaker && !M->mf.speaker_norm)
        return avemo_error(AVEMO_EINVAL, "the model was trained without --speaker-norm: speaker statistics do not apply");
    if (o->speaker && o->speaker->channels != M->cfg.audio_channels)
        return avemo_error(AVEMO_EINVAL, "speaker statistics of %d channels for a model of %d", o->speaker->channels,
                           M->cfg.audio_channels);
    double t_start = now_ms();
    float *audio = NULL, *video = NULL, *x = NULL;
    long nx = 0;
    /* the file's inputs as avemo_predict_file makes them; the audio is then redone per crop (decoded twice: simple,
     * and small beside the features of several crops) */
    int rc = predict_file_inputs(M, path, r, &audio, &video);
    if (!rc && r->used_audio) {
        double t0 = now_ms();
        if (!(rc = featurizer_load_audio(&M->feat, path, &x, &nx))) r->decode_ms += now_ms() - t0;
    }
    if (!rc && (rc = r->used_audio ? predict_crops(M, x, nx, video, o, r) : run_head(M, video, NULL, r)))
        avemo_error_prefix(rc, "%s", path);
    free(x);
    free(audio);
    free(video);
    r->total_ms = now_ms() - t_start;
    return rc;
}
