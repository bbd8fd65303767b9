#include "train/plot.h"

#include "core/err.h"
#include "core/fileio.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define FONT "DejaVu Sans"
#define MAX_PLOT_CLASSES 64
#define MAX_PLOT_EPOCHS 100000

/* cairo's toy text API keeps process-wide font caches (cairo and fontconfig) that LeakSanitizer reports at
 * exit. Each plot therefore releases them when done (a few ms to rebuild next time), under one lock, so that
 * callers need no cleanup and plots from several threads do not race on those caches. */
static pthread_mutex_t plot_lock = PTHREAD_MUTEX_INITIALIZER;

static void release_font_caches(void) {
    cairo_debug_reset_static_data();
    FcFini();
}

/* ---------------------------------------------------------------- PNG output */

static cairo_status_t write_cb(void *closure, const unsigned char *data, unsigned int length) {
    FILE *f = closure;
    return fwrite(data, 1, length, f) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static int save_png(cairo_surface_t *s, const char *path) {
    cairo_surface_flush(s);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return avemo_error(AVEMO_EINTERNAL, "%s: cairo: %s", path, cairo_status_to_string(cairo_surface_status(s)));
    atomic_file af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    cairo_status_t st = cairo_surface_write_to_png_stream(s, write_cb, af.f);
    if (st != CAIRO_STATUS_SUCCESS) {
        atomic_abort(&af);
        return avemo_error(AVEMO_EWRITE, "%s: writing PNG failed: %s", path, cairo_status_to_string(st));
    }
    return atomic_commit(&af);
}

/* Text with its reference point aligned: ax, ay in {0 left/top, 0.5 centre, 1 right/bottom}. */
static void text_at(cairo_t *cr, double x, double y, double ax, double ay, const char *s) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - e.x_bearing - ax * e.width, y - e.y_bearing - ay * e.height);
    cairo_show_text(cr, s);
}

static void set_font(cairo_t *cr, double size, int bold) {
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_width(cairo_t *cr, const char *s) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* ---------------------------------------------------------------- confusion matrix */

/* The widest of the class names at this font size. */
static double widest_name(const char *const *names, int n_classes, double font) {
    cairo_surface_t *probe = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
    cairo_t *pc = cairo_create(probe);
    set_font(pc, font, 0);
    double label_w = 0;
    for (int c = 0; c < n_classes; c++) {
        double w = text_width(pc, names[c]);
        if (w > label_w) label_w = w;
    }
    cairo_destroy(pc);
    cairo_surface_destroy(probe);
    return label_w;
}

/* The cells from (left, top): shaded by the row's fraction, with the count (and the percentage when the
 * cells are large enough); the diagonal in bold; then the grid. */
static void confusion_cells(cairo_t *cr, const int *confusion, int n_classes, double left, double top, double cell,
                            double font) {
    for (int t = 0; t < n_classes; t++) {
        long row = 0;
        for (int p = 0; p < n_classes; p++) row += confusion[t * n_classes + p];
        for (int p = 0; p < n_classes; p++) {
            int n = confusion[t * n_classes + p];
            double frac = row ? (double)n / row : 0;
            /* white -> dark blue (matplotlib "Blues"-like end points) */
            double r = 1 - frac * (1 - 0.03), g = 1 - frac * (1 - 0.19), b = 1 - frac * (1 - 0.42);
            double x = left + p * cell, y = top + t * cell;
            cairo_set_source_rgb(cr, r, g, b);
            cairo_rectangle(cr, x, y, cell, cell);
            cairo_fill(cr);
            char buf[32];
            snprintf(buf, sizeof buf, "%d", n);
            double ink = frac > 0.5 ? 1 : 0;
            cairo_set_source_rgb(cr, ink, ink, ink);
            set_font(cr, font, t == p);
            text_at(cr, x + cell / 2, y + cell / 2 - (cell >= 40 ? font * 0.45 : 0), 0.5, 0.5, buf);
            if (cell >= 40 && row) {
                snprintf(buf, sizeof buf, "%.0f%%", 100 * frac);
                set_font(cr, font * 0.75, 0);
                text_at(cr, x + cell / 2, y + cell / 2 + font * 0.65, 0.5, 0.5, buf);
            }
        }
    }
    /* grid and frame */
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(cr, 1);
    for (int k = 0; k <= n_classes; k++) {
        cairo_move_to(cr, left + k * cell, top);
        cairo_line_to(cr, left + k * cell, top + n_classes * cell);
        cairo_move_to(cr, left, top + k * cell);
        cairo_line_to(cr, left + n_classes * cell, top + k * cell);
    }
    cairo_stroke(cr);
}

/* Class names: rows on the left, columns rotated above; the axis titles. */
static void confusion_labels(cairo_t *cr, const char *const *names, int n_classes, double left, double top,
                             double cell, double font) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    set_font(cr, font, 0);
    for (int c = 0; c < n_classes; c++) {
        text_at(cr, left - 8, top + c * cell + cell / 2, 1, 0.5, names[c]);
        cairo_save(cr);
        cairo_translate(cr, left + c * cell + cell / 2, top - 8);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, 0, 0, 0, 0.5, names[c]);
        cairo_restore(cr);
    }
    set_font(cr, font, 1);
    text_at(cr, left + n_classes * cell / 2, top + n_classes * cell + 12, 0.5, 0, "predicted class");
    cairo_save(cr);
    cairo_translate(cr, 14, top + n_classes * cell / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, 0.5, 0, "true class");
    cairo_restore(cr);
}

