/* The featurizer: the one way from a media file (or PCM, or decoded frames) to the model's input tensors,
 * and the settings that define it. `avemo prep` (data/prep.c) computes the training features with it, the
 * C API's predict (api/avemo_api.c) the inference features, and the commands features, embed,
 * classify-imagenet, faces and detect their outputs, so that train-time and predict-time features are the
 * same function calls on the same settings.
 *
 *   audio (SPEC 3)  file -> decode, mono, soxr HQ resample to mfcc.sample_rate_hz (22,050),
 *                   centre crop / zero pad to clip_seconds (3.6 s), decoding only that       featurizer_audio_clip
 *                   file -> windows of the resampled stream (predict --window)              featurizer_open_audio
 *                   PCM at any rate -> the same resampler                                   featurizer_resample
 *                   -> centre crop / zero pad to clip_seconds (3.6 s)                        featurizer_fit_clip
 *                   -> MFCC [n_mfcc, F] or FRFT-MFCC [orders x n_mfcc, F] (F = 156)         featurizer_audio
 *                      (+ deltas: their librosa deltas of order 1 (and 2) as more rows, dsp/deltas.h)
 *                      (+ pitch: YIN's log2(f0 / 100 Hz) where voiced and its periodicity, 2 rows, dsp/pitch.h)
 *   video (SPEC 2)  file -> `frames` sampled frames (a still image: one)                    featurizer_read_frames
 *                   -> MTCNN face crops or whole frames resized: uint8 [T, S, S(, 3)]       featurizer_frames
 *   embeddings      frames -> the backbone's normalisation -> folded MobileNetV2 [T, 1280]  featurizer_embed
 *                   (a fine-tuned backbone from a model file: frames first resized to its input
 *                   side, or rendered as a test-time view, vision/augment.h)            featurizer_embed_view
 *   model input     audio [C, F] -> [F, C] channels-last, then standardised with the training fold's
 *                   statistics (data/loader.h's feature_standardize, as training does)      featurizer_model_audio
 *
 * The settings travel as JSON: featurizer_settings_to_json writes them into the cache's index.json ("config"),
 * the trainer copies that into the model file ("prep" metadata), featurizer_settings_from_json reads them
 * back at predict time.
 *
 * Threads: an open featurizer is read-only; every function below may run on several threads at once.
 */
#ifndef AVEMO_DATA_FEATURIZER_H
#define AVEMO_DATA_FEATURIZER_H
#include "data/dataset.h"
#include "dsp/frft_mfcc.h"
#include "dsp/mfcc.h"
#include "io/audio.h"
#include "io/video.h"
#include "model/mobilenetv2.h"
#include "vision/augment.h"
#include "vision/faces.h"
#include "vision/mtcnn.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { AUDIO_FEATURES_MFCC = 0, AUDIO_FEATURES_FRFT_MFCC = 1 } audio_features_kind;
/* Video frames: MTCNN face crops (videos), or the whole frame resized (image sets that hold face crops
 * already, like FER2013). */
typedef enum { VIDEO_FRAMES_FACES = 0, VIDEO_FRAMES_WHOLE = 1 } video_frames_kind;

#define FEATURIZER_SPEED_MIN 0.5 /* featurizer_settings.speed */
#define FEATURIZER_SPEED_MAX 2.0

