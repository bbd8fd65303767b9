/* The paper's ablation tables (see train/ablate.h for the row mapping). */
#include "train/ablate.h"

#include "core/err.h"
#include "core/fileio.h"
#include "data/cache.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "avemo.h"

/* ---------------------------------------------------------------- the rows */

static const ablation_spec table3[] = {
    {"audio", "Audio only (MFCC)", MODALITY_AUDIO, FUSION_ATTENTION, AUDIO_STREAM_PAPER, 0, -1},
    {"video", "Video only (MobileNetV2)", MODALITY_VIDEO, FUSION_ATTENTION, AUDIO_STREAM_PAPER, 0, -1},
    {"av", "Audio-visual", MODALITY_AV, FUSION_ATTENTION, AUDIO_STREAM_PAPER, 0, -1},
};

/* Tables V and VII share their rows (RAVDESS and CREMA-D). */
static const ablation_spec table5[] = {
    {"mfcc_intermediate", "MFCC + intermediate fusion", MODALITY_AV, FUSION_INTERMEDIATE, AUDIO_STREAM_BASELINE, 0, 0},
    {"mfcc_mobilenet_intermediate", "MFCC + MobileNetV2, intermediate fusion", MODALITY_AV, FUSION_INTERMEDIATE,
     AUDIO_STREAM_PAPER, 0, 0},
    {"mfcc_mobilenet_feature", "MFCC + MobileNetV2, feature-level fusion", MODALITY_AV, FUSION_ATTENTION,
     AUDIO_STREAM_PAPER, 1, 0},
    {"frft_mobilenet_feature", "FRFT-MFCC + MobileNetV2, feature-level fusion", MODALITY_AV, FUSION_ATTENTION,
     AUDIO_STREAM_PAPER, 1, 1},
    {"frft_mobilenet_feature_res", "FRFT-MFCC + MobileNetV2, feature-level fusion + Conv1D residual blocks",
     MODALITY_AV, FUSION_ATTENTION, AUDIO_STREAM_PAPER, 0, 1},
};

const ablation_spec *ablate_table(int table, int *n) {
    if (table == 3) {
        *n = (int)(sizeof table3 / sizeof *table3);
        return table3;
    }
    if (table == 5 || table == 7) {
        *n = (int)(sizeof table5 / sizeof *table5);
        return table5;
    }
    *n = 0;
    return NULL;
}

static const char *roman(int table) { return table == 3 ? "III" : table == 5 ? "V" : "VII"; }

/* ---------------------------------------------------------------- caches */

typedef struct {
    const char *dir;   /* NULL: not given */
    char features[32]; /* "mfcc", "frft-mfcc", "" = no audio settings */
    int n, n_audio, n_feats;
    dataset_kind kind;
} cache_info;

static int cache_info_read(const char *dir, cache_info *ci) {
    memset(ci, 0, sizeof *ci);
    ci->dir = dir;
    if (!dir) return AVEMO_OK;
    feature_cache c;
    int rc = cache_open(&c, dir), failed;
    if (rc) return rc;
    ci->n = c.ds.n;
    ci->kind = c.ds.kind;
    cache_count(&c, CACHE_AUDIO, &ci->n_audio, &failed);
    cache_count(&c, CACHE_FEATS, &ci->n_feats, &failed);
    cJSON *cfg = cJSON_Parse(c.config_json ? c.config_json : "{}");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "audio"), "features");
    if (cJSON_IsString(f)) snprintf(ci->features, sizeof ci->features, "%s", f->valuestring);
    cJSON_Delete(cfg);
    cache_free(&c);
    return AVEMO_OK;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* (Re)point the link `at` to `target`; refuses to replace anything but a link. */
static int relink(const char *target, const char *at) {
    struct stat st;
    if (lstat(at, &st) == 0) {
        if (!S_ISLNK(st.st_mode)) return avemo_error(AVEMO_EINVAL, "%s exists and is not a link made by ablate", at);
        if (unlink(at) != 0) return avemo_error(AVEMO_EIO, "%s: cannot remove: %s", at, strerror(errno));
    }
    if (symlink(target, at) != 0) return avemo_error(AVEMO_EIO, "%s: cannot link to %s: %s", at, target, strerror(errno));
    return AVEMO_OK;
}

