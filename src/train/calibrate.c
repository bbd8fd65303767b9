/* Temperature scaling fitted by NLL (train/calibrate.h). */
#include "train/calibrate.h"

#include "model/model_file.h"

#include <math.h>
#include <string.h>

/* Row i of probs tempered by T into q [K] (K <= MODEL_FILE_MAX_CLASSES). */
static void tempered_row(const float *probs, int i, int K, double T, float *q) {
    memcpy(q, probs + (size_t)i * K, (size_t)K * sizeof *q);
    model_temper_probs(q, K, (float)T);
}

double calibrate_nll(const float *probs, const int *labels, int n, int K, double T) {
    float q[MODEL_FILE_MAX_CLASSES];
    double sum = 0;
    for (int i = 0; i < n; i++) {
        tempered_row(probs, i, K, T, q);
        sum -= log(fmax(q[labels[i]], 1e-38));
    }
    return n ? sum / n : 0;
}

double calibrate_ece(const float *probs, const int *labels, int n, int K, double T, int bins) {
    float q[MODEL_FILE_MAX_CLASSES];
    double conf[64] = {0}, hits[64] = {0};
    int count[64] = {0};
    if (bins > 64) bins = 64;
    for (int i = 0; i < n; i++) {
        tempered_row(probs, i, K, T, q);
        int top = 0;
        for (int k = 1; k < K; k++)
            if (q[k] > q[top]) top = k;
        int b = (int)(q[top] * bins);
        if (b >= bins) b = bins - 1;
        conf[b] += q[top], hits[b] += top == labels[i], count[b]++;
    }
    double ece = 0;
    for (int b = 0; b < bins; b++)
        if (count[b]) ece += fabs(hits[b] - conf[b]) / (n ? n : 1);
    return ece;
}

double calibrate_fit_temperature(const float *probs, const int *labels, int n, int K) {
    const double g = (sqrt(5.0) - 1) / 2;
    double a = log(CALIBRATE_T_MIN), b = log(CALIBRATE_T_MAX);
    double c = b - g * (b - a), d = a + g * (b - a);
    double fc = calibrate_nll(probs, labels, n, K, exp(c)), fd = calibrate_nll(probs, labels, n, K, exp(d));
    while (b - a > 1e-6) {
        if (fc < fd) b = d, d = c, fd = fc, c = b - g * (b - a), fc = calibrate_nll(probs, labels, n, K, exp(c));
        else a = c, c = d, fc = fd, d = a + g * (b - a), fd = calibrate_nll(probs, labels, n, K, exp(d));
    }
    return exp((a + b) / 2);
}
