/* The featurizer (data/featurizer.h) over many inputs, with the outputs the commands write:
 *
 *   avemo features           audio features (or the fitted waveforms) of many files -> one float32 .npy
 *                            [inputs, C, F], failures listed in OUT.npy.failed.txt
 *   avemo embed              backbone embeddings of an image array .npy -> float32 [N, 1280]
 *   avemo faces              per input, its face crops .npy and a JSON of the boxes
 *   avemo detect             the MTCNN faces of every sampled frame of each input
 *   avemo classify-imagenet  the most probable ImageNet classes of images, through a backbone with its classifier
 *
 * A command parses its options into one of the structs below, makes one call here and prints what it reports.
 *
 * The jobs over a list of inputs (faces, detect, classify) take the inputs in order and report each through the
 * job's callback as soon as it is done: its status, and for a failure its message (avemo_last_error() during the
 * call, naming the input). A bad input is counted and the job goes on (faces stops unless keep_going); a runtime
 * failure (avemo_error_is_runtime: out of memory, a bug) stops it. The job's own return value is only for what
 * fails before the first input (weights, labels); how the inputs went is in its job_tally.
 */
#ifndef AVEMO_DATA_FEATURIZER_JOBS_H
#define AVEMO_DATA_FEATURIZER_JOBS_H
#include "data/featurizer.h"

typedef struct {
    int n_done;   /* inputs processed (each reported) */
    int n_failed; /* of those, failed */
    int status;   /* the failure that decides the outcome: a runtime one, else the first; AVEMO_OK when none */
} job_tally;

/* ---- audio features of many files (avemo features) ---- */

#define AUDIO_ROWS_PROGRESS_MIN 8 /* the progress bar shows from this many inputs */

typedef struct {
    int waveform;   /* rows are the fitted clips [1, clip_samples] instead of the features [C, F] */
    int keep_going; /* go on after a bad input; else stop at the first (a runtime failure always stops) */
    int threads;    /* worker threads; 0 = OpenMP's default */
    int progress;   /* a progress bar on stderr (from AUDIO_ROWS_PROGRESS_MIN inputs) */
} audio_rows_options;

typedef struct {
    long n;           /* inputs */
    int channels;     /* row shape [channels, frames] */
    long frames;
    float *rows;      /* [n, channels * frames] in input order (a failed input's row is undefined) */
    int *status;      /* [n]: AVEMO_OK, or the input's failure (0 too for inputs skipped after a stop) */
    char **why;       /* [n]: the failure's message (malloc'd; NULL when none or out of memory) */
} audio_rows;

/* The rows of paths [n] through a featurizer opened on the audio settings s. Errors: the featurizer's (settings
 * that do not fit together), or out of memory for the run as a whole; per-input failures are in out->status. */
int audio_rows_compute(const featurizer_settings *s, char *const *paths, long n, const audio_rows_options *o,
                       audio_rows *out);
/* The input whose failure ends the command with nothing written, or -1 when the good rows are to be written:
 * any failure without keep_going, else only a runtime one; a runtime failure outranks a bad input. */
long audio_rows_fatal(const audio_rows *r, int keep_going);
/* Moves the good rows to the front, in input order, and writes them as float32 [good, channels, frames] to
 * path (nothing written when none is good). *n_good: how many. */
int audio_rows_write_npy(audio_rows *r, const char *path, long *n_good);
/* OUT.failed.txt beside out_path: "index<TAB>path<TAB>reason" per failed input (index from 0 in input order),
 * written atomically; when none failed, a list left by an earlier run is removed (it would mislead). */
int audio_rows_write_failed(const audio_rows *r, char *const *paths, const char *out_path);
void audio_rows_free(audio_rows *r);

/* ---- embeddings of an image array (avemo embed) ---- */

typedef struct {
    const char *backbone; /* MobileNetV2 safetensors */
    int channels;         /* its stem's input channels: 1 or 3; 0 = the images' */
    const char *images;   /* .npy: uint8 or float32 [N, H, W] or [N, H, W, 3], 32 <= H, W <= 4096 */
    int batch;            /* images per backbone pass */
    int progress;         /* a progress bar on stderr */
} embed_job;

/* *out [*n, 1280] (malloc'd): the embeddings of the images (uint8 normalised as the backbone's metadata says,
 * float32 taken as normalised). Errors name the file at fault. */
int embed_job_run(const embed_job *job, float **out, int *n);

/* ---- face crops, one .npy and .json per input (avemo faces) ---- */

typedef struct {
    const char *path;
    int status;
    int n_frames, n_noface; /* frames written, and of those without a face */
} faces_done;

typedef struct {
    faces_config faces;
    const char *mtcnn_path; /* NULL: data/weights.h's search */
    const char *out_dir;    /* an existing folder: DIR/<name>.npy (uint8 [n, size, size(, 3)]) and DIR/<name>.json
                               (per frame: status, source frame, boxes), name the input's file name without its
                               extension */
    int keep_going;
    int progress;           /* a progress bar on stderr */
    void (*on_input)(const faces_done *done, void *ctx);
    void *ctx;
} faces_job;

int faces_job_run(const faces_job *job, char *const *inputs, int n, job_tally *tally);

/* ---- MTCNN faces of each sampled frame (avemo detect) ---- */

typedef struct {
    long source_frame;  /* the clip's frame; -1 past its end (not searched) */
    int n_faces;
    mtcnn_face *faces;
} detect_frame;

typedef struct {
    const char *path;
    int status;
    int decoded;              /* the frames were read: the fields below hold */
    int width, height;
    long total_frames;
    double fps;               /* 0 for a still image */
    int n_sampled;            /* frames sampled */
    int n_searched;           /* of those, searched (all, unless the search failed part-way) */
    const detect_frame *frames; /* [n_searched] */
} detect_done;

typedef struct {
    int frames;               /* sampled per video, over `window` (a still image gives one) */
    frame_window window;
    mtcnn_config mtcnn;
    const char *mtcnn_path;   /* NULL: data/weights.h's search */
    void (*on_input)(const detect_done *done, void *ctx);
    void *ctx;
} detect_job;

int detect_job_run(const detect_job *job, char *const *inputs, int n, job_tally *tally);

/* ---- ImageNet classes of images (avemo classify-imagenet) ---- */

typedef struct {
    int index; /* in the classifier's output */
    float prob;
    const char *label;
} classify_class;

typedef struct {
    const char *path;
    int status;
    int n_top;
    const classify_class *top; /* [n_top], most probable first */
} classify_done;

typedef struct {
    const char *backbone;    /* MobileNetV2 with its classifier (e.g. avemo import --from tflite) */
    const char *labels_path; /* one label per line; NULL: the backbone's metadata class_names. A 1001-line list
                                whose first is the background also serves a 1000-class classifier */
    int top;                 /* classes listed per image (at most the classifier's) */
    double crop;             /* 0: the whole image resampled to 224 x 224 (TFLite's label_image; area filter when
                                shrinking); else first the centred square of side crop x the shorter side (0.875:
                                torchvision's resize 256 + centre crop 224) */
    void (*on_input)(const classify_done *done, void *ctx);
    void *ctx;
} classify_job;

/* Each image embedded by the featurizer (BT.601 luma for a 1-channel stem, normalised as the backbone's metadata
 * says), then the classifier and a softmax. Errors before the first image: no classifier, no labels, a label
 * count that fits neither the classes nor the classes plus background. */
int classify_job_run(const classify_job *job, char *const *inputs, int n, job_tally *tally);

#endif