static int confusion_png(const char *path, const int *confusion, int n_classes, const char *const *names,
                         const char *title) {
    if (n_classes < 1 || n_classes > MAX_PLOT_CLASSES)
        return avemo_error(AVEMO_EINVAL, "%s: %d classes to plot", path, n_classes);
    const double cell = n_classes <= 10 ? 64 : n_classes <= 20 ? 40 : 24;
    const double font = n_classes <= 10 ? 13 : n_classes <= 20 ? 10 : 8;
    const double label_w = widest_name(names, n_classes, font); /* for the margins */
    const double left = label_w + 50, top = label_w + 60, right = 30, bottom = 40;
    const int W = (int)(left + n_classes * cell + right), H = (int)(top + n_classes * cell + bottom);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    set_font(cr, 15, 1);
    text_at(cr, W / 2.0, 10, 0.5, 0, title ? title : "Confusion matrix");
    confusion_cells(cr, confusion, n_classes, left, top, cell, font);
    confusion_labels(cr, names, n_classes, left, top, cell, font);
    cairo_destroy(cr);
    int rc = save_png(s, path);
    cairo_surface_destroy(s);
    return rc;
}

/* ---------------------------------------------------------------- learning curves */

/* A "nice" tick step (1, 2, 5 x 10^k) giving about `target` ticks over span. */
static double nice_step(double span, int target) {
    double raw = span / target, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

typedef struct {
    double x0, y0, w, h;        /* plot area in pixels */
    double xmin, xmax, ymin, ymax;
} axes;

static double ax_x(const axes *a, double v) { return a->x0 + (v - a->xmin) / (a->xmax - a->xmin) * a->w; }
static double ax_y(const axes *a, double v) { return a->y0 + a->h - (v - a->ymin) / (a->ymax - a->ymin) * a->h; }

static void draw_axes(cairo_t *cr, const axes *a, const char *ylabel, const char *yfmt, double yscale) {
    char buf[32];
    set_font(cr, 11, 0);
    double ys = nice_step(a->ymax - a->ymin, 5);
    for (double v = ceil(a->ymin / ys) * ys; v <= a->ymax + 1e-9 * ys; v += ys) {
        double y = ax_y(a, v);
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, a->x0, y);
        cairo_line_to(cr, a->x0 + a->w, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(buf, sizeof buf, yfmt, v * yscale);
        text_at(cr, a->x0 - 6, y, 1, 0.5, buf);
    }
    double xs = nice_step(a->xmax - a->xmin, 8);
    if (xs < 1) xs = 1;
    for (double v = ceil(a->xmin / xs) * xs; v <= a->xmax + 1e-9; v += xs) {
        double x = ax_x(a, v);
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, x, a->y0);
        cairo_line_to(cr, x, a->y0 + a->h);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(buf, sizeof buf, "%g", v);
        text_at(cr, x, a->y0 + a->h + 6, 0.5, 0, buf);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, a->x0, a->y0, a->w, a->h);
    cairo_stroke(cr);
    text_at(cr, a->x0 + a->w / 2, a->y0 + a->h + 24, 0.5, 0, "epoch");
    set_font(cr, 12, 1);
    text_at(cr, a->x0 + a->w / 2, a->y0 - 8, 0.5, 1, ylabel);
}

