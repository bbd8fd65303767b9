/* avemo's layer library (CPU): float32, channels-last activations, PyTorch parameter layouts.
 *
 * Every layer is a *_forward and a *_backward function over plain float buffers (llm.c style). Semantics
 * are exactly those of the reference kernels in nn/ref/ref_decl.h (same argument order, same shapes):
 * backward ACCUMULATES into gradients (caller zeroes), NULL gradient pointers are skipped. The functions
 * here are the fast paths (OpenMP, OpenBLAS/oneDNN GEMM, vectorised depthwise), each tested against its
 * *_ref twin; where no faster form exists they call the reference.
 *
 * Functions that may allocate scratch return an avemo_status (AVEMO_ENOMEM); the rest return void.
 * Threads: OpenMP inside a call; calls are thread-safe (no global mutable state besides nn_set_threads; the
 * data-parallel hooks batchnorm_set_sync and dropout_set_rows hold their state per calling thread).
 */
#ifndef AVEMO_NN_H
#define AVEMO_NN_H
#include "core/rng.h"
#include "nn/shapes.h"
#include "nn/ref/ref.h"

/* Number of threads the layers use (default: OpenMP's default). */
void nn_set_threads(int n);
int nn_get_threads(void);

/* conv2d: x [n,h,w,c_in] -> y [n,oh,ow,c_out]; w [c_out, c_in/groups, kh, kw]; b [c_out] or NULL.
 * Fast paths: 1x1 stride 1 (one GEMM), depthwise 3x3 (groups = c_in = c_out), generic im2col + GEMM. */
int conv2d_forward(float *y, const float *x, const float *w, const float *b, const conv2d_shape *s);
int conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                    const conv2d_shape *s);

/* conv1d: x [b,t,c_in] -> y [b,ot,c_out]; w [c_out, c_in/groups, k] */
int conv1d_forward(float *y, const float *x, const float *w, const float *b, const conv1d_shape *s);
int conv1d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                    const conv1d_shape *s);

/* batchnorm over x [m, c] (see ref_decl.h for the exact semantics) */
void batchnorm_forward_train(float *y, float *mean, float *rstd, float *running_mean, float *running_var,
                             const float *x, const float *gamma, const float *beta, long m, int c,
                             float momentum, float eps);
void batchnorm_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                            const float *running_mean, const float *running_var, long m, int c, float eps);
void batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *gamma, long m, int c);
/* Synchronised batch normalisation (data-parallel training over ranks that each hold a slice of the batch,
 * train/data_parallel.h): while a function is set on the calling thread, batchnorm_forward_train passes it
 * v[2c + 1] = (sum of x - ref, sum of (x - ref)^2 over its rows, per channel, about a reference every rank
 * shares: the running mean; then its row count) and batchnorm_backward v[2c + 1] = (sum dy, sum dy (x - mean),
 * rows); `sum` replaces v by its sum over the ranks (a status is the caller's to keep), so the statistics, and
 * dx, are those of the whole batch. dgamma and dbeta stay the rank's own rows' (the gradients are summed over
 * the ranks afterwards). NULL (the default) turns it off. */
typedef int (*batchnorm_sum_fn)(double *v, long n, void *ctx);
void batchnorm_set_sync(batchnorm_sum_fn sum, void *ctx);
/* Fold eval-mode BN into the preceding conv/linear for inference: w [c_out, per_out] is scaled in place,
 * b [c_out] is written (pass the conv's bias, or zeros if it had none):
 *   w' = w * gamma / sqrt(var + eps),  b' = (b - mean) * gamma / sqrt(var + eps) + beta. */
void batchnorm_fold(float *w, float *b, int c_out, long per_out, const float *gamma, const float *beta,
                    const float *running_mean, const float *running_var, float eps);

void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                       const float *beta, long m, int c, float eps);
void layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *gamma, long m, int c);

void relu_forward(float *y, const float *x, long n);
void relu_backward(float *dx, const float *dy, const float *y, long n);
void relu6_forward(float *y, const float *x, long n);
void relu6_backward(float *dx, const float *dy, const float *y, long n);
void gelu_forward(float *y, const float *x, long n);
void gelu_backward(float *dx, const float *dy, const float *x, long n);
void prelu_forward(float *y, const float *x, const float *alpha, long m, int c);
void prelu_backward(float *dx, float *dalpha, const float *dy, const float *x, const float *alpha, long m,
                    int c);

