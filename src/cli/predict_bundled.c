/* avemo predict with the bundled models: text lines or one JSON document naming which streams spoke and what
 * each said, then the fused result. */
#include "cli/predict_bundled.h"

#include "avemo.h"
#include "cli/cli_util.h"
#include "cli/ordered_run.h"
#include "cli/predict_people.h"
#include "core/err.h"
#include "core/progress.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { STREAM_FACE = 0, STREAM_VOICE = 1 };

/* "FILE: face: happy 0.81, voice: neutral 0.55 -> happy 0.74  [face crop; total 12.3 ms]"; a window's line (span:
 * its start and end seconds, else NULL) has "FILE [S-E s]: " and may have no stream. */
static void print_text(FILE *out, const avemo_bundle *b, const char *file, const avemo_bundle_result *r,
                       const double *span) {
    if (span) fprintf(out, "%s [%.2f-%.2f s]: ", file, span[0], span[1]);
    else fprintf(out, "%s: ", file);
    if (r->top_class < 0) {
        fprintf(out, "no face in the window's frame and no audio  [total %.1f ms]\n", r->total_ms);
        return;
    }
    if (r->used_face)
        fprintf(out, "face: %s %.2f%s", avemo_class_name(avemo_bundle_model(b, STREAM_FACE), r->face.top_class),
                r->face.probs[r->face.top_class], r->used_voice ? ", " : "");
    if (r->used_voice)
        fprintf(out, "voice: %s %.2f", avemo_class_name(avemo_bundle_model(b, STREAM_VOICE), r->voice.top_class),
                r->voice.probs[r->voice.top_class]);
    fprintf(out, " -> %s %.2f  [", avemo_bundle_class_name(r->top_class), r->probs[r->top_class]);
    if (r->used_face) fprintf(out, "%s; ", r->face_cropped ? "face crop as is" : "MTCNN face");
    if (!r->used_face && r->face.video_frames) fprintf(out, "no face in the sampled frame; ");
    fprintf(out, "total %.1f ms]\n", r->total_ms);
}

/* {"emotion": p, ...} over a model's classes (m) or the common ones (m NULL) */
static cJSON *probs_json(const avemo_model *m, const float *p, int n) {
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; k < n; k++) cJSON_AddNumberToObject(o, m ? avemo_class_name(m, k) : avemo_bundle_class_name(k), p[k]);
    return o;
}

static void stream_json(cJSON *streams, const avemo_bundle *b, int stream, const avemo_result *own, const float *mapped,
                        const avemo_bundle_result *r) {
    const avemo_model *m = avemo_bundle_model(b, stream);
    cJSON *s = cJSON_AddObjectToObject(streams, stream == STREAM_FACE ? "face" : "voice");
    cJSON_AddStringToObject(s, "emotion", avemo_class_name(m, own->top_class));
    cJSON_AddNumberToObject(s, "p", own->probs[own->top_class]);
    cJSON_AddItemToObject(s, "probs", probs_json(m, own->probs, own->n_classes));
    cJSON_AddItemToObject(s, "mapped_probs", probs_json(NULL, mapped, AVEMO_BUNDLE_CLASSES));
    if (stream == STREAM_FACE) {
        cJSON_AddBoolToObject(s, "cropped", r->face_cropped);
        cJSON_AddNumberToObject(s, "frames", own->video_frames);
        cJSON_AddNumberToObject(s, "frames_without_face", own->frames_without_face);
    }
    cJSON_AddNumberToObject(s, "total_ms", own->total_ms);
}

/* A result's fields into e (a file's entry or a window's); returns e. */
static cJSON *result_json(cJSON *e, const avemo_bundle *b, const avemo_bundle_result *r) {
    if (r->top_class < 0) { /* a window in which no stream spoke */
        cJSON_AddNullToObject(e, "emotion");
        cJSON_AddObjectToObject(e, "streams");
        cJSON_AddNumberToObject(e, "total_ms", r->total_ms);
        return e;
    }
    cJSON_AddStringToObject(e, "emotion", avemo_bundle_class_name(r->top_class));
    cJSON_AddNumberToObject(e, "p", r->probs[r->top_class]);
    cJSON_AddItemToObject(e, "probs", probs_json(NULL, r->probs, AVEMO_BUNDLE_CLASSES));
    cJSON *streams = cJSON_AddObjectToObject(e, "streams");
    if (r->used_face) stream_json(streams, b, STREAM_FACE, &r->face, r->face_probs, r);
    if (r->used_voice) stream_json(streams, b, STREAM_VOICE, &r->voice, r->voice_probs, r);
    cJSON_AddNumberToObject(e, "total_ms", r->total_ms);
    return e;
}