static cJSON *read_json(const char *path, size_t cap) {
    unsigned char *buf;
    size_t n;
    if (file_read_all(path, cap, &buf, &n)) return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)buf, n);
    free(buf);
    if (!j) avemo_error(AVEMO_EFORMAT, "%s: not valid JSON", path);
    return j;
}

typedef struct {
    const char *id;
    const cJSON *rec;
} id_rec;
static int cmp_id_rec(const void *a, const void *b) { return strcmp(((const id_rec *)a)->id, ((const id_rec *)b)->id); }

/* OUT/<name>: the audio cache's samples and audio features joined with the video cache's features of the
 * same sample ids (links to their audio/ and feats/ folders, one index.json). *n_joined = samples with both. */
static int join_caches(const char *audio_dir, const char *video_dir, const char *out, int *n_joined) {
    char path[4200], real_a[PATH_MAX], real_v[PATH_MAX];
    cJSON *ja = NULL, *jv = NULL;
    int rc = AVEMO_OK, joined = 0;
    *n_joined = 0;
    if (!realpath(audio_dir, real_a) || !realpath(video_dir, real_v))
        return avemo_error(AVEMO_EIO, "%s or %s: %s", audio_dir, video_dir, strerror(errno));
    snprintf(path, sizeof path, "%s/index.json", audio_dir);
    if (!(ja = read_json(path, (size_t)1 << 30))) return AVEMO_EFORMAT;
    snprintf(path, sizeof path, "%s/index.json", video_dir);
    if (!(jv = read_json(path, (size_t)1 << 30))) {
        rc = AVEMO_EFORMAT;
        goto done;
    }
    cJSON *sa = cJSON_GetObjectItemCaseSensitive(ja, "samples"), *sv = cJSON_GetObjectItemCaseSensitive(jv, "samples");
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(ja, "config"), *vcfg = cJSON_GetObjectItemCaseSensitive(jv, "config");
    if (!cJSON_IsArray(sa) || !cJSON_IsArray(sv) || !cJSON_IsObject(cfg) || !cJSON_IsObject(vcfg)) {
        rc = avemo_error(AVEMO_EFORMAT, "%s or %s: index without samples/config", audio_dir, video_dir);
        goto done;
    }
    /* the video cache's records sorted by id, looked up per audio sample */
    int nv = cJSON_GetArraySize(sv), k = 0;
    id_rec *vrec = malloc(((size_t)nv + 1) * sizeof *vrec);
    if (!vrec) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    const cJSON *r;
    cJSON_ArrayForEach(r, sv) {
        const cJSON *vid = cJSON_GetObjectItemCaseSensitive(r, "id");
        if (cJSON_IsString(vid)) vrec[k++] = (id_rec){vid->valuestring, r};
    }
    qsort(vrec, (size_t)k, sizeof *vrec, cmp_id_rec);
    cJSON *s;
    cJSON_ArrayForEach(s, sa) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "id");
        if (!cJSON_IsString(id)) continue;
        id_rec key = {id->valuestring, NULL};
        const id_rec *hit = bsearch(&key, vrec, (size_t)k, sizeof *vrec, cmp_id_rec);
        const cJSON *match = hit ? hit->rec : NULL;
        cJSON *hash = cJSON_GetObjectItemCaseSensitive(s, "hash");
        if (hash) cJSON_DeleteItemFromObjectCaseSensitive(hash, "feats");
        const cJSON *vh = match ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(match, "hash"), "feats")
                                : NULL;
        if (cJSON_IsString(vh)) {
            if (!hash) hash = cJSON_AddObjectToObject(s, "hash");
            cJSON_AddStringToObject(hash, "feats", vh->valuestring);
            const cJSON *vp = cJSON_GetObjectItemCaseSensitive(match, "video");
            if (cJSON_IsString(vp)) cJSON_ReplaceItemInObjectCaseSensitive(s, "video", cJSON_CreateString(vp->valuestring));
            joined++;
        }
    }
    free(vrec);
    if (joined == 0) {
        rc = avemo_error(AVEMO_EINVAL, "%s and %s share no sample with video features (different datasets?)", audio_dir,
                         video_dir);
        goto done;
    }
    /* settings: the audio cache's, with the video cache's video settings, and where both came from */
    cJSON *v = cJSON_GetObjectItemCaseSensitive(vcfg, "video");
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "video");
    if (v) cJSON_AddItemToObject(cfg, "video", cJSON_Duplicate(v, 1));
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "modality");
    cJSON_AddStringToObject(cfg, "modality", "av");
    cJSON *from = cJSON_CreateObject();
    cJSON_AddStringToObject(from, "audio", real_a);
    cJSON_AddStringToObject(from, "video", real_v);
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "joined_from");
    cJSON_AddItemToObject(cfg, "joined_from", from);
    if (strlen(out) + 16 > sizeof path) {
        rc = avemo_error(AVEMO_EINVAL, "%s: path too long", out);
        goto done;
    }
    if ((rc = make_dirs(out))) goto done;
    char target[PATH_MAX + 16];
    snprintf(target, sizeof target, "%s/audio", real_a);
    snprintf(path, sizeof path, "%.4000s/audio", out); /* length checked above */
    if ((rc = relink(target, path))) goto done;
    snprintf(target, sizeof target, "%s/feats", real_v);
    snprintf(path, sizeof path, "%.4000s/feats", out); /* length checked above */
    if ((rc = relink(target, path))) goto done;
    snprintf(path, sizeof path, "%.4000s/faces", out); /* length checked above */
    if (!is_dir(path) && (rc = make_dirs(path))) goto done;
    char *text = cJSON_Print(ja);
    if (!text) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(path, sizeof path, "%.4000s/index.json", out); /* length checked above */
    rc = atomic_write(path, text, strlen(text));
    free(text);
    *n_joined = joined;
