/* The training options shared by avemo train and avemo ablate, as a cli_args table over train/trainer.h's
 * train_options (a command puts it in a cli_group whose base is where its train_options sits). */
#ifndef AVEMO_CLI_TRAIN_ARGS_H
#define AVEMO_CLI_TRAIN_ARGS_H
#include "cli/cli_args.h"
#include "train/trainer.h"

/* --protocol, --folds, --epochs, --batch, --seed, --optimizer, --lr, --momentum, --dampening, --weight-decay,
 * --nesterov, --schedule, --milestones, --gamma, --dropout, --label-smoothing, --modality-dropout,
 * --audio-pool-stride, --speaker-norm, --ensemble, --refit, the augmentations (--time-shift, --time-mask,
 * --freq-mask, --noise, --speed, --mixup), --init-visual. Ranges: folds, epochs, batch >= 1; lr > 0; milestones up to TRAIN_MAX_MILESTONES ints >= 0;
 * dropout and label smoothing in [0, 1) (what the model config accepts). */
extern const cli_option train_cli_options[];

#endif
