/* avemo predict (src/cli/cmd_predict.c): text and JSON output, the C API from two threads gives the CLI's
 * numbers exactly, bad files are reported one line each while the others are processed (exit 2), windows. */
#include "api/predict_fixture.h"

#include <cjson/cJSON.h>
#include <pthread.h>

static char model_path[700], wav_a[700], wav_b[700], wav_long[700], out[1 << 17];

static void setup(void) {
    const char *d = test_tmpdir();
    CHECK(fix_audio_model(d, model_path, sizeof model_path) == 0, "audio model fixture: %s", avemo_last_error());
    snprintf(wav_a, sizeof wav_a, "%s/a_sad.wav", d);
    snprintf(wav_b, sizeof wav_b, "%s/b_neutral.wav", d);
    snprintf(wav_long, sizeof wav_long, "%s/long.wav", d);
    CHECK(fix_tone_wav(wav_a, 2, 3.5, 201) == 0 && fix_tone_wav(wav_b, 0, 3.7, 202) == 0 &&
              fix_tone_wav(wav_long, 3, 8.0, 203) == 0,
          "tone files");
}

/* Run avemo predict with `args`; stdout only into out (stderr to a file, returned in err). */
static int predict(const char *args, char *err, size_t err_cap) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s predict %s", avemo_bin(), args);
    return run_cmd_split(cmd, out, sizeof out, err, err_cap);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_help_and_usage_errors(void) {
    char err[4096];
    CHECK(predict("--help", err, sizeof err) == 0 && strstr(out, "exit status") && strstr(out, "--window"), "help: %s", out);
    char no_model[1024]; /* without --model the bundled models run (tests/cli/test_bundled.c): --crops needs one */
    snprintf(no_model, sizeof no_model, "--crops 3 '%s'", wav_a);
    CHECK(predict(no_model, err, sizeof err) == 2 && strstr(err, "--model"), "no --model: %s", err);
    char args[4096];
    snprintf(args, sizeof args, "--model '%s' --frobnicate 1 '%s'", model_path, wav_a);
    CHECK(predict(args, err, sizeof err) == 2 && strstr(err, "--frobnicate") && count_lines(err) == 1, "unknown: %s", err);
    snprintf(args, sizeof args, "--model '%s' --top x '%s'", model_path, wav_a);
    CHECK(predict(args, err, sizeof err) == 2 && strstr(err, "--top"), "bad --top: %s", err);
    snprintf(args, sizeof args, "--model '%s' '%s'", wav_a, wav_b); /* a WAV is not a model */
    CHECK(predict(args, err, sizeof err) == 2 && strstr(err, wav_a) && count_lines(err) == 1, "bad model: %s", err);
}

static void test_text(void) {
    char args[4096], err[4096];
    snprintf(args, sizeof args, "--model '%s' '%s' '%s'", model_path, wav_a, wav_b);
    CHECK(predict(args, err, sizeof err) == 0, "exit: %s", err);
    CHECK(count_lines(out) == 2, "two lines: %s", out);
    char *l2 = strchr(out, '\n');
    CHECK(!strncmp(out, wav_a, strlen(wav_a)) && strstr(out, ": sad ") && l2 && strstr(l2, ": neutral "), "emotions: %s", out);
    CHECK(strstr(out, "top-3:") && strstr(out, "decode") && strstr(out, "features") && strstr(out, "model"), "text: %s", out);
}

/* --timing: one stage line per file on stderr, then the files/s line; stdout unchanged (the same two result lines) */
static void test_timing(void) {
    char args[4096], err[4096];
    snprintf(args, sizeof args, "--model '%s' --timing '%s' '%s'", model_path, wav_a, wav_b);
    CHECK(predict(args, err, sizeof err) == 0, "exit: %s", err);
    CHECK(count_lines(out) == 2 && strstr(out, ": sad "), "stdout: %s", out);
    CHECK(count_lines(err) == 3 && !strncmp(err, "timing ", 7) && strstr(err, wav_b) && strstr(err, "model open") &&
              strstr(err, "faces") && strstr(err, "since the command started") && strstr(err, "real-time factor") &&
              strstr(err, "\ntiming: 2 files in ") && strstr(err, " files/s ("),
          "stderr: %s", err);
}

/* ---- JSON and the API from two threads ---- */

typedef struct {
    avemo_model *m;
    const char *file;
    avemo_result r;
    int rc;
} job;

static void *job_main(void *arg) {
    job *j = arg;
    for (int rep = 0; rep < 4 && !j->rc; rep++) j->rc = avemo_predict_file(j->m, j->file, &j->r);
    return NULL;
}

