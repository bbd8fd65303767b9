/* The bundled models (include/avemo.h, "The bundled models"): the face model of models/face.safetensors and the
 * voice model of models/voice.safetensors, each fed the stream a file has, mapped to one class set and fused
 * late (weighted mean of the probabilities).
 *
 * The face model was trained on whole FER2013 images (48 x 48 gray faces): a face crop is classified as it is
 * (a model opened on its own settings), anything else through MTCNN face crops (the same model opened with
 * detection, api_model_open; loaded on the first such input, under the lock, so that scoring a folder of crops
 * needs no MTCNN weights).
 */
#include "avemo.h"

#include "api/api_internal.h"
#include "core/err.h"
#include "data/weights.h"
#include "io/image.h"
#include "io/media_probe.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUNDLE_PATH_MAX 4096
#define CROP_MAX_SIDE 64       /* AVEMO_CROP_AUTO: an image no larger is a crop */
#define CROP_MAX_GRAY_SIDE 256 /* ... and a gray square one up to this side */

enum { STREAM_FACE = 0, STREAM_VOICE = 1 };

/* The common classes, RAVDESS's names in RAVDESS's order without calm (added to neutral). */
static const char *const common_class[AVEMO_BUNDLE_CLASSES] = {"neutral", "happy",   "sad",      "angry",
                                                                "fearful", "disgust", "surprised"};

/* A model's class name -> its common class (-1: none). FER2013's names and RAVDESS's. */
static const struct {
    const char *name;
    int common;
} class_map[] = {{"neutral", 0}, {"calm", 0},     {"happy", 1},   {"sad", 2},      {"angry", 3},    {"fearful", 4},
                 {"fear", 4},    {"disgust", 5},  {"surprised", 6}, {"surprise", 6}};

