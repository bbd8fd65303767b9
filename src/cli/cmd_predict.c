/* avemo predict: the emotion of media files with a trained model, through the public API (include/avemo.h). */
#include "avemo.h"
#include "cli/cli_args.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/featurizer_args.h"
#include "cli/ordered_run.h"
#include "cli/predict_bundled.h"
#include "cli/predict_people.h"
#include "core/progress.h"
#include "data/weights.h"

#include <cjson/cJSON.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int timing;               /* --timing */
    double start_ms, open_ms; /* when the command started, how long the model took to open */
    const char *model_path;
    avemo_open_options open;
    int top, json;
    double window_s, hop_s;
    int speaker_norm, crops;
    const char *speaker;
    const char *format;       /* --format text|json|csv (--json: json) */
    int csv;
    int people;               /* --people (implied by --plot and --html): a timeline per person */
    const char *plot_path, *html_path;
    double sample_fps;
    int cropped;              /* --cropped (bundled models) */
    int bundled;              /* --people without --model: the bundled face model is model_path */
    int jobs;                 /* --jobs: files predicted at once (0: all cores) */
} predict_args;

/* Fewer clips of a speaker than this: the training statistics instead (one clip's own statistics would remove
 * what the clip says, not the speaker's voice). */
#define SPEAKER_MIN_CLIPS 2

/* The statistics one file is predicted with (--speaker-norm). */
typedef struct {
    char key[64];               /* the speaker: --speaker's ID or the actor of the name; "" = unknown */
    avemo_speaker *stats;       /* shared by the files of the speaker (owned by the first); NULL: fallback */
    int owner;
    int n_files;                /* files of the speaker in the call */
} file_speaker;

