/* The featurizer's jobs (src/data/featurizer_jobs.c): which failure ends a features run, the list of failures
 * and its removal when none failed; the faces job on a still image and a missing file (the message names it),
 * with and without keep_going; the detect job's frames and faces. */
#include "test.h"

#include "avemo.h"
#include "data/featurizer_jobs.h"
#include "io/npy.h"
#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A runtime failure outranks a bad input; without keep_going any failure ends the run. */
static void test_audio_rows_fatal(void) {
    int status[4] = {AVEMO_OK, AVEMO_EDECODE, AVEMO_ENOMEM, AVEMO_EIO};
    audio_rows r = {.n = 4, .status = status};
    CHECK(audio_rows_fatal(&r, 0) == 2 && audio_rows_fatal(&r, 1) == 2, "runtime: %ld %ld", audio_rows_fatal(&r, 0),
          audio_rows_fatal(&r, 1));
    status[2] = AVEMO_OK;
    CHECK(audio_rows_fatal(&r, 0) == 1, "first bad input: %ld", audio_rows_fatal(&r, 0));
    CHECK(audio_rows_fatal(&r, 1) == -1, "keep going: %ld", audio_rows_fatal(&r, 1));
    status[1] = status[3] = AVEMO_OK;
    CHECK(audio_rows_fatal(&r, 0) == -1, "no failure: %ld", audio_rows_fatal(&r, 0));
}

static void test_audio_rows_failed_list(void) {
    char out[600], list[700], got[1024] = "";
    snprintf(out, sizeof out, "%s/rows.npy", test_tmpdir());
    snprintf(list, sizeof list, "%s.failed.txt", out);
    int status[2] = {AVEMO_OK, AVEMO_EDECODE};
    char *why[2] = {NULL, "b.wav: no audio stream"}, *paths[2] = {"a.wav", "b.wav"};
    audio_rows r = {.n = 2, .status = status, .why = why};
    CHECK(audio_rows_write_failed(&r, paths, out) == AVEMO_OK, "%s", avemo_last_error());
    FILE *f = fopen(list, "r");
    CHECK(f && fgets(got, sizeof got, f) && !strcmp(got, "1\tb.wav\tb.wav: no audio stream\n"), "list: '%s'", got);
    if (f) fclose(f);
    status[1] = AVEMO_OK;
    CHECK(audio_rows_write_failed(&r, paths, out) == AVEMO_OK && access(list, F_OK) != 0, "a stale list was kept");
}

typedef struct {
    int n;
    faces_done last;
    char message[1024];
} faces_seen;

static void on_faces(const faces_done *d, void *ctx) {
    faces_seen *seen = ctx;
    seen->n++;
    seen->last = *d;
    snprintf(seen->message, sizeof seen->message, "%s", d->status ? avemo_last_error() : "");
}

/* A still image gives one frame with its face, written as DIR/<name>.npy; a missing file is reported by name, and
 * stops the job unless keep_going. */
static void test_faces_job(void) {
    const char *manifest = shared_path("weights/mtcnn/mtcnn_model-weights_manifest.json");
    const char *still = shared_path("data/faces/photos/grace_hopper.bmp");
    if (!manifest || !still) return;
    faces_seen seen = {0};
    faces_job job = {.mtcnn_path = manifest, .out_dir = test_tmpdir(), .on_input = on_faces, .ctx = &seen};
    faces_default_config(&job.faces);
    char *inputs[2] = {"/nonexistent/clip.flv", (char *)still};
    job_tally t;
    CHECK(faces_job_run(&job, inputs, 2, &t) == AVEMO_OK, "open: %s", avemo_last_error());
    CHECK(t.n_done == 1 && t.n_failed == 1 && t.status == AVEMO_EIO && seen.n == 1, "stop: %d done, %d failed, %d",
          t.n_done, t.n_failed, t.status);
    CHECK(strstr(seen.message, "clip.flv") != NULL, "message: %s", seen.message);
    job.keep_going = 1;
    CHECK(faces_job_run(&job, inputs, 2, &t) == AVEMO_OK, "open: %s", avemo_last_error());
    CHECK(t.n_done == 2 && t.n_failed == 1 && t.status == AVEMO_EIO, "keep going: %d done, %d failed", t.n_done,
          t.n_failed);
    CHECK(seen.last.status == 0 && seen.last.n_frames == 1 && seen.last.n_noface == 0, "still: %d frames, %d no face",
          seen.last.n_frames, seen.last.n_noface);
    char npy[700];
    snprintf(npy, sizeof npy, "%s/grace_hopper.npy", test_tmpdir());
    npy_array a;
    CHECK(npy_read(npy, &a) == 0 && a.dtype == NPY_U8 && a.ndim == 3 && a.shape[0] == 1 && a.shape[1] == FACES_SIZE,
          "crops: %s", avemo_last_error());
    npy_free(&a);
}

typedef struct {
    int n, frames, faces, decoded;
} detect_seen;

static void on_detect(const detect_done *d, void *ctx) {
    detect_seen *seen = ctx;
    seen->n++;
    seen->decoded += d->decoded;
    seen->frames += d->n_searched;
    for (int k = 0; k < d->n_searched; k++) seen->faces += d->frames[k].n_faces;
}

static void test_detect_job(void) {
    const char *manifest = shared_path("weights/mtcnn/mtcnn_model-weights_manifest.json");
    const char *still = shared_path("data/faces/photos/grace_hopper.bmp");
    if (!manifest || !still) return;
    detect_seen seen = {0};
    detect_job job = {.frames = AVEMO_FRAMES_PER_CLIP, .mtcnn_path = manifest, .on_input = on_detect, .ctx = &seen};
    mtcnn_default_config(&job.mtcnn);
    char *inputs[2] = {"/nonexistent/clip.flv", (char *)still};
    job_tally t;
    CHECK(detect_job_run(&job, inputs, 2, &t) == AVEMO_OK, "open: %s", avemo_last_error());
    CHECK(t.n_done == 2 && t.n_failed == 1 && seen.n == 2 && seen.decoded == 1, "%d done, %d failed, %d read",
          t.n_done, t.n_failed, seen.decoded);
    CHECK(seen.frames == 1 && seen.faces >= 1, "still: %d frames, %d faces", seen.frames, seen.faces);
}

int main(void) {
    nn_set_threads(1); /* see tests/vision/test_mtcnn.c */
    RUN(test_audio_rows_fatal);
    RUN(test_audio_rows_failed_list);
    RUN(test_faces_job);
    RUN(test_detect_job);
    return test_summary();
}
