/* avemo predict: the emotion of media files with a trained model, through the public API (include/avemo.h). */
#include "avemo.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *predict_usage =
    "usage: avemo predict --model M.safetensors [options] FILE...\n"
    "  Predicts the emotion of each FILE (a video with sound, a silent video, an audio file or a still image,\n"
    "  as the model needs) with a model written by `avemo train`. The features are computed as `avemo prep`\n"
    "  made the training features (settings stored in the model file).\n"
    "options:\n"
    "  --model M.safetensors   the trained model (required)\n"
    "  --top K                 show the K most probable classes (default 3; 0 = all)\n"
    "  --window S [--hop H]    sliding windows of S seconds every H seconds (default H = S): one result each\n"
    "  --json                  one JSON document on stdout instead of text lines\n"
    "  --backbone W            MobileNetV2 weights (default: the path recorded by avemo prep --backbone)\n"
    "  --mtcnn PATH            MTCNN weights: TF.js manifest or folder with pnet/rnet/onet.tflite\n"
    "                          (default $AVEMO_MTCNN, ../shared/weights/mtcnn, weights/mtcnn-tflite)\n"
    "Per file: the emotion, the top-K probabilities and the time spent (decode, faces, features, model).\n"
    "A file that cannot be used gives one line on stderr naming it (and an \"error\" entry with --json); the\n"
    "other files are still processed.\n"
    "exit status: 0 all files predicted; 2 bad usage, bad model, or at least one bad file; 1 runtime failure\n"
    "(out of memory, internal error).\n";

typedef struct {
    int top, json;
    double window_s, hop_s;
} predict_opts;

static int cmp_desc_idx(const void *a, const void *b, void *probs_v) {
    const float *p = probs_v;
    float x = p[*(const int *)a], y = p[*(const int *)b];
    return x > y ? -1 : x < y ? 1 : *(const int *)a - *(const int *)b;
}

/* class indices sorted by descending probability */
static void ranking(const avemo_result *r, int *order) {
    for (int k = 0; k < r->n_classes; k++) order[k] = k;
    qsort_r(order, r->n_classes, sizeof *order, cmp_desc_idx, (void *)r->probs);
}

static void print_text(const avemo_model *m, const char *file, const avemo_result *r, const predict_opts *o, int window) {
    int order[AVEMO_MAX_CLASSES], K = o->top > 0 && o->top < r->n_classes ? o->top : r->n_classes;
    ranking(r, order);
    if (window) printf("%s [%.2f-%.2f s]: ", file, r->start_s, r->end_s);
    else printf("%s: ", file);
    printf("%s %.3f  top-%d:", avemo_class_name(m, r->top_class), r->probs[r->top_class], K);
    for (int i = 0; i < K; i++) printf(" %s %.3f%s", avemo_class_name(m, order[i]), r->probs[order[i]], i + 1 < K ? "," : "");
    printf("  [");
    if (!r->used_audio && (avemo_model_needs(m) & AVEMO_NEEDS_AUDIO)) printf("no audio: zeros; ");
    if (!r->used_video && (avemo_model_needs(m) & AVEMO_NEEDS_VIDEO)) printf("no video: zeros; ");
    if (r->frames_without_face) printf("%d/%d frames without a face; ", r->frames_without_face, r->video_frames);
    printf("decode %.1f ms, faces %.1f ms, features %.1f ms, model %.1f ms, total %.1f ms]\n", r->decode_ms, r->faces_ms,
           r->features_ms, r->model_ms, r->total_ms);
}

/* Adds one result's fields to the object j; returns j. */
static cJSON *result_json(cJSON *j, const avemo_model *m, const avemo_result *r, const predict_opts *o, int window) {
    int order[AVEMO_MAX_CLASSES], K = o->top > 0 && o->top < r->n_classes ? o->top : r->n_classes;
    ranking(r, order);
    if (window) {
        cJSON_AddNumberToObject(j, "start_s", r->start_s);
        cJSON_AddNumberToObject(j, "end_s", r->end_s);
    }
    cJSON_AddStringToObject(j, "emotion", avemo_class_name(m, r->top_class));
    cJSON_AddNumberToObject(j, "class_index", r->top_class);
    cJSON *top = cJSON_AddArrayToObject(j, "top");
    for (int i = 0; i < K; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "class", avemo_class_name(m, order[i]));
        cJSON_AddNumberToObject(e, "p", r->probs[order[i]]);
        cJSON_AddItemToArray(top, e);
    }
    cJSON *p = cJSON_AddArrayToObject(j, "probs"); /* in class order (the model's "classes") */
    for (int k = 0; k < r->n_classes; k++) cJSON_AddItemToArray(p, cJSON_CreateNumber(r->probs[k]));
    cJSON_AddBoolToObject(j, "used_audio", r->used_audio);
    cJSON_AddBoolToObject(j, "used_video", r->used_video);
    if (r->used_video) {
        cJSON_AddNumberToObject(j, "video_frames", r->video_frames);
        cJSON_AddNumberToObject(j, "frames_without_face", r->frames_without_face);
    }
    cJSON *t = cJSON_AddObjectToObject(j, "timing_ms");
    cJSON_AddNumberToObject(t, "decode", r->decode_ms);
    cJSON_AddNumberToObject(t, "faces", r->faces_ms);
    cJSON_AddNumberToObject(t, "features", r->features_ms);
    cJSON_AddNumberToObject(t, "model", r->model_ms);
    cJSON_AddNumberToObject(t, "total", r->total_ms);
    return j;
}

static int parse_double(const char *s, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0 && v < 1e6)) return 0;
    *out = v;
    return 1;
}

