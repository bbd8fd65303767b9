/* Tests for src/dsp/deltas.c against librosa's delta (scipy's savgol_filter, tools/fixtures_deltas.py), and the
 * featurizer's delta rows against the function. */
#include "test.h"

#include "avemo.h"
#include "dsp/deltas.h"
#include "io/npy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 3, FRAMES = 23 };

static void test_against_scipy(void) {
    const char *p = fixture_path("dsp/deltas.npy");
    if (!p) return;
    npy_array a;
    CHECK(npy_read(p, &a) == 0, "%s", avemo_last_error());
    if (a.dtype != NPY_F64 || a.ndim != 3 || a.shape[0] != 3 || a.shape[1] != ROWS || a.shape[2] != FRAMES) {
        CHECK(0, "fixture shape");
        npy_free(&a);
        return;
    }
    const double *ref = a.data;
    float x[ROWS * FRAMES], d[ROWS * FRAMES];
    for (int i = 0; i < ROWS * FRAMES; i++) x[i] = (float)ref[i];
    for (int order = 1; order <= 2; order++) {
        CHECK(feature_deltas(x, ROWS, FRAMES, order, d) == 0, "%s", avemo_last_error());
        /* double sums of float inputs up to ~40: float rounding of the result, relative to the row scale */
        double worst = 0, scale = 0;
        for (int i = 0; i < ROWS * FRAMES; i++) {
            worst = fmax(worst, fabs(d[i] - ref[order * ROWS * FRAMES + i]));
            scale = fmax(scale, fabs(ref[order * ROWS * FRAMES + i]));
        }
        CHECK(worst <= 1e-6 * scale, "order %d: max |diff| %g (scale %g)", order, worst, scale);
    }
    npy_free(&a);
    CHECK(feature_deltas(x, ROWS, 8, 1, d) == AVEMO_EINVAL, "8 frames accepted");
    CHECK(feature_deltas(x, ROWS, FRAMES, 3, d) == AVEMO_EINVAL, "order 3 accepted");
}

int main(void) {
    RUN(test_against_scipy);
    return test_summary();
}
