/* Datasets: what the scanners share, the small public functions and the entry point (data/dataset.h). Each
 * dataset's own layout and names: data/dataset_ravdess.c, dataset_cremad.c, dataset_imagefolder.c. */
#include "data/dataset.h"

#include "core/err.h"
#include "data/dataset_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

const char *const dataset_video_exts[] = {"mp4", "m4v", "mov", "avi", "mkv", "webm", "flv", NULL};
const char *const dataset_audio_exts[] = {"wav", "flac", "mp3", "ogg", "m4a", "aac", NULL};
const char *const dataset_image_exts[] = {"jpg", "jpeg", "png", "bmp", NULL};

/* ---------------------------------------------------------------- small helpers */

int dataset_ext_index(const char *ext, const char *const *list) {
    for (int i = 0; list[i]; i++)
        if (strcasecmp(ext, list[i]) == 0) return i;
    return -1;
}

const char *dataset_file_ext(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? dot + 1 : "";
}

char *dataset_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

char *dataset_path_join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", a, b);
    return p;
}

char *dataset_stem_of(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *s = dataset_strdup(b);
    if (!s) return NULL;
    char *dot = strrchr(s, '.');
    if (dot && dot != s) *dot = 0;
    return s;
}

int dataset_cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void dataset_dir_list_free(dir_list *l) {
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    free(l->is_dir);
    memset(l, 0, sizeof *l);
}

int dataset_list_dir(const char *dir, dir_list *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return avemo_error(AVEMO_EIO, "%s: cannot open directory: %s", dir, strerror(errno));
    int cap = 0, rc = AVEMO_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            char **names = realloc(out->names, cap * sizeof *names);
            if (!names) { rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory listing", dir); break; }
            out->names = names;
        }
        if (!(out->names[out->n] = dataset_strdup(e->d_name))) {
            rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory listing", dir);
            break;
        }
        out->n++;
    }
    closedir(d);
    if (rc) { dataset_dir_list_free(out); return rc; }
    if (out->n) qsort(out->names, out->n, sizeof *out->names, dataset_cmp_str);
    out->is_dir = calloc(out->n ? out->n : 1, 1);
    if (!out->is_dir) { dataset_dir_list_free(out); return avemo_error(AVEMO_ENOMEM, "out of memory"); }
    for (int i = 0; i < out->n; i++) {
        char *p = dataset_path_join(dir, out->names[i]);
        struct stat st;
        if (p && stat(p, &st) != 0) out->is_dir[i] = 2; /* broken link or unreadable */
        else if (p && S_ISDIR(st.st_mode)) out->is_dir[i] = 1;
        free(p);
    }
    return AVEMO_OK;
}

int dataset_add_skipped(dataset *ds, const char *path, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if ((ds->n_skipped & (ds->n_skipped - 1)) == 0) { /* grow at powers of two */
        size_t cap = ds->n_skipped ? 2 * (size_t)ds->n_skipped : 1;
        char **s = realloc(ds->skipped, cap * sizeof *s);
        if (s) ds->skipped = s;
        int *len = s ? realloc(ds->skipped_path_len, cap * sizeof *len) : NULL;
        if (!len) return avemo_error(AVEMO_ENOMEM, "out of memory");
        ds->skipped_path_len = len;
    }
    size_t n = strlen(path) + strlen(why) + 3;
    char *line = malloc(n);
    if (!line) return avemo_error(AVEMO_ENOMEM, "out of memory");
    snprintf(line, n, "%s: %s", path, why);
    ds->skipped_path_len[ds->n_skipped] = (int)strlen(path);
    ds->skipped[ds->n_skipped++] = line;
    return AVEMO_OK;
}

dataset_sample *dataset_new_sample(dataset *ds, int *cap) {
    if (ds->n == *cap) {
        int new_cap = *cap ? *cap * 2 : 256;
        dataset_sample *s = realloc(ds->samples, new_cap * sizeof *s);
        if (!s) return NULL;
        ds->samples = s;
        *cap = new_cap;
    }
    dataset_sample *s = &ds->samples[ds->n++];
    memset(s, 0, sizeof *s);
    s->actor = -1;
    return s;
}

const char *dataset_file_problem(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return errno == ENOENT ? "missing (broken link?)" : "cannot stat";
    if (!S_ISREG(st.st_mode)) return "not a regular file";
    return st.st_size == 0 ? "empty file" : NULL;
}

/* ---------------------------------------------------------------- public small functions */

int dataset_kind_parse(const char *name, dataset_kind *kind) {
    if (!strcmp(name, "ravdess")) *kind = DATASET_RAVDESS;
    else if (!strcmp(name, "cremad") || !strcmp(name, "crema-d")) *kind = DATASET_CREMAD;
    else if (!strcmp(name, "imagefolder")) *kind = DATASET_IMAGEFOLDER;
    else return avemo_error(AVEMO_EINVAL, "unknown dataset '%s' (ravdess, cremad, imagefolder)", name);
    return AVEMO_OK;
}

