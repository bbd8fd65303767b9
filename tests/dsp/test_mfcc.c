/* MFCC against tools/mfcc_reference.py (librosa 0.10's formulas in numpy/scipy); fixtures written by
 * tools/fixtures_mfcc.py. Tolerance: max abs error < 1e-3 on the coefficients (their magnitude is up to
 * ~1,100 for silence; we compute in double, the reference in float64 from a float32 mel basis, and both
 * round to float32: the observed error is float32 rounding, ~1e-4). */
#include "test.h"

#include "dsp/mfcc.h"
#include "io/audio.h"
#include "io/npy.h"
#include "avemo.h"

#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N_CLIP 79380 /* 3.6 s at 22,050 Hz */
#define MFCC_TOL 1e-3

/* The synthetic signals of tools/fixtures_mfcc.py, same formulas. */
static void make_signal(const char *name, float *x, long n) {
    for (long i = 0; i < n; i++) {
        double t = i / 22050.0;
        if (!strcmp(name, "sine")) x[i] = (float)(0.5 * sin(2 * M_PI * 440 * i / 22050));
        else if (!strcmp(name, "chirp")) x[i] = (float)(0.5 * sin(2 * M_PI * (100 * t + (8000 - 100) / (2 * 3.6) * t * t)));
        else x[i] = 0;
    }
    if (!strcmp(name, "noise")) {
        uint64_t s = 42;
        for (long i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x[i] = (float)(0.3 * (2.0 * ((double)(s >> 11) * (1.0 / 9007199254740992.0)) - 1.0));
        }
    }
}

/* Compare out [rows, frames] with fixture dsp/<name>; returns max abs error or -1. */
static double compare_fixture(const char *name, const float *out, long rows, long frames) {
    char rel[256];
    snprintf(rel, sizeof rel, "dsp/%s", name);
    const char *p = fixture_path(rel);
    if (!p) return -1;
    npy_array a;
    if (npy_read(p, &a)) {
        CHECK(0, "read %s: %s", p, avemo_last_error());
        return -1;
    }
    double err = -1;
    CHECK(a.dtype == NPY_F32 && a.count == rows * frames, "%s: %ld values, expected %ld", name, (long)a.count,
          rows * frames);
    if (a.dtype == NPY_F32 && a.count == rows * frames) err = max_abs_diff_f(out, a.data, a.count);
    npy_free(&a);
    return err;
}

static void check_signal(const char *name, long n, mfcc_pad_mode pad, const char *fixture) {
    mfcc_config c;
    mfcc_config_default(&c);
    c.pad_mode = pad;
    float *x = malloc(N_CLIP * sizeof *x);
    make_signal(name, x, N_CLIP);
    long frames = mfcc_frames(&c, n);
    float *out = malloc((size_t)c.n_mfcc * frames * sizeof *out);
    CHECK(mfcc_forward(&c, x, n, out) == 0, "mfcc %s: %s", name, avemo_last_error());
    double err = compare_fixture(fixture, out, c.n_mfcc, frames);
    CHECK(err >= 0 && err < MFCC_TOL, "%s: max abs error %g vs the reference", fixture, err);
    printf("  %-28s frames %3ld  max abs err %.3g\n", fixture, frames, err);
    free(x);
    free(out);
}

static void test_frames(void) {
    mfcc_config c;
    mfcc_config_default(&c);
    CHECK(mfcc_frames(&c, N_CLIP) == 156, "frames %ld, spec says 156", mfcc_frames(&c, N_CLIP));
}

static void test_synthetic(void) {
    check_signal("sine", N_CLIP, MFCC_PAD_CONSTANT, "mfcc_sine.npy");
    check_signal("chirp", N_CLIP, MFCC_PAD_CONSTANT, "mfcc_chirp.npy");
    check_signal("noise", N_CLIP, MFCC_PAD_CONSTANT, "mfcc_noise.npy");
    check_signal("silence", N_CLIP, MFCC_PAD_CONSTANT, "mfcc_silence.npy");
    /* 1,000 samples: 2 frames, and reflect padding of 1,024 folds back more than once (np.pad semantics) */
    check_signal("sine", 1000, MFCC_PAD_CONSTANT, "mfcc_short_constant.npy");
    check_signal("sine", 1000, MFCC_PAD_REFLECT, "mfcc_short_reflect.npy");
}

static void test_silence_exact(void) {
    /* all-zero input: every mel value hits the 1e-10 floor (-100 dB), top_db clips nothing, so c0 is
     * -100 * sqrt(128) and every other coefficient 0 */
    mfcc_config c;
    mfcc_config_default(&c);
    float *x = calloc(N_CLIP, sizeof *x), out[10 * 156];
    CHECK(mfcc_forward(&c, x, N_CLIP, out) == 0, "%s", avemo_last_error());
    double e0 = 0, e1 = 0;
    for (int t = 0; t < 156; t++) {
        e0 = fmax(e0, fabs(out[t] + 100 * sqrt(128.0)));
        for (int k = 1; k < 10; k++) e1 = fmax(e1, fabs(out[k * 156 + t]));
    }
    CHECK(e0 < 1e-3 && e1 < 1e-3, "silence: c0 off by %g, others up to %g", e0, e1);
    free(x);
}

