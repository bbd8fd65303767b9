#include "dsp/fft.h"

#include "core/err.h"

#include <fftw3.h>
#include <pthread.h>
#include <stdlib.h>

struct fft_real_plan {
    int n;
    fftw_plan plan; /* r2c, out of place, FFTW_UNALIGNED | FFTW_PRESERVE_INPUT: any arrays at execute */
    struct fft_real_plan *next;
};

static pthread_mutex_t planner_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct fft_real_plan *plans; /* cache, guarded by planner_mutex; lives until exit */

void fft_planner_lock(void) { pthread_mutex_lock(&planner_mutex); }
void fft_planner_unlock(void) { pthread_mutex_unlock(&planner_mutex); }

int fft_real_plan_get(int n, const fft_real_plan **out) {
    *out = NULL;
    if (n < 2 || n % 2) return avemo_error(AVEMO_EINVAL, "fft: frame length %d must be even and >= 2", n);
    int st = 0;
    fft_planner_lock();
    struct fft_real_plan *p = plans;
    while (p && p->n != n) p = p->next;
    if (!p) {
        double *x = fftw_alloc_real((size_t)n);
        fftw_complex *y = fftw_alloc_complex((size_t)n / 2 + 1);
        p = calloc(1, sizeof *p);
        if (x && y && p) {
            p->n = n;
            p->plan = fftw_plan_dft_r2c_1d(n, x, y, FFTW_ESTIMATE | FFTW_UNALIGNED | FFTW_PRESERVE_INPUT);
        }
        if (!p || !p->plan) {
            free(p);
            p = NULL;
            st = avemo_error(AVEMO_ENOMEM, "fft: cannot plan a real FFT of length %d", n);
        } else {
            p->next = plans;
            plans = p;
        }
        fftw_free(x);
        fftw_free(y);
    }
    fft_planner_unlock();
    *out = p;
    return st;
}


void fft_power(const fft_real_plan *plan, const double *x, double *power, double *scratch) {
    fftw_complex *y = (fftw_complex *)scratch;
    fftw_execute_dft_r2c(plan->plan, (double *)x, y);
    for (int k = 0; k <= plan->n / 2; k++) power[k] = y[k][0] * y[k][0] + y[k][1] * y[k][1];
}
