/* RAVDESS (data/dataset.h): Actor_XX/MM-VV-EE-II-SS-RR-AA.ext, one sample per utterance, pairing its 01- (full
 * AV), 02- (video only) and 03- (audio only) files. */
#include "core/err.h"
#include "data/dataset_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ravdess_names[8] = {"neutral", "calm",    "happy",   "sad",
                                             "angry",   "fearful", "disgust", "surprised"};

/* Fields of a RAVDESS name, in name order. */
enum { RAV_MODALITY, RAV_VOCAL, RAV_EMOTION, RAV_INTENSITY, RAV_STATEMENT, RAV_REPETITION, RAV_ACTOR };

static int two_digits(const char *p, int *v) {
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1])) return 0;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return 1;
}

int ravdess_parse_name(const char *name, int fields[7], char *why, int why_cap) {
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
        if (!two_digits(p, &fields[i]) || (i < 6 && p[2] != '-')) {
            snprintf(why, why_cap, "not a RAVDESS name MM-VV-EE-II-SS-RR-AA.ext (field %d, %s)", i + 1, field[i]);
            return AVEMO_EFORMAT;
        }
        if (fields[i] < lo[i] || fields[i] > hi[i]) {
            snprintf(why, why_cap, "%s %02d out of range %02d..%02d", field[i], fields[i], lo[i], hi[i]);
            return AVEMO_EFORMAT;
        }
    }
    if (fields[RAV_EMOTION] == 1 && fields[RAV_INTENSITY] == 2) {
        snprintf(why, why_cap, "neutral (emotion 01) has no strong intensity in RAVDESS");
        return AVEMO_EFORMAT;
    }
    if (fields[RAV_VOCAL] == 2 && fields[RAV_EMOTION] >= 7) {
        snprintf(why, why_cap, "song has no emotion %02d in RAVDESS (only 01..06)", fields[RAV_EMOTION]);
        return AVEMO_EFORMAT;
    }
    const char *ext = name + 21;
    int modality = fields[RAV_MODALITY];
    if (modality == 3 ? dataset_ext_index(ext, dataset_audio_exts) < 0
                      : dataset_ext_index(ext, dataset_video_exts) < 0) {
        snprintf(why, why_cap, "extension .%s does not fit modality %02d (%s)", ext, modality,
                 modality == 3 ? "audio only" : "video");
        return AVEMO_EFORMAT;
    }
    return AVEMO_OK;
}

typedef struct {
    char *path;
    int fields[7]; /* MM VV EE II SS RR AA (ravdess_parse_name) */
    int key;       /* utterance: (actor, vocal, emotion, intensity, statement, repetition) */
    int pref;      /* extension preference among duplicates (lower first) */
} rav_file;

static int cmp_rav(const void *a, const void *b) {
    const rav_file *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    if (x->fields[RAV_MODALITY] != y->fields[RAV_MODALITY]) return x->fields[RAV_MODALITY] - y->fields[RAV_MODALITY];
    if (x->pref != y->pref) return x->pref - y->pref;
    return strcmp(x->path, y->path);
}

typedef struct {
    rav_file *items;
    int n, cap;
} rav_files;

/* Actor folder "Actor_XX" -> XX, else 0. */
static int actor_dir_number(const char *name) {
    int v;
    if (strncmp(name, "Actor_", 6) == 0 && strlen(name) == 8 && two_digits(name + 6, &v)) return v;
    return 0;
}

/* The file `name` at `path` in a folder of actor dir_actor (0: not an actor folder): appended to files, or
 * skipped with the reason. Takes `path` over. */
static int add_file(dataset *ds, char *path, const char *name, int dir_actor, rav_files *files) {
    char why[256];
    rav_file rf = {0};
    int rc = AVEMO_OK;
    const char *problem;
    int *f = rf.fields;
    if (ravdess_parse_name(name, f, why, sizeof why) != AVEMO_OK) rc = dataset_add_skipped(ds, path, "%s", why);
    else if (dir_actor && f[RAV_ACTOR] != dir_actor)
        rc = dataset_add_skipped(ds, path, "actor %02d in the name but the folder is Actor_%02d", f[RAV_ACTOR],
                                 dir_actor);
    else if ((problem = dataset_file_problem(path))) rc = dataset_add_skipped(ds, path, "%s", problem);
    else {
        const char *ext = dataset_file_ext(name);
        rf.pref = f[RAV_MODALITY] == 3 ? dataset_ext_index(ext, dataset_audio_exts)
                                        : dataset_ext_index(ext, dataset_video_exts);
        rf.key = (((((f[RAV_ACTOR] * 3 + f[RAV_VOCAL]) * 10 + f[RAV_EMOTION]) * 3 + f[RAV_INTENSITY]) * 3 +
                   f[RAV_STATEMENT]) * 3) + f[RAV_REPETITION];
        rf.path = path;
        if (files->n == files->cap) {
            int new_cap = files->cap ? files->cap * 2 : 1024;
            rav_file *items = realloc(files->items, new_cap * sizeof *items);
            if (!items) {
                free(path);
                return avemo_error(AVEMO_ENOMEM, "out of memory");
            }
            files->items = items;
            files->cap = new_cap;
        }
        files->items[files->n++] = rf;
        return AVEMO_OK;
    }
    free(path);
    return rc;
}