/* probs of file entry i (double -> float is exact: cJSON prints doubles with round-trip precision) */
static int json_probs(const cJSON *files, int i, float *p, int n) {
    const cJSON *probs = cJSON_GetObjectItem(cJSON_GetArrayItem(files, i), "probs");
    if (cJSON_GetArraySize(probs) != n) return 0;
    for (int k = 0; k < n; k++) p[k] = (float)cJSON_GetArrayItem(probs, k)->valuedouble;
    return 1;
}

static void test_json_bad_file_and_threads(void) {
    char args[4096], err[4096], missing[700];
    snprintf(missing, sizeof missing, "%s/no_such.wav", test_tmpdir());
    snprintf(args, sizeof args, "--model '%s' --json --top 2 '%s' '%s' '%s'", model_path, wav_a, missing, wav_b);
    CHECK(predict(args, err, sizeof err) == 2, "a bad file must give exit 2");
    CHECK(count_lines(err) == 1 && strstr(err, missing) && strstr(err, "no such file"), "stderr: %s", err);
    cJSON *doc = cJSON_Parse(out);
    CHECK(doc != NULL, "JSON does not parse: %.300s", out);
    if (!doc) return;
    const cJSON *files = cJSON_GetObjectItem(doc, "files");
    CHECK(cJSON_GetArraySize(files) == 3 && cJSON_GetArraySize(cJSON_GetObjectItem(doc, "classes")) == 8, "entries");
    const cJSON *bad = cJSON_GetArrayItem(files, 1);
    CHECK(cJSON_GetObjectItem(bad, "error") && !strcmp(cJSON_GetObjectItem(bad, "file")->valuestring, missing), "error entry");
    const cJSON *a = cJSON_GetArrayItem(files, 0);
    CHECK(!strcmp(cJSON_GetObjectItem(a, "emotion")->valuestring, "sad"), "emotion");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(a, "top")) == 2, "--top 2");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "timing_ms"), "features"), "timing");
    float cli_a[8], cli_b[8];
    CHECK(json_probs(files, 0, cli_a, 8) && json_probs(files, 2, cli_b, 8), "probs arrays");

    avemo_model *m;
    if (avemo_model_open(model_path, &m)) {
        CHECK(0, "open: %s", avemo_last_error());
        cJSON_Delete(doc);
        return;
    }
    job ja = {.m = m, .file = wav_a}, jb = {.m = m, .file = wav_b};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, job_main, &ja);
    pthread_create(&tb, NULL, job_main, &jb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(ja.rc == 0 && jb.rc == 0, "threads");
    CHECK(memcmp(ja.r.probs, cli_a, sizeof cli_a) == 0, "thread A differs from the CLI (max %g)", max_abs_diff_f(ja.r.probs, cli_a, 8));
    CHECK(memcmp(jb.r.probs, cli_b, sizeof cli_b) == 0, "thread B differs from the CLI (max %g)", max_abs_diff_f(jb.r.probs, cli_b, 8));
    avemo_model_close(m);
    cJSON_Delete(doc);
}

static void test_windows(void) {
    char args[4096], err[4096];
    /* 8 s, windows of 3.6 s every 1.5 s: floor((8 - 3.6) / 1.5) + 1 = 3 */
    snprintf(args, sizeof args, "--model '%s' --json --window 3.6 --hop 1.5 '%s'", model_path, wav_long);
    CHECK(predict(args, err, sizeof err) == 0, "exit: %s", err);
    cJSON *doc = cJSON_Parse(out);
    const cJSON *w = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "files"), 0), "windows");
    CHECK(cJSON_GetArraySize(w) == 3, "%d windows", cJSON_GetArraySize(w));
    for (int k = 0; k < cJSON_GetArraySize(w); k++) {
        const cJSON *e = cJSON_GetArrayItem(w, k);
        CHECK(fabs(cJSON_GetObjectItem(e, "start_s")->valuedouble - 1.5 * k) < 1e-9, "start of window %d", k);
        CHECK(!strcmp(cJSON_GetObjectItem(e, "emotion")->valuestring, "angry"), "window %d emotion", k);
    }
    cJSON_Delete(doc);
    snprintf(args, sizeof args, "--model '%s' --window 3.6 --hop 1.5 '%s'", model_path, wav_long);
    CHECK(predict(args, err, sizeof err) == 0 && count_lines(out) == 3 && strstr(out, "[1.50-5.10 s]"), "text windows: %s", out);
    snprintf(args, sizeof args, "--model '%s' --hop 1 '%s'", model_path, wav_long);
    CHECK(predict(args, err, sizeof err) == 2 && strstr(err, "--window"), "--hop without --window: %s", err);
}

int main(void) {
    setup();
    RUN(test_help_and_usage_errors);
    RUN(test_text);
    RUN(test_timing);
    RUN(test_json_bad_file_and_threads);
    RUN(test_windows);
    plot_cleanup(); /* fontconfig state of the in-process training's plots (LeakSanitizer) */
    return test_summary();
}
