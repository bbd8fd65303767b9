/* A trained model on disk (safetensors, spec 6): the head's parameters and BN statistics under their layout
 * names, the per-coefficient feature statistics of the training fold (audio_mean/audio_std [C],
 * video_mean/video_std [D]), and metadata: "format" = "avemo-model", "config" (model_config JSON),
 * "classes" (JSON array of class names), "prep" (the feature-cache settings the features were made with,
 * so predict recomputes them identically), "dataset", "protocol", "fold", "selected" (how it was chosen). */
#ifndef AVEMO_MODEL_MODEL_FILE_H
#define AVEMO_MODEL_MODEL_FILE_H
#include "model/model.h"

#define MODEL_FILE_FORMAT "avemo-model" /* metadata "format" */
#define MODEL_FILE_MAX_CLASSES 64

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
/* Read and validate (every tensor present with the expected shape); creates mf->m. */
int model_file_load(const char *path, model_file *mf);
void model_file_free(model_file *mf);

#endif
