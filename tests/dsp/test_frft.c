/* Tests of src/dsp/frft.c: the fast Ozaktas et al. FRFT against the closed-form continuous FRFT of
 * Gaussians, against the direct O(N^2) kernel, against numpy (tests/fixtures/dsp, tools/fixtures_frft.py),
 * and its properties (integer orders, additivity, energy, chirp compaction, in-place, threads); and the
 * Candan et al. eigenvector DFRFT (frft_candan).
 *
 * Error measure: relative L2, ||y - ref|| / ||ref||. Measured values are printed ("measured: ...").
 */
#include "test.h"

#include "dsp/frft.h"
#include "avemo.h"
#include "io/npy.h"

#include <complex.h>
#include <stdlib.h>
#include <string.h>

static const double orders9[9] = {0.3, 0.5, 0.75, 0.95, 1.1, 1.5, 1.7, -0.6, 2.5};

static double rel_l2(const double complex *y, const double complex *ref, int n) {
    double e = 0, r = 0;
    for (int i = 0; i < n; i++) {
        double complex d = y[i] - ref[i];
        e += creal(d) * creal(d) + cimag(d) * cimag(d);
        r += creal(ref[i]) * creal(ref[i]) + cimag(ref[i]) * cimag(ref[i]);
    }
    return sqrt(e / (r > 0 ? r : 1e-300));
}

static double energy(const double complex *y, int n) {
    double e = 0;
    for (int i = 0; i < n; i++) e += creal(y[i]) * creal(y[i]) + cimag(y[i]) * cimag(y[i]);
    return e;
}

static double complex *cvec(int n) { return calloc((size_t)n, sizeof(double complex)); }

static void fill_random(double complex *x, int n, unsigned long long seed) {
    double *re = malloc(sizeof(double) * (size_t)n * 2);
    fill_uniform_d(re, 2L * n, seed, -1.0, 1.0);
    for (int i = 0; i < n; i++) x[i] = re[2 * i] + I * re[2 * i + 1];
    free(re);
}

/* Gaussians exp(-pi p t^2 + 2 pi q t) (Re p > 0) on the grid t = (n - N/2)/sqrt(N): a chirp for Im p != 0,
 * shifted / modulated by q. Their continuous FRFT is closed-form (below), and they are well-sampled on
 * the grid when they decay inside it in both time and frequency. */
typedef struct {
    double complex p, q;
} gaussian;
static const gaussian gaussians[4] = {
    {1.0, 0.0},              /* the FRFT's own eigenfunction */
    {2.0, 0.7},              /* narrower, shifted to t = 0.35 */
    {1.0 - 0.5 * I, 1.0 * I}, /* chirp rate 0.5, modulated to frequency 1 */
    {0.5, 0.25 + 0.5 * I},   /* wider, shifted and modulated */
};

static void gaussian_fill(double complex *x, int n, gaussian g) {
    for (int i = 0; i < n; i++) {
        double t = (i - n / 2) / sqrt((double)n);
        x[i] = cexp(-M_PI * g.p * t * t + 2 * M_PI * g.q * t);
    }
}

/* Continuous FRFT: A e^{i pi cot u^2} int e^{-pi (p - i cot) t^2 + 2 pi (q - i csc u) t} dt
 * = A e^{i pi cot u^2} P^{-1/2} e^{pi Q^2 / P}, P = p - i cot, Q = q - i csc u (Re P > 0, principal roots).
 * Orders are non-integer here. */
static void gaussian_frft(double complex *y, int n, gaussian g, double a) {
    double alpha = a * M_PI / 2, cot = cos(alpha) / sin(alpha), csc = 1 / sin(alpha);
    double complex amp = csqrt(1 - I * cot), P = g.p - I * cot;
    for (int m = 0; m < n; m++) {
        double u = (m - n / 2) / sqrt((double)n);
        double complex Q = g.q - I * csc * u;
        y[m] = amp * cexp(I * M_PI * cot * u * u) / csqrt(P) * cexp(M_PI * Q * Q / P);
    }
}

