/* Max pooling over NHWC, PyTorch MaxPool2d semantics: padding counts as -inf, ceil_mode, the first maximum
 * in scan order wins, NaN propagates. */
#include "nn/ref/real.h"

/* x [n,h,w,c] -> y [n,oh,ow,c]; argmax (may be NULL) [n,oh,ow,c] = flat index into x */
void REF(maxpool2d_forward)(real *y, int *argmax, const real *x, const pool2d_shape *s) {
    int oh = pool2d_out_h(s), ow = pool2d_out_w(s), c = s->c;
    for (int b = 0; b < s->n; b++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                int h0 = i * s->stride_h - s->pad_top, w0 = j * s->stride_w - s->pad_left;
                int h1 = h0 + s->kh < s->h ? h0 + s->kh : s->h, w1 = w0 + s->kw < s->w ? w0 + s->kw : s->w;
                if (h0 < 0) h0 = 0;
                if (w0 < 0) w0 = 0;
                for (int ch = 0; ch < c; ch++) {
                    long best = (((long)b * s->h + h0) * s->w + w0) * c + ch;
                    real mx = (real)-INFINITY;
                    for (int hh = h0; hh < h1; hh++)
                        for (int ww = w0; ww < w1; ww++) {
                            long k = (((long)b * s->h + hh) * s->w + ww) * c + ch;
                            if (x[k] > mx || isnan(x[k])) {
                                mx = x[k];
                                best = k;
                                if (isnan(mx)) goto done;
                            }
                        }
                done:;
                    long o = (((long)b * oh + i) * ow + j) * c + ch;
                    y[o] = mx;
                    if (argmax) argmax[o] = (int)best;
                }
            }
}

/* dx [n,h,w,c] += dy routed through argmax */
void REF(maxpool2d_backward)(real *dx, const real *dy, const int *argmax, const pool2d_shape *s) {
    long no = (long)s->n * pool2d_out_h(s) * pool2d_out_w(s) * s->c;
    for (long o = 0; o < no; o++) dx[argmax[o]] += dy[o];
}
