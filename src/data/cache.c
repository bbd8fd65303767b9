#include "data/cache.h"

#include "core/err.h"
#include "core/fileio.h"
#include "io/npy.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define INDEX_MAX_BYTES ((size_t)1 << 30)

static const char *const kind_names[CACHE_N_KINDS] = {"audio", "faces", "feats"};

const char *cache_kind_name(cache_kind k) { return (unsigned)k < CACHE_N_KINDS ? kind_names[k] : "?"; }

uint64_t fnv1a64(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Content hash of one array: dtype, shape, then the raw little-endian data. */
static uint64_t array_hash(npy_dtype dtype, int ndim, const int64_t *shape, const void *data, size_t nbytes) {
    uint64_t h = fnv1a64(FNV1A64_INIT, npy_dtype_name(dtype), 3);
    h = fnv1a64(h, &ndim, sizeof ndim);
    h = fnv1a64(h, shape, ndim * sizeof *shape);
    return fnv1a64(h, data, nbytes);
}

int cache_verify_array(const feature_cache *c, int i, cache_kind kind, const npy_array *a, const char *path) {
    uint64_t h = array_hash(a->dtype, a->ndim, a->shape, a->data, a->nbytes);
    if (h != c->hash[i][kind])
        return avemo_error(AVEMO_EFORMAT, "%s: content hash %016" PRIx64 " differs from the %016" PRIx64 " index.json "
                           "records (changed after prep: rerun prep on a fresh folder)", path, h, c->hash[i][kind]);
    if (a->dtype != NPY_F32) return AVEMO_OK;
    const float *x = a->data;
    for (int64_t k = 0; k < a->count; k++)
        if (!isfinite(x[k]))
            return avemo_error(AVEMO_EFORMAT, "%s: value %lld is %g (features must be finite)", path, (long long)k, x[k]);
    return AVEMO_OK;
}

static char *xstrdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int cache_path(const feature_cache *c, int i, cache_kind kind, char *buf, size_t cap) {
    if (i < 0 || i >= c->ds.n || (unsigned)kind >= CACHE_N_KINDS)
        return avemo_error(AVEMO_EINVAL, "cache: sample %d / kind %d out of range", i, (int)kind);
    if ((size_t)snprintf(buf, cap, "%s/%s/%s.npy", c->dir, kind_names[kind], c->ds.samples[i].id) >= cap)
        return avemo_error(AVEMO_EINVAL, "%s: cache path too long", c->dir);
    return AVEMO_OK;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void cache_free(feature_cache *c) {
    if (c->error)
        for (int i = 0; i < c->ds.n; i++)
            for (int k = 0; k < CACHE_N_KINDS; k++) free(c->error[i][k]);
    free(c->error);
    free(c->hash);
    free(c->done);
    free(c->config_json);
    free(c->dir);
    dataset_free(&c->ds);
    if (c->locked) close(c->lock_fd); /* releases the flock */
    memset(c, 0, sizeof *c);
}

static int alloc_state(feature_cache *c) {
    int n = c->ds.n ? c->ds.n : 1;
    c->hash = calloc(n, sizeof *c->hash);
    c->done = calloc(n, 1);
    c->error = calloc(n, sizeof *c->error);
    if (!c->hash || !c->done || !c->error) return avemo_error(AVEMO_ENOMEM, "cache: out of memory");
    return AVEMO_OK;
}

/* ---------------------------------------------------------------- writing samples */

/* A .npy (format 1.0, header padded to 64 bytes like io/npy.h's npy_write) written to a fresh temp file beside
 * `path` (core/fileio.h's temp_create: O_EXCL | O_NOFOLLOW, so nothing planted in the folder redirects it) and
 * renamed over `path`: a reader or a resumed run sees the whole file or none. Unlike npy_write there is no fsync
 * per file (15 ms each here, which dominated prep); cache_save() syncs the file system once before it lists the
 * files in index.json, and a file not yet listed there is re-validated on resume. */
static int write_npy_renamed(const char *path, npy_dtype dtype, int ndim, const int64_t *shape, const void *data,
                             size_t nbytes) {
    char dict[512], tmp[4200];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", npy_dtype_name(dtype));
    for (int i = 0; i < ndim; i++)
        n += snprintf(dict + n, sizeof dict - n, "%lld%s", (long long)shape[i],
                      ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    n += snprintf(dict + n, sizeof dict - n, "), }");
    size_t total = 10 + (size_t)n + 1, pad = (64 - total % 64) % 64, hlen = (size_t)n + pad + 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    FILE *f;
    int rc = temp_create(path, tmp, sizeof tmp, &f);
    if (rc) return rc;
    errno = 0;
    int bad = fwrite(pre, 1, 10, f) != 10 || fwrite(dict, 1, (size_t)n, f) != (size_t)n;
    for (size_t i = 0; i < pad && !bad; i++) bad = fputc(' ', f) == EOF;
    bad = bad || fputc('\n', f) == EOF || (nbytes && fwrite(data, 1, nbytes, f) != nbytes);
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        return avemo_error(AVEMO_EWRITE, "%s: write failed: %s", path, e ? strerror(e) : "stream error");
    }
    return AVEMO_OK;
}

static int write_array(feature_cache *c, int i, cache_kind kind, npy_dtype dtype, int ndim, const int64_t *shape,
                       const void *data) {
    char path[4096];
    int rc = cache_path(c, i, kind, path, sizeof path);
    if (rc) return rc;
    size_t nbytes = npy_dtype_size(dtype);
    for (int d = 0; d < ndim; d++) {
        if (shape[d] <= 0) return avemo_error(AVEMO_EINVAL, "%s: empty dimension %d", path, d);
        nbytes *= (size_t)shape[d];
    }
    if ((rc = write_npy_renamed(path, dtype, ndim, shape, data, nbytes))) return rc;
    c->hash[i][kind] = array_hash(dtype, ndim, shape, data, nbytes);
    c->done[i] |= CACHE_BIT(kind);
    free(c->error[i][kind]);
    c->error[i][kind] = NULL;
    return AVEMO_OK;
}

int cache_write_audio(feature_cache *c, int i, const float *feat, int n_coeffs, int n_frames) {
    int64_t shape[2] = {n_coeffs, n_frames};
    return write_array(c, i, CACHE_AUDIO, NPY_F32, 2, shape, feat);
}

int cache_write_faces(feature_cache *c, int i, const uint8_t *faces, int frames, int height, int width, int channels) {
    if (channels != 1 && channels != 3) return avemo_error(AVEMO_EINVAL, "cache: faces with %d channels", channels);
    int64_t shape[4] = {frames, height, width, channels};
    return write_array(c, i, CACHE_FACES, NPY_U8, channels == 1 ? 3 : 4, shape, faces);
}

int cache_write_feats(feature_cache *c, int i, const float *feats, int frames, int dim) {
    int64_t shape[2] = {frames, dim};
    return write_array(c, i, CACHE_FEATS, NPY_F32, 2, shape, feats);
}

int cache_mark_error(feature_cache *c, int i, cache_kind kind, const char *reason) {
    if (i < 0 || i >= c->ds.n || (unsigned)kind >= CACHE_N_KINDS)
        return avemo_error(AVEMO_EINVAL, "cache: sample %d / kind %d out of range", i, (int)kind);
    char *r = xstrdup(reason ? reason : "unknown error");
    if (!r) return avemo_error(AVEMO_ENOMEM, "cache: out of memory");
    free(c->error[i][kind]);
    c->error[i][kind] = r;
    c->done[i] &= ~CACHE_BIT(kind);
    return AVEMO_OK;
}

int cache_filter_indices(const feature_cache *c, unsigned kinds_mask, int *idx, int n) {
    int m = 0;
    for (int j = 0; j < n; j++)
        if ((c->done[idx[j]] & kinds_mask) == kinds_mask) idx[m++] = idx[j];
    return m;
}

void cache_count(const feature_cache *c, cache_kind kind, int *done, int *failed) {
    *done = *failed = 0;
    for (int i = 0; i < c->ds.n; i++) {
        *done += (c->done[i] >> kind) & 1;
        *failed += c->error[i][kind] != NULL;
    }
}

/* ---------------------------------------------------------------- index.json */

static uint64_t compute_data_hash(const feature_cache *c) {
    uint64_t h = fnv1a64(FNV1A64_INIT, c->config_json, strlen(c->config_json));
    for (int i = 0; i < c->ds.n; i++) {
        const dataset_sample *s = &c->ds.samples[i];
        h = fnv1a64(h, s->id, strlen(s->id) + 1);
        int32_t v[2] = {s->label, s->actor};
        h = fnv1a64(h, v, sizeof v);
        for (int k = 0; k < CACHE_N_KINDS; k++) {
            uint64_t x = (c->done[i] >> k) & 1 ? c->hash[i][k] : 0;
            h = fnv1a64(h, &x, sizeof x);
        }
    }
    return h;
}

static cJSON *sample_json(const feature_cache *c, int i) {
    const dataset_sample *s = &c->ds.samples[i];
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "id", s->id);
    cJSON_AddNumberToObject(o, "actor", s->actor);
    cJSON_AddNumberToObject(o, "label", s->label);
    cJSON_AddNumberToObject(o, "emotion", s->emotion_code);
    cJSON_AddNumberToObject(o, "split", s->split);
    cJSON_AddNumberToObject(o, "vocal", s->vocal);
    cJSON_AddNumberToObject(o, "intensity", s->intensity);
    if (s->video_path) cJSON_AddStringToObject(o, "video", s->video_path);
    else cJSON_AddNullToObject(o, "video");
    if (s->audio_path) cJSON_AddStringToObject(o, "audio", s->audio_path);
    else cJSON_AddNullToObject(o, "audio");
    cJSON_AddBoolToObject(o, "audio_from_video", s->audio_from_video);
    cJSON *hashes = cJSON_AddObjectToObject(o, "hash");
    cJSON *errors = NULL;
    for (int k = 0; k < CACHE_N_KINDS; k++) {
        if ((c->done[i] >> k) & 1) {
            char hex[20];
            snprintf(hex, sizeof hex, "%016" PRIx64, c->hash[i][k]);
            cJSON_AddStringToObject(hashes, kind_names[k], hex);
        }
        if (c->error[i][k]) {
            if (!errors) errors = cJSON_AddObjectToObject(o, "errors");
            cJSON_AddStringToObject(errors, kind_names[k], c->error[i][k]);
        }
    }
    return o;
}

/* One field of a skipped.log row: backslash, tab, newline and the other control characters escaped (\\, \t, \n,
 * \r, \xNN), so that a file name holding them cannot split or forge a row. */
static void write_log_field(FILE *f, const char *s, size_t n) {
    for (size_t i = 0; i < n && s[i]; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\\') fputs("\\\\", f);
        else if (ch == '\t') fputs("\\t", f);
        else if (ch == '\n') fputs("\\n", f);
        else if (ch == '\r') fputs("\\r", f);
        else if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\x%02x", ch);
        else fputc(ch, f);
    }
}

static void write_log_row(FILE *f, const char *path, size_t path_len, const char *kind, const char *reason) {
    write_log_field(f, path, path_len);
    fprintf(f, "\t%s\t", kind);
    write_log_field(f, reason, strlen(reason));
    fputc('\n', f);
}

/* Scan skip k "path: reason" -> "path\tscan\treason". The path's length is known for a scan's list; in a list
 * read back from an index the path is taken to end at the first ": ". */
static void write_scan_skip(FILE *f, const dataset *ds, int k) {
    const char *line = ds->skipped[k];
    size_t path_len;
    if (ds->skipped_path_len) {
        path_len = (size_t)ds->skipped_path_len[k];
    } else {
        const char *first = strstr(line, ": ");
        path_len = first ? (size_t)(first - line) : strlen(line);
    }
    const char *reason = line + path_len;
    if (!strncmp(reason, ": ", 2)) reason += 2;
    write_log_row(f, line, path_len, "scan", reason);
}

/* The cache's header fields, settings, names and counts into the index object `root` (samples not yet). */
static int index_header(const feature_cache *c, cJSON *root) {
    cJSON_AddStringToObject(root, "format", CACHE_FORMAT);
    cJSON_AddNumberToObject(root, "version", CACHE_VERSION);
    cJSON_AddStringToObject(root, "dataset", dataset_kind_name(c->ds.kind));
    cJSON_AddStringToObject(root, "root", c->ds.root ? c->ds.root : "");
    char hex[20];
    snprintf(hex, sizeof hex, "%016" PRIx64, c->data_hash);
    cJSON_AddStringToObject(root, "data_hash", hex);
    cJSON *config = cJSON_Parse(c->config_json);
    if (!config) return avemo_error(AVEMO_EINVAL, "cache: prep config is not valid JSON");
    cJSON_AddItemToObject(root, "config", config);
    cJSON *classes = cJSON_AddArrayToObject(root, "classes");
    for (int k = 0; k < c->ds.n_classes; k++) cJSON_AddItemToArray(classes, cJSON_CreateString(c->ds.class_names[k]));
    cJSON *splits = cJSON_AddArrayToObject(root, "splits");
    for (int k = 0; k < c->ds.n_splits; k++) cJSON_AddItemToArray(splits, cJSON_CreateString(c->ds.split_names[k]));
    for (int k = 0; k < CACHE_N_KINDS; k++) {
        int d, f;
        cache_count(c, k, &d, &f);
        char key[32];
        snprintf(key, sizeof key, "n_%s_done", kind_names[k]);
        cJSON_AddNumberToObject(root, key, d);
        snprintf(key, sizeof key, "n_%s_failed", kind_names[k]);
        cJSON_AddNumberToObject(root, key, f);
    }
    cJSON *skipped = cJSON_AddArrayToObject(root, "skipped_files");
    for (int k = 0; k < c->ds.n_skipped; k++) cJSON_AddItemToArray(skipped, cJSON_CreateString(c->ds.skipped[k]));
    return AVEMO_OK;
}

/* skipped.log: scan skips first, then per-sample failures, in sample order */
static int write_skipped_log(const feature_cache *c) {
    char path[4096];
    snprintf(path, sizeof path, "%s/skipped.log", c->dir);
    atomic_file af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    errno = 0;
    for (int k = 0; k < c->ds.n_skipped; k++) write_scan_skip(af.f, &c->ds, k);
    for (int i = 0; i < c->ds.n; i++)
        for (int k = 0; k < CACHE_N_KINDS; k++)
            if (c->error[i][k]) {
                const dataset_sample *s = &c->ds.samples[i];
                const char *src = k == CACHE_AUDIO && s->audio_path ? s->audio_path : s->video_path ? s->video_path : s->id;
                write_log_row(af.f, src, strlen(src), kind_names[k], c->error[i][k]);
            }
    if (ferror(af.f)) return atomic_fail(&af);
    return atomic_commit(&af);
}

void cache_sync(const feature_cache *c) {
    int dfd = open(c->dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        syncfs(dfd);
        close(dfd);
    }
}

int cache_save(feature_cache *c) {
    cache_sync(c); /* make every sample file durable before index.json lists it (see write_npy_renamed) */
    c->data_hash = compute_data_hash(c);
    cJSON *root = cJSON_CreateObject(), *samples;
    char *text = NULL;
    if (!root) return avemo_error(AVEMO_ENOMEM, "cache: out of memory");
    int rc = index_header(c, root);
    if (rc) goto done;
    samples = cJSON_AddArrayToObject(root, "samples");
    if (!samples) {
        rc = avemo_error(AVEMO_ENOMEM, "cache: out of memory");
        goto done;
    }
    for (int i = 0; i < c->ds.n; i++) {
        cJSON *s = sample_json(c, i);
        if (!s) {
            rc = avemo_error(AVEMO_ENOMEM, "cache: out of memory");
            goto done;
        }
        cJSON_AddItemToArray(samples, s);
    }
    text = cJSON_Print(root);
    if (!text) {
        rc = avemo_error(AVEMO_ENOMEM, "cache: out of memory printing the index");
        goto done;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/index.json", c->dir);
    if (!(rc = atomic_write(path, text, strlen(text)))) rc = write_skipped_log(c);
done:
    free(text);
    cJSON_Delete(root);
    return rc;
}

/* ---------------------------------------------------------------- reading index.json */

static int read_index(const char *dir, cJSON **out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/index.json", dir);
    unsigned char *buf;
    size_t n;
    *out = NULL;
    int rc = file_read_all(path, INDEX_MAX_BYTES, &buf, &n);
    if (rc) return rc;
    cJSON *j = cJSON_ParseWithLength((const char *)buf, n);
    free(buf);
    if (!j) return avemo_error(AVEMO_EFORMAT, "%s: not valid JSON", path);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "version");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, CACHE_FORMAT) != 0 || !cJSON_IsNumber(ver)) {
        cJSON_Delete(j);
        return avemo_error(AVEMO_EFORMAT, "%s: not an avemo feature cache index", path);
    }
    if (ver->valueint != CACHE_VERSION) {
        int v = ver->valueint; /* read before the tree (and ver with it) is freed */
        cJSON_Delete(j);
        return avemo_error(AVEMO_EFORMAT, "%s: cache version %d, this build reads version %d", path, v,
                           CACHE_VERSION);
    }
    *out = j;
    return AVEMO_OK;
}

