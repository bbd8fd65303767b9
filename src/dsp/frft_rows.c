#include "dsp/frft_rows.h"

#include "core/err.h"
#include "dsp/frft.h"

#include <complex.h>
#include <stdlib.h>
#include <string.h>

int frft_rows(float *y, const float *x, int x_complex, int64_t rows, int n, double order, frft_method method) {
    frft_plan *plan = NULL;
    if (method != FRFT_METHOD_DIRECT) {
        int st = method == FRFT_METHOD_CANDAN ? frft_candan_plan_create(&plan, n, order)
                                              : frft_plan_create(&plan, n, order);
        if (st) return st;
    }
    int status = AVEMO_OK; /* statuses are negative: the reduction keeps a failure */
#pragma omp parallel reduction(min : status)
    {
        double complex *buf = malloc(sizeof(double complex) * (size_t)n);
        if (!buf) status = avemo_error(AVEMO_ENOMEM, "out of memory for a row of %d", n);
#pragma omp for schedule(dynamic)
        for (int64_t r = 0; r < rows; r++) {
            if (!buf) continue;
            for (int k = 0; k < n; k++) {
                const float *s = x + (x_complex ? 2 : 1) * (r * n + k);
                buf[k] = x_complex ? s[0] + I * s[1] : s[0];
            }
            int st = method == FRFT_METHOD_DIRECT ? frft_direct(buf, buf, n, order) : frft_execute(plan, buf, buf);
            if (st && st < status) status = st;
            for (int k = 0; k < n; k++) {
                y[2 * (r * n + k)] = (float)creal(buf[k]);
                y[2 * (r * n + k) + 1] = (float)cimag(buf[k]);
            }
        }
        free(buf);
    }
    frft_plan_destroy(plan);
    return status ? avemo_error_prefix(status, "transform failed") : AVEMO_OK;
}

int frft_npy_rows(npy_array *y, const npy_array *x, const char *name, double order, frft_method method) {
    memset(y, 0, sizeof *y);
    if (x->dtype != NPY_C64 && x->dtype != NPY_F32)
        return avemo_error(AVEMO_EFORMAT, "%s: dtype %s not supported (want complex64 <c8 or float32 <f4)", name,
                           npy_dtype_name(x->dtype));
    if (x->ndim != 1 && x->ndim != 2)
        return avemo_error(AVEMO_EFORMAT, "%s: %d dimensions (want [rows, N] or [N])", name, x->ndim);
    int64_t n = x->shape[x->ndim - 1], rows = x->ndim == 2 ? x->shape[0] : 1;
    if (n < 2 || n > FRFT_ROWS_MAX_N)
        return avemo_error(AVEMO_EFORMAT, "%s: row length %lld (want 2 <= N <= %d)", name, (long long)n,
                           FRFT_ROWS_MAX_N);
    float *data = malloc(sizeof(float) * 2 * (size_t)(rows * n > 0 ? rows * n : 1));
    if (!data) return avemo_error(AVEMO_ENOMEM, "out of memory for %lld x %d", (long long)rows, (int)n);
    int st = frft_rows(data, x->data, x->dtype == NPY_C64, rows, (int)n, order, method);
    if (st) {
        free(data);
        return avemo_error_prefix(st, "%s", name);
    }
    y->dtype = NPY_C64;
    y->ndim = x->ndim;
    memcpy(y->shape, x->shape, sizeof y->shape);
    y->count = x->count;
    y->nbytes = (size_t)x->count * npy_dtype_size(NPY_C64);
    y->data = data;
    return AVEMO_OK;
}
