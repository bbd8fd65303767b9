/* MFCC exactly as librosa 0.10 `librosa.feature.mfcc(y=y, sr=22050, n_mfcc=10)` computes it (spec 3.3):
 *
 *   frames   center=True: n_fft/2 samples of padding each side (zeros: librosa 0.10's pad_mode='constant';
 *            or np.pad 'reflect', librosa < 0.9 and the baseline), frame t starts at t * hop in the padded
 *            signal; frames = 1 + n / hop (156 for 79,380 samples)
 *   window   periodic Hann, w[i] = 0.5 - 0.5 cos(2 pi i / n_fft) (scipy get_window('hann', fftbins=True))
 *   power    S[f, t] = |rfft(w * frame_t)[f]|^2, f = 0..n_fft/2 (the spectrum is pluggable: FRFT-MFCC)
 *   mel      M = mel_basis @ S, librosa.filters.mel(sr, n_fft, n_mels=128, fmin=0, fmax=sr/2, htk=False,
 *            norm='slaney'): Slaney mel scale, triangles with area normalisation 2 / (f[m+2] - f[m])
 *   dB       L = 10 log10(max(M, 1e-10)) - 10 log10(max(ref=1, 1e-10)); L = max(L, max(L) - top_db)
 *            (librosa.power_to_db; the max is over the whole clip)
 *   DCT      C[k, t] = DCT-II of L[:, t] with orthonormal scaling (scipy.fftpack.dct(type=2, norm='ortho')),
 *            k < n_mfcc
 *
 * Computed in double, returned as float32. All functions are thread-safe (the filterbank and FFT plans are
 * made once under a lock and cached).
 */
#ifndef AVEMO_DSP_MFCC_H
#define AVEMO_DSP_MFCC_H
#include <stddef.h>

#define AVEMO_MFCC_N_MFCC 10 /* the baseline's n_mfcc */

typedef enum { MFCC_PAD_CONSTANT = 0, MFCC_PAD_REFLECT = 1 } mfcc_pad_mode;

typedef struct {
    int sample_rate_hz; /* 22050 */
    int n_fft;          /* 2048 (even) */
    int hop_samples;    /* 512 */
    int n_mels;         /* 128 */
    int n_mfcc;         /* 10 (<= n_mels) */
    double fmin_hz;     /* 0 */
    double fmax_hz;     /* 0 means sr / 2 */
    double top_db;      /* 80; <= 0 disables the clipping (librosa top_db=None) */
    mfcc_pad_mode pad_mode;
} mfcc_config;

void mfcc_config_default(mfcc_config *c);
/* Checks the fields; returns AVEMO_EINVAL with a message naming the bad one. */
int mfcc_config_check(const mfcc_config *c);
/* Number of STFT frames for n samples: 1 + n / hop (center=True). */
long mfcc_frames(const mfcc_config *c, long n_samples);

/* out [n_mfcc, frames] = MFCC of x [n]. */
int mfcc_forward(const mfcc_config *c, const float *x, long n, float *out);

/* The pipeline with another per-frame power spectrum: fn(ctx, frame [n_fft] windowed, power [n_fft/2+1],
 * scratch [scratch_doubles]) must return 0 or an avemo_status. mfcc_forward uses |rfft|^2. */
typedef int (*mfcc_spectrum_fn)(void *ctx, const double *frame, double *power, double *scratch);
int mfcc_forward_spectrum(const mfcc_config *c, mfcc_spectrum_fn fn, void *ctx, size_t scratch_doubles,
                          const float *x, long n, float *out);

#endif
