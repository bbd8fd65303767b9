/* Training and evaluation on a prepared feature cache (spec 5): speaker-independent folds, SGD/Adam with
 * the baseline's schedule, model selection on validation actors, resumable per-epoch state, reports.
 * Issue 13 (the voice stream) adds: the one-cycle schedule, audio augmentations (train/augment.h), per-speaker
 * standardisation, seed ensembles and a refit on all non-test actors; train/recipe.h names the presets.
 *
 *   RUN/fold_K/state.safetensors    resume state after each epoch (atomic): weights, BN statistics,
 *                                   optimizer state, the best-validation weights, history
 *   RUN/fold_K/state_m<J>.safetensors, state_refit*.safetensors: the same for ensemble member J >= 2 and for
 *                                   the refits
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
#include "train/augment.h"
#include "train/metrics.h"
#include "vision/augment.h"

#include <stdint.h>

typedef enum { OPT_SGD = 0, OPT_ADAM, OPT_ADAMW } optimizer_kind;
/* onecycle: OneCycleLR per optimizer step (nn.h's lr_onecycle: pct_start 0.3, div 25, final div 1e4), with
 * torch's cycle_momentum (SGD momentum / Adam beta1 between 0.85 and 0.95) */
typedef enum { SCHED_MULTISTEP = 0, SCHED_COSINE, SCHED_CONSTANT, SCHED_ONECYCLE } schedule_kind;
/* How a run uses the ranks of an MPI job (train/train_dist.h); alone it changes nothing. */
typedef enum { TRAIN_DIST_AUTO = 0, TRAIN_DIST_FOLDS, TRAIN_DIST_BATCH, TRAIN_DIST_NONE } train_distribution;

#define TRAIN_MAX_MILESTONES 16
#define TRAIN_MAX_ENSEMBLE 16
#define TRAIN_MAX_EXTRA 4 /* --train-extra caches */
typedef struct {
    const char *cache[TRAIN_MAX_EXTRA];
    int n;
} train_extra_list;

/* End-to-end fine-tuning of MobileNetV2 with the head (train/finetune.h): BN of the backbone in train mode
 * (batch statistics, running statistics updated), frozen (eval mode: running statistics; weight and bias
 * trained) or fixed (eval mode, weight and bias not trained either). */
typedef enum { FT_BN_TRAIN = 0, FT_BN_FROZEN, FT_BN_FIXED } finetune_bn;

typedef struct {
    int enabled;                /* --finetune: train the backbone too, on the cache's face frames */
    const char *backbone_path;  /* MobileNetV2 weights to start from (avemo import), required */
    int input_size;             /* S: frames are rendered at S x S (default 96) */
    finetune_bn bn;             /* default FT_BN_TRAIN */
    int bn_data_init;           /* 1: before training, the BN statistics of the (folded) imported weights are
                                   measured on training images and the BN weight/bias set so that the network
                                   computes the same function (train-mode BN then starts from the pretrained
                                   function instead of from identity statistics) */
    float backbone_lr;          /* backbone learning rate = backbone_lr x lr (default 1) */
    float layer_decay;          /* and x layer_decay^(51 - unit) for the 52 conv units (default 1 = none) */
    float warmup_epochs;        /* linear warm-up of every learning rate from 0 over this many epochs (per
                                   step; default 0) */
    augment_config augment;     /* training-time views (vision/augment.h); augment.enabled = 0: none */
    float mixup, cutmix;        /* Beta(a, a) parameters; 0 = off. Both on: one of the two per batch, evenly */
    float mix_prob;             /* probability that a batch is mixed (default 1 when mixup or cutmix is on) */
    int tta;                    /* views averaged when scoring the held-out / test samples: 1, 2 or 10 */
    int stats_images;           /* training images used for the BN data init and the feature statistics */
} finetune_options;

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
    finetune_options finetune;     /* finetune.enabled: train/finetune.c trains each fold instead */
    int max_train_samples;         /* > 0: only the first N training samples of each fold (quick runs, tests) */
    const char *recipe;            /* the preset the options started from (train/recipe.h), for the reports */
    audio_augment augment;         /* audio feature augmentations (all off by default) */
    int speaker_norm;              /* 1: audio standardised per actor with the actor's own clips (data/speaker_norm.h) */
    int ensemble;                  /* seed-ensemble members per fold (softmax averaged; 0 or 1: one model); member 1
                                      uses --seed, member J a seed derived from it */
    int refit;                     /* 1: each member, once selected on the validation actors at epoch E, is trained
                                      again from scratch on the training + validation actors for E epochs, and that
                                      final model is the one tested and saved */
    train_extra_list train_extra;  /* caches of extra training copies of the same clips (e.g. prep --speed 0.9 and
                                      1.1; train/train_data.h), --modality audio */
    train_distribution distribute; /* under mpirun / srun: folds over the ranks, or each batch (data-parallel) */
    int local_bn;                  /* data-parallel: BN statistics of each rank's rows (default: the batch's) */
} train_options;

/* Defaults of spec 5 (the baseline, train/recipe.h's "paper"): SGD momentum 0.9 dampening 0.9, lr 0.04, wd 1e-3,
 * batch 8, 100 epochs, lr x0.1 at epochs 40, 55, 65, 70; no augmentation, one model, global statistics.
 * Fine-tuning off (its own defaults set: finetune_options_default). */
void train_options_default(train_options *o);

/* Train every fold, test the selected model of each, write the run's reports. */
int train_run(const train_options *o);

/* Evaluate a saved model on a cache: all samples that have the model's modalities, or only those of the
 * given actors. Fills *out (probabilities ranked per metrics.h). */
typedef struct {
    const char *model_path, *cache_dir;
    const int *actors;             /* NULL: every actor */
    int n_actors;
    int tta;                       /* a model with a fine-tuned backbone: test-time views averaged (1, 2 or 10;
                                      0 = 1) */
    const char *protocol;          /* NULL, or only the test samples of this protocol's first fold (e.g.
                                      "holdout:1": the held-out part a fine-tuning run was scored on) */
    uint64_t seed;                 /* the protocol's seed where it draws (kfold's validation actors): 1 */
    int speaker_norm;              /* 1: audio standardised per actor from the evaluated clips (the model must have
                                      been trained with speaker_norm); 0: the model file's statistics */
    void (*log)(const char *line, void *ctx); /* the per-speaker clip counts (speaker_norm); NULL = nowhere */
    void *log_ctx;
    int fold;                      /* with protocol: this fold (0-based; 0 = the first) */
    int validation;                /* with protocol: the fold's validation samples instead of its test samples */
    const char *probs_csv;         /* eval_run: also each sample's probabilities at this path
                                      (eval_probs_write_csv); NULL: none */
} eval_options;
int eval_run(const eval_options *o, eval_metrics *out);

/* eval_run's samples' probabilities (the ensemble's mean softmax, test-time views averaged, no temperature),
 * labels and sample ids: probs [n, n_classes], labels [n], ids [n] (the cache's sample ids), class_names
 * [n_classes]; all malloc'd (eval_probs_free). */
typedef struct {
    float *probs;
    int *labels;
    char **ids, **class_names;
    int n, n_classes;
} eval_probs;
int eval_predict(const eval_options *o, eval_probs *out);
void eval_probs_free(eval_probs *p);
/* p as CSV at path, written atomically: a header "id,label,<class names>", then per sample its id, its label's
 * class name and its probabilities (%.6g). */
int eval_probs_write_csv(const eval_probs *p, const char *path);

#endif
