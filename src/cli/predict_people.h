/* avemo predict's per-person timeline (--people, --plot, --html) and its CSV rows: what cmd_predict.c prints
 * for one file, through the public API (avemo_timeline_file, avemo_predict_file_windows). */
#ifndef AVEMO_CLI_PREDICT_PEOPLE_H
#define AVEMO_CLI_PREDICT_PEOPLE_H
#include "avemo.h"

#include <cjson/cJSON.h>

typedef enum { OUT_TEXT = 0, OUT_JSON = 1, OUT_CSV = 2 } predict_format;

typedef struct {
    predict_format format;
    int top;                  /* K most probable classes shown (0: all) */
    double window_s, hop_s;
    avemo_timeline_options timeline;
    const char *plot_path;    /* --plot PNG or NULL */
    const char *html_path;    /* --html page or NULL */
} people_args;

/* The documented CSV columns (--format csv), one line. */
void predict_csv_header(const avemo_model *m);
/* One CSV row: person "" for a whole-file result, "recording" for the recording's window result, else the track
 * id; box NULL: empty box columns. */
void predict_csv_row(const avemo_model *m, const char *file, double start_s, double end_s, const char *person,
                     const float *box, int frames, const float *probs, int top_class, int top);

/* One file's timeline: printed (text, CSV rows) or added to the JSON array files; --plot and --html written.
 * Returns the exit status (cli_exit_status); errors are printed naming the file. */
int predict_people_file(avemo_model *m, const char *file, const people_args *a, cJSON *files);

/* The page of --html: the video (embedded when smaller than HTML_EMBED_MAX_BYTES, else referenced by its
 * absolute path), the per-person curves, a cursor following playback and the face boxes over the video. */
#define HTML_EMBED_MAX_BYTES (8L << 20)
int predict_write_html(const char *html_path, const char *video_path, const avemo_model *m, const avemo_timeline *tl,
                       const avemo_result *recording, int n_recording);

#endif