static void draw_series(cairo_t *cr, const axes *a, const float *y, int n, double r, double g, double b, int dashed) {
    if (!y) return;
    cairo_set_source_rgb(cr, r, g, b);
    cairo_set_line_width(cr, 2);
    double dash[2] = {6, 4};
    cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
    int pen = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(y[i])) {
            pen = 0;
            continue;
        }
        double px = ax_x(a, i + 1), py = ax_y(a, y[i]);
        if (pen) cairo_line_to(cr, px, py);
        else cairo_move_to(cr, px, py);
        if (n == 1) cairo_arc(cr, px, py, 3, 0, 2 * M_PI);
        pen = 1;
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, dash, 0, 0);
    cairo_set_line_width(cr, 1);
}

static void legend(cairo_t *cr, double x, double y, const char *a, const char *b) {
    set_font(cr, 11, 0);
    const char *lab[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        double yy = y + 16 * i;
        cairo_set_source_rgb(cr, i ? 0.85 : 0.12, i ? 0.37 : 0.47, i ? 0.01 : 0.71);
        cairo_set_line_width(cr, 2);
        cairo_move_to(cr, x, yy);
        cairo_line_to(cr, x + 22, yy);
        cairo_stroke(cr);
        cairo_set_line_width(cr, 1);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, x + 28, yy, 0, 0.5, lab[i]);
    }
}

static void range_of(const float *a, const float *b, int n, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    const float *s[2] = {a, b};
    for (int k = 0; k < 2; k++)
        for (int i = 0; s[k] && i < n; i++)
            if (isfinite(s[k][i])) {
                if (s[k][i] < *lo) *lo = s[k][i];
                if (s[k][i] > *hi) *hi = s[k][i];
            }
    if (!isfinite(*lo)) *lo = 0, *hi = 1;
    if (*hi - *lo < 1e-6) *lo -= 0.5, *hi += 0.5;
}