/* |sin alpha| >= 1/2, i.e. a mod 2 in [1/3, 5/3]: the direct kernel's sum does not alias (below). */
static int direct_kernel_alias_free(double a) { return fabs(sin(a * M_PI / 2)) >= 0.5; }

static void test_integer_orders(void) {
    const int sizes[4] = {2, 9, 64, 255};
    double worst_dft = 0, worst_dft2 = 0, worst_inv = 0;
    for (int si = 0; si < 4; si++) {
        int n = sizes[si], c = n / 2;
        double complex *x = cvec(n), *y = cvec(n), *z = cvec(n), *r = cvec(n);
        fill_random(x, n, 100 + n);
        /* a = 0, 4, -4: exactly the identity */
        const double ids[3] = {0.0, 4.0, -4.0};
        for (int k = 0; k < 3; k++) {
            CHECK(frft(y, x, n, ids[k]) == 0, "frft: %s", avemo_last_error());
            CHECK(memcmp(y, x, sizeof(double complex) * n) == 0, "n=%d a=%g not the identity", n, ids[k]);
        }
        /* a = 2 (and -2, 6): exactly x(-t) on the grid, index n -> (2c - n) mod N */
        for (int i = 0; i < n; i++) r[i] = x[((2 * c - i) % n + n) % n];
        const double revs[3] = {2.0, -2.0, 6.0};
        for (int k = 0; k < 3; k++) {
            CHECK(frft(y, x, n, revs[k]) == 0, "frft: %s", avemo_last_error());
            CHECK(memcmp(y, r, sizeof(double complex) * n) == 0, "n=%d a=%g not the reversal", n, revs[k]);
        }
        CHECK(frft_direct(y, x, n, 2.0) == 0 && memcmp(y, r, sizeof(double complex) * n) == 0,
              "direct a=2 not the reversal");
        CHECK(frft_direct(y, x, n, 0.0) == 0 && memcmp(y, x, sizeof(double complex) * n) == 0,
              "direct a=0 not the identity");
        /* a = 1: the centered unitary DFT (FFTW) equals the O(N^2) sum with exact integer phases */
        CHECK(frft(y, x, n, 1.0) == 0, "frft: %s", avemo_last_error());
        CHECK(frft_direct(z, x, n, 1.0) == 0, "direct: %s", avemo_last_error());
        double e1 = rel_l2(y, z, n);
        worst_dft = fmax(worst_dft, e1);
        /* the reversal is the DFT applied twice; a = 3 = -1 inverts a = 1 */
        CHECK(frft(z, y, n, 1.0) == 0, "frft");
        worst_dft2 = fmax(worst_dft2, rel_l2(z, r, n));
        CHECK(frft(z, y, n, 3.0) == 0, "frft");
        worst_inv = fmax(worst_inv, rel_l2(z, x, n));
        CHECK(frft(z, y, n, -1.0) == 0, "frft");
        worst_inv = fmax(worst_inv, rel_l2(z, x, n));
        free(x), free(y), free(z), free(r);
    }
    printf("measured: a=1 vs O(N^2) DFT %.1e; F^1 F^1 vs reversal %.1e; F^3 F^1, F^-1 F^1 vs identity %.1e\n",
           worst_dft, worst_dft2, worst_inv);
    /* double-precision FFT vs direct sum of N <= 255 terms: rounding only */
    CHECK(worst_dft < 1e-12, "a=1 vs DFT %.2e", worst_dft);
    CHECK(worst_dft2 < 1e-12, "F^1 F^1 vs reversal %.2e", worst_dft2);
    CHECK(worst_inv < 1e-12, "F^3 F^1 vs identity %.2e", worst_inv);
}