static const cli_option predict_options[] = {
    {CLI_STRING(predict_args, model_path, "--model", "M.safetensors"),
     .help = "the trained model (default: the bundled face and voice models,\n"
             "models/README.md: each stream the file has, fused late)"},
    {CLI_FLAG(predict_args, cropped, "--cropped"),
     .help = "without --model: every image is already a face crop (classified as it\n"
             "is, no face detection; default: images of at most 64 px, or gray and\n"
             "square up to 256 px)"},
    {CLI_INT(predict_args, top, "--top", "K", CLI_IN(0, AVEMO_MAX_CLASSES)),
     .help = "show the K most probable classes (default 3; 0 = all)"},
    {CLI_DOUBLE(predict_args, window_s, "--window", "S", CLI_IN_OPEN(0, 1e6)),
     .help = "sliding windows of S seconds: one result each (without --model: the\n"
             "bundled models per window: the face on the window's frame of a video, the\n"
             "voice on its audio, fused as for a whole file)"},
    {CLI_DOUBLE(predict_args, hop_s, "--hop", "H", CLI_IN_OPEN(0, 1e6)),
     .help = "with --window: a window every H seconds (default H = S)"},
    {CLI_FLAG(predict_args, speaker_norm, "--speaker-norm"),
     .help = "standardise each file's audio with its speaker's statistics, from the\n"
             "files of this call that share the speaker (at least " CLI_STR(SPEAKER_MIN_CLIPS) "; a model trained\n"
             "with --speaker-norm); other files get the training statistics"},
    {CLI_STRING(predict_args, speaker, "--speaker", "ID"),
     .help = "with --speaker-norm: every file is speaker ID (default: the speaker of\n"
             "the dataset's naming, RAVDESS ..-AA.ext or CREMA-D AAAA_...)"},
    {CLI_INT(predict_args, crops, "--crops", "K", CLI_IN(0, 1000)),
     .help = "test-time crops: audio longer than the model's clip is predicted on K\n"
             "clip-length windows from its start to its end, softmax averaged"},
    {CLI_FLAG(predict_args, json, "--json"), .help = "one JSON document on stdout instead of text lines (--format json)"},
    {CLI_STRING(predict_args, format, "--format", "text|json|csv"),
     .help = "output: text lines (default), one JSON document, or CSV with a header:\n"
             "file,start_s,end_s,person,x0,y0,x1,y1,frames,emotion,p,top,p_<class>...\n"
             "(person: the track id with --people, \"recording\" for the whole recording's\n"
             "window result (\"voice\" for the bundled voice model's, \"N+voice\" for person N\n"
             "fused with it), empty for a file's result; without --model and --people:\n"
             "each window's fused result (person empty), then a row per stream that\n"
             "spoke, \"face\" and \"voice\"; box in frame pixels, empty when\n"
             "none; frames: the face's sampled frames (person) or the video frames read;\n"
             "top: the top-K as class:p;class:p; p_<class>: every class's probability)"},
    {CLI_FLAG(predict_args, people, "--people"),
     .help = "a timeline per person: every face tracked over the video (frames sampled\n"
             "at --sample-fps, IoU tracking) gets its own face emotion per window (the\n"
             "model's video stream on that face alone; a one-frame model: averaged over\n"
             "the face's frames); a model with audio adds the recording's window result.\n"
             "Windows: --window/--hop (default 2 s every 1 s). Without --model: the\n"
             "bundled face model (models/face.safetensors) per person and, for a video\n"
             "with sound, the bundled voice model per window (a \"voice\" row: the\n"
             "recording's, not a person's) and each person's face fused with it (CSV\n"
             "person \"N+voice\", JSON \"fused\"), all in the 7 common classes"},
    {CLI_DOUBLE(predict_args, sample_fps, "--sample-fps", "F", CLI_IN_OPEN(0, 1000)),
     .help = "with --people: frames sampled per second for tracking (default 5)"},
    {CLI_STRING(predict_args, plot_path, "--plot", "FILE.png"),
     .help = "with one FILE: a PNG of each person's emotion over time (implies --people)"},
    {CLI_STRING(predict_args, html_path, "--html", "FILE.html"),
     .help = "with one FILE: a self-contained page with the video, each person's emotion\n"
             "curves, a cursor following playback and the face boxes over the video\n"
             "(video embedded when under 8 MB, else linked by its absolute path;\n"
             "implies --people)"},
    {CLI_STRING(predict_args, open.backbone, "--backbone", "W"),
     .help = "MobileNetV2 weights (default: the path recorded by avemo prep\n"
             "--backbone)"},
    {CLI_STRING(predict_args, open.mtcnn_manifest, "--mtcnn", "PATH"), .help = MTCNN_PATH_HELP},
    {CLI_INT(predict_args, open.tta, "--tta", "1|2|10", CLI_IN(1, 10)),
     .help = "test-time views of the video frames, probabilities averaged: 1 none (default;\n"
             "10 without --model, except with --people), 2 + mirror, 10 + four 90%\n"
             "crops and their mirrors"},
    {CLI_INT(predict_args, jobs, "--jobs", "N", CLI_IN(1, 1024)),
     .help = "files predicted at once, each on one thread (default: all cores); with\n"
             "--jobs 1, one FILE or --people: one file after another, each on all\n"
             "cores inside. The output is the same, in the order of the FILEs\n"
             "(probabilities may differ from --jobs 1's in the last float digits:\n"
             "MobileNetV2's sums depend on its thread count)"},
    {CLI_FLAG(predict_args, timing, "--timing"),
     .help = "per file, one line on stderr: the stages (with --model: model open,\n"
             "decode, faces, features, model; on 2+ threads the audio, the video's\n"
             "decode and the face search overlap, so the stages may add up to more)\n"
             "and the wall time since the command started; then one line: N files in\n"
             "S s: F files/s (J jobs)"},
    {0}};

static const cli_command predict_command = {
    .name = "predict",
    .inputs = "FILE...",
    .min_inputs = 1,
    .about = "  Predicts the emotion of each FILE (a video with sound, a silent video, an audio file or a still image,\n"
             "  as the model needs) with a model written by `avemo train`. The features are computed as `avemo prep`\n"
             "  made the training features (settings stored in the model file).\n"
             "  Without --model: the bundled models (models/, or installed in share/avemo, or $AVEMO_DATA): the face\n"
             "  model (FER2013, 7 classes) on a photo, a face crop or a video's central frame, the voice model\n"
             "  (RAVDESS, 8 classes) on the audio; both for a video with sound, mapped to 7 classes (calm -> neutral)\n"
             "  and averaged with equal weights: late fusion of two separately trained models, not the paper's\n"
             "  jointly trained audio-visual model.\n",
    .footer = "Per file: the emotion, the top-K probabilities and the time spent (decode, faces, features, model).\n"
              "A file that cannot be used gives one line on stderr naming it (and an \"error\" entry with --json); the\n"
              "other files are still processed.\n"
              "exit status: 0 all files predicted; 2 bad usage, bad model, or at least one bad file; 1 runtime failure\n"
              "(out of memory, internal error).\n",
    .groups = {{NULL, predict_options, 0}},
};