static int get_int(const cJSON *o, const char *key, int dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valueint : dflt;
}

static const char *get_str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int parse_hex64(const char *s, uint64_t *v) {
    if (!s || strlen(s) != 16) return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 16);
    if (errno || *end) return 0;
    *v = x;
    return 1;
}

/* Old index records by id, for resume. */
typedef struct {
    const char *id;
    const cJSON *rec;
} id_rec;

static int cmp_id_rec(const void *a, const void *b) { return strcmp(((const id_rec *)a)->id, ((const id_rec *)b)->id); }

/* For each kind: the sample's file exists -> done, hash from `rec` (old index) or recomputed from the file. */
static int mark_from_disk(feature_cache *c, int i, const cJSON *rec, int recompute_missing_hash) {
    const cJSON *hashes = rec ? cJSON_GetObjectItemCaseSensitive(rec, "hash") : NULL;
    const cJSON *errors = rec ? cJSON_GetObjectItemCaseSensitive(rec, "errors") : NULL;
    for (int k = 0; k < CACHE_N_KINDS; k++) {
        char path[4096];
        int rc = cache_path(c, i, k, path, sizeof path);
        if (rc) return rc;
        uint64_t h;
        int have_hash = parse_hex64(get_str(hashes, kind_names[k]), &h);
        if (file_exists(path)) {
            if (!have_hash && recompute_missing_hash) {
                npy_array a;
                if (npy_read(path, &a) != AVEMO_OK) continue; /* unreadable: redo it */
                h = array_hash(a.dtype, a.ndim, a.shape, a.data, a.nbytes);
                npy_free(&a);
                have_hash = 1;
            }
            if (have_hash) {
                c->hash[i][k] = h;
                c->done[i] |= CACHE_BIT(k);
            }
        } else if (have_hash && !recompute_missing_hash) {
            char msg[4200];
            snprintf(msg, sizeof msg, "listed in index.json but %s is missing", path);
            if ((rc = cache_mark_error(c, i, k, msg))) return rc;
        } else {
            const char *e = get_str(errors, kind_names[k]);
            if (e && !recompute_missing_hash && (rc = cache_mark_error(c, i, k, e))) return rc;
        }
    }
    return AVEMO_OK;
}

