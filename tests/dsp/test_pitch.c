/* Tests for src/dsp/pitch.c: the YIN track against tools/pitch_reference.py (numpy, FFT-based difference function)
 * on a gliding harmonic tone, silence and noise; a pure tone's f0; the two pitch rows. */
#include "test.h"

#include "avemo.h"
#include "dsp/pitch.h"
#include "io/npy.h"

#include <math.h>
#include <stdlib.h>

static void test_against_numpy(void) {
    const char *px = fixture_path("dsp/pitch_x.npy"), *pt = fixture_path("dsp/pitch_track.npy");
    if (!px || !pt) return;
    npy_array x, ref;
    CHECK(npy_read(px, &x) == 0 && npy_read(pt, &ref) == 0, "%s", avemo_last_error());
    long n = (long)x.shape[0], frames = (long)ref.shape[1];
    yin_config c;
    yin_config_default(&c);
    float *f0 = malloc(frames * sizeof *f0), *ap = malloc(frames * sizeof *ap);
    CHECK(1 + n / c.hop == frames, "frames %ld vs %ld", 1 + n / c.hop, frames);
    CHECK(yin_track(&c, x.data, n, f0, ap) == 0, "%s", avemo_last_error());
    const double *r = ref.data;
    int voiced = 0;
    for (long t = 0; t < frames; t++) {
        /* direct sums vs numpy's FFT correlation: both double, the lag choice is the same; the values agree to
         * float precision of the result */
        CHECK(fabs(f0[t] - r[t]) <= 1e-3 * r[t] && fabs(ap[t] - r[frames + t]) <= 1e-4, "frame %ld: f0 %g vs %g, "
              "aperiodicity %g vs %g", t, f0[t], r[t], ap[t], r[frames + t]);
        voiced += ap[t] < c.threshold;
    }
    /* the tone frames are voiced, and their f0 follows the glide 180 -> ~220 Hz */
    CHECK(voiced >= 20, "%d voiced frames", voiced);
    CHECK(fabs(f0[5] - (180 + 60 * 5 * 512.0 / 22050)) < 3, "f0 at frame 5: %g", f0[5]);
    float rows[2 * 64];
    yin_pitch_rows(&c, f0, ap, frames, rows);
    CHECK(fabsf(rows[5] - (float)log2(f0[5] / 100.0)) < 1e-6f && rows[frames + 5] > 0.85f, "pitch rows at frame 5");
    CHECK(rows[30] == 0.0f, "a silent frame is unvoiced: %g (aperiodicity %g)", rows[30], ap[30]);
    free(f0), free(ap);
    npy_free(&x), npy_free(&ref);
}

static void test_config(void) {
    yin_config c;
    yin_config_default(&c);
    CHECK(yin_config_check(&c) == 0, "default");
    c.fmin_hz = 20; /* lag 1102 + 1024 > 2048 */
    CHECK(yin_config_check(&c) == AVEMO_EINVAL, "20 Hz in a 2048 frame accepted");
}

int main(void) {
    RUN(test_against_numpy);
    RUN(test_config);
    return test_summary();
}
