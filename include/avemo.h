/* avemo: audio-visual emotion recognition (Yang, Lv, Liu 2025, dual-stream MFCC-MobileNetV2).
 *
 * Public C API. The library never exits or prints: every function that can fail returns an
 * avemo_status (0 = AVEMO_OK) and leaves a one-line message readable with avemo_last_error()
 * (per thread, like errno).
 */
#ifndef AVEMO_H
#define AVEMO_H

#ifdef __cplusplus
extern "C" {
#endif

#define AVEMO_VERSION "0.1.0"

/* Marks the public API: the library is compiled with -fvisibility=hidden, so these functions are the only
 * symbols that libavemo.so exports and that stay global in libavemo.a (tools/style_check.py checks both). */
#if defined(__GNUC__) || defined(__clang__)
#define AVEMO_API __attribute__((visibility("default")))
#else
#define AVEMO_API
#endif

typedef enum {
    AVEMO_OK = 0,
    AVEMO_EINVAL = -1,   /* bad argument or option */
    AVEMO_EIO = -2,      /* file missing or unreadable */
    AVEMO_EFORMAT = -3,  /* file readable but not valid for its type (corrupt, truncated, wrong dtype) */
    AVEMO_ENOMEM = -4,   /* allocation failed or would exceed a sane limit */
    AVEMO_EDECODE = -5,  /* media decoding failed (no audio stream, no frames, codec error) */
    AVEMO_EUNSUP = -6,   /* valid input that this build does not support */
    AVEMO_EINTERNAL = -7, /* a bug: please report */
    AVEMO_EWRITE = -8    /* an output cannot be written (disk full, read-only or missing folder, no permission) */
} avemo_status;

/* Message describing the last error on this thread ("" when none). */
AVEMO_API const char *avemo_last_error(void);
/* Short name of a status code ("invalid argument", ...). */
AVEMO_API const char *avemo_status_name(int status);

/* ---- Inference with a trained model (`avemo train` writes M.safetensors) ----
 *
 *   avemo_model *m;
 *   if (avemo_model_open("model.safetensors", &m)) { fprintf(stderr, "%s\n", avemo_last_error()); ... }
 *   avemo_result r;
 *   if (avemo_predict_file(m, "clip.mp4", &r) == AVEMO_OK)
 *       printf("%s %.3f\n", avemo_class_name(m, r.top_class), r.probs[r.top_class]);
 *   avemo_model_close(m);
 *
 * The features are computed exactly as `avemo prep` computed the training features (the settings are
 * stored in the model file): audio decoded, mono, resampled to 22,050 Hz, centre-cropped / zero-padded
 * to 3.6 s, MFCC or FRFT-MFCC; video: 15 frames over the clip's central 3.6 s (over the whole clip when it
 * is shorter), MTCNN face crops (grayscale 224 x 224), MobileNetV2 embeddings; both standardised with the
 * training fold's statistics.
 *
 * Threads: every avemo_predict_* call may run concurrently with others on the same avemo_model (the model
 * keeps a small pool of head instances; the weights, MTCNN and MobileNetV2 are shared read-only).
 * avemo_model_close must not race with predictions on the same model. */

#define AVEMO_MAX_CLASSES 64

typedef struct avemo_model avemo_model;

/* Which inputs a model reads. */
enum { AVEMO_NEEDS_AUDIO = 1, AVEMO_NEEDS_VIDEO = 2 };

typedef struct {
    const char *mtcnn_manifest; /* MTCNN weights: a TF.js manifest or a folder with pnet/rnet/onet.tflite;
                                   NULL: $AVEMO_MTCNN, else $AVEMO_SHARED/weights/mtcnn/
                                   mtcnn_model-weights_manifest.json (default ../shared/...) when it exists, else
                                   weights/mtcnn-tflite in the working directory or next to the executable (the
                                   same search as avemo prep, faces and detect; read only for models that crop
                                   faces) */
    const char *backbone;       /* MobileNetV2 weights (safetensors); NULL: the path recorded at prep time */
    int tta;                    /* test-time augmentation of the video frames: the head's probabilities averaged
                                   over 1 (0 or 1: none), 2 (+ mirror) or up to 10 views (+ four 90 % crops and
                                   their mirrors), as train --tta / eval --tta */
} avemo_open_options;

/* Open a trained model file. Loads MTCNN and MobileNetV2 too when the model has a video stream.
 * Errors: AVEMO_EIO (missing file), AVEMO_EFORMAT (not an avemo model, or prep settings missing),
 * AVEMO_EINVAL (weights not found). *model is NULL on failure. */
AVEMO_API int avemo_model_open(const char *path, avemo_model **model);
/* The same with explicit weight paths (options may be NULL: the defaults above). */
AVEMO_API int avemo_model_open_ex(const char *path, const avemo_open_options *options, avemo_model **model);
AVEMO_API void avemo_model_close(avemo_model *model); /* NULL is fine */

AVEMO_API int avemo_class_count(const avemo_model *model);
AVEMO_API const char *avemo_class_name(const avemo_model *model, int k); /* NULL when k is out of range */
/* AVEMO_NEEDS_AUDIO | AVEMO_NEEDS_VIDEO: the streams the model was trained on. */
AVEMO_API int avemo_model_needs(const avemo_model *model);
/* 1 when the model was trained with modality dropout, so that one missing stream is accepted (zeros). */
AVEMO_API int avemo_model_tolerates_missing(const avemo_model *model);
/* Video input geometry: frames per clip T, face side (H = W), channels (1 = grayscale, the paper's). */
AVEMO_API void avemo_model_video_shape(const avemo_model *model, int *frames, int *side, int *channels);
/* Audio input: the sample rate the features are computed at and the clip length in seconds. */
AVEMO_API void avemo_model_audio_shape(const avemo_model *model, int *sample_rate_hz, double *clip_seconds);
/* Models in the file: 1, or the members of a seed ensemble (`avemo train --ensemble N`), whose softmax outputs
 * every prediction averages. */
AVEMO_API int avemo_model_members(const avemo_model *model);
/* The model's calibration temperature (`avemo calibrate`; 1 when it has none): every probability avemo_predict_*
 * returns is the ensemble's mean softmax p tempered as p^(1/T), renormalised (one model: softmax(logits / T)). */
AVEMO_API float avemo_model_temperature(const avemo_model *model);
/* 1 when the model was trained on features standardised per speaker (`avemo train --speaker-norm`): give it a
 * speaker's statistics (avemo_speaker_from_files) for the best results; without them it falls back to the
 * training clips' global statistics. */
AVEMO_API int avemo_model_speaker_norm(const avemo_model *model);

typedef struct {
    int n_classes;
    float probs[AVEMO_MAX_CLASSES]; /* softmax probabilities, probs[0..n_classes) */
    int top_class;                  /* argmax of probs */
    int used_audio, used_video;     /* the streams fed from the input (0: zeros, modality dropout) */
    int video_frames, frames_without_face; /* frames sampled / of those, without a face (zero crops) */
    double start_s, end_s;          /* the part of the input this result covers (windows) */
    double decode_ms;               /* media decoding (audio decode + resample, video frames) */
    double faces_ms;                /* MTCNN face crops (when the face is followed on 2+ threads: the follower's
                                       work, its waits for frames not counted) */
    double features_ms;             /* MFCC / FRFT-MFCC, MobileNetV2 embeddings, standardisation */
    double model_ms;                /* the trained head */
    double total_ms;                /* wall time of the call (per window: its share); the stage times above are
                                       each thread's own: a whole file on 2+ OpenMP threads decodes and featurises
                                       its audio beside its video, and follows the face in the frames already
                                       decoded while the next ones decode, so they may add up to more than
                                       total_ms */
} avemo_result;

/* Predict one file: a video with sound, a silent video, an audio file, or a still image, as the model
 * needs. A stream the model needs but the file lacks is an error (AVEMO_EDECODE, naming the file) unless
 * the model tolerates a missing stream and the other one is present. */
AVEMO_API int avemo_predict_file(avemo_model *model, const char *path, avemo_result *result);

/* In-memory input. samples [n] mono float PCM in [-1, 1] at sample_rate_hz, 4,000..384,000 Hz (resampled as
 * needed; NULL or n = 0: no audio; a NaN or Inf sample is an error, AVEMO_EINVAL). frames: face crops uint8 [T, H, W, C] (C from avemo_model_video_shape, 1 = grayscale;
 * T and H = W must match it) or NULL (no video). Crops must come from the same face pipeline as the
 * model's training data (MTCNN crop, BT.601 grayscale, bilinear 224 x 224) for meaningful results. */
AVEMO_API int avemo_predict_pcm(avemo_model *model, const float *samples, long n, int sample_rate_hz,
                                const unsigned char *frames, int T, int H, int W, avemo_result *result);

/* ---- Per-speaker statistics and test-time crops ----
 *
 * A model trained with --speaker-norm reads each speaker's audio features standardised with that speaker's own
 * mean and std per coefficient (over every frame of the speaker's clips, labels unused). At prediction time the
 * statistics come from several files of the same speaker, featurised exactly as for prediction:
 *
 *   avemo_speaker *s;
 *   avemo_speaker_from_files(m, paths, n, &s);          // n clips of one speaker (more clips: closer to training)
 *   avemo_predict_options po = {.speaker = s};
 *   avemo_predict_file_ex(m, paths[i], &po, &r);
 *   avemo_speaker_free(s);
 *
 * An avemo_speaker is read-only once made: predictions on several threads may share it. */
typedef struct avemo_speaker avemo_speaker;
/* Files that cannot be decoded are left out (predicting them reports why); an error only when none can be. */
AVEMO_API int avemo_speaker_from_files(avemo_model *model, const char *const *paths, int n, avemo_speaker **speaker);
AVEMO_API int avemo_speaker_clips(const avemo_speaker *speaker); /* files its statistics come from */
AVEMO_API void avemo_speaker_free(avemo_speaker *speaker);       /* NULL is fine */
/* The speaker of a file by a dataset's naming (RAVDESS MM-VV-EE-II-SS-RR-AA.ext: actor AA; CREMA-D
 * AAAA_SSS_EEE_LL.ext: actor AAAA): returns 1 with *id set, 0 when the name follows neither. */
AVEMO_API int avemo_speaker_of_file(const char *path, int *id);

typedef struct {
    const avemo_speaker *speaker; /* standardise the audio with this speaker's statistics (the model must have
                                     been trained with --speaker-norm); NULL: the model's training statistics */
    int crops;                    /* test-time crops: audio longer than the model's clip gives this many clip-length
                                     windows spread evenly from its start to its end, softmax averaged (their video,
                                     if any, is the file's); 0 or 1: the centre crop, as training */
} avemo_predict_options;
/* avemo_predict_file with options (NULL: as avemo_predict_file). */
AVEMO_API int avemo_predict_file_ex(avemo_model *model, const char *path, const avemo_predict_options *options,
                                    avemo_result *result);

/* Sliding windows over a longer file: windows of window_s seconds every hop_s seconds from the start
 * (each window's audio is then fitted to the model's clip length as in training; its frames are sampled
 * uniformly over the window, or over the part of it inside the file when the file is shorter than a window). Windows: max(1, floor((duration - window_s) / hop_s) + 1), duration from the
 * video stream when the model reads video, else from the audio. Writes min(count, max_results) results;
 * *n_results gets the full count (call with max_results = 0 to ask for it). */
AVEMO_API int avemo_predict_file_windows(avemo_model *model, const char *path, double window_s, double hop_s,
                                         avemo_result *results, int max_results, int *n_results);

/* ---- A timeline per person (ours, issue 16) ----
 *
 * Every face in a video, tracked across frames sampled at sample_fps (MTCNN on each sampled frame, shrunk to
 * at most 640 px on its longer side; detections associated frame to frame by IoU with constant-velocity
 * prediction, vision/face_tracks.h), each with its own face emotion per window of avemo_predict_file_windows'
 * windows (same count and start times): the model's video stream on that face's crops alone (a model that
 * reads one frame: its probabilities averaged over the face's sampled frames in the window; T frames: T of
 * them spread over the window). The crop follows the model's training frames: the squared MTCNN box, grayscale
 * unless the model reads colour, resized to the model's side (no second MTCNN pass). The model must read video
 * and, when it also reads audio, tolerate a missing stream (modality dropout): the audio is left out, the
 * voice's per-window result is avemo_predict_file_windows'. */
typedef struct {
    const char *mtcnn_manifest; /* NULL: the model's detector, or the weights search of avemo_open_options */
    double sample_fps;          /* frames sampled per second for tracking (0: 5; at most the video's rate) */
    int max_missed;             /* sampled frames a track survives unseen (0: 3; < 0: none) */
} avemo_timeline_options;

typedef struct {
    double time_s;   /* the sampled frame's time */
    int track_id;    /* 1, 2, ... in order of first appearance */
    float box[4];    /* x0, y0, x1, y1 in pixels of the video's frame (avemo_timeline.width x height) */
    float score;     /* MTCNN's face probability */
} avemo_face_sighting;

typedef struct {
    int window;      /* 0-based, as avemo_predict_file_windows */
    double start_s, end_s;
    int track_id;
    float box[4];    /* the face's mean box over its sightings in the window */
    int frames;      /* its sightings in the window */
    int n_classes;
    float probs[AVEMO_MAX_CLASSES];
    int top_class;
} avemo_person_window;

typedef struct {
    int width, height;            /* frame size (upright) */
    double duration_s, sample_fps, window_s, hop_s;
    int n_windows, n_tracks;
    avemo_person_window *people;  /* [n_people]: by window, then track id; a face absent from a window has none */
    int n_people;
    avemo_face_sighting *faces;   /* [n_faces]: by time (a frame's faces most confident first) */
    int n_faces;
    double decode_ms, faces_ms, model_ms, total_ms;
} avemo_timeline;

/* The timeline of `path` (options may be NULL): *out malloc'd, free with avemo_timeline_free. Errors name the
 * file: no video stream, a still image, a model without a video stream (AVEMO_EINVAL). */
AVEMO_API int avemo_timeline_file(avemo_model *model, const char *path, double window_s, double hop_s,
                                  const avemo_timeline_options *options, avemo_timeline **out);
AVEMO_API void avemo_timeline_free(avemo_timeline *timeline); /* NULL is fine */

/* ---- The bundled models: predict without training (models/ of the repository) ----
 *
 * avemo ships two models trained by this project (models/README.md: data, accuracy, licences): a face model
 * (FER2013, 7 classes) and a voice model (RAVDESS speech, 8 classes). They are found as the weights are
 * (src/data/weights.h): the paths given, $AVEMO_DATA, $(PREFIX)/share/avemo (`make install`), then models/
 * of the source tree beside the program.
 *
 *   avemo_bundle *b;
 *   avemo_bundle_open(NULL, &b);
 *   avemo_bundle_result r;
 *   if (avemo_bundle_predict_file(b, "clip.mp4", NULL, &r) == AVEMO_OK)
 *       printf("%s %.2f\n", avemo_bundle_class_name(r.top_class), r.probs[r.top_class]);
 *   avemo_bundle_close(b);
 *
 * Each stream that the file has speaks: the face model for a photo, a face crop or a video's frame (MTCNN face
 * crop of the central frame; a crop is classified as it is; each face over AVEMO_BUNDLE_FACE_VIEWS test-time views
 * unless face_views says otherwise), the voice model for the audio. Their
 * probabilities are mapped to one class set (AVEMO_BUNDLE_CLASSES, named as RAVDESS's: the voice's "calm" is
 * added to "neutral"; FER2013's fear and surprise are "fearful" and "surprised"), each calibrated by its model's
 * temperature (avemo_model_temperature; models/README.md says how it was fitted), and fused late: the weighted
 * mean of the two (AVEMO_BUNDLE_FACE_WEIGHT; models/README.md says how the weight was chosen). This is not
 * the paper's jointly trained audio-visual fusion (`avemo train --modality av` trains that on RAVDESS videos). */

#define AVEMO_BUNDLE_CLASSES 7
#define AVEMO_BUNDLE_FACE_WEIGHT 0.5f /* the face's weight in the fused mean; the voice's is 1 - it */
#define AVEMO_BUNDLE_FACE_VIEWS 10    /* test-time views per face by default (models/README.md: 70.24 % top-1 on the
                                         FER2013 hold-out against 67.39 % with one view) */