/* The fast algorithm against the closed-form continuous FRFT of Gaussians, every order and size. */
static void test_fast_vs_continuous(void) {
    const int sizes[4] = {64, 128, 255, 2048};
    for (int si = 0; si < 4; si++) {
        int n = sizes[si];
        double complex *x = cvec(n), *y = cvec(n), *ref = cvec(n);
        double worst = 0;
        for (int g = 0; g < 4; g++) {
            gaussian_fill(x, n, gaussians[g]);
            for (int k = 0; k < 9; k++) {
                CHECK(frft(y, x, n, orders9[k]) == 0, "frft: %s", avemo_last_error());
                gaussian_frft(ref, n, gaussians[g], orders9[k]);
                double e = rel_l2(y, ref, n);
                worst = fmax(worst, e);
                /* N = 64 (grid half-width 4) truncates the widest Gaussian's tails at ~1e-8 */
                CHECK(e < 1e-6, "N=%d gaussian %d a=%g: %.2e", n, g, orders9[k], e);
            }
        }
        printf("measured: N=%d fast vs continuous FRFT of 4 Gaussians x 9 orders: max %.1e\n", n, worst);
        free(x), free(y), free(ref);
    }
}

/* Fast vs direct kernel on well-sampled Gaussians. The direct kernel is a Riemann sum; by Poisson
 * summation its output at u also holds the transform at u +- sqrt(N) sin(alpha), which lies on the grid
 * (|u| < sqrt(N)/2) when |sin alpha| < 1/2: for a = 0.3 and 1.7 it aliases whatever N (measured: relative
 * error ~1 against the continuous FRFT, while the fast algorithm stays at 1e-14). For those orders the
 * comparison is on |u| < sqrt(N)|sin alpha| - 5, where the aliases of a Gaussian centered within 1 of
 * the origin are below e^{-pi 16}. */
static void test_fast_vs_direct(void) {
    const int sizes[4] = {64, 128, 255, 2048};
    for (int si = 0; si < 4; si++) {
        int n = sizes[si];
        double complex *x = cvec(n), *yf = cvec(n), *yd = cvec(n);
        double worst = 0, worst_central = 0;
        /* N = 64 (half-width 4): the chirped Gaussian is not well-sampled for the direct kernel at a = 0.5;
         * N = 2048: two Gaussians keep the O(N^2) reference to ~2 s */
        const int gsel[4][3] = {{0, 1, -1}, {0, 1, 2}, {0, 1, 2}, {0, 2, -1}};
        for (int gi = 0; gi < 3 && gsel[si][gi] >= 0; gi++) {
            gaussian_fill(x, n, gaussians[gsel[si][gi]]);
            for (int k = 0; k < 9; k++) {
                double a = orders9[k];
                CHECK(frft(yf, x, n, a) == 0, "frft: %s", avemo_last_error());
                CHECK(frft_direct(yd, x, n, a) == 0, "direct: %s", avemo_last_error());
                if (direct_kernel_alias_free(a)) {
                    double e = rel_l2(yf, yd, n);
                    worst = fmax(worst, e);
                    CHECK(e < 1e-2, "N=%d gaussian %d a=%g: fast vs direct %.2e", n, gi, a, e);
                } else if (n >= 255) {
                    double lim = sqrt((double)n) * fabs(sin(a * M_PI / 2)) - 5;
                    int lo = 0, cnt = 0;
                    for (int m = 0; m < n; m++)
                        if (fabs((m - n / 2) / sqrt((double)n)) < lim) {
                            if (!cnt) lo = m;
                            cnt++;
                        }
                    double e = rel_l2(yf + lo, yd + lo, cnt);
                    worst_central = fmax(worst_central, e);
                    CHECK(e < 1e-2, "N=%d gaussian %d a=%g: central fast vs direct %.2e", n, gi, a, e);
                }
            }
        }
        printf("measured: N=%d fast vs direct, Gaussians, orders with |sin alpha| >= 1/2: max %.1e", n, worst);
        if (n >= 255) printf("; a = 0.3, 1.7 on the alias-free centre: max %.1e", worst_central);
        printf("\n");
        free(x), free(yf), free(yd);
    }
}

