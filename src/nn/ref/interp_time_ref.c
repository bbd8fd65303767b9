/* Linear resampling along time, F.interpolate(x, size=to, mode='linear', align_corners=False) on a
 * channels-last [b, t, c] sequence. Output step i reads source position (i + 0.5) ti/to - 0.5, clamped to
 * >= 0, between steps i0 = floor(pos) and i1 = min(i0 + 1, ti - 1) (PyTorch's UpSampleKernel). */
#include "nn/ref/real.h"

static void interp_index(int i, int ti, int to, int *i0, int *i1, real *w1) {
    real scale = (real)ti / (real)to;
    real pos = scale * ((real)i + (real)0.5) - (real)0.5;
    if (pos < 0) pos = 0;
    int a = (int)pos;
    if (a > ti - 1) a = ti - 1;
    *i0 = a;
    *i1 = a < ti - 1 ? a + 1 : a;
    *w1 = pos - (real)a;
}

/* x [b, ti, c] -> y [b, to, c] */
void REF(interp_time_forward)(real *y, const real *x, int b, int ti, int to, int c) {
    for (int i = 0; i < to; i++) {
        int i0, i1;
        real w1;
        interp_index(i, ti, to, &i0, &i1, &w1);
        for (int n = 0; n < b; n++)
            for (int j = 0; j < c; j++)
                y[((long)n * to + i) * c + j] =
                    (1 - w1) * x[((long)n * ti + i0) * c + j] + w1 * x[((long)n * ti + i1) * c + j];
    }
}

void REF(interp_time_backward)(real *dx, const real *dy, int b, int ti, int to, int c) {
    for (int i = 0; i < to; i++) {
        int i0, i1;
        real w1;
        interp_index(i, ti, to, &i0, &i1, &w1);
        for (int n = 0; n < b; n++)
            for (int j = 0; j < c; j++) {
                real g = dy[((long)n * to + i) * c + j];
                dx[((long)n * ti + i0) * c + j] += (1 - w1) * g;
                dx[((long)n * ti + i1) * c + j] += w1 * g;
            }
    }
}
