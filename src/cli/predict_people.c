/* avemo predict --people / --plot / --html: per window, per tracked face, the face's emotion (and, when the
 * model reads audio, the recording's own window result beside it). */
#include "cli/predict_people.h"

#include "cli/cli_util.h"
#include "core/err.h"
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

void predict_csv_header(const avemo_model *m) {
    printf("file,start_s,end_s,person,x0,y0,x1,y1,frames,emotion,p,top");
    for (int k = 0; k < avemo_class_count(m); k++) printf(",p_%s", avemo_class_name(m, k));
    printf("\n");
}

/* A CSV field: quoted (inner quotes doubled) when it holds a comma, quote or line break. */
static void csv_field(const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
}

void predict_csv_row(const avemo_model *m, const char *file, double start_s, double end_s, const char *person,
                     const float *box, int frames, const float *probs, int top_class, int top) {
    int n = avemo_class_count(m), order[AVEMO_MAX_CLASSES], K = top_order(probs, n, top, order);
    csv_field(file);
    printf(",%.3f,%.3f,%s,", start_s, end_s, person);
    if (box) printf("%.1f,%.1f,%.1f,%.1f,", box[0], box[1], box[2], box[3]);
    else printf(",,,,");
    printf("%d,%s,%.4f,", frames, avemo_class_name(m, top_class), probs[top_class]);
    for (int i = 0; i < K; i++) printf("%s%s:%.4f", i ? ";" : "", avemo_class_name(m, order[i]), probs[order[i]]);
    for (int k = 0; k < n; k++) printf(",%.4f", probs[k]);
    printf("\n");
}

static void text_line(const avemo_model *m, const char *file, double s, double e, const char *who, const float *probs,
                      int top_class, int top) {
    int order[AVEMO_MAX_CLASSES], K = top_order(probs, avemo_class_count(m), top, order);
    printf("%s [%.2f-%.2f s] %s: %s %.3f  top-%d:", file, s, e, who, avemo_class_name(m, top_class), probs[top_class], K);
    for (int i = 0; i < K; i++) printf(" %s %.3f%s", avemo_class_name(m, order[i]), probs[order[i]], i + 1 < K ? "," : "");
    printf("\n");
}