/* Temp files "<name>.tmp.<hex>" (core/fileio.h's temp_name_is_temp) of writes that a killed run never renamed
 * (kill -9, power loss): nothing refers to them, so the run that holds the cache's lock removes them. */
static void remove_stale_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!temp_name_is_temp(e->d_name)) continue;
        char p[4608];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

/* ---------------------------------------------------------------- the writer's lock */

/* One writer per cache: CACHE/.lock, an exclusive flock(2) taken before anything is read or written and held
 * until cache_free (the kernel drops it when the process dies, kill -9 included). The file holds the holder's
 * pid and start time, which a refused writer quotes. */
static int lock_folder(const char *dir, int *fd_out) {
    char path[4200], holder[256] = "";
    snprintf(path, sizeof path, "%s/%s", dir, CACHE_LOCK_NAME);
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) return avemo_error(AVEMO_EWRITE, "%s: cannot create the cache's lock file: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ssize_t n = e == EWOULDBLOCK ? pread(fd, holder, sizeof holder - 1, 0) : -1;
        close(fd);
        if (e != EWOULDBLOCK) return avemo_error(AVEMO_EWRITE, "%s: cannot lock: %s", path, strerror(e));
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        return avemo_error(AVEMO_EINVAL, "%s: another avemo is writing this cache (%s); wait for it to end or use "
                                         "another folder", dir, holder[0] ? holder : "holder unknown");
    }
    char who[128], when[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    int len = snprintf(who, sizeof who, "pid %ld since %s\n", (long)getpid(), when);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, who, (size_t)len, 0) != len) { /* the lock holds regardless */ }
    *fd_out = fd;
    return AVEMO_OK;
}

