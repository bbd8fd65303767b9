/* Pitch track by YIN (de Cheveigne & Kawahara, "YIN, a fundamental frequency estimator for speech and music",
 * JASA 2002), one value per STFT frame of dsp/mfcc.h (center=True: zero padding of frame/2 each side, frame t
 * starting at t * hop), so that the track lines up with the MFCC columns (ours, issue 13: prosody for the voice
 * stream).
 *
 * Per frame x[0..frame) (W = frame / 2, the integration window):
 *   d(tau)  = sum_{j<W} (x[j] - x[j+tau])^2                                 difference function (step 2)
 *   d'(tau) = d(tau) tau / sum_{k=1..tau} d(k), d'(0) = 1                   cumulative mean normalised (step 3)
 *   tau     = in [sr/fmax, sr/fmin]: the first tau with d' < threshold, then down to its local minimum
 *             (step 4); none below the threshold: the global minimum of the range
 *   refine  parabolic interpolation of d' at tau-1, tau, tau+1 (step 5)
 *   f0      = sr / tau_refined (Hz), aperiodicity = d'(tau) (voiced when below the threshold)
 * sr/fmin + W must fit in the frame. Computed in double. */
#ifndef AVEMO_DSP_PITCH_H
#define AVEMO_DSP_PITCH_H

typedef struct {
    int sample_rate_hz;
    int frame, hop;       /* the STFT's n_fft and hop (2048, 512) */
    double fmin_hz, fmax_hz; /* 60, 500 */
    double threshold;     /* 0.15 */
} yin_config;

/* 22,050 Hz, frame 2048, hop 512, 60-500 Hz, threshold 0.15 */
void yin_config_default(yin_config *c);
int yin_config_check(const yin_config *c);
/* f0_hz [frames], aperiodicity [frames] of x [n]; frames = 1 + n / hop. */
int yin_track(const yin_config *c, const float *x, long n, float *f0_hz, float *aperiodicity);

/* The voice stream's two pitch rows from a track: row 0 log2(f0 / 100 Hz) where voiced (aperiodicity < threshold),
 * else 0; row 1 the periodicity 1 - aperiodicity clipped to [0, 1]. out [2, frames]. */
void yin_pitch_rows(const yin_config *c, const float *f0_hz, const float *aperiodicity, long frames, float *out);

#endif
