#include "dsp/pitch.h"

#include "core/err.h"

#include <math.h>
#include <stdlib.h>

void yin_config_default(yin_config *c) {
    c->sample_rate_hz = 22050;
    c->frame = 2048;
    c->hop = 512;
    c->fmin_hz = 60;
    c->fmax_hz = 500;
    c->threshold = 0.15;
}

int yin_config_check(const yin_config *c) {
    if (c->sample_rate_hz < 1000 || c->frame < 16 || c->frame % 2 || c->hop < 1)
        return avemo_error(AVEMO_EINVAL, "yin: bad rate %d, frame %d or hop %d", c->sample_rate_hz, c->frame, c->hop);
    if (!(c->fmin_hz > 0 && c->fmax_hz > c->fmin_hz && c->threshold > 0))
        return avemo_error(AVEMO_EINVAL, "yin: bad range %g..%g Hz or threshold %g", c->fmin_hz, c->fmax_hz,
                           c->threshold);
    int tau_min = (int)(c->sample_rate_hz / c->fmax_hz), tau_max = (int)(c->sample_rate_hz / c->fmin_hz);
    if (tau_min < 2 || tau_max + 1 + c->frame / 2 > c->frame)
        return avemo_error(AVEMO_EINVAL, "yin: %g..%g Hz needs lags %d..%d beyond the %d-sample frame", c->fmin_hz,
                           c->fmax_hz, tau_min, tau_max, c->frame);
    return AVEMO_OK;
}

/* cmnd [0..tau_max+1] of one frame x [frame] (steps 2 and 3). d(tau) accumulates over j in order for every tau
 * at once: the inner loop over tau vectorises, and each sum is the one of a loop over j per tau, bit for bit. */
static void cumulative_mean_difference(const double *x, int W, int tau_max, double *cmnd) {
    double *d = cmnd + 1; /* d(tau) at d[tau - 1], tau = 1..tau_max+1, overwritten by cmnd below */
    int n = tau_max + 1;
    for (int t = 0; t < n; t++) d[t] = 0;
    for (int j = 0; j < W; j++) {
        const double xj = x[j], *xt = x + j + 1;
        for (int t = 0; t < n; t++) {
            double e = xj - xt[t];
            d[t] += e * e;
        }
    }
    double running = 0;
    cmnd[0] = 1;
    for (int tau = 1; tau <= n; tau++) {
        double dt = cmnd[tau];
        running += dt;
        cmnd[tau] = running > 0 ? dt * tau / running : 1;
    }
}

/* steps 4 and 5 on cmnd: *f0, *aperiodicity */
static void pick_lag(const yin_config *c, const double *cmnd, int tau_min, int tau_max, float *f0, float *aper) {
    int tau = -1;
    for (int t = tau_min; t <= tau_max; t++)
        if (cmnd[t] < c->threshold) {
            tau = t;
            while (tau + 1 <= tau_max && cmnd[tau + 1] < cmnd[tau]) tau++;
            break;
        }
    if (tau < 0) {
        tau = tau_min;
        for (int t = tau_min + 1; t <= tau_max; t++)
            if (cmnd[t] < cmnd[tau]) tau = t;
    }
    double s0 = cmnd[tau - 1], s1 = cmnd[tau], s2 = cmnd[tau + 1], den = s0 - 2 * s1 + s2;
    double refined = den > 1e-12 ? tau + 0.5 * (s0 - s2) / den : tau;
    *f0 = (float)(c->sample_rate_hz / refined);
    *aper = (float)s1;
}

int yin_track(const yin_config *c, const float *x, long n, float *f0_hz, float *aperiodicity) {
    int rc = yin_config_check(c);
    if (rc) return rc;
    int W = c->frame / 2, half = c->frame / 2;
    int tau_min = (int)(c->sample_rate_hz / c->fmax_hz), tau_max = (int)(c->sample_rate_hz / c->fmin_hz);
    long frames = 1 + n / c->hop;
    double *buf = malloc(((size_t)c->frame + (size_t)tau_max + 2) * sizeof *buf);
    if (!buf) return avemo_error(AVEMO_ENOMEM, "out of memory");
    double *frame = buf, *cmnd = buf + c->frame;
    for (long t = 0; t < frames; t++) {
        long start = t * c->hop - half; /* in x; zero outside (center=True, constant padding) */
        for (int j = 0; j < c->frame; j++) frame[j] = start + j >= 0 && start + j < n ? x[start + j] : 0.0;
        cumulative_mean_difference(frame, W, tau_max, cmnd);
        pick_lag(c, cmnd, tau_min, tau_max, &f0_hz[t], &aperiodicity[t]);
    }
    free(buf);
    return AVEMO_OK;
}

void yin_pitch_rows(const yin_config *c, const float *f0_hz, const float *aperiodicity, long frames, float *out) {
    for (long t = 0; t < frames; t++) {
        int voiced = aperiodicity[t] < c->threshold && f0_hz[t] > 0;
        out[t] = voiced ? (float)log2(f0_hz[t] / 100.0) : 0.0f;
        float p = 1.0f - aperiodicity[t];
        out[frames + t] = p < 0 ? 0 : p > 1 ? 1 : p;
    }
}
