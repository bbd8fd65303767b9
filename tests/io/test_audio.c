/* Audio decoding (FFmpeg), downmix, soxr resampling, fixed length, and the error paths; the bounds of issue 12:
 * the rate/channel/duration limits, and windowed reads of long streams against a whole decode (FLAC exact; the
 * resampled values to float rounding; AAC up to its noise substitution) and decoded PCM against the ffmpeg CLI. */
#include "test.h"

#include "io/audio.h"
#include "avemo.h"

#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static const char *tmp(const char *name) {
    static char buf[8][512];
    static int slot;
    char *p = buf[slot++ % 8];
    snprintf(p, 512, "%s/%s", test_tmpdir(), name);
    return p;
}

/* Runs ffmpeg quietly in the temporary directory; fails the test if it fails. */
static int ffmpeg(const char *args) {
    char cmd[10000], out[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && ffmpeg -hide_banner -loglevel error -nostdin -y %s", test_tmpdir(), args);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "ffmpeg failed (%d): %s: %s", rc, cmd, out);
    return rc;
}

static int one_line(const char *s) { return s[0] && !strchr(s, '\n'); }

/* SNR in dB of x against ref over ref[lo, hi), x shifted by `lag` (x[i + lag] ~ ref[i]). */
static double snr_db(const float *x, long nx, const float *ref, long lo, long hi, long lag) {
    double se = 0, ss = 0;
    for (long i = lo; i < hi; i++) {
        double r = ref[i], v = i + lag >= 0 && i + lag < nx ? x[i + lag] : 0;
        se += (v - r) * (v - r);
        ss += r * r;
    }
    return se > 0 ? 10 * log10(ss / se) : INFINITY;
}

/* Lag in [0, max_lag] maximising the correlation of x with ref[lo, lo + len) (codec delay). */
static long best_lag(const float *x, long nx, const float *ref, long lo, long len, long max_lag) {
    long best = 0;
    double bv = -INFINITY;
    for (long lag = 0; lag <= max_lag; lag++) {
        double s = 0;
        for (long i = lo; i < lo + len && i + lag < nx; i++) s += (double)x[i + lag] * ref[i];
        if (s > bv) bv = s, best = lag;
    }
    return best;
}

static void test_flac_ravdess(void) {
    /* RAVDESS FLAC: 48 kHz mono 16-bit, 158,558 samples (ffprobe duration_ts) */
    const char *p = shared_path("data/ravdess-speech/Actor_01/03-01-01-01-01-01-01.flac");
    if (!p) return;
    audio_clip c;
    CHECK(audio_decode_mono(p, &c) == 0, "%s", avemo_last_error());
    CHECK(c.sample_rate_hz == 48000 && c.source_channels == 1 && c.n == 158558, "rate %d ch %d n %ld",
          c.sample_rate_hz, c.source_channels, c.n);
    long not_int16 = 0;
    float mx = 0;
    for (long i = 0; i < c.n; i++) {
        float v = c.samples[i] * 32768.0f;
        not_int16 += v != rintf(v) || fabsf(c.samples[i]) > 1;
        mx = fmaxf(mx, fabsf(c.samples[i]));
    }
    CHECK(not_int16 == 0 && mx > 0.01f, "%ld samples are not k/32768; peak %g", not_int16, mx);
    audio_clip_free(&c);
    /* resampled to 22,050 Hz: librosa's length ceil(158558 * 22050 / 48000) = 72838 */
    CHECK(audio_load(p, 22050, &c) == 0, "%s", avemo_last_error());
    CHECK(c.sample_rate_hz == 22050 && c.source_sample_rate_hz == 48000 && c.n == 72838, "rate %d n %ld",
          c.sample_rate_hz, c.n);
    audio_clip_free(&c);
}

/* Decodes `path` with the ffmpeg CLI to interleaved 16-bit [frames, channels] (malloc'd); returns frames. */
static long ffmpeg_s16(const char *path, int channels, short **out) {
    char args[8192], abs_p[PATH_MAX];
    *out = NULL;
    if (!realpath(path, abs_p)) return -1;
    snprintf(args, sizeof args, "-i '%s' -f s16le -c:a pcm_s16le '%s'", abs_p, tmp("raw.s16"));
    if (ffmpeg(args)) return -1;
    FILE *f = fopen(tmp("raw.s16"), "rb");
    short *x = malloc((size_t)channels * 400000 * sizeof *x);
    long frames = (long)fread(x, (size_t)channels * sizeof *x, 400000, f);
    fclose(f);
    *out = x;
    return frames;
}

/* The mono signal is exactly the mean of the channels' 16-bit samples. */
static void check_downmix(const char *path, int channels, long want_frames, int want_distinct) {
    short *x;
    long frames = ffmpeg_s16(path, channels, &x);
    if (frames < 0) return;
    audio_clip c;
    CHECK(audio_decode_mono(path, &c) == 0, "%s", avemo_last_error());
    CHECK(c.source_channels == channels && c.n == frames && c.n == want_frames,
          "%s: channels %d n %ld (ffmpeg: %ld, expected %ld)", path, c.source_channels, c.n, frames, want_frames);
    long bad = 0;
    double distinct = 0;
    for (long i = 0; i < frames && i < c.n; i++) {
        double s = 0;
        for (int ch = 0; ch < channels; ch++) s += x[i * channels + ch] / 32768.0;
        bad += c.samples[i] != (float)(s / channels);
        distinct += fabs((double)x[i * channels] - x[i * channels + 1]);
    }
    CHECK(bad == 0, "%s: %ld samples differ from the channel mean", path, bad);
    CHECK((distinct > 0) == want_distinct, "%s: channels %s", path, want_distinct ? "identical" : "differ");
    free(x);
    audio_clip_free(&c);
}

static void test_downmix(void) {
    /* The three stereo RAVDESS clips carry the same signal in both channels (checked: max |L - R| = 0):
     * decoded as 2 channels, mono = either one */
    const char *p = shared_path("data/ravdess-speech/Actor_01/03-01-02-01-01-02-01.flac");
    if (p) check_downmix(p, 2, 172972, 0);
    /* 3 different channels (so the mean, not (L + R) / 2 or the first channel) */
    if (ffmpeg("-f lavfi -i \"aevalsrc=0.5*sin(2*PI*440*t)|0.25*sin(2*PI*1000*t)|-0.3*sin(2*PI*300*t):s=22050:d=0.5\" "
               "-c:a pcm_s16le three.wav") == 0)
        check_downmix(tmp("three.wav"), 3, 11025, 1);
}

static void test_formats(void) {
    /* A 1 s chirp (300 -> 2300 Hz, amplitude 0.25) at 44.1 kHz, written as float WAV (the reference) and
     * re-encoded in each format. Tolerances: 16-bit PCM and FLAC (16-bit) within half an LSB of 2^-15
     * (ffmpeg rounds), 24-bit within one LSB 2^-23 (float -> s32 -> 24 bits truncates); lossy codecs: SNR > 25 dB after removing the codec delay
     * (AAC in FLV has no edit list to drop its 1024-sample priming; MP3/M4A are gapless). */
    if (ffmpeg("-f lavfi -i \"aevalsrc=0.25*sin(2*PI*(300*t+1000*t*t)):s=44100:d=1\" -c:a pcm_f32le f32.wav")) return;
    struct {
        const char *file, *args;
        double max_abs, min_snr;
    } fm[] = {
        {"s16.wav", "-c:a pcm_s16le", 0.5 / 32768 + 1e-9, 0},
        {"s24.wav", "-c:a pcm_s24le", 1.0 / 8388608 + 1e-12, 0},
        {"flac.mkv", "-c:a flac -sample_fmt s16", 0.5 / 32768 + 1e-9, 0},
        {"a.mp3", "-c:a libmp3lame -b:a 192k", 0, 25},
        {"a.m4a", "-c:a aac -b:a 192k", 0, 25},
        {"a.flv", "-c:a aac -b:a 192k", 0, 25},
        {"v.mp4", "-f lavfi -i testsrc=size=64x64:rate=25:duration=1 -c:v mpeg4 -c:a aac -b:a 192k -shortest", 0, 25},
    };
    audio_clip ref;
    CHECK(audio_decode_mono(tmp("f32.wav"), &ref) == 0, "%s", avemo_last_error());
    if (test_failed_now) return;
    CHECK(ref.n == 44100 && ref.sample_rate_hz == 44100, "reference n %ld rate %d", ref.n, ref.sample_rate_hz);
    for (size_t k = 0; k < sizeof fm / sizeof *fm; k++) {
        char args[1024];
        snprintf(args, sizeof args, "-i '%s' %s '%s'", tmp("f32.wav"), fm[k].args, tmp(fm[k].file));
        if (ffmpeg(args)) continue;
        audio_clip c;
        int st = audio_decode_mono(tmp(fm[k].file), &c);
        CHECK(st == 0, "%s: %s", fm[k].file, avemo_last_error());
        if (st) continue;
        CHECK(c.sample_rate_hz == 44100, "%s: rate %d", fm[k].file, c.sample_rate_hz);
        if (fm[k].max_abs > 0) {
            CHECK(c.n == ref.n, "%s: %ld samples, expected %ld", fm[k].file, c.n, ref.n);
            double d = c.n == ref.n ? max_abs_diff_f(c.samples, ref.samples, c.n) : INFINITY;
            CHECK(d <= fm[k].max_abs, "%s: max abs diff %g > %g", fm[k].file, d, fm[k].max_abs);
            printf("  %-9s n %ld  max abs diff %.3g\n", fm[k].file, c.n, d);
        } else {
            long lag = best_lag(c.samples, c.n, ref.samples, 4096, 4096, 2048);
            double snr = snr_db(c.samples, c.n, ref.samples, 2048, ref.n - 2048, lag);
            CHECK(snr > fm[k].min_snr, "%s: SNR %.1f dB at lag %ld", fm[k].file, snr, lag);
            printf("  %-9s n %ld  lag %ld  SNR %.1f dB\n", fm[k].file, c.n, lag, snr);
        }
        audio_clip_free(&c);
    }
    audio_clip_free(&ref);
}

static void test_resample_sine(void) {
    /* 440 Hz sine at 48 kHz, 2 s, to 22,050 Hz: against the analytic sine away from the edges (0.1 s; the
     * filter's transient). soxr HQ is a 20-bit-precision design: > 80 dB SNR (measured ~ 100 dB). */
    long n = 96000, m;
    float *x = malloc(n * sizeof *x), *y;
    for (long i = 0; i < n; i++) x[i] = (float)(0.8 * sin(2 * M_PI * 440 * i / 48000.0));
    CHECK(audio_resample(x, n, 48000, 22050, &y, &m) == 0, "%s", avemo_last_error());
    CHECK(m == 44100, "length %ld", m);
    float *want = malloc(m * sizeof *want);
    for (long i = 0; i < m; i++) want[i] = (float)(0.8 * sin(2 * M_PI * 440 * i / 22050.0));
    double snr = snr_db(y, m, want, 2205, m - 2205, 0);
    CHECK(snr > 80, "SNR %.1f dB", snr);
    printf("  440 Hz 48k -> 22.05k: SNR %.1f dB\n", snr);
    free(y);
    /* a tone above the new Nyquist (15 kHz) is removed: residual < -80 dB of the input */
    for (long i = 0; i < n; i++) x[i] = (float)(0.8 * sin(2 * M_PI * 15000 * i / 48000.0));
    CHECK(audio_resample(x, n, 48000, 22050, &y, &m) == 0, "%s", avemo_last_error());
    double e = 0;
    for (long i = 2205; i < m - 2205; i++) e += (double)y[i] * y[i];
    double lvl = 10 * log10(e / (m - 4410) / (0.8 * 0.8 / 2));
    CHECK(lvl < -80, "15 kHz leaks through at %.1f dB", lvl);
    printf("  15 kHz 48k -> 22.05k: %.1f dB\n", lvl);
    free(y);
    /* librosa's output length is ceil(n * ratio) with ratio a float64: 1001 -> 460 */
    CHECK(audio_resample(x, 1001, 48000, 22050, &y, &m) == 0 && m == 460, "length %ld", m);
    free(y);
    /* equal rates copy */
    CHECK(audio_resample(x, 100, 22050, 22050, &y, &m) == 0 && m == 100 && !memcmp(x, y, 100 * sizeof *x), "copy");
    free(y);
    CHECK(audio_resample(x, 100, 0, 22050, &y, &m) == AVEMO_EINVAL, "rate 0 accepted");
    free(x);
    free(want);
}

static void test_resample_vs_sox(void) {
    /* The same RAVDESS clip through `sox ... rate -h 22050` (also libsoxr, high quality; sox's own
     * passband settings): agreement > 80 dB SNR (measured ~ 94 dB) */
    const char *p = shared_path("data/ravdess-speech/Actor_01/03-01-01-01-01-01-01.flac");
    if (!p) return;
    char cmd[1024], out[1024];
    snprintf(cmd, sizeof cmd, "sox -D '%s' -t f32 -c 1 '%s' rate -h 22050", p, tmp("sox.f32"));
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "sox failed: %s", out);
    if (rc) return;
    FILE *f = fopen(tmp("sox.f32"), "rb");
    float *s = malloc(100000 * sizeof *s);
    long ns = (long)fread(s, sizeof *s, 100000, f);
    fclose(f);
    audio_clip c;
    CHECK(audio_load(p, 22050, &c) == 0, "%s", avemo_last_error());
    if (!test_failed_now) {
        CHECK(labs(ns - c.n) <= 1, "sox %ld samples, ours %ld", ns, c.n);
        double snr = snr_db(c.samples, c.n, s, 100, ns - 100, 0);
        CHECK(snr > 80, "SNR vs sox %.1f dB", snr);
        printf("  vs sox rate -h: SNR %.1f dB\n", snr);
        audio_clip_free(&c);
    }
    free(s);
}