void maxpool2d_forward(float *y, int *argmax, const float *x, const pool2d_shape *s);
void maxpool2d_backward(float *dx, const float *dy, const int *argmax, const pool2d_shape *s);
/* 1-d max pooling over [b, t, c] (PyTorch MaxPool1d(kernel, stride), no padding): */
void maxpool1d_forward(float *y, int *argmax, const float *x, int b, int t, int c, int kernel, int stride);
void maxpool1d_backward(float *dx, const float *dy, const int *argmax, int b, int t, int c, int kernel,
                        int stride);
static inline int maxpool1d_out_t(int t, int kernel, int stride) { return (t - kernel) / stride + 1; }

void avgpool_global_forward(float *y, const float *x, int n, long hw, int c);
void avgpool_global_backward(float *dx, const float *dy, int n, long hw, int c);

int linear_forward(float *y, const float *x, const float *w, const float *b, long n, int in, int out);
int linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, long n,
                    int in, int out);

void softmax_forward(float *y, const float *x, long n, int c);
void softmax_backward(float *dx, const float *dy, const float *y, long n, int c);
void log_softmax_forward(float *y, const float *x, long n, int c);
void log_softmax_backward(float *dx, const float *dy, const float *y, long n, int c);

float softmax_xent_forward(float *probs, const float *logits, const int *labels, long n, int c,
                           float smoothing);
void softmax_xent_backward(float *dlogits, const float *probs, const int *labels, long n, int c,
                           float smoothing, float dloss);

/* Dropout: mask[i] = 0 with probability p, else 1/(1-p) (inverted dropout); p = 0 gives all ones. */
void dropout_mask(float *mask, long n, float p, rng_t *rng);
/* Data-parallel slices: while set (rows > 0) on the calling thread, a mask of n = rows x k values is the part
 * for rows [row0, row0 + rows) of the mask one process draws for rows_total rows: the draws of the other rows
 * are skipped, so the stream ends where that process's does. (0, 0, 0) turns it off (the default). */
void dropout_set_rows(long row0, long rows, long rows_total);
void dropout_forward(float *y, const float *x, const float *mask, long n);
void dropout_backward(float *dx, const float *dy, const float *mask, long n);

void interp_time_forward(float *y, const float *x, int b, int ti, int to, int c);
void interp_time_backward(float *dx, const float *dy, int b, int ti, int to, int c);

int attention_forward(float *out, float *q, float *k, float *v, float *att, const float *xq, const float *xkv,
                      const float *wq, const float *bq, const float *wk, const float *bk, const float *wv,
                      const float *bv, const attention_shape *s);
int attention_backward(float *dxq, float *dxkv, float *dwq, float *dbq, float *dwk, float *dbk, float *dwv,
                       float *dbv, const float *dout, const float *q, const float *k, const float *v,
                       const float *att, const float *xq, const float *xkv, const float *wq, const float *wk,
                       const float *wv, const attention_shape *s);

/* GEMM used by the layers (row-major): C[m,n] = alpha * op(A) op(B) + beta * C, op = transpose if t*. */
void nn_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
              int ldb, float beta, float *c, int ldc);

/* ---- optimizers (PyTorch semantics) over one flat parameter vector of n floats ---- */
typedef struct {
    float lr, momentum, dampening, weight_decay;
    int nesterov;
} sgd_config;
/* torch.optim.SGD: g += wd * p; buf = g on the first step (step == 1), else momentum * buf + (1 - dampening) * g;
 * g = nesterov ? g + momentum * buf : buf; p -= lr * g. `step` counts from 1. */
void sgd_step(float *p, const float *grad, float *momentum_buf, long n, const sgd_config *cfg, long step);

typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
    int decoupled; /* 1 = AdamW (p *= 1 - lr * wd), 0 = Adam (g += wd * p) */
} adam_config;
void adam_step(float *p, const float *grad, float *m, float *v, long n, const adam_config *cfg, long step);

/* ---- learning-rate schedules, epoch counted from 0 ---- */
/* MultiStepLR: base * gamma^(number of milestones <= epoch) */
float lr_multistep(float base, int epoch, const int *milestones, int n_milestones, float gamma);
/* CosineAnnealingLR: min + (base - min) * (1 + cos(pi * epoch / total)) / 2 */
float lr_cosine(float base, int epoch, int total, float min_lr);
/* OneCycleLR (torch defaults: anneal 'cos', three_phase False), per optimizer step counted from 0: up from
 * max_lr / div_factor to max_lr over the first pct_start of total_steps, then down to
 * max_lr / (div_factor * final_div_factor) at step total_steps - 1. */
float lr_onecycle(float max_lr, long step, long total_steps, float pct_start, float div_factor, float final_div_factor);
/* OneCycleLR's cycle_momentum: Adam's beta1 from max_m down to base_m at the peak of the rate and back to max_m. */
float momentum_onecycle(float base_m, float max_m, long step, long total_steps, float pct_start);

#endif