static int learning_curves_png(const char *path, const learning_curves *lc, const char *title) {
    int n = lc->n_epochs;
    if (n < 1 || n > MAX_PLOT_EPOCHS) return avemo_error(AVEMO_EINVAL, "%s: %d epochs to plot", path, n);
    const int W = 1100, H = 460;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgb(cr, 0, 0, 0);
    set_font(cr, 15, 1);
    text_at(cr, W / 2.0, 10, 0.5, 0, title ? title : "Learning curves");

    double lo, hi;
    range_of(lc->train_loss, lc->val_loss, n, &lo, &hi);
    double pad = 0.05 * (hi - lo);
    axes al = {70, 60, 430, 330, n > 1 ? 1 : 0.5, n > 1 ? n : 1.5, lo > 0 && lo - pad < 0 ? 0 : lo - pad, hi + pad};
    axes aa = {620, 60, 430, 330, al.xmin, al.xmax, 0, 1};
    range_of(lc->train_acc, lc->val_acc, n, &lo, &hi);
    aa.ymin = fmax(0, floor(lo * 10) / 10);
    aa.ymax = fmin(1, ceil(hi * 10) / 10);
    if (aa.ymax - aa.ymin < 0.1) aa.ymin = fmax(0, aa.ymax - 0.1), aa.ymax = aa.ymin + 0.1;

    draw_axes(cr, &al, "loss", "%.2f", 1);
    draw_axes(cr, &aa, "accuracy (%)", "%.0f", 100);
    for (int p = 0; p < 2; p++) {
        const axes *a = p ? &aa : &al;
        if (lc->best_epoch >= 1 && lc->best_epoch <= n) {
            double dash[2] = {3, 3};
            cairo_set_dash(cr, dash, 2, 0);
            cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
            cairo_move_to(cr, ax_x(a, lc->best_epoch), a->y0);
            cairo_line_to(cr, ax_x(a, lc->best_epoch), a->y0 + a->h);
            cairo_stroke(cr);
            cairo_set_dash(cr, dash, 0, 0);
        }
        cairo_save(cr);
        cairo_rectangle(cr, a->x0, a->y0, a->w, a->h);
        cairo_clip(cr);
        draw_series(cr, a, p ? lc->train_acc : lc->train_loss, n, 0.12, 0.47, 0.71, 0);
        draw_series(cr, a, p ? lc->val_acc : lc->val_loss, n, 0.85, 0.37, 0.01, 0);
        cairo_restore(cr);
    }
    legend(cr, al.x0 + al.w - 120, al.y0 + 16, "train", "validation");
    legend(cr, aa.x0 + aa.w - 120, aa.y0 + aa.h - 36, "train", "validation");
    if (lc->best_epoch >= 1) {
        char buf[64];
        snprintf(buf, sizeof buf, "dashed: selected checkpoint (epoch %d)", lc->best_epoch);
        set_font(cr, 11, 0);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        text_at(cr, W / 2.0, H - 8, 0.5, 1, buf);
    }
    cairo_destroy(cr);
    int rc = save_png(s, path);
    cairo_surface_destroy(s);
    return rc;
}

int plot_confusion_png(const char *path, const int *confusion, int n_classes, const char *const *class_names,
                       const char *title) {
    pthread_mutex_lock(&plot_lock);
    int rc = confusion_png(path, confusion, n_classes, class_names, title);
    release_font_caches();
    pthread_mutex_unlock(&plot_lock);
    return rc;
}

int plot_learning_curves_png(const char *path, const learning_curves *lc, const char *title) {
    pthread_mutex_lock(&plot_lock);
    int rc = learning_curves_png(path, lc, title);
    release_font_caches();
    pthread_mutex_unlock(&plot_lock);
    return rc;
}

/* ---------------------------------------------------------------- emotion timeline per person */

#define TIMELINE_PANEL_H 150
#define TIMELINE_MAX_PANELS 64