static cJSON *json_document(const avemo_bundle *b, const predict_bundled_args *a, cJSON **files) {
    cJSON *doc = cJSON_CreateObject();
    cJSON *models = cJSON_AddObjectToObject(doc, "models");
    cJSON_AddStringToObject(models, "face", avemo_bundle_model_path(b, STREAM_FACE));
    cJSON_AddStringToObject(models, "voice", avemo_bundle_model_path(b, STREAM_VOICE));
    cJSON *temps = cJSON_AddObjectToObject(doc, "temperatures"); /* each model's calibration (1: none) */
    cJSON_AddNumberToObject(temps, "face", avemo_model_temperature(avemo_bundle_model(b, STREAM_FACE)));
    cJSON_AddNumberToObject(temps, "voice", avemo_model_temperature(avemo_bundle_model(b, STREAM_VOICE)));
    cJSON_AddNumberToObject(doc, "face_views", a->face_views > 0 ? a->face_views : AVEMO_BUNDLE_FACE_VIEWS);
    cJSON *cls = cJSON_AddArrayToObject(doc, "classes");
    for (int k = 0; k < AVEMO_BUNDLE_CLASSES; k++) cJSON_AddItemToArray(cls, cJSON_CreateString(avemo_bundle_class_name(k)));
    cJSON *fusion = cJSON_AddObjectToObject(doc, "fusion");
    cJSON_AddStringToObject(fusion, "rule", "weighted mean of the mapped probabilities of the streams that spoke");
    cJSON_AddNumberToObject(fusion, "face_weight", AVEMO_BUNDLE_FACE_WEIGHT);
    cJSON_AddNumberToObject(fusion, "voice_weight", 1.0 - AVEMO_BUNDLE_FACE_WEIGHT);
    if (a->window_s > 0) {
        cJSON_AddNumberToObject(doc, "window_s", a->window_s);
        cJSON_AddNumberToObject(doc, "hop_s", a->hop_s);
    }
    *files = cJSON_AddArrayToObject(doc, "files");
    return doc;
}

/* CSV rows of one window: its result (person "", the fused one of the streams that spoke; empty classes when none
 * did), then each stream that spoke (person "face", "voice"), all in the common classes. */
static void csv_rows(FILE *out, const char *file, const double *span, const avemo_bundle_result *r, int top) {
    int frames = r->face.video_frames;
    predict_common_csv_row(out, file, span[0], span[1], "", frames, r->probs, r->top_class, top);
    if (r->used_face)
        predict_common_csv_row(out, file, span[0], span[1], "face", frames, r->face_probs,
                               predict_common_top(r->face_probs), top);
    if (r->used_voice)
        predict_common_csv_row(out, file, span[0], span[1], "voice", 0, r->voice_probs,
                               predict_common_top(r->voice_probs), top);
}

/* One file's windows, printed (text, CSV) or added to to->json; returns the exit status. */
static int predict_windows(avemo_bundle *b, const predict_bundled_args *a, const char *file, const ordered_sink *to) {
    cJSON *arr = to->json;
    int n = 0, st = avemo_bundle_predict_file_windows(b, file, a->window_s, a->hop_s, NULL, 0, &n);
    avemo_bundle_result *res = st ? NULL : malloc((size_t)(n ? n : 1) * sizeof *res);
    if (!st && !res) st = avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!st) st = avemo_bundle_predict_file_windows(b, file, a->window_s, a->hop_s, res, n, &n);
    if (st) {
        free(res);
        return predict_report_error(to->err, file, st, arr);
    }
    cJSON *ws = NULL;
    if (arr) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "file", file);
        ws = cJSON_AddArrayToObject(e, "windows");
        cJSON_AddItemToArray(arr, e);
    }
    for (int w = 0; w < n; w++) {
        double span[2] = {w * a->hop_s, w * a->hop_s + a->window_s};
        if (ws) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "start_s", span[0]);
            cJSON_AddNumberToObject(e, "end_s", span[1]);
            cJSON_AddItemToArray(ws, result_json(e, b, &res[w]));
        } else if (a->csv) {
            csv_rows(to->out, file, span, &res[w], a->top);
        } else {
            print_text(to->out, b, file, &res[w], span);
        }
    }
    free(res);
    return 0;
}

/* One file's result, printed or added to to->json; returns the exit status. */
static int predict_one(avemo_bundle *b, const predict_bundled_args *a, const char *file, const ordered_sink *to) {
    cJSON *arr = to->json;
    avemo_bundle_predict_options po = {a->cropped ? AVEMO_CROP_YES : AVEMO_CROP_AUTO};
    avemo_bundle_result r;
    int st = avemo_bundle_predict_file(b, file, &po, &r);
    if (st) return predict_report_error(to->err, file, st, arr);
    if (arr) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "file", file);
        cJSON_AddItemToArray(arr, result_json(e, b, &r));
    } else {
        print_text(to->out, b, file, &r, NULL);
    }
    return 0;
}

typedef struct {
    avemo_bundle *b;
    const predict_bundled_args *a;
    char *const *files;
} bundled_run;

/* File i (ordered_run's run): its exit status; with --timing its wall time on to->err. */
static int predict_file(void *ctx, int i, const ordered_sink *to) {
    const bundled_run *r = ctx;
    double t0 = now_seconds() * 1e3;
    const char *file = r->files[i];
    int st = r->a->window_s > 0 ? predict_windows(r->b, r->a, file, to) : predict_one(r->b, r->a, file, to);
    double t1 = now_seconds() * 1e3;
    if (!st && r->a->timing) {
        fflush(to->out);
        fprintf(to->err, "timing %s: %.1f ms; %.1f ms since the command started\n", file, t1 - t0, t1 - r->a->start_ms);
    }
    return st;
}

int predict_bundled(const predict_bundled_args *a, char *const *files, int n) {
    avemo_bundle *b;
    avemo_bundle_options bo = {.mtcnn_manifest = a->mtcnn, .face_views = a->face_views};
    int st = avemo_bundle_open(&bo, &b);
    if (st) return cli_fail("predict", st);
    cJSON *arr = NULL, *doc = a->json ? json_document(b, a, &arr) : NULL;
    if (a->csv) predict_common_csv_header();
    bundled_run run = {b, a, files};
    ordered_run each = {a->jobs, arr, "predict", a->timing, predict_file, &run};
    int status = ordered_run_all(&each, n);
    if (doc) {
        char *s = cJSON_Print(doc);
        if (s) puts(s);
        else status = 1;
        cJSON_free(s);
        cJSON_Delete(doc);
    }
    fflush(stdout);
    avemo_bundle_close(b);
    return status;
}