typedef struct {
    int modality;                 /* DATASET_NEED_AUDIO | DATASET_NEED_VIDEO: the streams featurised */
    audio_features_kind audio_features;
    int n_orders;                 /* FRFT-MFCC: orders stacked as channels */
    double orders[AVEMO_FRFT_MFCC_MAX_ORDERS];
    mfcc_config mfcc;             /* mfcc.sample_rate_hz: the rate all audio is resampled to */
    int deltas;                   /* 0, 1 or 2 (ours, issue 13): the coefficient rows followed by their delta rows
                                     (1) and delta-delta rows (2) */
    int pitch;                    /* 1 (ours, issue 13): then 2 rows of pitch (dsp/pitch.h's yin_pitch_rows, YIN
                                     60-500 Hz on the STFT's frames) */
    double clip_seconds;          /* audio fitted to this length (3.6 s) */
    double speed;                 /* 1 (default); else (ours, issue 13: speed perturbation) the audio is played
                                     `speed` times faster, as sox's `speed`: resampled to sample_rate_hz / speed and
                                     read as sample_rate_hz, so tempo and pitch both scale (0.9: slower and lower).
                                     For extra training copies of a dataset (prep --speed, train --train-extra) */
    faces_config faces;           /* frames per clip, side, colour, frame window, MTCNN settings */
    video_frames_kind frames_kind;
    const char *backbone_path;    /* MobileNetV2 weights whose embeddings are the video features, as recorded;
                                     NULL: face frames only. Bare weights (avemo import) or an avemo model
                                     file with a fine-tuned backbone (train --finetune; model/model_file.h) */
} featurizer_settings;

/* The spec's defaults: audio + video, MFCC (n_mfcc 10), FRFT order 0.95 when FRFT-MFCC is chosen, 22,050 Hz,
 * 3.6 s, 15 frames, MTCNN crops 224 px grayscale, no backbone; ours (issue 15): the face followed from frame to
 * frame (faces.track) and the full search for faces of FACES_MIN_FACE_FRAC of the frame and more (vision/faces.h).
 * Settings read from JSON without these keys (prepared before) keep the full search on every frame. */
void featurizer_settings_default(featurizer_settings *s);

/* The settings and the dataset options as one JSON object (malloc'd string): everything that changes the
 * cached arrays or the sample list, so that a resumed prep with other settings is refused. */
int featurizer_settings_to_json(const featurizer_settings *s, const dataset_options *d, char **json);

/* Reads what featurizer_settings_to_json wrote (keys absent keep the defaults; the dataset keys are not read).
 * modality: the streams that have a section. The recorded backbone path is copied into backbone [cap] and
 * s->backbone_path points there (NULL when none). Errors name `origin` (the file the JSON came from). */
int featurizer_settings_from_json(const char *json, const char *origin, featurizer_settings *s, char *backbone,
                                  size_t cap);

/* Shape of featurizer_audio's output: channels C (n_mfcc x orders x (1 + deltas) + 2 pitch) and frames F. */
void featurizer_audio_shape(const featurizer_settings *s, int *channels, int *frames);
/* Bytes of one video frame: size x size (x 3 in colour). */
long featurizer_frame_bytes(const featurizer_settings *s);

typedef struct {
    featurizer_settings settings;
    long clip_samples;       /* clip_seconds at mfcc.sample_rate_hz */
    frft_mfcc *frft;         /* FRFT-MFCC plans; NULL for MFCC or without audio */
    mtcnn *detector;         /* video with VIDEO_FRAMES_FACES */
    mnv2_folded backbone;    /* BN folded, when have_backbone */
    mnv2_norm norm;          /* the backbone's input normalisation */
    int have_backbone;
    int embed_size;          /* > 0: frames are resized to embed_size x embed_size before the backbone (the
                                input side a fine-tuned backbone was trained at); 0: frames as they are */
} featurizer;

/* Plans the audio features and loads the weights the settings need: MTCNN for face crops (mtcnn_path, or
 * weights_find's search when NULL) and the backbone when backbone_path, else s->backbone_path, names one
 * (its stem takes 1 channel, or 3 with colour frames; a model file's fine-tuned backbone also sets
 * embed_size). Errors name the weights. */
int featurizer_open(featurizer *f, const featurizer_settings *s, const char *mtcnn_path, const char *backbone_path);
/* A featurizer for embeddings alone (the commands embed and classify-imagenet, the fine-tuning trainer's
 * evaluation) from a loaded backbone: its stem's channels and normalisation, the network folded (net stays the
 * caller's). Set f->embed_size after, for a backbone with an input size. */
int featurizer_open_backbone(featurizer *f, const mobilenetv2 *net);
/* Give an open featurizer the backbone `net` (folded; net stays the caller's) with input side input_size
 * (0: frames as they are), in place of any it had: a model file's fine-tuned backbone. */