/* Class colours: a qualitative palette (Tableau 10), cycled past 10 classes. */
static void class_colour(int k, double *rgb) {
    static const unsigned char pal[10][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                             {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
                                             {188, 189, 34}, {23, 190, 207}};
    for (int c = 0; c < 3; c++) rgb[c] = pal[k % 10][c] / 255.0;
}

/* One panel: axes with time ticks, probability 0..1, and a curve per class (NaN: gaps). */
static void timeline_panel(cairo_t *cr, const axes *a, const timeline_plot *tp, int panel, int last) {
    char buf[32];
    set_font(cr, 10, 0);
    for (int v = 0; v <= 4; v++) { /* probability grid 0, .25, .5, .75, 1 */
        double y = ax_y(a, v / 4.0);
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, a->x0, y);
        cairo_line_to(cr, a->x0 + a->w, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        if (v % 2 == 0) snprintf(buf, sizeof buf, "%.1f", v / 4.0), text_at(cr, a->x0 - 5, y, 1, 0.5, buf);
    }
    double xs = nice_step(a->xmax - a->xmin, 10);
    for (double v = ceil(a->xmin / xs) * xs; v <= a->xmax + 1e-9; v += xs) {
        double x = ax_x(a, v);
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, x, a->y0);
        cairo_line_to(cr, x, a->y0 + a->h);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(buf, sizeof buf, "%g", v);
        if (last) text_at(cr, x, a->y0 + a->h + 5, 0.5, 0, buf);
    }
    cairo_rectangle(cr, a->x0, a->y0, a->w, a->h);
    cairo_stroke(cr);
    set_font(cr, 12, 1);
    text_at(cr, a->x0 + 4, a->y0 - 4, 0, 1, tp->panel_names[panel]);
    cairo_save(cr);
    cairo_rectangle(cr, a->x0, a->y0, a->w, a->h);
    cairo_clip(cr);
    cairo_set_line_width(cr, 2);
    for (int k = 0; k < tp->n_classes; k++) {
        double rgb[3];
        class_colour(k, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        int pen = 0;
        for (int w = 0; w < tp->n_windows; w++) {
            float p = tp->probs[((size_t)panel * tp->n_windows + w) * tp->n_classes + k];
            if (!isfinite(p)) {
                pen = 0;
                continue;
            }
            double px = ax_x(a, tp->time_s[w]), py = ax_y(a, p);
            if (pen) cairo_line_to(cr, px, py);
            else cairo_move_to(cr, px, py);
            int alone = (w == 0 || !isfinite(tp->probs[((size_t)panel * tp->n_windows + w - 1) * tp->n_classes + k])) &&
                        (w + 1 == tp->n_windows ||
                         !isfinite(tp->probs[((size_t)panel * tp->n_windows + w + 1) * tp->n_classes + k]));
            if (alone) cairo_arc(cr, px, py, 2.5, 0, 2 * M_PI), cairo_move_to(cr, px, py);
            pen = 1;
        }
        cairo_stroke(cr);
    }
    cairo_restore(cr);
    cairo_set_line_width(cr, 1);
}

static int timeline_png(const char *path, const timeline_plot *tp, const char *title) {
    if (tp->n_panels < 1 || tp->n_panels > TIMELINE_MAX_PANELS || tp->n_windows < 1 || tp->n_classes < 1 ||
        tp->n_classes > MAX_PLOT_CLASSES || !(tp->duration_s > 0))
        return avemo_error(AVEMO_EINVAL, "%s: nothing to plot (%d people, %d windows)", path, tp->n_panels, tp->n_windows);
    const int W = 1100, top = 70, H = top + tp->n_panels * (TIMELINE_PANEL_H + 30) + 40;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgb(cr, 0, 0, 0);
    set_font(cr, 15, 1);
    text_at(cr, W / 2.0, 10, 0.5, 0, title ? title : "Emotion over time");
    set_font(cr, 11, 0);
    double lx = 70;
    for (int k = 0; k < tp->n_classes; k++) { /* legend: one line of classes */
        double rgb[3];
        class_colour(k, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle(cr, lx, 38, 14, 10);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, lx + 18, 43, 0, 0.5, tp->class_names[k]);
        lx += 30 + text_width(cr, tp->class_names[k]);
    }
    for (int p = 0; p < tp->n_panels; p++) {
        axes a = {70, top + 20 + p * (TIMELINE_PANEL_H + 30), W - 100, TIMELINE_PANEL_H, 0, tp->duration_s, 0, 1};
        timeline_panel(cr, &a, tp, p, p + 1 == tp->n_panels);
    }
    set_font(cr, 11, 0);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, 70 + (W - 100) / 2.0, H - 6, 0.5, 1, "time (s): window centres; probability of each class");
    cairo_destroy(cr);
    int rc = save_png(s, path);
    cairo_surface_destroy(s);
    return rc;
}

int plot_timeline_png(const char *path, const timeline_plot *tp, const char *title) {
    pthread_mutex_lock(&plot_lock);
    int rc = timeline_png(path, tp, title);
    release_font_caches();
    pthread_mutex_unlock(&plot_lock);
    return rc;
}

void plot_cleanup(void) {
    pthread_mutex_lock(&plot_lock);
    release_font_caches();
    pthread_mutex_unlock(&plot_lock);
}
