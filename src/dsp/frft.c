/* Fractional Fourier transform (spec 3.4, paper eq. (1)-(3)).
 *
 * Grid: t_n = (n - c) / sqrt(N), c = floor(N/2), n = 0..N-1 (input and output). With the integer centre c,
 * a = 1 is exactly fftshift(fft(ifftshift(x))) / sqrt(N) for even and odd N, and a = 2 (the DFT applied
 * twice) maps grid index k = n - c to -k mod N, i.e. n -> (2c - n) mod N: (N - n) mod N for even N (index
 * 0, t = -sqrt(N)/2, has no mirror on the grid and maps to itself, as for the DFT), N - 1 - n for odd N.
 *
 * Fast algorithm: Ozaktas, Arikan, Kutay & Bozdagi, "Digital computation of the fractional Fourier
 * transform", IEEE Trans. Signal Process. 44(9), 1996. With alpha = a pi/2 and cot - csc = -tan(alpha/2):
 *   F^a x (u) = A e^{-i pi tan(alpha/2) u^2} \int e^{i pi csc(alpha) (u - t)^2} e^{-i pi tan(alpha/2) t^2} x(t) dt
 * evaluated for 0.5 <= a <= 1.5 (where the chirps are sampled finely enough on a grid of step 1/(2 sqrt N))
 * after reducing a with the exact F^1 (centered DFT) and F^2 (grid reversal):
 *   1. sinc-interpolate x by 2 (2N-1 samples at half-sample spacing; FFT convolution with sinc(d + 1/2)),
 *   2. multiply by the chirp e^{-i pi tan(alpha/2) t^2},
 *   3. convolve with e^{i pi csc(alpha) s^2} (FFT convolution, lags |s| <= (2N-2) half-samples),
 *   4. keep the even (original-grid) samples, multiply by the chirp, A_alpha and dt = 1/(2 sqrt N).
 * A_alpha = sqrt(1 - i cot(alpha)) (principal root) = e^{i pi (a-1)/4} / sqrt(sin alpha) on 0.5 <= a <= 1.5.
 * This is the same computation as the authors' fracF.m, on our (for even N half a sample shifted) grid.
 *
 * Threading: frft_execute only reads the plan and uses FFTW's new-array execute functions on buffers it
 * allocates, so one plan may run on many threads. FFTW planning is not thread-safe: plan creation and
 * destruction take the process-wide planner lock of dsp/fft.h (also held around the Candan plan's LAPACK
 * call, which keeps plan creation serialized there too).
 */
#include "dsp/frft.h"

#include "core/err.h"
#include "dsp/fft.h"
#include "dsp/frft_candan.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Orders within this distance of an integer are treated as that integer (exact identity, DFT, reversal,
 * inverse DFT): orders computed in floating point (4k, 1 + 2k, ...) land within a few ulps. */
#define FRFT_INTEGER_TOL 1e-12

enum { KIND_IDENTITY, KIND_DFT, KIND_REVERSE, KIND_IDFT, KIND_GENERAL, KIND_CANDAN };

struct frft_plan {
    int n, c;
    int kind;
    /* KIND_GENERAL: x -> [reverse] -> [dft (+1) | idft (-1)] -> F^a, with 0.5 <= a <= 1.5 */
    int pre_reverse, pre_dft;
    double a;
    int m_sinc, m_conv;            /* FFT sizes of the two convolutions */
    fftw_complex *sinc_hat;        /* [m_sinc] spectrum of sinc(d + 1/2), divided by m_sinc */
    fftw_complex *chirp_hat;       /* [m_conv] spectrum of e^{i pi csc s^2} at half-sample lags, / m_conv */
    double complex *pre_chirp;     /* [2n-1] e^{-i pi tan(alpha/2) t^2} at half-sample positions */
    double complex *post_chirp;    /* [n] e^{-i pi tan(alpha/2) u^2} A dt at the output grid */
    fftw_plan dft_fwd, dft_bwd;    /* [n] in place */
    fftw_plan sinc_fwd, sinc_bwd;  /* [m_sinc] in place */
    fftw_plan conv_fwd, conv_bwd;  /* [m_conv] in place */
    candan_dfrft *candan;           /* KIND_CANDAN: eigenvector DFRFT on the uncentered index */
};

