/* avemo predict --people / --plot / --html: per window, per tracked face, the face's emotion (and, when the
 * model reads audio, the recording's own window result beside it). */
#include "cli/predict_people.h"

#include "cli/cli_util.h"
#include "core/csv.h"
#include "core/err.h"
#include "io/media_probe.h"
#include "train/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_desc(const void *a, const void *b, void *probs_v) {
    const float *p = probs_v;
    float x = p[*(const int *)a], y = p[*(const int *)b];
    return x > y ? -1 : x < y ? 1 : *(const int *)a - *(const int *)b;
}

/* The K shown (top, or all) and the classes by descending probability into order. */
static int top_order(const float *probs, int n_classes, int top, int *order) {
    for (int k = 0; k < n_classes; k++) order[k] = k;
    qsort_r(order, n_classes, sizeof *order, cmp_desc, (void *)probs);
    return top > 0 && top < n_classes ? top : n_classes;
}

static void csv_header(const people_view *v) {
    printf("file,start_s,end_s,person,x0,y0,x1,y1,frames,emotion,p,top");
    for (int k = 0; k < v->n_classes; k++) printf(",p_%s", v->class_names[k]);
    printf("\n");
}

/* The classes of model m. */
static void model_classes(people_view *v, const avemo_model *m) {
    v->n_classes = avemo_class_count(m);
    for (int k = 0; k < v->n_classes; k++) v->class_names[k] = avemo_class_name(m, k);
}

void predict_csv_header(const avemo_model *m) {
    people_view v;
    model_classes(&v, m);
    csv_header(&v);
}

static void csv_row(FILE *out, const people_view *v, const char *file, double start_s, double end_s, const char *person,
                    const float *box, int frames, const float *probs, int top_class, int top) {
    int n = v->n_classes, order[AVEMO_MAX_CLASSES], K = top_order(probs, n, top, order);
    csv_write_field(out, file);
    fprintf(out, ",%.3f,%.3f,%s,", start_s, end_s, person);
    if (box) fprintf(out, "%.1f,%.1f,%.1f,%.1f,", box[0], box[1], box[2], box[3]);
    else fprintf(out, ",,,,");
    fprintf(out, "%d,%s,%.4f,", frames, v->class_names[top_class], probs[top_class]);
    for (int i = 0; i < K; i++) fprintf(out, "%s%s:%.4f", i ? ";" : "", v->class_names[order[i]], probs[order[i]]);
    for (int k = 0; k < n; k++) fprintf(out, ",%.4f", probs[k]);
    fprintf(out, "\n");
}

void predict_csv_row(FILE *out, const avemo_model *m, const char *file, double start_s, double end_s,
                     const char *person, const float *box, int frames, const float *probs, int top_class, int top) {
    people_view v;
    model_classes(&v, m);
    csv_row(out, &v, file, start_s, end_s, person, box, frames, probs, top_class, top);
}

/* The common classes of the bundled models as a view (no timeline). */
static void common_classes(people_view *v) {
    v->n_classes = AVEMO_BUNDLE_CLASSES;
    for (int k = 0; k < AVEMO_BUNDLE_CLASSES; k++) v->class_names[k] = avemo_bundle_class_name(k);
}

void predict_common_csv_header(void) {
    people_view v;
    common_classes(&v);
    csv_header(&v);
}

void predict_common_csv_row(FILE *out, const char *file, double start_s, double end_s, const char *person, int frames,
                            const float *probs, int top_class, int top) {
    people_view v;
    common_classes(&v);
    if (top_class >= 0) {
        csv_row(out, &v, file, start_s, end_s, person, NULL, frames, probs, top_class, top);
        return;
    }
    csv_write_field(out, file); /* no stream spoke: the class fields empty */
    fprintf(out, ",%.3f,%.3f,%s,,,,,%d,,,", start_s, end_s, person, frames);
    for (int k = 0; k < v.n_classes; k++) fputc(',', out);
    fputc('\n', out);
}

static void text_line(const people_view *v, const char *file, double s, double e, const char *who, const float *probs,
                      int top_class, int top) {
    int order[AVEMO_MAX_CLASSES], K = top_order(probs, v->n_classes, top, order);
    printf("%s [%.2f-%.2f s] %s: %s %.3f  top-%d:", file, s, e, who, v->class_names[top_class], probs[top_class], K);
    for (int i = 0; i < K; i++) printf(" %s %.3f%s", v->class_names[order[i]], probs[order[i]], i + 1 < K ? "," : "");
    printf("\n");
}

