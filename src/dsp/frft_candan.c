/* Eigenvector discrete FRFT: Candan, Kutay & Ozaktas, "The discrete fractional Fourier transform", IEEE
 * Trans. Signal Process. 48(5), 2000 (their dFRT.m, second-order S).
 *
 * S = circulant second difference + diag(2 cos(2 pi k / N) - 2) commutes with the unitary DFT, so its
 * eigenvectors are DFT eigenvectors; sorted by decreasing eigenvalue they play the role of the Hermite-Gauss
 * functions of orders k = 0, 1, ..., N-2 and then N-1 (odd N) or N (even N). Then
 *   F^a = V diag(e^{-i pi a k / 2}) V^T,
 * exactly unitary, index-additive, with F^1 the DFT. Every eigenvector is even or odd (x[k] = +-x[N-k]):
 * the orthogonal change of basis P (sums and differences of x[k] and x[N-k], over sqrt 2) makes P S P^T
 * two symmetric tridiagonal blocks, even (N/2 + 1) and odd (N - N/2 - 1), solved with LAPACK dstevd.
 * The even block's eigenvectors in decreasing eigenvalue order have k = 0, 2, 4, ...; the odd block's
 * k = 1, 3, 5, ... (which gives N rather than N-1 as the last order for even N, as in the paper).
 */
#include "dsp/frft_candan.h"

#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK (OpenBLAS): symmetric tridiagonal eigen-decomposition, divide and conquer. The trailing size_t
 * is the Fortran hidden length of jobz. */
extern void dstevd_(const char *jobz, const int *n, double *d, double *e, double *z, const int *ldz,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t jobz_len);

struct candan_dfrft {
    int n, ne, no;               /* ne = N/2 + 1 even and no = N - ne odd eigenvectors */
    double *ev;                  /* [ne][ne] row c: even eigenvector of order k = 2c, even coordinates */
    double *od;                  /* [no][no] row c: odd eigenvector of order k = 2c + 1, odd coordinates */
    double complex *ph_e, *ph_o; /* [ne], [no] e^{-i pi a k / 2} */
};

/* Block coordinates. Even k in [0, ne): k = 0 and (even N) k = N/2 are x[k] itself, otherwise
 * (x[k] + x[N-k]) / sqrt 2. Odd j in [0, no): m = j + 1, (x[m] - x[N-m]) / sqrt 2. */
typedef struct {
    int idx[2];
    double w[2];
    int len;
} prow;

static prow even_row(int n, int k) {
    prow r = {{k, n - k}, {M_SQRT1_2, M_SQRT1_2}, 2};
    if (k == 0 || 2 * k == n) r.len = 1, r.w[0] = 1.0;
    return r;
}

static prow odd_row(int n, int j) {
    prow r = {{j + 1, n - j - 1}, {M_SQRT1_2, -M_SQRT1_2}, 2};
    return r;
}

/* S[k][l]: circulant second difference (with wrap; for N = 2 both neighbours are the same index) plus
 * the diagonal 2 cos(2 pi k / N) - 2. */
static double s_entry(int n, int k, int l) {
    double v = 0;
    if (k == l) v += 2 * cos(2 * M_PI * k / n) - 4;
    if (l == (k + 1) % n) v += 1;
    if (l == (k - 1 + n) % n) v += 1;
    return v;
}

static double ps_pt(int n, prow a, prow b) {
    double v = 0;
    for (int i = 0; i < a.len; i++)
        for (int j = 0; j < b.len; j++) v += a.w[i] * b.w[j] * s_entry(n, a.idx[i], b.idx[j]);
    return v;
}

/* rows [m][m] = eigenvectors of the m x m block, in decreasing eigenvalue order. */
static int block_eigenvectors(int n, int m, int odd, double *rows) {
    if (m == 0) return AVEMO_OK;
    double *d = malloc(sizeof(double) * (size_t)m), *e = malloc(sizeof(double) * (size_t)(m > 1 ? m : 1));
    double *z = malloc(sizeof(double) * (size_t)m * m);
    int lwork = 1 + 4 * m + m * m, liwork = 3 + 5 * m, info = 0, ldz = m;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    int *iwork = malloc(sizeof(int) * (size_t)liwork);
    int rc = AVEMO_OK;
    if (!d || !e || !z || !work || !iwork) {
        rc = avemo_error(AVEMO_ENOMEM, "frft candan: out of memory for N = %d", n);
        goto done;
    }
    for (int i = 0; i < m; i++) {
        prow a = odd ? odd_row(n, i) : even_row(n, i);
        d[i] = ps_pt(n, a, a);
        if (i + 1 < m) e[i] = ps_pt(n, a, odd ? odd_row(n, i + 1) : even_row(n, i + 1));
    }
    dstevd_("V", &m, d, e, z, &ldz, work, &lwork, iwork, &liwork, &info, 1);
    if (info != 0) {
        rc = avemo_error(AVEMO_EINTERNAL, "frft candan: LAPACK dstevd failed (info %d) for N = %d", info, n);
        goto done;
    }
    for (int c = 0; c < m; c++) /* LAPACK: ascending eigenvalues, eigenvectors in columns */
        memcpy(rows + (size_t)c * m, z + (size_t)(m - 1 - c) * m, sizeof(double) * (size_t)m);
done:
    free(d), free(e), free(z), free(work), free(iwork);
    return rc;
}