int featurizer_use_backbone(featurizer *f, const mobilenetv2 *net, int input_size);
void featurizer_close(featurizer *f); /* a zeroed featurizer is fine */

/* ---- audio ---- */

/* The audio of `path` at the settings' rate, fitted to the clip: clip [f->clip_samples], centre-cropped or
 * zero-padded as featurizer_fit_clip fits the whole stream, decoding only the centre of a long file
 * (io/audio.h's bounds); *n_total (may be NULL): the whole stream's length in samples at that rate. */
int featurizer_audio_clip(const featurizer *f, const char *path, float *clip, long *n_total);
/* `path` opened for reads at the settings' rate (io/audio.h's audio_source: windows of a long file are decoded one
 * at a time); close with audio_source_close. */
int featurizer_open_audio(const featurizer *f, const char *path, audio_source **src);
/* Decode the whole of `path` to mono at the settings' rate: *x [*n] malloc'd (audio_load's limits on rate,
 * channels and duration apply; memory grows with the file's length: only predict's --crops and --speaker use it). */
int featurizer_load_audio(const featurizer *f, const char *path, float **x, long *n);
/* PCM x [n] at rate_hz -> *y [*ny] at the settings' rate (malloc'd; the resampler of featurizer_audio_clip). */
int featurizer_resample(const featurizer *f, const float *x, long n, int rate_hz, float **y, long *ny);
/* x [n] at the settings' rate -> clip [f->clip_samples], centre-cropped or zero-padded. */
void featurizer_fit_clip(const featurizer *f, const float *x, long n, float *clip);
/* x [n] at the settings' rate (any length: fitted first) -> out [C, F] (featurizer_audio_shape). Non-finite
 * features (a float file holding NaN or Inf) are an error (AVEMO_EFORMAT). */
int featurizer_audio(const featurizer *f, const float *x, long n, float *out);
/* featurizer_audio_clip then featurizer_audio; errors name the file. */
int featurizer_audio_file(const featurizer *f, const char *path, float *out);
/* out [C, F] -> model [F, C] (the loader's layout), standardised per channel with mean/std [C]. */
void featurizer_model_audio(const float *features, int channels, int frames, const float *mean, const float *std,
                            float *model);
/* [C, F] -> [F, C], as data/loader.c packs cached audio for training. */
void featurizer_audio_channels_last(const float *features, int channels, int frames, float *out);

/* ---- video ---- */

/* The settings' sampled frames of a video (faces.frames over the frame window; SPEC 2.2), or a still image
 * as one frame. */
int featurizer_read_frames(const featurizer *f, const char *path, video_clip *clip);
/* Frames of a decoded clip: out [clip->n, S, S(, 3)]: face crops (info [clip->n] may be NULL; *n_noface counts
 * frames without a face) or whole frames. A frame outside the clip (index -1) is zeros. */
int featurizer_frames(const featurizer *f, const video_clip *clip, uint8_t *out, face_frame *info, int *n_noface);
/* featurizer_read_frames then featurizer_frames: *out [*n_frames, S, S(, 3)] and, when info is not NULL,
 * *info [*n_frames] malloc'd. Errors name the file. */
int featurizer_frames_file(const featurizer *f, const char *path, uint8_t **out, face_frame **info, int *n_frames,
                           int *n_noface);
/* ---- video: decode and face following overlapped (ours, issue 15) ----
 * Following the face takes the frames in order, and the decoder delivers them in order: on 2 threads one decodes
 * the sampled frames while the other follows the face in those already decoded, frame k while k + 1.. decode (two
 * stages, one thread each, signalled per frame). The crops and records are featurizer_read_frames then
 * featurizer_frames's, bit for bit: the same calls on the same frames in the same order (vision/faces.h's
 * faces_sequence_frame; tests/data/test_featurizer.c). Use:
 *
 *   featurizer_overlap o;
 *   featurizer_overlap_init(&o, f, path, out, info);          caller's thread; out [frames, S, S(, 3)], info [frames]
 *   #pragma omp parallel num_threads(2)
 *   { if (omp_get_thread_num() == 0) featurizer_overlap_decode(&o);
 *     if (omp_get_thread_num() == 1 || omp_get_num_threads() == 1) { other work; featurizer_overlap_faces(&o); } }
 *   rc = featurizer_overlap_end(&o);                          caller's thread: errors, o.clip, o.n_noface
 *
 * If the decoder has to decode the file again from the start (io/video.h's restart: a damaged file), the follower
 * stops and featurizer_overlap_end crops the faces of the decoded clip the usual way. */
