/* Max and global-average pooling (fast entry points; see nn/ref for the plain loops). */
#include "nn/nn.h"

#include <math.h>
#include <stddef.h>

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

/* Max pooling forward, NHWC: for each output pixel the window cells are visited in PyTorch's scan order and
 * each cell updates all channels at once (contiguous, vectorisable), in parallel over output rows.
 * Same result as the reference: the first maximum wins, the first NaN wins and sticks. */
void maxpool2d_forward(float *y, int *argmax, const float *x, const pool2d_shape *s) {
    const int oh = pool2d_out_h(s), ow = pool2d_out_w(s), c = s->c;
    const long rows = (long)s->n * oh;
#pragma omp parallel for schedule(static) if (rows * ow * c >= 65536)
    for (long r = 0; r < rows; r++) {
        int b = (int)(r / oh), i = (int)(r % oh);
        int h0 = i * s->stride_h - s->pad_top;
        int h1 = h0 + s->kh < s->h ? h0 + s->kh : s->h;
        if (h0 < 0) h0 = 0;
        for (int j = 0; j < ow; j++) {
            int w0 = j * s->stride_w - s->pad_left;
            int w1 = w0 + s->kw < s->w ? w0 + s->kw : s->w;
            if (w0 < 0) w0 = 0;
            float *yo = y + ((r * ow) + j) * c;
            int *ao = argmax ? argmax + ((r * ow) + j) * c : NULL;
            int first = (int)((((long)b * s->h + h0) * s->w + w0) * c);
            for (int ch = 0; ch < c; ch++) yo[ch] = -INFINITY;
            if (ao)
                for (int ch = 0; ch < c; ch++) ao[ch] = first + ch;
            for (int hh = h0; hh < h1; hh++)
                for (int ww = w0; ww < w1; ww++) {
                    long base = (((long)b * s->h + hh) * s->w + ww) * c;
                    const float *xc = x + base;
                    if (ao) {
                        for (int ch = 0; ch < c; ch++) {
                            float v = xc[ch], m = yo[ch];
                            int take = v > m || (isnan(v) && !isnan(m));
                            yo[ch] = take ? v : m;
                            ao[ch] = take ? (int)base + ch : ao[ch];
                        }
                    } else {
                        for (int ch = 0; ch < c; ch++) {
                            float v = xc[ch], m = yo[ch];
                            yo[ch] = (v > m || (isnan(v) && !isnan(m))) ? v : m;
                        }
                    }
                }
        }
    }
}

/* The scatter-add of overlapping windows would race across threads; it is a small share of the cost. */
void maxpool2d_backward(float *dx, const float *dy, const int *argmax, const pool2d_shape *s) {
    maxpool2d_backward_ref(dx, dy, argmax, s);
}

/* MaxPool1d(kernel, stride) over [b, t, c]: an NHWC image with h = 1 */
static pool2d_shape pool1d_shape(int b, int t, int c, int kernel, int stride) {
    pool2d_shape s = {.n = b, .h = 1, .w = t, .c = c, .kh = 1, .kw = kernel, .stride_h = 1, .stride_w = stride};
    return s;
}

void maxpool1d_forward(float *y, int *argmax, const float *x, int b, int t, int c, int kernel, int stride) {
    pool2d_shape s = pool1d_shape(b, t, c, kernel, stride);
    maxpool2d_forward(y, argmax, x, &s);
}

void maxpool1d_backward(float *dx, const float *dy, const int *argmax, int b, int t, int c, int kernel,
                        int stride) {
    pool2d_shape s = pool1d_shape(b, t, c, kernel, stride);
    maxpool2d_backward(dx, dy, argmax, &s);
}

/* Global average pool: [8, 7*7, 1280] at most in MobileNetV2, too small to gain from threads. */
void avgpool_global_forward(float *y, const float *x, int n, long hw, int c) {
    avgpool_global_forward_ref(y, x, n, hw, c);
}

void avgpool_global_backward(float *dx, const float *dy, int n, long hw, int c) {
    avgpool_global_backward_ref(dx, dy, n, hw, c);
}
