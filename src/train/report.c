#include "train/report.h"

#include "core/err.h"
#include "core/fileio.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avemo.h"

/* ---------------------------------------------------------------- the paper's numbers (spec section 7) */

static const paper_result paper[] = {
    {"III", "audio", "Audio only (MFCC)", "ravdess", 62.50},
    {"III", "video", "Video only (MobileNetV2)", "ravdess", 79.79},
    {"III", "av", "Audio-visual", "ravdess", 90.62},
    {"V", "mfcc_intermediate", "MFCC + intermediate fusion", "ravdess", 80.00},
    {"V", "mfcc_mobilenet_intermediate", "MFCC + MobileNetV2, intermediate fusion", "ravdess", 82.29},
    {"V", "mfcc_mobilenet_feature", "MFCC + MobileNetV2, feature-level fusion", "ravdess", 84.37},
    {"V", "frft_mobilenet_feature", "FRFT-MFCC + MobileNetV2, feature-level fusion", "ravdess", 87.91},
    {"V", "frft_mobilenet_feature_res", "FRFT-MFCC + MobileNetV2, feature-level fusion + Conv1D residual blocks",
     "ravdess", 90.62},
    {"VII", "mfcc_intermediate", "MFCC + intermediate fusion", "cremad", 71.13},
    {"VII", "mfcc_mobilenet_intermediate", "MFCC + MobileNetV2, intermediate fusion", "cremad", 74.24},
    {"VII", "mfcc_mobilenet_feature", "MFCC + MobileNetV2, feature-level fusion", "cremad", 75.98},
    {"VII", "frft_mobilenet_feature", "FRFT-MFCC + MobileNetV2, feature-level fusion", "cremad", 79.23},
    {"VII", "frft_mobilenet_feature_res", "FRFT-MFCC + MobileNetV2, feature-level fusion + Conv1D residual blocks",
     "cremad", 82.12},
};

const paper_result *paper_results(int *n) {
    *n = (int)(sizeof paper / sizeof *paper);
    return paper;
}

const paper_result *paper_lookup(const char *table, const char *key) {
    for (size_t i = 0; i < sizeof paper / sizeof *paper; i++)
        if (!strcmp(paper[i].table, table) && !strcmp(paper[i].key, key)) return &paper[i];
    return NULL;
}

/* ---------------------------------------------------------------- summary */

static mean_std over_folds(const run_report *r, size_t offset) {
    double *x = malloc((r->n_folds ? r->n_folds : 1) * sizeof *x);
    mean_std m = {NAN, NAN};
    if (!x) return m;
    for (int k = 0; k < r->n_folds; k++) x[k] = *(const double *)((const char *)&r->folds[k].test + offset);
    if (r->n_folds) metrics_mean_std(x, r->n_folds, &m.mean, &m.std);
    free(x);
    return m;
}

void report_summarize(const run_report *r, run_summary *s) {
    memset(s, 0, sizeof *s);
    s->top1 = over_folds(r, offsetof(eval_metrics, top1));
    s->top2 = over_folds(r, offsetof(eval_metrics, top2));
    s->top3 = over_folds(r, offsetof(eval_metrics, top3));
    s->macro_f1 = over_folds(r, offsetof(eval_metrics, macro_f1));
    int n_classes = r->n_classes;
    double x[4096];
    for (int c = 0; c < n_classes; c++) {
        int n = 0;
        for (int k = 0; k < r->n_folds && n < 4096; k++)
            if (!isnan(r->folds[k].test.recall[c])) x[n++] = r->folds[k].test.recall[c];
        s->recall[c].mean = s->recall[c].std = NAN;
        if (n) metrics_mean_std(x, n, &s->recall[c].mean, &s->recall[c].std);
    }
    double t[2][4096];
    int nm = 0;
    for (int k = 0; k < r->n_folds && k < 4096; k++) {
        const fold_report *f = &r->folds[k];
        if (f->n_members < 2) continue;
        t[0][nm] = t[1][nm] = 0;
        for (int j = 0; j < f->n_members; j++) {
            t[0][nm] += f->member_top1[j] / f->n_members;
            t[1][nm] += f->member_macro_f1[j] / f->n_members;
        }
        nm++;
    }
    s->member_top1.mean = s->member_top1.std = s->member_macro_f1.mean = s->member_macro_f1.std = NAN;
    double v[4096];
    int nv = 0;
    for (int k = 0; k < r->n_folds && k < 4096; k++)
        if (isfinite(r->folds[k].val_top1)) v[nv++] = r->folds[k].val_top1;
    s->val_top1.mean = s->val_top1.std = NAN;
    if (nv) metrics_mean_std(v, nv, &s->val_top1.mean, &s->val_top1.std);
    if (nm) {
        metrics_mean_std(t[0], nm, &s->member_top1.mean, &s->member_top1.std);
        metrics_mean_std(t[1], nm, &s->member_macro_f1.mean, &s->member_macro_f1.std);
    }
    s->pooled.n_classes = n_classes;
    for (int k = 0; k < r->n_folds; k++)
        for (int i = 0; i < n_classes * n_classes; i++) s->pooled.confusion[i] += r->folds[k].test.confusion[i];
    metrics_from_confusion(&s->pooled);
    /* pooled top-2/3: sample-weighted average of the folds' */
    double t2 = 0, t3 = 0;
    int n = 0;
    for (int k = 0; k < r->n_folds; k++) {
        t2 += r->folds[k].test.top2 * r->folds[k].test.n;
        t3 += r->folds[k].test.top3 * r->folds[k].test.n;
        n += r->folds[k].test.n;
    }
    s->pooled.top2 = n ? t2 / n : 0;
    s->pooled.top3 = n ? t3 / n : 0;
}