done:
    cJSON_Delete(ja);
    cJSON_Delete(jv);
    return rc;
}

/* ---------------------------------------------------------------- one row */

static void describe(const ablation_spec *s, const train_options *base, const char *features, char *buf, size_t cap) {
    int blocks = s->fusion_blocks > 0 ? s->fusion_blocks : base->model.fusion_blocks;
    char fus[96] = "";
    if (s->modality == MODALITY_AV) {
        if (s->fusion == FUSION_ATTENTION || s->fusion == FUSION_CONCAT)
            snprintf(fus, sizeof fus, " --fusion %s (%d fusion residual block%s)", model_fusion_name(s->fusion), blocks,
                     blocks == 1 ? "" : "s");
        else
            snprintf(fus, sizeof fus, " --fusion %s", model_fusion_name(s->fusion));
    }
    snprintf(buf, cap, "--modality %s%s%s%s%s", model_modality_name(s->modality), fus,
             s->modality != MODALITY_VIDEO ? " --audio-stream " : "",
             s->modality != MODALITY_VIDEO ? audio_stream_name(s->audio_stream) : "",
             s->modality == MODALITY_VIDEO ? "" : features && *features ? (strcmp(features, "mfcc") ? ", FRFT-MFCC audio" : ", MFCC audio") : "");
}

/* Read OUT/<key>/report.json into r. */
static int read_report(ablate_result *r) {
    char path[4200];
    snprintf(path, sizeof path, "%s/report.json", r->run_dir);
    cJSON *j = read_json(path, (size_t)1 << 28);
    if (!j) return AVEMO_EFORMAT;
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(j, "summary");
    const cJSON *t1 = cJSON_GetObjectItemCaseSensitive(sum, "top1"), *f1 = cJSON_GetObjectItemCaseSensitive(sum, "macro_f1");
    const cJSON *nf = cJSON_GetObjectItemCaseSensitive(sum, "n_folds"), *pr = cJSON_GetObjectItemCaseSensitive(j, "protocol");
#define NUM(o, k) (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, k)) ? cJSON_GetObjectItemCaseSensitive(o, k)->valuedouble : NAN)
    r->top1 = NUM(t1, "mean");
    r->top1_std = NUM(t1, "std");
    r->macro_f1 = NUM(f1, "mean");
    r->macro_f1_std = NUM(f1, "std");
#undef NUM
    r->n_folds = cJSON_IsNumber(nf) ? nf->valueint : 0;
    if (cJSON_IsString(pr)) snprintf(r->protocol, sizeof r->protocol, "%s", pr->valuestring);
    cJSON_Delete(j);
    return AVEMO_OK;
}

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* ---------------------------------------------------------------- the table */

