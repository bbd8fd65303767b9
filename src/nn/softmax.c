/* Softmax family, fast path: rows are independent, so the reference runs on rows in parallel.
 * Cross-entropy works on [batch, classes] = [8, 6]: the reference as is. */
#include "nn/nn.h"

#define SM_PARALLEL_MIN 16384L

void softmax_forward(float *y, const float *x, long n, int c) {
#pragma omp parallel for schedule(static) if (n * c >= SM_PARALLEL_MIN)
    for (long i = 0; i < n; i++) softmax_forward_ref(y + i * c, x + i * c, 1, c);
}

void softmax_backward(float *dx, const float *dy, const float *y, long n, int c) {
#pragma omp parallel for schedule(static) if (n * c >= SM_PARALLEL_MIN)
    for (long i = 0; i < n; i++) softmax_backward_ref(dx + i * c, dy + i * c, y + i * c, 1, c);
}

void log_softmax_forward(float *y, const float *x, long n, int c) {
#pragma omp parallel for schedule(static) if (n * c >= SM_PARALLEL_MIN)
    for (long i = 0; i < n; i++) log_softmax_forward_ref(y + i * c, x + i * c, 1, c);
}

void log_softmax_backward(float *dx, const float *dy, const float *y, long n, int c) {
#pragma omp parallel for schedule(static) if (n * c >= SM_PARALLEL_MIN)
    for (long i = 0; i < n; i++) log_softmax_backward_ref(dx + i * c, dy + i * c, y + i * c, 1, c);
}

float softmax_xent_forward(float *probs, const float *logits, const int *labels, long n, int c,
                           float smoothing) {
    return softmax_xent_forward_ref(probs, logits, labels, n, c, smoothing);
}

void softmax_xent_backward(float *dlogits, const float *probs, const int *labels, long n, int c,
                           float smoothing, float dloss) {
    softmax_xent_backward_ref(dlogits, probs, labels, n, c, smoothing, dloss);
}