/* ---------------------------------------------------------------- JSON */

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *int_array(const int *a, int n) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(a[i]));
    return arr;
}

static cJSON *metrics_json(const eval_metrics *m, int n_classes) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", m->n);
    cJSON_AddItemToObject(o, "top1", num_or_null(m->top1));
    cJSON_AddItemToObject(o, "top2", num_or_null(m->top2));
    cJSON_AddItemToObject(o, "top3", num_or_null(m->top3));
    cJSON_AddItemToObject(o, "macro_f1", num_or_null(m->macro_f1));
    cJSON *rec = cJSON_AddArrayToObject(o, "per_class_recall");
    cJSON *pre = cJSON_AddArrayToObject(o, "per_class_precision");
    cJSON *f1 = cJSON_AddArrayToObject(o, "per_class_f1");
    for (int c = 0; c < n_classes; c++) {
        cJSON_AddItemToArray(rec, num_or_null(m->recall[c]));
        cJSON_AddItemToArray(pre, num_or_null(m->precision[c]));
        cJSON_AddItemToArray(f1, num_or_null(m->f1[c]));
    }
    cJSON_AddItemToObject(o, "support", int_array(m->support, n_classes));
    cJSON *conf = cJSON_AddArrayToObject(o, "confusion");
    for (int c = 0; c < n_classes; c++) cJSON_AddItemToArray(conf, int_array(m->confusion + c * n_classes, n_classes));
    return o;
}

/* std is written as null when it rests on fewer than 2 folds (undefined; run_summary holds 0 there) */
static cJSON *mean_std_json(mean_std m, int n_folds) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "mean", num_or_null(m.mean));
    cJSON_AddItemToObject(o, "std", n_folds > 1 ? num_or_null(m.std) : cJSON_CreateNull());
    return o;
}

static int write_text_atomic(const char *path, const char *text) {
    int rc = atomic_write(path, text, strlen(text));
    return rc;
}

