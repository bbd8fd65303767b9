/* The paper's ablation tables (see train/ablate.h for the row mapping). */
#include "train/ablate.h"

#include "core/dist.h"
#include "core/err.h"
#include "core/fileio.h"
#include "data/cache.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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

/* The rows of table 3, 5 or 7 (NULL for another number). */
static const ablation_spec *ablate_table(int table, int *n) {
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
    int extra_rows;    /* the audio has rows the paper's features lack (pitch: prep --recipe voice; deltas) */
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
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(cfg, "audio");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(a, "features");
    if (cJSON_IsString(f)) snprintf(ci->features, sizeof ci->features, "%s", f->valuestring);
    const cJSON *pitch = cJSON_GetObjectItemCaseSensitive(a, "pitch");
    const cJSON *deltas = cJSON_GetObjectItemCaseSensitive(a, "deltas");
    ci->extra_rows = cJSON_IsTrue(pitch) || (cJSON_IsNumber(deltas) && deltas->valueint > 0);
    cJSON_Delete(cfg);
    cache_free(&c);
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

/* The caches given, read and checked against the table; *dataset = the dataset's name. */
static int read_caches(const ablate_options *o, cache_info ci[2], const char **dataset) {
    int rc;
    if ((rc = cache_info_read(o->cache_dir, &ci[0]))) return rc;
    if ((rc = cache_info_read(o->frft_cache_dir, &ci[1]))) return rc;
    *dataset = dataset_kind_name(ci[0].kind);
    dataset_kind want = o->table == 7 ? DATASET_CREMAD : DATASET_RAVDESS;
    if (o->table != 3 && ci[0].kind != want)
        return avemo_error(AVEMO_EINVAL, "%s holds %s; table %s is the paper's %s table%s", o->cache_dir, *dataset,
                           roman(o->table), dataset_kind_name(want),
                           ci[0].kind == DATASET_IMAGEFOLDER ? "" : o->table == 5 ? " (use --table 7)" : " (use --table 5)");
    for (int k = 0; k < 2; k++)
        if (ci[k].extra_rows)
            return avemo_error(AVEMO_EINVAL,
                               "%s: its audio has pitch or delta rows; the paper's tables need the paper's features "
                               "alone (prep --recipe paper)", ci[k].dir);
    if (ci[1].dir && ci[1].kind != ci[0].kind)
        return avemo_error(AVEMO_EINVAL, "%s holds %s but %s holds %s", o->frft_cache_dir, dataset_kind_name(ci[1].kind),
                           o->cache_dir, *dataset);
    return AVEMO_OK;
}

/* The cache with the row's audio features (spec->frft: MFCC or FRFT-MFCC; -1: --data, whatever it holds), or
 * NULL with the row marked not run. */
static const cache_info *row_cache(const ablate_options *o, const ablation_spec *s, const cache_info ci[2],
                                   ablate_result *r) {
    if (s->frft < 0) return &ci[0];
    const char *want = s->frft ? "frft-mfcc" : "mfcc";
    for (int k = 0; k < 2; k++)
        if (ci[k].dir && !strcmp(ci[k].features, want) && ci[k].n_audio > 0) return &ci[k];
    r->status = ABLATE_NOT_RUN;
    if (s->frft && !o->frft_cache_dir)
        snprintf(r->reason, sizeof r->reason, "no FRFT-MFCC cache (prep --features frft-mfcc, then --data-frft)");
    else
        snprintf(r->reason, sizeof r->reason, "no cache with %s audio features (--data has %s%s%s)", want,
                 ci[0].features[0] ? ci[0].features : "none", o->frft_cache_dir ? ", --data-frft has " : "",
                 o->frft_cache_dir ? (ci[1].features[0] ? ci[1].features : "none") : "");
    return NULL;
}

/* OUT/cache_<features>_av: a row's audio cache joined with the other cache's video features, made once (by
 * the first row that needs it) and read by every row that does. */
typedef struct {
    int tried, rc;
    char dir[4096];
    char note[1024]; /* for the tables: what was joined, or why the join failed */
} cache_join_state;

static void join_once(const ablate_options *o, const ablation_spec *s, const cache_info *audio,
                      const cache_info *video, cache_join_state *js) {
    if (js->tried) return;
    js->tried = 1;
    snprintf(js->dir, sizeof js->dir, "%s/cache_%s_av", o->out_dir, s->frft ? "frft" : "mfcc");
    int n_joined = 0;
    js->rc = cache_join(audio->dir, video->dir, js->dir, &n_joined);
    if (!js->rc)
        snprintf(js->note, sizeof js->note,
                 "%.300s: %d samples, audio features from %.300s joined with the video features of %.300s (same "
                 "sample ids).", js->dir, n_joined, audio->dir, video->dir);
    else
        snprintf(js->note, sizeof js->note, "joining %.300s with the video of %.300s failed: %.300s", audio->dir,
                 video->dir, avemo_last_error());
}

/* The cache folder row r trains on, given its audio cache c (NULL when there is none): c's own, or the join
 * with the other cache's video features when c lacks them. NULL with the row marked not run when the row's
 * modalities are missing. */
static const char *row_cache_dir(const ablate_options *o, const ablation_spec *s, const cache_info ci[2],
                                 const cache_info *c, cache_join_state *js, ablate_result *r) {
    if (!c) return NULL;
    int need_audio = s->modality != MODALITY_VIDEO, need_video = s->modality != MODALITY_AUDIO;
    if (need_audio && c->n_audio == 0) {
        r->status = ABLATE_NOT_RUN;
        snprintf(r->reason, sizeof r->reason, "cache has no audio features");
        return c->dir;
    }
    if (!need_video || c->n_feats > 0) return c->dir;
    const cache_info *other = c == &ci[0] ? &ci[1] : &ci[0];
    if (s->frft < 0 || !other->dir || other->n_feats == 0) {
        r->status = ABLATE_NOT_RUN;
        snprintf(r->reason, sizeof r->reason, "cache has no video features");
        return c->dir;
    }
    join_once(o, s, c, other, js);
    if (!js->rc) return js->dir;
    r->status = ABLATE_NOT_RUN;
    snprintf(r->reason, sizeof r->reason, "cache has no video features and %.400s", js->note);
    return c->dir;
}

/* Train row r (or re-read it when resumed) on cache_dir; fills its numbers or marks it failed. */
static void train_row(const ablate_options *o, const ablation_spec *s, const char *cache_dir, int i, int n,
                      ablate_result *r, int *n_failed) {
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
}

/* ---------------------------------------------------------------- the rows over MPI ranks (core/dist.h) */

typedef struct {
    const ablate_options *o; /* the rows' options (on_row: on the rank that trains the row, or rank 0) */
    ablate_result *res;
    int n;
} row_jobs;

static int run_row_job(void *ctx, int i) {
    row_jobs *j = ctx;
    ablate_result *r = &j->res[i];
    if (r->status == ABLATE_NOT_RUN) return AVEMO_OK;
    train_row(j->o, r->spec, r->cache, i, j->n, r, NULL);
    if (j->o->on_row) j->o->on_row(j->o->ctx, i, j->n, r, 1);
    return AVEMO_OK; /* a failed row is a result of the table, not a failure of the run */
}

/* Under MPI: rank 0 finds each row's cache (and makes the joined one); then the rows go to the ranks from a
 * queue, each row trained alone on its rank (--distribute auto), or in turn, each trained by all the ranks
 * (--distribute folds / batch); every rank ends with every row's result. */
static int rows_over_ranks(const ablate_options *o, const ablation_spec *specs, const cache_info ci[2],
                           ablate_result *res, int n, cache_join_state *join) {
    for (int i = 0; i < n && dist_rank() == 0; i++) {
        ablate_result *r = &res[i];
        const cache_info *c = row_cache(o, &specs[i], ci, r);
        describe(&specs[i], &o->train, c ? c->features : NULL, r->settings, sizeof r->settings);
        const char *cache_dir = row_cache_dir(o, &specs[i], ci, c, join, r);
        if (cache_dir) snprintf(r->cache, sizeof r->cache, "%.4000s", cache_dir);
        if (r->status == ABLATE_NOT_RUN && o->on_row) o->on_row(o->ctx, i, n, r, 1);
    }
    int rc = dist_agree(dist_bcast(res, (size_t)n * sizeof *res, 0));
    if (!rc) rc = dist_agree(dist_bcast(join->note, sizeof join->note, 0));
    for (int i = 0; i < n; i++) res[i].spec = &specs[i]; /* rank 0's pointers: this process's own */
    ablate_options rows = *o;
    row_jobs jobs = {&rows, res, n};
    if (!rc && o->train.distribute == TRAIN_DIST_AUTO) {
        rows.train.distribute = TRAIN_DIST_NONE;
        rc = dist_run_items(n, run_row_job, &jobs, res, sizeof *res, NULL);
        for (int i = 0; i < n; i++) res[i].spec = &specs[i];
    } else {
        if (dist_rank() > 0) rows.on_row = NULL; /* every rank trains every row: rank 0 tells */
        for (int i = 0; !rc && i < n; i++) rc = run_row_job(&jobs, i);
    }
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
    const char *dataset;
    if ((rc = read_caches(o, ci, &dataset))) return rc;
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
            break;
        }
    }
    if ((rc = dist_agree(rc)) || (rc = make_dirs(o->out_dir))) goto done; /* under MPI: all ranks checked */
    cache_join_state join = {0};
    if (dist_size() > 1 && (rc = rows_over_ranks(o, specs, ci, res, n, &join))) goto done;
    for (int i = 0; i < n && dist_size() == 1; i++) {
        const ablation_spec *s = &specs[i];
        ablate_result *r = &res[i];
        const cache_info *c = row_cache(o, s, ci, r);
        describe(s, &o->train, c ? c->features : NULL, r->settings, sizeof r->settings);
        const char *cache_dir = row_cache_dir(o, s, ci, c, &join, r);
        if (cache_dir) snprintf(r->cache, sizeof r->cache, "%.4000s", cache_dir);
        if (r->status != ABLATE_NOT_RUN) train_row(o, s, cache_dir, i, n, r, n_failed);
        if (o->on_row) o->on_row(o->ctx, i, n, r, 1);
    }
    if (dist_size() > 1)
        for (int i = 0; i < n && n_failed; i++) *n_failed += res[i].status == ABLATE_FAILED;
    rc = dist_agree(dist_rank() == 0 ? write_tables(o, res, n, dataset, join.note) : AVEMO_OK);
    if (results) memcpy(results, res, (size_t)(n < ABLATE_MAX_ROWS ? n : ABLATE_MAX_ROWS) * sizeof *res);
    if (n_rows) *n_rows = n;
done:
    free(res);
    return rc;
}
