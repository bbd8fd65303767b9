#include "io/safetensors.h"

#include "core/err.h"
#include "core/fileio.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_FILE_BYTES ((size_t)1 << 36)   /* 64 GiB sanity cap: files are read whole */
#define ST_MAX_HEADER_BYTES ((size_t)100 << 20) /* same limit as the reference Rust implementation */
#define ST_MAX_INT 9007199254740992.0          /* 2^53: larger JSON numbers are not exact doubles */

static const struct { const char *name; st_dtype t; size_t size; } dtypes[] = {
    {"F32", ST_F32, 4}, {"F64", ST_F64, 8}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}, {"I64", ST_I64, 8},
    {"I32", ST_I32, 4}, {"U8", ST_U8, 1},   {"I8", ST_I8, 1},   {"BOOL", ST_BOOL, 1},
};

static size_t st_dtype_size(st_dtype t) {
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (dtypes[i].t == t) return dtypes[i].size;
    return 0;
}

static const char *st_dtype_name(st_dtype t) {
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (dtypes[i].t == t) return dtypes[i].name;
    return "?";
}

void st_free(st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_values);
    free(f->buf);
    memset(f, 0, sizeof *f);
}

/* A JSON number that is a non-negative integer below 2^53. */
static int json_uint(const cJSON *j, int64_t *v) {
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0 && d < ST_MAX_INT) || floor(d) != d) return 0;
    *v = (int64_t)d;
    return 1;
}

static int cmp_begin(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    const unsigned char *p = x->data, *q = y->data;
    return p < q ? -1 : p > q;
}

/* The 8-byte header length and the JSON header: *root (caller deletes), the data section after it. */
static int parse_header(const unsigned char *buf, size_t size, const char *name, cJSON **root,
                        const unsigned char **data, size_t *data_size) {
    *root = NULL;
    if (size < 8)
        return avemo_error(AVEMO_EFORMAT, "%s: not a safetensors file (%zu bytes, no header length)", name, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    if (hlen < 2 || hlen > size - 8 || hlen > ST_MAX_HEADER_BYTES)
        return avemo_error(AVEMO_EFORMAT, "%s: safetensors header length %llu does not fit the file (%zu bytes)",
                           name, (unsigned long long)hlen, size);
    if (buf[8] != '{') return avemo_error(AVEMO_EFORMAT, "%s: safetensors header does not start with '{'", name);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts((const char *)buf + 8, (size_t)hlen, &end, 0);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return avemo_error(AVEMO_EFORMAT, "%s: safetensors header is not a JSON object", name);
    }
    /* anything after the JSON value must be padding spaces */
    for (const char *p = end; p && p < (const char *)buf + 8 + hlen; p++)
        if (*p != ' ' && *p != 0) {
            cJSON_Delete(j);
            return avemo_error(AVEMO_EFORMAT, "%s: trailing bytes after the safetensors JSON header", name);
        }
    *root = j;
    *data = buf + 8 + hlen;
    *data_size = size - 8 - (size_t)hlen;
    return AVEMO_OK;
}

/* The "__metadata__" entry `it`: an object of strings, at most one. */
static int parse_metadata(const cJSON *it, const char *name, st_file *f) {
    if (!cJSON_IsObject(it) || f->meta_keys)
        return avemo_error(AVEMO_EFORMAT, "%s: __metadata__ must be one object of strings", name);
    int n_items = cJSON_GetArraySize(it);
    f->meta_keys = calloc((size_t)n_items + 1, sizeof *f->meta_keys);
    f->meta_values = calloc((size_t)n_items + 1, sizeof *f->meta_values);
    if (!f->meta_keys || !f->meta_values) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", name);
    for (const cJSON *m = it->child; m; m = m->next) {
        if (!cJSON_IsString(m) || !m->string)
            return avemo_error(AVEMO_EFORMAT, "%s: __metadata__ value of '%s' is not a string", name,
                               m->string ? m->string : "?");
        f->meta_keys[f->n_meta] = strdup(m->string);
        f->meta_values[f->n_meta] = strdup(m->valuestring);
        f->n_meta++;
        if (!f->meta_keys[f->n_meta - 1] || !f->meta_values[f->n_meta - 1])
            return avemo_error(AVEMO_ENOMEM, "%s: out of memory", name);
    }
    return AVEMO_OK;
}