static int report_write_json(const run_report *r, const char *path) {
    if (r->n_classes < 1 || r->n_classes > METRICS_MAX_CLASSES)
        return avemo_error(AVEMO_EINVAL, "report: %d classes", r->n_classes);
    run_summary s;
    report_summarize(r, &s);
    int n_classes = r->n_classes, rc = AVEMO_OK;
    cJSON *root = cJSON_CreateObject();
    if (!root) return avemo_error(AVEMO_ENOMEM, "report: out of memory");
    cJSON_AddStringToObject(root, "avemo_version", AVEMO_VERSION);
    cJSON_AddStringToObject(root, "command", r->command ? r->command : "");
    cJSON_AddStringToObject(root, "dataset", r->dataset ? r->dataset : "");
    cJSON_AddStringToObject(root, "protocol", r->protocol ? r->protocol : "");
    cJSON_AddStringToObject(root, "protocol_description", r->protocol_desc ? r->protocol_desc : "");
    cJSON_AddBoolToObject(root, "speaker_independent", r->speaker_independent);
    cJSON_AddNumberToObject(root, "seed", (double)r->seed);
    char hex[20];
    snprintf(hex, sizeof hex, "%016" PRIx64, r->data_hash);
    cJSON_AddStringToObject(root, "data_hash", hex);
    cJSON *cfg = r->config_json ? cJSON_Parse(r->config_json) : cJSON_CreateObject();
    if (!cfg) {
        cJSON_Delete(root);
        return avemo_error(AVEMO_EINVAL, "report: config is not valid JSON");
    }
    cJSON_AddItemToObject(root, "config", cfg);
    cJSON *names = cJSON_AddArrayToObject(root, "classes");
    for (int c = 0; c < n_classes; c++) cJSON_AddItemToArray(names, cJSON_CreateString(r->class_names[c]));
    cJSON_AddStringToObject(root, "std_convention", "sample standard deviation over folds (ddof = 1)");
    cJSON *summary = cJSON_AddObjectToObject(root, "summary");
    cJSON_AddNumberToObject(summary, "n_folds", r->n_folds);
    cJSON_AddItemToObject(summary, "top1", mean_std_json(s.top1, r->n_folds));
    cJSON_AddItemToObject(summary, "top2", mean_std_json(s.top2, r->n_folds));
    cJSON_AddItemToObject(summary, "top3", mean_std_json(s.top3, r->n_folds));
    cJSON_AddItemToObject(summary, "macro_f1", mean_std_json(s.macro_f1, r->n_folds));
    cJSON *rec = cJSON_AddArrayToObject(summary, "per_class_recall");
    for (int c = 0; c < n_classes; c++) cJSON_AddItemToArray(rec, mean_std_json(s.recall[c], r->n_folds));
    cJSON_AddItemToObject(summary, "pooled", metrics_json(&s.pooled, n_classes));
    if (isfinite(s.val_top1.mean)) cJSON_AddItemToObject(summary, "val_top1", mean_std_json(s.val_top1, r->n_folds));
    if (isfinite(s.member_top1.mean)) { /* a seed ensemble's members, each alone */
        cJSON_AddItemToObject(summary, "member_top1", mean_std_json(s.member_top1, r->n_folds));
        cJSON_AddItemToObject(summary, "member_macro_f1", mean_std_json(s.member_macro_f1, r->n_folds));
    }
    cJSON *folds = cJSON_AddArrayToObject(root, "folds");
    for (int k = 0; k < r->n_folds; k++) {
        const fold_report *f = &r->folds[k];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "fold", k + 1);
        cJSON_AddItemToObject(o, "test_actors", int_array(f->test_actors, f->n_test_actors));
        cJSON_AddItemToObject(o, "val_actors", int_array(f->val_actors, f->n_val_actors));
        cJSON_AddNumberToObject(o, "n_train", f->n_train);
        cJSON_AddNumberToObject(o, "n_val", f->n_val);
        cJSON_AddNumberToObject(o, "best_epoch", f->best_epoch);
        cJSON_AddItemToObject(o, "best_val_top1", num_or_null(f->best_val_top1));
        cJSON_AddItemToObject(o, "val_top1", num_or_null(f->val_top1));
        cJSON_AddItemToObject(o, "test", metrics_json(&f->test, n_classes));
        if (f->n_members > 1) {
            cJSON *mt = cJSON_AddArrayToObject(o, "member_top1"), *mf = cJSON_AddArrayToObject(o, "member_macro_f1");
            for (int j = 0; j < f->n_members; j++) {
                cJSON_AddItemToArray(mt, num_or_null(f->member_top1[j]));
                cJSON_AddItemToArray(mf, num_or_null(f->member_macro_f1[j]));
            }
        }
        if (f->n_speakers) { /* {"actor": clips that fed its statistics} */
            cJSON *sp = cJSON_AddObjectToObject(o, "speaker_stats_clips");
            for (int i = 0; i < f->n_speakers; i++) {
                char key[16];
                snprintf(key, sizeof key, "%d", f->speaker_ids[i]);
                cJSON_AddNumberToObject(sp, key, f->speaker_clips[i]);
            }
        }
        cJSON_AddItemToArray(folds, o);
    }
    char *text = cJSON_Print(root);
    if (!text) rc = avemo_error(AVEMO_ENOMEM, "report: out of memory");
    else rc = write_text_atomic(path, text);
    free(text);
    cJSON_Delete(root);
    return rc;
}

/* ---------------------------------------------------------------- Markdown */

static void pct(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.2f", 100 * v);
    else fprintf(f, "-");
}

/* mean, and "± std" only when it rests on 2 folds or more */
static void pct_ms(FILE *f, mean_std m, int n_folds) {
    pct(f, m.mean);
    if (isfinite(m.std) && n_folds > 1) fprintf(f, " ± %.2f", 100 * m.std);
}