/* Random (white) signals are not confined to the grid's time-frequency square after rotation, so the
 * two discretisations genuinely differ: the fast one drops what rotates out of the square (energy
 * loss), the direct one folds it back. Not a requirement: the numbers are printed, with sanity bounds. */
static void test_random_signals(void) {
    const int sizes[3] = {64, 255, 2048};
    for (int si = 0; si < 3; si++) {
        int n = sizes[si];
        double complex *x = cvec(n), *yf = cvec(n), *yd = cvec(n);
        fill_random(x, n, 7 + n);
        double ex = energy(x, n);
        printf("measured: N=%d white noise, fast vs direct (fast energy ratio):", n);
        for (int k = 0; k < 9; k++) {
            if (n == 2048 && k % 3) continue; /* O(N^2) reference: three orders at 2048 */
            CHECK(frft(yf, x, n, orders9[k]) == 0, "frft");
            CHECK(frft_direct(yd, x, n, orders9[k]) == 0, "direct");
            double er = energy(yf, n) / ex;
            printf(" %g: %.2f (%.2f)", orders9[k], rel_l2(yf, yd, n), er);
            CHECK(er > 0.7 && er < 1.05, "N=%d a=%g energy ratio %.3f", n, orders9[k], er);
        }
        printf("\n");
        free(x), free(yf), free(yd);
    }
}

static void test_energy_and_additivity(void) {
    const int sizes[2] = {128, 2048};
    const double pairs[5][2] = {{0.3, 0.5}, {0.75, 0.95}, {1.1, -0.6}, {1.5, 1.7}, {2.5, 0.3}};
    for (int si = 0; si < 2; si++) {
        int n = sizes[si];
        double complex *x = cvec(n), *y = cvec(n), *z = cvec(n), *w = cvec(n);
        double worst_energy = 0, worst_add = 0, noise_add = 0;
        for (int g = 0; g < 4; g++) {
            gaussian_fill(x, n, gaussians[g]);
            double ex = energy(x, n);
            for (int k = 0; k < 9; k++) {
                CHECK(frft(y, x, n, orders9[k]) == 0, "frft");
                worst_energy = fmax(worst_energy, fabs(energy(y, n) / ex - 1));
            }
            for (int k = 0; k < 5; k++) {
                CHECK(frft(y, x, n, pairs[k][0]) == 0 && frft(z, y, n, pairs[k][1]) == 0, "frft");
                CHECK(frft(w, x, n, pairs[k][0] + pairs[k][1]) == 0, "frft");
                worst_add = fmax(worst_add, rel_l2(z, w, n));
            }
        }
        fill_random(x, n, 3);
        for (int k = 0; k < 5; k++) {
            CHECK(frft(y, x, n, pairs[k][0]) == 0 && frft(z, y, n, pairs[k][1]) == 0, "frft");
            CHECK(frft(w, x, n, pairs[k][0] + pairs[k][1]) == 0, "frft");
            noise_add = fmax(noise_add, rel_l2(z, w, n));
        }
        printf("measured: N=%d Gaussians: energy |ratio - 1| max %.1e, F^a F^b vs F^(a+b) max %.1e; "
               "white noise F^a F^b vs F^(a+b) max %.2f (not unitary on non-confined signals)\n",
               n, worst_energy, worst_add, noise_add);
        /* well-sampled Gaussians: the algorithm is exact up to rounding and tail truncation (~1e-13) */
        CHECK(worst_energy < 1e-10, "energy %.2e", worst_energy);
        CHECK(worst_add < 1e-9, "additivity %.2e", worst_add);
        free(x), free(y), free(z), free(w);
    }
}

/* The FRFT-MFCC use (spec 3.5): a Hann-windowed frame of N = 2048 samples at 22,050 Hz holding a voiced
 * sound (30 harmonics of 130 Hz, content below 4 kHz). Such a frame is well inside the grid's time-frequency
 * square after a rotation near a = 1, so fast and direct agree closely and energy is kept. The Candan
 * DFRFT, exactly unitary, is a different transform away from a = 1 on such wide signals (printed). */
