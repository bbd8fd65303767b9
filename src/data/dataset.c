#include "data/dataset.h"

#include "core/err.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define SCAN_MAX_DEPTH 4 /* RAVDESS zips extract as [Video_Speech_Actor_01/]Actor_01/...: a few levels suffice */

static const char *const ravdess_names[8] = {"neutral", "calm",    "happy",   "sad",
                                             "angry",   "fearful", "disgust", "surprised"};
static const char *const cremad_codes[6] = {"ANG", "DIS", "FEA", "HAP", "NEU", "SAD"};
static const char *const cremad_names[6] = {"angry", "disgust", "fearful", "happy", "neutral", "sad"};
/* The 12 CREMA-D sentences (Cao et al. 2014). */
static const char *const cremad_sentences[12] = {"IEO", "TIE", "IOM", "IWW", "TAI", "MTI",
                                                 "IWL", "ITH", "DFA", "ITS", "TSI", "WSI"};
static const char *const cremad_levels[4] = {"XX", "LO", "MD", "HI"};

static const char *const video_exts[] = {"mp4", "m4v", "mov", "avi", "mkv", "webm", "flv", NULL};
static const char *const audio_exts[] = {"wav", "flac", "mp3", "ogg", "m4a", "aac", NULL};
static const char *const image_exts[] = {"jpg", "jpeg", "png", "bmp", NULL};

/* ---------------------------------------------------------------- small helpers */

static int ext_in(const char *ext, const char *const *list) {
    for (int i = 0; list[i]; i++)
        if (strcasecmp(ext, list[i]) == 0) return i;
    return -1;
}

static const char *file_ext(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? dot + 1 : "";
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static char *path_join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names in `dir` (no "." entries or hidden files). is_dir[i]: 1 directory, 2 unreadable (broken link), 0 other. */
typedef struct {
    int n;
    char **names;
    unsigned char *is_dir;
} dir_list;

static void dir_list_free(dir_list *l) {
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    free(l->is_dir);
    memset(l, 0, sizeof *l);
}

static int list_dir(const char *dir, dir_list *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return avemo_error(AVEMO_EIO, "%s: cannot open directory: %s", dir, strerror(errno));
    int cap = 0, rc = AVEMO_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(out->names, cap * sizeof *nn);
            if (!nn) { rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory listing", dir); break; }
            out->names = nn;
        }
        if (!(out->names[out->n] = xstrdup(e->d_name))) {
            rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory listing", dir);
            break;
        }
        out->n++;
    }
    closedir(d);
    if (rc) { dir_list_free(out); return rc; }
    if (out->n) qsort(out->names, out->n, sizeof *out->names, cmp_str);
    out->is_dir = calloc(out->n ? out->n : 1, 1);
    if (!out->is_dir) { dir_list_free(out); return avemo_error(AVEMO_ENOMEM, "out of memory"); }
    for (int i = 0; i < out->n; i++) {
        char *p = path_join(dir, out->names[i]);
        struct stat st;
        if (p && stat(p, &st) != 0) out->is_dir[i] = 2; /* broken link or unreadable */
        else if (p && S_ISDIR(st.st_mode)) out->is_dir[i] = 1;
        free(p);
    }
    return AVEMO_OK;
}

