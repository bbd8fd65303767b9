/* avemo predict without --model: the bundled face and voice models (include/avemo.h, avemo_bundle_*), each
 * stream of a file that has one, fused late. Called by cmd_predict.c. */
#ifndef AVEMO_CLI_PREDICT_BUNDLED_H
#define AVEMO_CLI_PREDICT_BUNDLED_H

typedef struct {
    int json;            /* one JSON document on stdout */
    int cropped;         /* --cropped: every image is a face crop */
    const char *mtcnn;   /* --mtcnn or NULL */
    double window_s;     /* --window S (0: one result per file) */
    double hop_s;        /* --hop H (with --window; 0: H = S) */
    int csv;             /* --format csv (with --window) */
    int top;             /* with --format csv: the top-K column's K (0: all) */
    int face_views;      /* --tta: test-time views per face (0: AVEMO_BUNDLE_FACE_VIEWS) */
    int jobs;            /* files predicted at once (cli/ordered_run.h) */
    int timing;          /* --timing: a line per file and the files/s on stderr */
    double start_ms;     /* when the command started (CLOCK_MONOTONIC, ms) */
} predict_bundled_args;

/* Predicts files[0..n) (per window with a->window_s) and prints them; returns the exit status (0, 1 runtime, 2 a bad file or model). */
int predict_bundled(const predict_bundled_args *a, char *const *files, int n);

#endif