typedef struct avemo_bundle avemo_bundle;

typedef struct {
    const char *face_model;     /* NULL: the search above for face.safetensors */
    const char *voice_model;    /* NULL: the search above for voice.safetensors */
    const char *mtcnn_manifest; /* NULL: the search of avemo_open_options */
    int face_views;             /* test-time views of each face, their probabilities averaged: 0 =
                                   AVEMO_BUNDLE_FACE_VIEWS; 1 the face alone, 2 + its mirror, 10 + four 90 % crops
                                   and their mirrors (avemo_open_options.tta) */
} avemo_bundle_options;

/* Opens both models (options may be NULL). MTCNN is loaded on the first input that needs face detection. */
AVEMO_API int avemo_bundle_open(const avemo_bundle_options *options, avemo_bundle **bundle);
AVEMO_API void avemo_bundle_close(avemo_bundle *bundle); /* NULL is fine */
/* The common class k (0..AVEMO_BUNDLE_CLASSES): neutral, happy, sad, angry, fearful, disgust, surprised. */
AVEMO_API const char *avemo_bundle_class_name(int k);
/* The face (stream 0) or voice (stream 1) model, for its own class names; NULL otherwise. */
AVEMO_API const avemo_model *avemo_bundle_model(const avemo_bundle *bundle, int stream);
/* The path each model was opened from (stream 0 face, 1 voice). */
AVEMO_API const char *avemo_bundle_model_path(const avemo_bundle *bundle, int stream);

