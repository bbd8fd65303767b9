/* Packed face frames (data/frame_set.h). */
#include "data/frame_set.h"

#include "core/err.h"
#include "data/loader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void frame_set_free(frame_set *s) {
    free(s->pixels);
    free(s->labels);
    free(s->index);
    memset(s, 0, sizeof *s);
}

/* Sample idx[j]'s frames into row j of s (its shape must be s's). */
static int load_row(const feature_cache *c, int i, frame_set *s, int j) {
    uint8_t *faces;
    int T, H, W, C;
    int rc = cache_load_faces(c, i, &faces, &T, &H, &W, &C);
    if (rc) return rc;
    if (T != s->frames || H != s->height || W != s->width || C != s->channels)
        rc = avemo_error(AVEMO_EFORMAT, "%s: sample %s has frames [%d, %d, %d, %d], the others [%d, %d, %d, %d]",
                         c->dir, c->ds.samples[i].id, T, H, W, C, s->frames, s->height, s->width, s->channels);
    else memcpy(s->pixels + (long)j * frame_set_sample_bytes(s), faces, (size_t)frame_set_sample_bytes(s));
    free(faces);
    return rc;
}

int frame_set_load(const feature_cache *c, const int *idx, int n, frame_set *s) {
    memset(s, 0, sizeof *s);
    if (n <= 0) return AVEMO_OK;
    uint8_t *first;
    int rc = cache_load_faces(c, idx[0], &first, &s->frames, &s->height, &s->width, &s->channels);
    if (rc) return rc;
    free(first);
    s->n = n;
    s->pixels = malloc((size_t)n * frame_set_sample_bytes(s));
    s->labels = malloc((size_t)n * sizeof *s->labels);
    s->index = malloc((size_t)n * sizeof *s->index);
    if (!s->pixels || !s->labels || !s->index) {
        frame_set_free(s);
        return avemo_error(AVEMO_ENOMEM, "out of memory for %d samples' frames", n);
    }
    int err = AVEMO_OK;
    char err_msg[512] = "";
#pragma omp parallel for schedule(dynamic, 64)
    for (int j = 0; j < n; j++) {
        if (err) continue;
        s->labels[j] = c->ds.samples[idx[j]].label;
        s->index[j] = idx[j];
        int r = load_row(c, idx[j], s, j);
        if (r) {
#pragma omp critical(frame_set_err)
            if (!err) {
                err = r;
                snprintf(err_msg, sizeof err_msg, "%s", avemo_last_error());
            }
        }
    }
    if (err) {
        frame_set_free(s);
        return avemo_error(err, "%s", err_msg);
    }
    return AVEMO_OK;
}