static int add_skipped(dataset *ds, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int add_skipped(dataset *ds, const char *path, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if ((ds->n_skipped & (ds->n_skipped - 1)) == 0) { /* grow at powers of two */
        char **s = realloc(ds->skipped, (ds->n_skipped ? 2 * ds->n_skipped : 1) * sizeof *s);
        if (!s) return avemo_error(AVEMO_ENOMEM, "out of memory");
        ds->skipped = s;
    }
    size_t n = strlen(path) + strlen(why) + 3;
    char *line = malloc(n);
    if (!line) return avemo_error(AVEMO_ENOMEM, "out of memory");
    snprintf(line, n, "%s: %s", path, why);
    ds->skipped[ds->n_skipped++] = line;
    return AVEMO_OK;
}

static dataset_sample *new_sample(dataset *ds, int *cap) {
    if (ds->n == *cap) {
        int nc = *cap ? *cap * 2 : 256;
        dataset_sample *s = realloc(ds->samples, nc * sizeof *s);
        if (!s) return NULL;
        ds->samples = s;
        *cap = nc;
    }
    dataset_sample *s = &ds->samples[ds->n++];
    memset(s, 0, sizeof *s);
    s->actor = -1;
    return s;
}

/* NULL when `path` is a readable, non-empty regular file, else the reason. */
static const char *file_problem(const char *path) {
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
    free(ds->root);
    memset(ds, 0, sizeof *ds);
}

/* ---------------------------------------------------------------- RAVDESS */

static int two_digits(const char *p, int *v) {
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1])) return 0;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return 1;
}

int ravdess_parse_name(const char *name, int f[7], char *why, int why_cap) {
    /* MM-VV-EE-II-SS-RR-AA.ext: 20 characters then the extension */
    static const char *const field[7] = {"modality", "vocal channel", "emotion", "intensity",
                                         "statement", "repetition", "actor"};
    static const int lo[7] = {1, 1, 1, 1, 1, 1, 1}, hi[7] = {3, 2, 8, 2, 2, 2, RAVDESS_N_ACTORS};
    size_t len = strlen(name);
    if (len < 22 || name[20] != '.') {
        snprintf(why, why_cap, "not a RAVDESS name MM-VV-EE-II-SS-RR-AA.ext");
        return AVEMO_EFORMAT;
    }
    for (int i = 0; i < 7; i++) {
        const char *p = name + 3 * i;
        if (!two_digits(p, &f[i]) || (i < 6 && p[2] != '-')) {
            snprintf(why, why_cap, "not a RAVDESS name MM-VV-EE-II-SS-RR-AA.ext (field %d, %s)", i + 1, field[i]);
            return AVEMO_EFORMAT;
        }
        if (f[i] < lo[i] || f[i] > hi[i]) {
            snprintf(why, why_cap, "%s %02d out of range %02d..%02d", field[i], f[i], lo[i], hi[i]);
            return AVEMO_EFORMAT;
        }
    }
    if (f[2] == 1 && f[3] == 2) {
        snprintf(why, why_cap, "neutral (emotion 01) has no strong intensity in RAVDESS");
        return AVEMO_EFORMAT;
    }
    if (f[1] == 2 && f[2] >= 7) {
        snprintf(why, why_cap, "song has no emotion %02d in RAVDESS (only 01..06)", f[2]);
        return AVEMO_EFORMAT;
    }
    const char *ext = name + 21;
    if (f[0] == 3 ? ext_in(ext, audio_exts) < 0 : ext_in(ext, video_exts) < 0) {
        snprintf(why, why_cap, "extension .%s does not fit modality %02d (%s)", ext, f[0],
                 f[0] == 3 ? "audio only" : "video");
        return AVEMO_EFORMAT;
    }
    return AVEMO_OK;
}

typedef struct {
    char *path;
    int f[7];
    int key;  /* utterance: (actor, vocal, emotion, intensity, statement, repetition) */
    int pref; /* extension preference among duplicates (lower first) */
} rav_file;

static int cmp_rav(const void *a, const void *b) {
    const rav_file *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    if (x->f[0] != y->f[0]) return x->f[0] - y->f[0];
    if (x->pref != y->pref) return x->pref - y->pref;
    return strcmp(x->path, y->path);
}

typedef struct {
    rav_file *v;
    int n, cap;
} rav_files;

/* Actor folder "Actor_XX" -> XX, else 0. */
static int actor_dir_number(const char *name) {
    int v;
    if (strncmp(name, "Actor_", 6) == 0 && strlen(name) == 8 && two_digits(name + 6, &v)) return v;
    return 0;
}

