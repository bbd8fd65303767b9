#include "train/metrics.h"

#include "core/err.h"

#include <math.h>
#include <string.h>

int metrics_rank(const float *p, int n_classes, int c) {
    int r = 0;
    for (int j = 0; j < n_classes; j++) r += p[j] > p[c] || (p[j] == p[c] && j < c);
    return r;
}

double metrics_topk(const float *probs, const int *labels, int n, int n_classes, int k) {
    if (n <= 0) return 0;
    int hit = 0;
    for (int i = 0; i < n; i++) hit += metrics_rank(probs + (long)i * n_classes, n_classes, labels[i]) < k;
    return (double)hit / n;
}

void metrics_from_confusion(eval_metrics *m) {
    int n_classes = m->n_classes, n = 0, correct = 0, n_present = 0;
    double f1_sum = 0;
    for (int c = 0; c < n_classes; c++) {
        int tp = m->confusion[c * n_classes + c], row = 0, col = 0;
        for (int j = 0; j < n_classes; j++) {
            row += m->confusion[c * n_classes + j];
            col += m->confusion[j * n_classes + c];
        }
        n += row;
        correct += tp;
        m->support[c] = row;
        m->recall[c] = row ? (double)tp / row : NAN;
        m->precision[c] = col ? (double)tp / col : NAN;
        double r = row ? m->recall[c] : 0, p = col ? m->precision[c] : 0;
        m->f1[c] = p + r > 0 ? 2 * p * r / (p + r) : 0;
        if (row || col) {
            n_present++;
            f1_sum += m->f1[c];
        }
    }
    m->n = n;
    m->top1 = n ? (double)correct / n : 0;
    m->macro_f1 = n_present ? f1_sum / n_present : 0;
}

int metrics_compute(const float *probs, const int *labels, int n, int n_classes, eval_metrics *m) {
    memset(m, 0, sizeof *m);
    if (n_classes < 1 || n_classes > METRICS_MAX_CLASSES)
        return avemo_error(AVEMO_EINVAL, "metrics: %d classes (1..%d)", n_classes, METRICS_MAX_CLASSES);
    m->n_classes = n_classes;
    int hit2 = 0, hit3 = 0;
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= n_classes)
            return avemo_error(AVEMO_EINVAL, "metrics: label %d of sample %d out of range", labels[i], i);
        const float *p = probs + (long)i * n_classes;
        int pred = 0;
        for (int j = 1; j < n_classes; j++)
            if (p[j] > p[pred]) pred = j;
        m->confusion[labels[i] * n_classes + pred]++;
        int r = metrics_rank(p, n_classes, labels[i]);
        hit2 += r < 2;
        hit3 += r < 3;
    }
    metrics_from_confusion(m);
    m->top2 = n ? (double)hit2 / n : 0;
    m->top3 = n ? (double)hit3 / n : 0;
    return AVEMO_OK;
}

void metrics_mean_std(const double *x, int n, double *mean, double *std) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = n ? s / n : 0;
    for (int i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *std = n > 1 ? sqrt(ss / (n - 1)) : 0;
}