typedef struct {
    const featurizer *f;
    const char *path;
    uint8_t *out;             /* [frames, S, S(, 3)] the crops */
    face_frame *info;         /* [frames] */
    int n_noface;
    video_clip clip;          /* the sampled frames, complete after featurizer_overlap_end (the decoder's) */
    double decode_ms, faces_ms; /* each stage's own time (the follower's waits for frames not counted) */
    /* between the two threads, under lock: */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int ready;                /* slots decoded (io/video.h's sink) */
    const uint8_t *rgb;       /* [frames, h, w, 3] where the decoder writes them */
    int h, w;
    int decode_ended;         /* featurizer_overlap_decode returned */
    int restarted;            /* the decoder started again: the follower stops */
    int following;            /* the follower works on a frame */
    int faces_done;           /* the follower cropped every frame */
    int decode_rc, faces_rc;  /* each stage's status and message (messages are per thread) */
    char decode_msg[1024], faces_msg[1024];
} featurizer_overlap;

/* Whether `path` takes the overlapped path: face following (faces.track) on a video, 2+ OpenMP threads allowed
 * and not inside a parallel region (prep's parallel jobs and 1 thread keep featurizer_frames_file's order). */
int featurizer_overlap_usable(const featurizer *f, const char *path);
int featurizer_overlap_init(featurizer_overlap *o, const featurizer *f, const char *path, uint8_t *out,
                            face_frame *info);
int featurizer_overlap_decode(featurizer_overlap *o); /* the first stage: probe, sample, decode */
int featurizer_overlap_faces(featurizer_overlap *o);  /* the second: the face followed frame by frame */
/* After both stages: the decoder's error, else the follower's (each naming the file); the faces cropped here when
 * the follower stopped. Frees nothing: featurizer_overlap_free. */
int featurizer_overlap_end(featurizer_overlap *o);
void featurizer_overlap_free(featurizer_overlap *o); /* the clip and the lock */

/* ---- embeddings ---- */

/* Backbone embeddings of n frames uint8 [n, h, w, channels] (channels 1 or 3; converted to the stem's: gray is
 * replicated, RGB goes to BT.601 luma) -> out [n, 1280]; `chunk` frames per pass (0 = the backbone's default). */
int featurizer_embed(const featurizer *f, const uint8_t *frames, int n, int h, int w, int channels, int chunk,
                     float *out);
/* featurizer_embed of view v (vision/augment.h) of each frame, rendered at embed_size (or the frames' own size
 * when 0): test-time augmentation; the identity view gives featurizer_embed's result. */
int featurizer_embed_view(const featurizer *f, const uint8_t *frames, int n, int h, int w, int channels,
                          const augment_view *v, float *out);
/* The backbone's input for one frame src uint8 [h, w, channels] (1 or 3) under view v: dst float
 * [S, S, stem_channels] normalised per `norm` (gray to a 3-channel stem replicated, RGB to a 1-channel stem
 * BT.601 luma). What featurizer_embed_view feeds the backbone, and what the fine-tuning trainer feeds it with
 * a random view. scratch: at least 3 h w bytes. */
int featurizer_frame_input(float *dst, int S, int stem_channels, mnv2_norm norm, const uint8_t *src, int h, int w,
                           int channels, const augment_view *v, uint8_t *scratch);
/* The same for float frames already normalised [n, h, w, channels]. */
int featurizer_embed_f32(const featurizer *f, const float *frames, int n, int h, int w, int channels, int chunk,
                         float *out);

#endif
