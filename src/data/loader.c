#include "data/loader.h"

#include "core/err.h"
#include "data/featurizer.h"
#include "io/npy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STD_FLOOR 1e-8

void cache_set_free(cache_set *s) {
    free(s->index);
    free(s->labels);
    free(s->actors);
    free(s->audio);
    free(s->video);
    memset(s, 0, sizeof *s);
}

/* *p grown from n to n + m elements of `size` bytes, the m new ones copied from src */
static int grow_append(void **p, size_t size, int n, const void *src, int m) {
    if (!src) return AVEMO_OK;
    void *q = realloc(*p, size * ((size_t)n + m));
    if (!q) return avemo_error(AVEMO_ENOMEM, "out of memory appending %d rows", m);
    memcpy((char *)q + size * n, src, size * m);
    *p = q;
    return AVEMO_OK;
}

int cache_set_append(cache_set *dst, const cache_set *src) {
    if (src->n == 0) return AVEMO_OK;
    int audio_differs =
        src->audio && (dst->audio_frames != src->audio_frames || dst->audio_coeffs != src->audio_coeffs);
    int video_differs = src->video && (dst->video_frames != src->video_frames || dst->video_dim != src->video_dim);
    if (dst->n > 0 && (!dst->audio != !src->audio || !dst->video != !src->video || audio_differs || video_differs))
        return avemo_error(AVEMO_EINVAL, "appending rows of another shape (audio %d x %d to %d x %d)",
                           src->audio_coeffs, src->audio_frames, dst->audio_coeffs, dst->audio_frames);
    size_t a = (size_t)src->audio_frames * src->audio_coeffs * sizeof(float);
    size_t v = (size_t)src->video_frames * src->video_dim * sizeof(float);
    int n = dst->n, rc;
    if ((rc = grow_append((void **)&dst->index, sizeof(int), n, src->index, src->n)) ||
        (rc = grow_append((void **)&dst->labels, sizeof(int), n, src->labels, src->n)) ||
        (rc = grow_append((void **)&dst->actors, sizeof(int), n, src->actors, src->n)) ||
        (rc = grow_append((void **)&dst->audio, a, n, src->audio, src->n)) ||
        (rc = grow_append((void **)&dst->video, v, n, src->video, src->n)))
        return rc;
    dst->audio_frames = src->audio_frames, dst->audio_coeffs = src->audio_coeffs;
    dst->video_frames = src->video_frames, dst->video_dim = src->video_dim;
    dst->n = n + src->n;
    return AVEMO_OK;
}

/* Read sample i's 2-D float32 array of `kind`; shape [a, b]. */
static int read_2d(const feature_cache *c, int i, cache_kind kind, npy_array *a, char *path, size_t cap) {
    int rc = cache_path(c, i, kind, path, cap);
    if (rc) return rc;
    if (!((c->done[i] >> kind) & 1))
        return avemo_error(AVEMO_EINVAL, "%s: sample %s has no %s in the cache%s%s", c->dir, c->ds.samples[i].id,
                           cache_kind_name(kind), c->error[i][kind] ? ": " : " (not prepared)",
                           c->error[i][kind] ? c->error[i][kind] : "");
    if ((rc = npy_read(path, a))) return rc;
    if (a->dtype != NPY_F32 || a->ndim != 2) rc = avemo_error(AVEMO_EFORMAT, "%s: expected a 2-D float32 array", path);
    if (!rc) rc = cache_verify_array(c, i, kind, a, path); /* the index's hash, finite values */
    if (rc) npy_free(a);
    return rc;
}

/* Rows idx[0..n) of `kind` into dst [n, d0 * d1]: feats [T, D] as stored, audio [C, F] transposed to [F, C].
 * Every sample must have the shape [d0, d1]. Parallel over samples (OpenMP); the first error wins. */
static int load_kind(const feature_cache *c, const int *idx, int n, cache_kind kind, int d0, int d1, float *dst) {
    long per = (long)d0 * d1;
    int err = AVEMO_OK;
    char err_msg[512] = "";
#pragma omp parallel for schedule(dynamic, 16)
    for (int j = 0; j < n; j++) {
        if (err) continue;
        npy_array b;
        char p[4096];
        int r = read_2d(c, idx[j], kind, &b, p, sizeof p);
        if (!r && (b.shape[0] != d0 || b.shape[1] != d1)) {
            r = avemo_error(AVEMO_EFORMAT, "%s: shape [%lld, %lld], the other samples have [%d, %d]", p,
                            (long long)b.shape[0], (long long)b.shape[1], d0, d1);
            npy_free(&b);
        }
        if (r) {
#pragma omp critical(cache_load_err)
            if (!err) {
                err = r;
                snprintf(err_msg, sizeof err_msg, "%s", avemo_last_error());
            }
            continue;
        }
        const float *x = b.data;
        float *y = dst + (long)j * per;
        if (kind == CACHE_AUDIO) featurizer_audio_channels_last(x, d0, d1, y); /* [C, F] -> [F, C], as predict */
        else memcpy(y, x, per * sizeof *y);
        npy_free(&b);
    }
    return err ? avemo_error(err, "%s", err_msg) : AVEMO_OK;
}

