/* The conv2d kernels behind conv2d_forward/backward (internal to src/nn; see conv2d.c for the dispatch).
 * Shapes and semantics as nn/ref/conv2d_ref.c; nt = number of OpenMP threads; backward accumulates. */
#ifndef AVEMO_NN_CONV2D_INTERNAL_H
#define AVEMO_NN_CONV2D_INTERNAL_H
#include "nn/shapes.h"

/* depthwise 3x3 (groups = c_in = c_out), any stride and padding: conv2d_depthwise.c */
int conv2d_dw3x3_forward(float *y, const float *x, const float *w, const float *b, const conv2d_shape *s, int nt);
int conv2d_dw3x3_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                          const conv2d_shape *s, int nt);

/* direct convolution for few input channels (the stem), conv2d_direct.c: usable when conv2d_direct_ok */
int conv2d_direct_ok(const conv2d_shape *s);
int conv2d_direct_forward(float *y, const float *x, const float *w, const float *b, const conv2d_shape *s, int nt);
/* weight and bias gradients only (dx goes through im2col) */
int conv2d_direct_backward_dw(float *dw, float *db, const float *dy, const float *x, const conv2d_shape *s, int nt);

#endif