/* Reduce an order to [0, 4) and snap near-integers; returns the integer (0..3) or -1 if not integer. */
static int reduce_order(double order, double *a_out) {
    double a = fmod(order, 4.0);
    if (a < 0) a += 4.0;
    double r = nearbyint(a);
    if (fabs(a - r) < FRFT_INTEGER_TOL) {
        *a_out = fmod(r, 4.0);
        return (int)*a_out;
    }
    *a_out = a;
    return -1;
}

/* Smallest m >= target whose prime factors are 2, 3, 5, 7 (fast FFTW sizes). */
static int good_fft_size(int target) {
    for (int m = target > 1 ? target : 1;; m++) {
        int r = m;
        static const int primes[4] = {2, 3, 5, 7};
        for (int i = 0; i < 4; i++)
            while (r % primes[i] == 0) r /= primes[i];
        if (r == 1) return m;
    }
}

/* y [n] = x [n] reversed on the grid: y[n] = x[(2c - n) mod N]. y != x. */
static void grid_reverse(double complex *y, const double complex *x, int n, int c) {
    for (int i = 0; i < n; i++) y[i] = x[((2 * c - i) % n + n) % n];
}

/* y [n] = centered unitary DFT (sign -1) or its inverse (+1) of x, through a size-n in-place FFTW plan.
 * work [n] is fftw_malloc'd; y may equal x. */
static void centered_dft(const frft_plan *p, fftw_plan plan, double complex *y, const double complex *x,
                         fftw_complex *work) {
    int n = p->n, c = p->c;
    double complex *w = (double complex *)work;
    for (int k = 0; k < n; k++) w[k] = x[(k + c) % n]; /* ifftshift: grid index k = n - c */
    fftw_execute_dft(plan, work, work);
    double s = 1.0 / sqrt((double)n);
    for (int j = 0; j < n; j++) y[(j + c) % n] = w[j] * s; /* fftshift */
}

void frft_plan_destroy(frft_plan *p) {
    if (!p) return;
    fft_planner_lock();
    fftw_plan plans[6] = {p->dft_fwd, p->dft_bwd, p->sinc_fwd, p->sinc_bwd, p->conv_fwd, p->conv_bwd};
    for (int i = 0; i < 6; i++)
        if (plans[i]) fftw_destroy_plan(plans[i]);
    fft_planner_unlock();
    candan_dfrft_destroy(p->candan);
    fftw_free(p->sinc_hat);
    fftw_free(p->chirp_hat);
    free(p->pre_chirp);
    free(p->post_chirp);
    free(p);
}

/* Plans one size-m in-place FFT pair on a scratch buffer (FFTW_ESTIMATE: does not touch the data).
 * Caller holds the planner lock. */
static int plan_pair(int m, fftw_plan *fwd, fftw_plan *bwd) {
    fftw_complex *buf = fftw_malloc(sizeof(fftw_complex) * (size_t)m);
    if (!buf) return AVEMO_ENOMEM;
    *fwd = fftw_plan_dft_1d(m, buf, buf, FFTW_FORWARD, FFTW_ESTIMATE);
    *bwd = fftw_plan_dft_1d(m, buf, buf, FFTW_BACKWARD, FFTW_ESTIMATE);
    fftw_free(buf);
    return *fwd && *bwd ? AVEMO_OK : AVEMO_EINTERNAL;
}

/* out [m] = FFT(kernel [m]) / m, using the plan just made. */
static void kernel_spectrum(fftw_plan fwd, fftw_complex *out, int m) {
    fftw_execute_dft(fwd, out, out);
    double complex *o = (double complex *)out;
    for (int i = 0; i < m; i++) o[i] /= m;
}

