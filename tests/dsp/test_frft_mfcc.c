/* FRFT-MFCC (spec 3.5): a = 1 is the MFCC, orders stack as channels, and a fractional order matches the
 * same pipeline run on the direct O(N^2) FRFT kernel. */
#include "test.h"

#include "dsp/frft.h"
#include "dsp/frft_mfcc.h"
#include "dsp/mfcc.h"
#include "io/audio.h"
#include "avemo.h"

#include <complex.h>
#include <stdlib.h>
#include <string.h>

#define N_CLIP 79380
#define ROW (10 * 156)

static void chirp(float *x, long n) {
    for (long i = 0; i < n; i++) {
        double t = i / 22050.0;
        x[i] = (float)(0.5 * sin(2 * M_PI * (100 * t + (8000 - 100) / (2 * 3.6) * t * t)));
    }
}

static int speech(float *x) {
    const char *p = shared_path("data/ravdess-speech/Actor_12/03-01-08-02-02-02-12.flac");
    if (!p) return -1;
    audio_clip c;
    if (audio_load(p, 22050, &c)) {
        CHECK(0, "%s", avemo_last_error());
        return -1;
    }
    audio_fix_length(c.samples, c.n, x, N_CLIP);
    audio_clip_free(&c);
    return 0;
}

static int frft_mfcc_once(const mfcc_config *c, const double *orders, int n_orders, const float *x, long n, float *out) {
    frft_mfcc *f;
    int st = frft_mfcc_create(&f, c, orders, n_orders);
    if (st) return st;
    st = frft_mfcc_forward(f, x, n, out);
    frft_mfcc_destroy(f);
    return st;
}

static void test_order_one_is_mfcc(void) {
    /* a = 1: the centered unitary DFT, mapped back to rfft bins and scale: the MFCC up to rounding
     * (tolerance 1e-3 abs, the MFCC test's; observed ~1e-5) */
    mfcc_config c;
    mfcc_config_default(&c);
    float *x = malloc(N_CLIP * sizeof *x), want[ROW], got[ROW];
    for (int s = 0; s < 2; s++) {
        if (s == 0) chirp(x, N_CLIP);
        else if (speech(x)) break;
        for (int pad = 0; pad < 2; pad++) {
            c.pad_mode = pad ? MFCC_PAD_REFLECT : MFCC_PAD_CONSTANT;
            double one = 1.0, minus_one = -1.0;
            CHECK(mfcc_forward(&c, x, N_CLIP, want) == 0, "%s", avemo_last_error());
            CHECK(frft_mfcc_once(&c, &one, 1, x, N_CLIP, got) == 0, "%s", avemo_last_error());
            double e = max_abs_diff_f(got, want, ROW);
            CHECK(e < 1e-3, "%s pad %d: a = 1 differs from the MFCC by %g", s ? "speech" : "chirp", pad, e);
            /* a = -1 (inverse DFT): for a real frame |F^-1 x| = |F x|, so the same MFCC */
            CHECK(frft_mfcc_once(&c, &minus_one, 1, x, N_CLIP, got) == 0, "%s", avemo_last_error());
            double e2 = max_abs_diff_f(got, want, ROW);
            CHECK(e2 < 1e-3, "a = -1 differs from the MFCC by %g", e2);
            printf("  %s pad %-8s a=1: max abs diff %.3g  a=-1: %.3g\n", s ? "speech" : "chirp ",
                   pad ? "reflect" : "constant", e, e2);
        }
    }
    free(x);
}

static void test_stacked_orders(void) {
    /* orders {1, 0.95, 1.1} -> [30, 156]: each block equals its single-order run bit for bit */
    mfcc_config c;
    mfcc_config_default(&c);
    float *x = malloc(N_CLIP * sizeof *x), *all = malloc(3 * ROW * sizeof *all), one[ROW], mf[ROW];
    chirp(x, N_CLIP);
    double orders[3] = {1.0, 0.95, 1.1};
    frft_mfcc *f;
    CHECK(frft_mfcc_create(&f, &c, orders, 3) == 0, "%s", avemo_last_error());
    if (!test_failed_now) {
        CHECK(frft_mfcc_channels(f) == 30, "channels %d", frft_mfcc_channels(f));
        CHECK(frft_mfcc_forward(f, x, N_CLIP, all) == 0, "%s", avemo_last_error());
        frft_mfcc_destroy(f);
        for (int j = 0; j < 3; j++) {
            CHECK(frft_mfcc_once(&c, &orders[j], 1, x, N_CLIP, one) == 0, "%s", avemo_last_error());
            CHECK(!memcmp(all + j * ROW, one, sizeof one), "block %d differs from order %g alone", j, orders[j]);
        }
        /* a fractional order is a different feature: mean |difference| from the MFCC well above rounding */
        CHECK(mfcc_forward(&c, x, N_CLIP, mf) == 0, "%s", avemo_last_error());
        double d = 0;
        for (int i = 0; i < ROW; i++) d += fabs(all[ROW + i] - mf[i]) / ROW;
        CHECK(d > 0.1, "a = 0.95 is within %g of the MFCC on average", d);
        printf("  a=0.95 vs MFCC: mean abs diff %.3g\n", d);
    }
    free(x);
    free(all);
}

