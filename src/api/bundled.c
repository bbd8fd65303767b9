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
    int map[2][AVEMO_MAX_CLASSES]; /* per stream: the model's class -> common class */
    char *mtcnn;                   /* the options' manifest (copy) or NULL */
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

int avemo_bundle_fuse(const float *face, const float *voice, float *fused) {
    float wf = face ? (voice ? AVEMO_BUNDLE_FACE_WEIGHT : 1.0f) : 0.0f, wv = voice ? 1.0f - wf : 0.0f;
    int top = 0;
    for (int k = 0; k < AVEMO_BUNDLE_CLASSES; k++) {
        fused[k] = (face ? wf * face[k] : 0.0f) + (voice ? wv * voice[k] : 0.0f);
        if (fused[k] > fused[top]) top = k;
    }
    return top;
}

/* The class map of a stream's model; an error naming the file when a class has no common class or the model
 * reads the wrong stream. */
static int map_classes(avemo_bundle *b, int stream, const avemo_model *m) {
    int want = stream == STREAM_FACE ? AVEMO_NEEDS_VIDEO : AVEMO_NEEDS_AUDIO;
    if (avemo_model_needs(m) != want)
        return avemo_error(AVEMO_EFORMAT, "%s: the bundled %s model must read %s alone", b->path[stream],
                           stream == STREAM_FACE ? "face" : "voice", stream == STREAM_FACE ? "video" : "audio");
    for (int k = 0; k < avemo_class_count(m); k++) {
        const char *name = avemo_class_name(m, k);
        b->map[stream][k] = avemo_bundle_class_of(name);
        if (b->map[stream][k] < 0)
            return avemo_error(AVEMO_EFORMAT, "%s: class '%s' has no place among the bundled classes", b->path[stream],
                               name);
    }
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
    if (!rc) rc = api_model_open(b->path[STREAM_FACE], NULL, 0, &b->face_whole);
    if (!rc) rc = map_classes(b, STREAM_FACE, b->face_whole);
    if (!rc) rc = avemo_model_open(b->path[STREAM_VOICE], &b->voice);
    if (!rc) rc = map_classes(b, STREAM_VOICE, b->voice);
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
        avemo_open_options o = {.mtcnn_manifest = b->mtcnn};
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

/* One stream's probabilities mapped to the common classes into common[AVEMO_BUNDLE_CLASSES]. */
static void map_probs(const avemo_bundle *b, int stream, const avemo_result *r, float *common) {
    memset(common, 0, AVEMO_BUNDLE_CLASSES * sizeof *common);
    for (int k = 0; k < r->n_classes; k++) common[b->map[stream][k]] += r->probs[k];
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
