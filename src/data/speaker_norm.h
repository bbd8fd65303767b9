/* Per-speaker feature standardisation (ours, issue 13): each speaker's features are standardised with that
 * speaker's own statistics, computed from the speaker's clips without their labels, so that what is left is
 * how a clip differs from the speaker's usual voice (pitch range, timbre and recording level removed).
 *
 *   mean_c, std_c   over every frame of every clip of the speaker, per coefficient c (population std, double
 *                   accumulation; std < 1e-8 keeps std = 1, as data/loader.h's feature_stats)
 *   x' = (x - mean_c) / std_c
 *
 * Training and evaluation take the statistics of each actor from that actor's clips in the cache; predict from
 * the files given in one call that share a speaker. Features are the loader's layout: [n clips, F frames, C]. */
#ifndef AVEMO_DATA_SPEAKER_NORM_H
#define AVEMO_DATA_SPEAKER_NORM_H

/* mean [C], std [C] over the clips rows[0..n_rows) of x [*, frames, C]. */
void speaker_stats(const float *x, const int *rows, int n_rows, long frames, int C, float *mean, float *std);

/* How many clips fed one speaker's statistics. */
typedef struct {
    int speaker;
    int n_clips;
} speaker_count;

/* Standardise every clip of x [n, frames, C] with the statistics of its speaker (speakers [n]: any int id).
 * counts (cap entries, may be NULL) gets one entry per distinct speaker in order of first appearance and
 * *n_speakers their number (entries beyond cap are counted, not stored). AVEMO_ENOMEM on allocation failure. */
int speaker_standardize(float *x, int n, long frames, int C, const int *speakers, speaker_count *counts, int cap,
                        int *n_speakers);

/* "actor 1: 60 clips, actor 2: 60 clips, ..." (at most cap bytes, truncated with "..."). */
void speaker_counts_format(const speaker_count *counts, int n, const char *what, char *buf, unsigned long cap);

#endif
