/* Internal to dsp/: the eigenvector DFRFT of Candan, Kutay & Ozaktas (2000) behind frft_candan_plan_create
 * (public API in dsp/frft.h). Acts on the uncentered DFT index (frft.c does the ifftshift / fftshift). */
#ifndef AVEMO_DSP_FRFT_CANDAN_H
#define AVEMO_DSP_FRFT_CANDAN_H
#include <complex.h>

typedef struct candan_dfrft candan_dfrft;

/* Eigen-decomposition for length n >= 2 and the eigenvalue phases of order a. */
int candan_dfrft_create(candan_dfrft **c, int n, double a);
/* y [n] = V diag(e^{-i pi a k / 2}) V^T x; y may equal x. work: candan_dfrft_work_size(c) doubles. */
void candan_dfrft_apply(const candan_dfrft *c, double complex *y, const double complex *x, double *work);
long candan_dfrft_work_size(const candan_dfrft *c);
void candan_dfrft_destroy(candan_dfrft *c);

#endif