static void test_speech_like_frame(void) {
    int n = 2048;
    double complex *x = cvec(n), *yf = cvec(n), *yd = cvec(n), *yc = cvec(n);
    double phase[31];
    fill_uniform_d(phase, 31, 77, 0, 2 * M_PI);
    for (int i = 0; i < n; i++) {
        double v = 0;
        for (int h = 1; h <= 30; h++) v += cos(2 * M_PI * h * 130.0 * i / 22050 + phase[h]) / h;
        x[i] = (0.5 - 0.5 * cos(2 * M_PI * i / n)) * v;
    }
    const double as[2] = {0.9, 0.95};
    for (int k = 0; k < 2; k++) {
        CHECK(frft(yf, x, n, as[k]) == 0 && frft_direct(yd, x, n, as[k]) == 0, "frft");
        CHECK(frft_candan(yc, x, n, as[k]) == 0, "candan");
        double e = rel_l2(yf, yd, n), er = energy(yf, n) / energy(x, n);
        printf("measured: speech-like frame N=2048 a=%g: fast vs direct %.1e, energy ratio - 1 %.1e; "
               "candan vs direct %.2f\n", as[k], e, er - 1, rel_l2(yc, yd, n));
        /* measured ~1e-8: both discretise the same continuous transform of a grid-confined signal */
        CHECK(e < 1e-6, "a=%g fast vs direct %.2e", as[k], e);
        CHECK(fabs(er - 1) < 1e-6, "a=%g energy ratio %.8f", as[k], er);
    }
    free(x), free(yf), free(yd), free(yc);
}

/* x = e^{i pi gamma t^2} under a wide Gaussian window: at cot(alpha) = -gamma the kernel's t^2 term
 * cancels the chirp and the FRFT is a narrow peak; at a = 1 (Fourier) it is spread like the chirp. */
static void test_chirp_compaction(void) {
    int n = 1024;
    double gamma = 0.6, width = sqrt((double)n) / 4;
    double a_match = 1 + 2 / M_PI * atan(gamma);
    double complex *x = cvec(n), *y = cvec(n);
    for (int i = 0; i < n; i++) {
        double t = (i - n / 2) / sqrt((double)n);
        x[i] = exp(-M_PI * t * t / (width * width)) * cexp(I * M_PI * gamma * t * t);
    }
    double per[3];
    const double as[3] = {a_match, 1.0, 0.0};
    int peak_at = -1;
    for (int k = 0; k < 3; k++) {
        CHECK(frft(y, x, n, as[k]) == 0, "frft");
        double mx = 0;
        for (int i = 0; i < n; i++) {
            double v = creal(y[i]) * creal(y[i]) + cimag(y[i]) * cimag(y[i]);
            if (v > mx) mx = v, peak_at = k == 0 ? i : peak_at;
        }
        per[k] = mx / energy(y, n);
    }
    printf("measured: chirp gamma=%.1f peak/energy at matching a=%.4f: %.3f, at a=1: %.4f, at a=0: %.4f\n",
           gamma, a_match, per[0], per[1], per[2]);
    CHECK(per[0] > 10 * per[1] && per[0] > 10 * per[2], "no compaction: %g vs %g, %g", per[0], per[1], per[2]);
    CHECK(abs(peak_at - n / 2) <= 1, "peak at %d, expected the centre %d", peak_at, n / 2);
    free(x), free(y);
}

