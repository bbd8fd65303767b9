/* Initialising part of a new model from a trained model file (train --init-visual: the visual stream
 * pre-trained on still faces, e.g. FER2013, copied into an audio-visual model before training). */
#ifndef AVEMO_MODEL_MODEL_INIT_H
#define AVEMO_MODEL_MODEL_INIT_H
#include "model/model.h"

/* The prefix of the visual temporal stream's tensors (model/temporal_stream.c). */
#define MODEL_VISUAL_PREFIX "video."

/* Copy into m every tensor (parameter or BN running statistic) whose name starts with `prefix` from the
 * model file `path` (model/model_file.h: tensors under their layout names). Every such tensor of m must be
 * in the file with the same shape; tensors of the file that m lacks are ignored. *n_copied (may be NULL)
 * = tensors copied. Errors: unreadable file, not an avemo model, none or only some of m's tensors there, a
 * shape that differs (e.g. another video feature size). */
int model_init_from_file(model *m, const char *path, const char *prefix, int *n_copied);

#endif
