/* Elementwise activations and dropout, fast path: OpenMP over elements (relu/relu6 written as branch-free
 * min/max so they vectorise); gelu and prelu run the reference on blocks in parallel. */
#include "nn/nn.h"

#include <stddef.h>

#define ACT_PARALLEL_MIN 65536L
#define ACT_CHUNK 16384L

void relu_forward(float *y, const float *x, long n) {
#pragma omp parallel for simd schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (long i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(float *dx, const float *dy, const float *y, long n) {
#pragma omp parallel for simd schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (long i = 0; i < n; i++) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
}

void relu6_forward(float *y, const float *x, long n) {
#pragma omp parallel for simd schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (long i = 0; i < n; i++) {
        float v = x[i] > 0.0f ? x[i] : 0.0f;
        y[i] = v < 6.0f ? v : 6.0f;
    }
}

void relu6_backward(float *dx, const float *dy, const float *y, long n) {
#pragma omp parallel for simd schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (long i = 0; i < n; i++) dx[i] += (y[i] > 0.0f && y[i] < 6.0f) ? dy[i] : 0.0f;
}

void gelu_forward(float *y, const float *x, long n) {
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (long i = 0; i < n; i += ACT_CHUNK) gelu_forward_ref(y + i, x + i, n - i < ACT_CHUNK ? n - i : ACT_CHUNK);
}

void gelu_backward(float *dx, const float *dy, const float *x, long n) {
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (long i = 0; i < n; i += ACT_CHUNK)
        gelu_backward_ref(dx + i, dy + i, x + i, n - i < ACT_CHUNK ? n - i : ACT_CHUNK);
}

void prelu_forward(float *y, const float *x, const float *alpha, long m, int c) {
#pragma omp parallel for schedule(static) if (m * c >= ACT_PARALLEL_MIN)
    for (long i = 0; i < m; i++) prelu_forward_ref(y + i * c, x + i * c, alpha, 1, c);
}

void prelu_backward(float *dx, float *dalpha, const float *dy, const float *x, const float *alpha, long m,
                    int c) {
    if (dx) {
#pragma omp parallel for schedule(static) if (m * c >= ACT_PARALLEL_MIN)
        for (long i = 0; i < m; i++) prelu_backward_ref(dx + i * c, NULL, dy + i * c, x + i * c, alpha, 1, c);
    }
    if (dalpha) prelu_backward_ref(NULL, dalpha, dy, x, alpha, m, c);
}

/* The slice of the batch whose mask dropout_mask draws (nn.h dropout_set_rows), per thread. */
static _Thread_local long slice_row0, slice_rows, slice_total;

void dropout_set_rows(long row0, long rows, long rows_total) {
    slice_row0 = row0;
    slice_rows = rows;
    slice_total = rows_total;
}

static void skip_draws(rng_t *rng, long n) {
    for (long i = 0; i < n; i++) rng_u64(rng); /* rng_uniform takes one rng_u64 */
}

/* mask[i] = 0 with probability p, else 1 / (1 - p); drawn in order from one stream, so reproducible */
void dropout_mask(float *mask, long n, float p, rng_t *rng) {
    float keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    long per_row = p > 0.0f && slice_rows > 0 && n % slice_rows == 0 ? n / slice_rows : 0;
    if (per_row) skip_draws(rng, slice_row0 * per_row);
    for (long i = 0; i < n; i++) mask[i] = (p > 0.0f && rng_uniform(rng) < (double)p) ? 0.0f : keep;
    if (per_row) skip_draws(rng, (slice_total - slice_row0 - slice_rows) * per_row);
}

void dropout_forward(float *y, const float *x, const float *mask, long n) {
#pragma omp parallel for simd schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (long i = 0; i < n; i++) y[i] = x[i] * mask[i];
}

void dropout_backward(float *dx, const float *dy, const float *mask, long n) {
#pragma omp parallel for simd schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (long i = 0; i < n; i++) dx[i] += dy[i] * mask[i];
}
