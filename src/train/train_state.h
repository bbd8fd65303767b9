/* A fold's resume state, RUN/fold_K/state.safetensors (train/trainer.h), written atomically after every
 * epoch: tensors "param" [n_params], "buffer" [n_buffers] (BN running statistics), the optimizer moments
 * "opt_m" and "opt_v" [n_params] (each when the optimizer has it), "best" [n_params + n_buffers] (the
 * selected epoch's weights, once there is one); metadata "history" (the train_history as JSON) and
 * "options" (the run's options fingerprint: a state is only resumed by the same options and data). */
#ifndef AVEMO_TRAIN_TRAIN_STATE_H
#define AVEMO_TRAIN_TRAIN_STATE_H
#include "model/model.h"

typedef struct {
    int epoch;           /* completed epochs */
    long step;           /* optimizer steps taken */
    int best_epoch;      /* 1-based, 0 = none yet */
    double best_val;     /* NaN = none */
    float *train_loss, *train_acc, *val_loss, *val_acc; /* [epochs] */
} train_history;

/* More tensors a trainer keeps in its state (the fine-tuning trainer: the backbone, its BN statistics and
 * optimizer moments): `count` floats at `data`, saved under `name` and required on load. */
typedef struct {
    const char *name;
    float *data;
    long count;
} train_state_extra;

/* opt_m, opt_v and best may be NULL (not written). */
int train_state_save(const char *path, const model *m, const float *opt_m, const float *opt_v, const float *best,
                     const train_history *h, const char *fingerprint);
/* Restore a state written by train_state_save with the same `fingerprint` into m, the moments (those given and
 * stored), best (*have_best set when stored) and h (whose arrays hold `epochs` values). */
int train_state_load(const char *path, model *m, float *opt_m, float *opt_v, float *best, int *have_best,
                     train_history *h, const char *fingerprint, int epochs);

/* The same with extra tensors (x [n_extra]; on load each must be there with its count). */
int train_state_save_ex(const char *path, const model *m, const float *opt_m, const float *opt_v, const float *best,
                        const train_history *h, const char *fingerprint, const train_state_extra *x, int n_extra);
int train_state_load_ex(const char *path, model *m, float *opt_m, float *opt_v, float *best, int *have_best,
                        train_history *h, const char *fingerprint, int epochs, const train_state_extra *x,
                        int n_extra);

#endif