static int walk_ravdess(dataset *ds, const char *dir, int depth, int dir_actor, rav_files *files) {
    dir_list l;
    int rc = list_dir(dir, &l);
    if (rc) return depth == 0 ? rc : add_skipped(ds, dir, "%s", avemo_last_error());
    for (int i = 0; i < l.n && !rc; i++) {
        char *p = path_join(dir, l.names[i]);
        if (!p) { rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
        if (l.is_dir[i] == 1) {
            if (depth + 1 < SCAN_MAX_DEPTH) rc = walk_ravdess(ds, p, depth + 1, actor_dir_number(l.names[i]), files);
            else rc = add_skipped(ds, p, "folder nested too deep (more than %d levels)", SCAN_MAX_DEPTH);
            free(p);
            continue;
        }
        char why[256];
        rav_file rf = {0};
        if (ravdess_parse_name(l.names[i], rf.f, why, sizeof why) != AVEMO_OK) {
            rc = add_skipped(ds, p, "%s", why);
            free(p);
            continue;
        }
        if (dir_actor && rf.f[6] != dir_actor) {
            rc = add_skipped(ds, p, "actor %02d in the name but the folder is Actor_%02d", rf.f[6], dir_actor);
            free(p);
            continue;
        }
        const char *problem = file_problem(p);
        if (problem) {
            rc = add_skipped(ds, p, "%s", problem);
            free(p);
            continue;
        }
        const char *ext = file_ext(l.names[i]);
        rf.pref = rf.f[0] == 3 ? ext_in(ext, audio_exts) : ext_in(ext, video_exts);
        rf.key = (((((rf.f[6] * 3 + rf.f[1]) * 10 + rf.f[2]) * 3 + rf.f[3]) * 3 + rf.f[4]) * 3) + rf.f[5];
        rf.path = p;
        if (files->n == files->cap) {
            int nc = files->cap ? files->cap * 2 : 1024;
            rav_file *v = realloc(files->v, nc * sizeof *v);
            if (!v) { free(p); rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
            files->v = v;
            files->cap = nc;
        }
        files->v[files->n++] = rf;
    }
    dir_list_free(&l);
    return rc;
}

static int ravdess_label(int emotion, int n_classes) {
    if (n_classes == 8) return emotion - 1;
    return emotion <= 2 ? 0 : emotion - 2; /* 7 classes: calm merged into neutral */
}

static char *stem_of(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *s = xstrdup(b);
    if (!s) return NULL;
    char *dot = strrchr(s, '.');
    if (dot && dot != s) *dot = 0;
    return s;
}

static int add_ravdess_sample(dataset *ds, int *cap, const rav_file *video, const rav_file *audio, int n_classes) {
    dataset_sample *s = new_sample(ds, cap);
    if (!s) return avemo_error(AVEMO_ENOMEM, "out of memory");
    const rav_file *primary = video ? video : audio;
    s->id = stem_of(primary->path);
    s->video_path = video ? xstrdup(video->path) : NULL;
    s->audio_path = audio ? xstrdup(audio->path) : NULL;
    s->audio_from_video = !audio && video && video->f[0] == 1;
    s->emotion_code = primary->f[2];
    s->label = ravdess_label(primary->f[2], n_classes);
    s->actor = primary->f[6];
    s->vocal = primary->f[1];
    s->intensity = primary->f[3];
    if (!s->id || (video && !s->video_path) || (audio && !s->audio_path))
        return avemo_error(AVEMO_ENOMEM, "out of memory");
    return AVEMO_OK;
}

static int scan_ravdess(dataset *ds, const dataset_options *opt) {
    int n_classes = opt->n_classes ? opt->n_classes : 8;
    if (n_classes != 8 && n_classes != 7)
        return avemo_error(AVEMO_EINVAL, "RAVDESS has 8 classes (or 7 with calm merged into neutral), not %d",
                           n_classes);
    ds->n_classes = n_classes;
    for (int c = 0, k = 0; c < 8; c++) {
        if (n_classes == 7 && c == 1) continue;
        if (!(ds->class_names[k++] = xstrdup(ravdess_names[c]))) return avemo_error(AVEMO_ENOMEM, "out of memory");
    }
    rav_files files = {0};
    int rc = walk_ravdess(ds, ds->root, 0, actor_dir_number(ds->root), &files);
    if (rc) goto done;
    if (files.n) qsort(files.v, files.n, sizeof *files.v, cmp_rav); /* qsort(NULL, 0) is undefined */

    int cap = 0;
    for (int i = 0; i < files.n && !rc;) {
        int j = i;
        while (j < files.n && files.v[j].key == files.v[i].key) j++;
        /* one utterance: files i..j-1, sorted by modality then extension preference */
        const rav_file *by_mod[4] = {0};
        for (int k = i; k < j && !rc; k++) {
            const rav_file *f = &files.v[k];
            if (by_mod[f->f[0]]) rc = add_skipped(ds, f->path, "duplicate of %s", by_mod[f->f[0]]->path);
            else by_mod[f->f[0]] = f;
        }
        const rav_file *anyf = &files.v[i];
        i = j;
        if (rc) break;
        if (anyf->f[1] == 2 && !opt->include_song) continue; /* song: not an error, just not selected */
        const rav_file *v1 = by_mod[1], *v2 = by_mod[2], *a3 = by_mod[3];
        int need_a = opt->need & DATASET_NEED_AUDIO, need_v = opt->need & DATASET_NEED_VIDEO;
        if (need_v && !v1 && !v2) {
            rc = add_skipped(ds, anyf->path, "no 01-/02- video for this utterance (modality needs video)");
            continue;
        }
        if (opt->both_videos && (v1 || v2)) {
            const rav_file *vids[2] = {v1, v2};
            for (int k = 0; k < 2 && !rc; k++) {
                if (!vids[k]) continue;
                if (need_a && !a3 && k == 1) {
                    rc = add_skipped(ds, vids[k]->path, "02- video has no audio track and there is no 03- file");
                    continue;
                }
                rc = add_ravdess_sample(ds, &cap, vids[k], a3, n_classes);
            }
            continue;
        }
        const rav_file *v = v1 ? v1 : v2;
        if (need_a && !a3 && !v1) {
            rc = add_skipped(ds, v->path, "02- video has no audio track and there is no 03- file");
            continue;
        }
        rc = add_ravdess_sample(ds, &cap, v, a3, n_classes);
    }
done:
    for (int i = 0; i < files.n; i++) free(files.v[i].path);
    free(files.v);
    return rc;
}

/* ---------------------------------------------------------------- CREMA-D */

int cremad_parse_name(const char *stem, int *actor, int *emotion, int *level, char *why, int why_cap) {
    /* AAAA_SSS_EEE_LL */
    if (strlen(stem) != 15 || stem[4] != '_' || stem[8] != '_' || stem[12] != '_') {
        snprintf(why, why_cap, "not a CREMA-D name AAAA_SSS_EEE_LL");
        return AVEMO_EFORMAT;
    }
    int a = 0;
    for (int i = 0; i < 4; i++) {
        if (!isdigit((unsigned char)stem[i])) {
            snprintf(why, why_cap, "actor id '%.4s' is not a number", stem);
            return AVEMO_EFORMAT;
        }
        a = a * 10 + (stem[i] - '0');
    }
    if (a < 1001 || a > 1091) {
        snprintf(why, why_cap, "actor id %d out of range 1001..1091", a);
        return AVEMO_EFORMAT;
    }
    int s = -1, e = -1, l = -1;
    for (int i = 0; i < 12; i++)
        if (!strncmp(stem + 5, cremad_sentences[i], 3)) s = i;
    for (int i = 0; i < 6; i++)
        if (!strncmp(stem + 9, cremad_codes[i], 3)) e = i;
    for (int i = 0; i < 4; i++)
        if (!strncmp(stem + 13, cremad_levels[i], 2)) l = i;
    if (s < 0) { snprintf(why, why_cap, "unknown sentence '%.3s'", stem + 5); return AVEMO_EFORMAT; }
    if (e < 0) { snprintf(why, why_cap, "unknown emotion '%.3s' (ANG DIS FEA HAP NEU SAD)", stem + 9); return AVEMO_EFORMAT; }
    if (l < 0) { snprintf(why, why_cap, "unknown level '%.2s' (LO MD HI XX)", stem + 13); return AVEMO_EFORMAT; }
    *actor = a;
    *emotion = e;
    *level = l;
    return AVEMO_OK;
}

typedef struct {
    char *stem, *path;
    int is_audio;
} cr_file;

static int cmp_cr(const void *a, const void *b) {
    const cr_file *x = a, *y = b;
    int c = strcmp(x->stem, y->stem);
    return c ? c : x->is_audio - y->is_audio;
}

static int collect_cremad(dataset *ds, const char *sub, int is_audio, cr_file **v, int *n, int *cap) {
    char *dir = path_join(ds->root, sub);
    if (!dir) return avemo_error(AVEMO_ENOMEM, "out of memory");
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) { free(dir); return AVEMO_OK; }
    dir_list l;
    int rc = list_dir(dir, &l);
    for (int i = 0; i < l.n && !rc; i++) {
        char *p = path_join(dir, l.names[i]);
        char *stem = stem_of(l.names[i]);
        if (!p || !stem) { free(p); free(stem); rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
        char why[256];
        int a, e, lv;
        if (l.is_dir[i] == 1) rc = add_skipped(ds, p, "unexpected folder");
        else if (ext_in(file_ext(l.names[i]), is_audio ? audio_exts : video_exts) < 0)
            rc = add_skipped(ds, p, "extension .%s is not %s", file_ext(l.names[i]), is_audio ? "audio" : "video");
        else if (cremad_parse_name(stem, &a, &e, &lv, why, sizeof why)) rc = add_skipped(ds, p, "%s", why);
        else if (file_problem(p)) rc = add_skipped(ds, p, "%s", file_problem(p));
        else {
            if (*n == *cap) {
                int nc = *cap ? *cap * 2 : 1024;
                cr_file *nv = realloc(*v, nc * sizeof *nv);
                if (!nv) { free(p); free(stem); rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
                *v = nv;
                *cap = nc;
            }
            (*v)[(*n)++] = (cr_file){stem, p, is_audio};
            continue;
        }
        free(p);
        free(stem);
    }
    dir_list_free(&l);
    free(dir);
    return rc;
}

static int scan_cremad(dataset *ds, const dataset_options *opt) {
    if (opt->n_classes && opt->n_classes != 6)
        return avemo_error(AVEMO_EINVAL, "CREMA-D has 6 classes, not %d", opt->n_classes);
    ds->n_classes = 6;
    for (int c = 0; c < 6; c++)
        if (!(ds->class_names[c] = xstrdup(cremad_names[c]))) return avemo_error(AVEMO_ENOMEM, "out of memory");
    cr_file *v = NULL;
    int n = 0, cap = 0, scap = 0;
    int rc = collect_cremad(ds, "VideoFlash", 0, &v, &n, &cap);
    if (!rc) rc = collect_cremad(ds, "AudioWAV", 1, &v, &n, &cap);
    if (!rc && n == 0)
        rc = avemo_error(AVEMO_EFORMAT, "%s: no CREMA-D clips (expected VideoFlash/*.flv and/or AudioWAV/*.wav)",
                         ds->root);
    if (rc) goto done;
    if (n) qsort(v, n, sizeof *v, cmp_cr);
    for (int i = 0; i < n && !rc;) {
        const cr_file *vid = NULL, *aud = NULL;
        int j = i;
        for (; j < n && !strcmp(v[j].stem, v[i].stem); j++) {
            const cr_file **slot = v[j].is_audio ? &aud : &vid;
            if (*slot) rc = add_skipped(ds, v[j].path, "duplicate of %s", (*slot)->path);
            else *slot = &v[j];
        }
        i = j;
        if (rc) break;
        if ((opt->need & DATASET_NEED_VIDEO) && !vid) {
            rc = add_skipped(ds, aud->path, "no VideoFlash video for this clip (modality needs video)");
            continue;
        }
        dataset_sample *s = new_sample(ds, &scap);
        if (!s) { rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
        int a, e, lv;
        char why[64];
        cremad_parse_name((vid ? vid : aud)->stem, &a, &e, &lv, why, sizeof why);
        s->id = xstrdup((vid ? vid : aud)->stem);
        s->video_path = vid ? xstrdup(vid->path) : NULL;
        s->audio_path = aud ? xstrdup(aud->path) : NULL;
        s->audio_from_video = vid && !aud;
        s->actor = a;
        s->label = s->emotion_code = e;
        s->intensity = lv;
        if (!s->id || (vid && !s->video_path) || (aud && !s->audio_path)) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    }
done:
    for (int i = 0; i < n; i++) {
        free(v[i].stem);
        free(v[i].path);
    }
    free(v);
    return rc;
}

/* ---------------------------------------------------------------- image folders */

/* A folder holding image files directly (not only sub-folders). */
static int has_image_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)))
        found = e->d_name[0] != '.' && ext_in(file_ext(e->d_name), image_exts) >= 0;
    closedir(d);
    return found;
}