static double now_ms(void) { return now_seconds() * 1e3; } /* core/progress.h's clock, as ordered_run's */

/* --jobs, or all cores */
static int predict_jobs(const predict_args *a) { return a->jobs > 0 ? a->jobs : omp_get_max_threads(); }

/* --timing: the stage breakdown of one result on stderr (stdout keeps the results, --json stays one document) */
static void print_timing(FILE *err, const char *file, const avemo_result *r, const predict_args *o, int window) {
    fprintf(err, "timing %s", file);
    if (window) fprintf(err, " [%.2f-%.2f s]", r->start_s, r->end_s);
    fprintf(err,
            ": model open %.1f ms (once), decode %.1f ms, faces %.1f ms, features %.1f ms, model %.1f ms, total %.1f ms; "
            "%.1f ms since the command started",
            o->open_ms, r->decode_ms, r->faces_ms, r->features_ms, r->model_ms, r->total_ms, now_ms() - o->start_ms);
    if (!window && r->end_s > r->start_s) /* the file's seconds per second since the start */
        fprintf(err, "; real-time factor %.2f", (r->end_s - r->start_s) * 1e3 / (now_ms() - o->start_ms));
    fprintf(err, "\n");
}

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

/* "speaker 12 (60 clips)" or why the training statistics were used, into buf */
static void speaker_text(const file_speaker *sp, char *buf, size_t cap) {
    if (sp->stats) snprintf(buf, cap, "speaker %s: %d clips", sp->key, avemo_speaker_clips(sp->stats));
    else if (!sp->key[0]) snprintf(buf, cap, "training statistics: no speaker in the name");
    else snprintf(buf, cap, "training statistics: %d clip of speaker %s", sp->n_files, sp->key);
}

static void print_text(FILE *out, const avemo_model *m, const char *file, const avemo_result *r, const predict_args *o,
                       int window, const file_speaker *sp) {
    int order[AVEMO_MAX_CLASSES], K = o->top > 0 && o->top < r->n_classes ? o->top : r->n_classes;
    ranking(r, order);
    if (window) fprintf(out, "%s [%.2f-%.2f s]: ", file, r->start_s, r->end_s);
    else fprintf(out, "%s: ", file);
    fprintf(out, "%s %.3f  top-%d:", avemo_class_name(m, r->top_class), r->probs[r->top_class], K);
    for (int i = 0; i < K; i++)
        fprintf(out, " %s %.3f%s", avemo_class_name(m, order[i]), r->probs[order[i]], i + 1 < K ? "," : "");
    fprintf(out, "  [");
    if (!r->used_audio && (avemo_model_needs(m) & AVEMO_NEEDS_AUDIO)) fprintf(out, "no audio: zeros; ");
    if (!r->used_video && (avemo_model_needs(m) & AVEMO_NEEDS_VIDEO)) fprintf(out, "no video: zeros; ");
    if (r->frames_without_face) fprintf(out, "%d/%d frames without a face; ", r->frames_without_face, r->video_frames);
    if (sp) {
        char who[160];
        speaker_text(sp, who, sizeof who);
        fprintf(out, "%s; ", who);
    }
    fprintf(out, "decode %.1f ms, faces %.1f ms, features %.1f ms, model %.1f ms, total %.1f ms]\n", r->decode_ms,
            r->faces_ms, r->features_ms, r->model_ms, r->total_ms);
}

/* Adds one result's fields to the object j; returns j. */
static cJSON *result_json(cJSON *j, const avemo_model *m, const avemo_result *r, const predict_args *o, int window,
                          const file_speaker *sp) {
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
    if (sp) { /* which statistics standardised the audio */
        cJSON_AddStringToObject(j, "speaker", sp->key);
        cJSON_AddStringToObject(j, "speaker_stats", sp->stats ? "speaker" : "training");
        cJSON_AddNumberToObject(j, "speaker_clips", sp->stats ? avemo_speaker_clips(sp->stats) : 0);
    }
    cJSON *t = cJSON_AddObjectToObject(j, "timing_ms");
    cJSON_AddNumberToObject(t, "decode", r->decode_ms);
    cJSON_AddNumberToObject(t, "faces", r->faces_ms);
    cJSON_AddNumberToObject(t, "features", r->features_ms);
    cJSON_AddNumberToObject(t, "model", r->model_ms);
    cJSON_AddNumberToObject(t, "total", r->total_ms);
    return j;
}

