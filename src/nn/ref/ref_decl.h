/* Plain-loop reference kernels: the definition of what every layer computes.
 *
 * Included twice by ref.h: once with REAL=float, REF(f)=f##_ref (linked into libavemo; the fast paths in
 * nn/ are tested against these) and once with REAL=double, REF(f)=f##_f64 (linked into tests only, for
 * float64 finite-difference gradient checks). Each src/nn/ref/<layer>_ref.c is compiled both ways.
 *
 * Conventions for every layer:
 *  - shapes in the comment, channels-last activations (see nn/shapes.h), PyTorch parameter layouts;
 *  - backward functions ACCUMULATE (+=) into dx, dw, db, ...; the caller zeroes them. Any gradient
 *    pointer may be NULL when that gradient is not wanted;
 *  - no allocation, single thread, no fast tricks.
 * No include guard on purpose.
 */

/* ---- conv2d: x [n,h,w,c_in], w [c_out, c_in/groups, kh, kw], b [c_out] or NULL, y [n,oh,ow,c_out] */
void REF(conv2d_forward)(REAL *y, const REAL *x, const REAL *w, const REAL *b, const conv2d_shape *s);
void REF(conv2d_backward)(REAL *dx, REAL *dw, REAL *db, const REAL *dy, const REAL *x, const REAL *w,
                          const conv2d_shape *s);

/* ---- conv1d: x [b,t,c_in], w [c_out, c_in/groups, k], b [c_out] or NULL, y [b,ot,c_out] */
void REF(conv1d_forward)(REAL *y, const REAL *x, const REAL *w, const REAL *b, const conv1d_shape *s);
void REF(conv1d_backward)(REAL *dx, REAL *dw, REAL *db, const REAL *dy, const REAL *x, const REAL *w,
                          const conv1d_shape *s);

/* ---- batchnorm over channels-last x [m, c] (m = n*h*w for 2-d, b*t for 1-d).
 * Train: batch statistics; saves mean[c], rstd[c] = 1/sqrt(var_biased + eps); updates running stats (if not
 * NULL) as PyTorch: running = (1 - momentum) * running + momentum * stat, running_var with the unbiased var. */
void REF(batchnorm_forward_train)(REAL *y, REAL *mean, REAL *rstd, REAL *running_mean, REAL *running_var,
                                  const REAL *x, const REAL *gamma, const REAL *beta, long m, int c,
                                  REAL momentum, REAL eps);
void REF(batchnorm_forward_eval)(REAL *y, const REAL *x, const REAL *gamma, const REAL *beta,
                                 const REAL *running_mean, const REAL *running_var, long m, int c, REAL eps);
void REF(batchnorm_backward)(REAL *dx, REAL *dgamma, REAL *dbeta, const REAL *dy, const REAL *x,
                             const REAL *mean, const REAL *rstd, const REAL *gamma, long m, int c);

/* ---- layernorm over the last axis of x [m, c]; saves mean[m], rstd[m]. */
void REF(layernorm_forward)(REAL *y, REAL *mean, REAL *rstd, const REAL *x, const REAL *gamma,
                            const REAL *beta, long m, int c, REAL eps);
void REF(layernorm_backward)(REAL *dx, REAL *dgamma, REAL *dbeta, const REAL *dy, const REAL *x,
                             const REAL *mean, const REAL *rstd, const REAL *gamma, long m, int c);

/* ---- elementwise activations over n values. relu/relu6 backward take the OUTPUT y, so the forward may run
 * in place (y == x). gelu is the exact erf form (PyTorch's default). */
void REF(relu_forward)(REAL *y, const REAL *x, long n);
void REF(relu_backward)(REAL *dx, const REAL *dy, const REAL *y, long n);
void REF(relu6_forward)(REAL *y, const REAL *x, long n);
void REF(relu6_backward)(REAL *dx, const REAL *dy, const REAL *y, long n);
void REF(gelu_forward)(REAL *y, const REAL *x, long n);
void REF(gelu_backward)(REAL *dx, const REAL *dy, const REAL *x, long n);
/* PReLU with one slope per channel (MTCNN): x [m, c], alpha [c] */
void REF(prelu_forward)(REAL *y, const REAL *x, const REAL *alpha, long m, int c);
void REF(prelu_backward)(REAL *dx, REAL *dalpha, const REAL *dy, const REAL *x, const REAL *alpha, long m,
                         int c);

