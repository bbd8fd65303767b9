/* conv1d over [b, t, c] = conv2d over NHWC with h = 1 (the same memory), so it takes conv2d's fast paths:
 * k = 1 is the pointwise GEMM, k = 3 "same" the im2col + GEMM path. Weights [c_out, c_in/groups, k] are
 * OIHW with kh = 1. */
#include "nn/nn.h"

#include "core/err.h"

static int as_2d(conv2d_shape *c, const conv1d_shape *s) {
    if (s->b < 1 || s->t < 1 || s->k < 1 || s->stride < 1)
        return avemo_error(AVEMO_EINVAL, "conv1d: bad shape (b %d, t %d, k %d, stride %d)", s->b, s->t, s->k,
                           s->stride);
    *c = (conv2d_shape){.n = s->b, .h = 1, .w = s->t, .c_in = s->c_in, .c_out = s->c_out, .kh = 1, .kw = s->k,
                        .stride_h = 1, .stride_w = s->stride, .pad_top = 0, .pad_left = s->pad_left,
                        .pad_bottom = 0, .pad_right = s->pad_right, .groups = s->groups};
    return AVEMO_OK;
}

int conv1d_forward(float *y, const float *x, const float *w, const float *b, const conv1d_shape *s) {
    conv2d_shape c;
    int st = as_2d(&c, s);
    return st ? st : conv2d_forward(y, x, w, b, &c);
}

int conv1d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                    const conv1d_shape *s) {
    conv2d_shape c;
    int st = as_2d(&c, s);
    return st ? st : conv2d_backward(dx, dw, db, dy, x, w, &c);
}