static cJSON *probs_json(cJSON *j, const avemo_model *m, const float *probs, int top_class, int top) {
    int n = avemo_class_count(m), order[AVEMO_MAX_CLASSES], K = top_order(probs, n, top, order);
    cJSON_AddStringToObject(j, "emotion", avemo_class_name(m, top_class));
    cJSON_AddNumberToObject(j, "class_index", top_class);
    cJSON *t = cJSON_AddArrayToObject(j, "top");
    for (int i = 0; i < K; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "class", avemo_class_name(m, order[i]));
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

/* The file's JSON entry: windows with the recording's result (audio models) and each person's. */
static cJSON *timeline_json(const avemo_model *m, const char *file, const avemo_timeline *tl, const avemo_result *rec,
                            int n_rec, int top) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "file", file);
    cJSON_AddNumberToObject(e, "width", tl->width);
    cJSON_AddNumberToObject(e, "height", tl->height);
    cJSON_AddNumberToObject(e, "duration_s", tl->duration_s);
    cJSON_AddNumberToObject(e, "sample_fps", tl->sample_fps);
    cJSON_AddNumberToObject(e, "tracks", tl->n_tracks);
    cJSON *ws = cJSON_AddArrayToObject(e, "windows");
    for (int w = 0, i = 0; w < tl->n_windows; w++) {
        cJSON *wj = cJSON_CreateObject();
        cJSON_AddNumberToObject(wj, "start_s", w * tl->hop_s);
        cJSON_AddNumberToObject(wj, "end_s", w * tl->hop_s + tl->window_s);
        if (w < n_rec) probs_json(cJSON_AddObjectToObject(wj, "recording"), m, rec[w].probs, rec[w].top_class, top);
        cJSON *people = cJSON_AddArrayToObject(wj, "people");
        for (; i < tl->n_people && tl->people[i].window == w; i++) {
            const avemo_person_window *p = &tl->people[i];
            cJSON *pj = cJSON_CreateObject();
            cJSON_AddNumberToObject(pj, "person", p->track_id);
            cJSON_AddItemToObject(pj, "box", box_json(p->box));
            cJSON_AddNumberToObject(pj, "frames", p->frames);
            cJSON_AddItemToArray(people, probs_json(pj, m, p->probs, p->top_class, top));
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

static void print_rows(const avemo_model *m, const char *file, const avemo_timeline *tl, const avemo_result *rec,
                       int n_rec, const people_args *a) {
    char who[64];
    for (int w = 0, i = 0; w < tl->n_windows; w++) {
        double s = w * tl->hop_s, e = s + tl->window_s;
        if (w < n_rec && a->format == OUT_CSV)
            predict_csv_row(m, file, s, e, "recording", NULL, rec[w].video_frames, rec[w].probs, rec[w].top_class, a->top);
        else if (w < n_rec) text_line(m, file, s, e, "recording", rec[w].probs, rec[w].top_class, a->top);
        for (; i < tl->n_people && tl->people[i].window == w; i++) {
            const avemo_person_window *p = &tl->people[i];
            snprintf(who, sizeof who, "%d", p->track_id);
            if (a->format == OUT_CSV) {
                predict_csv_row(m, file, s, e, who, p->box, p->frames, p->probs, p->top_class, a->top);
                continue;
            }
            snprintf(who, sizeof who, "person %d [%.0f,%.0f,%.0f,%.0f] %d frame%s", p->track_id, p->box[0], p->box[1],
                     p->box[2], p->box[3], p->frames, p->frames == 1 ? "" : "s");
            text_line(m, file, s, e, who, p->probs, p->top_class, a->top);
        }
    }
}

/* --plot: a panel per person (and one for the recording's result when the model reads audio). */
static int write_plot(const avemo_model *m, const char *file, const avemo_timeline *tl, const avemo_result *rec,
                      int n_rec, const char *png) {
    int P = tl->n_tracks + (n_rec > 0), W = tl->n_windows, K = avemo_class_count(m), rc;
    if (P < 1) return avemo_error(AVEMO_EINVAL, "%s: no face was found: nothing to plot", file);
    float *probs = malloc((size_t)P * W * K * sizeof *probs);
    double *t = malloc((size_t)W * sizeof *t);
    char (*names)[32] = malloc((size_t)P * sizeof *names);
    const char **pn = malloc((size_t)P * sizeof *pn), *cn[AVEMO_MAX_CLASSES];
    if (!probs || !t || !names || !pn) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    else {
        for (long i = 0; i < (long)P * W * K; i++) probs[i] = NAN;
        for (int w = 0; w < W; w++) t[w] = w * tl->hop_s + tl->window_s / 2;
        for (int k = 0; k < K; k++) cn[k] = avemo_class_name(m, k);
        for (int p = 0; p < tl->n_tracks; p++) snprintf(names[p], sizeof names[p], "person %d", p + 1), pn[p] = names[p];
        if (n_rec) snprintf(names[P - 1], sizeof names[0], "recording"), pn[P - 1] = names[P - 1];
        for (int i = 0; i < tl->n_people; i++)
            memcpy(probs + ((size_t)(tl->people[i].track_id - 1) * W + tl->people[i].window) * K, tl->people[i].probs,
                   (size_t)K * sizeof *probs);
        for (int w = 0; w < n_rec && w < W; w++)
            memcpy(probs + ((size_t)(P - 1) * W + w) * K, rec[w].probs, (size_t)K * sizeof *probs);
        timeline_plot tp = {P, W, K, pn, cn, t, probs, tl->duration_s};
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

static int report_error(const char *file, int st, cJSON *files) {
    const char *msg = avemo_last_error();
    if (strstr(msg, file)) fprintf(stderr, "avemo predict: %s\n", msg);
    else fprintf(stderr, "avemo predict: %s: %s\n", file, msg);
    if (files) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "file", file);
        cJSON_AddStringToObject(e, "error", msg);
        cJSON_AddStringToObject(e, "status", avemo_status_name(st));
        cJSON_AddItemToArray(files, e);
    }
    return cli_exit_status(st);
}

int predict_people_file(avemo_model *m, const char *file, const people_args *a, cJSON *files) {
    avemo_timeline *tl = NULL;
    avemo_result *rec = NULL;
    int n_rec = 0;
    int st = avemo_timeline_file(m, file, a->window_s, a->hop_s, &a->timeline, &tl);
    if (!st && (avemo_model_needs(m) & AVEMO_NEEDS_AUDIO)) { /* the voice: one result per window for the recording */
        st = avemo_predict_file_windows(m, file, a->window_s, a->hop_s, NULL, 0, &n_rec);
        if (!st && !(rec = malloc((size_t)(n_rec ? n_rec : 1) * sizeof *rec))) st = avemo_error(AVEMO_ENOMEM, "out of memory");
        if (!st) st = avemo_predict_file_windows(m, file, a->window_s, a->hop_s, rec, n_rec, &n_rec);
    }
    if (!st && a->format == OUT_JSON) cJSON_AddItemToArray(files, timeline_json(m, file, tl, rec, n_rec, a->top));
    else if (!st) print_rows(m, file, tl, rec, n_rec, a);
    if (!st && a->plot_path) st = write_plot(m, file, tl, rec, n_rec, a->plot_path);
    if (!st && a->html_path) st = predict_write_html(a->html_path, file, m, tl, rec, n_rec);
    int status = st ? report_error(file, st, a->format == OUT_JSON ? files : NULL) : 0;
    avemo_timeline_free(tl);
    free(rec);
    return status;
}
