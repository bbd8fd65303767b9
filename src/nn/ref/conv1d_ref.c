/* Reference conv1d over [b, t, c] = conv2d with h = 1 (float *_ref and double *_f64 builds).
 * x [b,t,c_in], w [c_out, c_in/groups, k] (PyTorch Conv1d; the same memory as [c_out, c_in/groups, 1, k]),
 * b [c_out] or NULL, y [b, ot, c_out]. */
#include "nn/ref/real.h"

static conv2d_shape as_2d(const conv1d_shape *s) {
    conv2d_shape c = {.n = s->b, .h = 1, .w = s->t, .c_in = s->c_in, .c_out = s->c_out, .kh = 1, .kw = s->k,
                      .stride_h = 1, .stride_w = s->stride, .pad_top = 0, .pad_left = s->pad_left,
                      .pad_bottom = 0, .pad_right = s->pad_right, .groups = s->groups};
    return c;
}

void REF(conv1d_forward)(real *y, const real *x, const real *w, const real *b, const conv1d_shape *s) {
    conv2d_shape c = as_2d(s);
    REF(conv2d_forward)(y, x, w, b, &c);
}

void REF(conv1d_backward)(real *dx, real *dw, real *db, const real *dy, const real *x, const real *w,
                          const conv1d_shape *s) {
    conv2d_shape c = as_2d(s);
    REF(conv2d_backward)(dx, dw, db, dy, x, w, &c);
}