static int walk_ravdess(dataset *ds, const char *dir, int depth, int dir_actor, rav_files *files) {
    dir_list l;
    int rc = dataset_list_dir(dir, &l);
    if (rc) return depth == 0 ? rc : dataset_add_skipped(ds, dir, "%s", avemo_last_error());
    for (int i = 0; i < l.n && !rc; i++) {
        char *p = dataset_path_join(dir, l.names[i]);
        if (!p) { rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
        if (l.is_dir[i] != 1) {
            rc = add_file(ds, p, l.names[i], dir_actor, files);
            continue;
        }
        if (depth + 1 < SCAN_MAX_DEPTH) rc = walk_ravdess(ds, p, depth + 1, actor_dir_number(l.names[i]), files);
        else rc = dataset_add_skipped(ds, p, "folder nested too deep (more than %d levels)", SCAN_MAX_DEPTH);
        free(p);
    }
    dataset_dir_list_free(&l);
    return rc;
}

static int ravdess_label(int emotion, int n_classes) {
    if (n_classes == 8) return emotion - 1;
    return emotion <= 2 ? 0 : emotion - 2; /* 7 classes: calm merged into neutral */
}

static int add_sample(dataset *ds, int *cap, const rav_file *video, const rav_file *audio, int n_classes) {
    dataset_sample *s = dataset_new_sample(ds, cap);
    if (!s) return avemo_error(AVEMO_ENOMEM, "out of memory");
    const rav_file *primary = video ? video : audio;
    s->id = dataset_stem_of(primary->path);
    s->video_path = video ? dataset_strdup(video->path) : NULL;
    s->audio_path = audio ? dataset_strdup(audio->path) : NULL;
    s->audio_from_video = !audio && video && video->fields[RAV_MODALITY] == 1;
    s->emotion_code = primary->fields[RAV_EMOTION];
    s->label = ravdess_label(primary->fields[RAV_EMOTION], n_classes);
    s->actor = primary->fields[RAV_ACTOR];
    s->vocal = primary->fields[RAV_VOCAL];
    s->intensity = primary->fields[RAV_INTENSITY];
    if (!s->id || (video && !s->video_path) || (audio && !s->audio_path))
        return avemo_error(AVEMO_ENOMEM, "out of memory");
    return AVEMO_OK;
}

/* One utterance's files by modality (by_mod[1] full AV, [2] video only, [3] audio only; NULL when absent) ->
 * its sample(s), or the reason it is skipped. `any` is one of its files (for messages). */
static int add_utterance(dataset *ds, const dataset_options *opt, int n_classes, const rav_file *const by_mod[4],
                         const rav_file *any, int *cap) {
    if (any->fields[RAV_VOCAL] == 2 && !opt->include_song) return AVEMO_OK; /* song: not an error, not selected */
    const rav_file *v1 = by_mod[1], *v2 = by_mod[2], *a3 = by_mod[3];
    int need_a = opt->need & DATASET_NEED_AUDIO, need_v = opt->need & DATASET_NEED_VIDEO;
    if (need_v && !v1 && !v2)
        return dataset_add_skipped(ds, any->path, "no 01-/02- video for this utterance (modality needs video)");
    if (opt->both_videos && (v1 || v2)) {
        const rav_file *vids[2] = {v1, v2};
        int rc = AVEMO_OK;
        for (int k = 0; k < 2 && !rc; k++) {
            if (!vids[k]) continue;
            if (need_a && !a3 && k == 1)
                rc = dataset_add_skipped(ds, vids[k]->path, "02- video has no audio track and there is no 03- file");
            else rc = add_sample(ds, cap, vids[k], a3, n_classes);
        }
        return rc;
    }
    const rav_file *v = v1 ? v1 : v2;
    if (need_a && !a3 && !v1)
        return dataset_add_skipped(ds, v->path, "02- video has no audio track and there is no 03- file");
    return add_sample(ds, cap, v, a3, n_classes);
}

int dataset_scan_ravdess(dataset *ds, const dataset_options *opt) {
    int n_classes = opt->n_classes ? opt->n_classes : 8;
    if (n_classes != 8 && n_classes != 7)
        return avemo_error(AVEMO_EINVAL, "RAVDESS has 8 classes (or 7 with calm merged into neutral), not %d",
                           n_classes);
    ds->n_classes = n_classes;
    for (int c = 0, k = 0; c < 8; c++) {
        if (n_classes == 7 && c == 1) continue;
        if (!(ds->class_names[k++] = dataset_strdup(ravdess_names[c])))
            return avemo_error(AVEMO_ENOMEM, "out of memory");
    }
    rav_files files = {0};
    int rc = walk_ravdess(ds, ds->root, 0, actor_dir_number(ds->root), &files);
    if (!rc && files.n) qsort(files.items, files.n, sizeof *files.items, cmp_rav); /* qsort(NULL, 0) is undefined */
    int cap = 0;
    for (int i = 0; i < files.n && !rc;) {
        int j = i;
        while (j < files.n && files.items[j].key == files.items[i].key) j++;
        /* one utterance: files i..j-1, sorted by modality then extension preference */
        const rav_file *by_mod[4] = {0};
        for (int k = i; k < j && !rc; k++) {
            const rav_file *f = &files.items[k];
            int mod = f->fields[RAV_MODALITY];
            if (by_mod[mod]) rc = dataset_add_skipped(ds, f->path, "duplicate of %s", by_mod[mod]->path);
            else by_mod[mod] = f;
        }
        if (!rc) rc = add_utterance(ds, opt, n_classes, by_mod, &files.items[i], &cap);
        i = j;
    }
    for (int i = 0; i < files.n; i++) free(files.items[i].path);
    free(files.items);
    return rc;
}