static cJSON *num_or_null(double x) { return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull(); }

static const char *status_name(ablate_status s) {
    return s == ABLATE_DONE ? "done" : s == ABLATE_NOT_RUN ? "not run" : s == ABLATE_FAILED ? "failed" : "pending";
}

static int write_tables(const ablate_options *o, const ablate_result *res, int n, const char *dataset,
                        const char *join_note) {
    char path[4200], note[8192];
    ablation_row rows[ABLATE_MAX_ROWS];
    char labels[ABLATE_MAX_ROWS][800];
    size_t off = 0;
    off += snprintf(note + off, sizeof note - off,
                    "How each row was run (avemo's mapping of the paper's rows; every row in its own folder "
                    "under %s):\n\n", o->out_dir);
    for (int i = 0; i < n; i++) {
        const ablate_result *r = &res[i];
        if (r->status == ABLATE_DONE)
            snprintf(labels[i], sizeof labels[i], "%s", r->spec->label);
        else
            snprintf(labels[i], sizeof labels[i], "%s (%s: %s)", r->spec->label, status_name(r->status), r->reason);
        rows[i] = (ablation_row){labels[i], 100 * r->top1, 100 * r->top1_std, 100 * r->macro_f1, r->n_folds, r->paper,
                                 r->protocol[0] ? r->protocol : NULL};
        if (off < sizeof note)
            off += snprintf(note + off, sizeof note - off, "- `%s`: %s%s%s\n", r->spec->key, r->settings,
                            r->cache[0] ? "; cache " : "", r->cache);
    }
    if (o->table != 3 && off < sizeof note)
        off += snprintf(note + off, sizeof note - off,
                        "\nThe paper's first row starts from the baseline system, whose visual backbone (EfficientFace) "
                        "avemo does not have: every row here uses the cache's MobileNetV2 features, so rows 1 -> 2 "
                        "compare the baseline's audio stream with Table II's. Feature-level fusion = the attention fusion "
                        "(self-attention + modality gate); rows 3-4 keep one fusion Conv1D residual block (the fewest the "
                        "head has: it maps the joined channels), row 5 all of them (the full model).\n");
    if (join_note && *join_note && off < sizeof note) off += snprintf(note + off, sizeof note - off, "\n%s\n", join_note);
    char title[256];
    snprintf(title, sizeof title, "Table %s (%s): ours vs the paper", roman(o->table), dataset);
    snprintf(path, sizeof path, "%s/table%d.md", o->out_dir, o->table);
    int rc = report_write_ablation_md(path, title, rows, n, note);
    if (rc) return rc;

    cJSON *j = cJSON_CreateObject(), *arr;
    cJSON_AddStringToObject(j, "table", roman(o->table));
    cJSON_AddStringToObject(j, "dataset", dataset);
    cJSON_AddStringToObject(j, "data", o->cache_dir);
    if (o->frft_cache_dir) cJSON_AddStringToObject(j, "data_frft", o->frft_cache_dir);
    cJSON_AddStringToObject(j, "accuracy_units", "percent");
    arr = cJSON_AddArrayToObject(j, "rows");
    for (int i = 0; i < n; i++) {
        const ablate_result *r = &res[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "key", r->spec->key);
        cJSON_AddStringToObject(x, "label", r->spec->label);
        cJSON_AddStringToObject(x, "settings", r->settings);
        cJSON_AddStringToObject(x, "modality", model_modality_name(r->spec->modality));
        if (r->spec->modality == MODALITY_AV) cJSON_AddStringToObject(x, "fusion", model_fusion_name(r->spec->fusion));
        if (r->spec->modality != MODALITY_VIDEO)
            cJSON_AddStringToObject(x, "audio_stream", audio_stream_name(r->spec->audio_stream));
        cJSON_AddStringToObject(x, "status", status_name(r->status));
        if (r->status != ABLATE_DONE) cJSON_AddStringToObject(x, "reason", r->reason);
        cJSON_AddStringToObject(x, "cache", r->cache);
        cJSON_AddStringToObject(x, "run", r->run_dir);
        cJSON_AddItemToObject(x, "top1_mean", num_or_null(100 * r->top1));
        cJSON_AddItemToObject(x, "top1_std", num_or_null(100 * r->top1_std));
        cJSON_AddItemToObject(x, "macro_f1_mean", num_or_null(100 * r->macro_f1));
        cJSON_AddItemToObject(x, "macro_f1_std", num_or_null(100 * r->macro_f1_std));
        cJSON_AddNumberToObject(x, "folds", r->n_folds);
        if (r->protocol[0]) cJSON_AddStringToObject(x, "protocol", r->protocol);
        else cJSON_AddNullToObject(x, "protocol");
        cJSON_AddItemToObject(x, "paper", num_or_null(r->paper));
        cJSON_AddItemToObject(x, "difference", num_or_null(100 * r->top1 - r->paper));
        cJSON_AddItemToArray(arr, x);
    }
    if (join_note && *join_note) cJSON_AddStringToObject(j, "note", join_note);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return avemo_error(AVEMO_ENOMEM, "out of memory");
    snprintf(path, sizeof path, "%s/table%d.json", o->out_dir, o->table);
    rc = atomic_write(path, text, strlen(text));
    free(text);
    return rc;
}

