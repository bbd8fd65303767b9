#include "core/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_start(progress *p, const char *label, long total) {
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    p->t_start = p->t_last = now_seconds();
    p->tty = isatty(2);
}

static void fmt_time(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e7) snprintf(buf, n, "--:--");
    else if (s >= 3600) snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, ((int)s / 60) % 60, (int)s % 60);
    else snprintf(buf, n, "%02d:%02d", (int)s / 60, (int)s % 60);
}

static void draw(progress *p, double t) {
    double el = t - p->t_start, rate = el > 0 ? p->done / el : 0;
    char eta[32], ela[32];
    fmt_time(eta, sizeof eta, rate > 0 ? (p->total - p->done) / rate : -1);
    fmt_time(ela, sizeof ela, el);
    fprintf(stderr, "\r%s %ld/%ld  %.1f/s  elapsed %s  ETA %s  %s\033[K", p->label, p->done, p->total, rate, ela,
            eta, p->extra);
    fflush(stderr);
    p->shown = 1;
}

void progress_update(progress *p, long done) {
    p->done = done;
    if (!p->tty) return;
    double t = now_seconds();
    if (t - p->t_last < 0.1 && done < p->total) return;
    p->t_last = t;
    draw(p, t);
}

void progress_set_extra(progress *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->extra, sizeof p->extra, fmt, ap);
    va_end(ap);
}

void progress_clear(progress *p) {
    if (!p->shown) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = 0;
    p->t_last = 0; /* the next update draws */
}

void progress_finish(progress *p) {
    if (!p->tty) return;
    draw(p, now_seconds());
    fputc('\n', stderr);
}