/* The shape of tensor `tn`: t->shape, t->ndim, t->count. Non-empty tensors must fit the data section. */
static int parse_shape(const cJSON *js, const char *name, const char *tn, size_t esize, size_t data_size,
                       st_tensor *t) {
    int nd = cJSON_GetArraySize(js);
    if (nd > ST_MAX_DIMS)
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has %d dimensions (max %d)", name, tn, nd, ST_MAX_DIMS);
    int64_t count = 1;
    int zero = 0;
    for (int i = 0; i < nd; i++) {
        int64_t d;
        if (!json_uint(cJSON_GetArrayItem(js, i), &d))
            return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has a bad shape", name, tn);
        t->shape[i] = d;
        if (d == 0) zero = 1;
        /* non-empty tensors must fit the file, so cap the product by the data size */
        else if (!zero && count > (int64_t)(data_size / esize + 1) / d)
            return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' shape exceeds the file size", name, tn);
        if (!zero) count *= d;
    }
    t->ndim = nd;
    t->count = zero ? 0 : count;
    return AVEMO_OK;
}

/* One tensor entry `it` of the header, appended to f->tensors. */
static int parse_tensor(const cJSON *it, const char *name, const unsigned char *data, size_t data_size,
                        st_file *f) {
    const char *tn = it->string;
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(it, "dtype");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(it, "shape");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
    if (!cJSON_IsObject(it) || !cJSON_IsString(jd) || !cJSON_IsArray(js) || !cJSON_IsArray(jo))
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' lacks dtype, shape or data_offsets", name, tn);
    for (int i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, tn))
            return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' appears twice", name, tn);
    st_tensor *t = &f->tensors[f->n_tensors];
    int found = 0;
    size_t esize = 0;
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (!strcmp(jd->valuestring, dtypes[i].name)) {
            t->dtype = dtypes[i].t;
            esize = dtypes[i].size;
            found = 1;
        }
    if (!found)
        return avemo_error(AVEMO_EUNSUP, "%s: tensor '%s' has unsupported dtype '%.16s'", name, tn,
                           jd->valuestring);
    int rc = parse_shape(js, name, tn, esize, data_size, t);
    if (rc) return rc;
    int64_t begin, end;
    if (cJSON_GetArraySize(jo) != 2 || !json_uint(cJSON_GetArrayItem(jo, 0), &begin) ||
        !json_uint(cJSON_GetArrayItem(jo, 1), &end) || begin > end || (uint64_t)end > data_size)
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has data_offsets outside the data (%zu bytes)", name,
                           tn, data_size);
    t->nbytes = (size_t)t->count * esize;
    if ((uint64_t)(end - begin) != t->nbytes)
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' spans %lld bytes but its shape needs %zu", name, tn,
                           (long long)(end - begin), t->nbytes);
    t->data = data + begin;
    t->name = strdup(tn);
    if (!t->name) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", name);
    f->n_tensors++;
    return AVEMO_OK;
}

/* Tensors must not overlap (empty tensors occupy no bytes and cannot overlap). */
static int check_no_overlap(const st_file *f, const char *name) {
    const st_tensor **order = malloc(((size_t)f->n_tensors + 1) * sizeof *order);
    if (!order) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", name);
    int n_order = 0, rc = AVEMO_OK;
    for (int i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].nbytes) order[n_order++] = &f->tensors[i];
    qsort(order, (size_t)n_order, sizeof *order, cmp_begin);
    for (int i = 1; i < n_order && !rc; i++) {
        const unsigned char *prev_end = (const unsigned char *)order[i - 1]->data + order[i - 1]->nbytes;
        if ((const unsigned char *)order[i]->data < prev_end)
            rc = avemo_error(AVEMO_EFORMAT, "%s: tensors '%s' and '%s' overlap", name, order[i - 1]->name,
                             order[i]->name);
    }
    free(order);
    return rc;
}