static void test_fix_length(void) {
    float x[7] = {1, 2, 3, 4, 5, 6, 7}, y[12];
    /* crop 7 -> 4: offset (7 - 4) / 2 = 1 */
    audio_fix_length(x, 7, y, 4);
    CHECK(y[0] == 2 && y[3] == 5, "crop odd: %g..%g", y[0], y[3]);
    /* crop 7 -> 5: offset 1 */
    audio_fix_length(x, 7, y, 5);
    CHECK(y[0] == 2 && y[4] == 6, "crop even: %g..%g", y[0], y[4]);
    /* pad 7 -> 10: 1 zero before, 2 after (the extra one at the end) */
    memset(y, 0xff, sizeof y);
    audio_fix_length(x, 7, y, 10);
    CHECK(y[0] == 0 && y[1] == 1 && y[7] == 7 && y[8] == 0 && y[9] == 0, "pad odd");
    /* pad 7 -> 11: 2 and 2 */
    audio_fix_length(x, 7, y, 11);
    CHECK(y[0] == 0 && y[1] == 0 && y[2] == 1 && y[8] == 7 && y[9] == 0 && y[10] == 0, "pad even");
    audio_fix_length(x, 7, y, 7);
    CHECK(!memcmp(x, y, sizeof x), "same length");
    audio_fix_length(NULL, 0, y, 3);
    CHECK(y[0] == 0 && y[2] == 0, "empty");
    CHECK(audio_clip_samples(3.6, 22050) == 79380, "3.6 s = %ld samples", audio_clip_samples(3.6, 22050));
}