static int cache_lock(feature_cache *c, const char *dir) {
    int rc = lock_folder(dir, &c->lock_fd);
    if (!rc) c->locked = 1;
    return rc;
}

static int make_subdirs(const char *dir) {
    char p[4096];
    int rc = make_dirs(dir);
    for (int k = 0; k < CACHE_N_KINDS && !rc; k++) {
        snprintf(p, sizeof p, "%s/%s", dir, kind_names[k]);
        rc = make_dirs(p);
    }
    return rc;
}

int cache_create(feature_cache *c, const char *dir, dataset *ds, const char *config_json) {
    memset(c, 0, sizeof *c);
    c->ds = *ds;
    memset(ds, 0, sizeof *ds);
    c->dir = xstrdup(dir);
    cJSON *cfg = cJSON_Parse(config_json ? config_json : "{}");
    cJSON *old = NULL;
    id_rec *recs = NULL;
    int rc = AVEMO_OK;
    if (!c->dir) { rc = avemo_error(AVEMO_ENOMEM, "cache: out of memory"); goto fail; }
    if (!cJSON_IsObject(cfg)) { rc = avemo_error(AVEMO_EINVAL, "cache: prep config is not a JSON object"); goto fail; }
    c->config_json = cJSON_PrintUnformatted(cfg);
    if (!c->config_json || (rc = alloc_state(c)) || (rc = make_subdirs(dir))) {
        if (!rc) rc = avemo_error(AVEMO_ENOMEM, "cache: out of memory");
        goto fail;
    }
    c->n_scan_skipped = c->ds.n_skipped;
    if ((rc = cache_lock(c, dir))) goto fail;
    remove_stale_temps(dir);
    for (int k = 0; k < CACHE_N_KINDS; k++) {
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/%s", dir, kind_names[k]);
        remove_stale_temps(sub);
    }

    char path[4096];
    snprintf(path, sizeof path, "%s/index.json", dir);
    int n_recs = 0;
    if (file_exists(path)) { /* resume */
        if ((rc = read_index(dir, &old))) goto fail;
        const char *kind = get_str(old, "dataset");
        if (!kind || strcmp(kind, dataset_kind_name(c->ds.kind)) != 0) {
            rc = avemo_error(AVEMO_EINVAL, "%s: cache holds dataset '%s', not '%s' (use another --out folder)", dir,
                             kind ? kind : "?", dataset_kind_name(c->ds.kind));
            goto fail;
        }
        const cJSON *old_cfg = cJSON_GetObjectItemCaseSensitive(old, "config");
        if (!old_cfg || !cJSON_Compare(old_cfg, cfg, 1)) {
            char *o = old_cfg ? cJSON_PrintUnformatted(old_cfg) : NULL;
            rc = avemo_error(AVEMO_EINVAL, "%s: cache was prepared with other settings %s, now %s (use another --out folder)",
                             dir, o ? o : "?", c->config_json);
            free(o);
            goto fail;
        }
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(old, "samples");
        int n_old = cJSON_GetArraySize(arr);
        recs = calloc(n_old ? n_old : 1, sizeof *recs);
        if (!recs) { rc = avemo_error(AVEMO_ENOMEM, "cache: out of memory"); goto fail; }
        const cJSON *r;
        cJSON_ArrayForEach(r, arr) {
            const char *id = get_str(r, "id");
            if (id) recs[n_recs++] = (id_rec){id, r};
        }
        qsort(recs, n_recs, sizeof *recs, cmp_id_rec);
    }
    for (int i = 0; i < c->ds.n; i++) {
        id_rec key = {c->ds.samples[i].id, NULL}, *hit = n_recs ? bsearch(&key, recs, n_recs, sizeof *recs, cmp_id_rec) : NULL;
        if ((rc = mark_from_disk(c, i, hit ? hit->rec : NULL, 1))) goto fail;
    }
    free(recs);
    recs = NULL;
    cJSON_Delete(old);
    old = NULL;
    cJSON_Delete(cfg);
    cfg = NULL;
    if ((rc = cache_save(c))) goto fail;
    return AVEMO_OK;
fail:
    free(recs);
    cJSON_Delete(old);
    cJSON_Delete(cfg);
    cache_free(c);
    return rc;
}