static int find_name(char **names, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

static int scan_imagefolder(dataset *ds, const dataset_options *opt) {
    dir_list top;
    int rc = list_dir(ds->root, &top), cap = 0;
    if (rc) return rc;
    /* <root>/<split>/<class>/ or, when root's sub-folders hold images themselves, <root>/<class>/ */
    int root_is_split = 0;
    for (int i = 0; i < top.n && !root_is_split; i++) {
        if (top.is_dir[i] != 1) continue;
        char *p = path_join(ds->root, top.names[i]);
        root_is_split = p && has_image_files(p);
        free(p);
    }
    /* split folders (or the root itself) -> split names */
    int n_split_dirs = root_is_split ? 1 : 0;
    for (int i = 0; i < top.n && !root_is_split; i++) n_split_dirs += top.is_dir[i] == 1;
    ds->split_names = calloc(n_split_dirs ? n_split_dirs : 1, sizeof *ds->split_names);
    if (!ds->split_names) { dir_list_free(&top); return avemo_error(AVEMO_ENOMEM, "out of memory"); }
    if (root_is_split) {
        const char *b = strrchr(ds->root, '/');
        ds->split_names[ds->n_splits++] = xstrdup(b && b[1] ? b + 1 : ds->root);
    } else {
        for (int i = 0; i < top.n; i++)
            if (top.is_dir[i] == 1) ds->split_names[ds->n_splits++] = xstrdup(top.names[i]);
            else if ((rc = add_skipped(ds, top.names[i], "file outside <split>/<class>/ folders (in %s)", ds->root)))
                break;
    }
    /* class names: the union of class folders over splits, sorted */
    for (int si = 0; si < ds->n_splits && !rc; si++) {
        char *sdir = root_is_split ? xstrdup(ds->root) : path_join(ds->root, ds->split_names[si]);
        dir_list cl;
        if (!sdir || (rc = list_dir(sdir, &cl))) { free(sdir); break; }
        for (int c = 0; c < cl.n && !rc; c++) {
            if (cl.is_dir[c] != 1) continue;
            if (find_name(ds->class_names, ds->n_classes, cl.names[c]) >= 0) continue;
            if (ds->n_classes == DATASET_MAX_CLASSES)
                rc = avemo_error(AVEMO_EFORMAT, "%s: more than %d class folders", sdir, DATASET_MAX_CLASSES);
            else ds->class_names[ds->n_classes++] = xstrdup(cl.names[c]);
        }
        dir_list_free(&cl);
        free(sdir);
    }
    if (!rc) qsort(ds->class_names, ds->n_classes, sizeof *ds->class_names, cmp_str);
    if (!rc && opt->n_classes && opt->n_classes != ds->n_classes)
        rc = avemo_error(AVEMO_EINVAL, "%s: %d class folders found but --classes %d asked", ds->root, ds->n_classes,
                         opt->n_classes);
    /* images, in (split, class, file name) order */
    for (int si = 0; si < ds->n_splits && !rc; si++) {
        char *sdir = root_is_split ? xstrdup(ds->root) : path_join(ds->root, ds->split_names[si]);
        dir_list cl;
        if (!sdir || (rc = list_dir(sdir, &cl))) { free(sdir); break; }
        for (int c = 0; c < cl.n && !rc; c++) {
            char *cdir = path_join(sdir, cl.names[c]);
            if (!cdir) { rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
            if (cl.is_dir[c] != 1) {
                rc = add_skipped(ds, cdir, "file outside <class>/ folders");
                free(cdir);
                continue;
            }
            int label = find_name(ds->class_names, ds->n_classes, cl.names[c]);
            dir_list im;
            /* listing without stat: d_type from readdir would do, but list_dir stats each entry; for
               28,709 FER2013 images that costs ~0.1 s, acceptable */
            if ((rc = list_dir(cdir, &im))) { free(cdir); break; }
            for (int k = 0; k < im.n && !rc; k++) {
                char *p = path_join(cdir, im.names[k]);
                if (!p) { rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
                if (im.is_dir[k] == 2) rc = add_skipped(ds, p, "missing (broken link?) or unreadable");
                else if (im.is_dir[k]) rc = add_skipped(ds, p, "unexpected folder inside a class folder");
                else if (ext_in(file_ext(im.names[k]), image_exts) < 0)
                    rc = add_skipped(ds, p, "not an image extension (jpg, jpeg, png, bmp)");
                else {
                    dataset_sample *s = new_sample(ds, &cap);
                    char *stem = stem_of(im.names[k]);
                    size_t idn = strlen(ds->split_names[si]) + strlen(cl.names[c]) + (stem ? strlen(stem) : 0) + 8;
                    char *id = malloc(idn);
                    if (!s || !stem || !id) {
                        free(stem);
                        free(id);
                        free(p);
                        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
                        break;
                    }
                    snprintf(id, idn, "%s__%s__%s", ds->split_names[si], cl.names[c], stem);
                    free(stem);
                    s->id = id;
                    s->video_path = p;
                    s->label = s->emotion_code = label;
                    s->split = si;
                    continue;
                }
                free(p);
            }
            dir_list_free(&im);
            free(cdir);
        }
        dir_list_free(&cl);
        free(sdir);
    }
    dir_list_free(&top);
    return rc;
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
    ds->root = xstrdup(root);
    if (!ds->root) return avemo_error(AVEMO_ENOMEM, "out of memory");
    size_t rl = strlen(ds->root);
    while (rl > 1 && ds->root[rl - 1] == '/') ds->root[--rl] = 0;
    int rc;
    switch (opt->kind) {
    case DATASET_RAVDESS: rc = scan_ravdess(ds, opt); break;
    case DATASET_CREMAD: rc = scan_cremad(ds, opt); break;
    case DATASET_IMAGEFOLDER: rc = scan_imagefolder(ds, opt); break;
    default: rc = avemo_error(AVEMO_EINVAL, "unknown dataset kind %d", (int)opt->kind);
    }
    if (!rc && !ds->split_names) {
        ds->split_names = calloc(1, sizeof *ds->split_names);
        if (ds->split_names && (ds->split_names[0] = xstrdup(""))) ds->n_splits = 1;
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