int frft_plan_create(frft_plan **plan, int n, double order) {
    *plan = NULL;
    if (n < 2) return avemo_error(AVEMO_EINVAL, "frft: length %d < 2", n);
    if (n > (1 << 26)) return avemo_error(AVEMO_EINVAL, "frft: length %d too large", n);
    if (!isfinite(order)) return avemo_error(AVEMO_EINVAL, "frft: order is not finite");
    frft_plan *p = calloc(1, sizeof *p);
    if (!p) return avemo_error(AVEMO_ENOMEM, "frft: out of memory");
    p->n = n;
    p->c = n / 2;
    double a;
    int integer = reduce_order(order, &a);
    int rc = AVEMO_OK;

    fft_planner_lock();
    if (integer == 0) p->kind = KIND_IDENTITY;
    else if (integer == 2) p->kind = KIND_REVERSE;
    else if (integer == 1 || integer == 3) p->kind = integer == 1 ? KIND_DFT : KIND_IDFT;
    else {
        p->kind = KIND_GENERAL;
        if (a > 2.0) { a -= 2.0; p->pre_reverse = 1; }        /* F^a = F^(a-2) F^2 */
        if (a > 1.5) { a -= 1.0; p->pre_dft = 1; }            /* F^a = F^(a-1) F^1 */
        else if (a < 0.5) { a += 1.0; p->pre_dft = -1; }      /* F^a = F^(a+1) F^-1 */
        p->a = a;
    }
    if (p->kind != KIND_IDENTITY && p->kind != KIND_REVERSE) rc = plan_pair(n, &p->dft_fwd, &p->dft_bwd);
    if (rc == AVEMO_OK && p->kind == KIND_GENERAL) {
        p->m_sinc = good_fft_size(2 * n - 2); /* lags -(n-1)..n-2 distinct mod m_sinc */
        p->m_conv = good_fft_size(4 * n - 3); /* lags -(2n-2)..2n-2 distinct mod m_conv */
        rc = plan_pair(p->m_sinc, &p->sinc_fwd, &p->sinc_bwd);
        if (rc == AVEMO_OK) rc = plan_pair(p->m_conv, &p->conv_fwd, &p->conv_bwd);
    }
    fft_planner_unlock();
    if (rc != AVEMO_OK) {
        frft_plan_destroy(p);
        return avemo_error(rc, "frft: FFTW planning failed for length %d", n);
    }
    if (p->kind != KIND_GENERAL) {
        *plan = p;
        return AVEMO_OK;
    }

    int ms = p->m_sinc, mc = p->m_conv, c = p->c;
    p->sinc_hat = fftw_malloc(sizeof(fftw_complex) * (size_t)ms);
    p->chirp_hat = fftw_malloc(sizeof(fftw_complex) * (size_t)mc);
    p->pre_chirp = malloc(sizeof(double complex) * (size_t)(2 * n - 1));
    p->post_chirp = malloc(sizeof(double complex) * (size_t)n);
    if (!p->sinc_hat || !p->chirp_hat || !p->pre_chirp || !p->post_chirp) {
        frft_plan_destroy(p);
        return avemo_error(AVEMO_ENOMEM, "frft: out of memory for length %d", n);
    }
    /* Half-sample sinc kernel: the midpoint between samples m and m+1 is sum_k x_k sinc(m - k + 1/2). */
    double complex *sk = (double complex *)p->sinc_hat;
    memset(sk, 0, sizeof(double complex) * (size_t)ms);
    for (int d = -(n - 1); d <= n - 2; d++) {
        double v = d + 0.5;
        sk[(d + ms) % ms] = ((d & 1) ? -1.0 : 1.0) / (M_PI * v); /* sin(pi v) = (-1)^d */
    }
    kernel_spectrum(p->sinc_fwd, p->sinc_hat, ms);

    double alpha = a * M_PI / 2;
    double tan_half = tan(alpha / 2), csc = 1.0 / sin(alpha), cot = cos(alpha) / sin(alpha);
    /* Convolution chirp e^{i pi csc s^2} at lags s = d / (2 sqrt N), d = -(2n-2)..2n-2. */
    double complex *ck = (double complex *)p->chirp_hat;
    memset(ck, 0, sizeof(double complex) * (size_t)mc);
    for (int d = -(2 * n - 2); d <= 2 * n - 2; d++) {
        double dd = (double)d * d / (4.0 * n);
        ck[(d + mc) % mc] = cexp(I * M_PI * csc * dd);
    }
    kernel_spectrum(p->conv_fwd, p->chirp_hat, mc);
    /* Half-sample positions q = 0..2n-2: grid index q/2 - c, t = (q/2 - c) / sqrt(N). */
    for (int q = 0; q <= 2 * n - 2; q++) {
        double k = q / 2.0 - c;
        p->pre_chirp[q] = cexp(-I * M_PI * tan_half * (k * k / n));
    }
    double complex amp = csqrt(1.0 - I * cot) / (2.0 * sqrt((double)n)); /* A_alpha dt */
    for (int m = 0; m < n; m++) {
        double k = (double)(m - c);
        p->post_chirp[m] = cexp(-I * M_PI * tan_half * (k * k / n)) * amp;
    }
    *plan = p;
    return AVEMO_OK;
}