/* The common class of a model's class name (FER2013's or RAVDESS's names, as the bundled models map them: calm
 * -> neutral, fear -> fearful, surprise -> surprised); -1 when it has none. */
AVEMO_API int avemo_bundle_class_of(const char *model_class);
/* A model's probabilities (avemo_class_count(model) of them) summed into the common classes: common
 * [AVEMO_BUNDLE_CLASSES]; returns the top common class, or -1 (an error naming the class) when one of the model's
 * classes has no common class. */
AVEMO_API int avemo_bundle_to_common(const avemo_model *model, const float *probs, float *common);
/* The fused probabilities over the common classes (AVEMO_BUNDLE_CLASSES) of a face's and a voice's mapped
 * probabilities, as avemo_bundle_predict_file fuses them (the weighted mean; either may be NULL: the other as
 * it is; not both); returns the top class. */
AVEMO_API int avemo_bundle_fuse(const float *face, const float *voice, float *fused);

/* How an image reaches the face model. */
enum {
    AVEMO_CROP_AUTO = 0, /* an image with no side over 64 px, or a gray square one up to 256 px, is a face crop
                            (FER2013's 48 x 48 gray faces); other images and videos get MTCNN */
    AVEMO_CROP_YES = 1,  /* the image is a face crop: classified as it is */
    AVEMO_CROP_NO = 2    /* always MTCNN */
};