static char *dup_or_null(const cJSON *o, const char *key) {
    const char *s = get_str(o, key);
    return s ? xstrdup(s) : NULL;
}

/* Class, split and skipped-file names of an index (`path` names it in messages) into ds. */
static int read_names(const cJSON *j, const char *path, dataset *ds) {
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(j, "classes");
    const cJSON *splits = cJSON_GetObjectItemCaseSensitive(j, "splits");
    const cJSON *skipped = cJSON_GetObjectItemCaseSensitive(j, "skipped_files");
    ds->n_classes = cJSON_GetArraySize(classes);
    if (ds->n_classes < 1 || ds->n_classes > DATASET_MAX_CLASSES)
        return avemo_error(AVEMO_EFORMAT, "%s: %d classes", path, ds->n_classes);
    for (int k = 0; k < ds->n_classes; k++) {
        const cJSON *s = cJSON_GetArrayItem(classes, k);
        if (!cJSON_IsString(s)) return avemo_error(AVEMO_EFORMAT, "%s: class name %d is not a string", path, k);
        ds->class_names[k] = xstrdup(s->valuestring);
    }
    ds->n_splits = cJSON_IsArray(splits) && cJSON_GetArraySize(splits) > 0 ? cJSON_GetArraySize(splits) : 1;
    ds->split_names = calloc(ds->n_splits, sizeof *ds->split_names);
    if (!ds->split_names) return avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int k = 0; k < ds->n_splits; k++) {
        const cJSON *s = cJSON_IsArray(splits) ? cJSON_GetArrayItem(splits, k) : NULL;
        ds->split_names[k] = xstrdup(cJSON_IsString(s) ? s->valuestring : "");
    }
    int n_skip = cJSON_GetArraySize(skipped);
    if (n_skip > 0) {
        ds->skipped = calloc(n_skip, sizeof *ds->skipped);
        if (!ds->skipped) return avemo_error(AVEMO_ENOMEM, "out of memory");
        const cJSON *s;
        cJSON_ArrayForEach(s, skipped) if (cJSON_IsString(s)) ds->skipped[ds->n_skipped++] = xstrdup(s->valuestring);
    }
    return AVEMO_OK;
}

