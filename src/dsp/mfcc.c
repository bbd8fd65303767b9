#include "dsp/mfcc.h"

#include "core/err.h"
#include "dsp/fft.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MFCC_AMIN 1e-10 /* librosa.power_to_db amin */
#define MFCC_MAX_SAMPLES (1L << 31)

void mfcc_config_default(mfcc_config *c) {
    c->sample_rate_hz = 22050;
    c->n_fft = 2048;
    c->hop_samples = 512;
    c->n_mels = 128;
    c->n_mfcc = AVEMO_MFCC_N_MFCC;
    c->fmin_hz = 0;
    c->fmax_hz = 0;
    c->top_db = 80;
    c->pad_mode = MFCC_PAD_CONSTANT;
}

static double fmax_of(const mfcc_config *c) { return c->fmax_hz > 0 ? c->fmax_hz : c->sample_rate_hz / 2.0; }

int mfcc_config_check(const mfcc_config *c) {
    if (c->sample_rate_hz <= 0) return avemo_error(AVEMO_EINVAL, "mfcc: sample rate %d Hz", c->sample_rate_hz);
    if (c->n_fft < 2 || c->n_fft % 2 || c->n_fft > (1 << 20))
        return avemo_error(AVEMO_EINVAL, "mfcc: n_fft %d must be even, 2..2^20", c->n_fft);
    if (c->hop_samples < 1) return avemo_error(AVEMO_EINVAL, "mfcc: hop %d", c->hop_samples);
    if (c->n_mels < 1 || c->n_mels > 4096) return avemo_error(AVEMO_EINVAL, "mfcc: n_mels %d", c->n_mels);
    if (c->n_mfcc < 1 || c->n_mfcc > c->n_mels)
        return avemo_error(AVEMO_EINVAL, "mfcc: n_mfcc %d must be 1..n_mels (%d)", c->n_mfcc, c->n_mels);
    if (c->fmin_hz < 0 || c->fmin_hz >= fmax_of(c))
        return avemo_error(AVEMO_EINVAL, "mfcc: fmin %g Hz must be in [0, fmax %g Hz)", c->fmin_hz, fmax_of(c));
    if (c->pad_mode != MFCC_PAD_CONSTANT && c->pad_mode != MFCC_PAD_REFLECT)
        return avemo_error(AVEMO_EINVAL, "mfcc: pad mode %d", (int)c->pad_mode);
    return 0;
}

long mfcc_frames(const mfcc_config *c, long n_samples) { return 1 + n_samples / c->hop_samples; }

/* ---- Slaney mel filterbank (librosa.filters.mel, htk=False, norm='slaney') ---- */

#define MEL_F_SP (200.0 / 3)
#define MEL_MIN_LOG_HZ 1000.0
#define MEL_MIN_LOG_MEL (MEL_MIN_LOG_HZ / MEL_F_SP)

static double mel_logstep(void) { return log(6.4) / 27.0; }

static double hz_to_mel(double f) { /* librosa.hz_to_mel(htk=False) */
    return f >= MEL_MIN_LOG_HZ ? MEL_MIN_LOG_MEL + log(f / MEL_MIN_LOG_HZ) / mel_logstep() : f / MEL_F_SP;
}

static double mel_to_hz(double m) { /* librosa.mel_to_hz(htk=False) */
    return m >= MEL_MIN_LOG_MEL ? MEL_MIN_LOG_HZ * exp(mel_logstep() * (m - MEL_MIN_LOG_MEL)) : MEL_F_SP * m;
}

typedef struct mel_bank {
    int sr, n_fft, n_mels;
    double fmin, fmax;
    double *w;     /* [n_mels, n_fft/2+1] */
    int *lo, *hi;  /* [n_mels] nonzero range of each row: w[m, lo..hi) */
    struct mel_bank *next;
} mel_bank;

static pthread_mutex_t bank_mutex = PTHREAD_MUTEX_INITIALIZER;
static mel_bank *banks; /* cache, guarded by bank_mutex; lives until exit */

