/* avemo predict's per-person timeline (--people, --plot, --html), its CSV rows and its per-file error report:
 * what cmd_predict.c prints for one file, through the public API (avemo_timeline_file, avemo_predict_file_windows). */
#ifndef AVEMO_CLI_PREDICT_PEOPLE_H
#define AVEMO_CLI_PREDICT_PEOPLE_H
#include "avemo.h"

#include <cjson/cJSON.h>
#include <stdio.h>

typedef enum { OUT_TEXT = 0, OUT_JSON = 1, OUT_CSV = 2 } predict_format;

typedef struct {
    predict_format format;
    avemo_model *voice;       /* the bundled voice model (no --model) or NULL: its result per window beside the faces */
    int top;                  /* K most probable classes shown (0: all) */
    double window_s, hop_s;
    avemo_timeline_options timeline;
    const char *plot_path;    /* --plot PNG or NULL */
    const char *html_path;    /* --html page or NULL */
} people_args;

/* The documented CSV columns (--format csv), one line. */
void predict_csv_header(const avemo_model *m);
/* One CSV row: person "" for a whole-file result, "recording" for the recording's window result ("voice" for the
 * bundled voice model's, the recording's and not a person's), else the track id ("N+voice": person N's face fused
 * with the window's voice); box NULL: empty box columns. */
void predict_csv_row(FILE *out, const avemo_model *m, const char *file, double start_s, double end_s,
                     const char *person, const float *box, int frames, const float *probs, int top_class, int top);

/* The CSV header and one row in the bundled models' common classes (AVEMO_BUNDLE_CLASSES), no box columns;
 * top_class -1 (no stream spoke): the class columns empty. */
void predict_common_csv_header(void);
void predict_common_csv_row(FILE *out, const char *file, double start_s, double end_s, const char *person, int frames,
                            const float *probs, int top_class, int top);
/* The most probable of the common classes' probabilities p [AVEMO_BUNDLE_CLASSES] (the first on a tie). */
int predict_common_top(const float *p);

/* The CSV header of --people: the model's classes, or the common classes of the bundled models (a->voice). */
void predict_people_csv_header(const avemo_model *m, const people_args *a);

/* A file's failure (status st, the message avemo_last_error()): on err (stderr, or a file's buffer) naming the file, and as an "error"
 * entry ({file, error, status}) of the JSON array files when not NULL. Returns the exit status (cli_exit_status). */
int predict_report_error(FILE *err, const char *file, int st, cJSON *files);

/* One file's timeline: printed (text, CSV rows) or added to the JSON array files; --plot and --html written.
 * Returns the exit status (cli_exit_status); errors are printed naming the file. */
int predict_people_file(avemo_model *m, const char *file, const people_args *a, cJSON *files);

/* What one file's timeline shows, in one class set: each person's face per window (tl->people), the recording's
 * result per window (a model with audio: its own; the bundled models: the voice's, the recording's and not a
 * person's) and, with the bundled voice, each person's face fused with the window's voice. */
typedef struct {
    int n_classes;
    const char *class_names[AVEMO_MAX_CLASSES];
    const avemo_timeline *tl;
    const avemo_result *rec;           /* [n_rec] windows 0..n_rec-1 */
    int n_rec;
    const char *rec_name;              /* "recording" (the model's own) or "voice" (the bundled voice model) */
    const avemo_person_window *fused;  /* [tl->n_people] or NULL; n_classes 0 where the window has no voice */
} people_view;

/* The page of --html: the video (embedded when smaller than HTML_EMBED_MAX_BYTES, else referenced by its
 * absolute path), the per-person curves, a cursor following playback and the face boxes over the video. */
#define HTML_EMBED_MAX_BYTES (8L << 20)
int predict_write_html(const char *html_path, const char *video_path, const people_view *v);

#endif
