/* The featurizer (data/featurizer.h) over many inputs, with the outputs the commands write:
 *
 *   avemo features           audio features (or the fitted waveforms) of many files -> one float32 .npy
 *                            [inputs, C, F], failures listed in OUT.npy.failed.txt
 *   avemo embed              backbone embeddings of an image array .npy -> float32 [N, 1280]
 *   avemo faces              per input, its face crops .npy and a JSON of the boxes
 *   avemo classify-imagenet  the ImageNet classes of images through a backbone that keeps its classifier
 *
 * The commands parse their options and print; what they compute and write is here.
 */
#ifndef AVEMO_DATA_FEATURIZER_JOBS_H
#define AVEMO_DATA_FEATURIZER_JOBS_H
#include "core/progress.h"
#include "data/featurizer.h"
#include "io/npy.h"
#include "model/mobilenetv2.h"

/* ---- audio features of many files (avemo features) ---- */

typedef struct {
    int waveform;   /* rows are the fitted clips [1, clip_samples] instead of the features [C, F] */
    int keep_going; /* go on after a bad input; else stop at the first (a runtime failure always stops) */
    int threads;    /* worker threads; 0 = OpenMP's default */
    progress *bar;  /* updated per input; NULL: none */
} audio_rows_options;

typedef struct {
    long n;           /* inputs */
    int channels;     /* row shape [channels, frames] */
    long frames;
    float *rows;      /* [n, channels * frames] in input order (a failed input's row is undefined) */
    int *status;      /* [n]: AVEMO_OK, or the input's failure (0 too for inputs skipped after a stop) */
    char **why;       /* [n]: the failure's message (malloc'd; NULL when none or out of memory) */
} audio_rows;

/* The rows of paths [n] through the featurizer (opened with audio). Returns an error only for the run as a
 * whole (out of memory); per-input failures are in out->status. */
int audio_rows_compute(const featurizer *f, char *const *paths, long n, const audio_rows_options *o, audio_rows *out);
/* 1 for a failure that is the machine's (out of memory, internal), 0 for a bad input. */
int audio_rows_runtime_failure(int status);
/* Moves the good rows to the front, in input order, and writes them as float32 [good, channels, frames] to
 * path (nothing written when none is good). *n_good: how many. */
int audio_rows_write_npy(audio_rows *r, const char *path, long *n_good);
/* "index<TAB>path<TAB>reason" per failed input (index from 0 in input order), written atomically. */
int audio_rows_write_failed(const audio_rows *r, char *const *paths, const char *path);
void audio_rows_free(audio_rows *r);

/* ---- embeddings of an image array (avemo embed) ---- */

/* images: uint8 or float32 [N, H, W] or [N, H, W, 3], 32 <= H, W <= 4096. Errors name `path`. */
int embed_check_images(const npy_array *images, const char *path, int *n, int *h, int *w, int *channels);
/* Embeddings out [N, 1280] of the checked images, `batch` per backbone pass (uint8 is normalised as the
 * backbone's metadata says; float32 is taken as normalised). */
int embed_images(const featurizer *f, const npy_array *images, int batch, progress *bar, float *out);

/* ---- face crops of one input (avemo faces) ---- */

/* DIR/<name>.npy (uint8 [n, size, size(, 3)]) and DIR/<name>.json (per frame: status, source frame, boxes), name
 * the input's file name without its extension. */
int faces_write_outputs(const char *dir, const char *input, const uint8_t *crops, const face_frame *info, int n,
                        int n_noface, const faces_config *cfg);

/* ---- ImageNet check of a backbone (avemo classify-imagenet) ---- */

#define CLASSIFY_SIZE 224

typedef struct {
    mobilenetv2 net;     /* with its classifier */
    featurizer embed;    /* its embeddings (featurizer_open_backbone) */
    char **labels;       /* [n_labels] */
    int n_labels;
    int label_offset;    /* 1: the labels start with "background" (1001 labels, 1000 classes) */
} backbone_classifier;

/* The backbone (its own input channels) with its classifier, and its labels: labels_path, else the backbone's
 * metadata class_names. Errors: no classifier, no labels, a label count that fits neither the classes nor the
 * classes plus background. */
int backbone_classifier_open(backbone_classifier *c, const char *backbone, const char *labels_path);
void backbone_classifier_close(backbone_classifier *c);
/* Image file -> rgb uint8 [224, 224, 3]: the whole image resampled to 224 x 224 (TFLite's label_image; area
 * filter when shrinking), or with crop > 0 the centred square of side crop x the shorter side first (0.875:
 * torchvision's resize 256 + centre crop 224). */
int backbone_classifier_input(const backbone_classifier *c, const char *path, double crop, uint8_t *rgb);
/* probs [classes] of one input: embedded by the featurizer (BT.601 luma for a 1-channel stem, normalised as the
 * backbone's metadata says), then the classifier and a softmax. */
int backbone_classify(const backbone_classifier *c, const uint8_t *rgb, float *probs);
/* The label of class k. */
const char *backbone_classifier_label(const backbone_classifier *c, int k);

#endif
