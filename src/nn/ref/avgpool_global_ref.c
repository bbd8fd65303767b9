/* Global average pooling: x [n, hw, c] -> y [n, c] (AdaptiveAvgPool2d(1); also the temporal mean of [b,t,c]). */
#include "nn/ref/real.h"

void REF(avgpool_global_forward)(real *y, const real *x, int n, long hw, int c) {
    for (int b = 0; b < n; b++)
        for (int j = 0; j < c; j++) {
            double s = 0;
            for (long p = 0; p < hw; p++) s += x[((long)b * hw + p) * c + j];
            y[(long)b * c + j] = (real)(s / (double)hw);
        }
}

void REF(avgpool_global_backward)(real *dx, const real *dy, int n, long hw, int c) {
    for (int b = 0; b < n; b++)
        for (long p = 0; p < hw; p++)
            for (int j = 0; j < c; j++) dx[((long)b * hw + p) * c + j] += dy[(long)b * c + j] / (real)hw;
}
