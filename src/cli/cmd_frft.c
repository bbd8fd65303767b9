/* avemo frft: the fractional Fourier transform (spec 3.4) of each row of a .npy array.
 *
 *   avemo frft --order A [--method fast|direct|candan] --in X.npy --out Y.npy
 *
 * X: complex64 (<c8) or float32 (<f4, taken as real), shape [rows, N] or [N], N >= 2.
 * Y: complex64, the same shape. Computed in double precision; rows run in parallel (OpenMP).
 */
#include "avemo.h"
#include "cli/cli_util.h"
#include "dsp/frft.h"
#include "io/npy.h"

#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: avemo frft --order A [--method fast|direct|candan] --in X.npy --out Y.npy\n"
               "  FRFT of order A (rotation angle A*pi/2; 1 = centered unitary DFT, 2 = time reversal) of each\n"
               "  row of X (complex64 or float32, shape [rows, N] or [N], N >= 2), written to Y as complex64\n"
               "  of the same shape. Grid t_n = (n - N/2)/sqrt(N) (spec 3.4).\n"
               "  --method fast    O(N log N) Ozaktas et al. 1996 (default)\n"
               "  --method direct  O(N^2) sum of the discretised kernel (reference)\n"
               "  --method candan  exactly unitary eigenvector DFRFT (Candan, Kutay & Ozaktas 2000), O(N^2)\n");
}

int cmd_frft(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *order_s = NULL, *method = "fast";
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if ((v = cli_opt_value(argc, argv, &i, "--order", &missing))) order_s = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--method", &missing))) method = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--in", &missing))) in = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--out", &missing))) out = v;
        else return cli_bad_arg("frft", argv[i], missing);
    }
    if (!order_s || !in || !out) {
        fprintf(stderr, "avemo frft: --order, --in and --out are required (avemo frft --help)\n");
        return 2;
    }
    char *end;
    double order = strtod(order_s, &end);
    if (end == order_s || *end || !isfinite(order)) {
        fprintf(stderr, "avemo frft: --order '%s' is not a finite number\n", order_s);
        return 2;
    }
    int direct = 0, candan = 0;
    if (!strcmp(method, "direct")) direct = 1;
    else if (!strcmp(method, "candan")) candan = 1;
    else if (strcmp(method, "fast") != 0) {
        fprintf(stderr, "avemo frft: --method '%s' unknown (fast, direct or candan)\n", method);
        return 2;
    }

    npy_array x;
    if (npy_read(in, &x) != 0) {
        fprintf(stderr, "avemo frft: %s\n", avemo_last_error());
        return 2;
    }
    int rc = 2;
    float *y = NULL;
    frft_plan *plan = NULL;
    if (x.dtype != NPY_C64 && x.dtype != NPY_F32) {
        fprintf(stderr, "avemo frft: %s: dtype %s not supported (want complex64 <c8 or float32 <f4)\n", in,
                npy_dtype_name(x.dtype));
        goto done;
    }
    if (x.ndim != 1 && x.ndim != 2) {
        fprintf(stderr, "avemo frft: %s: %d dimensions (want [rows, N] or [N])\n", in, x.ndim);
        goto done;
    }
    int64_t n64 = x.shape[x.ndim - 1], rows = x.ndim == 2 ? x.shape[0] : 1;
    if (n64 < 2 || n64 > (1 << 24)) {
        fprintf(stderr, "avemo frft: %s: row length %lld (want 2 <= N <= %d)\n", in, (long long)n64, 1 << 24);
        goto done;
    }
    int n = (int)n64;
    rc = 1; /* from here on, failures are runtime failures */
    y = malloc(sizeof(float) * 2 * (size_t)(rows * n > 0 ? rows * n : 1));
    if (!y) {
        fprintf(stderr, "avemo frft: out of memory for %lld x %d\n", (long long)rows, n);
        goto done;
    }
    if (!direct && (candan ? frft_candan_plan_create(&plan, n, order) : frft_plan_create(&plan, n, order)) != 0) {
        fprintf(stderr, "avemo frft: %s\n", avemo_last_error());
        goto done;
    }
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        double complex *buf = malloc(sizeof(double complex) * (size_t)n);
        if (!buf) failed = 1;
#pragma omp for schedule(dynamic)
        for (int64_t r = 0; r < rows; r++) {
            if (!buf) continue;
            for (int k = 0; k < n; k++) {
                if (x.dtype == NPY_C64) {
                    const float *s = (const float *)x.data + 2 * (r * n + k);
                    buf[k] = s[0] + I * s[1];
                } else {
                    buf[k] = ((const float *)x.data)[r * n + k];
                }
            }
            int st = direct ? frft_direct(buf, buf, n, order) : frft_execute(plan, buf, buf);
            if (st) failed = 1;
            for (int k = 0; k < n; k++) {
                y[2 * (r * n + k)] = (float)creal(buf[k]);
                y[2 * (r * n + k) + 1] = (float)cimag(buf[k]);
            }
        }
        free(buf);
    }
    if (failed) {
        fprintf(stderr, "avemo frft: %s: transform failed: %s\n", in, avemo_last_error());
        goto done;
    }
    if (npy_write(out, NPY_C64, x.ndim, x.shape, y) != 0) {
        fprintf(stderr, "avemo frft: %s\n", avemo_last_error());
        goto done;
    }
    rc = 0;
done:
    frft_plan_destroy(plan);
    free(y);
    npy_free(&x);
    return rc;
}
