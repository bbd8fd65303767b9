/* Load cached features for a set of samples into packed float buffers, and standardise them.
 *
 *   audio  [N, F, C] channels-last (the nn layers' layout): the cache's [C, F] per sample, transposed
 *   video  [N, T, D] from the cached backbone embeddings (feats/)
 *   faces  one sample at a time (uint8 [T, H, W(, 3)]) for the fine-tuning path, which streams batches
 *
 * Standardisation (spec 3.6, ours): per coefficient c, x' = (x - mean_c) / std_c with the mean and the
 * population std over the TRAINING fold's samples and frames only; a coefficient with std < 1e-8 keeps
 * std = 1 (nothing to scale). The statistics go into the checkpoint so inference applies the same.
 */
#ifndef AVEMO_DATA_LOADER_H
#define AVEMO_DATA_LOADER_H
#include "data/cache.h"

#include <stdint.h>

typedef struct {
    int n;
    int *index;  /* [n] cache sample index of each row */
    int *labels; /* [n] */
    int *actors; /* [n] */
    int audio_frames, audio_coeffs; /* F, C */
    float *audio;                   /* [n, F, C] or NULL when not asked */
    int video_frames, video_dim;    /* T, D */
    float *video;                   /* [n, T, D] or NULL when not asked */
} cache_set;

/* Load rows idx[0..n) (cache sample indices) with the kinds in `kinds_mask` (CACHE_BIT(CACHE_AUDIO) |
 * CACHE_BIT(CACHE_FEATS)). Every sample must be done for those kinds (filter first with
 * cache_filter_indices), all must share one shape, and every file must match the hash index.json records for it
 * and hold only finite values (cache_verify_array); else an error naming the file. Parallel (OpenMP). */
int cache_load_set(const feature_cache *c, const int *idx, int n, unsigned kinds_mask, cache_set *out);
void cache_set_free(cache_set *s);
/* Rows of src appended to dst (the same kinds and shapes, or dst empty); src is left as it was. */
int cache_set_append(cache_set *dst, const cache_set *src);

/* One sample's face crops: a malloc'd uint8 [T, H, W] (channels 1) or [T, H, W, 3], checked against the index's
 * hash. */
int cache_load_faces(const feature_cache *c, int i, uint8_t **faces, int *frames, int *height, int *width,
                     int *channels);

/* Per-column mean and population std of x [rows, C] (double accumulation). */
void feature_stats(const float *x, long rows, int C, float *mean, float *std);
/* x [rows, C] <- (x - mean) / std, column-wise. */
void feature_standardize(float *x, long rows, int C, const float *mean, const float *std);

#endif
