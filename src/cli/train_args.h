/* Training options shared by avemo train and avemo ablate (train/trainer.h's train_options). */
#ifndef AVEMO_CLI_TRAIN_ARGS_H
#define AVEMO_CLI_TRAIN_ARGS_H
#include "train/trainer.h"

/* Apply one training option that takes a value (--protocol, --init-visual, --folds, --epochs, --batch, --seed,
 * --optimizer, --lr, --momentum, --dampening, --weight-decay, --schedule, --milestones, --gamma, --dropout,
 * --label-smoothing, --modality-dropout) to *t. Returns 1 when applied, 0 when `opt` is not one of these, -1
 * when the value is bad. Ranges checked here: folds, epochs, batch >= 1; lr > 0; milestones a comma list of
 * ints >= 0; the named choices. Dropout and label smoothing are not range-checked (the model config is). */
int train_args_parse(train_options *t, const char *opt, const char *v);

#endif