/* The sample records of an index into ds->samples (class and split names already read). */
static int read_samples(const cJSON *samples, const char *path, dataset *ds) {
    int n = cJSON_GetArraySize(samples);
    ds->samples = calloc(n ? n : 1, sizeof *ds->samples);
    if (!ds->samples) return avemo_error(AVEMO_ENOMEM, "out of memory");
    const cJSON *r;
    cJSON_ArrayForEach(r, samples) {
        dataset_sample *s = &ds->samples[ds->n];
        const char *id = get_str(r, "id");
        if (!id || !*id || strchr(id, '/'))
            return avemo_error(AVEMO_EFORMAT, "%s: sample %d has no valid id", path, ds->n);
        s->id = xstrdup(id);
        ds->n++;
        s->actor = get_int(r, "actor", -1);
        s->label = get_int(r, "label", -1);
        s->emotion_code = get_int(r, "emotion", 0);
        s->split = get_int(r, "split", 0);
        s->vocal = get_int(r, "vocal", 0);
        s->intensity = get_int(r, "intensity", 0);
        s->video_path = dup_or_null(r, "video");
        s->audio_path = dup_or_null(r, "audio");
        s->audio_from_video = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "audio_from_video"));
        if (s->label < 0 || s->label >= ds->n_classes || s->split < 0 || s->split >= ds->n_splits)
            return avemo_error(AVEMO_EFORMAT, "%s: sample %s has label %d / split %d out of range", path, id,
                               s->label, s->split);
    }
    return AVEMO_OK;
}

