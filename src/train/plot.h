/* PNG plots with cairo: a confusion-matrix heatmap and learning curves. Files are written atomically.
 * Thread-safe (one plot at a time). */
#ifndef AVEMO_TRAIN_PLOT_H
#define AVEMO_TRAIN_PLOT_H

/* Heatmap of confusion [n_classes, n_classes] (rows: true class, columns: predicted). Cell colour is the
 * row-normalised fraction (recall on the diagonal), each cell shows its count and row percentage. */
int plot_confusion_png(const char *path, const int *confusion, int n_classes, const char *const *class_names,
                       const char *title);

/* Per-epoch series (any may be NULL; NaN entries are gaps). Accuracies are fractions in [0, 1]. */
typedef struct {
    int n_epochs;
    const float *train_loss, *val_loss;
    const float *train_acc, *val_acc;
    int best_epoch; /* 1-based epoch of the selected checkpoint, marked with a dashed line; 0 = none */
} learning_curves;

/* Two panels side by side: loss and accuracy against epoch. */
int plot_learning_curves_png(const char *path, const learning_curves *lc, const char *title);

/* Emotion over time, one panel per person (or stream): probs [n_panels, n_windows, n_classes], NaN where the
 * panel's person is not in the window (a gap); each class a coloured curve against time_s [n_windows] (the
 * windows' centres), x from 0 to duration_s. */
typedef struct {
    int n_panels, n_windows, n_classes;
    const char *const *panel_names; /* [n_panels] "person 1", ... */
    const char *const *class_names; /* [n_classes] */
    const double *time_s;           /* [n_windows] */
    const float *probs;             /* [n_panels, n_windows, n_classes] */
    double duration_s;
} timeline_plot;

int plot_timeline_png(const char *path, const timeline_plot *tp, const char *title);

/* Each plot releases cairo's and fontconfig's process-wide font caches when done (LeakSanitizer-clean with no
 * cleanup call; plots are serialised by a lock). plot_cleanup() does the same explicitly; it is not needed
 * after these functions, only if the program used cairo text itself. */
void plot_cleanup(void);

#endif
