/* avemo predict FILE... --jobs N (src/cli/cmd_predict.c, src/cli/predict_bundled.c, src/cli/ordered_run.c): files
 * predicted at once on N workers give the bytes of --jobs 1, in input order: stdout (text, JSON, CSV) and stderr
 * (the bad file's line, --timing's lines but their milliseconds), and the exit status (2 for a bad file, the others
 * still predicted). A mix of a clip with sound, a RAVDESS flac, a still image and a missing file, through an AV
 * model (random weights, modality dropout: each file with the streams it has) and the bundled models. Both runs
 * with OMP_NUM_THREADS=1, so that --jobs 1 predicts each file on one thread as a worker does (MobileNetV2's sums
 * depend on its thread count; on more threads --jobs 1 may differ in the last float digits). Also: --jobs usage
 * errors; no progress bar and no extra line on stderr when it is not a terminal; --timing's files/s line. */
#include "api/predict_fixture.h"

#include <cjson/cJSON.h>

#define N_FILES 6
#define OUT_CAP (1 << 18)

static char model_path[2048], inputs[8192], out1[OUT_CAP], out2[OUT_CAP], err1[OUT_CAP], err2[OUT_CAP];
static int ready;

static void setup(void) {
    const char *d = test_tmpdir();
    const char *still = shared_path("data/faces/ravdess-stills/Actor_01.png");
    const char *flac = shared_path("data/ravdess-speech/Actor_01/03-01-03-02-01-01-01.flac");
    const char *photo = shared_path("data/faces/photos/paul_rudd.jpg");
    const char *manifest = shared_path("weights/mtcnn/mtcnn_model-weights_manifest.json");
    CHECK(still && flac && photo && manifest, "shared media");
    if (!still || !flac || !photo || !manifest) return;
    char bb[700], clip[700], clip2[700], av[700];
    snprintf(bb, sizeof bb, "%s/mnv2.safetensors", d);
    snprintf(av, sizeof av, "%s/av_dropout.safetensors", d);
    snprintf(clip, sizeof clip, "%s/actor01.mp4", d);
    snprintf(clip2, sizeof clip2, "%s/actor01_silent.mp4", d);
    /* one frame per clip: a still image is a clip too */
    CHECK(fix_backbone(bb) == 0 && fix_av_model(av, bb, 1, 1, 1) == 0, "AV fixture: %s", avemo_last_error());
    CHECK(fix_video(clip, still, 2.0, 0) == 0 && fix_video(clip2, still, 1.5, 1) == 0, "ffmpeg videos");
    snprintf(model_path, sizeof model_path, "%s --mtcnn '%s'", av, manifest);
    /* N_FILES: the bad one in the middle, so that files after it are still predicted and ordered */
    snprintf(inputs, sizeof inputs, "'%s' '%s' '%s' '%s/no_such.wav' '%s' '%s'", clip, flac, photo, d, clip2, flac);
    ready = 1;
}

