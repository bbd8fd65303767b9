/* Shapes shared by the float layers (nn.h) and their plain reference versions (ref/ref.h).
 *
 * Layout (measured choice, see bench/): activations are channels-last. Images are NHWC [n, h, w, c];
 * sequences are [b, t, c] (a sequence is an image with h = 1, so conv1d/maxpool1d/batchnorm1d reuse the
 * 2-d code). Channels-last turns a 1x1 conv into one GEMM [n*h*w, c_in] x [c_in, c_out] and lets the
 * depthwise 3x3 vectorise over channels; NCHW depthwise is several times slower (oneDNN measured here).
 * Parameters keep PyTorch's layouts (conv OIHW [c_out, c_in/groups, kh, kw], conv1d [c_out, c_in/groups, k],
 * linear [out, in]) so torchvision checkpoints load unchanged.
 */
#ifndef AVEMO_NN_SHAPES_H
#define AVEMO_NN_SHAPES_H

typedef struct {
    int n, h, w, c_in;          /* input  [n, h, w, c_in] */
    int c_out, kh, kw;          /* weight [c_out, c_in/groups, kh, kw] */
    int stride_h, stride_w;
    int pad_top, pad_left;      /* zero padding; bottom/right may differ (TF "SAME" pads bottom/right) */
    int pad_bottom, pad_right;
    int groups;                 /* 1 = dense; c_in = groups = c_out: depthwise */
} conv2d_shape;

static inline int conv2d_out_h(const conv2d_shape *s) {
    return (s->h + s->pad_top + s->pad_bottom - s->kh) / s->stride_h + 1;
}
static inline int conv2d_out_w(const conv2d_shape *s) {
    return (s->w + s->pad_left + s->pad_right - s->kw) / s->stride_w + 1;
}

typedef struct {
    int b, t, c_in;             /* input  [b, t, c_in] */
    int c_out, k;               /* weight [c_out, c_in/groups, k] (PyTorch Conv1d) */
    int stride;
    int pad_left, pad_right;    /* "same" for k=3, stride 1: 1, 1 */
    int groups;
} conv1d_shape;

static inline int conv1d_out_t(const conv1d_shape *s) {
    return (s->t + s->pad_left + s->pad_right - s->k) / s->stride + 1;
}

/* Max pooling over NHWC. Padding cells count as -inf. ceil_mode as in PyTorch (a last window must start
 * inside the input or left padding). */
typedef struct {
    int n, h, w, c;
    int kh, kw, stride_h, stride_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    int ceil_mode;
} pool2d_shape;

int pool2d_out_h(const pool2d_shape *s);
int pool2d_out_w(const pool2d_shape *s);

/* Scaled dot-product attention with Q/K/V projections (the paper's eq. 4-7):
 *   Q = xq Wq^T + bq, K = xkv Wk^T + bk, V = xkv Wv^T + bv,  A = softmax(Q K^T / sqrt(d_k)),  out = A V.
 * Self-attention passes the same buffer as xq and xkv. Biases may be NULL. */
typedef struct {
    int b, tq, tk;              /* batch, query steps, key steps */
    int d_q_in, d_kv_in;        /* xq [b, tq, d_q_in], xkv [b, tk, d_kv_in] */
    int d_k, d_v;               /* wq [d_k, d_q_in], wk [d_k, d_kv_in], wv [d_v, d_kv_in]; out [b, tq, d_v] */
} attention_shape;

#endif
