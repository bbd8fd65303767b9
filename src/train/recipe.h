/* Named training presets (issue 13). A recipe sets train_options fields (optimizer, schedule, epochs, batch,
 * augmentations, ensemble, the audio stream variant); options given explicitly on the command line are applied
 * after it, so they override the preset.
 *
 *   paper   spec 5's defaults, the paper's and the baseline's exact settings (train_options_default): SGD 0.04,
 *           momentum and dampening 0.9, weight decay 1e-3, batch 8, 100 epochs, lr x0.1 at 40, 55, 65, 70;
 *           no augmentation, one model, the chosen audio stream as is. `avemo ablate` always uses it.
 *   voice   the best audio-only recipe measured on RAVDESS (bench/RESULTS.md, "The voice stream"): see
 *           recipe.c for the values and the measurements that chose each. The default of
 *           `avemo train --modality audio`. */
#ifndef AVEMO_TRAIN_RECIPE_H
#define AVEMO_TRAIN_RECIPE_H
#include "train/trainer.h"

/* The default recipe for a modality: "voice" for audio only, "paper" otherwise. */
const char *train_recipe_default(model_modality modality);
/* Reset *o's training fields to the recipe's (o->cache_dir, run_dir, protocol, log, model.modality and
 * model.fusion are kept). AVEMO_EINVAL naming the recipes for an unknown name. */
int train_recipe_apply(train_options *o, const char *name);

#endif
