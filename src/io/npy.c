#include "io/npy.h"

#include "core/err.h"
#include "core/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_FILE_BYTES ((size_t)1 << 36) /* 64 GiB: a sanity cap, files are read whole */

static const struct { const char *descr; npy_dtype t; size_t size; } dtypes[] = {
    {"<f4", NPY_F32, 4}, {"<f8", NPY_F64, 8}, {"|u1", NPY_U8, 1},
    {"<c8", NPY_C64, 8}, {"<i4", NPY_I32, 4}, {"<i8", NPY_I64, 8},
};

size_t npy_dtype_size(npy_dtype t) {
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (dtypes[i].t == t) return dtypes[i].size;
    return 0;
}

const char *npy_dtype_name(npy_dtype t) {
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (dtypes[i].t == t) return dtypes[i].descr;
    return "?";
}

void npy_free(npy_array *a) {
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* Find `'key':` in the header dict and return a pointer just after the colon. */
static const char *find_key(const char *h, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

/* Magic, version and header length: the header dict is buf[*hoff, *hoff + *hlen). */
static int parse_preamble(const unsigned char *buf, size_t size, const char *name, size_t *hlen, size_t *hoff) {
    if (size < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return avemo_error(AVEMO_EFORMAT, "%s: not a .npy file (bad magic)", name);
    int major = buf[6];
    if (major == 1) {
        *hlen = buf[8] | (size_t)buf[9] << 8;
        *hoff = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return avemo_error(AVEMO_EFORMAT, "%s: truncated .npy header", name);
        *hlen = buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        *hoff = 12;
    } else {
        return avemo_error(AVEMO_EFORMAT, "%s: unsupported .npy version %d", name, major);
    }
    if (*hlen > size - *hoff || *hlen > 1 << 20)
        return avemo_error(AVEMO_EFORMAT, "%s: .npy header length %zu exceeds file", name, *hlen);
    return AVEMO_OK;
}

/* 'descr' -> out->dtype and its element size; 'fortran_order' must be False. */
static int parse_descr(const char *h, const char *name, npy_array *out, size_t *esize) {
    const char *p = find_key(h, "descr");
    if (!p || *p != '\'') return avemo_error(AVEMO_EFORMAT, "%s: .npy header has no descr", name);
    int found = 0;
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++) {
        size_t n = strlen(dtypes[i].descr);
        if (strncmp(p + 1, dtypes[i].descr, n) == 0 && p[1 + n] == '\'') {
            out->dtype = dtypes[i].t;
            *esize = dtypes[i].size;
            found = 1;
        }
    }
    if (!found) {
        char d[16] = {0};
        for (int i = 0; i < 15 && p[1 + i] && p[1 + i] != '\''; i++) d[i] = p[1 + i];
        return avemo_error(AVEMO_EFORMAT, "%s: unsupported dtype '%s' (want <f4, <f8, |u1, <c8, <i4 or <i8)", name,
                           d);
    }
    p = find_key(h, "fortran_order");
    if (!p || strncmp(p, "False", 5) != 0)
        return avemo_error(AVEMO_EFORMAT, "%s: only C-order .npy arrays are supported", name);
    return AVEMO_OK;
}

/* 'shape': (d0, d1, ...) -> out->shape, out->ndim, out->count. */
static int parse_shape(const char *h, const char *name, npy_array *out) {
    const char *p = find_key(h, "shape");
    if (!p || *p != '(') return avemo_error(AVEMO_EFORMAT, "%s: .npy header has no shape", name);
    p++;
    int64_t count = 1;
    out->ndim = 0;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (*p < '0' || *p > '9') return avemo_error(AVEMO_EFORMAT, "%s: bad shape in .npy header", name);
        if (out->ndim == NPY_MAX_DIMS)
            return avemo_error(AVEMO_EFORMAT, "%s: more than %d dimensions", name, NPY_MAX_DIMS);
        char *end;
        long long d = strtoll(p, &end, 10);
        if (d < 0 || d > ((int64_t)1 << 40))
            return avemo_error(AVEMO_EFORMAT, "%s: dimension %lld out of range", name, d);
        out->shape[out->ndim++] = d;
        if (d && count > ((int64_t)1 << 40) / d) return avemo_error(AVEMO_EFORMAT, "%s: array too large", name);
        count *= d;
        p = end;
    }
    out->count = count;
    return AVEMO_OK;
}

int npy_parse(const unsigned char *buf, size_t size, const char *name, npy_array *out) {
    memset(out, 0, sizeof *out);
    size_t hlen = 0, hoff = 0;
    int rc = parse_preamble(buf, size, name, &hlen, &hoff);
    if (rc) return rc;
    char *h = malloc(hlen + 1);
    if (!h) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", name);
    memcpy(h, buf + hoff, hlen);
    h[hlen] = 0;
    if (strlen(h) != hlen) {
        free(h);
        return avemo_error(AVEMO_EFORMAT, "%s: NUL byte in .npy header", name);
    }
    size_t esize = 0;
    if ((rc = parse_descr(h, name, out, &esize)) || (rc = parse_shape(h, name, out))) goto done;
    out->nbytes = (size_t)out->count * esize;
    size_t doff = hoff + hlen;
    if (size - doff != out->nbytes) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: data is %zu bytes, shape needs %zu (truncated or corrupt)", name,
                         size - doff, out->nbytes);
        goto done;
    }
    out->data = malloc(out->nbytes ? out->nbytes : 1);
    if (!out->data) {
        rc = avemo_error(AVEMO_ENOMEM, "%s: cannot allocate %zu bytes", name, out->nbytes);
        goto done;
    }
    memcpy(out->data, buf + doff, out->nbytes);
done:
    free(h);
    if (rc) npy_free(out);
    return rc;
}

int npy_read(const char *path, npy_array *out) {
    unsigned char *buf;
    size_t size;
    memset(out, 0, sizeof *out);
    int rc = file_read_all(path, NPY_MAX_FILE_BYTES, &buf, &size);
    if (rc) return rc;
    rc = npy_parse(buf, size, path, out);
    free(buf);
    return rc;
}

int npy_write(const char *path, npy_dtype dtype, int ndim, const int64_t *shape, const void *data) {
    if (ndim < 0 || ndim > NPY_MAX_DIMS) return avemo_error(AVEMO_EINVAL, "%s: bad ndim %d", path, ndim);
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", npy_dtype_name(dtype));
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        n += snprintf(dict + n, sizeof dict - n, "%lld%s", (long long)shape[i], ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
        count *= shape[i];
    }
    n += snprintf(dict + n, sizeof dict - n, "), }");
    /* pad with spaces so that magic + len + header + '\n' is a multiple of 64 */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    atomic_file af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    size_t nbytes = (size_t)count * npy_dtype_size(dtype);
    errno = 0;
    int bad = fwrite(pre, 1, 10, af.f) != 10 || fwrite(dict, 1, (size_t)n, af.f) != (size_t)n;
    for (size_t i = 0; i < pad && !bad; i++) bad = fputc(' ', af.f) == EOF;
    bad = bad || fputc('\n', af.f) == EOF;
    bad = bad || (nbytes && fwrite(data, 1, nbytes, af.f) != nbytes);
    if (bad) return atomic_fail(&af);
    return atomic_commit(&af);
}
