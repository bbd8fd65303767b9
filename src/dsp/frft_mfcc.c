#include "dsp/frft_mfcc.h"

#include "core/err.h"
#include "dsp/frft.h"

#include <complex.h>
#include <stdlib.h>
#include <string.h>

struct frft_mfcc {
    mfcc_config cfg;
    int n_orders;
    frft_plan **plans; /* [n_orders], each for length cfg.n_fft */
};

typedef struct {
    const frft_plan *plan;
    int n;
} frft_spectrum_ctx;

/* power [n/2 + 1] = n |FRFT_a(frame)_{(k + n/2) mod n}|^2; scratch: 2 n doubles (the complex frame). */
static int frft_spectrum(void *ctx, const double *frame, double *power, double *scratch) {
    const frft_spectrum_ctx *s = ctx;
    int n = s->n;
    double complex *z = (double complex *)scratch;
    for (int i = 0; i < n; i++) z[i] = frame[i];
    int st = frft_execute(s->plan, z, z);
    if (st) return st;
    for (int k = 0; k <= n / 2; k++) {
        double complex y = z[(k + n / 2) % n];
        power[k] = n * (creal(y) * creal(y) + cimag(y) * cimag(y));
    }
    return 0;
}

int frft_mfcc_create(frft_mfcc **out, const mfcc_config *c, const double *orders, int n_orders) {
    *out = NULL;
    int st = mfcc_config_check(c);
    if (st) return st;
    if (n_orders < 1 || n_orders > AVEMO_FRFT_MFCC_MAX_ORDERS)
        return avemo_error(AVEMO_EINVAL, "frft-mfcc: %d orders (1..%d)", n_orders, AVEMO_FRFT_MFCC_MAX_ORDERS);
    frft_mfcc *f = calloc(1, sizeof *f);
    if (!f || !(f->plans = calloc((size_t)n_orders, sizeof *f->plans))) {
        free(f);
        return avemo_error(AVEMO_ENOMEM, "frft-mfcc: out of memory");
    }
    f->cfg = *c;
    f->n_orders = n_orders;
    for (int j = 0; j < n_orders; j++) {
        if ((st = frft_plan_create(&f->plans[j], c->n_fft, orders[j]))) {
            frft_mfcc_destroy(f);
            return avemo_error_prefix(st, "frft-mfcc: order %g", orders[j]);
        }
    }
    *out = f;
    return 0;
}

int frft_mfcc_channels(const frft_mfcc *f) { return f->n_orders * f->cfg.n_mfcc; }

int frft_mfcc_forward(const frft_mfcc *f, const float *x, long n, float *out) {
    long frames = mfcc_frames(&f->cfg, n);
    for (int j = 0; j < f->n_orders; j++) {
        frft_spectrum_ctx s = {f->plans[j], f->cfg.n_fft};
        int st = mfcc_forward_spectrum(&f->cfg, frft_spectrum, &s, 2 * (size_t)f->cfg.n_fft, x, n,
                                       out + (size_t)j * f->cfg.n_mfcc * frames);
        if (st) return st;
    }
    return 0;
}

void frft_mfcc_destroy(frft_mfcc *f) {
    if (!f) return;
    for (int j = 0; j < f->n_orders; j++)
        if (f->plans[j]) frft_plan_destroy(f->plans[j]);
    free(f->plans);
    free(f);
}