static void actors_md(FILE *f, const int *a, int n) {
    if (!n) fprintf(f, "-");
    for (int i = 0; i < n; i++) fprintf(f, i ? ",%d" : "%d", a[i]);
}

static void md_header(FILE *f, const run_report *r) {
    int n_classes = r->n_classes;
    fprintf(f, "# avemo %s report\n\n", r->command ? r->command : "run");
    fprintf(f, "- dataset: %s, %d classes (", r->dataset ? r->dataset : "?", n_classes);
    for (int c = 0; c < n_classes; c++) fprintf(f, c ? ", %s" : "%s", r->class_names[c]);
    fprintf(f, ")\n- protocol: `%s`: %s\n", r->protocol ? r->protocol : "?", r->protocol_desc ? r->protocol_desc : "");
    fprintf(f, "- speaker-independent: %s\n", r->speaker_independent ? "yes" : "**no** (speakers shared between train and test)");
    fprintf(f, "- seed: %" PRIu64 ", data hash: `%016" PRIx64 "`, avemo %s\n", r->seed, r->data_hash, AVEMO_VERSION);
    if (r->config_json) fprintf(f, "- config: `%s`\n", r->config_json);
}

/* " | a | b | c | d": the four scores of a metrics row */
static void md_scores(FILE *f, double top1, double top2, double top3, double macro_f1) {
    const double v[4] = {top1, top2, top3, macro_f1};
    for (int i = 0; i < 4; i++) {
        fprintf(f, " | ");
        pct(f, v[i]);
    }
}

/* "## Test results": one row per fold, the mean (± std) over folds and the pooled row. */
static void md_results(FILE *f, const run_report *r, const run_summary *s) {
    const char *ms = r->n_folds > 1 ? "mean ± std" : "mean";
    if (r->n_folds > 1) fprintf(f, "\n## Test results (%%), mean ± std over %d folds (sample std)\n\n", r->n_folds);
    else fprintf(f, "\n## Test results (%%), %d fold\n\n", r->n_folds);
    fprintf(f, "| fold | test actors | val actors | train / val / test | best epoch | top-1 | top-2 | top-3 | macro-F1 |\n");
    fprintf(f, "| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (int k = 0; k < r->n_folds; k++) {
        const fold_report *fr = &r->folds[k];
        fprintf(f, "| %d | ", k + 1);
        actors_md(f, fr->test_actors, fr->n_test_actors);
        fprintf(f, " | ");
        actors_md(f, fr->val_actors, fr->n_val_actors);
        fprintf(f, " | %d / %d / %d | ", fr->n_train, fr->n_val, fr->test.n);
        if (fr->best_epoch > 0) fprintf(f, "%d", fr->best_epoch);
        else fprintf(f, "-");
        md_scores(f, fr->test.top1, fr->test.top2, fr->test.top3, fr->test.macro_f1);
        fprintf(f, " |\n");
    }
    fprintf(f, "| **%s** | | | | | **", ms);
    pct_ms(f, s->top1, r->n_folds);
    fprintf(f, "** | ");
    pct_ms(f, s->top2, r->n_folds);
    fprintf(f, " | ");
    pct_ms(f, s->top3, r->n_folds);
    fprintf(f, " | ");
    pct_ms(f, s->macro_f1, r->n_folds);
    fprintf(f, " |\n| pooled (%d samples) | | | |", s->pooled.n);
    md_scores(f, s->pooled.top1, s->pooled.top2, s->pooled.top3, s->pooled.macro_f1);
    fprintf(f, " |\n");
    if (isfinite(s->val_top1.mean)) {
        fprintf(f, "\nValidation top-1 of the folds' models (the validation actors; what recipes are compared by): ");
        pct_ms(f, s->val_top1, r->n_folds);
        fprintf(f, ".\n");
    }
    if (isfinite(s->member_top1.mean)) {
        fprintf(f, "\nEach fold's model is a seed ensemble (mean softmax); its members alone, averaged per fold: top-1 ");
        pct_ms(f, s->member_top1, r->n_folds);
        fprintf(f, ", macro-F1 ");
        pct_ms(f, s->member_macro_f1, r->n_folds);
        fprintf(f, ".\n");
    }
}

