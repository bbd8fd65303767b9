/* A uniform average of the weights of several models of one recipe (a "model soup", Wortsman et al. 2022):
 * models fine-tuned from the same starting point with different seeds usually sit in one basin of the loss,
 * where the average of their weights scores like the ensemble of their predictions at the cost of one model.
 *
 * Every tensor of the first model is replaced by the mean over all models: the head's parameters and BN running
 * statistics, a fine-tuned backbone's parameters and running statistics, and the feature statistics
 * (video_mean/video_std, audio_mean/audio_std). The models must agree on everything else: config, classes,
 * backbone geometry (input size, channels, padding, input normalisation, BN eps), per-speaker standardisation,
 * and the prep settings; each must be a single model (not a seed ensemble, whose members are averaged in
 * prediction instead). The averaged model's calibration temperature is reset to 1 (refit it with avemo
 * calibrate); num_batches_tracked is the largest of the models'. */
#ifndef AVEMO_MODEL_MODEL_AVERAGE_H
#define AVEMO_MODEL_MODEL_AVERAGE_H
#include "model/model_file.h"

/* Averages the models mf[0..n) (n >= 2, loaded with model_file_load) into mf[0], in place. `paths` name them in
 * error messages. AVEMO_EINVAL naming the first file that disagrees with mf[0], and what. */
int model_average(model_file *mf, const char *const *paths, int n);

#endif
