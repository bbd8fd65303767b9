/* Run reports: RUN/report.json (machine-readable) and RUN/report.md (Markdown tables), and the ablation
 * table writer that puts our numbers next to the paper's (spec section 7).
 *
 * Every report names its protocol (and whether it is speaker-independent), the seed, the data hash of the
 * feature cache and the configuration, so a number can always be traced to how it was obtained.
 * Accuracies are fractions in the structs and JSON, percentages (2 decimals) in Markdown.
 */
#ifndef AVEMO_TRAIN_REPORT_H
#define AVEMO_TRAIN_REPORT_H
#include "train/metrics.h"

#include <stdint.h>

#define REPORT_MAX_ACTORS 128
#define REPORT_MAX_MEMBERS 32 /* seed-ensemble members reported one by one */

typedef struct {
    eval_metrics test;   /* metrics on the fold's test samples */
    int n_train, n_val;  /* sample counts */
    int n_test_actors, n_val_actors;
    int test_actors[REPORT_MAX_ACTORS], val_actors[REPORT_MAX_ACTORS];
    int best_epoch;       /* epoch of the selected checkpoint (1-based), 0 = unknown */
    double best_val_top1; /* validation top-1 of that checkpoint, NaN = none */
    double val_top1;      /* validation top-1 of the fold's model (an ensemble: its mean softmax), NaN = none: what
                             recipes are compared by (never the test actors) */
    int n_members;        /* > 1: a seed ensemble (test = the mean softmax); each member's own test scores: */
    double member_top1[REPORT_MAX_MEMBERS], member_macro_f1[REPORT_MAX_MEMBERS];
    int n_speakers;       /* per-speaker standardisation: how many clips fed each actor's statistics */
    int speaker_ids[REPORT_MAX_ACTORS], speaker_clips[REPORT_MAX_ACTORS];
} fold_report;

typedef struct {
    const char *command;       /* "train", "eval", ... */
    const char *dataset;       /* "ravdess" */
    const char *protocol;      /* as given: "kfold:6" */
    const char *protocol_desc; /* fold_set.desc */
    int speaker_independent;
    uint64_t seed;
    uint64_t data_hash;
    const char *config_json; /* a JSON object (training settings), or NULL */
    int n_classes;
    const char *const *class_names;
    int n_folds;
    const fold_report *folds;
} run_report;

typedef struct {
    double mean, std; /* over folds; std = sample std (ddof 1) */
} mean_std;

typedef struct {
    mean_std top1, top2, top3, macro_f1;
    mean_std member_top1, member_macro_f1; /* ensembles: the members' mean per fold, over folds (else NaN) */
    mean_std val_top1;                     /* the folds' val_top1 (NaN without validation actors) */
    mean_std recall[METRICS_MAX_CLASSES]; /* over the folds where the class occurs */
    eval_metrics pooled;                  /* all folds' test predictions together (confusion summed) */
} run_summary;

void report_summarize(const run_report *r, run_summary *s);

/* RUN/report.json and RUN/report.md (RUN is created if needed). */
int report_write(const run_report *r, const char *run_dir);

/* ---- the paper's numbers (top-1 accuracy, percent; the paper does not state its protocol) */
typedef struct {
    const char *table;   /* "III", "V", "VII" */
    const char *key;     /* stable id, e.g. "av" or "frft_mobilenet_feature_res" */
    const char *label;   /* row label as in the paper */
    const char *dataset; /* "ravdess" | "cremad" */
    double accuracy;     /* percent */
} paper_result;

/* All rows, in table order. */
const paper_result *paper_results(int *n);
/* One row, or NULL. */
const paper_result *paper_lookup(const char *table, const char *key);

typedef struct {
    const char *label;          /* what we ran */
    double ours_top1, ours_std; /* percent; NaN when not run */
    double ours_macro_f1;       /* percent; NaN when unknown */
    int n_folds;
    double paper;         /* percent; NaN when the paper has no number */
    const char *protocol; /* e.g. "kfold:6" */
} ablation_row;

/* Markdown: a title line, then | row | ours (mean ± std) | macro-F1 | folds | paper | difference | protocol |,
 * then `note` (may be NULL) as a paragraph. Written atomically. */
int report_write_ablation_md(const char *path, const char *title, const ablation_row *rows, int n, const char *note);

#endif