/* One file (or its windows), printed as text or added to the JSON array to->json; returns its exit status
 * (cli_exit_status). */
static int predict_one(avemo_model *m, const char *file, const predict_args *o, const file_speaker *sp,
                       const ordered_sink *to) {
    cJSON *arr = to->json;
    avemo_result one, *res = &one;
    int n = 1, st;
    avemo_predict_options po = {sp ? sp->stats : NULL, o->crops};
    if (o->window_s > 0) {
        st = avemo_predict_file_windows(m, file, o->window_s, o->hop_s, NULL, 0, &n);
        res = st ? NULL : malloc((size_t)(n ? n : 1) * sizeof *res);
        if (!st && !res) st = AVEMO_ENOMEM;
        if (!st) st = avemo_predict_file_windows(m, file, o->window_s, o->hop_s, res, n, &n);
    } else {
        st = avemo_predict_file_ex(m, file, &po, &one);
    }
    if (st) {
        predict_report_error(to->err, file, st, o->json ? arr : NULL);
    } else if (o->json) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "file", file);
        if (o->window_s > 0) {
            cJSON *w = cJSON_AddArrayToObject(e, "windows");
            for (int k = 0; k < n; k++) cJSON_AddItemToArray(w, result_json(cJSON_CreateObject(), m, &res[k], o, 1, sp));
        } else {
            result_json(e, m, res, o, 0, sp);
        }
        cJSON_AddItemToArray(arr, e);
    } else if (o->csv) {
        for (int k = 0; k < n; k++)
            predict_csv_row(to->out, m, file, res[k].start_s, res[k].end_s, "", NULL,
                            res[k].video_frames, res[k].probs, res[k].top_class, o->top);
    } else {
        for (int k = 0; k < n; k++) print_text(to->out, m, file, &res[k], o, o->window_s > 0, sp);
    }
    if (!st && o->timing) {
        fflush(to->out);
        for (int k = 0; k < n; k++) print_timing(to->err, file, &res[k], o, o->window_s > 0);
    }
    if (res != &one) free(res);
    return cli_exit_status(st);
}

/* The document of --json: the model, its classes, the windows asked for; the files go into *files. */
static cJSON *json_document(const avemo_model *m, const predict_args *a, cJSON **files) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "model", a->model_path);
    cJSON *cls = cJSON_AddArrayToObject(doc, "classes");
    if (a->bundled) { /* the bundled models: every result in the common classes */
        cJSON_AddStringToObject(doc, "fusion", "with sound: each person's face and the recording's voice (bundled voice "
                                "model), mapped to the common classes and averaged with equal weights (late fusion)");
        for (int k = 0; k < AVEMO_BUNDLE_CLASSES; k++) cJSON_AddItemToArray(cls, cJSON_CreateString(avemo_bundle_class_name(k)));
    }
    for (int k = 0; k < avemo_class_count(m) && !a->bundled; k++)
        cJSON_AddItemToArray(cls, cJSON_CreateString(avemo_class_name(m, k)));
    if (a->window_s > 0) {
        cJSON_AddNumberToObject(doc, "window_s", a->window_s);
        cJSON_AddNumberToObject(doc, "hop_s", a->hop_s);
    }
    *files = cJSON_AddArrayToObject(doc, "files");
    return doc;
}

/* --speaker-norm: each file's speaker, and the statistics of every speaker with enough files (from those files).
 * Returns the exit status of a failure (statistics failing for a speaker only log and fall back). */
static int group_speakers(avemo_model *m, const predict_args *a, const cli_inputs *files, file_speaker *sp) {
    const char **group = malloc((size_t)files->n * sizeof *group);
    if (!group) return 1;
    for (int f = 0; f < files->n; f++) {
        int id;
        if (a->speaker) snprintf(sp[f].key, sizeof sp[f].key, "%s", a->speaker);
        else if (avemo_speaker_of_file(files->items[f], &id)) snprintf(sp[f].key, sizeof sp[f].key, "%d", id);
    }
    for (int f = 0; f < files->n; f++) {
        if (!sp[f].key[0] || sp[f].n_files) continue; /* no speaker, or grouped with an earlier file */
        int n = 0;
        for (int g = f; g < files->n; g++)
            if (!strcmp(sp[g].key, sp[f].key)) group[n++] = files->items[g];
        avemo_speaker *stats = NULL;
        if (n >= SPEAKER_MIN_CLIPS && avemo_speaker_from_files(m, group, n, &stats))
            fprintf(stderr, "avemo predict: speaker %s: %s (training statistics used)\n", sp[f].key, avemo_last_error());
        for (int g = f; g < files->n; g++)
            if (!strcmp(sp[g].key, sp[f].key)) sp[g].stats = stats, sp[g].n_files = n;
        sp[f].owner = 1;
    }
    free(group);
    return 0;
}

