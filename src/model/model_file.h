/* A trained model on disk (safetensors, spec 6): the head's parameters and BN statistics under their layout
 * names, the per-coefficient feature statistics of the training fold (audio_mean/audio_std [C],
 * video_mean/video_std [D]), and metadata: "format" = "avemo-model", "config" (model_config JSON),
 * "classes" (JSON array of class names), "prep" (the feature-cache settings the features were made with,
 * so predict recomputes them identically), "dataset", "protocol", "fold", "selected" (how it was chosen).
 *
 * Version 2 (metadata "format_version" = "2"; a file without it is version 1, read as before), additive:
 *   "members" = "N"      a seed ensemble of N models of the same config (softmax averaged): member 0's tensors
 *                        under the plain layout names (what a version-1 reader loads), member j >= 1's under
 *                        "member<j>.<name>"
 *   "speaker_norm" = "1" trained on features standardised per speaker (each actor with its own clips' mean and
 *                        std); audio_mean/audio_std are then the training clips' global statistics, the fallback
 *                        for an input whose speaker has no statistics
 *   "temperature" = "T" the calibration temperature (issue 16; absent: 1): predictions are the ensemble's mean
 *                        softmax p raised to 1/T and renormalised (for one model exactly softmax(logits / T));
 *                        "calibration" says how T was fitted (avemo calibrate). Readers that predate it ignore both.
 * A file of a later version than MODEL_FILE_VERSION is refused.
 *
 * A model whose MobileNetV2 was fine-tuned with the head (train --finetune) also holds the backbone: every
 * tensor of its state_dict as "backbone.<torchvision name>" (BN not folded: weight, bias, running statistics),
 * and metadata "backbone" = {"input_size": S, "in_channels", "padding", "input_norm", "bn_eps",
 * "num_batches_tracked"}: the video features are then that backbone's, on frames resized to S x S
 * (data/featurizer.h), not those of a frozen backbone named in the prep settings. A fine-tuned model is a
 * single model (members = 1). */
#ifndef AVEMO_MODEL_MODEL_FILE_H
#define AVEMO_MODEL_MODEL_FILE_H
#include "io/safetensors.h"
#include "model/mobilenetv2.h"
#include "model/model.h"

#define MODEL_FILE_FORMAT "avemo-model" /* metadata "format" */
#define MODEL_FILE_MAX_CLASSES 64
#define MODEL_FILE_CLASS_NAME_MAX 64 /* bytes of a class name */
#define MODEL_FILE_VERSION 2
#define MODEL_FILE_MAX_MEMBERS 32 /* ensemble members */

typedef struct {
    model *m;                                  /* member 0: the model, or the first of an ensemble */
    int n_members;                             /* load: 1 or more; save: 0 is read as 1 (m alone) */
    model *members[MODEL_FILE_MAX_MEMBERS];    /* members[0] == m; save reads members[1..n_members) */
    int speaker_norm;                          /* 1: trained with per-speaker standardisation (see above) */
    int n_classes;
    char *class_names[MODEL_FILE_MAX_CLASSES];
    float *audio_mean, *audio_std; /* [cfg.audio_channels] or NULL (video-only) */
    float *video_mean, *video_std; /* [cfg.video_dim] or NULL (audio-only) */
    char *prep_json, *dataset, *protocol, *selected;
    int fold;
    mobilenetv2 *backbone;         /* the fine-tuned backbone, or NULL (features from prep's frozen backbone) */
    int input_size;                /* with a backbone: its input side S */
    float temperature;             /* the calibration temperature (load: 1 when absent); save: written when > 0, != 1 */
    char *calibration;             /* how it was fitted, or NULL */
} model_file;

/* Probabilities p [n] tempered in place: p^(1/T) renormalised (T = 1 or T <= 0: unchanged). */
void model_temper_probs(float *p, int n, float temperature);
/* Sets the metadata "temperature" (and "calibration" when not NULL) of the model file at path, rewriting only its
 * header (the tensors' bytes are copied as they are), atomically. T must be positive and finite. */
int model_file_set_temperature(const char *path, float temperature, const char *calibration);

/* Write atomically. `mf->m` (and members[1..n_members) for an ensemble, each of m's config) and the statistics
 * must be set; strings may be NULL. */
int model_file_save(const char *path, const model_file *mf);
/* Read and validate: every tensor the config declares present (for every ensemble member), float32, of exactly
 * the declared shape, every value finite (the feature statistics too, stds positive), class names
 * 1..MODEL_FILE_CLASS_NAME_MAX bytes without control characters; one line naming the tensor (or class) otherwise
 * (AVEMO_EFORMAT). Creates mf->m and every member. */
int model_file_load(const char *path, model_file *mf);
void model_file_free(model_file *mf);

/* The fine-tuned backbone of a model file alone (for the featurizer: prep --backbone MODEL, predict):
 * *net initialised from the file's "backbone.*" tensors, *input_size its input side. AVEMO_EINVAL when the
 * file is an avemo model without a backbone. */
int model_file_load_backbone(const char *path, mobilenetv2 *net, int *input_size);
/* 1 when `path` is a safetensors file whose metadata says it is an avemo model (not a bare backbone). */
int model_file_is_model(const char *path);
/* The checks model_file_load makes, for the other readers of model files (model_init, the resume state): the
 * tensor `name` present, float32, of exactly [shape] (else AVEMO_EFORMAT naming it); x [n] (tensor `name`) finite. */
int model_file_check_tensor(const st_tensor *t, const char *name, int ndim, const int64_t *shape, const char *path);
int model_file_check_finite(const float *x, long n, const char *name, const char *path);

#endif
