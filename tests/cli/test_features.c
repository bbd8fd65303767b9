/* avemo features end to end: real RAVDESS clips against the MFCC reference fixture, a bad input (exit 2,
 * one line naming it), --keep-going, FRFT-MFCC channel stacking, the waveform dump, usage errors. */
#include "test.h"

#include "io/npy.h"
#include "avemo.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MFCC_TOL 1e-3 /* as tests/dsp/test_mfcc.c */

static const char *clips[3] = {
    "data/ravdess-speech/Actor_01/03-01-01-01-01-01-01.flac",
    "data/ravdess-speech/Actor_01/03-01-02-01-01-02-01.flac",
    "data/ravdess-speech/Actor_12/03-01-08-02-02-02-12.flac",
};
static char good[3][1024];

static const char *tmp(const char *name) {
    static char buf[8][512];
    static int slot;
    char *p = buf[slot++ % 8];
    snprintf(p, 512, "%s/%s", test_tmpdir(), name);
    return p;
}

static int setup(void) {
    for (int i = 0; i < 3; i++) {
        const char *p = shared_path(clips[i]);
        char abs_p[PATH_MAX];
        if (!p || !realpath(p, abs_p)) return -1;
        CHECK(strlen(abs_p) < sizeof good[i], "path too long: %s", abs_p);
        snprintf(good[i], sizeof good[i], "%.1000s", abs_p);
    }
    return 0;
}