int cache_open(feature_cache *c, const char *dir) {
    memset(c, 0, sizeof *c);
    cJSON *j = NULL;
    int rc = read_index(dir, &j);
    if (rc) return rc;
    char path[4096];
    snprintf(path, sizeof path, "%s/index.json", dir);
    dataset *ds = &c->ds;
    c->dir = xstrdup(dir);
    const char *kind = get_str(j, "dataset");
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(j, "classes");
    const cJSON *samples = cJSON_GetObjectItemCaseSensitive(j, "samples");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(j, "config");
    if (!kind || dataset_kind_parse(kind, &ds->kind) || !cJSON_IsArray(classes) || !cJSON_IsArray(samples) ||
        !cJSON_IsObject(config)) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: missing or bad dataset/classes/samples/config", path);
        goto fail;
    }
    ds->root = dup_or_null(j, "root");
    c->config_json = cJSON_PrintUnformatted(config);
    if ((rc = read_names(j, path, ds))) goto fail;
    c->n_scan_skipped = ds->n_skipped;
    if ((rc = read_samples(samples, path, ds)) || (rc = alloc_state(c))) goto fail;
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, samples) if ((rc = mark_from_disk(c, i++, r, 0))) goto fail;
    c->data_hash = compute_data_hash(c);
    cJSON_Delete(j);
    return AVEMO_OK;
fail:
    cJSON_Delete(j);
    cache_free(c);
    return rc;
}

/* ---------------------------------------------------------------- joining two caches */

/* The audio cache's sample records (`samples`, edited in place) get the video cache's video features of the
 * same id: its feats hash and video path; a record without them loses any feats hash of its own. */
static int join_samples(cJSON *samples, const cJSON *video_samples, int *n_joined) {
    int n_video = cJSON_GetArraySize(video_samples), n_recs = 0;
    *n_joined = 0;
    id_rec *recs = malloc(((size_t)n_video + 1) * sizeof *recs);
    if (!recs) return avemo_error(AVEMO_ENOMEM, "out of memory");
    const cJSON *r;
    cJSON_ArrayForEach(r, video_samples) {
        const char *id = get_str(r, "id");
        if (id) recs[n_recs++] = (id_rec){id, r};
    }
    qsort(recs, (size_t)n_recs, sizeof *recs, cmp_id_rec);
    cJSON *s;
    cJSON_ArrayForEach(s, samples) {
        const char *id = get_str(s, "id");
        if (!id) continue;
        id_rec key = {id, NULL};
        const id_rec *hit = bsearch(&key, recs, (size_t)n_recs, sizeof *recs, cmp_id_rec);
        cJSON *hash = cJSON_GetObjectItemCaseSensitive(s, "hash");
        if (hash) cJSON_DeleteItemFromObjectCaseSensitive(hash, "feats");
        const char *feats_hash = hit ? get_str(cJSON_GetObjectItemCaseSensitive(hit->rec, "hash"), "feats") : NULL;
        if (!feats_hash) continue;
        if (!hash) hash = cJSON_AddObjectToObject(s, "hash");
        cJSON_AddStringToObject(hash, "feats", feats_hash);
        const char *video = get_str(hit->rec, "video");
        if (video) cJSON_ReplaceItemInObjectCaseSensitive(s, "video", cJSON_CreateString(video));
        ++*n_joined;
    }
    free(recs);
    return AVEMO_OK;
}

/* The joined settings: the audio cache's (`cfg`, edited in place) with the video cache's video settings,
 * modality "av", and where both came from. */