static cJSON *probs_json(cJSON *j, const people_view *v, const float *probs, int top_class, int top) {
    int n = v->n_classes, order[AVEMO_MAX_CLASSES], K = top_order(probs, n, top, order);
    cJSON_AddStringToObject(j, "emotion", v->class_names[top_class]);
    cJSON_AddNumberToObject(j, "class_index", top_class);
    cJSON *t = cJSON_AddArrayToObject(j, "top");
    for (int i = 0; i < K; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "class", v->class_names[order[i]]);
        cJSON_AddNumberToObject(e, "p", probs[order[i]]);
        cJSON_AddItemToArray(t, e);
    }
    cJSON *p = cJSON_AddArrayToObject(j, "probs");
    for (int k = 0; k < n; k++) cJSON_AddItemToArray(p, cJSON_CreateNumber(probs[k]));
    return j;
}

static cJSON *box_json(const float *b) {
    cJSON *a = cJSON_CreateArray();
    for (int c = 0; c < 4; c++) cJSON_AddItemToArray(a, cJSON_CreateNumber(round(b[c] * 10) / 10));
    return a;
}

/* The file's JSON entry: windows with the recording's result (audio models) or the voice's (bundled models, with
 * each person's fused result) and each person's. */
static cJSON *timeline_json(const people_view *v, const char *file, int top) {
    const avemo_timeline *tl = v->tl;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "file", file);
    cJSON_AddNumberToObject(e, "width", tl->width);
    cJSON_AddNumberToObject(e, "height", tl->height);
    cJSON_AddNumberToObject(e, "duration_s", tl->duration_s);
    cJSON_AddNumberToObject(e, "sample_fps", tl->sample_fps);
    cJSON_AddNumberToObject(e, "tracks", tl->n_tracks);
    if (v->fused)
        cJSON_AddStringToObject(e, "voice_note", "\"voice\" is the recording's voice per window, not attributed to a "
                                "person; each person's \"fused\" is their face and that voice, fused late");
    cJSON *ws = cJSON_AddArrayToObject(e, "windows");
    for (int w = 0, i = 0; w < tl->n_windows; w++) {
        cJSON *wj = cJSON_CreateObject();
        cJSON_AddNumberToObject(wj, "start_s", w * tl->hop_s);
        cJSON_AddNumberToObject(wj, "end_s", w * tl->hop_s + tl->window_s);
        if (w < v->n_rec)
            probs_json(cJSON_AddObjectToObject(wj, v->rec_name), v, v->rec[w].probs, v->rec[w].top_class, top);
        cJSON *people = cJSON_AddArrayToObject(wj, "people");
        for (; i < tl->n_people && tl->people[i].window == w; i++) {
            const avemo_person_window *p = &tl->people[i];
            cJSON *pj = cJSON_CreateObject();
            cJSON_AddNumberToObject(pj, "person", p->track_id);
            cJSON_AddItemToObject(pj, "box", box_json(p->box));
            cJSON_AddNumberToObject(pj, "frames", p->frames);
            probs_json(pj, v, p->probs, p->top_class, top);
            if (v->fused && v->fused[i].n_classes)
                probs_json(cJSON_AddObjectToObject(pj, "fused"), v, v->fused[i].probs, v->fused[i].top_class, top);
            cJSON_AddItemToArray(people, pj);
        }
        cJSON_AddItemToArray(ws, wj);
    }
    cJSON *faces = cJSON_AddArrayToObject(e, "faces"); /* every sighting: time, person, box */
    for (int i = 0; i < tl->n_faces; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddNumberToObject(f, "time_s", round(tl->faces[i].time_s * 1e3) / 1e3);
        cJSON_AddNumberToObject(f, "person", tl->faces[i].track_id);
        cJSON_AddItemToObject(f, "box", box_json(tl->faces[i].box));
        cJSON_AddItemToArray(faces, f);
    }
    return e;
}

/* Text and CSV: per window the recording's (or voice's) row, then each person's face and, with the bundled voice,
 * their fused row (CSV person "N+voice"). */
