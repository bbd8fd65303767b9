/* Time derivatives of feature rows, as librosa 0.10's `librosa.feature.delta(data, width=9, order, axis=-1,
 * mode='interp')` computes them: scipy.signal.savgol_filter(row, 9, deriv=order, polyorder=order, mode='interp').
 *
 *   order 1   d[t] = sum_{k=-4..4} k x[t+k] / 60                      (the least-squares slope over 9 frames)
 *   order 2   d[t] = 2 sum_{k=-4..4} (k^2 - 20/3) x[t+k] / 308        (twice the fitted quadratic's k^2 term)
 *   edges     mode 'interp' fits the polynomial to the first (last) 9 frames and takes its derivative there:
 *             for these orders a constant, so frames 0..3 repeat frame 4's value and the last 4 frame F-5's
 *
 * (Checked against scipy in tests/dsp/test_deltas.c.) Computed in double, returned as float. */
#ifndef AVEMO_DSP_DELTAS_H
#define AVEMO_DSP_DELTAS_H

#define DELTA_WIDTH 9 /* librosa's default */

/* out [rows, frames] = the order-th delta of x [rows, frames]; order 1 or 2; frames >= DELTA_WIDTH. AVEMO_EINVAL
 * otherwise. out may not alias x. */
int feature_deltas(const float *x, int rows, int frames, int order, float *out);

#endif
