/* Progress for long jobs: "label  done/total  rate/s  ETA" redrawn on a terminal (stderr), silent when
 * stderr is not a terminal (logs stay clean) except for an optional final summary line. */
#ifndef AVEMO_CORE_PROGRESS_H
#define AVEMO_CORE_PROGRESS_H

typedef struct {
    const char *label;
    long total, done;
    double t_start, t_last;
    int tty;
    int shown; /* the bar is on the terminal's last line (progress_clear erases it) */
    char extra[128]; /* e.g. "loss 1.234 acc 0.56" */
} progress;

double now_seconds(void); /* monotonic */
void progress_start(progress *p, const char *label, long total);
void progress_update(progress *p, long done); /* redraws at most ~10 times a second; thread-safe enough */
void progress_set_extra(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_finish(progress *p); /* final line with total time (on a tty) */
/* Erases the bar (on a tty) so that other output can be written on its line; the next update redraws it. */
void progress_clear(progress *p);

#endif
