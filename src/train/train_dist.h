/* How `avemo train` uses the ranks of an MPI job (core/dist.h; run alone, or with one rank, none of this
 * changes anything):
 *   folds  a dynamic queue of folds: each rank trains whole folds, one at a time, the next one free when it is
 *          done (ranks > folds: the extra ranks idle); then every rank gets every fold's results and rank 0
 *          writes the one report. Each fold is trained exactly as alone (seeded per (seed, fold, epoch)), so the
 *          report's numbers are a one-process run's (with the same threads per process);
 *   batch  every fold in turn, data-parallel over all ranks (train/data_parallel.h);
 *   auto   folds when the run has more than one fold, else batch.
 * Ablations (train/ablate.h) hand their rows to the ranks the same way and run each row's training alone
 * (TRAIN_DIST_NONE). */
#ifndef AVEMO_TRAIN_TRAIN_DIST_H
#define AVEMO_TRAIN_TRAIN_DIST_H
#include "train/data_parallel.h"
#include "train/report.h"
#include "train/trainer.h"

typedef struct {
    train_distribution mode; /* TRAIN_DIST_FOLDS, TRAIN_DIST_BATCH, or TRAIN_DIST_NONE: alone */
    data_parallel dp;        /* batch */
} train_dist;

/* The mode for a run of n_folds folds: NONE with one rank or when the options ask for it. */
void train_dist_plan(train_dist *d, const train_options *o, int n_folds);
/* &d->dp in batch mode, else NULL (what the trainer's steps check). */
data_parallel *train_dist_dp(train_dist *d);
/* 1 on the rank that writes the run's report and model (rank 0; every rank when NONE). */
int train_dist_writes(const train_dist *d);
/* 1 on the ranks that log every epoch (all, but rank 0 alone in batch mode: the others repeat its lines). */
int train_dist_logs(const train_dist *d);

/* Folds 0 .. n_folds-1: run_fold(ctx, k) fills frs[k] and val_best[k] and sets *fingerprint (the run's options
 * fingerprint, the same for every fold); in folds mode the folds come from the queue, then every rank gets
 * every fold's results and the fingerprint. Returns the status agreed by the ranks (alone: the first failure). */
int train_dist_folds(const train_dist *d, int n_folds, int (*run_fold)(void *ctx, int k), void *ctx,
                     fold_report *frs, float *val_best, char **fingerprint);

/* The end of train_run: the status agreed by the ranks (NONE: status). */
int train_dist_agree(const train_dist *d, int status);

#endif
