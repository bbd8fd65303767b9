/* Building blocks of the trainable head: Conv1D+BN, the residual blocks of Tables I and II, linear layers,
 * the baseline's attention block, the modality gate. Each block is a params struct of named pointers, an
 * activations struct (the saved forward results; a second instance of the same struct holds their
 * gradients), a declare function that registers the tensors with a layout (model/layout.h), and a
 * forward/backward pair over [b, t, c] channels-last buffers. Backward ACCUMULATES into dx and parameter
 * gradients (nn.h convention); a NULL dx skips the input gradient. Backward needs a train-mode forward
 * (batch statistics in BatchNorm). */
#ifndef AVEMO_MODEL_BLOCKS_H
#define AVEMO_MODEL_BLOCKS_H
#include "model/layout.h"
#include "nn/nn.h"

#define BN_MOMENTUM 0.1f /* PyTorch BatchNorm1d defaults */
#define BN_EPS 1e-5f
#define LN_EPS 1e-5f

/* ---- Conv1D (no bias: BN follows) + BatchNorm1d: x [B, t, ci] -> y [B, t + 2 pad - k + 1, co] ---- */
typedef struct { float *w, *gamma, *beta, *running_mean, *running_var; } conv_bn_p;
typedef struct { float *c, *y, *mean, *rstd; } conv_bn_a;
typedef struct { int t, ci, co, k, pad; } conv_bn_dims;
static inline int conv_bn_out_t(const conv_bn_dims *d) { return d->t + 2 * d->pad - d->k + 1; }
void conv_bn_declare(layout *L, conv_bn_p *p, const char *name, int ci, int co, int k);
void conv_bn_declare_acts(layout *L, conv_bn_a *a, int B, const conv_bn_dims *d);
int conv_bn_forward(const conv_bn_p *p, const conv_bn_a *a, const float *x, int B, const conv_bn_dims *d, int train);
/* dy: gradient of a->y; da->c is scratch */
int conv_bn_backward(const conv_bn_p *p, const conv_bn_p *g, const conv_bn_a *a, const conv_bn_a *da, const float *dy,
                     const float *x, float *dx, int B, const conv_bn_dims *d);

/* ---- residual block (Table I stages, the fusion's Conv1D residual blocks), ResNet basic-block order:
 *   y = ReLU(BN(conv2(ReLU(BN(conv1(x))))) + shortcut(x)),  convs k=3 same padding,
 *   shortcut = BN(1x1 conv(x)) where ci != co, else x.   x [B, t, ci] -> y [B, t, co] ---- */
typedef struct { conv_bn_p conv1, conv2, shortcut; } resblock_p;
typedef struct { conv_bn_a conv1, conv2, shortcut; float *r1, *sum, *y; } resblock_a;
typedef struct { int t, ci, co; } resblock_dims;
void resblock_declare(layout *L, resblock_p *p, const char *name, int ci, int co);
void resblock_declare_acts(layout *L, resblock_a *a, int B, const resblock_dims *d);
int resblock_forward(const resblock_p *p, const resblock_a *a, const float *x, int B, const resblock_dims *d,
                     int train);
/* reads da->y (the output's gradient) */
int resblock_backward(const resblock_p *p, const resblock_p *g, const resblock_a *a, const resblock_a *da,
                      const float *x, float *dx, int B, const resblock_dims *d);

/* ---- audio block (Table II): paper: y = MaxPool1d(2)(ReLU(BN(conv_same(x)) + shortcut(x)));
 * baseline: y = MaxPool1d(2, stride 1)(ReLU(BN(conv_valid(x)))).  x [B, t, ci] -> y [B, out_t, co] ---- */
typedef struct { conv_bn_p conv, shortcut; } audio_block_p;
typedef struct { conv_bn_a conv, shortcut; float *sum, *r, *y; int *argmax; } audio_block_a;
typedef struct { int t, ci, co, residual, pad, pool_stride; } audio_block_dims;
int audio_block_out_t(const audio_block_dims *d);
void audio_block_declare(layout *L, audio_block_p *p, const char *name, const audio_block_dims *d);
void audio_block_declare_acts(layout *L, audio_block_a *a, int B, const audio_block_dims *d);
int audio_block_forward(const audio_block_p *p, const audio_block_a *a, const float *x, int B,
                        const audio_block_dims *d, int train);
int audio_block_backward(const audio_block_p *p, const audio_block_p *g, const audio_block_a *a,
                         const audio_block_a *da, const float *x, float *dx, int B, const audio_block_dims *d);

/* ---- linear: w [out, in], b [out] (nn.Linear, PyTorch's default init) ---- */
typedef struct { float *w, *b; } linear_p;
void linear_declare(layout *L, linear_p *p, const char *name, int in, int out, int bias);