/* ---- max pooling, NHWC (1-d: h = 1). argmax[i] = index into x of the max for output i (may be NULL in
 * forward when no backward follows). */
void REF(maxpool2d_forward)(REAL *y, int *argmax, const REAL *x, const pool2d_shape *s);
void REF(maxpool2d_backward)(REAL *dx, const REAL *dy, const int *argmax, const pool2d_shape *s);

/* ---- global average pool: x [n, hw, c] -> y [n, c] (also the temporal mean over [b, t, c]) */
void REF(avgpool_global_forward)(REAL *y, const REAL *x, int n, long hw, int c);
void REF(avgpool_global_backward)(REAL *dx, const REAL *dy, int n, long hw, int c);

/* ---- linear: x [n, in], w [out, in], b [out] or NULL, y [n, out] */
void REF(linear_forward)(REAL *y, const REAL *x, const REAL *w, const REAL *b, long n, int in, int out);
void REF(linear_backward)(REAL *dx, REAL *dw, REAL *db, const REAL *dy, const REAL *x, const REAL *w, long n,
                          int in, int out);

/* ---- softmax / log-softmax over rows of x [n, c] */
void REF(softmax_forward)(REAL *y, const REAL *x, long n, int c);
void REF(softmax_backward)(REAL *dx, const REAL *dy, const REAL *y, long n, int c);
void REF(log_softmax_forward)(REAL *y, const REAL *x, long n, int c);
void REF(log_softmax_backward)(REAL *dx, const REAL *dy, const REAL *y, long n, int c);

/* ---- softmax cross-entropy: logits [n, c], labels [n] in 0..c-1; label smoothing eps as PyTorch
 * (target = (1 - eps) one_hot + eps / c). Returns the mean loss; probs [n, c] saved for backward.
 * Backward: dlogits += dloss / n * (probs - target). */
REAL REF(softmax_xent_forward)(REAL *probs, const REAL *logits, const int *labels, long n, int c,
                               REAL smoothing);
void REF(softmax_xent_backward)(REAL *dlogits, const REAL *probs, const int *labels, long n, int c,
                                REAL smoothing, REAL dloss);

/* ---- dropout with a precomputed mask (0 or 1/(1-p) per element; see dropout_mask in nn.h) */
void REF(dropout_forward)(REAL *y, const REAL *x, const REAL *mask, long n);
void REF(dropout_backward)(REAL *dx, const REAL *dy, const REAL *mask, long n);

/* ---- linear interpolation along time, x [b, ti, c] -> y [b, to, c]; PyTorch F.interpolate(mode='linear',
 * align_corners=False) (used to bring the audio stream to the video's T before fusion) */
void REF(interp_time_forward)(REAL *y, const REAL *x, int b, int ti, int to, int c);
void REF(interp_time_backward)(REAL *dx, const REAL *dy, int b, int ti, int to, int c);

/* ---- scaled dot-product attention with projections (eq. 4-7), see attention_shape.
 * Saves q [b,tq,d_k], k [b,tk,d_k], v [b,tk,d_v], att [b,tq,tk] (softmax probabilities); out [b,tq,d_v].
 * For self-attention pass xq == xkv and dxq == dxkv (gradients accumulate). */
void REF(attention_forward)(REAL *out, REAL *q, REAL *k, REAL *v, REAL *att, const REAL *xq, const REAL *xkv,
                            const REAL *wq, const REAL *bq, const REAL *wk, const REAL *bk, const REAL *wv,
                            const REAL *bv, const attention_shape *s);
void REF(attention_backward)(REAL *dxq, REAL *dxkv, REAL *dwq, REAL *dbq, REAL *dwk, REAL *dbk, REAL *dwv,
                             REAL *dbv, const REAL *dout, const REAL *q, const REAL *k, const REAL *v,
                             const REAL *att, const REAL *xq, const REAL *xkv, const REAL *wq, const REAL *wk,
                             const REAL *wv, const attention_shape *s);