static void expect_error(const char *path, int want, const char *what) {
    audio_clip c;
    int st = audio_decode_mono(path, &c);
    const char *m = avemo_last_error();
    /* want 0: any failure (a text file may be probed as a media format without audio: EFORMAT or EDECODE) */
    CHECK(want ? st == want : st != 0, "%s: status %d (%s), expected %d: %s", what, st, avemo_status_name(st), want, m);
    CHECK(strstr(m, path) && one_line(m), "%s: message does not name the file on one line: '%s'", what, m);
    CHECK(c.samples == NULL && c.n == 0, "%s: output not cleared", what);
    if (!st) audio_clip_free(&c);
}

static void test_errors(void) {
    char cmd[2048];
    expect_error(tmp("missing.wav"), AVEMO_EIO, "missing");
    expect_error(test_tmpdir(), AVEMO_EIO, "directory");
    FILE *f = fopen(tmp("empty.wav"), "wb");
    fclose(f);
    expect_error(tmp("empty.wav"), AVEMO_EFORMAT, "empty");
    f = fopen(tmp("text.flac"), "wb");
    fputs("this is not audio\n", f);
    fclose(f);
    expect_error(tmp("text.flac"), 0, "text");
    /* a WAV header with no samples */
    if (ffmpeg("-f lavfi -i sine=d=0.5 -ar 22050 -c:a pcm_s16le -map_metadata -1 -fflags +bitexact tone.wav") == 0) {
        snprintf(cmd, sizeof cmd, "head -c 44 '%s' > '%s'", tmp("tone.wav"), tmp("header.wav"));
        run_cmd(cmd, NULL, 0);
        expect_error(tmp("header.wav"), AVEMO_EDECODE, "header only");
    }
    /* a video without audio */
    if (ffmpeg("-f lavfi -i testsrc=size=64x64:rate=10:duration=0.5 -an -c:v mpeg4 noaudio.mp4") == 0)
        expect_error(tmp("noaudio.mp4"), AVEMO_EDECODE, "no audio stream");
    /* a real FLAC cut at 25 kB of 60: the last frame is cut (decode error), or FLAC's declared length is short */
    const char *p = shared_path("data/ravdess-speech/Actor_01/03-01-01-01-01-01-01.flac");
    if (p) {
        snprintf(cmd, sizeof cmd, "head -c 25000 '%s' > '%s'", p, tmp("cut.flac"));
        run_cmd(cmd, NULL, 0);
        expect_error(tmp("cut.flac"), 0, "truncated flac");
    }
    /* a WAV cut in half (its header declares the full data size) */
    if (ffmpeg("-f lavfi -i sine=d=1 -ar 22050 -c:a pcm_s16le long.wav") == 0) {
        snprintf(cmd, sizeof cmd, "head -c 22000 '%s' > '%s'", tmp("long.wav"), tmp("halfcut.wav"));
        run_cmd(cmd, NULL, 0);
        expect_error(tmp("halfcut.wav"), AVEMO_EFORMAT, "truncated wav");
    }
    /* a good WAV with a misleading extension decodes */
    if (ffmpeg("-f lavfi -i sine=d=0.5 -ar 22050 -c:a pcm_s16le -f wav renamed.mp4") == 0) {
        audio_clip c;
        CHECK(audio_decode_mono(tmp("renamed.mp4"), &c) == 0 && c.n == 11025, "renamed wav: %s", avemo_last_error());
        audio_clip_free(&c);
    }
}