static mel_bank *mel_bank_build(const mfcc_config *c) {
    int nm = c->n_mels, nb = c->n_fft / 2 + 1;
    double f_lo = c->fmin_hz, f_hi = fmax_of(c);
    mel_bank *b = calloc(1, sizeof *b);
    double *fft_f = malloc((size_t)nb * sizeof *fft_f), *mel_f = malloc((size_t)(nm + 2) * sizeof *mel_f);
    if (b) {
        b->w = calloc((size_t)nm * nb, sizeof *b->w);
        b->lo = malloc((size_t)nm * sizeof *b->lo);
        b->hi = malloc((size_t)nm * sizeof *b->hi);
    }
    if (!b || !b->w || !b->lo || !b->hi || !fft_f || !mel_f) {
        if (b) free(b->w), free(b->lo), free(b->hi);
        free(b), free(fft_f), free(mel_f);
        return NULL;
    }
    b->sr = c->sample_rate_hz, b->n_fft = c->n_fft, b->n_mels = nm, b->fmin = c->fmin_hz, b->fmax = c->fmax_hz;
    /* np.fft.rfftfreq(n_fft, d=1/sr) */
    double val = 1.0 / (c->n_fft * (1.0 / c->sample_rate_hz));
    for (int k = 0; k < nb; k++) fft_f[k] = k * val;
    /* mel_frequencies(n_mels + 2, fmin, fmax): np.linspace over the mel scale (last point exactly max) */
    double m0 = hz_to_mel(f_lo), m1 = hz_to_mel(f_hi), step = (m1 - m0) / (nm + 1);
    for (int i = 0; i < nm + 2; i++) mel_f[i] = mel_to_hz(i == nm + 1 ? m1 : i * step + m0);
    for (int m = 0; m < nm; m++) {
        double d0 = mel_f[m + 1] - mel_f[m], d1 = mel_f[m + 2] - mel_f[m + 1];
        double enorm = 2.0 / (mel_f[m + 2] - mel_f[m]); /* Slaney area normalisation */
        b->lo[m] = nb, b->hi[m] = 0;
        for (int k = 0; k < nb; k++) {
            double lower = -(mel_f[m] - fft_f[k]) / d0, upper = (mel_f[m + 2] - fft_f[k]) / d1;
            double w = fmax(0.0, fmin(lower, upper));
            /* librosa builds the basis as float32 (dtype=np.float32): the same rounding here */
            b->w[(size_t)m * nb + k] = (double)(float)(w * enorm);
            if (b->w[(size_t)m * nb + k] != 0) {
                if (k < b->lo[m]) b->lo[m] = k;
                b->hi[m] = k + 1;
            }
        }
        if (b->lo[m] > b->hi[m]) b->lo[m] = b->hi[m] = 0; /* an empty filter (librosa warns) */
    }
    free(fft_f);
    free(mel_f);
    return b;
}

static int mel_bank_get(const mfcc_config *c, const mel_bank **out) {
    pthread_mutex_lock(&bank_mutex);
    mel_bank *b = banks;
    while (b && !(b->sr == c->sample_rate_hz && b->n_fft == c->n_fft && b->n_mels == c->n_mels &&
                  b->fmin == c->fmin_hz && b->fmax == c->fmax_hz))
        b = b->next;
    if (!b && (b = mel_bank_build(c))) {
        b->next = banks;
        banks = b;
    }
    pthread_mutex_unlock(&bank_mutex);
    *out = b;
    return b ? 0 : avemo_error(AVEMO_ENOMEM, "mfcc: out of memory for the mel filterbank");
}

/* ---- the pipeline ---- */

/* Index into x [n] of padded position j (np.pad mode 'reflect': no edge repeat; folds again for long pads). */
static long reflect_index(long j, long n) {
    if (n == 1) return 0;
    long period = 2 * (n - 1);
    j %= period;
    if (j < 0) j += period;
    return j < n ? j : period - j;
}

static int fft_spectrum(void *ctx, const double *frame, double *power, double *scratch) {
    fft_power((const fft_real_plan *)ctx, frame, power, scratch);
    return 0;
}

