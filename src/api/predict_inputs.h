/* Internal to the library and its tests (not in include/avemo.h): the model's inputs that avemo_predict_file
 * feeds the head, so a test can compare them with the training pipeline's (the prep cache through the loader
 * and the fold's standardisation) bit for bit. */
#ifndef AVEMO_API_PREDICT_INPUTS_H
#define AVEMO_API_PREDICT_INPUTS_H
#include "avemo.h"
#include "data/featurizer.h"

/* What avemo_predict_file computes before the head: *audio [F, C] and *video [T, D], standardised, malloc'd;
 * NULL for a stream the model does not read or the file lacks (then fed as zeros). r gets the timings and the
 * stream and frame counts. */
int predict_file_inputs(avemo_model *model, const char *path, avemo_result *r, float **audio, float **video);

/* The featurizer the model was opened with (its settings, detector and backbone; read-only): the per-person
 * timeline (api/avemo_timeline.c) crops faces as the model's frames were made. */
const featurizer *predict_featurizer(const avemo_model *model);

#endif
