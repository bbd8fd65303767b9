#include "dsp/feature_norm.h"

#include "core/err.h"

#include <math.h>
#include <stdlib.h>

int feature_stats(const float *x, long n, int channels, long frames, float *mean, float *std) {
    if (n < 1 || channels < 1 || frames < 1)
        return avemo_error(AVEMO_EINVAL, "feature stats: empty set [%ld, %d, %ld]", n, channels, frames);
    double count = (double)n * frames;
    for (int c = 0; c < channels; c++) {
        double s = 0, ss = 0;
        for (long i = 0; i < n; i++) {
            const float *row = x + ((size_t)i * channels + c) * frames;
            for (long t = 0; t < frames; t++) s += row[t];
        }
        double m = s / count;
        for (long i = 0; i < n; i++) {
            const float *row = x + ((size_t)i * channels + c) * frames;
            for (long t = 0; t < frames; t++) ss += (row[t] - m) * (row[t] - m);
        }
        mean[c] = (float)m;
        std[c] = (float)sqrt(ss / count);
    }
    return 0;
}

void feature_standardize(float *x, long n, int channels, long frames, const float *mean, const float *std) {
    for (long i = 0; i < n; i++)
        for (int c = 0; c < channels; c++) {
            float *row = x + ((size_t)i * channels + c) * frames;
            float m = mean[c], inv = std[c] < AVEMO_FEATURE_STD_FLOOR ? 1.0f : 1.0f / std[c];
            for (long t = 0; t < frames; t++) row[t] = (row[t] - m) * inv;
        }
}