struct avemo_bundle {
    char path[2][BUNDLE_PATH_MAX];
    avemo_model *face_whole;  /* the face model on whole images: crops */
    avemo_model *face_detect; /* the face model on MTCNN crops; NULL until needed */
    avemo_model *voice;
    char *mtcnn;                   /* the options' manifest (copy) or NULL */
    int face_views;                /* test-time views of each face */
    pthread_mutex_t lock;          /* opening face_detect */
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

const char *avemo_bundle_class_name(int k) { return k >= 0 && k < AVEMO_BUNDLE_CLASSES ? common_class[k] : NULL; }

const avemo_model *avemo_bundle_model(const avemo_bundle *b, int stream) {
    if (!b) return NULL;
    return stream == STREAM_FACE ? b->face_whole : stream == STREAM_VOICE ? b->voice : NULL;
}

const char *avemo_bundle_model_path(const avemo_bundle *b, int stream) {
    return b && (stream == STREAM_FACE || stream == STREAM_VOICE) ? b->path[stream] : NULL;
}

void avemo_bundle_close(avemo_bundle *b) {
    if (!b) return;
    avemo_model_close(b->face_whole);
    avemo_model_close(b->face_detect);
    avemo_model_close(b->voice);
    free(b->mtcnn);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

int avemo_bundle_class_of(const char *model_class) {
    for (size_t j = 0; model_class && j < sizeof class_map / sizeof class_map[0]; j++)
        if (!strcmp(class_map[j].name, model_class)) return class_map[j].common;
    return -1;
}

/* The top of p[AVEMO_BUNDLE_CLASSES] (the first of equals). */
static int common_top(const float *p) {
    int top = 0;
    for (int k = 1; k < AVEMO_BUNDLE_CLASSES; k++)
        if (p[k] > p[top]) top = k;
    return top;
}

int avemo_bundle_fuse(const float *face, const float *voice, float *fused) {
    float wf = face ? (voice ? AVEMO_BUNDLE_FACE_WEIGHT : 1.0f) : 0.0f, wv = voice ? 1.0f - wf : 0.0f;
    for (int k = 0; k < AVEMO_BUNDLE_CLASSES; k++) fused[k] = (face ? wf * face[k] : 0.0f) + (voice ? wv * voice[k] : 0.0f);
    return common_top(fused);
}

int avemo_bundle_to_common(const avemo_model *m, const float *probs, float *common) {
    if (!m || !probs || !common) {
        avemo_error(AVEMO_EINVAL, "avemo_bundle_to_common: NULL argument");
        return -1;
    }
    memset(common, 0, AVEMO_BUNDLE_CLASSES * sizeof *common);
    for (int k = 0; k < avemo_class_count(m); k++) {
        int c = avemo_bundle_class_of(avemo_class_name(m, k));
        if (c < 0) {
            avemo_error(AVEMO_EFORMAT, "class '%s' has no place among the bundled classes", avemo_class_name(m, k));
            return -1;
        }
        common[c] += probs[k];
    }
    return common_top(common);
}

/* A stream's model checked: an error naming the file when a class has no common class or the model reads the
 * wrong stream. */
static int check_classes(const avemo_bundle *b, int stream, const avemo_model *m) {
    int want = stream == STREAM_FACE ? AVEMO_NEEDS_VIDEO : AVEMO_NEEDS_AUDIO;
    if (avemo_model_needs(m) != want)
        return avemo_error(AVEMO_EFORMAT, "%s: the bundled %s model must read %s alone", b->path[stream],
                           stream == STREAM_FACE ? "face" : "voice", stream == STREAM_FACE ? "video" : "audio");
    float none[AVEMO_MAX_CLASSES] = {0}, common[AVEMO_BUNDLE_CLASSES];
    if (avemo_bundle_to_common(m, none, common) < 0) return avemo_error_prefix(AVEMO_EFORMAT, "%s", b->path[stream]);
    return AVEMO_OK;
}

int avemo_bundle_open(const avemo_bundle_options *opt, avemo_bundle **out) {
    if (!out) return avemo_error(AVEMO_EINVAL, "avemo_bundle_open: NULL output");
    *out = NULL;
    avemo_bundle *b = calloc(1, sizeof *b);
    if (!b) return avemo_error(AVEMO_ENOMEM, "out of memory");
    pthread_mutex_init(&b->lock, NULL);
    int rc = weights_find(WEIGHTS_FACE_MODEL, opt ? opt->face_model : NULL, NULL, b->path[0], sizeof b->path[0]);
    if (!rc) rc = weights_find(WEIGHTS_VOICE_MODEL, opt ? opt->voice_model : NULL, NULL, b->path[1], sizeof b->path[1]);
    if (!rc && opt && opt->mtcnn_manifest && !(b->mtcnn = strdup(opt->mtcnn_manifest)))
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    b->face_views = opt && opt->face_views > 0 ? opt->face_views : AVEMO_BUNDLE_FACE_VIEWS;
    avemo_open_options face_options = {.tta = b->face_views};
    if (!rc) rc = api_model_open(b->path[STREAM_FACE], &face_options, 0, &b->face_whole);
    if (!rc) rc = check_classes(b, STREAM_FACE, b->face_whole);
    if (!rc) rc = avemo_model_open(b->path[STREAM_VOICE], &b->voice);
    if (!rc) rc = check_classes(b, STREAM_VOICE, b->voice);
    if (rc) {
        avemo_bundle_close(b);
        return rc;
    }
    *out = b;
    return AVEMO_OK;
}

/* The face model on MTCNN crops, opened on first use. */
static int face_detect_model(avemo_bundle *b, avemo_model **out) {
    pthread_mutex_lock(&b->lock);
    int rc = AVEMO_OK;
    if (!b->face_detect) {
        avemo_open_options o = {.mtcnn_manifest = b->mtcnn, .tta = b->face_views};
        rc = api_model_open(b->path[STREAM_FACE], &o, 1, &b->face_detect);
    }
    *out = b->face_detect;
    pthread_mutex_unlock(&b->lock);
    return rc;
}

/* 1 when the image at path is a face crop by AVEMO_CROP_AUTO's rule; 0 otherwise or when unreadable (the
 * prediction then reports why). */
static int looks_like_crop(const char *path) {
    image_rgb im;
    if (image_load_rgb(path, &im)) return 0;
    int crop = im.w <= CROP_MAX_SIDE && im.h <= CROP_MAX_SIDE;
    if (!crop && im.w == im.h && im.w <= CROP_MAX_GRAY_SIDE) {
        long n = (long)im.w * im.h, i = 0;
        while (i < n && im.rgb[3 * i] == im.rgb[3 * i + 1] && im.rgb[3 * i] == im.rgb[3 * i + 2]) i++;
        crop = i == n;
    }
    image_free(&im);
    return crop;
}

/* One stream's probabilities mapped to the common classes into common[AVEMO_BUNDLE_CLASSES] (every class has
 * one: check_classes checked at open). */
static void map_probs(const avemo_bundle *b, int stream, const avemo_result *r, float *common) {
    avemo_bundle_to_common(stream == STREAM_FACE ? b->face_whole : b->voice, r->probs, common);
}

/* The face stream of a file: into r->face; *spoke = 0 when no sampled frame showed a face (a video). */
static int predict_face(avemo_bundle *b, const char *path, const media_info *mi, int crop, avemo_bundle_result *r,
                        int *spoke) {
    avemo_model *m = b->face_whole;
    int rc = AVEMO_OK;
    r->face_cropped = mi->is_image && (crop == AVEMO_CROP_YES || (crop == AVEMO_CROP_AUTO && looks_like_crop(path)));
    if (!r->face_cropped && (rc = face_detect_model(b, &m))) return rc;
    if ((rc = avemo_predict_file(m, path, &r->face))) return rc;
    *spoke = r->face.frames_without_face < r->face.video_frames || r->face_cropped;
    if (!*spoke && mi->is_image) return avemo_error(AVEMO_EDECODE, "%s: no face found in the image", path);
    map_probs(b, STREAM_FACE, &r->face, r->face_probs);
    return AVEMO_OK;
}

/* The fused probabilities of the streams that spoke. */
static void fuse(avemo_bundle_result *r) {
    r->top_class = avemo_bundle_fuse(r->used_face ? r->face_probs : NULL, r->used_voice ? r->voice_probs : NULL, r->probs);
}

int avemo_bundle_predict_file(avemo_bundle *b, const char *path, const avemo_bundle_predict_options *opt,
                              avemo_bundle_result *r) {
    if (!b || !path || !r) return avemo_error(AVEMO_EINVAL, "avemo_bundle_predict_file: NULL argument");
    double t0 = now_ms();
    memset(r, 0, sizeof *r);
    int crop = opt ? opt->crop : AVEMO_CROP_AUTO;
    if (crop < AVEMO_CROP_AUTO || crop > AVEMO_CROP_NO) return avemo_error(AVEMO_EINVAL, "crop mode %d", crop);
    media_info mi;
    int rc = media_probe(path, &mi);
    if (rc) return rc;
    if (crop == AVEMO_CROP_YES && !mi.is_image)
        return avemo_error(AVEMO_EINVAL, "%s: a face crop must be an image (it is a %s)", path,
                           mi.has_video ? "video" : "sound file");
    if (mi.has_video && (rc = predict_face(b, path, &mi, crop, r, &r->used_face))) return rc;
    if (mi.has_audio) {
        if ((rc = avemo_predict_file(b->voice, path, &r->voice))) return rc;
        map_probs(b, STREAM_VOICE, &r->voice, r->voice_probs);
        r->used_voice = 1;
    }
    if (!r->used_face && !r->used_voice)
        return avemo_error(AVEMO_EDECODE, "%s: no face in the sampled frame and no audio stream", path);
    fuse(r);
    r->total_ms = now_ms() - t0;
    return AVEMO_OK;
}

/* One stream's window count (model m) into *count and its first min(count, max) window results into *out
 * (malloc'd; max 0: only the count). */
static int stream_windows(avemo_model *m, const char *path, double window_s, double hop_s, int max, avemo_result **out,
                          int *count) {
    int rc = avemo_predict_file_windows(m, path, window_s, hop_s, NULL, 0, count), n = *count < max ? *count : max;
    if (rc || n <= 0) return rc;
    if (!(*out = malloc((size_t)n * sizeof **out))) return avemo_error(AVEMO_ENOMEM, "out of memory");
    return avemo_predict_file_windows(m, path, window_s, hop_s, *out, n, &n);
}

/* Window w's result from the streams' windows that reach it: the face when a face was in its frames, the voice
 * when the audio reaches it, fused; neither: top_class -1, zero probabilities. */
static void window_result(const avemo_bundle *b, const avemo_result *face, const avemo_result *voice,
                          avemo_bundle_result *r) {
    memset(r, 0, sizeof *r);
    if (face) {
        r->face = *face;
        r->used_face = face->frames_without_face < face->video_frames;
        if (r->used_face) map_probs(b, STREAM_FACE, face, r->face_probs);
        r->total_ms += face->total_ms;
    }
    if (voice) {
        r->voice = *voice;
        r->used_voice = 1;
        map_probs(b, STREAM_VOICE, voice, r->voice_probs);
        r->total_ms += voice->total_ms;
    }
    if (r->used_face || r->used_voice) fuse(r);
    else r->top_class = -1;
}

int avemo_bundle_predict_file_windows(avemo_bundle *b, const char *path, double window_s, double hop_s,
                                      avemo_bundle_result *results, int max_results, int *n_results) {
    if (!b || !path || !n_results || (max_results > 0 && !results))
        return avemo_error(AVEMO_EINVAL, "avemo_bundle_predict_file_windows: NULL argument");
    *n_results = 0;
    media_info mi;
    int rc = media_probe(path, &mi), n_face = 0, n_voice = 0;
    if (rc) return rc;
    if (mi.is_image) return avemo_error(AVEMO_EINVAL, "%s: a still image has no windows (predict it without --window)", path);
    if (!mi.has_video && !mi.has_audio) return avemo_error(AVEMO_EDECODE, "%s: no video or audio stream", path);
    avemo_model *face = NULL;
    avemo_result *fw = NULL, *vw = NULL;
    if (mi.has_video && !(rc = face_detect_model(b, &face)))
        rc = stream_windows(face, path, window_s, hop_s, max_results, &fw, &n_face);
    /* the windows are the video's (the face's) when there is one; the voice joins those its audio reaches */
    int want = mi.has_video && n_face < max_results ? n_face : max_results;
    if (!rc && mi.has_audio) rc = stream_windows(b->voice, path, window_s, hop_s, want, &vw, &n_voice);
    int n = mi.has_video ? n_face : n_voice;
    if (!rc) {
        *n_results = n;
        for (int w = 0; w < n && w < max_results; w++)
            window_result(b, fw && w < n_face ? &fw[w] : NULL, vw && w < n_voice && w < want ? &vw[w] : NULL,
                          &results[w]);
    }
    free(fw);
    free(vw);
    return rc;
}