/* Parse a buffer whose ownership passes to f (freed by st_free, also on failure). */
static int parse_owned(unsigned char *buf, size_t size, const char *name, st_file *f) {
    memset(f, 0, sizeof *f);
    f->buf = buf;
    f->size = size;
    cJSON *root = NULL;
    const unsigned char *data = NULL;
    size_t data_size = 0;
    int rc = parse_header(buf, size, name, &root, &data, &data_size);
    if (rc) goto fail;
    f->tensors = calloc((size_t)cJSON_GetArraySize(root) + 1, sizeof *f->tensors);
    if (!f->tensors) {
        rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory", name);
        goto fail;
    }
    for (const cJSON *it = root->child; it && !rc; it = it->next) {
        if (!it->string) rc = avemo_error(AVEMO_EFORMAT, "%s: safetensors header entry without a name", name);
        else if (!strcmp(it->string, "__metadata__")) rc = parse_metadata(it, name, f);
        else rc = parse_tensor(it, name, data, data_size, f);
    }
    if (rc || (rc = check_no_overlap(f, name))) goto fail;
    cJSON_Delete(root);
    return AVEMO_OK;
fail:
    cJSON_Delete(root);
    st_free(f);
    return rc;
}

int st_parse(const unsigned char *buf, size_t size, const char *name, st_file *f) {
    memset(f, 0, sizeof *f);
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy) return avemo_error(AVEMO_ENOMEM, "%s: cannot allocate %zu bytes", name, size);
    if (size) memcpy(copy, buf, size);
    return parse_owned(copy, size, name, f);
}

int st_read(const char *path, st_file *f) {
    memset(f, 0, sizeof *f);
    unsigned char *buf;
    size_t size;
    int rc = file_read_all(path, ST_MAX_FILE_BYTES, &buf, &size);
    if (rc) return rc;
    return parse_owned(buf, size, path, f);
}

/* The 8-byte length and the header of `path` into *buf [8 + length] (caller frees). */
static int read_header_bytes(const char *path, unsigned char **buf, size_t *size) {
    *buf = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return avemo_error(AVEMO_EIO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char len[8];
    int rc = AVEMO_OK;
    uint64_t hlen = 0;
    if (fread(len, 1, 8, fp) != 8)
        rc = avemo_error(AVEMO_EFORMAT, "%s: not a safetensors file (no header length)", path);
    for (int i = 7; !rc && i >= 0; i--) hlen = hlen << 8 | len[i];
    if (!rc && (hlen < 2 || hlen > ST_MAX_HEADER_BYTES))
        rc = avemo_error(AVEMO_EFORMAT, "%s: safetensors header length %llu out of range", path,
                         (unsigned long long)hlen);
    if (!rc && !(*buf = malloc(8 + (size_t)hlen))) rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    if (!rc) {
        memcpy(*buf, len, 8);
        if (fread(*buf + 8, 1, (size_t)hlen, fp) != (size_t)hlen)
            rc = avemo_error(AVEMO_EFORMAT, "%s: safetensors header length %llu does not fit the file", path,
                             (unsigned long long)hlen);
    }
    fclose(fp);
    if (rc) {
        free(*buf);
        *buf = NULL;
    }
    *size = 8 + (size_t)hlen;
    return rc;
}

int st_read_meta(const char *path, st_file *f) {
    memset(f, 0, sizeof *f);
    unsigned char *buf;
    size_t size = 0;
    int rc = read_header_bytes(path, &buf, &size);
    if (rc) return rc;
    f->buf = buf;
    f->size = size;
    cJSON *root = NULL;
    const unsigned char *data = NULL;
    size_t data_size = 0;
    rc = parse_header(buf, size, path, &root, &data, &data_size);
    const cJSON *meta = rc ? NULL : cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    if (meta) rc = parse_metadata(meta, path, f);
    cJSON_Delete(root);
    if (rc) st_free(f);
    return rc;
}

const st_tensor *st_find(const st_file *f, const char *name) {
    for (int i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

const char *st_meta(const st_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta_keys[i], key)) return f->meta_values[i];
    return NULL;
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0) v = ldexpf((float)man, -24);                      /* zero or subnormal */
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = ldexpf((float)(man | 0x400), (int)exp - 25);
    uint32_t bits;
    memcpy(&bits, &v, 4);
    bits |= sign;
    memcpy(&v, &bits, 4);
    return v;
}

