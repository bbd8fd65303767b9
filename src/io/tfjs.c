#include "io/tfjs.h"

#include "core/err.h"
#include "core/fileio.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TFJS_MAX_MANIFEST (16u << 20)
#define TFJS_MAX_SHARD (1u << 30)
#define TFJS_MAX_TENSORS 100000
#define TFJS_MAX_COUNT (1L << 30)

typedef struct {
    int elem_size;  /* bytes per stored element */
    int quant;      /* 0 float32, 1 uint8, 2 uint16 */
    float scale, min;
} tfjs_encoding;

static int parse_encoding(const cJSON *wj, const char *mp, const char *name, tfjs_encoding *e) {
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(wj, "dtype");
    if (!cJSON_IsString(dt) || strcmp(dt->valuestring, "float32") != 0)
        return avemo_error(AVEMO_EUNSUP, "%s: tensor %s: dtype %s not supported (float32 only)", mp, name,
                           cJSON_IsString(dt) ? dt->valuestring : "(missing)");
    e->elem_size = 4;
    e->quant = 0;
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(wj, "quantization");
    if (!q) return AVEMO_OK;
    const cJSON *qd = cJSON_GetObjectItemCaseSensitive(q, "dtype");
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(q, "scale");
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(q, "min");
    if (!cJSON_IsString(qd) || !cJSON_IsNumber(sc) || !cJSON_IsNumber(mn))
        return avemo_error(AVEMO_EFORMAT, "%s: tensor %s: bad quantization entry", mp, name);
    if (!strcmp(qd->valuestring, "uint8")) e->quant = 1, e->elem_size = 1;
    else if (!strcmp(qd->valuestring, "uint16")) e->quant = 2, e->elem_size = 2;
    else return avemo_error(AVEMO_EUNSUP, "%s: tensor %s: quantization %s not supported", mp, name, qd->valuestring);
    e->scale = (float)sc->valuedouble;
    e->min = (float)mn->valuedouble;
    return AVEMO_OK;
}

static int shard_path(const char *dir, const cJSON *p, const char *mp, char *path, size_t cap) {
    if (!cJSON_IsString(p) || !p->valuestring[0] || strstr(p->valuestring, ".."))
        return avemo_error(AVEMO_EFORMAT, "%s: bad shard path", mp);
    if ((size_t)snprintf(path, cap, "%s%s", dir, p->valuestring) >= cap)
        return avemo_error(AVEMO_EFORMAT, "%s: shard path too long", mp);
    return AVEMO_OK;
}

/* Total size of a group's shard files (stat only), so that the manifest's sizes are checked against the
 * files before anything is allocated: a hostile manifest cannot make us allocate more than its shards hold. */
static int group_bytes(const char *dir, const cJSON *paths, const char *mp, uint64_t *total) {
    *total = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, paths) {
        char path[4096];
        int err = shard_path(dir, p, mp, path, sizeof path);
        if (err) return err;
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            return avemo_error(AVEMO_EIO, "%s: cannot open: %s", path, strerror(errno));
        *total += (uint64_t)st.st_size;
        if (*total > TFJS_MAX_SHARD) return avemo_error(AVEMO_EFORMAT, "%s: shards too large", mp);
    }
    return AVEMO_OK;
}

/* Concatenate a group's shard files into one buffer. */
static int read_group(const char *dir, const cJSON *paths, const char *mp, unsigned char **buf, size_t *size) {
    *buf = NULL;
    *size = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, paths) {
        char path[4096];
        int err = shard_path(dir, p, mp, path, sizeof path);
        if (err) return err;
        unsigned char *d;
        size_t n;
        err = file_read_all(path, TFJS_MAX_SHARD, &d, &n);
        if (err) return err;
        if (!*buf) { /* the first (often only) shard: its buffer as it is, no second copy of its pages */
            *buf = d;
            *size = n;
            continue;
        }
        unsigned char *grown = realloc(*buf, *size + n + 1);
        if (!grown) {
            free(d);
            return avemo_error(AVEMO_ENOMEM, "%s: out of memory reading shards", mp);
        }
        memcpy(grown + *size, d, n);
        free(d);
        *buf = grown;
        *size += n;
    }
    return AVEMO_OK;
}

/* Pass 1 over one group: validate its weight entries and check that its shards hold exactly the bytes they
 * describe; adds to *n_tensors and *total (floats). */
static int count_group(const char *dir, const cJSON *g, const char *mp, int *n_tensors, long *total) {
    const cJSON *ws = cJSON_GetObjectItemCaseSensitive(g, "weights");
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(g, "paths");
    if (!cJSON_IsArray(ws) || !cJSON_IsArray(paths))
        return avemo_error(AVEMO_EFORMAT, "%s: group without \"paths\"/\"weights\" arrays", mp);
    uint64_t need = 0, have;
    int err = group_bytes(dir, paths, mp, &have);
    if (err) return err;
    const cJSON *wj;
    cJSON_ArrayForEach(wj, ws) {
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(wj, "shape");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(wj, "name");
        if (!cJSON_IsString(name) || !cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > TFJS_MAX_DIMS)
            return avemo_error(AVEMO_EFORMAT, "%s: weight entry %d: bad name or shape", mp, *n_tensors);
        long count = 1;
        const cJSON *d;
        cJSON_ArrayForEach(d, shape) {
            if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > TFJS_MAX_COUNT ||
                d->valuedouble != (int)d->valuedouble)
                return avemo_error(AVEMO_EFORMAT, "%s: tensor %s: bad dimension", mp, name->valuestring);
            count *= (long)d->valuedouble;
            if (count > TFJS_MAX_COUNT)
                return avemo_error(AVEMO_EFORMAT, "%s: tensor %s: too large", mp, name->valuestring);
        }
        tfjs_encoding e;
        if ((err = parse_encoding(wj, mp, name->valuestring, &e))) return err;
        need += (uint64_t)count * (uint64_t)e.elem_size;
        *total += count;
        if (++*n_tensors > TFJS_MAX_TENSORS || *total > TFJS_MAX_COUNT)
            return avemo_error(AVEMO_EFORMAT, "%s: too many weights", mp);
    }
    if (need != have)
        return avemo_error(AVEMO_EFORMAT, "%s: shard data is %llu bytes but the manifest describes %llu", mp,
                           (unsigned long long)have, (unsigned long long)need);
    return AVEMO_OK;
}