static void test_other_rate(void) {
    /* sr 16 kHz, n_mfcc 13: the filterbank is rebuilt for the new (sr, n_fft, n_mels) and cached beside */
    mfcc_config c;
    mfcc_config_default(&c);
    c.sample_rate_hz = 16000;
    c.n_mfcc = 13;
    long n = 32000, frames = mfcc_frames(&c, n);
    float *x = malloc(n * sizeof *x), *out = malloc(13 * frames * sizeof *out);
    for (long i = 0; i < n; i++) x[i] = (float)(0.5 * sin(2 * M_PI * 1000 * i / 16000));
    CHECK(mfcc_forward(&c, x, n, out) == 0, "%s", avemo_last_error());
    double err = compare_fixture("mfcc_sr16k.npy", out, 13, frames);
    CHECK(err >= 0 && err < MFCC_TOL, "sr16k: max abs error %g", err);
    free(x);
    free(out);
}

/* The three RAVDESS clips of the fixture, decoded and prepared by our own decoder. */
static const char *speech[3] = {
    "data/ravdess-speech/Actor_01/03-01-01-01-01-01-01.flac",
    "data/ravdess-speech/Actor_01/03-01-02-01-01-02-01.flac",
    "data/ravdess-speech/Actor_12/03-01-08-02-02-02-12.flac",
};

static int load_speech(float *w /* [3, N_CLIP] */) {
    for (int i = 0; i < 3; i++) {
        const char *p = shared_path(speech[i]);
        if (!p) return -1;
        audio_clip clip;
        if (audio_load(p, 22050, &clip)) {
            CHECK(0, "%s", avemo_last_error());
            return -1;
        }
        audio_fix_length(clip.samples, clip.n, w + (size_t)i * N_CLIP, N_CLIP);
        audio_clip_free(&clip);
    }
    return 0;
}

static void test_speech(void) {
    float *w = malloc(3 * N_CLIP * sizeof *w), *out = malloc(2 * 3 * 10 * 156 * sizeof *out);
    if (load_speech(w) == 0) {
        for (int pad = 0; pad < 2; pad++) {
            mfcc_config c;
            mfcc_config_default(&c);
            c.pad_mode = pad ? MFCC_PAD_REFLECT : MFCC_PAD_CONSTANT;
            for (int i = 0; i < 3; i++)
                CHECK(mfcc_forward(&c, w + (size_t)i * N_CLIP, N_CLIP, out + (size_t)i * 1560) == 0, "%s",
                      avemo_last_error());
            const char *fx = pad ? "mfcc_speech_reflect.npy" : "mfcc_speech.npy";
            double err = compare_fixture(fx, out, 3 * 10, 156);
            CHECK(err >= 0 && err < MFCC_TOL, "%s: max abs error %g", fx, err);
            printf("  %-28s max abs err %.3g\n", fx, err);
        }
    }
    free(w);
    free(out);
}

static void test_threads(void) {
    /* 8 clips at once (the CLI's use): each result equals the serial one bit for bit */
    mfcc_config c;
    mfcc_config_default(&c);
    float *x = malloc(N_CLIP * sizeof *x), *ref = malloc(1560 * sizeof *ref), *out = malloc(8 * 1560 * sizeof *out);
    make_signal("chirp", x, N_CLIP);
    CHECK(mfcc_forward(&c, x, N_CLIP, ref) == 0, "%s", avemo_last_error());
    int bad = 0;
#pragma omp parallel for num_threads(4) reduction(+ : bad)
    for (int i = 0; i < 8; i++) bad += mfcc_forward(&c, x, N_CLIP, out + i * 1560) != 0;
    CHECK(bad == 0, "parallel calls failed");
    for (int i = 0; i < 8; i++) CHECK(memcmp(out + i * 1560, ref, 1560 * sizeof *ref) == 0, "thread result %d differs", i);
    free(x);
    free(ref);
    free(out);
}

static void test_bad_config(void) {
    mfcc_config c;
    mfcc_config_default(&c);
    float x[16] = {0}, out[160];
    c.n_mfcc = 129;
    CHECK(mfcc_forward(&c, x, 16, out) == AVEMO_EINVAL, "n_mfcc > n_mels accepted");
    mfcc_config_default(&c);
    c.n_fft = 2047;
    CHECK(mfcc_forward(&c, x, 16, out) == AVEMO_EINVAL, "odd n_fft accepted");
    mfcc_config_default(&c);
    CHECK(mfcc_forward(&c, x, 0, out) == AVEMO_EINVAL, "empty signal accepted");
}

int main(void) {
    RUN(test_frames);
    RUN(test_synthetic);
    RUN(test_silence_exact);
    RUN(test_other_rate);
    RUN(test_speech);
    RUN(test_threads);
    RUN(test_bad_config);
    return test_summary();
}
