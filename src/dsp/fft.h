/* FFTW3 wrapper: power spectra of real frames (the STFT behind the MFCC, spec 3.3).
 *
 * Double precision throughout (fftw3, not fftw3f) so our error against librosa is far below librosa's own
 * float32 rounding. Plans are made once per length with FFTW_ESTIMATE (deterministic: the same algorithm,
 * so the same rounding, on every run) under the process-wide planner lock below, cached, and reused;
 * executing one from several threads at once is safe (FFTW's new-array execute).
 */
#ifndef AVEMO_DSP_FFT_H
#define AVEMO_DSP_FFT_H

typedef struct fft_real_plan fft_real_plan;

/* The cached plan for real frames of length n (n >= 2, even). Valid until the process exits. */
int fft_real_plan_get(int n, const fft_real_plan **plan);

/* power [n/2 + 1] = |X_k|^2, X_k = sum_j x_j exp(-2 pi i j k / n), k = 0..n/2 (numpy.fft.rfft convention,
 * no scaling). x [n] is not modified; scratch holds 2 * (n/2 + 1) doubles (any alignment). */
void fft_power(const fft_real_plan *plan, const double *x, double *power, double *scratch);

/* FFTW's planner (fftw_plan_*, fftw_destroy_plan) is not thread-safe and is shared by the whole process:
 * every avemo file that makes FFTW plans takes this lock around those calls. */
void fft_planner_lock(void);
void fft_planner_unlock(void);

#endif
