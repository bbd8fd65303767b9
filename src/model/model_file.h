/* A trained model on disk (safetensors, spec 6): the head's parameters and BN statistics under their layout
 * names, the per-coefficient feature statistics of the training fold (audio_mean/audio_std [C],
 * video_mean/video_std [D]), and metadata: "format" = "avemo-model", "config" (model_config JSON),
 * "classes" (JSON array of class names), "prep" (the feature-cache settings the features were made with,
 * so predict recomputes them identically), "dataset", "protocol", "fold", "selected" (how it was chosen). */
#ifndef AVEMO_MODEL_MODEL_FILE_H
#define AVEMO_MODEL_MODEL_FILE_H
#include "io/safetensors.h"
#include "model/model.h"

#define MODEL_FILE_FORMAT "avemo-model" /* metadata "format" */
#define MODEL_FILE_MAX_CLASSES 64
#define MODEL_FILE_CLASS_NAME_MAX 64 /* bytes of a class name */

typedef struct {
    model *m;
    int n_classes;
    char *class_names[MODEL_FILE_MAX_CLASSES];
    float *audio_mean, *audio_std; /* [cfg.audio_channels] or NULL (video-only) */
    float *video_mean, *video_std; /* [cfg.video_dim] or NULL (audio-only) */
    char *prep_json, *dataset, *protocol, *selected;
    int fold;
} model_file;

/* Write atomically. `mf->m` and the statistics must be set; strings may be NULL. */
int model_file_save(const char *path, const model_file *mf);
/* Read and validate: every tensor the config declares present, float32, of exactly the declared shape, every value
 * finite (the feature statistics too, stds positive), class names 1..MODEL_FILE_CLASS_NAME_MAX bytes without
 * control characters; one line naming the tensor (or class) otherwise (AVEMO_EFORMAT). Creates mf->m. */
int model_file_load(const char *path, model_file *mf);
void model_file_free(model_file *mf);

/* The checks model_file_load makes, for the other readers of model files (model_init, the resume state): the
 * tensor `name` present, float32, of exactly [shape] (else AVEMO_EFORMAT naming it); x [n] (tensor `name`) finite. */
int model_file_check_tensor(const st_tensor *t, const char *name, int ndim, const int64_t *shape, const char *path);
int model_file_check_finite(const float *x, long n, const char *name, const char *path);

#endif