const char *dataset_kind_name(dataset_kind kind) {
    return kind == DATASET_RAVDESS ? "ravdess" : kind == DATASET_CREMAD ? "cremad" : "imagefolder";
}

void dataset_class_counts(const dataset *ds, int *counts) {
    memset(counts, 0, ds->n_classes * sizeof *counts);
    for (int i = 0; i < ds->n; i++) counts[ds->samples[i].label]++;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int dataset_actors(const dataset *ds, int *actors, int cap) {
    int n = 0;
    for (int i = 0; i < ds->n; i++) {
        int a = ds->samples[i].actor, seen = 0;
        if (a < 0) continue;
        for (int j = 0; j < n && !seen; j++) seen = actors[j] == a;
        if (!seen && n < cap) actors[n++] = a;
    }
    qsort(actors, n, sizeof *actors, cmp_int);
    return n;
}

void dataset_free(dataset *ds) {
    for (int i = 0; i < ds->n; i++) {
        free(ds->samples[i].id);
        free(ds->samples[i].video_path);
        free(ds->samples[i].audio_path);
    }
    free(ds->samples);
    for (int i = 0; i < ds->n_classes; i++) free(ds->class_names[i]);
    for (int i = 0; i < ds->n_splits; i++) free(ds->split_names[i]);
    free(ds->split_names);
    for (int i = 0; i < ds->n_skipped; i++) free(ds->skipped[i]);
    free(ds->skipped);
    free(ds->skipped_path_len);
    free(ds->root);
    memset(ds, 0, sizeof *ds);
}

/* ---------------------------------------------------------------- entry point */

static int cmp_sample(const void *a, const void *b) {
    const dataset_sample *x = a, *y = b;
    if (x->split != y->split) return x->split - y->split;
    if (x->actor != y->actor) return x->actor < y->actor ? -1 : 1;
    return strcmp(x->id, y->id);
}

int dataset_scan(const char *root, const dataset_options *opt, dataset *ds) {
    memset(ds, 0, sizeof *ds);
    dataset_options defaults = {0};
    if (!opt) opt = &defaults;
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return avemo_error(AVEMO_EIO, "%s: not a readable folder", root);
    ds->kind = opt->kind;
    ds->root = dataset_strdup(root);
    if (!ds->root) return avemo_error(AVEMO_ENOMEM, "out of memory");
    size_t rl = strlen(ds->root);
    while (rl > 1 && ds->root[rl - 1] == '/') ds->root[--rl] = 0;
    int rc;
    switch (opt->kind) {
    case DATASET_RAVDESS: rc = dataset_scan_ravdess(ds, opt); break;
    case DATASET_CREMAD: rc = dataset_scan_cremad(ds, opt); break;
    case DATASET_IMAGEFOLDER: rc = dataset_scan_imagefolder(ds, opt); break;
    default: rc = avemo_error(AVEMO_EINVAL, "unknown dataset kind %d", (int)opt->kind);
    }
    if (!rc && !ds->split_names) {
        ds->split_names = calloc(1, sizeof *ds->split_names);
        if (ds->split_names && (ds->split_names[0] = dataset_strdup(""))) ds->n_splits = 1;
        else rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    }
    for (int i = 0; i < ds->n_splits && !rc; i++)
        if (!ds->split_names[i]) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int i = 0; i < ds->n_classes && !rc; i++)
        if (!ds->class_names[i]) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!rc && ds->n == 0)
        rc = avemo_error(AVEMO_EFORMAT, "%s: no usable %s samples found (%d files skipped%s%s)", root,
                         dataset_kind_name(opt->kind), ds->n_skipped, ds->n_skipped ? ", first: " : "",
                         ds->n_skipped ? ds->skipped[0] : "");
    if (rc) {
        dataset_free(ds);
        return rc;
    }
    if (opt->kind != DATASET_IMAGEFOLDER && ds->n) qsort(ds->samples, ds->n, sizeof *ds->samples, cmp_sample);
    return AVEMO_OK;
}

int dataset_speaker_of_name(const char *path, int *actor) {
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    int fields[7], level, emotion;
    char why[160], stem[64];
    if (ravdess_parse_name(name, fields, why, sizeof why) == AVEMO_OK) {
        *actor = fields[6];
        return 1;
    }
    const char *dot = strrchr(name, '.');
    size_t len = dot ? (size_t)(dot - name) : strlen(name);
    if (len >= sizeof stem) return 0;
    memcpy(stem, name, len);
    stem[len] = 0;
    return cremad_parse_name(stem, actor, &emotion, &level, why, sizeof why) == AVEMO_OK;
}
