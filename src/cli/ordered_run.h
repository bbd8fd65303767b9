/* Many inputs of one command on several workers, each input's output written in input order (avemo predict
 * FILE... --jobs N): the worker writes an input's stdout text, stderr text and JSON entries into its own buffers,
 * and the buffers are written out, in input order, as soon as that input and every one before it are done. The
 * result: the same bytes, in the same order, as running the inputs one after another.
 *
 * With one worker (or one input) nothing is buffered: the inputs run one after another on the calling thread and
 * write straight to stdout, stderr and the JSON array, exactly as a plain loop would. */
#ifndef AVEMO_CLI_ORDERED_RUN_H
#define AVEMO_CLI_ORDERED_RUN_H
#include <cjson/cJSON.h>
#include <stdio.h>

/* Where one input's output goes. */
typedef struct {
    FILE *out;   /* its stdout text */
    FILE *err;   /* its stderr lines (error lines, --timing) */
    cJSON *json; /* the JSON array its entries go to (NULL when the command writes no JSON) */
} ordered_sink;

typedef struct {
    int jobs;                   /* workers; 1 (or one input): one after another, unbuffered */
    cJSON *json;                /* the document's array that the entries go to, in input order; NULL: no JSON */
    const char *progress_label; /* core/progress.h's bar on stderr (a terminal only) from 2 inputs; NULL: none */
    int timing;                 /* a last line on stderr: "timing: N files in S s: F files/s (J jobs)" */
    /* Input i, on a worker: writes only to sink (and what is its own); returns its exit status (cli_exit_status).
     * With more than one worker it runs inside an OpenMP parallel region, so the library runs each input on one
     * thread (no nested parallelism). */
    int (*run)(void *ctx, int i, const ordered_sink *sink);
    void *ctx;
} ordered_run;

/* Runs inputs 0..n-1; returns the highest exit status (a bad input's 2 outranks a runtime failure's 1), or 1
 * when the buffers cannot be made. Every input is run whatever the others return. */
int ordered_run_all(const ordered_run *r, int n);

#endif