/* logmel [n_mels, frames] = power_to_db(mel_basis @ |spectrum|^2) with top_db clipping. */
static int log_mel_core(const mfcc_config *c, mfcc_spectrum_fn fn, void *ctx, size_t scratch_doubles,
                        const float *x, long n, double *logmel) {
    int st = mfcc_config_check(c);
    if (st) return st;
    if (n < 1 || n > MFCC_MAX_SAMPLES) return avemo_error(AVEMO_EINVAL, "mfcc: signal length %ld", n);
    const mel_bank *bank;
    if ((st = mel_bank_get(c, &bank))) return st;
    int nf = c->n_fft, nb = nf / 2 + 1, nm = c->n_mels;
    long frames = mfcc_frames(c, n);
    double *window = malloc((size_t)nf * sizeof(double)), *frame = malloc((size_t)nf * sizeof(double));
    double *power = malloc((size_t)nb * sizeof(double));
    double *scratch = malloc((scratch_doubles ? scratch_doubles : 1) * sizeof(double));
    if (!window || !frame || !power || !scratch) {
        st = avemo_error(AVEMO_ENOMEM, "mfcc: out of memory");
        goto done;
    }
    for (int i = 0; i < nf; i++) window[i] = 0.5 - 0.5 * cos(2.0 * M_PI * i / nf);
    for (long t = 0; t < frames; t++) {
        long start = t * c->hop_samples - nf / 2; /* center=True */
        for (int i = 0; i < nf; i++) {
            long j = start + i;
            double v;
            if (j >= 0 && j < n) v = x[j];
            else v = c->pad_mode == MFCC_PAD_REFLECT ? x[reflect_index(j, n)] : 0.0;
            frame[i] = window[i] * v;
        }
        if ((st = fn(ctx, frame, power, scratch))) goto done;
        for (int m = 0; m < nm; m++) {
            const double *w = bank->w + (size_t)m * nb;
            double s = 0;
            for (int k = bank->lo[m]; k < bank->hi[m]; k++) s += w[k] * power[k];
            logmel[(size_t)m * frames + t] = s;
        }
    }
    /* librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80) */
    size_t total = (size_t)nm * frames;
    double top = -INFINITY, ref_db = 10.0 * log10(fmax(MFCC_AMIN, 1.0));
    for (size_t i = 0; i < total; i++) {
        logmel[i] = 10.0 * log10(fmax(MFCC_AMIN, logmel[i])) - ref_db;
        if (logmel[i] > top) top = logmel[i];
    }
    if (c->top_db > 0)
        for (size_t i = 0; i < total; i++) logmel[i] = fmax(logmel[i], top - c->top_db);
done:
    free(window);
    free(frame);
    free(power);
    free(scratch);
    return st;
}

int mfcc_forward_spectrum(const mfcc_config *c, mfcc_spectrum_fn fn, void *ctx, size_t scratch_doubles,
                          const float *x, long n, float *out) {
    int st = mfcc_config_check(c);
    if (st) return st;
    long frames = mfcc_frames(c, n);
    int nm = c->n_mels, nc = c->n_mfcc;
    double *logmel = malloc((size_t)nm * frames * sizeof *logmel);
    double *dct = malloc((size_t)nc * nm * sizeof *dct), *acc = malloc((size_t)frames * sizeof *acc);
    if (!logmel || !dct || !acc) {
        st = avemo_error(AVEMO_ENOMEM, "mfcc: out of memory for %ld frames", frames);
        goto done;
    }
    if ((st = log_mel_core(c, fn, ctx, scratch_doubles, x, n, logmel))) goto done;
    /* scipy.fftpack.dct(type=2, norm='ortho'): C_k = s_k sum_m L_m cos(pi k (2m + 1) / (2 n_mels)),
     * s_0 = sqrt(1 / n_mels), s_k = sqrt(2 / n_mels) */
    for (int k = 0; k < nc; k++)
        for (int m = 0; m < nm; m++)
            dct[k * nm + m] = sqrt((k ? 2.0 : 1.0) / nm) * cos(M_PI * k * (2 * m + 1) / (2.0 * nm));
    for (int k = 0; k < nc; k++) {
        for (long t = 0; t < frames; t++) acc[t] = 0;
        for (int m = 0; m < nm; m++) {
            double d = dct[k * nm + m];
            const double *l = logmel + (size_t)m * frames;
            for (long t = 0; t < frames; t++) acc[t] += d * l[t];
        }
        for (long t = 0; t < frames; t++) out[(size_t)k * frames + t] = (float)acc[t];
    }
done:
    free(logmel);
    free(dct);
    free(acc);
    return st;
}

int mfcc_forward(const mfcc_config *c, const float *x, long n, float *out) {
    int st = mfcc_config_check(c);
    if (st) return st;
    const fft_real_plan *plan;
    if ((st = fft_real_plan_get(c->n_fft, &plan))) return st;
    return mfcc_forward_spectrum(c, fft_spectrum, (void *)plan, (size_t)c->n_fft + 2, x, n, out);
}