int st_to_f32(const st_tensor *t, float *out, int64_t count, const char *file_name) {
    if (t->count != count)
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has %lld values, expected %lld", file_name, t->name,
                           (long long)t->count, (long long)count);
    const unsigned char *p = t->data; /* may be unaligned: copy each element */
    for (int64_t i = 0; i < count; i++) {
        switch (t->dtype) {
        case ST_F32: memcpy(&out[i], p + 4 * i, 4); break;
        case ST_F64: { double d; memcpy(&d, p + 8 * i, 8); out[i] = (float)d; break; }
        case ST_F16: { uint16_t h; memcpy(&h, p + 2 * i, 2); out[i] = half_to_float(h); break; }
        case ST_BF16: {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&out[i], &bits, 4);
            break;
        }
        case ST_I64: { int64_t v; memcpy(&v, p + 8 * i, 8); out[i] = (float)v; break; }
        case ST_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); out[i] = (float)v; break; }
        case ST_U8: out[i] = p[i]; break;
        case ST_I8: out[i] = (int8_t)p[i]; break;
        case ST_BOOL: out[i] = p[i] != 0; break;
        }
    }
    return AVEMO_OK;
}

/* ---- writer ---- */

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} st_entry;

struct st_writer {
    st_entry *entries; /* tensors, in the order added */
    int n_entries, cap_entries;
    char **meta_keys, **meta_values;
    int n_meta, cap_meta;
};

st_writer *st_writer_new(void) { return calloc(1, sizeof(st_writer)); }

void st_writer_free(st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n_entries; i++) free(w->entries[i].name);
    for (int i = 0; i < w->n_meta; i++) {
        free(w->meta_keys[i]);
        free(w->meta_values[i]);
    }
    free(w->entries);
    free(w->meta_keys);
    free(w->meta_values);
    free(w);
}

int st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
                  const void *data) {
    if (ndim < 0 || ndim > ST_MAX_DIMS || !st_dtype_size(dtype) || !name || !strcmp(name, "__metadata__"))
        return avemo_error(AVEMO_EINVAL, "safetensors writer: bad tensor '%s'", name ? name : "(null)");
    for (int i = 0; i < w->n_entries; i++)
        if (!strcmp(w->entries[i].name, name))
            return avemo_error(AVEMO_EINVAL, "safetensors writer: tensor '%s' added twice", name);
    if (w->n_entries == w->cap_entries) {
        int cap = w->cap_entries ? 2 * w->cap_entries : 64;
        st_entry *e = realloc(w->entries, (size_t)cap * sizeof *e);
        if (!e) return avemo_error(AVEMO_ENOMEM, "safetensors writer: out of memory");
        w->entries = e;
        w->cap_entries = cap;
    }
    st_entry *e = &w->entries[w->n_entries];
    memset(e, 0, sizeof *e);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return avemo_error(AVEMO_EINVAL, "safetensors writer: '%s' negative dim", name);
        e->shape[i] = shape[i];
        count *= (size_t)shape[i];
    }
    e->name = strdup(name);
    if (!e->name) return avemo_error(AVEMO_ENOMEM, "safetensors writer: out of memory");
    e->dtype = dtype;
    e->ndim = ndim;
    e->data = data;
    e->nbytes = count * st_dtype_size(dtype);
    w->n_entries++;
    return AVEMO_OK;
}

int st_writer_meta(st_writer *w, const char *key, const char *value) {
    for (int i = 0; i < w->n_meta; i++)
        if (!strcmp(w->meta_keys[i], key)) {
            char *v = strdup(value);
            if (!v) return avemo_error(AVEMO_ENOMEM, "safetensors writer: out of memory");
            free(w->meta_values[i]);
            w->meta_values[i] = v;
            return AVEMO_OK;
        }
    if (w->n_meta == w->cap_meta) {
        int cap = w->cap_meta ? 2 * w->cap_meta : 16;
        char **k = realloc(w->meta_keys, (size_t)cap * sizeof *k);
        if (!k) return avemo_error(AVEMO_ENOMEM, "safetensors writer: out of memory");
        w->meta_keys = k;
        char **v = realloc(w->meta_values, (size_t)cap * sizeof *v);
        if (!v) return avemo_error(AVEMO_ENOMEM, "safetensors writer: out of memory");
        w->meta_values = v;
        w->cap_meta = cap;
    }
    w->meta_keys[w->n_meta] = strdup(key);
    w->meta_values[w->n_meta] = strdup(value);
    w->n_meta++;
    if (!w->meta_keys[w->n_meta - 1] || !w->meta_values[w->n_meta - 1])
        return avemo_error(AVEMO_ENOMEM, "safetensors writer: out of memory");
    return AVEMO_OK;
}

