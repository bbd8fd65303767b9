/* Training and evaluation on a prepared feature cache (spec 5): speaker-independent folds, SGD/Adam with
 * the baseline's schedule, model selection on validation actors, resumable per-epoch state, reports.
 *
 *   RUN/fold_K/state.safetensors    resume state after each epoch (atomic): weights, BN statistics,
 *                                   optimizer state, the best-validation weights, history
 *   RUN/fold_K/model.safetensors    the fold's selected model (best validation top-1; the final epoch's
 *                                   when the protocol has no validation actors)
 *   RUN/fold_K/{confusion,learning_curves}.png
 *   RUN/model.safetensors           the selected model of the fold with the best validation top-1
 *   RUN/report.json, RUN/report.md, RUN/confusion.png (all folds' test predictions pooled)
 *
 * Reproducible: every random draw (initialisation, batch order, dropout, modality dropout) comes from
 * seeds derived from (seed, fold, epoch), so a run resumed after a kill gives the same numbers as an
 * uninterrupted one (same thread count). */
#ifndef AVEMO_TRAIN_TRAINER_H
#define AVEMO_TRAIN_TRAINER_H
#include "model/config.h"
#include "train/metrics.h"

#include <stdint.h>

typedef enum { OPT_SGD = 0, OPT_ADAM, OPT_ADAMW } optimizer_kind;
typedef enum { SCHED_MULTISTEP = 0, SCHED_COSINE, SCHED_CONSTANT } schedule_kind;
/* How a run uses the ranks of an MPI job (train/train_dist.h); alone it changes nothing. */
typedef enum { TRAIN_DIST_AUTO = 0, TRAIN_DIST_FOLDS, TRAIN_DIST_BATCH, TRAIN_DIST_NONE } train_distribution;

#define TRAIN_MAX_MILESTONES 16

typedef struct {
    const char *cache_dir, *run_dir;
    const char *protocol;          /* NULL: the dataset's default */
    uint64_t seed;
    int epochs, batch;
    optimizer_kind optimizer;
    float lr, momentum, dampening, weight_decay;
    int nesterov;
    schedule_kind schedule;
    int milestones[TRAIN_MAX_MILESTONES], n_milestones;
    float gamma;                   /* multistep factor */
    float min_lr;                  /* cosine floor */
    model_config model;            /* modality, fusion, widths; data dims and n_classes come from the cache */
    int max_folds;                 /* 0 = all folds */
    int resume;                    /* continue from RUN/fold_K/state.safetensors */
    int quiet;                     /* no per-epoch lines */
    /* Where progress lines go (one line each, no newline); NULL = nowhere. The library itself never prints:
     * the CLI passes a function that writes to stderr. */
    void (*log)(const char *line, void *ctx);
    void *log_ctx;
    const char *init_visual;       /* a model file whose visual stream (tensors "video.*") initialises this
                                      model's before training (model/model_init.h); NULL = random init */
    int stop_after_epochs;         /* > 0: return after this many epochs of this call, as if killed right after
                                      that epoch's state write (tests of --resume); 0 = run to the end */
    train_distribution distribute; /* under mpirun / srun: folds over the ranks, or each batch (data-parallel) */
    int local_bn;                  /* data-parallel: BN statistics of each rank's rows (default: the batch's) */
} train_options;

/* Defaults of spec 5 (the baseline): SGD momentum 0.9 dampening 0.9, lr 0.04, wd 1e-3, batch 8, 100 epochs,
 * lr x0.1 at epochs 40, 55, 65, 70. */
void train_options_default(train_options *o);

/* Train every fold, test the selected model of each, write the run's reports. */
int train_run(const train_options *o);

/* Evaluate a saved model on a cache: all samples that have the model's modalities, or only those of the
 * given actors. Fills *out (probabilities ranked per metrics.h). */
typedef struct {
    const char *model_path, *cache_dir;
    const int *actors;             /* NULL: every actor */
    int n_actors;
} eval_options;
int eval_run(const eval_options *o, eval_metrics *out);

#endif