/* ---- attention projections (nn.h attention_*, eq. 4-7); biases NULL when declared without ---- */
typedef struct { linear_p q, k, v; } attention_p;
typedef struct { float *q, *k, *v, *att, *out; } attention_a;
void attention_declare(layout *L, attention_p *p, const char *name, const attention_shape *s, int bias, int with_v);
void attention_declare_acts(layout *L, attention_a *a, const attention_shape *s, int with_v);

/* ---- the baseline's AttentionBlock (transformer_timm.py): pre-LayerNorm single-head attention of the
 * queries' stream over the keys' stream, qkv without bias, output projection, then x + MLP(LN(x)) with MLP
 * ratio 2 and GELU.  xq [B, tq, dq], xk [B, tk, dk] -> y [B, tq, dq] (no residual with xq inside) ---- */
typedef struct { float *gamma, *beta; } layernorm_p;
typedef struct { layernorm_p norm_q, norm_k, norm2; attention_p attn; linear_p proj, fc1, fc2; } attn_block_p;
typedef struct {
    float *nq, *nq_mean, *nq_rstd;   /* LN(xq) [B, tq, dq] and its statistics [B, tq] */
    float *nk, *nk_mean, *nk_rstd;   /* LN(xk) [B, tk, dk] */
    attention_a attn;
    float *x;                        /* the output projection [B, tq, dq] */
    float *h, *h_mean, *h_rstd;      /* LN(x) */
    float *f1, *gelu, *f2;           /* the MLP: fc1 [B, tq, 2 dq], GELU, fc2 [B, tq, dq] */
    float *y;                        /* x + f2 */
} attn_block_a;
void attn_block_declare(layout *L, attn_block_p *p, const char *name, int dq, int dk);
void attn_block_declare_acts(layout *L, attn_block_a *a, int B, int tq, int tk, int dq, int dk);
int attn_block_forward(const attn_block_p *p, const attn_block_a *a, const float *xq, const float *xk, int B,
                       int tq, int tk, int dq, int dk);
int attn_block_backward(const attn_block_p *p, const attn_block_p *g, const attn_block_a *a, const attn_block_a *da,
                        const float *xq, const float *xk, float *dxq, float *dxk, int B, int tq, int tk, int dq,
                        int dk);

/* ---- the baseline's two cross-modal AttentionBlocks (fusions `it`, `lt`): av = audio queries over video,
 * va = video queries over audio. audio [B, ta, ca], video [B, tv, cv] -> av.y [B, ta, ca], va.y [B, tv, cv];
 * tensors <name>.av.*, <name>.va.* ---- */
typedef struct { attn_block_p av, va; } cross_attn_p;
typedef struct { attn_block_a av, va; } cross_attn_a;
typedef struct { int ta, ca, tv, cv; } cross_attn_dims;
void cross_attn_declare(layout *L, cross_attn_p *p, const char *name, int ca, int cv);
void cross_attn_declare_acts(layout *L, cross_attn_a *a, int B, const cross_attn_dims *d);
int cross_attn_forward(const cross_attn_p *p, const cross_attn_a *a, const float *audio, const float *video, int B,
                       const cross_attn_dims *d);
/* reads da->av.y, da->va.y */
int cross_attn_backward(const cross_attn_p *p, const cross_attn_p *g, const cross_attn_a *a, const cross_attn_a *da,
                        const float *audio, const float *video, float *daudio, float *dvideo, int B,
                        const cross_attn_dims *d);

/* ---- the baseline's `ia` weights: A = softmax(xq Wq^T (xk Wk^T)^T / sqrt(d)) [B, tq, tk]; the column sums
 * over the queries w[b, j] = sum_i A[b, i, j] [B, tk] scale the keys' stream: y[b, j, :] = w[b, j] xk[b, j, :]
 * (only the q and k projections are used). ---- */
typedef struct { float *q, *k, *s, *att, *w, *y; } ia_a;
void ia_declare_acts(layout *L, ia_a *a, int B, int tq, int tk, int d, int dk);
int ia_forward(const attention_p *p, const ia_a *a, const float *xq, const float *xk, int B, int tq, int tk,
               int dq, int dk, int d);
int ia_backward(const attention_p *p, const attention_p *g, const ia_a *a, const ia_a *da, const float *xq,
                const float *xk, float *dxq, float *dxk, int B, int tq, int tk, int dq, int dk, int d);

/* ---- small tensor ops ---- */
/* y [n, ca + cb] = concat(a [n, ca], b [n, cb]) along channels */
void concat_channels_forward(float *y, const float *a, const float *b, long n, int ca, int cb);
void concat_channels_backward(float *da, float *db, const float *dy, long n, int ca, int cb);
void add_forward(float *y, const float *a, const float *b, long n);     /* y = a + b */

#endif
