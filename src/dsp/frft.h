/* Fractional Fourier Transform of order a (rotation angle alpha = a * pi / 2), the paper's eq. (1)-(3).
 *
 * Discretisation (spec 3.4): samples on the grid t_n = (n - N/2) / sqrt(N), n = 0..N-1, output on the same
 * grid; kernel A exp(i pi (cot(alpha) u^2 - 2 csc(alpha) u t + cot(alpha) t^2)), A = sqrt(1 - i cot(alpha)),
 * sum times 1/sqrt(N). a = 0: identity; a = 1: fftshift(fft(ifftshift(x))) / sqrt(N); a = 2: x(-t).
 * N/2 is rounded down for odd N (what makes a = 1 that numpy expression); a = 2 maps index n to
 * (2*(N/2) - n) mod N, i.e. (N - n) mod N for even N, N - 1 - n for odd N (the centered DFT applied twice).
 */
#ifndef AVEMO_DSP_FRFT_H
#define AVEMO_DSP_FRFT_H
#include <complex.h>

typedef struct frft_plan frft_plan;

/* Fast O(N log N) algorithm of Ozaktas, Arikan, Kutay & Bozdagi (1996) for any real order and any N >= 2.
 * A plan holds the chirps and FFT plans for one (n, order); executing it is thread-safe (plan creation is
 * serialized internally). It matches the continuous FRFT to ~1e-14 for signals that stay inside the grid's
 * time-frequency square when rotated (Gaussians, windowed band-limited frames); broadband signals such as
 * white noise lose what rotates out of the square (2-15% of the energy), so it is not unitary on them. */
int frft_plan_create(frft_plan **plan, int n, double order);
/* y [n] = FRFT_order(x [n]); y may equal x. */
int frft_execute(const frft_plan *plan, double complex *y, const double complex *x);
void frft_plan_destroy(frft_plan *plan);
/* One-shot convenience. */
int frft(double complex *y, const double complex *x, int n, double order);

/* Direct O(N^2) evaluation of the discretised kernel above (test reference; special-cased near integer
 * orders where the kernel degenerates). Being a Riemann sum, its output at u also holds the transform at
 * u +- sqrt(N) sin(alpha): for |sin alpha| < 1/2 (a within 1/3 of an even integer) that alias lies on the
 * grid whatever N, so there it is no reference; the fast algorithm has no such limit. */
int frft_direct(double complex *y, const double complex *x, int n, double order);

/* Exactly unitary eigenvector DFRFT (Candan, Kutay & Ozaktas 2000; spec 3.4 `--frft-method candan`, ours):
 * F^a = V diag(e^{-i pi a k/2}) V^T with V the eigenvectors of the matrix commuting with the centered DFT.
 * Unitary and index-additive for every signal, a = 1 the centered DFT. It approaches the continuous FRFT
 * only for signals concentrated near the time-frequency origin (Gaussians: error ~1/N); on wide signals,
 * e.g. a windowed voiced frame, it is a different transform (relative difference ~0.6 at a = 0.95, N = 2048).
 * O(N^2) per transform after a LAPACK eigen-decomposition at plan time (N <= 65536). Integer orders are exact
 * as in frft_plan_create. Run with frft_execute, free with frft_plan_destroy. */
int frft_candan_plan_create(frft_plan **plan, int n, double order);
int frft_candan(double complex *y, const double complex *x, int n, double order);

#endif
