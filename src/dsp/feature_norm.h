/* Per-coefficient standardisation of audio features (spec 3.6, ours): the training fold's mean and standard
 * deviation of each channel (coefficient) over all its clips and frames, applied to every split. The
 * statistics travel in the checkpoint (model side); this file only computes and applies them. */
#ifndef AVEMO_DSP_FEATURE_NORM_H
#define AVEMO_DSP_FEATURE_NORM_H

/* Below this a channel's standard deviation is taken as 1 (a constant channel is only centred). */
#define AVEMO_FEATURE_STD_FLOOR 1e-6

/* x [n, channels, frames] -> mean [channels], std [channels]: the population statistics (ddof 0, like
 * numpy's default) over the n * frames values of each channel, accumulated in double (two passes). */
int feature_stats(const float *x, long n, int channels, long frames, float *mean, float *std);

/* x [n, channels, frames] in place: (x - mean[c]) / std[c], with std below AVEMO_FEATURE_STD_FLOOR taken as 1. */
void feature_standardize(float *x, long n, int channels, long frames, const float *mean, const float *std);

#endif
