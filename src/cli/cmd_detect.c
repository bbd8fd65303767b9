/* avemo detect: MTCNN faces per frame of images or videos (box, score, 5 landmarks), text or JSON
 * (data/featurizer_jobs.h). */
#include "cli/cli_args.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/featurizer_args.h"
#include "core/err.h"
#include "data/featurizer_jobs.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    detect_job job;
    int json;
    cJSON *files; /* --json: the document, one entry per input read */
} detect_args;

static const cli_option detect_options[] = {
    {CLI_FLAG(detect_args, json, "--json"), .help = "one JSON document on stdout instead of text lines"},
    {CLI_INT(detect_args, job.frames, "--frames", "N", CLI_IN(1, 10000)),
     .help = "sampled frames per video (default " CLI_STR(AVEMO_FRAMES_PER_CLIP) ")"},
    {CLI_CHOICE(detect_args, job.window, "--frame-window", frame_window_choices),
     .help = "frames over the central " CLI_STR(AVEMO_CLIP_SECONDS) " s (default), or the baseline's first 108"},
    {CLI_FLOAT(detect_args, job.mtcnn.min_face_px, "--min-face", "PX", CLI_AT_LEAST(12)),
     .help = "smallest face searched for, in pixels (default 20)"},
    {CLI_STRING(detect_args, job.mtcnn_path, "--mtcnn", "PATH"), .help = MTCNN_PATH_HELP},
    {0}};

static const cli_command detect_command = {
    .name = "detect",
    .inputs = "IMAGE_OR_VIDEO...",
    .min_inputs = 1,
    .about = "MTCNN face detection. Images give one frame; videos give N sampled frames. Per face: box x0 y0 x1 y1\n"
             "(pixels), score, landmarks (left eye, right eye, nose, mouth left, mouth right).\n",
    .groups = {{NULL, detect_options, 0}},
};

static cJSON *face_json(const mtcnn_face *f) {
    cJSON *o = cJSON_CreateObject();
    float box[4] = {f->x0, f->y0, f->x1, f->y1};
    cJSON_AddItemToObject(o, "box", cJSON_CreateFloatArray(box, 4));
    cJSON_AddNumberToObject(o, "score", f->score);
    cJSON *lm = cJSON_AddArrayToObject(o, "landmarks");
    for (int k = 0; k < 5; k++) {
        float p[2] = {f->lm_x[k], f->lm_y[k]};
        cJSON_AddItemToArray(lm, cJSON_CreateFloatArray(p, 2));
    }
    return o;
}

/* One input as an entry of the JSON document: the clip and the faces of each frame searched. */
static void add_json(cJSON *files, const detect_done *d) {
    cJSON *file = cJSON_CreateObject();
    cJSON_AddStringToObject(file, "file", d->path);
    cJSON_AddNumberToObject(file, "width", d->width);
    cJSON_AddNumberToObject(file, "height", d->height);
    cJSON_AddNumberToObject(file, "total_frames", (double)d->total_frames);
    if (d->fps > 0) cJSON_AddNumberToObject(file, "fps", d->fps);
    cJSON *frames = cJSON_AddArrayToObject(file, "frames");
    for (int k = 0; k < d->n_searched; k++) {
        const detect_frame *df = &d->frames[k];
        cJSON *frame = cJSON_CreateObject();
        cJSON_AddNumberToObject(frame, "frame", k);
        cJSON_AddNumberToObject(frame, "source_frame", (double)df->source_frame);
        cJSON *faces = cJSON_AddArrayToObject(frame, "faces");
        for (int j = 0; j < df->n_faces; j++) cJSON_AddItemToArray(faces, face_json(&df->faces[j]));
        cJSON_AddItemToArray(frames, frame);
    }
    cJSON_AddItemToArray(files, file);
}

/* One input as text: a line for the clip, then per frame its faces. */
static void print_text(const detect_done *d) {
    printf("%s: %dx%d, %d frame%s\n", d->path, d->width, d->height, d->n_sampled, d->n_sampled == 1 ? "" : "s");
    for (int k = 0; k < d->n_searched; k++) {
        const detect_frame *df = &d->frames[k];
        printf("  frame %d (source %ld): %d face%s\n", k, df->source_frame, df->n_faces, df->n_faces == 1 ? "" : "s");
        for (int j = 0; j < df->n_faces; j++) {
            const mtcnn_face *f = &df->faces[j];
            printf("    box %.1f %.1f %.1f %.1f  score %.5f  landmarks", f->x0, f->y0, f->x1, f->y1, f->score);
            for (int p = 0; p < 5; p++) printf(" %.1f,%.1f", f->lm_x[p], f->lm_y[p]);
            printf("\n");
        }
    }
}

static void report_input(const detect_done *d, void *args_v) {
    detect_args *a = args_v;
    if (d->decoded && a->json) add_json(a->files, d);
    else if (d->decoded) print_text(d);
    if (d->status) fprintf(stderr, "avemo detect: %s\n", avemo_last_error());
}

int cmd_detect(int argc, char **argv) {
    detect_args a = {.job = {.frames = AVEMO_FRAMES_PER_CLIP, .window = FRAME_WINDOW_CENTER, .on_input = report_input}};
    mtcnn_default_config(&a.job.mtcnn);
    a.job.ctx = &a;
    cli_inputs inputs;
    int status = cli_parse(&detect_command, argc, argv, &a, &inputs);
    if (status != CLI_RUN) return status;
    if (a.json) a.files = cJSON_CreateArray();
    job_tally tally;
    int st = detect_job_run(&a.job, inputs.items, inputs.n, &tally);
    status = st ? cli_fail("detect", st) : cli_exit_status(tally.status);
    if (!st && a.json) {
        char *s = cJSON_Print(a.files);
        if (s) printf("%s\n", s);
        free(s);
    }
    cJSON_Delete(a.files);
    cli_inputs_free(&inputs);
    return status;
}
