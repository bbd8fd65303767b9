#include "test.h"

#include "train/metrics.h"
#include "avemo.h"

#include <math.h>
#include <string.h>

/* 3 classes, 6 samples, worked by hand:
 *   i label probs            pred rank-of-label
 *   0   0   .7 .2 .1          0    0
 *   1   0   .1 .6 .3          1    2
 *   2   1   .2 .5 .3          1    0
 *   3   1   .6 .3 .1          0    1
 *   4   2   .3 .3 .4          2    0
 *   5   2   .4 .4 .2          0    2   (tie .4/.4: class 0 first, class 1 ranks above 2 too)
 * confusion [true][pred] = [[1,1,0],[1,1,0],[1,0,1]]
 * top1 = 3/6, top2 = 4/6 (ranks < 2: samples 0,2,3,4), top3 = 1
 * recall = 1/2, 1/2, 1/2; precision = 1/3, 1/2, 1; F1 = 0.4, 0.5, 2/3; macro-F1 = (0.4+0.5+0.6667)/3 = 0.52222 */
static const float P[18] = {.7f, .2f, .1f, .1f, .6f, .3f, .2f, .5f, .3f, .6f, .3f, .1f, .3f, .3f, .4f, .4f, .4f, .2f};
static const int L[6] = {0, 0, 1, 1, 2, 2};

static void test_hand_case(void) {
    eval_metrics m;
    CHECK(metrics_compute(P, L, 6, 3, &m) == 0, "%s", avemo_last_error());
    const double tol = 1e-12; /* exact ratios of small integers in double */
    CHECK(fabs(m.top1 - 0.5) < tol && fabs(m.top2 - 4.0 / 6) < tol && fabs(m.top3 - 1) < tol, "top-k %g %g %g", m.top1,
          m.top2, m.top3);
    static const int conf[9] = {1, 1, 0, 1, 1, 0, 1, 0, 1};
    CHECK(!memcmp(m.confusion, conf, sizeof conf), "confusion");
    CHECK(fabs(m.precision[0] - 1.0 / 3) < tol && fabs(m.precision[2] - 1) < tol, "precision");
    for (int c = 0; c < 3; c++) CHECK(fabs(m.recall[c] - 0.5) < tol && m.support[c] == 2, "recall %d", c);
    CHECK(fabs(m.f1[0] - 0.4) < tol && fabs(m.f1[1] - 0.5) < tol && fabs(m.f1[2] - 2.0 / 3) < tol, "f1");
    CHECK(fabs(m.macro_f1 - (0.4 + 0.5 + 2.0 / 3) / 3) < tol, "macro-F1 %g", m.macro_f1);
    CHECK(fabs(metrics_topk(P, L, 6, 3, 1) - 0.5) < tol, "topk(1)");
    CHECK(metrics_rank(P + 15, 3, 2) == 2 && metrics_rank(P + 15, 3, 1) == 1, "tie ranks");
}

static void test_absent_class(void) {
    /* class 2 never occurs nor is predicted: excluded from macro-F1, recall NaN */
    const float p[4] = {.9f, .1f, .2f, .8f};
    const float p3[6] = {p[0], p[1], 0, p[2], p[3], 0};
    const int l[2] = {0, 1};
    eval_metrics m;
    CHECK(metrics_compute(p3, l, 2, 3, &m) == 0, "compute");
    CHECK(m.top1 == 1 && m.macro_f1 == 1 && isnan(m.recall[2]) && isnan(m.precision[2]), "absent class");
    const int bad[2] = {0, 3};
    CHECK(metrics_compute(p3, bad, 2, 3, &m) == AVEMO_EINVAL, "bad label accepted");
}

static void test_mean_std(void) {
    const double x[4] = {0.8, 0.9, 0.7, 0.6};
    double mu, sd;
    metrics_mean_std(x, 4, &mu, &sd);
    /* mean 0.75; squared deviations .0025 .0225 .0025 .0225 = .05; /3 -> sd = sqrt(.0166667) = 0.1290994 */
    CHECK(fabs(mu - 0.75) < 1e-12 && fabs(sd - 0.12909944487358055) < 1e-12, "mean %g std %g", mu, sd);
    metrics_mean_std(x, 1, &mu, &sd);
    CHECK(mu == 0.8 && sd == 0, "one fold");
}

static void test_from_confusion(void) {
    eval_metrics a, b;
    metrics_compute(P, L, 6, 3, &a);
    metrics_compute(P, L, 6, 3, &b);
    for (int i = 0; i < 9; i++) a.confusion[i] += b.confusion[i]; /* pooled over two identical folds */
    metrics_from_confusion(&a);
    CHECK(a.n == 12 && fabs(a.top1 - 0.5) < 1e-12 && fabs(a.macro_f1 - b.macro_f1) < 1e-12, "pooled");
}

int main(void) {
    RUN(test_hand_case);
    RUN(test_absent_class);
    RUN(test_mean_std);
    RUN(test_from_confusion);
    return test_summary();
}