/* "## Per-class recall": one column per fold, the mean (± std) and the pooled recall. */
static void md_recall(FILE *f, const run_report *r, const run_summary *s) {
    fprintf(f, "\n## Per-class recall (%%)\n\n| class |");
    for (int k = 0; k < r->n_folds; k++) fprintf(f, " fold %d |", k + 1);
    fprintf(f, " %s | pooled |\n| --- |", r->n_folds > 1 ? "mean ± std" : "mean");
    for (int k = 0; k <= r->n_folds + 1; k++) fprintf(f, " ---: |");
    fprintf(f, "\n");
    for (int c = 0; c < r->n_classes; c++) {
        fprintf(f, "| %s |", r->class_names[c]);
        for (int k = 0; k < r->n_folds; k++) {
            fprintf(f, " ");
            pct(f, r->folds[k].test.recall[c]);
            fprintf(f, " |");
        }
        fprintf(f, " ");
        pct_ms(f, s->recall[c], r->n_folds);
        fprintf(f, " | ");
        pct(f, s->pooled.recall[c]);
        fprintf(f, " |\n");
    }
}

/* "## Confusion matrix" of the pooled test predictions, with each class's recall. */
static void md_confusion(FILE *f, const run_report *r, const run_summary *s) {
    int n_classes = r->n_classes;
    fprintf(f, "\n## Confusion matrix, all folds' test samples pooled (rows: true class, columns: predicted)\n\n");
    fprintf(f, "| true \\ predicted |");
    for (int c = 0; c < n_classes; c++) fprintf(f, " %s |", r->class_names[c]);
    fprintf(f, " recall |\n| --- |");
    for (int c = 0; c <= n_classes; c++) fprintf(f, " ---: |");
    fprintf(f, "\n");
    for (int t = 0; t < n_classes; t++) {
        fprintf(f, "| **%s** |", r->class_names[t]);
        for (int p = 0; p < n_classes; p++) fprintf(f, " %d |", s->pooled.confusion[t * n_classes + p]);
        fprintf(f, " ");
        pct(f, s->pooled.recall[t]);
        fprintf(f, " |\n");
    }
}

static int report_write_md(const run_report *r, const char *path) {
    if (r->n_classes < 1 || r->n_classes > METRICS_MAX_CLASSES)
        return avemo_error(AVEMO_EINVAL, "report: %d classes", r->n_classes);
    run_summary s;
    report_summarize(r, &s);
    atomic_file af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    md_header(af.f, r);
    md_results(af.f, r, &s);
    md_recall(af.f, r, &s);
    md_confusion(af.f, r, &s);
    return atomic_commit(&af);
}

int report_write(const run_report *r, const char *run_dir) {
    int rc = make_dirs(run_dir);
    if (rc) return rc;
    char path[4096];
    snprintf(path, sizeof path, "%s/report.json", run_dir);
    if ((rc = report_write_json(r, path))) return rc;
    snprintf(path, sizeof path, "%s/report.md", run_dir);
    return report_write_md(r, path);
}

/* ---------------------------------------------------------------- ablation table */

int report_write_ablation_md(const char *path, const char *title, const ablation_row *rows, int n, const char *note) {
    atomic_file af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    FILE *f = af.f;
    fprintf(f, "# %s\n\n", title ? title : "Ablation");
    fprintf(f, "| model | ours: top-1 %% (mean ± std) | ours: macro-F1 %% | folds | paper: top-1 %% | ours − paper | protocol |\n");
    fprintf(f, "| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for (int i = 0; i < n; i++) {
        const ablation_row *r = &rows[i];
        fprintf(f, "| %s | ", r->label ? r->label : "");
        if (isfinite(r->ours_top1)) {
            fprintf(f, "%.2f", r->ours_top1);
            if (isfinite(r->ours_std) && r->n_folds > 1) fprintf(f, " ± %.2f", r->ours_std);
        } else {
            fprintf(f, "not run");
        }
        fprintf(f, " | ");
        if (isfinite(r->ours_macro_f1)) fprintf(f, "%.2f", r->ours_macro_f1);
        else fprintf(f, "-");
        fprintf(f, " | %d | ", r->n_folds);
        if (isfinite(r->paper)) fprintf(f, "%.2f", r->paper);
        else fprintf(f, "-");
        fprintf(f, " | ");
        if (isfinite(r->paper) && isfinite(r->ours_top1)) fprintf(f, "%+.2f", r->ours_top1 - r->paper);
        else fprintf(f, "-");
        fprintf(f, " | %s |\n", r->protocol ? r->protocol : "-");
    }
    fprintf(f, "\nThe paper does not state its evaluation protocol; its RAVDESS accuracies are counts out of 480 test "
               "samples (one split of 4 actors, both videos per utterance). Ours are speaker-independent unless the "
               "protocol column says otherwise.\n");
    if (note && *note) fprintf(f, "\n%s\n", note);
    return atomic_commit(&af);
}
