#include "cli/ordered_run.h"

#include "core/progress.h"

#include <omp.h>
#include <stdlib.h>

/* One input's buffered output and how it went. */
typedef struct {
    char *out_text, *err_text; /* open_memstream's buffers, valid once the streams are closed */
    size_t out_len, err_len;
    ordered_sink sink;
    int status;
    int done;
} slot;

static int slot_open(slot *s, int json) {
    s->sink.out = open_memstream(&s->out_text, &s->out_len);
    s->sink.err = open_memstream(&s->err_text, &s->err_len);
    s->sink.json = json ? cJSON_CreateArray() : NULL;
    return s->sink.out && s->sink.err && (!json || s->sink.json) ? 0 : -1;
}

static void slot_close(slot *s) {
    if (s->sink.out) fclose(s->sink.out);
    if (s->sink.err) fclose(s->sink.err);
    s->sink.out = s->sink.err = NULL;
}

/* A finished input's output where the one-after-another run writes it (stdout before stderr, as a run that
 * flushes stdout before its stderr lines), its JSON entries moved to the document's array; its buffers freed. */
static void slot_emit(slot *s, int i, cJSON *json) {
    if (s->out_text) fwrite(s->out_text, 1, s->out_len, stdout);
    if (s->err_len) {
        fflush(stdout);
        fwrite(s->err_text, 1, s->err_len, stderr);
    }
    if (!s->out_text || !s->err_text) fprintf(stderr, "avemo: input %d: out of memory for its output\n", i + 1);
    for (cJSON *e; s->sink.json && (e = cJSON_DetachItemFromArray(s->sink.json, 0));) cJSON_AddItemToArray(json, e);
    cJSON_Delete(s->sink.json);
    free(s->out_text);
    free(s->err_text);
    s->sink.json = NULL;
    s->out_text = s->err_text = NULL;
}

/* One after another on this thread, straight to stdout, stderr and the array. */
static int run_in_turn(const ordered_run *r, int n, progress *bar) {
    ordered_sink sink = {stdout, stderr, r->json};
    int worst = 0;
    for (int i = 0; i < n; i++) {
        progress_clear(bar);
        int st = r->run(r->ctx, i, &sink);
        if (st > worst) worst = st;
        if (bar->tty) fflush(stdout);
        progress_update(bar, i + 1);
    }
    return worst;
}

/* On `jobs` workers; each input's output written once it and all before it are done. */
static int run_on_workers(const ordered_run *r, int n, int jobs, progress *bar) {
    slot *slots = calloc((size_t)n, sizeof *slots);
    if (!slots) {
        fprintf(stderr, "avemo: out of memory for %d inputs\n", n);
        return 1;
    }
    int next = 0, worst = 0; /* next: the first input not yet written out */
#pragma omp parallel for schedule(dynamic, 1) num_threads(jobs)
    for (int i = 0; i < n; i++) {
        slot *s = &slots[i];
        s->status = slot_open(s, r->json != NULL) ? 1 : r->run(r->ctx, i, &s->sink);
        slot_close(s);
#pragma omp critical(ordered_run_emit)
        {
            s->done = 1;
            if (next < n && slots[next].done) progress_clear(bar);
            for (; next < n && slots[next].done; next++) slot_emit(&slots[next], next, r->json);
            if (bar->tty) fflush(stdout);
            progress_update(bar, next);
        }
    }
    for (int i = 0; i < n; i++)
        if (slots[i].status > worst) worst = slots[i].status;
    free(slots);
    return worst;
}

int ordered_run_all(const ordered_run *r, int n) {
    int jobs = r->jobs < n ? r->jobs : n;
    if (jobs < 1) jobs = 1;
    progress bar = {0}; /* tty 0: silent */
    double t0 = now_seconds();
    if (r->progress_label && n > 1) progress_start(&bar, r->progress_label, n);
    int worst = jobs > 1 ? run_on_workers(r, n, jobs, &bar) : run_in_turn(r, n, &bar);
    if (r->progress_label && n > 1) progress_finish(&bar);
    double s = now_seconds() - t0;
    if (r->timing) {
        fflush(stdout);
        fprintf(stderr, "timing: %d file%s in %.3f s: %.2f files/s (%d job%s)\n", n, n == 1 ? "" : "s", s,
                s > 0 ? n / s : 0.0, jobs, jobs == 1 ? "" : "s");
    }
    return worst;
}
