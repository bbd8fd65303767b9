/* Audio feature augmentations for training (spec 5 "random time shift and SpecAugment-style masking", ours;
 * issue 13), applied to a batch of standardised features x [n, F, C] (the loader's channels-last layout), each
 * clip with its own draws from one seeded stream (so a resumed run draws the same). All off by default.
 *
 *   time_shift S   roll the clip's frames by a uniform integer in [-S, S] (circular, as torch.roll)
 *   time_mask W    SpecAugment time mask: frames [t0, t0 + w) set to 0 (the training mean), w uniform in [0, W]
 *   freq_mask W    SpecAugment coefficient mask: channels [c0, c0 + w) set to 0, w uniform in [0, W]
 *   noise s        add s * N(0, 1) to every value (x is standardised: s is in standard deviations)
 *   speed r        tempo perturbation: the time axis resampled by a factor uniform in [1 - r, 1 + r] (linear
 *                  interpolation as torch's F.interpolate(mode='linear', align_corners=False)), then centre
 *                  cropped or zero padded back to F frames
 *   mixup a        (applied by the trainer, see audio_augment_mixup_lambda): pairs of the batch mixed with
 *                  lambda ~ Beta(a, a), the loss mixed with the same lambda
 * Order per clip: speed, time shift, noise, masks. */
#ifndef AVEMO_TRAIN_AUGMENT_H
#define AVEMO_TRAIN_AUGMENT_H
#include "core/rng.h"

typedef struct {
    int time_shift, time_mask, freq_mask;
    float noise, speed, mixup;
} audio_augment;

/* 1 when any per-clip augmentation is on (mixup excluded). */
int audio_augment_any(const audio_augment *a);
/* x [n, F, C] in place; scratch [F * C] floats. */
void audio_augment_batch(const audio_augment *a, float *x, int n, int F, int C, float *scratch, rng_t *rng);
/* A draw of Beta(alpha, alpha) (Marsaglia-Tsang gammas), alpha > 0. */
double audio_augment_mixup_lambda(double alpha, rng_t *rng);

#endif
