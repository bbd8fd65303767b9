#include "train/augment.h"

#include <math.h>
#include <string.h>

int audio_augment_any(const audio_augment *a) {
    return a->time_shift > 0 || a->time_mask > 0 || a->freq_mask > 0 || a->noise > 0 || a->speed > 0;
}

static int uniform_int(rng_t *r, int lo, int hi) { return lo + (int)rng_below(r, (uint64_t)(hi - lo + 1)); }

/* y [F, C] <- x [F, C] with frames rolled by s: y[t] = x[(t - s) mod F] */
static void roll_frames(float *y, const float *x, int F, int C, int s) {
    for (int t = 0; t < F; t++) {
        int src = ((t - s) % F + F) % F;
        memcpy(y + (long)t * C, x + (long)src * C, (size_t)C * sizeof *y);
    }
}

/* y [F, C] <- x [F, C] resampled to n frames (linear, align_corners=False), centre-cropped or zero-padded to F */
static void stretch_frames(float *y, const float *x, int F, int C, int n) {
    int off = n >= F ? (n - F) / 2 : -((F - n) / 2); /* frame j of y is frame j + off of the resampled clip */
    double scale = (double)F / n;
    for (int j = 0; j < F; j++) {
        int i = j + off;
        float *dst = y + (long)j * C;
        if (i < 0 || i >= n) {
            memset(dst, 0, (size_t)C * sizeof *dst);
            continue;
        }
        double src = (i + 0.5) * scale - 0.5;
        if (src < 0) src = 0;
        int i0 = (int)src, i1 = i0 + 1 < F ? i0 + 1 : F - 1;
        float w = (float)(src - i0);
        for (int c = 0; c < C; c++) dst[c] = (1 - w) * x[(long)i0 * C + c] + w * x[(long)i1 * C + c];
    }
}

static void augment_clip(const audio_augment *a, float *x, int F, int C, float *scratch, rng_t *r) {
    long per = (long)F * C;
    if (a->speed > 0) {
        double factor = 1.0 + a->speed * (2.0 * rng_uniform(r) - 1.0);
        int n = (int)lround(F * factor);
        if (n < 1) n = 1;
        stretch_frames(scratch, x, F, C, n);
        memcpy(x, scratch, (size_t)per * sizeof *x);
    }
    if (a->time_shift > 0) {
        roll_frames(scratch, x, F, C, uniform_int(r, -a->time_shift, a->time_shift));
        memcpy(x, scratch, (size_t)per * sizeof *x);
    }
    if (a->noise > 0)
        for (long i = 0; i < per; i++) x[i] += a->noise * (float)rng_normal(r);
    if (a->time_mask > 0) {
        int w = uniform_int(r, 0, a->time_mask < F ? a->time_mask : F), t0 = uniform_int(r, 0, F - w);
        memset(x + (long)t0 * C, 0, (size_t)w * C * sizeof *x);
    }
    if (a->freq_mask > 0) {
        int w = uniform_int(r, 0, a->freq_mask < C ? a->freq_mask : C), c0 = uniform_int(r, 0, C - w);
        for (int t = 0; t < F; t++) memset(x + (long)t * C + c0, 0, (size_t)w * sizeof *x);
    }
}

void audio_augment_batch(const audio_augment *a, float *x, int n, int F, int C, float *scratch, rng_t *rng) {
    if (!audio_augment_any(a)) return;
    for (int i = 0; i < n; i++) augment_clip(a, x + (long)i * F * C, F, C, scratch, rng);
}

/* Gamma(shape, 1): Marsaglia and Tsang (2000); shape < 1 through Gamma(shape + 1) * U^(1/shape). */
static double gamma_draw(double shape, rng_t *r) {
    if (shape < 1) {
        double u = rng_uniform(r);
        return gamma_draw(shape + 1, r) * pow(u > 0 ? u : 1e-300, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double z = rng_normal(r), v = 1 + c * z;
        if (v <= 0) continue;
        v = v * v * v;
        double u = rng_uniform(r);
        if (u < 1 - 0.0331 * z * z * z * z || log(u > 0 ? u : 1e-300) < 0.5 * z * z + d * (1 - v + log(v))) return d * v;
    }
}

double audio_augment_mixup_lambda(double alpha, rng_t *rng) {
    double g1 = gamma_draw(alpha, rng), g2 = gamma_draw(alpha, rng);
    return g1 + g2 > 0 ? g1 / (g1 + g2) : 0.5;
}
