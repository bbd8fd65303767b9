#include "test.h"

#include "dsp/feature_norm.h"
#include "avemo.h"

#include <stdlib.h>

static void test_stats_and_standardize(void) {
    /* [3 clips, 2 channels, 4 frames]: channel 0 values 1..12 spread over clips, channel 1 constant 5 */
    float x[24], mean[2], std[2];
    int k = 1;
    for (int i = 0; i < 3; i++)
        for (int t = 0; t < 4; t++) x[(i * 2 + 0) * 4 + t] = (float)k++, x[(i * 2 + 1) * 4 + t] = 5;
    CHECK(feature_stats(x, 3, 2, 4, mean, std) == 0, "%s", avemo_last_error());
    /* numpy: np.arange(1, 13).mean() = 6.5, .std() = sqrt(143 / 12) */
    CHECK(fabsf(mean[0] - 6.5f) < 1e-6f && fabsf(std[0] - sqrtf(143.0f / 12)) < 1e-5f, "ch0 %g %g", mean[0], std[0]);
    CHECK(mean[1] == 5 && std[1] == 0, "ch1 %g %g", mean[1], std[1]);
    feature_standardize(x, 3, 2, 4, mean, std);
    float m2[2], s2[2];
    CHECK(feature_stats(x, 3, 2, 4, m2, s2) == 0, "restats");
    CHECK(fabsf(m2[0]) < 1e-6f && fabsf(s2[0] - 1) < 1e-6f, "standardised ch0: mean %g std %g", m2[0], s2[0]);
    CHECK(m2[1] == 0 && s2[1] == 0, "constant channel only centred: %g %g", m2[1], s2[1]);
    CHECK(feature_stats(x, 0, 2, 4, m2, s2) == AVEMO_EINVAL, "empty set accepted");
}

static void test_large_offset(void) {
    /* MFCC c0 sits near -500 with a spread of ~50: double accumulation keeps the std exact to float rounding */
    long n = 200, frames = 156;
    float *x = malloc(n * frames * sizeof *x), mean, std;
    fill_uniform_f(x, n * frames, 7, -550, -450);
    CHECK(feature_stats(x, n, 1, frames, &mean, &std) == 0, "%s", avemo_last_error());
    double s = 0, ss = 0;
    for (long i = 0; i < n * frames; i++) s += x[i];
    double m = s / (n * frames);
    for (long i = 0; i < n * frames; i++) ss += (x[i] - m) * (x[i] - m);
    CHECK(fabs(mean - m) < 1e-4 && fabs(std - sqrt(ss / (n * frames))) < 1e-4, "mean %g vs %g, std %g", mean, m, std);
    CHECK(fabs(std - 100 / sqrt(12.0)) < 0.5, "uniform std %g, expected ~28.9", std);
    free(x);
}

int main(void) {
    RUN(test_stats_and_standardize);
    RUN(test_large_offset);
    return test_summary();
}