int ablate_run(const ablate_options *o, ablate_result *results, int *n_rows, int *n_failed) {
    int n = 0, rc;
    const ablation_spec *specs = ablate_table(o->table, &n);
    if (n_rows) *n_rows = 0;
    if (n_failed) *n_failed = 0;
    if (!specs) return avemo_error(AVEMO_EINVAL, "ablate: table %d unknown (3, 5 or 7)", o->table);
    if (!o->cache_dir || !o->out_dir) return avemo_error(AVEMO_EINVAL, "ablate: --data and --out are required");
    if (strlen(o->out_dir) > 3000) return avemo_error(AVEMO_EINVAL, "ablate: --out path too long");
    cache_info ci[2];
    if ((rc = cache_info_read(o->cache_dir, &ci[0]))) return rc;
    if ((rc = cache_info_read(o->frft_cache_dir, &ci[1]))) return rc;
    const char *dataset = dataset_kind_name(ci[0].kind);
    dataset_kind want = o->table == 7 ? DATASET_CREMAD : DATASET_RAVDESS;
    if (o->table != 3 && ci[0].kind != want)
        return avemo_error(AVEMO_EINVAL, "%s holds %s; table %s is the paper's %s table%s", o->cache_dir, dataset,
                           roman(o->table), dataset_kind_name(want),
                           ci[0].kind == DATASET_IMAGEFOLDER ? "" : o->table == 5 ? " (use --table 7)" : " (use --table 5)");
    if (ci[1].dir && ci[1].kind != ci[0].kind)
        return avemo_error(AVEMO_EINVAL, "%s holds %s but %s holds %s", o->frft_cache_dir, dataset_kind_name(ci[1].kind),
                           o->cache_dir, dataset);
    ablate_result *res = calloc((size_t)n, sizeof *res);
    if (!res) return avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        ablate_result *r = &res[i];
        r->spec = &specs[i];
        snprintf(r->run_dir, sizeof r->run_dir, "%s/%s", o->out_dir, specs[i].key);
        const paper_result *p = paper_lookup(roman(o->table), specs[i].key);
        r->paper = p && !strcmp(p->dataset, dataset) ? p->accuracy : NAN;
        r->top1 = r->top1_std = r->macro_f1 = r->macro_f1_std = NAN;
        if (!o->resume && file_exists(r->run_dir)) {
            rc = avemo_error(AVEMO_EINVAL, "%s exists: pass --resume to continue that table, or use a new --out",
                             r->run_dir);
            goto done;
        }
    }
    if ((rc = make_dirs(o->out_dir))) goto done;

    char joined_dir[4096] = "", join_note[1024] = "";
    int join_tried = 0, join_rc = 0;
    for (int i = 0; i < n; i++) {
        const ablation_spec *s = &specs[i];
        ablate_result *r = &res[i];
        int need_audio = s->modality != MODALITY_VIDEO, need_video = s->modality != MODALITY_AUDIO;
        /* which cache */
        const cache_info *c = &ci[0];
        if (s->frft >= 0) {
            const char *want = s->frft ? "frft-mfcc" : "mfcc";
            c = NULL;
            for (int k = 0; k < 2 && !c; k++)
                if (ci[k].dir && !strcmp(ci[k].features, want) && ci[k].n_audio > 0) c = &ci[k];
            if (!c) {
                r->status = ABLATE_NOT_RUN;
                if (s->frft && !o->frft_cache_dir)
                    snprintf(r->reason, sizeof r->reason, "no FRFT-MFCC cache (prep --features frft-mfcc, then --data-frft)");
                else
                    snprintf(r->reason, sizeof r->reason, "no cache with %s audio features (--data has %s%s%s)", want,
                             ci[0].features[0] ? ci[0].features : "none", o->frft_cache_dir ? ", --data-frft has " : "",
                             o->frft_cache_dir ? (ci[1].features[0] ? ci[1].features : "none") : "");
            }
        }
        describe(s, &o->train, c ? c->features : NULL, r->settings, sizeof r->settings);
        const char *cache_dir = c ? c->dir : NULL;
        if (c && need_audio && c->n_audio == 0) {
            r->status = ABLATE_NOT_RUN;
            snprintf(r->reason, sizeof r->reason, "cache has no audio features");
        }
        if (c && !r->status && need_video && c->n_feats == 0) {
            const cache_info *other = c == &ci[0] ? &ci[1] : &ci[0];
            if (s->frft >= 0 && other->dir && other->n_feats > 0) {
                /* video features from the other cache: join once */
                if (!join_tried) {
                    join_tried = 1;
                    snprintf(joined_dir, sizeof joined_dir, "%s/cache_%s_av", o->out_dir, s->frft ? "frft" : "mfcc");
                    int nj = 0;
                    join_rc = join_caches(c->dir, other->dir, joined_dir, &nj);
                    if (!join_rc)
                        snprintf(join_note, sizeof join_note,
                                 "%.300s: %d samples, audio features from %.300s joined with the video features of "
                                 "%.300s (same sample ids).", joined_dir, nj, c->dir, other->dir);
                    else
                        snprintf(join_note, sizeof join_note, "joining %.300s with the video of %.300s failed: %.300s",
                                 c->dir, other->dir, avemo_last_error());
                }
                if (join_rc) {
                    r->status = ABLATE_NOT_RUN;
                    snprintf(r->reason, sizeof r->reason, "cache has no video features and %.400s", join_note);
                } else {
                    cache_dir = joined_dir;
                }
            } else {
                r->status = ABLATE_NOT_RUN;
                snprintf(r->reason, sizeof r->reason, "cache has no video features");
            }
        }
        if (cache_dir) snprintf(r->cache, sizeof r->cache, "%.4000s", cache_dir);
        if (r->status == ABLATE_NOT_RUN) {
            if (o->on_row) o->on_row(o->ctx, i, n, r, 1);
            continue;
        }
        /* train */
        char report[4300];
        snprintf(report, sizeof report, "%s/report.json", r->run_dir);
        r->resumed = o->resume && file_exists(report);
        if (o->on_row) o->on_row(o->ctx, i, n, r, 0);
        train_options t = o->train;
        t.cache_dir = cache_dir;
        t.run_dir = r->run_dir;
        t.resume = o->resume;
        t.model.modality = s->modality;
        t.model.fusion = s->fusion;
        t.model.audio_stream = s->audio_stream;
        if (s->fusion_blocks > 0) t.model.fusion_blocks = s->fusion_blocks;
        if (s->modality == MODALITY_AUDIO) t.init_visual = NULL; /* --init-visual concerns the visual rows only */
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int trc = train_run(&t);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        r->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        if (!trc) trc = read_report(r);
        if (trc) {
            r->status = ABLATE_FAILED;
            snprintf(r->reason, sizeof r->reason, "%s", avemo_last_error());
            if (n_failed) (*n_failed)++;
        } else {
            r->status = ABLATE_DONE;
        }
        if (o->on_row) o->on_row(o->ctx, i, n, r, 1);
    }
    rc = write_tables(o, res, n, dataset, join_note);
    if (results) memcpy(results, res, (size_t)(n < ABLATE_MAX_ROWS ? n : ABLATE_MAX_ROWS) * sizeof *res);
    if (n_rows) *n_rows = n;
done:
    free(res);
    return rc;
}
