#include "dsp/deltas.h"

#include "core/err.h"

int feature_deltas(const float *x, int rows, int frames, int order, float *out) {
    if (order != 1 && order != 2) return avemo_error(AVEMO_EINVAL, "delta order %d (1 or 2)", order);
    if (frames < DELTA_WIDTH)
        return avemo_error(AVEMO_EINVAL, "deltas need %d frames or more (got %d)", DELTA_WIDTH, frames);
    const int half = DELTA_WIDTH / 2;
    double w[DELTA_WIDTH];
    for (int k = -half; k <= half; k++) w[k + half] = order == 1 ? k / 60.0 : 2.0 * (k * k - 20.0 / 3.0) / 308.0;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * frames;
        float *yr = out + (long)r * frames;
        for (int t = half; t < frames - half; t++) {
            double s = 0;
            for (int k = -half; k <= half; k++) s += w[k + half] * xr[t + k];
            yr[t] = (float)s;
        }
        for (int t = 0; t < half; t++) {
            yr[t] = yr[half];
            yr[frames - 1 - t] = yr[frames - 1 - half];
        }
    }
    return AVEMO_OK;
}