int cache_load_set(const feature_cache *c, const int *idx, int n, unsigned kinds_mask, cache_set *s) {
    memset(s, 0, sizeof *s);
    if (n <= 0) return avemo_error(AVEMO_EINVAL, "cache: empty sample set");
    if (kinds_mask & ~(CACHE_BIT(CACHE_AUDIO) | CACHE_BIT(CACHE_FEATS)))
        return avemo_error(AVEMO_EINVAL, "cache_load_set loads audio and feats only (faces: cache_load_faces)");
    s->n = n;
    s->index = malloc(n * sizeof *s->index);
    s->labels = malloc(n * sizeof *s->labels);
    s->actors = malloc(n * sizeof *s->actors);
    if (!s->index || !s->labels || !s->actors) goto nomem;
    for (int j = 0; j < n; j++) {
        if (idx[j] < 0 || idx[j] >= c->ds.n) {
            cache_set_free(s);
            return avemo_error(AVEMO_EINVAL, "cache: sample index %d out of range", idx[j]);
        }
        s->index[j] = idx[j];
        s->labels[j] = c->ds.samples[idx[j]].label;
        s->actors[j] = c->ds.samples[idx[j]].actor;
    }
    for (int kind = 0; kind < CACHE_N_KINDS; kind++) {
        if (!((kinds_mask >> kind) & 1)) continue;
        /* the first sample fixes the shape */
        npy_array a;
        char path[4096];
        int rc = read_2d(c, idx[0], kind, &a, path, sizeof path);
        if (rc) { cache_set_free(s); return rc; }
        /* audio: cache [C, F] -> rows of F frames x C; feats: [T, D] as is */
        int d0 = (int)a.shape[0], d1 = (int)a.shape[1];
        npy_free(&a);
        float *dst = malloc((size_t)n * d0 * d1 * sizeof *dst);
        if (!dst) goto nomem;
        if (kind == CACHE_AUDIO) {
            s->audio = dst;
            s->audio_coeffs = d0;
            s->audio_frames = d1;
        } else {
            s->video = dst;
            s->video_frames = d0;
            s->video_dim = d1;
        }
        if ((rc = load_kind(c, idx, n, kind, d0, d1, dst))) {
            cache_set_free(s);
            return rc;
        }
    }
    return AVEMO_OK;
nomem:
    cache_set_free(s);
    return avemo_error(AVEMO_ENOMEM, "cache: out of memory loading %d samples", n);
}

int cache_load_faces(const feature_cache *c, int i, uint8_t **faces, int *frames, int *height, int *width,
                     int *channels) {
    char path[4096];
    *faces = NULL;
    int rc = cache_path(c, i, CACHE_FACES, path, sizeof path);
    if (rc) return rc;
    if (!((c->done[i] >> CACHE_FACES) & 1))
        return avemo_error(AVEMO_EINVAL, "%s: sample %s has no face crops in the cache", c->dir, c->ds.samples[i].id);
    npy_array a;
    if ((rc = npy_read(path, &a))) return rc;
    if (a.dtype != NPY_U8 || (a.ndim != 3 && !(a.ndim == 4 && (a.shape[3] == 3 || a.shape[3] == 1))))
        rc = avemo_error(AVEMO_EFORMAT, "%s: expected uint8 [T, H, W] or [T, H, W, 3]", path);
    if (!rc) rc = cache_verify_array(c, i, CACHE_FACES, &a, path);
    if (rc) {
        npy_free(&a);
        return rc;
    }
    *frames = (int)a.shape[0];
    *height = (int)a.shape[1];
    *width = (int)a.shape[2];
    *channels = a.ndim == 4 ? (int)a.shape[3] : 1;
    *faces = a.data; /* ownership passes to the caller */
    return AVEMO_OK;
}

void feature_stats(const float *x, long rows, int C, float *mean, float *std) {
    double *s = calloc(2 * (size_t)C, sizeof *s);
    if (!s) { /* cannot happen for sane C; fall back to identity statistics */
        for (int c = 0; c < C; c++) mean[c] = 0, std[c] = 1;
        return;
    }
    double *ss = s + C;
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < C; c++) s[c] += x[r * C + c];
    for (int c = 0; c < C; c++) s[c] = rows ? s[c] / rows : 0;
    /* two-pass variance: exact enough in double even for MFCC c0 around -300 */
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < C; c++) {
            double d = x[r * C + c] - s[c];
            ss[c] += d * d;
        }
    for (int c = 0; c < C; c++) {
        double sd = rows ? sqrt(ss[c] / rows) : 0;
        mean[c] = (float)s[c];
        std[c] = sd < STD_FLOOR ? 1.0f : (float)sd;
    }
    free(s);
}

void feature_standardize(float *x, long rows, int C, const float *mean, const float *std) {
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < C; c++) x[r * C + c] = (x[r * C + c] - mean[c]) / std[c];
}
