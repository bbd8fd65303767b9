/* Max and global-average pooling (fast entry points; see nn/ref for the plain loops). */
#include "nn/nn.h"

/* PyTorch pooling_output_shape_pad_lr: with ceil_mode a last partial window is kept only if it starts
 * inside the input or the left/top padding. */
static int pool_out(int in, int k, int stride, int pad_lo, int pad_hi, int ceil_mode) {
    int span = in + pad_lo + pad_hi - k;
    int out = (span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
    if (span + (ceil_mode ? stride - 1 : 0) < 0) return 0;
    if (ceil_mode && (out - 1) * stride >= in + pad_lo) out--;
    return out;
}

int pool2d_out_h(const pool2d_shape *s) {
    return pool_out(s->h, s->kh, s->stride_h, s->pad_top, s->pad_bottom, s->ceil_mode);
}
int pool2d_out_w(const pool2d_shape *s) {
    return pool_out(s->w, s->kw, s->stride_w, s->pad_left, s->pad_right, s->ceil_mode);
}