/* Our direct kernel against the numpy one (tools/fixtures_frft.py), N = 16 and 15. */
static void test_numpy_reference(void) {
    const char *po = fixture_path("dsp/frft_orders.npy");
    if (!po) return;
    npy_array orders;
    CHECK(npy_read(po, &orders) == 0 && orders.dtype == NPY_F64 && orders.ndim == 1, "orders: %s",
          avemo_last_error());
    const int sizes[2] = {16, 15};
    double worst_direct = 0, worst_fast_int = 0;
    for (int si = 0; si < 2; si++) {
        int n = sizes[si];
        char rx[64], ry[64];
        snprintf(rx, sizeof rx, "dsp/frft_x_n%d.npy", n);
        snprintf(ry, sizeof ry, "dsp/frft_y_n%d.npy", n);
        const char *px = fixture_path(rx), *py = fixture_path(ry);
        if (!px || !py) break;
        npy_array ax, ay;
        CHECK(npy_read(px, &ax) == 0 && npy_read(py, &ay) == 0, "read: %s", avemo_last_error());
        CHECK(ax.dtype == NPY_F64 && ax.count == 2 * n && ay.dtype == NPY_F64 &&
                  ay.count == 2L * n * orders.count,
              "fixture shapes");
        const double *xd = ax.data, *yd = ay.data, *od = orders.data;
        double complex *x = cvec(n), *y = cvec(n), *ref = cvec(n);
        for (int i = 0; i < n; i++) x[i] = xd[2 * i] + I * xd[2 * i + 1];
        for (int k = 0; k < orders.count; k++) {
            for (int i = 0; i < n; i++) ref[i] = yd[(k * n + i) * 2] + I * yd[(k * n + i) * 2 + 1];
            CHECK(frft_direct(y, x, n, od[k]) == 0, "direct");
            double e = rel_l2(y, ref, n);
            worst_direct = fmax(worst_direct, e);
            CHECK(e < 1e-12, "N=%d a=%g direct vs numpy %.2e", n, od[k], e);
            if (od[k] == floor(od[k])) { /* integer orders: numpy's fftshift(fft(ifftshift)) conventions */
                CHECK(frft(y, x, n, od[k]) == 0, "frft");
                e = rel_l2(y, ref, n);
                worst_fast_int = fmax(worst_fast_int, e);
                CHECK(e < 1e-12, "N=%d a=%g fast vs numpy %.2e", n, od[k], e);
            }
        }
        free(x), free(y), free(ref);
        npy_free(&ax), npy_free(&ay);
    }
    printf("measured: direct kernel vs numpy max %.1e; fast a=1,2,3 vs numpy fft max %.1e\n", worst_direct,
           worst_fast_int);
    npy_free(&orders);
}

/* Candan et al.'s eigenvector DFRFT: exact unitarity and additivity for any signal, F^0.5 F^0.5 equal to
 * the centered DFT (checks the Hermite-order assignment of the eigenvectors), and convergence to the
 * continuous FRFT on Gaussians as N grows (the eigenvectors approach Hermite-Gauss functions). */