static void join_config(cJSON *cfg, const cJSON *video_cfg, const char *real_audio, const char *real_video) {
    const cJSON *video = cJSON_GetObjectItemCaseSensitive(video_cfg, "video");
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "video");
    if (video) cJSON_AddItemToObject(cfg, "video", cJSON_Duplicate(video, 1));
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "modality");
    cJSON_AddStringToObject(cfg, "modality", "av");
    cJSON *from = cJSON_CreateObject();
    cJSON_AddStringToObject(from, "audio", real_audio);
    cJSON_AddStringToObject(from, "video", real_video);
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "joined_from");
    cJSON_AddItemToObject(cfg, "joined_from", from);
}

/* (Re)point the link `at` to `target`; refuses to replace anything but a link. */
static int relink(const char *target, const char *at) {
    struct stat st;
    if (lstat(at, &st) == 0) {
        if (!S_ISLNK(st.st_mode))
            return avemo_error(AVEMO_EINVAL, "%s exists and is not a link made by a cache join", at);
        if (unlink(at) != 0) return avemo_error(AVEMO_EIO, "%s: cannot remove: %s", at, strerror(errno));
    }
    if (symlink(target, at) != 0)
        return avemo_error(AVEMO_EIO, "%s: cannot link to %s: %s", at, target, strerror(errno));
    return AVEMO_OK;
}

/* OUT/audio -> AUDIO/audio, OUT/feats -> VIDEO/feats, OUT/faces an (empty) folder. */
static int join_folders(const char *out, const char *real_audio, const char *real_video) {
    char path[4200], target[PATH_MAX + 16];
    if (strlen(out) + 16 > sizeof path) return avemo_error(AVEMO_EINVAL, "%s: path too long", out);
    int rc = make_dirs(out);
    if (rc) return rc;
    snprintf(target, sizeof target, "%s/audio", real_audio);
    snprintf(path, sizeof path, "%.4000s/audio", out); /* length checked above */
    if ((rc = relink(target, path))) return rc;
    snprintf(target, sizeof target, "%s/feats", real_video);
    snprintf(path, sizeof path, "%.4000s/feats", out);
    if ((rc = relink(target, path))) return rc;
    snprintf(path, sizeof path, "%.4000s/faces", out);
    struct stat st;
    if (!(stat(path, &st) == 0 && S_ISDIR(st.st_mode))) rc = make_dirs(path);
    return rc;
}

int cache_join(const char *audio_dir, const char *video_dir, const char *out_dir, int *n_joined) {
    char real_a[PATH_MAX], real_v[PATH_MAX];
    cJSON *ja = NULL, *jv = NULL;
    int joined = 0, lock_fd = -1;
    *n_joined = 0;
    if (!realpath(audio_dir, real_a) || !realpath(video_dir, real_v))
        return avemo_error(AVEMO_EIO, "%s or %s: %s", audio_dir, video_dir, strerror(errno));
    int rc = read_index(audio_dir, &ja);
    if (rc || (rc = read_index(video_dir, &jv))) goto done;
    cJSON *samples = cJSON_GetObjectItemCaseSensitive(ja, "samples");
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(ja, "config");
    const cJSON *video_samples = cJSON_GetObjectItemCaseSensitive(jv, "samples");
    const cJSON *video_cfg = cJSON_GetObjectItemCaseSensitive(jv, "config");
    if (!cJSON_IsArray(samples) || !cJSON_IsArray(video_samples) || !cJSON_IsObject(cfg) ||
        !cJSON_IsObject(video_cfg)) {
        rc = avemo_error(AVEMO_EFORMAT, "%s or %s: index without samples/config", audio_dir, video_dir);
        goto done;
    }
    if ((rc = join_samples(samples, video_samples, &joined))) goto done;
    if (joined == 0) {
        rc = avemo_error(AVEMO_EINVAL, "%s and %s share no sample with video features (different datasets?)",
                         audio_dir, video_dir);
        goto done;
    }
    join_config(cfg, video_cfg, real_a, real_v);
    if ((rc = make_dirs(out_dir)) || (rc = lock_folder(out_dir, &lock_fd))) goto done;
    if ((rc = join_folders(out_dir, real_a, real_v))) goto done;
    char *text = cJSON_Print(ja);
    if (!text) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    char path[4200];
    snprintf(path, sizeof path, "%.4000s/index.json", out_dir); /* length checked by join_folders */
    rc = atomic_write(path, text, strlen(text));
    free(text);
    if (!rc) *n_joined = joined;
done:
    if (lock_fd >= 0) close(lock_fd);
    cJSON_Delete(ja);
    cJSON_Delete(jv);
    return rc;
}