/* The pipeline's spectrum from the direct O(N^2) kernel (dsp/frft.h frft_direct), same bin mapping. */
typedef struct {
    int n;
    double order;
} direct_ctx;

static int direct_spectrum(void *ctx, const double *frame, double *power, double *scratch) {
    const direct_ctx *d = ctx;
    double complex *z = (double complex *)scratch, *y = z + d->n;
    for (int i = 0; i < d->n; i++) z[i] = frame[i];
    int st = frft_direct(y, z, d->n, d->order);
    if (st) return st;
    for (int k = 0; k <= d->n / 2; k++) {
        double complex v = y[(k + d->n / 2) % d->n];
        power[k] = d->n * (creal(v) * creal(v) + cimag(v) * cimag(v));
    }
    return 0;
}

static void test_against_direct_kernel(void) {
    /* A small configuration (sr 8 kHz, n_fft 256, hop 64, 40 mels, 2,000 samples of speech-band chirp) so
     * the O(N^2) kernel is cheap. The fast algorithm approximates the kernel (sinc interpolation; ~1e-3
     * relative at a = 0.7 for N = 256), and the log magnifies that error in bins far below the peak, so
     * top_db is 40 here and the tolerance 0.02 on coefficients up to ~170 (observed 1e-4 at a = 0.95,
     * 7e-3 at a = 0.7). */
    mfcc_config c;
    mfcc_config_default(&c);
    c.sample_rate_hz = 8000, c.n_fft = 256, c.hop_samples = 64, c.n_mels = 40, c.top_db = 40;
    long n = 2000, frames = mfcc_frames(&c, n);
    float *x = malloc(n * sizeof *x), *fast = malloc(10 * frames * sizeof *fast), *ref = malloc(10 * frames * sizeof *ref);
    for (long i = 0; i < n; i++) {
        double t = i / 8000.0;
        x[i] = (float)(0.5 * sin(2 * M_PI * (200 * t + 200 * t * t)) * (0.6 + 0.4 * cos(2 * M_PI * 3 * t)));
    }
    double orders[4] = {0.95, 0.9, 1.1, 0.7};
    for (int j = 0; j < 4; j++) {
        direct_ctx d = {c.n_fft, orders[j]};
        CHECK(frft_mfcc_once(&c, &orders[j], 1, x, n, fast) == 0, "%s", avemo_last_error());
        CHECK(mfcc_forward_spectrum(&c, direct_spectrum, &d, 4 * (size_t)c.n_fft, x, n, ref) == 0, "%s",
              avemo_last_error());
        double e = max_abs_diff_f(fast, ref, 10 * frames), mag = 0;
        for (long i = 0; i < 10 * frames; i++) mag = fmax(mag, fabs(ref[i]));
        CHECK(e < 0.02, "a = %g: fast vs direct max abs diff %g (coefficients up to %g)", orders[j], e, mag);
        printf("  a=%.2f fast vs direct kernel: max abs diff %.3g (|c| up to %.0f)\n", orders[j], e, mag);
    }
    free(x);
    free(fast);
    free(ref);
}

static void test_bad_orders(void) {
    mfcc_config c;
    mfcc_config_default(&c);
    frft_mfcc *f;
    double o = 0.9;
    CHECK(frft_mfcc_create(&f, &c, &o, 0) == AVEMO_EINVAL, "0 orders accepted");
    c.n_mfcc = 0;
    CHECK(frft_mfcc_create(&f, &c, &o, 1) == AVEMO_EINVAL, "n_mfcc 0 accepted");
}

int main(void) {
    RUN(test_order_one_is_mfcc);
    RUN(test_stacked_orders);
    RUN(test_against_direct_kernel);
    RUN(test_bad_orders);
    return test_summary();
}