static void test_candan(void) {
    const int sizes[7] = {2, 3, 15, 16, 64, 255, 1024};
    double worst_dft = 0, worst_add = 0, worst_energy = 0, worst_inv = 0;
    for (int si = 0; si < 7; si++) {
        int n = sizes[si];
        double complex *x = cvec(n), *y = cvec(n), *z = cvec(n), *w = cvec(n);
        fill_random(x, n, 40 + n);
        frft_plan *half;
        CHECK(frft_candan_plan_create(&half, n, 0.5) == 0, "plan: %s", avemo_last_error());
        if (!half) break;
        CHECK(frft_execute(half, y, x) == 0 && frft_execute(half, z, y) == 0, "execute");
        frft_plan_destroy(half);
        CHECK(frft(w, x, n, 1.0) == 0, "frft");
        worst_dft = fmax(worst_dft, rel_l2(z, w, n));
        for (int k = 0; k < 9; k++) {
            double a = orders9[k], b = orders9[(k + 4) % 9];
            CHECK(frft_candan(y, x, n, a) == 0 && frft_candan(z, y, n, b) == 0, "candan");
            worst_energy = fmax(worst_energy, fabs(energy(y, n) / energy(x, n) - 1));
            CHECK(frft_candan(w, x, n, a + b) == 0, "candan");
            worst_add = fmax(worst_add, rel_l2(z, w, n));
            CHECK(frft_candan(z, y, n, -a) == 0, "candan");
            worst_inv = fmax(worst_inv, rel_l2(z, x, n));
        }
        free(x), free(y), free(z), free(w);
    }
    printf("measured: candan N=2..1024, white noise: F^.5 F^.5 vs centered DFT %.1e, F^a F^b vs F^(a+b) %.1e, "
           "energy %.1e, F^-a F^a vs identity %.1e\n", worst_dft, worst_add, worst_energy, worst_inv);
    /* exact up to rounding in the O(N^2) products and the eigen-decomposition */
    CHECK(worst_dft < 1e-12 && worst_add < 1e-12 && worst_energy < 1e-12 && worst_inv < 1e-12,
          "candan not unitary/additive to rounding");

    const int gsizes[2] = {64, 1024};
    double prev = 1;
    for (int si = 0; si < 2; si++) {
        int n = gsizes[si];
        double complex *x = cvec(n), *y = cvec(n), *ref = cvec(n);
        double worst = 0;
        for (int g = 0; g < 2; g++) {
            gaussian_fill(x, n, gaussians[g]);
            for (int k = 0; k < 9; k++) {
                CHECK(frft_candan(y, x, n, orders9[k]) == 0, "candan");
                gaussian_frft(ref, n, gaussians[g], orders9[k]);
                worst = fmax(worst, rel_l2(y, ref, n));
            }
        }
        printf("measured: candan N=%d vs continuous FRFT of 2 Gaussians x 9 orders: max %.1e\n", n, worst);
        /* a discretisation error that shrinks with N (about 1/N): 1e-2 at 64, ~6e-4 at 1024 */
        CHECK(worst < (n == 64 ? 2e-2 : 2e-3), "N=%d candan vs continuous %.2e", n, worst);
        CHECK(worst < prev, "candan error does not decrease with N");
        prev = worst;
        free(x), free(y), free(ref);
    }
}

static void test_in_place_and_threads(void) {
    int n = 255, rows = 16;
    double complex *x = cvec(n * rows), *serial = cvec(n * rows), *par = cvec(n * rows);
    fill_random(x, n * rows, 11);
    for (int method = 0; method < 2; method++) {
        frft_plan *p;
        int st = method ? frft_candan_plan_create(&p, n, 0.95) : frft_plan_create(&p, n, 0.95);
        CHECK(st == 0, "plan: %s", avemo_last_error());
        if (st) return;
        for (int r = 0; r < rows; r++) CHECK(frft_execute(p, serial + r * n, x + r * n) == 0, "execute");
        memcpy(par, x, sizeof(double complex) * n * rows);
        int fails = 0;
#pragma omp parallel for num_threads(4) reduction(+ : fails)
        for (int r = 0; r < rows; r++) fails += frft_execute(p, par + r * n, par + r * n) != 0; /* in place */
        CHECK(fails == 0, "execute failed on a thread");
        CHECK(memcmp(serial, par, sizeof(double complex) * n * rows) == 0, "method %d: threaded in-place differs",
              method);
        frft_plan_destroy(p);
    }
    free(x), free(serial), free(par);
}

static void test_bad_arguments(void) {
    double complex x[4] = {1, 2, 3, 4}, y[4];
    frft_plan *p;
    CHECK(frft_plan_create(&p, 1, 0.5) == AVEMO_EINVAL && p == NULL, "n=1 accepted");
    CHECK(frft_plan_create(&p, 4, NAN) == AVEMO_EINVAL, "NaN order accepted");
    CHECK(frft_direct(y, x, 1, 0.5) == AVEMO_EINVAL, "direct n=1 accepted");
    CHECK(frft(y, x, 2, 0.5) == 0, "n=2: %s", avemo_last_error());
}

int main(void) {
    RUN(test_integer_orders);
    RUN(test_fast_vs_continuous);
    RUN(test_fast_vs_direct);
    RUN(test_random_signals);
    RUN(test_energy_and_additivity);
    RUN(test_speech_like_frame);
    RUN(test_chirp_compaction);
    RUN(test_numpy_reference);
    RUN(test_candan);
    RUN(test_in_place_and_threads);
    RUN(test_bad_arguments);
    return test_summary();
}