static void print_rows(const people_view *v, const char *file, const people_args *a) {
    const avemo_timeline *tl = v->tl;
    const char *rec_who = v->fused ? "voice (the recording's, not a person's)" : v->rec_name;
    char who[160];
    for (int w = 0, i = 0; w < tl->n_windows; w++) {
        double s = w * tl->hop_s, e = s + tl->window_s;
        const avemo_result *r = w < v->n_rec ? &v->rec[w] : NULL;
        if (r && a->format == OUT_CSV) csv_row(stdout, v, file, s, e, v->rec_name, NULL, r->video_frames, r->probs, r->top_class, a->top);
        else if (r) text_line(v, file, s, e, rec_who, r->probs, r->top_class, a->top);
        for (; i < tl->n_people && tl->people[i].window == w; i++) {
            const avemo_person_window *p = &tl->people[i], *f = v->fused && v->fused[i].n_classes ? &v->fused[i] : NULL;
            if (a->format == OUT_CSV) {
                snprintf(who, sizeof who, "%d", p->track_id);
                csv_row(stdout, v, file, s, e, who, p->box, p->frames, p->probs, p->top_class, a->top);
                snprintf(who, sizeof who, "%d+voice", p->track_id);
                if (f) csv_row(stdout, v, file, s, e, who, p->box, p->frames, f->probs, f->top_class, a->top);
                continue;
            }
            snprintf(who, sizeof who, "person %d [%.0f,%.0f,%.0f,%.0f] %d frame%s%s", p->track_id, p->box[0], p->box[1],
                     p->box[2], p->box[3], p->frames, p->frames == 1 ? "" : "s", f ? " face" : "");
            text_line(v, file, s, e, who, p->probs, p->top_class, a->top);
            snprintf(who, sizeof who, "person %d face + voice", p->track_id);
            if (f) text_line(v, file, s, e, who, f->probs, f->top_class, a->top);
        }
    }
}

/* --plot: a panel per person, one for the recording's (or the voice's) result, and with the bundled voice one per
 * person for their fused result. */
static int write_plot(const people_view *v, const char *file, const char *png) {
    const avemo_timeline *tl = v->tl;
    int np = tl->n_tracks, nf = v->fused ? np : 0, P = np + (v->n_rec > 0) + nf, W = tl->n_windows, K = v->n_classes, rc;
    if (np < 1 && !v->n_rec) return avemo_error(AVEMO_EINVAL, "%s: no face was found: nothing to plot", file);
    float *probs = malloc((size_t)P * W * K * sizeof *probs);
    double *t = malloc((size_t)W * sizeof *t);
    char (*names)[48] = malloc((size_t)P * sizeof *names);
    const char **pn = malloc((size_t)P * sizeof *pn);
    if (!probs || !t || !names || !pn) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    else {
        for (long i = 0; i < (long)P * W * K; i++) probs[i] = NAN;
        for (int w = 0; w < W; w++) t[w] = w * tl->hop_s + tl->window_s / 2;
        for (int p = 0; p < P; p++) pn[p] = names[p];
        for (int p = 0; p < np; p++) snprintf(names[p], sizeof names[p], "person %d%s", p + 1, nf ? ": face" : "");
        if (v->n_rec)
            snprintf(names[np], sizeof names[0], "%s", v->fused ? "voice (the recording's, not a person's)" : v->rec_name);
        for (int p = 0; p < nf; p++) snprintf(names[P - nf + p], sizeof names[0], "person %d: face + voice", p + 1);
        for (int i = 0; i < tl->n_people; i++) {
            const avemo_person_window *q = &tl->people[i];
            memcpy(probs + ((size_t)(q->track_id - 1) * W + q->window) * K, q->probs, (size_t)K * sizeof *probs);
            if (nf && v->fused[i].n_classes)
                memcpy(probs + ((size_t)(P - nf + q->track_id - 1) * W + q->window) * K, v->fused[i].probs,
                       (size_t)K * sizeof *probs);
        }
        for (int w = 0; w < v->n_rec && w < W; w++)
            memcpy(probs + ((size_t)np * W + w) * K, v->rec[w].probs, (size_t)K * sizeof *probs);
        timeline_plot tp = {P, W, K, pn, v->class_names, t, probs, tl->duration_s};
        char title[512];
        const char *base = strrchr(file, '/');
        snprintf(title, sizeof title, "Emotion over time: %s", base ? base + 1 : file);
        rc = plot_timeline_png(png, &tp, title);
    }
    free(probs);
    free(t);
    free(names);
    free(pn);
    return rc;
}

int predict_report_error(FILE *err, const char *file, int st, cJSON *files) {
    const char *msg = avemo_last_error();
    /* the library's messages name the file; add it when one does not */
    if (strstr(msg, file)) fprintf(err, "avemo predict: %s\n", msg);
    else fprintf(err, "avemo predict: %s: %s\n", file, msg);
    if (files) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "file", file);
        cJSON_AddStringToObject(e, "error", msg);
        cJSON_AddStringToObject(e, "status", avemo_status_name(st));
        cJSON_AddItemToArray(files, e);
    }
    return cli_exit_status(st);
}