/* Runs `avemo features ARGS`; returns the exit status, output in out. */
static int features(const char *args, char *out, size_t cap) {
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' features %s", avemo_bin(), args);
    return run_cmd(cmd, out, cap);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* Reads OUT.npy; checks its shape; returns the array (caller frees) or data NULL. */
static npy_array load(const char *path, long d0, long d1, long d2) {
    npy_array a = {0};
    if (npy_read(path, &a)) {
        CHECK(0, "%s", avemo_last_error());
        return a;
    }
    CHECK(a.dtype == NPY_F32 && a.ndim == 3 && a.shape[0] == d0 && a.shape[1] == d1 && a.shape[2] == d2,
          "%s: shape [%lld, %lld, %lld], expected [%ld, %ld, %ld]", path, (long long)a.shape[0],
          (long long)a.shape[1], (long long)a.shape[2], d0, d1, d2);
    return a;
}

static double vs_fixture(const float *rows, int row0, int n_rows, long stride) {
    /* rows [n_rows][10 * 156] at the given stride, against mfcc_speech.npy rows row0.. */
    const char *p = fixture_path("dsp/mfcc_speech.npy");
    npy_array f;
    if (!p || npy_read(p, &f)) return INFINITY;
    double e = 0;
    for (int i = 0; i < n_rows; i++)
        e = fmax(e, max_abs_diff_f(rows + i * stride, (const float *)f.data + (row0 + i) * 1560, 1560));
    npy_free(&f);
    return e;
}

static void test_three_clips(void) {
    if (setup()) return;
    char args[8192], out[4096];
    snprintf(args, sizeof args, "--out '%s' '%s' '%s' '%s'", tmp("m.npy"), good[0], good[1], good[2]);
    int rc = features(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    npy_array a = load(tmp("m.npy"), 3, 10, 156);
    if (a.data) {
        double e = vs_fixture(a.data, 0, 3, 1560);
        CHECK(e < MFCC_TOL, "CLI MFCC vs the reference: max abs error %g", e);
        printf("  3 clips vs reference: max abs err %.3g\n", e);
    }
    npy_free(&a);
    CHECK(access(tmp("m.npy.failed.txt"), F_OK) != 0, "a failure list was written for a clean run");
}

static void test_bad_input(void) {
    if (setup()) return;
    FILE *f = fopen(tmp("bad.wav"), "w");
    fputs("not audio at all\n", f);
    fclose(f);
    char args[8192], out[4096];
    /* stop at the bad file: exit 2, one line naming it, nothing written */
    snprintf(args, sizeof args, "--out '%s' '%s' '%s' '%s' '%s'", tmp("b.npy"), good[0], tmp("bad.wav"), good[1],
             good[2]);
    int rc = features(args, out, sizeof out);
    CHECK(rc == 2, "exit %d, expected 2: %s", rc, out);
    CHECK(count_lines(out) == 1 && strstr(out, tmp("bad.wav")), "expected one line naming the file: '%s'", out);
    CHECK(access(tmp("b.npy"), F_OK) != 0, "output written despite the bad input");
    printf("  error line: %s", out);
    /* missing file */
    snprintf(args, sizeof args, "--out '%s' '%s' '%s'", tmp("b.npy"), good[0], tmp("nope.flac"));
    rc = features(args, out, sizeof out);
    CHECK(rc == 2 && count_lines(out) == 1 && strstr(out, tmp("nope.flac")), "missing file: exit %d: %s", rc, out);

    /* --keep-going: the three good rows, in order; exit still 2; the failure listed */
    snprintf(args, sizeof args, "--keep-going --out '%s' '%s' '%s' '%s' '%s'", tmp("k.npy"), good[0], tmp("bad.wav"),
             good[1], good[2]);
    rc = features(args, out, sizeof out);
    CHECK(rc == 2, "keep-going: exit %d, expected 2: %s", rc, out);
    CHECK(count_lines(out) == 1 && strstr(out, tmp("bad.wav")), "keep-going: one line per failure: '%s'", out);
    npy_array a = load(tmp("k.npy"), 3, 10, 156);
    if (a.data) {
        double e = vs_fixture(a.data, 0, 3, 1560);
        CHECK(e < MFCC_TOL, "keep-going rows: max abs error %g", e);
    }
    npy_free(&a);
    char want[1024], got[1024] = "";
    snprintf(want, sizeof want, "1\t%s\t", tmp("bad.wav"));
    f = fopen(tmp("k.npy.failed.txt"), "r");
    CHECK(f != NULL, "no k.npy.failed.txt");
    if (f) {
        CHECK(fgets(got, sizeof got, f) && !strncmp(got, want, strlen(want)), "failed.txt: '%s'", got);
        CHECK(!fgets(got, sizeof got, f), "failed.txt has more than one line");
        fclose(f);
    }
}

static void test_frft_orders(void) {
    if (setup()) return;
    char args[8192], out[4096];
    snprintf(args, sizeof args, "--kind frft-mfcc --frft-orders 1,0.95 --out '%s' '%s' '%s' '%s'", tmp("f.npy"),
             good[0], good[1], good[2]);
    int rc = features(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    npy_array a = load(tmp("f.npy"), 3, 20, 156);
    if (a.data) {
        /* order 1 (rows 0-9 of each clip) is the MFCC */
        double e = vs_fixture(a.data, 0, 3, 2 * 1560);
        CHECK(e < MFCC_TOL, "frft-mfcc a = 1 block vs MFCC reference: %g", e);
        double d = vs_fixture((const float *)a.data + 1560, 0, 3, 2 * 1560);
        CHECK(d > 1, "the a = 0.95 block equals the MFCC (max diff %g)", d);
    }
    npy_free(&a);
    snprintf(args, sizeof args, "--kind frft-mfcc --n-mfcc 13 --out '%s' '%s'", tmp("g.npy"), good[0]);
    rc = features(args, out, sizeof out);
    CHECK(rc == 0, "default order: exit %d: %s", rc, out);
    a = load(tmp("g.npy"), 1, 13, 156);
    npy_free(&a);
}

static void test_waveform_and_options(void) {
    if (setup()) return;
    char args[8192], out[4096];
    snprintf(args, sizeof args, "--kind waveform --sample-rate 16000 --clip-seconds 2 --out '%s' '%s'", tmp("w.npy"),
             good[1]);
    int rc = features(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    npy_array a = load(tmp("w.npy"), 1, 1, 32000);
    npy_free(&a);
    /* many inputs through the worker pool (and the progress path): every row equals the fixture's */
    char *big = malloc(65536);
    int n = snprintf(big, 65536, "--threads 2 --pad-mode constant --out '%s'", tmp("many.npy"));
    for (int i = 0; i < 12; i++) n += snprintf(big + n, 65536 - n, " '%s'", good[i % 3]);
    rc = features(big, out, sizeof out);
    CHECK(rc == 0, "12 inputs: exit %d: %s", rc, out);
    a = load(tmp("many.npy"), 12, 10, 156);
    if (a.data) {
        double e = 0;
        for (int i = 0; i < 12; i++) e = fmax(e, vs_fixture((const float *)a.data + i * 1560, i % 3, 1, 1560));
        CHECK(e < MFCC_TOL, "12 inputs: max abs error %g", e);
    }
    npy_free(&a);
    free(big);
    CHECK(features("--help", out, sizeof out) == 0 && strstr(out, "--keep-going"), "--help");
    CHECK(features("--bogus x --out a.npy b.wav", out, sizeof out) == 2, "unknown option accepted");
    CHECK(features("--kind mel --out a.npy b.wav", out, sizeof out) == 2, "bad kind accepted");
    CHECK(features("--frft-orders 0.9,,1 --kind frft-mfcc --out a.npy b.wav", out, sizeof out) == 2, "bad orders");
    CHECK(features("b.wav", out, sizeof out) == 2 && count_lines(out) == 1, "missing --out: %s", out);
}

int main(void) {
    RUN(test_three_clips);
    RUN(test_bad_input);
    RUN(test_frft_orders);
    RUN(test_waveform_and_options);
    return test_summary();
}