static void test_threads(void) {
    /* 8 decodes + resamples at once from 4 threads equal the serial result bit for bit */
    const char *p = shared_path("data/ravdess-speech/Actor_01/03-01-02-01-01-02-01.flac");
    if (!p) return;
    audio_clip ref;
    CHECK(audio_load(p, 22050, &ref) == 0, "%s", avemo_last_error());
    if (test_failed_now) return;
    int bad = 0;
#pragma omp parallel for num_threads(4) reduction(+ : bad)
    for (int i = 0; i < 8; i++) {
        audio_clip c;
        if (audio_load(p, 22050, &c)) {
            bad++;
            continue;
        }
        bad += c.n != ref.n || memcmp(c.samples, ref.samples, ref.n * sizeof *c.samples);
        audio_clip_free(&c);
    }
    CHECK(bad == 0, "%d parallel decodes differ", bad);
    audio_clip_free(&ref);
}


/* Mono float PCM of `path` as the ffmpeg CLI decodes it (no resampling): *out [n] malloc'd; returns n or -1. */
static long ffmpeg_f32(const char *path, float **out) {
    char args[8192], abs_p[PATH_MAX];
    *out = NULL;
    if (!realpath(path, abs_p)) return -1;
    snprintf(args, sizeof args, "-i '%s' -f f32le -c:a pcm_f32le '%s'", abs_p, tmp("cli.f32"));
    if (ffmpeg(args)) return -1;
    FILE *f = fopen(tmp("cli.f32"), "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f) / 4;
    fseek(f, 0, SEEK_SET);
    float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    n = (long)fread(x, sizeof *x, (size_t)n, f);
    fclose(f);
    *out = x;
    return n;
}

static void test_matches_ffmpeg_cli(void) {
    /* A whole decode (what every clip shorter than AUDIO_WHOLE_MAX_SAMPLES gets) gives the ffmpeg CLI's samples bit
     * for bit: the real RAVDESS FLAC (mono 16-bit) and an AAC MP4 made from it (priming dropped the same way). */
    const char *rel = shared_path("data/ravdess-speech/Actor_01/03-01-01-01-01-01-01.flac");
    char args[PATH_MAX + 1024], p[PATH_MAX];
    if (!rel || !realpath(rel, p)) return;
    snprintf(args, sizeof args, "-i '%s' -c:a aac -b:a 128k '%s'", p, tmp("ravdess_aac.mp4"));
    if (ffmpeg(args)) return;
    const char *files[2] = {p, tmp("ravdess_aac.mp4")};
    for (int k = 0; k < 2; k++) {
        float *ref;
        long n = ffmpeg_f32(files[k], &ref);
        audio_clip c;
        CHECK(n > 0 && audio_decode_mono(files[k], &c) == 0, "%s: %s", files[k], avemo_last_error());
        if (test_failed_now) return;
        CHECK(c.n == n && !memcmp(c.samples, ref, (size_t)n * sizeof *ref), "%s: %ld samples, the CLI %ld; differ",
              files[k], c.n, n);
        printf("  %s: %ld samples, identical to the ffmpeg CLI's\n", k ? "AAC in MP4" : "RAVDESS FLAC", n);
        free(ref);
        audio_clip_free(&c);
    }
}

/* Largest |a - b| over n samples and how many differ at all. */
static double diff_stats(const float *a, const float *b, long n, long *n_diff) {
    double mx = 0;
    *n_diff = 0;
    for (long i = 0; i < n; i++) {
        if (!memcmp(&a[i], &b[i], sizeof *a)) continue;
        ++*n_diff;
        double d = fabs((double)a[i] - b[i]);
        if (d > mx) mx = d;
    }
    return mx;
}

/* Reads of `path` at `rate` (0: its own) window by window against a whole decode of it: the centre clip and
 * windows at the start, in the middle and at the end. Returns the largest difference; *n_diff: samples that
 * differ at all; *dn: window length minus whole length. */
static double compare_windowed(const char *path, int rate, long *n_diff, long *dn) {
    audio_source *whole, *win;
    *n_diff = 0;
    CHECK(audio_source_open(path, rate, LONG_MAX, &whole) == 0, "%s", avemo_last_error());
    if (test_failed_now) return INFINITY;
    CHECK(audio_source_open(path, rate, 1, &win) == 0, "%s", avemo_last_error());
    if (test_failed_now) return INFINITY;
    audio_source_info iw, is;
    audio_source_get_info(whole, &iw);
    audio_source_get_info(win, &is);
    CHECK(iw.whole && !is.whole && !is.length_counted, "modes: whole %d, windowed %d", iw.whole, is.whole);
    *dn = is.n - iw.n;
    long n = iw.n < is.n ? iw.n : is.n; /* inside both: a lossy header's length differs by the encoder's padding */
    long N = 79380, starts[] = {0, 5000, n / 3, n / 2 + 777, n - N, n - N - N / 3};
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    double mx = 0;
    for (int k = 0; k < 6; k++) {
        long nd;
        CHECK(audio_source_read(whole, starts[k], N, a) == 0 && audio_source_read(win, starts[k], N, b) == 0, "%s",
              avemo_last_error());
        double d = diff_stats(a, b, N, &nd);
        mx = d > mx ? d : mx;
        *n_diff += nd;
    }
    free(a);
    free(b);
    audio_source_close(whole);
    audio_source_close(win);
    return mx;
}

static void test_windowed_reads(void) {
    /* 10 RAVDESS clips in one ~35 s FLAC, and the same as AAC in MP4: long enough that the windows seek */
    char list[10 * (PATH_MAX + 16)] = "", args[8192];
    for (int k = 0; k < 10; k++) {
        char rel[128], p[PATH_MAX];
        snprintf(rel, sizeof rel, "data/ravdess-speech/Actor_02/03-01-0%d-01-01-0%d-02.flac", 1 + k / 2, 1 + k % 2);
        const char *sp = shared_path(rel);
        if (!sp || !realpath(sp, p)) return;
        snprintf(list + strlen(list), sizeof list - strlen(list), "file '%s'\n", p);
    }
    FILE *f = fopen(tmp("list.txt"), "w");
    fputs(list, f);
    fclose(f);
    snprintf(args, sizeof args, "-f concat -safe 0 -i '%s' -c:a flac '%s'", tmp("list.txt"), tmp("long.flac"));
    if (ffmpeg(args)) return;
    snprintf(args, sizeof args, "-i '%s' -c:a aac -b:a 128k '%s'", tmp("long.flac"), tmp("long.mp4"));
    if (ffmpeg(args)) return;
    long nd, dn;
    /* FLAC at its own rate: the PCM after a seek and the pre-roll is the whole decode's, bit for bit */
    double d = compare_windowed(tmp("long.flac"), 0, &nd, &dn);
    CHECK(d == 0 && nd == 0 && dn == 0, "FLAC 48 kHz windows: %ld samples differ (max %g), length %+ld", nd, d, dn);
    printf("  FLAC 48 kHz: windowed reads identical to a whole decode\n");
    /* resampled: soxr's blocks start where its input starts, so to float rounding (measured ~5e-8) */
    d = compare_windowed(tmp("long.flac"), 22050, &nd, &dn);
    CHECK(d < 1e-6 && dn == 0, "FLAC 22.05 kHz windows: max difference %g, length %+ld", d, dn);
    printf("  FLAC 22.05 kHz: max |difference| %.2g over the windows (%ld samples not bit-equal)\n", d, nd);
    /* AAC: the same PCM except in frames where the encoder used noise substitution (the decoder's noise generator
     * has run through every earlier frame in a whole decode; bounds: under 5 % of the samples, |diff| < 0.05,
     * measured 2 % and 0.005); the length the header declares differs by the encoder's padding */
    d = compare_windowed(tmp("long.mp4"), 0, &nd, &dn);
    CHECK(d < 0.05 && nd < 6 * 79380 / 20 && labs(dn) <= 2048, "AAC windows: %ld samples differ (max %g), length %+ld",
          nd, d, dn);
    printf("  AAC 48 kHz: %ld of %d window samples differ (noise substitution), max %.2g; length %+ld\n", nd,
           6 * 79380, d, dn);
}

static void test_limits(void) {
    /* the hostile headers of issue 12, refused before anything is decoded, naming the file */
    if (ffmpeg("-f lavfi -i sine=d=0.2 -ar 8000 -c:a pcm_s16le rate.wav")) return;
    char cmd[2048];
    const char *bad = tmp("rate_1hz.wav");
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && printf '\\001\\000\\000\\000' | dd of='%s' bs=1 seek=24 conv=notrunc 2>/dev/null",
             tmp("rate.wav"), bad, bad);
    run_cmd(cmd, NULL, 0);
    audio_source *s;
    CHECK(audio_source_open(bad, 22050, 0, &s) == AVEMO_EFORMAT && strstr(avemo_last_error(), "rate_1hz.wav") &&
              strstr(avemo_last_error(), "1 Hz"), "1 Hz WAV: %s", avemo_last_error());
    /* a long stream (10 min) is not decoded whole; its centre still reads */
    if (ffmpeg("-f lavfi -i sine=f=440:d=600 -ar 16000 -c:a flac ten_min.flac")) return;
    CHECK(audio_source_open(tmp("ten_min.flac"), 22050, 0, &s) == 0, "%s", avemo_last_error());
    if (test_failed_now) return;
    audio_source_info info;
    audio_source_get_info(s, &info);
    float clip[2048];
    CHECK(!info.whole && info.n == 600L * 22050 && audio_source_read_center(s, 2048, clip) == 0 && fabsf(clip[100]) > 0,
          "10 min: whole %d n %ld: %s", info.whole, info.n, avemo_last_error());
    audio_source_close(s);
    audio_clip c;
    CHECK(audio_decode_mono(tmp("ten_min.flac"), &c) == AVEMO_EUNSUP, "a whole decode of 10 min at 16 kHz accepted");
}

int main(void) {
    RUN(test_flac_ravdess);
    RUN(test_downmix);
    RUN(test_formats);
    RUN(test_resample_sine);
    RUN(test_resample_vs_sox);
    RUN(test_fix_length);
    RUN(test_errors);
    RUN(test_threads);
    RUN(test_matches_ffmpeg_cli);
    RUN(test_windowed_reads);
    RUN(test_limits);
    return test_summary();
}