/* --format is text, json or csv and agrees with --json; 0 or the usage error's status. */
static int check_format(const predict_args *a) {
    if (a->format && strcmp(a->format, "text") && strcmp(a->format, "json") && strcmp(a->format, "csv"))
        return cli_usage_error("predict", "--format: '%s' is not text, json or csv", a->format);
    if (a->format && a->json && strcmp(a->format, "json"))
        return cli_usage_error("predict", "--json contradicts --format %s", a->format);
    return 0;
}

/* --format, --json, --people and what implies it, before the model is opened; 0 or the usage error's status. */
static int resolve_output(predict_args *a, const cli_inputs *files) {
    int st = check_format(a);
    if (st) return st;
    if (a->format) a->json = !strcmp(a->format, "json"), a->csv = !strcmp(a->format, "csv");
    if ((a->plot_path || a->html_path) && files->n != 1)
        return cli_usage_error("predict", "--plot and --html take one FILE (got %d)", files->n);
    if (a->plot_path || a->html_path) a->people = 1;
    if (a->sample_fps > 0 && !a->people) return cli_usage_error("predict", "--sample-fps needs --people");
    if (a->people && a->window_s == 0) a->window_s = 2, a->hop_s = a->hop_s > 0 ? a->hop_s : 1;
    return 0;
}

/* The per-person options of predict_people_file. */
static people_args people_of(const predict_args *a) {
    people_args p = {.format = a->json ? OUT_JSON : a->csv ? OUT_CSV : OUT_TEXT, .top = a->top, .window_s = a->window_s,
                     .hop_s = a->hop_s, .plot_path = a->plot_path, .html_path = a->html_path};
    p.timeline.mtcnn_manifest = a->open.mtcnn_manifest;
    p.timeline.sample_fps = a->sample_fps;
    return p;
}

/* Without --model: the options that need one are usage errors; else the bundled models' predictions (per window
 * with --window). */
static int predict_without_model(const predict_args *a, const cli_inputs *files) {
    if (a->speaker_norm || a->speaker || a->crops || a->open.backbone)
        return cli_usage_error("predict", "--speaker-norm, --speaker, --crops and --backbone need --model (the "
                               "bundled models take none of them)");
    if (a->hop_s > 0 && a->window_s == 0) return cli_usage_error("predict", "--hop needs --window");
    if (a->window_s > 0 && a->cropped) return cli_usage_error("predict", "--window does not combine with --cropped");
    int st = check_format(a);
    if (st) return st;
    int csv = a->format && !strcmp(a->format, "csv");
    if (csv && a->window_s == 0)
        return cli_usage_error("predict", "--format csv needs --model, --window or --people (without --model: the "
                               "bundled models per window or per person)");
    predict_bundled_args b = {a->json || (a->format && !strcmp(a->format, "json")), a->cropped, a->open.mtcnn_manifest,
                              a->window_s, a->hop_s > 0 ? a->hop_s : a->window_s, csv, a->top, a->open.tta,
                              predict_jobs(a), a->timing, a->start_ms};
    return predict_bundled(&b, files->items, files->n);
}

/* The usage errors predict finds once the model is open; 0 when none. */
static int check_predict_args(const avemo_model *m, const predict_args *a) {
    if (a->speaker_norm && !avemo_model_speaker_norm(m))
        return cli_usage_error("predict", "--speaker-norm: %s was trained without --speaker-norm", a->model_path);
    if (a->window_s > 0 && (a->speaker_norm || a->crops > 1))
        return cli_usage_error("predict", "--window does not combine with --speaker-norm or --crops");
    if (a->people && (a->speaker_norm || a->crops > 1))
        return cli_usage_error("predict", "--people does not combine with --speaker-norm or --crops");
    return 0;
}

/* --people (or --plot, --html) without --model: the bundled face model (models/face.safetensors, found as
 * src/data/weights.h says) scores each person's face: one view per frame unless --tta says (a window averages
 * several frames already; 10 views cost about 45 % more CPU there); 0, or the exit status of not finding it. */
