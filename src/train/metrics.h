/* Classification metrics (spec section 5): top-1 / top-k accuracy from class probabilities, confusion
 * matrix, per-class recall and precision, macro-F1; mean and standard deviation over folds.
 *
 * Conventions (stated so numbers can be compared):
 *  - ties: a class ranks above the true class if its probability is larger, or equal with a lower index
 *    (so top-1 is the first arg-max, as numpy/torch argmax);
 *  - macro-F1 averages F1 over the classes that occur in the labels or the predictions (sklearn's
 *    f1_score(average='macro') default); F1 of a class with precision + recall = 0 is 0;
 *  - recall / precision of a class with no true / no predicted sample is NaN (JSON null);
 *  - std over folds is the sample standard deviation (ddof = 1); 0 for a single fold.
 */
#ifndef AVEMO_TRAIN_METRICS_H
#define AVEMO_TRAIN_METRICS_H

#define METRICS_MAX_CLASSES 64

typedef struct {
    int n_classes, n;
    double top1, top2, top3; /* fractions in [0, 1] */
    double macro_f1;
    double recall[METRICS_MAX_CLASSES], precision[METRICS_MAX_CLASSES], f1[METRICS_MAX_CLASSES];
    int support[METRICS_MAX_CLASSES];                          /* true samples per class */
    int confusion[METRICS_MAX_CLASSES * METRICS_MAX_CLASSES]; /* [true][predicted], row-major */
} eval_metrics;

/* probs [n, n_classes] (any scores: only their order matters), labels [n]. */
int metrics_compute(const float *probs, const int *labels, int n, int n_classes, eval_metrics *m);

/* Fraction of rows whose label ranks in the top k (ties as above). */
double metrics_topk(const float *probs, const int *labels, int n, int n_classes, int k);
/* 0-based rank of class c in row p (ties as above). */
int metrics_rank(const float *p, int n_classes, int c);

/* Recompute recall, precision, F1, macro-F1 and top-1 from m->confusion (e.g. after summing folds). */
void metrics_from_confusion(eval_metrics *m);

/* Mean and sample std (ddof 1) of x[n]; std 0 when n < 2. */
void metrics_mean_std(const double *x, int n, double *mean, double *std);

#endif
