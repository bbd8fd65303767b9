/* CREMA-D (data/dataset.h): VideoFlash/AAAA_SSS_EEE_LL.flv and AudioWAV/AAAA_SSS_EEE_LL.wav, one sample per
 * clip stem, pairing its video and audio files. */
#include "core/err.h"
#include "data/dataset_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const cremad_codes[6] = {"ANG", "DIS", "FEA", "HAP", "NEU", "SAD"};
static const char *const cremad_names[6] = {"angry", "disgust", "fearful", "happy", "neutral", "sad"};
/* The 12 CREMA-D sentences (Cao et al. 2014). */
static const char *const cremad_sentences[12] = {"IEO", "TIE", "IOM", "IWW", "TAI", "MTI",
                                                 "IWL", "ITH", "DFA", "ITS", "TSI", "WSI"};
static const char *const cremad_levels[4] = {"XX", "LO", "MD", "HI"};

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

typedef struct {
    cr_file *items;
    int n, cap;
} cr_files;

static int cmp_cr(const void *a, const void *b) {
    const cr_file *x = a, *y = b;
    int c = strcmp(x->stem, y->stem);
    return c ? c : x->is_audio - y->is_audio;
}

/* The clip files of ROOT/sub (VideoFlash or AudioWAV; a missing folder holds none) into files. */
static int collect_cremad(dataset *ds, const char *sub, int is_audio, cr_files *files) {
    char *dir = dataset_path_join(ds->root, sub);
    if (!dir) return avemo_error(AVEMO_ENOMEM, "out of memory");
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) { free(dir); return AVEMO_OK; }
    const char *const *exts = is_audio ? dataset_audio_exts : dataset_video_exts;
    dir_list l;
    int rc = dataset_list_dir(dir, &l);
    for (int i = 0; i < l.n && !rc; i++) {
        char *p = dataset_path_join(dir, l.names[i]);
        char *stem = dataset_stem_of(l.names[i]);
        if (!p || !stem) { free(p); free(stem); rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
        char why[256];
        int actor, emotion, level;
        const char *ext = dataset_file_ext(l.names[i]);
        if (l.is_dir[i] == 1) rc = dataset_add_skipped(ds, p, "unexpected folder");
        else if (dataset_ext_index(ext, exts) < 0)
            rc = dataset_add_skipped(ds, p, "extension .%s is not %s", ext, is_audio ? "audio" : "video");
        else if (cremad_parse_name(stem, &actor, &emotion, &level, why, sizeof why))
            rc = dataset_add_skipped(ds, p, "%s", why);
        else if (dataset_file_problem(p)) rc = dataset_add_skipped(ds, p, "%s", dataset_file_problem(p));
        else {
            if (files->n == files->cap) {
                int new_cap = files->cap ? files->cap * 2 : 1024;
                cr_file *items = realloc(files->items, new_cap * sizeof *items);
                if (!items) { free(p); free(stem); rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
                files->items = items;
                files->cap = new_cap;
            }
            files->items[files->n++] = (cr_file){stem, p, is_audio};
            continue;
        }
        free(p);
        free(stem);
    }
    dataset_dir_list_free(&l);
    free(dir);
    return rc;
}

/* The sample of one clip: its video and/or audio file (at least one). */
static int add_clip(dataset *ds, int *cap, const cr_file *vid, const cr_file *aud) {
    dataset_sample *s = dataset_new_sample(ds, cap);
    if (!s) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int actor, emotion, level;
    char why[64];
    cremad_parse_name((vid ? vid : aud)->stem, &actor, &emotion, &level, why, sizeof why);
    s->id = dataset_strdup((vid ? vid : aud)->stem);
    s->video_path = vid ? dataset_strdup(vid->path) : NULL;
    s->audio_path = aud ? dataset_strdup(aud->path) : NULL;
    s->audio_from_video = vid && !aud;
    s->actor = actor;
    s->label = s->emotion_code = emotion;
    s->intensity = level;
    if (!s->id || (vid && !s->video_path) || (aud && !s->audio_path))
        return avemo_error(AVEMO_ENOMEM, "out of memory");
    return AVEMO_OK;
}

int dataset_scan_cremad(dataset *ds, const dataset_options *opt) {
    if (opt->n_classes && opt->n_classes != 6)
        return avemo_error(AVEMO_EINVAL, "CREMA-D has 6 classes, not %d", opt->n_classes);
    ds->n_classes = 6;
    for (int c = 0; c < 6; c++)
        if (!(ds->class_names[c] = dataset_strdup(cremad_names[c]))) return avemo_error(AVEMO_ENOMEM, "out of memory");
    cr_files files = {0};
    int sample_cap = 0;
    int rc = collect_cremad(ds, "VideoFlash", 0, &files);
    if (!rc) rc = collect_cremad(ds, "AudioWAV", 1, &files);
    if (!rc && files.n == 0)
        rc = avemo_error(AVEMO_EFORMAT, "%s: no CREMA-D clips (expected VideoFlash/*.flv and/or AudioWAV/*.wav)",
                         ds->root);
    if (!rc) qsort(files.items, files.n, sizeof *files.items, cmp_cr);
    const cr_file *v = files.items;
    for (int i = 0; i < files.n && !rc;) {
        const cr_file *vid = NULL, *aud = NULL;
        int j = i;
        for (; j < files.n && !strcmp(v[j].stem, v[i].stem); j++) {
            const cr_file **slot = v[j].is_audio ? &aud : &vid;
            if (*slot) rc = dataset_add_skipped(ds, v[j].path, "duplicate of %s", (*slot)->path);
            else *slot = &v[j];
        }
        i = j;
        if (rc) break;
        if ((opt->need & DATASET_NEED_VIDEO) && !vid)
            rc = dataset_add_skipped(ds, aud->path, "no VideoFlash video for this clip (modality needs video)");
        else rc = add_clip(ds, &sample_cap, vid, aud);
    }
    for (int i = 0; i < files.n; i++) {
        free(files.items[i].stem);
        free(files.items[i].path);
    }
    free(files.items);
    return rc;
}