/* The 8-byte length and the JSON header padded with spaces to a multiple of 8 (the data starts 8-byte aligned);
 * 1 on a write error (errno set). */
static int write_header(FILE *f, const char *json) {
    size_t jlen = strlen(json), hlen = (jlen + 7) / 8 * 8;
    unsigned char h8[8];
    for (int i = 0; i < 8; i++) h8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    errno = 0;
    int bad = fwrite(h8, 1, 8, f) != 8 || fwrite(json, 1, jlen, f) != jlen;
    for (size_t i = jlen; i < hlen && !bad; i++) bad = fputc(' ', f) == EOF;
    return bad;
}

int st_writer_write(st_writer *w, const char *path) {
    int rc = AVEMO_ENOMEM;
    char *json = NULL;
    cJSON *root = cJSON_CreateObject();
    if (!root) goto oom;
    if (w->n_meta) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        if (!m) goto oom;
        for (int i = 0; i < w->n_meta; i++)
            if (!cJSON_AddStringToObject(m, w->meta_keys[i], w->meta_values[i])) goto oom;
    }
    size_t off = 0;
    for (int i = 0; i < w->n_entries; i++) {
        const st_entry *e = &w->entries[i];
        cJSON *t = cJSON_AddObjectToObject(root, e->name);
        if (!t || !cJSON_AddStringToObject(t, "dtype", st_dtype_name(e->dtype))) goto oom;
        cJSON *s = cJSON_AddArrayToObject(t, "shape");
        if (!s) goto oom;
        for (int d = 0; d < e->ndim; d++) {
            cJSON *n = cJSON_CreateNumber((double)e->shape[d]);
            if (!n || !cJSON_AddItemToArray(s, n)) goto oom;
        }
        cJSON *o = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON *b = cJSON_CreateNumber((double)off), *en = cJSON_CreateNumber((double)(off + e->nbytes));
        if (!o || !b || !en || !cJSON_AddItemToArray(o, b) || !cJSON_AddItemToArray(o, en)) goto oom;
        off += e->nbytes;
    }
    json = cJSON_PrintUnformatted(root);
    if (!json) goto oom;
    atomic_file af;
    rc = atomic_open(&af, path);
    if (rc) goto done;
    int bad = write_header(af.f, json);
    for (int i = 0; i < w->n_entries && !bad; i++)
        if (w->entries[i].nbytes) bad = fwrite(w->entries[i].data, 1, w->entries[i].nbytes, af.f) != w->entries[i].nbytes;
    if (bad) {
        rc = atomic_fail(&af);
        goto done;
    }
    rc = atomic_commit(&af);
    goto done;
oom:
    rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory building the safetensors header", path);
done:
    free(json);
    cJSON_Delete(root);
    return rc;
}

int st_rewrite_meta(const st_file *f, const char *path, int n, const char *const *keys, const char *const *values) {
    cJSON *root = NULL;
    const unsigned char *data = NULL;
    size_t data_size = 0;
    int rc = parse_header(f->buf, f->size, path, &root, &data, &data_size);
    if (rc) return rc;
    char *json = NULL;
    cJSON *meta = cJSON_GetObjectItem(root, "__metadata__");
    if (!meta) meta = cJSON_AddObjectToObject(root, "__metadata__");
    for (int i = 0; meta && i < n; i++) {
        cJSON_DeleteItemFromObject(meta, keys[i]);
        if (!cJSON_AddStringToObject(meta, keys[i], values[i])) meta = NULL;
    }
    if (!meta || !(json = cJSON_PrintUnformatted(root))) {
        rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory building the safetensors header", path);
    } else {
        atomic_file af;
        if (!(rc = atomic_open(&af, path))) {
            int bad = write_header(af.f, json) || (data_size && fwrite(data, 1, data_size, af.f) != data_size);
            rc = bad ? atomic_fail(&af) : atomic_commit(&af);
        }
    }
    free(json);
    cJSON_Delete(root);
    return rc;
}