/* `OMP_NUM_THREADS=1 avemo predict ARGS`: stdout into out, stderr into err; the exit status. */
static int predict(const char *args, char *out, char *err) {
    char cmd[16384];
    if (snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s predict %s", avemo_bin(), args) >= (int)sizeof cmd) return -1;
    return run_cmd_split(cmd, out, OUT_CAP, err, OUT_CAP);
}

/* The times, which no two runs share, as "#": every number directly before " ms" or after "real-time factor "; and
 * the line of --timing's files/s (its own check) left out. */
static void mask_ms(char *s) {
    char *w = s;
    for (const char *r = s; *r;) {
        const char *e = r;
        while ((*e >= '0' && *e <= '9') || *e == '.') e++;
        if (!strncmp(r, "timing: ", 8) && (r == s || r[-1] == '\n')) {
            r = strchr(r, '\n') ? strchr(r, '\n') + 1 : r + strlen(r);
        } else if (e > r && (!strncmp(e, " ms", 3) || (r - s > 17 && !strncmp(r - 17, "real-time factor ", 17)))) {
            *w++ = '#';
            r = e;
        } else if (e > r) {
            while (r < e) *w++ = *r++;
        } else {
            *w++ = *r++;
        }
    }
    *w = 0;
}

/* The JSON document with its times removed ("timing_ms", "total_ms" at any depth), printed back into s. */
static void strip_json_times(cJSON *j) {
    for (cJSON *c = j ? j->child : NULL; c;) {
        cJSON *next = c->next;
        if (c->string && (!strcmp(c->string, "timing_ms") || !strcmp(c->string, "total_ms")))
            cJSON_Delete(cJSON_DetachItemViaPointer(j, c));
        else strip_json_times(c);
        c = next;
    }
}

static void json_without_times(char *s) {
    cJSON *doc = cJSON_Parse(s);
    CHECK(doc != NULL, "JSON does not parse: %.300s", s);
    if (!doc) return;
    strip_json_times(doc);
    char *p = cJSON_Print(doc);
    snprintf(s, OUT_CAP, "%s", p ? p : "");
    free(p);
    cJSON_Delete(doc);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* `args` (no --jobs) with --jobs 1 and --jobs 2: the same exit status (2: the bad file), stdout and stderr byte for
 * byte once the times are masked; json: the outputs compared without their times. */
static void same_as_one_job(const char *what, const char *args, int json) {
    char a1[16384], a2[16384];
    snprintf(a1, sizeof a1, "--jobs 1 %s %s", args, inputs);
    snprintf(a2, sizeof a2, "--jobs 2 %s %s", args, inputs);
    int rc1 = predict(a1, out1, err1), rc2 = predict(a2, out2, err2);
    CHECK(rc1 == 2 && rc2 == 2, "%s: exit %d and %d, not 2 (a bad file): %s", what, rc1, rc2, err2);
    CHECK(strstr(err1, "no_such.wav") && count_lines(out1) >= N_FILES - 1, "%s: output: %s %s", what, out1, err1);
    if (json) json_without_times(out1), json_without_times(out2);
    mask_ms(out1), mask_ms(out2), mask_ms(err1), mask_ms(err2);
    CHECK(!strcmp(out1, out2), "%s: stdout differs:\n--jobs 1:\n%s\n--jobs 2:\n%s", what, out1, out2);
    CHECK(!strcmp(err1, err2), "%s: stderr differs:\n--jobs 1:\n%s\n--jobs 2:\n%s", what, err1, err2);
}

static void test_model_same_as_one_job(void) {
    if (!ready) return;
    char args[4096];
    snprintf(args, sizeof args, "--model %s", model_path);
    same_as_one_job("text", args, 0);
    CHECK(strstr(out1, "paul_rudd.jpg: ") && strstr(out1, "no audio: zeros"), "the photo, video only: %s", out1);
    snprintf(args, sizeof args, "--model %s --json --top 2", model_path);
    same_as_one_job("json", args, 1);
    snprintf(args, sizeof args, "--model %s --format csv --top 0", model_path);
    same_as_one_job("csv", args, 0);
    snprintf(args, sizeof args, "--model %s --window 1", model_path);
    same_as_one_job("windows", args, 0);
    snprintf(args, sizeof args, "--model %s --timing", model_path);
    same_as_one_job("timing", args, 0);
}

static void test_timing_files_per_second(void) {
    if (!ready) return;
    char args[16384];
    snprintf(args, sizeof args, "--model %s --timing --jobs 2 %s", model_path, inputs);
    CHECK(predict(args, out1, err1) == 2, "exit: %s", err1);
    const char *last = strstr(err1, "timing: ");
    CHECK(last && strstr(last, "timing: 6 files in ") && strstr(last, " files/s (2 jobs)\n") && !strchr(last, '\r') &&
              count_lines(err1) == N_FILES + 1 && count_lines(last) == 1,
          "the files/s line, last on stderr: %s", err1);
    CHECK(predict("--timing --jobs 1 --tta 1 --cropped ../shared/data/fer2013/train/happy/Training_10019449.jpg", out1,
                  err1) == 0 &&
              strstr(err1, "\ntiming: 1 file in ") && strstr(err1, " files/s (1 job)\n"),
          "bundled --timing, one file: %s", err1);
}

static void test_bundled_same_as_one_job(void) {
    if (!ready) return;
    same_as_one_job("bundled text", "", 0);
    CHECK(strstr(out1, "face: ") && strstr(out1, "voice: "), "bundled: %s", out1);
    same_as_one_job("bundled json", "--json", 1);
    same_as_one_job("bundled csv", "--window 1 --format csv", 0);
    same_as_one_job("bundled timing", "--timing --tta 1", 0);
}

/* stderr not a terminal: no progress bar (no carriage return), only the bad file's line */
static void test_no_progress_in_logs(void) {
    if (!ready) return;
    char args[16384];
    snprintf(args, sizeof args, "--jobs 2 --tta 1 %s", inputs);
    CHECK(predict(args, out1, err1) == 2, "exit: %s", err1);
    CHECK(count_lines(err1) == 1 && strstr(err1, "no_such.wav") && !strchr(err1, '\r'), "stderr: %s", err1);
}

static void test_jobs_usage_errors(void) {
    const char *bad[] = {"0", "-1", "x", "2x"};
    for (int i = 0; i < 4; i++) {
        char args[256];
        snprintf(args, sizeof args, "--jobs %s a.wav b.wav", bad[i]);
        CHECK(predict(args, out1, err1) == 2 && strstr(err1, "--jobs") && count_lines(err1) == 1 && !out1[0],
              "--jobs %s: %s", bad[i], err1);
    }
    CHECK(predict("--help", out1, err1) == 0 && strstr(out1, "--jobs N") && strstr(out1, "all cores"), "help: %s",
          out1);
}

int main(void) {
    setup();
    test_run(test_jobs_usage_errors, "jobs_usage_errors");
    test_run(test_model_same_as_one_job, "model_same_as_one_job");
    test_run(test_timing_files_per_second, "timing_files_per_second");
    test_run(test_bundled_same_as_one_job, "bundled_same_as_one_job");
    test_run(test_no_progress_in_logs, "no_progress_in_logs");
    return test_summary();
}