int frft_execute(const frft_plan *p, double complex *y, const double complex *x) {
    if (!p || !y || !x) return avemo_error(AVEMO_EINVAL, "frft_execute: NULL argument");
    int n = p->n, c = p->c;
    if (p->kind == KIND_IDENTITY) {
        if (y != x) memmove(y, x, sizeof(double complex) * (size_t)n);
        return AVEMO_OK;
    }
    /* work: v [n] | s [m_sinc] | g [m_conv], each starting on a 128-byte boundary of the fftw_malloc'd
     * block, so every buffer handed to fftw_execute_dft has the planned arrays' SIMD alignment */
    size_t off_s = ((size_t)n + 7) & ~(size_t)7, off_g = off_s + (((size_t)p->m_sinc + 7) & ~(size_t)7);
    size_t need = (size_t)n;
    if (p->kind == KIND_GENERAL) need = off_g + (size_t)p->m_conv;
    fftw_complex *work = fftw_malloc(sizeof(fftw_complex) * need);
    if (!work) return avemo_error(AVEMO_ENOMEM, "frft: out of memory for length %d", n);
    double complex *w = (double complex *)work;

    if (p->kind == KIND_REVERSE) {
        grid_reverse(w, x, n, c);
        memcpy(y, w, sizeof(double complex) * (size_t)n);
        fftw_free(work);
        return AVEMO_OK;
    }
    if (p->kind == KIND_DFT || p->kind == KIND_IDFT) {
        centered_dft(p, p->kind == KIND_DFT ? p->dft_fwd : p->dft_bwd, y, x, work);
        fftw_free(work);
        return AVEMO_OK;
    }

    if (p->kind == KIND_CANDAN) { /* centered grid = uncentered DFT index after ifftshift */
        double complex *v = w;
        double *cw = malloc(sizeof(double) * (size_t)candan_dfrft_work_size(p->candan));
        if (!cw) {
            fftw_free(work);
            return avemo_error(AVEMO_ENOMEM, "frft: out of memory for length %d", n);
        }
        for (int k = 0; k < n; k++) v[k] = x[(k + c) % n];
        candan_dfrft_apply(p->candan, v, v, cw);
        for (int j = 0; j < n; j++) y[(j + c) % n] = v[j];
        free(cw);
        fftw_free(work);
        return AVEMO_OK;
    }

    /* General order. v [n]: input after the exact reductions. */
    double complex *v = w;
    fftw_complex *s_buf = work + off_s, *c_buf = work + off_g;
    double complex *s = (double complex *)s_buf, *g = (double complex *)c_buf;
    if (p->pre_reverse) grid_reverse(v, x, n, c);
    else memcpy(v, x, sizeof(double complex) * (size_t)n);
    if (p->pre_dft) centered_dft(p, p->pre_dft > 0 ? p->dft_fwd : p->dft_bwd, v, v, s_buf);

    /* 1. midpoints s[m] = sum_k v[k] sinc(m - k + 1/2), m = 0..n-2 */
    memcpy(s, v, sizeof(double complex) * (size_t)n);
    memset(s + n, 0, sizeof(double complex) * (size_t)(p->m_sinc - n));
    fftw_execute_dft(p->sinc_fwd, s_buf, s_buf);
    const double complex *sh = (const double complex *)p->sinc_hat;
    for (int i = 0; i < p->m_sinc; i++) s[i] *= sh[i];
    fftw_execute_dft(p->sinc_bwd, s_buf, s_buf);

    /* 2. g[q] = chirp * interpolated signal at half-sample positions q = 0..2n-2 */
    for (int k = 0; k < n; k++) g[2 * k] = v[k] * p->pre_chirp[2 * k];
    for (int k = 0; k < n - 1; k++) g[2 * k + 1] = s[k] * p->pre_chirp[2 * k + 1];
    memset(g + 2 * n - 1, 0, sizeof(double complex) * (size_t)(p->m_conv - (2 * n - 1)));

    /* 3. chirp convolution */
    fftw_execute_dft(p->conv_fwd, c_buf, c_buf);
    const double complex *ch = (const double complex *)p->chirp_hat;
    for (int i = 0; i < p->m_conv; i++) g[i] *= ch[i];
    fftw_execute_dft(p->conv_bwd, c_buf, c_buf);

    /* 4. decimate to the original grid, post-chirp and scale */
    for (int m = 0; m < n; m++) y[m] = g[2 * m] * p->post_chirp[m];
    fftw_free(work);
    return AVEMO_OK;
}

