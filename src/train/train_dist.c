/* train_run over the ranks of an MPI job (see train/train_dist.h). */
#include "train/train_dist.h"

#include "core/dist.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

void train_dist_plan(train_dist *d, const train_options *o, int n_folds) {
    memset(d, 0, sizeof *d);
    d->mode = TRAIN_DIST_NONE;
    if (dist_size() == 1 || o->distribute == TRAIN_DIST_NONE) return;
    d->mode = o->distribute == TRAIN_DIST_AUTO ? (n_folds > 1 ? TRAIN_DIST_FOLDS : TRAIN_DIST_BATCH) : o->distribute;
    if (d->mode == TRAIN_DIST_BATCH) dp_init(&d->dp, o->local_bn);
}

data_parallel *train_dist_dp(train_dist *d) { return d->mode == TRAIN_DIST_BATCH ? &d->dp : NULL; }

int train_dist_writes(const train_dist *d) { return d->mode == TRAIN_DIST_NONE || dist_rank() == 0; }

int train_dist_logs(const train_dist *d) { return d->mode != TRAIN_DIST_BATCH || dist_rank() == 0; }

/* One fold's results, as the ranks exchange them. */
typedef struct {
    fold_report report;
    float val_best;
} fold_result;

typedef struct {
    int (*run_fold)(void *ctx, int k);
    void *ctx;
    fold_report *frs;
    float *val_best;
    fold_result *results;
} fold_queue;

static int run_queued_fold(void *arg, int k) {
    fold_queue *q = arg;
    int rc = q->run_fold(q->ctx, k);
    q->results[k].report = q->frs[k];
    q->results[k].val_best = q->val_best[k];
    return rc;
}

static int folds_from_queue(int n_folds, fold_queue *q, char **fingerprint) {
    int *owner = malloc((size_t)n_folds * sizeof *owner);
    q->results = calloc((size_t)n_folds, sizeof *q->results);
    int rc = owner && q->results ? AVEMO_OK : avemo_error(AVEMO_ENOMEM, "out of memory");
    rc = dist_agree(rc);
    if (!rc) rc = dist_run_items(n_folds, run_queued_fold, q, q->results, sizeof *q->results, owner);
    /* every fold has the same fingerprint: the one of the rank that ran the last fold */
    if (!rc) rc = dist_agree(dist_bcast_string(fingerprint, owner[n_folds - 1]));
    for (int k = 0; !rc && k < n_folds; k++) {
        q->frs[k] = q->results[k].report;
        q->val_best[k] = q->results[k].val_best;
    }
    free(owner);
    free(q->results);
    return rc;
}

int train_dist_folds(const train_dist *d, int n_folds, int (*run_fold)(void *ctx, int k), void *ctx,
                     fold_report *frs, float *val_best, char **fingerprint) {
    if (d->mode == TRAIN_DIST_FOLDS) {
        fold_queue q = {run_fold, ctx, frs, val_best, NULL};
        return folds_from_queue(n_folds, &q, fingerprint);
    }
    int rc = AVEMO_OK;
    for (int k = 0; k < n_folds && !rc; k++) rc = run_fold(ctx, k);
    return d->mode == TRAIN_DIST_BATCH ? dist_agree(rc) : rc;
}

int train_dist_agree(const train_dist *d, int status) { return d->mode == TRAIN_DIST_NONE ? status : dist_agree(status); }
