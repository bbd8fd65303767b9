/* Tests for src/data/speaker_norm.c: each speaker's clips standardised with that speaker's own statistics,
 * against a float64 computation of the same formula; counts per speaker; a constant coefficient keeps std 1. */
#include "test.h"

#include "avemo.h"
#include "data/speaker_norm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 7, F = 5, C = 3 };

static void test_per_speaker(void) {
    /* speakers 4, 9, 4, 2, 9, 4, 2: each with its own offset and scale, coefficient 2 constant for speaker 2 */
    const int speakers[N] = {4, 9, 4, 2, 9, 4, 2};
    float x[N * F * C], ref[N * F * C];
    fill_uniform_f(x, N * F * C, 3, -1, 1);
    for (int i = 0; i < N; i++)
        for (int t = 0; t < F; t++)
            for (int c = 0; c < C; c++) {
                float *v = &x[(i * F + t) * C + c];
                *v = *v * (1 + speakers[i]) + 10 * speakers[i] + c;
                if (speakers[i] == 2 && c == 2) *v = 7;
            }
    /* float64 reference: mean and population std over the speaker's clips and frames */
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
            double s = 0, ss = 0;
            int n = 0;
            for (int j = 0; j < N; j++)
                if (speakers[j] == speakers[i])
                    for (int t = 0; t < F; t++) s += x[(j * F + t) * C + c], n++;
            double mean = s / n;
            for (int j = 0; j < N; j++)
                if (speakers[j] == speakers[i])
                    for (int t = 0; t < F; t++) ss += pow(x[(j * F + t) * C + c] - mean, 2);
            double sd = sqrt(ss / n);
            if (sd < 1e-8) sd = 1;
            for (int t = 0; t < F; t++) ref[(i * F + t) * C + c] = (float)((x[(i * F + t) * C + c] - mean) / sd);
        }
    speaker_count counts[8];
    int n_speakers = 0;
    CHECK(speaker_standardize(x, N, F, C, speakers, counts, 8, &n_speakers) == 0, "%s", avemo_last_error());
    /* float32 statistics of values up to ~100: a few ulps of the result */
    CHECK(max_abs_diff_f(x, ref, N * F * C) < 1e-5, "max |diff| %g", max_abs_diff_f(x, ref, N * F * C));
    CHECK(n_speakers == 3, "%d speakers", n_speakers);
    CHECK(counts[0].speaker == 4 && counts[0].n_clips == 3 && counts[1].speaker == 9 && counts[1].n_clips == 2 &&
              counts[2].speaker == 2 && counts[2].n_clips == 2,
          "counts %d:%d %d:%d %d:%d", counts[0].speaker, counts[0].n_clips, counts[1].speaker, counts[1].n_clips,
          counts[2].speaker, counts[2].n_clips);
    /* the constant coefficient: (7 - 7) / 1 */
    CHECK(x[(3 * F + 1) * C + 2] == 0.0f, "constant coefficient -> %g", x[(3 * F + 1) * C + 2]);
    char text[64];
    speaker_counts_format(counts, n_speakers, "actor", text, sizeof text);
    CHECK(!strcmp(text, "actor 4: 3 clips, actor 9: 2 clips, actor 2: 2 clips"), "'%s'", text);
    speaker_counts_format(counts, n_speakers, "actor", text, 20);
    CHECK(strlen(text) == 19 && !strcmp(text + 16, "..."), "truncated: '%s'", text);
    /* fewer count slots than speakers: all counted, the first stored */
    memcpy(x, ref, sizeof x);
    CHECK(speaker_standardize(x, N, F, C, speakers, counts, 1, &n_speakers) == 0 && n_speakers == 3, "cap 1");
}

int main(void) {
    RUN(test_per_speaker);
    return test_summary();
}
