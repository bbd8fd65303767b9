/* What train/trainer.c shares with the fine-tuning trainer (train/finetune.c), which trains a fold its own way
 * but within the same run: the protocol's folds, seeds, log lines, options fingerprint (resume), the fold's
 * model file and plots, and the run's report are train_run's. Internal to train/. */
#ifndef AVEMO_TRAIN_TRAINER_RUN_H
#define AVEMO_TRAIN_TRAINER_RUN_H
#include "data/cache.h"
#include "data/protocol.h"
#include "model/model_file.h"
#include "train/data_parallel.h"
#include "train/report.h"
#include "train/train_state.h"
#include "train/trainer.h"

typedef struct {
    const train_options *options;
    const feature_cache *cache;
    const char *protocol;
    char *fingerprint; /* the current fold's options fingerprint (the same for every fold of a run) */
    data_parallel *dp; /* under MPI, data-parallel (train/data_parallel.h); NULL: this process alone */
    const feature_cache *extra; /* options->train_extra opened (train/train_data.h) */
    int n_extra;
} run_ctx;

/* Independent seeds for (fold, epoch, purpose). */
uint64_t train_derive_seed(uint64_t seed, int fold, int epoch, int purpose);
/* One progress line to the options' log function (none when quiet). */
void train_log(const train_options *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The run's options as canonical JSON (a state is only resumed by the same options and data); malloc'd. */
char *train_fingerprint(const train_options *o, const model_config *cfg, uint64_t data_hash, const char *protocol);

/* fr's sample counts, selection and actors for fold f (its metrics are the caller's). */
void train_fold_report_init(fold_report *fr, const fold *f, const train_history *h, int n_train, int n_val);
/* RUN/fold_K/model.safetensors from *mf (whose model, statistics and backbone the caller set; the class
 * names, prep settings, dataset, protocol, fold and selection are filled here), the learning curves and, with
 * test samples, the confusion matrix of fr. */
int train_save_fold_files(const run_ctx *run, int k, const char *dir, model_file *mf, const train_history *h,
                          int has_val, const fold_report *fr);

#endif
