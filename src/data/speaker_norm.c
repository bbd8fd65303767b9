#include "data/speaker_norm.h"

#include "core/err.h"
#include "data/loader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STD_FLOOR 1e-8 /* as data/loader.c */

void speaker_stats(const float *x, const int *rows, int n_rows, long frames, int C, float *mean, float *std) {
    double *s = calloc(2 * (size_t)C, sizeof *s);
    if (!s) { /* cannot happen for sane C: identity statistics, as feature_stats */
        for (int c = 0; c < C; c++) mean[c] = 0, std[c] = 1;
        return;
    }
    double *ss = s + C, count = (double)n_rows * frames;
    for (int i = 0; i < n_rows; i++) {
        const float *clip = x + (long)rows[i] * frames * C;
        for (long t = 0; t < frames; t++)
            for (int c = 0; c < C; c++) s[c] += clip[t * C + c];
    }
    for (int c = 0; c < C; c++) s[c] = count > 0 ? s[c] / count : 0;
    for (int i = 0; i < n_rows; i++) { /* two passes, as feature_stats */
        const float *clip = x + (long)rows[i] * frames * C;
        for (long t = 0; t < frames; t++)
            for (int c = 0; c < C; c++) {
                double d = clip[t * C + c] - s[c];
                ss[c] += d * d;
            }
    }
    for (int c = 0; c < C; c++) {
        double sd = count > 0 ? sqrt(ss[c] / count) : 0;
        mean[c] = (float)s[c];
        std[c] = sd < STD_FLOOR ? 1.0f : (float)sd;
    }
    free(s);
}

int speaker_standardize(float *x, int n, long frames, int C, const int *speakers, speaker_count *counts, int cap,
                        int *n_speakers) {
    int *rows = malloc(((size_t)n + 1) * sizeof *rows), *done = calloc((size_t)n + 1, sizeof *done);
    float *mean = malloc((size_t)C * sizeof *mean), *std = malloc((size_t)C * sizeof *std);
    int rc = AVEMO_OK, found = 0;
    if (!rows || !done || !mean || !std) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory for speaker statistics");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (done[i]) continue;
        int k = 0;
        for (int j = i; j < n; j++)
            if (!done[j] && speakers[j] == speakers[i]) rows[k++] = j, done[j] = 1;
        speaker_stats(x, rows, k, frames, C, mean, std);
        for (int r = 0; r < k; r++) feature_standardize(x + (long)rows[r] * frames * C, frames, C, mean, std);
        if (counts && found < cap) counts[found] = (speaker_count){speakers[i], k};
        found++;
    }
out:
    if (n_speakers) *n_speakers = found;
    free(rows);
    free(done);
    free(mean);
    free(std);
    return rc;
}

void speaker_counts_format(const speaker_count *counts, int n, const char *what, char *buf, unsigned long cap) {
    size_t len = 0;
    if (cap) buf[0] = 0;
    for (int i = 0; i < n && cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s %d: %d clip%s", i ? ", " : "", what, counts[i].speaker,
                         counts[i].n_clips, counts[i].n_clips == 1 ? "" : "s");
        if (w < 0 || (size_t)w >= cap - len) { /* truncated: end with "..." */
            if (cap > 4) memcpy(buf + cap - 4, "...", 4);
            return;
        }
        len += (size_t)w;
    }
}