int frft_candan_plan_create(frft_plan **plan, int n, double order) {
    *plan = NULL;
    double a;
    if (n < 2 || n > (1 << 16)) return avemo_error(AVEMO_EINVAL, "frft candan: length %d not in 2..65536", n);
    if (!isfinite(order)) return avemo_error(AVEMO_EINVAL, "frft candan: order is not finite");
    if (reduce_order(order, &a) >= 0) return frft_plan_create(plan, n, order); /* exact integer orders */
    frft_plan *p = calloc(1, sizeof *p);
    if (!p) return avemo_error(AVEMO_ENOMEM, "frft: out of memory");
    p->n = n;
    p->c = n / 2;
    p->kind = KIND_CANDAN;
    fft_planner_lock(); /* LAPACK via OpenBLAS: plan creation stays serialized */
    int rc = candan_dfrft_create(&p->candan, n, a);
    fft_planner_unlock();
    if (rc) {
        frft_plan_destroy(p);
        return rc;
    }
    *plan = p;
    return AVEMO_OK;
}

int frft_candan(double complex *y, const double complex *x, int n, double order) {
    frft_plan *p;
    int rc = frft_candan_plan_create(&p, n, order);
    if (rc) return rc;
    rc = frft_execute(p, y, x);
    frft_plan_destroy(p);
    return rc;
}

int frft(double complex *y, const double complex *x, int n, double order) {
    frft_plan *p;
    int rc = frft_plan_create(&p, n, order);
    if (rc) return rc;
    rc = frft_execute(p, y, x);
    frft_plan_destroy(p);
    return rc;
}

/* Direct evaluation of the discretised kernel:
 *   y[m] = A / sqrt(N) e^{i pi cot u_m^2} sum_n e^{-2 pi i csc u_m t_n} e^{i pi cot t_n^2} x[n]. */
int frft_direct(double complex *y, const double complex *x, int n, double order) {
    if (n < 2) return avemo_error(AVEMO_EINVAL, "frft_direct: length %d < 2", n);
    if (!y || !x) return avemo_error(AVEMO_EINVAL, "frft_direct: NULL argument");
    if (!isfinite(order)) return avemo_error(AVEMO_EINVAL, "frft_direct: order is not finite");
    double a;
    int integer = reduce_order(order, &a);
    int c = n / 2;
    double complex *out = malloc(sizeof(double complex) * (size_t)n);
    if (!out) return avemo_error(AVEMO_ENOMEM, "frft_direct: out of memory");
    if (integer == 0) {
        memcpy(out, x, sizeof(double complex) * (size_t)n);
    } else if (integer == 2) {
        grid_reverse(out, x, n, c);
    } else if (integer == 1 || integer == 3) {
        /* cot = 0, csc = +-1, A = 1: the centered DFT; phase reduced exactly in integers. */
        double sign = integer == 1 ? -1.0 : 1.0;
        for (int m = 0; m < n; m++) {
            double complex acc = 0;
            for (int k = 0; k < n; k++) {
                long long e = ((long long)(m - c) * (k - c)) % n;
                acc += x[k] * cexp(sign * 2.0 * M_PI * I * (double)e / n);
            }
            out[m] = acc / sqrt((double)n);
        }
    } else {
        double alpha = a * M_PI / 2;
        double cot = cos(alpha) / sin(alpha), csc = 1.0 / sin(alpha);
        double complex amp = csqrt(1.0 - I * cot) / sqrt((double)n);
        double complex *xc = malloc(sizeof(double complex) * (size_t)n);
        if (!xc) {
            free(out);
            return avemo_error(AVEMO_ENOMEM, "frft_direct: out of memory");
        }
        for (int k = 0; k < n; k++) {
            double t2 = (double)(k - c) * (k - c) / n;
            xc[k] = x[k] * cexp(I * M_PI * cot * t2);
        }
        for (int m = 0; m < n; m++) {
            double complex acc = 0;
            for (int k = 0; k < n; k++) {
                double ut = (double)(m - c) * (k - c) / n;
                acc += xc[k] * cexp(-2.0 * M_PI * I * csc * ut);
            }
            double u2 = (double)(m - c) * (m - c) / n;
            out[m] = amp * cexp(I * M_PI * cot * u2) * acc;
        }
        free(xc);
    }
    memcpy(y, out, sizeof(double complex) * (size_t)n);
    free(out);
    return AVEMO_OK;
}