int predict_common_top(const float *p) {
    int t = 0;
    for (int k = 1; k < AVEMO_BUNDLE_CLASSES; k++)
        if (p[k] > p[t]) t = k;
    return t;
}

/* The bundled voice beside the bundled face: the view in the common classes (the timeline's people mapped in
 * place, the voice windows mapped, each person's fused result into *fused). */
static int bundled_view(people_view *v, avemo_timeline *tl, const avemo_model *face, const avemo_model *voice,
                        avemo_result *rec, avemo_person_window **fused) {
    float c[AVEMO_BUNDLE_CLASSES];
    if (!(*fused = calloc((size_t)tl->n_people + 1, sizeof **fused))) return avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int i = 0; i < tl->n_people; i++) {
        avemo_person_window *p = &tl->people[i];
        int top = avemo_bundle_to_common(face, p->probs, c);
        if (top < 0) return AVEMO_EFORMAT;
        memcpy(p->probs, c, sizeof c);
        p->n_classes = AVEMO_BUNDLE_CLASSES, p->top_class = top;
    }
    for (int w = 0; w < v->n_rec; w++) {
        int top = avemo_bundle_to_common(voice, rec[w].probs, c);
        if (top < 0) return AVEMO_EFORMAT;
        memcpy(rec[w].probs, c, sizeof c);
        rec[w].n_classes = AVEMO_BUNDLE_CLASSES, rec[w].top_class = top;
    }
    for (int i = 0; i < tl->n_people; i++) {
        const avemo_person_window *p = &tl->people[i];
        if (p->window >= v->n_rec) continue; /* no voice for this window: n_classes 0 */
        (*fused)[i] = *p;
        (*fused)[i].top_class = avemo_bundle_fuse(p->probs, rec[p->window].probs, (*fused)[i].probs);
    }
    common_classes(v);
    v->rec_name = "voice";
    v->fused = v->n_rec ? *fused : NULL;
    return AVEMO_OK;
}

/* The recording's window results into *rec (model m's windows of the file). */
static int recording_windows(avemo_model *m, const char *file, const people_args *a, avemo_result **rec, int *n_rec) {
    int st = avemo_predict_file_windows(m, file, a->window_s, a->hop_s, NULL, 0, n_rec);
    if (!st && !(*rec = malloc((size_t)(*n_rec ? *n_rec : 1) * sizeof **rec))) st = avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!st) st = avemo_predict_file_windows(m, file, a->window_s, a->hop_s, *rec, *n_rec, n_rec);
    return st;
}

void predict_people_csv_header(const avemo_model *m, const people_args *a) {
    people_view v;
    model_classes(&v, m);
    if (a->voice) common_classes(&v);
    csv_header(&v);
}

int predict_people_file(avemo_model *m, const char *file, const people_args *a, cJSON *files) {
    avemo_timeline *tl = NULL;
    avemo_result *rec = NULL;
    avemo_person_window *fused = NULL;
    people_view v = {.rec_name = "recording"};
    model_classes(&v, m);
    media_info mi = {0};
    int st = avemo_timeline_file(m, file, a->window_s, a->hop_s, &a->timeline, &tl);
    v.tl = tl;
    if (!st && (avemo_model_needs(m) & AVEMO_NEEDS_AUDIO)) /* the voice: one result per window for the recording */
        st = recording_windows(m, file, a, &rec, &v.n_rec);
    else if (!st && a->voice && !(st = media_probe(file, &mi))) { /* the bundled models: the common classes */
        if (mi.has_audio) st = recording_windows(a->voice, file, a, &rec, &v.n_rec); /* the voice model's windows */
        if (v.n_rec > tl->n_windows) v.n_rec = tl->n_windows; /* the audio may outlast the video by a window */
        if (!st) st = bundled_view(&v, tl, m, a->voice, rec, &fused);
    }
    v.rec = rec;
    if (!st && a->format == OUT_JSON) cJSON_AddItemToArray(files, timeline_json(&v, file, a->top));
    else if (!st) print_rows(&v, file, a);
    if (!st && a->plot_path) st = write_plot(&v, file, a->plot_path);
    if (!st && a->html_path) st = predict_write_html(a->html_path, file, &v);
    int status = st ? predict_report_error(stderr, file, st, a->format == OUT_JSON ? files : NULL) : 0;
    avemo_timeline_free(tl);
    free(rec);
    free(fused);
    return status;
}
