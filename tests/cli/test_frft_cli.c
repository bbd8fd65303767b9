/* Tests of `avemo frft` (src/cli/cmd_frft.c): results equal the library's on the same float input,
 * shapes and dtypes round-trip, bad input gives exit 2 and one line naming the file. */
#include "test.h"

#include "avemo.h"
#include "dsp/frft.h"
#include "io/npy.h"

#include <complex.h>
#include <stdlib.h>
#include <string.h>

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* Max |y - ref| / max |ref| between a complex64 .npy and double complex rows. */
static double compare(const char *path, const double complex *ref, long count, int ndim, const int64_t *shape) {
    npy_array y;
    if (npy_read(path, &y) != 0) {
        CHECK(0, "read %s: %s", path, avemo_last_error());
        return 1;
    }
    CHECK(y.dtype == NPY_C64 && y.ndim == ndim && y.count == count, "output dtype/shape");
    for (int d = 0; d < ndim && d < y.ndim; d++) CHECK(y.shape[d] == shape[d], "shape[%d]", d);
    double num = 0, den = 0;
    const float *f = y.data;
    for (long i = 0; i < count && i < y.count; i++) {
        num = fmax(num, cabs(f[2 * i] + I * f[2 * i + 1] - ref[i]));
        den = fmax(den, cabs(ref[i]));
    }
    npy_free(&y);
    return num / den;
}

static void test_complex_rows(void) {
    const int rows = 5, n = 96;
    char in[512], out[512], cmd[2048], log[4096];
    snprintf(in, sizeof in, "%s/x.npy", test_tmpdir());
    snprintf(out, sizeof out, "%s/y.npy", test_tmpdir());
    float *x = malloc(sizeof(float) * 2 * rows * n);
    fill_uniform_f(x, 2L * rows * n, 5, -1, 1);
    int64_t shape[2] = {rows, n};
    CHECK(npy_write(in, NPY_C64, 2, shape, x) == 0, "write: %s", avemo_last_error());
    double complex *ref = malloc(sizeof(double complex) * rows * n);
    const char *methods[3] = {"fast", "direct", "candan"};
    const double orders[3] = {0.95, -0.6, 1.0};
    for (int m = 0; m < 3; m++)
        for (int k = 0; k < 3; k++) {
            for (int r = 0; r < rows; r++) {
                double complex row[96];
                for (int i = 0; i < n; i++) row[i] = x[2 * (r * n + i)] + I * x[2 * (r * n + i) + 1];
                int st = m == 0   ? frft(ref + r * n, row, n, orders[k])
                         : m == 1 ? frft_direct(ref + r * n, row, n, orders[k])
                                  : frft_candan(ref + r * n, row, n, orders[k]);
                CHECK(st == 0, "library: %s", avemo_last_error());
            }
            snprintf(cmd, sizeof cmd, "%s frft --order %g --method %s --in %s --out %s", avemo_bin(), orders[k],
                     methods[m], in, out);
            int rc = run_cmd(cmd, log, sizeof log);
            CHECK(rc == 0, "%s: exit %d: %s", cmd, rc, log);
            double e = compare(out, ref, (long)rows * n, 2, shape);
            /* the CLI computes in double and rounds the output to float32 */
            CHECK(e < 1e-6, "%s a=%g: CLI vs library %.2e", methods[m], orders[k], e);
        }
    free(x), free(ref);
}

static void test_real_vector(void) {
    const int n = 64;
    char in[512], out[512], cmd[2048], log[4096];
    snprintf(in, sizeof in, "%s/r.npy", test_tmpdir());
    snprintf(out, sizeof out, "%s/ry.npy", test_tmpdir());
    float x[64];
    fill_uniform_f(x, n, 9, -1, 1);
    int64_t shape[1] = {n};
    CHECK(npy_write(in, NPY_F32, 1, shape, x) == 0, "write: %s", avemo_last_error());
    double complex xr[64], ref[64];
    for (int i = 0; i < n; i++) xr[i] = x[i];
    CHECK(frft(ref, xr, n, 0.5) == 0, "library");
    snprintf(cmd, sizeof cmd, "%s frft --order=0.5 --in %s --out %s", avemo_bin(), in, out);
    int rc = run_cmd(cmd, log, sizeof log);
    CHECK(rc == 0, "%s: exit %d: %s", cmd, rc, log);
    double e = compare(out, ref, n, 1, shape);
    CHECK(e < 1e-6, "float32 vector: CLI vs library %.2e", e);
}

/* Each bad input: exit 2, exactly one line, naming the offending file (or option). */
static void test_bad_inputs(void) {
    const char *dir = test_tmpdir();
    char p_f64[512], p_short[512], p_3d[512], p_garbage[512], p_missing[512];
    snprintf(p_f64, sizeof p_f64, "%s/f64.npy", dir);
    snprintf(p_short, sizeof p_short, "%s/short.npy", dir);
    snprintf(p_3d, sizeof p_3d, "%s/three_d.npy", dir);
    snprintf(p_garbage, sizeof p_garbage, "%s/garbage.npy", dir);
    snprintf(p_missing, sizeof p_missing, "%s/missing.npy", dir);
    double d[4] = {0};
    float f[8] = {0};
    int64_t s1[1] = {4}, s2[2] = {3, 1}, s3[3] = {2, 2, 2};
    CHECK(npy_write(p_f64, NPY_F64, 1, s1, d) == 0, "write");
    CHECK(npy_write(p_short, NPY_F32, 2, s2, f) == 0, "write");
    CHECK(npy_write(p_3d, NPY_F32, 3, s3, f) == 0, "write");
    FILE *g = fopen(p_garbage, "wb");
    if (g) fputs("not an npy file at all\n", g), fclose(g);
    const char *files[5] = {p_f64, p_short, p_3d, p_garbage, p_missing};
    for (int i = 0; i < 5; i++) {
        char cmd[2048], log[4096];
        snprintf(cmd, sizeof cmd, "%s frft --order 0.5 --in %s --out %s/o.npy", avemo_bin(), files[i], dir);
        int rc = run_cmd(cmd, log, sizeof log);
        CHECK(rc == 2, "%s: exit %d (want 2): %s", files[i], rc, log);
        CHECK(count_lines(log) == 1, "%s: %d lines: %s", files[i], count_lines(log), log);
        CHECK(strstr(log, files[i]) != NULL, "message does not name %s: %s", files[i], log);
    }
    const char *usage_errors[3] = {"--in x.npy --out y.npy", "--order abc --in x.npy --out y.npy",
                                   "--order 1 --method fft --in x.npy --out y.npy"};
    for (int i = 0; i < 3; i++) {
        char cmd[2048], log[4096];
        snprintf(cmd, sizeof cmd, "%s frft %s", avemo_bin(), usage_errors[i]);
        int rc = run_cmd(cmd, log, sizeof log);
        CHECK(rc == 2 && count_lines(log) == 1, "'%s': exit %d, %d lines: %s", usage_errors[i], rc,
              count_lines(log), log);
    }
    char cmd[1024], log[4096];
    snprintf(cmd, sizeof cmd, "%s frft --help", avemo_bin());
    CHECK(run_cmd(cmd, log, sizeof log) == 0 && strstr(log, "--order"), "--help: %s", log);
}

int main(void) {
    RUN(test_complex_rows);
    RUN(test_real_vector);
    RUN(test_bad_inputs);
    return test_summary();
}