void candan_dfrft_destroy(candan_dfrft *c) {
    if (!c) return;
    free(c->ev), free(c->od), free(c->ph_e), free(c->ph_o);
    free(c);
}

int candan_dfrft_create(candan_dfrft **out, int n, double a) {
    *out = NULL;
    candan_dfrft *c = calloc(1, sizeof *c);
    if (!c) return avemo_error(AVEMO_ENOMEM, "frft candan: out of memory");
    c->n = n;
    c->ne = n / 2 + 1;
    c->no = n - c->ne;
    c->ev = malloc(sizeof(double) * (size_t)c->ne * c->ne);
    c->od = malloc(sizeof(double) * (size_t)(c->no > 0 ? c->no * c->no : 1));
    c->ph_e = malloc(sizeof(double complex) * (size_t)c->ne);
    c->ph_o = malloc(sizeof(double complex) * (size_t)(c->no > 0 ? c->no : 1));
    if (!c->ev || !c->od || !c->ph_e || !c->ph_o) {
        candan_dfrft_destroy(c);
        return avemo_error(AVEMO_ENOMEM, "frft candan: out of memory for N = %d", n);
    }
    int rc = block_eigenvectors(n, c->ne, 0, c->ev);
    if (!rc) rc = block_eigenvectors(n, c->no, 1, c->od);
    if (rc) {
        candan_dfrft_destroy(c);
        return rc;
    }
    /* e^{-i pi a k / 2} with k a * k reduced mod 4 first, for accuracy at large k */
    for (int i = 0; i < c->ne; i++) c->ph_e[i] = cexp(-I * M_PI / 2 * fmod(a * (2.0 * i), 4.0));
    for (int i = 0; i < c->no; i++) c->ph_o[i] = cexp(-I * M_PI / 2 * fmod(a * (2.0 * i + 1), 4.0));
    *out = c;
    return AVEMO_OK;
}

long candan_dfrft_work_size(const candan_dfrft *c) { return 4L * c->n + 2L * c->ne; }

/* out [m] complex (re, im split) = rows^T diag(ph) rows in [m]: coefficients, phases, back. */
static void block_apply(const double *rows, const double complex *ph, int m, const double *inr, const double *ini,
                        double *outr, double *outi, double *cr, double *ci) {
    for (int c = 0; c < m; c++) {
        const double *v = rows + (size_t)c * m;
        double sr = 0, si = 0;
#pragma omp simd reduction(+ : sr, si)
        for (int k = 0; k < m; k++) sr += v[k] * inr[k], si += v[k] * ini[k];
        double complex z = (sr + I * si) * ph[c];
        cr[c] = creal(z), ci[c] = cimag(z);
    }
    memset(outr, 0, sizeof(double) * (size_t)m);
    memset(outi, 0, sizeof(double) * (size_t)m);
    for (int c = 0; c < m; c++) {
        const double *v = rows + (size_t)c * m;
        double r = cr[c], i = ci[c];
#pragma omp simd
        for (int k = 0; k < m; k++) outr[k] += r * v[k], outi[k] += i * v[k];
    }
}

void candan_dfrft_apply(const candan_dfrft *c, double complex *y, const double complex *x, double *work) {
    int n = c->n;
    /* work: block input re/im [n] (even then odd coordinates), block output re/im [n], coefficients [2 ne] */
    double *zr = work, *zi = work + n, *cr = work + 2 * n, *ci = cr + c->ne;
    double *outr = ci + c->ne, *outi = outr + n;
    for (int k = 0; k < c->ne; k++) {
        prow p = even_row(n, k);
        double complex v = 0;
        for (int t = 0; t < p.len; t++) v += p.w[t] * x[p.idx[t]];
        zr[k] = creal(v), zi[k] = cimag(v);
    }
    for (int j = 0; j < c->no; j++) {
        prow p = odd_row(n, j);
        double complex v = p.w[0] * x[p.idx[0]] + p.w[1] * x[p.idx[1]];
        zr[c->ne + j] = creal(v), zi[c->ne + j] = cimag(v);
    }
    block_apply(c->ev, c->ph_e, c->ne, zr, zi, outr, outi, cr, ci);
    if (c->no) block_apply(c->od, c->ph_o, c->no, zr + c->ne, zi + c->ne, outr + c->ne, outi + c->ne, cr, ci);
    /* back: y = P^T z' */
    for (int k = 0; k < n; k++) y[k] = 0;
    for (int k = 0; k < c->ne; k++) {
        prow p = even_row(n, k);
        for (int t = 0; t < p.len; t++) y[p.idx[t]] += p.w[t] * (outr[k] + I * outi[k]);
    }
    for (int j = 0; j < c->no; j++) {
        prow p = odd_row(n, j);
        for (int t = 0; t < 2; t++) y[p.idx[t]] += p.w[t] * (outr[c->ne + j] + I * outi[c->ne + j]);
    }
}