static int bundled_face_for_people(predict_args *a, char *path, size_t cap) {
    if (a->model_path || a->cropped || !(a->people || a->plot_path || a->html_path)) return 0;
    int rc = weights_find(WEIGHTS_FACE_MODEL, NULL, NULL, path, cap);
    if (rc) return cli_fail("predict", rc);
    a->model_path = path;
    a->bundled = 1;
    return 0;
}

/* The bundled voice model beside the bundled face (--people without --model); 0 or the exit status. */
static int bundled_voice_for_people(const predict_args *a, avemo_model **voice) {
    char path[4096];
    int rc = a->bundled ? weights_find(WEIGHTS_VOICE_MODEL, NULL, NULL, path, sizeof path) : 0;
    if (!rc && a->bundled) rc = avemo_model_open(path, voice);
    return rc ? cli_fail("predict", rc) : 0;
}

/* What each file's prediction reads (ordered_run's ctx). */
typedef struct {
    avemo_model *m;
    const predict_args *a;
    const cli_inputs *files;
    const file_speaker *sp;
    const people_args *pa;
} predict_run;

/* File i of the command (ordered_run's run): its exit status. --people writes to stdout itself (one worker). */
static int predict_file(void *ctx, int i, const ordered_sink *to) {
    const predict_run *r = ctx;
    const char *file = r->files->items[i];
    return r->a->people ? predict_people_file(r->m, file, r->pa, to->json)
                        : predict_one(r->m, file, r->a, r->a->speaker_norm ? &r->sp[i] : NULL, to);
}

int cmd_predict(int argc, char **argv) {
    predict_args a = {.top = 3, .start_ms = now_ms()};
    cli_inputs files;
    char face_path[4096];
    int status = cli_parse(&predict_command, argc, argv, &a, &files);
    if (status != CLI_RUN) return status;
    if ((status = bundled_face_for_people(&a, face_path, sizeof face_path))) {
        cli_inputs_free(&files);
        return status;
    }
    status = CLI_RUN;
    if (!a.model_path || a.cropped) {
        status = a.model_path ? cli_usage_error("predict", "--cropped is for the bundled models (no --model)")
                              : predict_without_model(&a, &files);
        cli_inputs_free(&files);
        return status;
    }
    avemo_model *m = NULL;
    int st;
    file_speaker *sp = calloc((size_t)files.n + 1, sizeof *sp);
    double t_open = now_ms();
    if (!sp) status = 1;
    else if (a.hop_s > 0 && a.window_s == 0) status = cli_usage_error("predict", "--hop needs --window");
    else if (a.speaker && !a.speaker_norm) status = cli_usage_error("predict", "--speaker needs --speaker-norm");
    else if ((st = resolve_output(&a, &files))) status = st;
    else if ((st = avemo_model_open_ex(a.model_path, &a.open, &m))) status = cli_fail("predict", st);
    else if ((st = check_predict_args(m, &a))) status = st;
    else if (a.speaker_norm && (st = group_speakers(m, &a, &files, sp))) status = st;
    a.open_ms = now_ms() - t_open;
    if (status != CLI_RUN) {
        avemo_model_close(m);
        free(sp);
        cli_inputs_free(&files);
        return status;
    }
    if (a.window_s > 0 && a.hop_s == 0) a.hop_s = a.window_s;
    cJSON *files_json = NULL, *doc = a.json ? json_document(m, &a, &files_json) : NULL;
    status = 0;
    people_args pa = people_of(&a);
    int voice_status = status = bundled_voice_for_people(&a, &pa.voice);
    if (a.csv && a.people && !voice_status) predict_people_csv_header(m, &pa);
    else if (a.csv && !voice_status) predict_csv_header(m);
    predict_run run = {m, &a, &files, sp, &pa};
    ordered_run each = {a.people ? 1 : predict_jobs(&a), files_json, "predict", a.timing, predict_file, &run};
    if (!voice_status) status = ordered_run_all(&each, files.n); /* a bad file (2) outranks a runtime failure (1) */
    if (a.json) {
        char *s = cJSON_Print(doc);
        if (s) puts(s);
        else status = 1;
        free(s);
        cJSON_Delete(doc);
    }
    fflush(stdout);
    for (int f = 0; f < files.n; f++)
        if (sp[f].owner) avemo_speaker_free(sp[f].stats);
    free(sp);
    avemo_model_close(m);
    avemo_model_close(pa.voice);
    cli_inputs_free(&files);
    return status;
}