/* n values of encoding e from src (little-endian) into dst. */
static void decode_values(float *dst, const unsigned char *src, long n, const tfjs_encoding *e) {
    for (long k = 0; k < n; k++) {
        if (e->quant == 0) {
            uint32_t u = (uint32_t)src[4 * k] | (uint32_t)src[4 * k + 1] << 8 | (uint32_t)src[4 * k + 2] << 16 |
                         (uint32_t)src[4 * k + 3] << 24;
            memcpy(&dst[k], &u, 4);
        } else if (e->quant == 1) {
            dst[k] = e->min + e->scale * src[k];
        } else {
            dst[k] = e->min + e->scale * (float)(src[2 * k] | src[2 * k + 1] << 8);
        }
    }
}

/* Pass 2 over one group (validated by count_group): read its shards and decode its tensors in order into
 * out->tensors[*i...] and out->storage + *at. */
static int decode_group(const char *dir, const cJSON *g, const char *mp, tfjs_weights *out, int *i, long *at) {
    unsigned char *shard = NULL;
    size_t shard_n;
    int err = read_group(dir, cJSON_GetObjectItemCaseSensitive(g, "paths"), mp, &shard, &shard_n);
    if (err) goto done;
    size_t off = 0;
    const cJSON *wj;
    cJSON_ArrayForEach(wj, cJSON_GetObjectItemCaseSensitive(g, "weights")) {
        tfjs_tensor *t = &out->tensors[*i];
        const char *name = cJSON_GetObjectItemCaseSensitive(wj, "name")->valuestring;
        if (strlen(name) >= sizeof t->name) {
            err = avemo_error(AVEMO_EFORMAT, "%s: tensor name too long: %.40s...", mp, name);
            goto done;
        }
        snprintf(t->name, sizeof t->name, "%s", name);
        for (int k = 0; k < *i; k++)
            if (!strcmp(out->tensors[k].name, name)) {
                err = avemo_error(AVEMO_EFORMAT, "%s: duplicate tensor %s", mp, name);
                goto done;
            }
        t->count = 1;
        const cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(wj, "shape")) {
            t->shape[t->ndim++] = (int)d->valuedouble;
            t->count *= (long)d->valuedouble;
        }
        tfjs_encoding e = {4, 0, 1.0f, 0.0f};
        if ((err = parse_encoding(wj, mp, name, &e))) goto done;
        size_t nbytes = (size_t)t->count * e.elem_size;
        if (off + nbytes > shard_n) {
            err = avemo_error(AVEMO_EFORMAT, "%s: tensor %s at byte %zu runs past the shard data (%zu bytes)", mp,
                              name, off, shard_n);
            goto done;
        }
        t->data = out->storage + *at;
        decode_values(t->data, shard + off, t->count, &e);
        off += nbytes;
        *at += t->count;
        ++*i;
    }
    if (off != shard_n)
        err = avemo_error(AVEMO_EFORMAT, "%s: shard data is %zu bytes but the manifest describes %zu", mp, shard_n,
                          off);
done:
    free(shard);
    return err;
}

int tfjs_load(const char *mp, tfjs_weights *out) {
    memset(out, 0, sizeof *out);
    unsigned char *text = NULL;
    size_t text_n;
    cJSON *root = NULL;
    int err = file_read_all(mp, TFJS_MAX_MANIFEST, &text, &text_n);
    if (err) return err;
    root = cJSON_ParseWithLength((const char *)text, text_n);
    if (!cJSON_IsArray(root)) {
        err = avemo_error(AVEMO_EFORMAT, "%s: not a TF.js weights manifest (expected a JSON array)", mp);
        goto fail;
    }
    char dir[4096]; /* the manifest's folder, with its '/' (shard paths are relative to it) */
    snprintf(dir, sizeof dir, "%s", mp);
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0;
    else dir[0] = 0;

    long total = 0;
    int n = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, root) if ((err = count_group(dir, g, mp, &n, &total))) goto fail;
    out->tensors = calloc(n ? n : 1, sizeof(tfjs_tensor));
    out->storage = malloc(sizeof(float) * (total ? total : 1));
    if (!out->tensors || !out->storage) {
        err = avemo_error(AVEMO_ENOMEM, "%s: out of memory", mp);
        goto fail;
    }
    long at = 0;
    int i = 0;
    cJSON_ArrayForEach(g, root) if ((err = decode_group(dir, g, mp, out, &i, &at))) goto fail;
    out->n_tensors = n;
    cJSON_Delete(root);
    free(text);
    return AVEMO_OK;
fail:
    cJSON_Delete(root);
    free(text);
    tfjs_free(out);
    return err;
}

const tfjs_tensor *tfjs_find(const tfjs_weights *w, const char *name) {
    for (int i = 0; i < w->n_tensors; i++)
        if (!strcmp(w->tensors[i].name, name)) return &w->tensors[i];
    return NULL;
}

void tfjs_free(tfjs_weights *w) {
    free(w->tensors);
    free(w->storage);
    memset(w, 0, sizeof *w);
}
