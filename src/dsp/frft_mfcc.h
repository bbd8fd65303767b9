/* FRFT-MFCC (spec 3.5): the MFCC of dsp/mfcc.h with each windowed frame's power spectrum |FFT|^2 replaced
 * by |FRFT_a(frame)|^2, mapped onto the FFT's bin order and scale so that a = 1 gives the MFCC exactly.
 *
 * Mapping: the frame's sample i sits at t_i = (i - N/2) / sqrt(N) (dsp/frft.h's grid, N = n_fft). At a = 1
 * FRFT = fftshift(fft(ifftshift(x))) / sqrt(N), so |FFT_k|^2 = N |Y_{(k + N/2) mod N}|^2; the same map is
 * used for every order: power[k] = N |FRFT_a(frame)_{(k + N/2) mod N}|^2, k = 0..N/2.
 * Several orders stack as channels: out [orders * n_mfcc, frames], order j in rows j*n_mfcc ..
 * (j+1)*n_mfcc - 1; each order's dB scale (top_db clipping) is relative to its own maximum.
 */
#ifndef AVEMO_DSP_FRFT_MFCC_H
#define AVEMO_DSP_FRFT_MFCC_H
#include "dsp/mfcc.h"

#define AVEMO_FRFT_ORDER_DEFAULT 0.95 /* ours: the paper gives none */
#define AVEMO_FRFT_MFCC_MAX_ORDERS 64

typedef struct frft_mfcc frft_mfcc;

/* Plans the FRFTs of length c->n_fft for each order. The context is read-only afterwards: one may serve
 * several threads at once. */
int frft_mfcc_create(frft_mfcc **f, const mfcc_config *c, const double *orders, int n_orders);
/* Output rows: n_orders * n_mfcc. */
int frft_mfcc_channels(const frft_mfcc *f);
/* out [n_orders * n_mfcc, mfcc_frames(c, n)] = FRFT-MFCC of x [n]. */
int frft_mfcc_forward(const frft_mfcc *f, const float *x, long n, float *out);
void frft_mfcc_destroy(frft_mfcc *f);

#endif