typedef struct {
    int crop;   /* AVEMO_CROP_*: 0 = auto */
} avemo_bundle_predict_options;

typedef struct {
    float probs[AVEMO_BUNDLE_CLASSES]; /* the fused probabilities over the common classes */
    int top_class;
    int used_face, used_voice;         /* the streams that spoke */
    int face_cropped;                  /* the image was taken as a face crop (no MTCNN) */
    float face_probs[AVEMO_BUNDLE_CLASSES], voice_probs[AVEMO_BUNDLE_CLASSES]; /* each stream, mapped */
    avemo_result face, voice;          /* each stream's own result, in its model's classes (when used) */
    double total_ms;
} avemo_bundle_result;

/* Predicts a file with the streams it has (options may be NULL). A file with neither a face nor a voice stream
 * is an error naming it. A video whose sampled frame shows no face still has its face stream fed (zero crop):
 * see face.frames_without_face. */
AVEMO_API int avemo_bundle_predict_file(avemo_bundle *bundle, const char *path,
                                        const avemo_bundle_predict_options *options, avemo_bundle_result *result);

/* Sliding windows of a video or audio file, as avemo_predict_file_windows (window_s seconds every hop_s seconds
 * from the start), each with the streams the file has, fused as above: a video's windows are the face model's
 * (its duration; the face model's frame of each window, an MTCNN crop), the voice's result joining each window
 * its audio reaches; an audio file's windows are the voice model's. A window whose frame shows no face and that
 * no audio reaches has used_face = used_voice = 0, top_class -1 and zero probs. A still image has no windows
 * (AVEMO_EINVAL naming it). Writes min(count, max_results) results; *n_results gets the full count (call with
 * max_results = 0 to ask for it). */
AVEMO_API int avemo_bundle_predict_file_windows(avemo_bundle *bundle, const char *path, double window_s, double hop_s,
                                                avemo_bundle_result *results, int max_results, int *n_results);

#ifdef __cplusplus
}
#endif
#endif