/* Exit-status class of a per-file failure: 1 for runtime failures, 2 for bad input. */
static int exit_class(int st) { return st == AVEMO_ENOMEM || st == AVEMO_EINTERNAL ? 1 : 2; }

/* One file (or its windows), printed as text or added to the JSON array arr; returns 0, or the exit-status class
 * of its failure. */
static int predict_one(avemo_model *m, const char *file, const predict_opts *o, cJSON *arr) {
    avemo_result one, *res = &one;
    int n = 1, st;
    if (o->window_s > 0) {
        st = avemo_predict_file_windows(m, file, o->window_s, o->hop_s, NULL, 0, &n);
        res = st ? NULL : malloc((size_t)(n ? n : 1) * sizeof *res);
        if (!st && !res) st = AVEMO_ENOMEM;
        if (!st) st = avemo_predict_file_windows(m, file, o->window_s, o->hop_s, res, n, &n);
    } else {
        st = avemo_predict_file(m, file, &one);
    }
    if (st) {
        const char *msg = avemo_last_error();
        /* the library's messages name the file; add it when one does not */
        if (strstr(msg, file)) fprintf(stderr, "avemo predict: %s\n", msg);
        else fprintf(stderr, "avemo predict: %s: %s\n", file, msg);
        if (o->json) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "file", file);
            cJSON_AddStringToObject(e, "error", msg);
            cJSON_AddStringToObject(e, "status", avemo_status_name(st));
            cJSON_AddItemToArray(arr, e);
        }
    } else if (o->json) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "file", file);
        if (o->window_s > 0) {
            cJSON *w = cJSON_AddArrayToObject(e, "windows");
            for (int k = 0; k < n; k++) cJSON_AddItemToArray(w, result_json(cJSON_CreateObject(), m, &res[k], o, 1));
        } else {
            result_json(e, m, res, o, 0);
        }
        cJSON_AddItemToArray(arr, e);
    } else {
        for (int k = 0; k < n; k++) print_text(m, file, &res[k], o, o->window_s > 0);
    }
    if (res != &one) free(res);
    return st ? exit_class(st) : 0;
}

int cmd_predict(int argc, char **argv) {
    predict_opts o = {.top = 3};
    avemo_open_options oo = {0};
    const char *model_path = NULL;
    int hop_given = 0;
    char **files = calloc((size_t)argc, sizeof *files);
    int n_files = 0;
    if (!files) {
        fprintf(stderr, "avemo predict: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(predict_usage, stdout);
            free(files);
            return 0;
        }
        if (!strcmp(a, "--json")) { o.json = 1; continue; }
        if (a[0] == '-' && a[1] == '-') {
            if (i + 1 >= argc) {
                fprintf(stderr, "avemo predict: %s needs a value (avemo predict --help)\n", a);
                free(files);
                return 2;
            }
            const char *v = argv[++i];
            int bad = 0;
            if (!strcmp(a, "--model")) model_path = v;
            else if (!strcmp(a, "--backbone")) oo.backbone = v;
            else if (!strcmp(a, "--mtcnn")) oo.mtcnn_manifest = v;
            else if (!strcmp(a, "--window")) bad = !parse_double(v, &o.window_s);
            else if (!strcmp(a, "--hop")) bad = !(hop_given = parse_double(v, &o.hop_s));
            else if (!strcmp(a, "--top")) {
                char *end;
                long k = strtol(v, &end, 10);
                bad = end == v || *end || k < 0 || k > AVEMO_MAX_CLASSES;
                o.top = (int)k;
            } else {
                fprintf(stderr, "avemo predict: unknown option '%s' (avemo predict --help)\n", a);
                free(files);
                return 2;
            }
            if (bad) {
                fprintf(stderr, "avemo predict: bad value '%s' for %s\n", v, a);
                free(files);
                return 2;
            }
            continue;
        }
        files[n_files++] = argv[i];
    }
    if (!model_path || n_files == 0) {
        fprintf(stderr, "avemo predict: %s (avemo predict --help)\n", !model_path ? "--model is required" : "no input file");
        free(files);
        return 2;
    }
    if (hop_given && o.window_s == 0) {
        fprintf(stderr, "avemo predict: --hop needs --window\n");
        free(files);
        return 2;
    }
    if (o.window_s > 0 && !hop_given) o.hop_s = o.window_s;
    avemo_model *m;
    int st = avemo_model_open_ex(model_path, &oo, &m);
    if (st) {
        fprintf(stderr, "avemo predict: %s\n", avemo_last_error());
        free(files);
        return exit_class(st);
    }
    int status = 0;
    cJSON *doc = NULL, *arr = NULL;
    if (o.json) {
        doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "model", model_path);
        cJSON *cls = cJSON_AddArrayToObject(doc, "classes");
        for (int k = 0; k < avemo_class_count(m); k++) cJSON_AddItemToArray(cls, cJSON_CreateString(avemo_class_name(m, k)));
        if (o.window_s > 0) {
            cJSON_AddNumberToObject(doc, "window_s", o.window_s);
            cJSON_AddNumberToObject(doc, "hop_s", o.hop_s);
        }
        arr = cJSON_AddArrayToObject(doc, "files");
    }
    for (int f = 0; f < n_files; f++) {
        int c = predict_one(m, files[f], &o, arr);
        if (c > status || (c == 2 && status == 0)) status = c;
    }
    if (o.json) {
        char *s = cJSON_Print(doc);
        if (s) puts(s);
        else status = 1;
        free(s);
        cJSON_Delete(doc);
    }
    fflush(stdout);
    avemo_model_close(m);
    free(files);
    return status;
}
