/* avemo predict without --model (the bundled models of models/, src/api/bundled.c): a photo (face only, MTCNN),
 * a silent clip (face only), a RAVDESS flac (voice only), a clip with sound (both, fused), a FER2013 48x48
 * crop (classified as it is, auto-detected) and --cropped; each face scored over AVEMO_BUNDLE_FACE_VIEWS test-time
 * views unless --tta / face_views says otherwise; the same per window (--window, text, CSV, JSON); the C API gives the CLI's numbers; after `make install
 * DESTDIR=D`, the installed avemo run from another working directory finds the models and MTCNN in
 * D/usr/local/share/avemo (bin/../share/avemo) with no ../shared, and so does the C API with $AVEMO_DATA.
 * Media are made at test time from ../shared with ffmpeg. */
#include "test.h"

#include "avemo.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char photo[4096], flac[4096], crop[4096], silent[4096], sound[4096], out[1 << 16];
static char repo[4096];
static int ready; /* the media were made */

/* snprintf that fails the test on truncation */
#define FMT(buf, ...) CHECK(snprintf(buf, sizeof buf, __VA_ARGS__) < (int)sizeof buf, "command too long")

static int ffmpeg(const char *args, const char *out_path) {
    char cmd[8192], log[4096];
    FMT(cmd, "ffmpeg -v error -y %s '%s'", args, out_path);
    int rc = run_cmd(cmd, log, sizeof log);
    CHECK(rc == 0, "ffmpeg failed (%s): %s", cmd, log);
    return rc;
}

static void setup(void) {
    const char *p = shared_path("data/faces/photos/paul_rudd.jpg");
    const char *f = shared_path("data/ravdess-speech/Actor_01/03-01-03-02-01-01-01.flac"); /* happy, strong */
    const char *c = shared_path("data/fer2013/train/happy/Training_10019449.jpg");
    const char *still = shared_path("data/faces/ravdess-stills/Actor_01.png");
    CHECK(p && f && c && still && getcwd(repo, sizeof repo), "shared media");
    if (!p || !f || !c || !still) return;
    CHECK(realpath(p, photo) && realpath(f, flac) && realpath(c, crop), "realpath");
    const char *d = test_tmpdir();
    char args[8192];
    FMT(silent, "%s/silent.mp4", d);
    FMT(sound, "%s/with_sound.mp4", d);
    FMT(args, "-loop 1 -framerate 10 -t 2 -i '%s' -vf scale=398:224 -c:v mpeg4 -pix_fmt yuv420p", still);
    ffmpeg(args, silent);
    FMT(args, "-loop 1 -framerate 10 -i '%s' -i '%s' -shortest -vf scale=398:224 -c:v mpeg4 "
             "-pix_fmt yuv420p -c:a aac", still, flac);
    ready = ffmpeg(args, sound) == 0 && access(silent, R_OK) == 0;
}

/* `avemo predict ARGS` (the binary given, from the working directory `cwd`, or here when NULL) into out. */
static int predict(const char *bin, const char *cwd, const char *env, const char *args) {
    char cmd[16384];
    FMT(cmd, "%s%s%s env %s OMP_NUM_THREADS=1 '%s' predict %s", cwd ? "cd '" : "", cwd ? cwd : "",
             cwd ? "' &&" : "", env ? env : "", bin, args);
    return run_cmd(cmd, out, sizeof out);
}

static void test_streams(void) {
    char args[16384];
    FMT(args, "'%s' '%s' '%s' '%s' '%s'", photo, silent, flac, sound, crop);
    int rc = predict(avemo_bin(), NULL, NULL, args);
    CHECK(rc == 0, "predict without --model: rc %d: %s", rc, out);
    char *line[5] = {0};
    char *s = out;
    for (int i = 0; i < 5 && s; i++) {
        line[i] = s;
        s = strchr(s, '\n');
        if (s) *s++ = 0;
    }
    if (!line[4]) return;
    CHECK(strstr(line[0], "face: ") && !strstr(line[0], "voice:") && strstr(line[0], "MTCNN face") &&
              strstr(line[0], " -> "), "photo: %s", line[0]);
    CHECK(strstr(line[1], "face: ") && !strstr(line[1], "voice:") && strstr(line[1], " -> "), "silent clip: %s", line[1]);
    CHECK(!strstr(line[2], "face:") && strstr(line[2], "voice: ") && strstr(line[2], " -> "), "audio: %s", line[2]);
    CHECK(strstr(line[3], "face: ") && strstr(line[3], ", voice: ") && strstr(line[3], " -> "), "clip with sound: %s",
          line[3]);
    CHECK(strstr(line[4], "face: happy") && strstr(line[4], "face crop as is") && strstr(line[4], "-> happy"),
          "FER2013 crop (a happy face of the training split): %s", line[4]);
    /* --cropped forces the photo through as a crop */
    FMT(args, "--cropped '%s'", photo);
    CHECK(predict(avemo_bin(), NULL, NULL, args) == 0 && strstr(out, "face crop as is"), "--cropped: %s", out);
}

/* The lines of out that begin with prefix and contain want (NULL: any), and those with `forbid` among them. */
static int count_lines(const char *prefix, const char *want, const char *forbid, int *bad) {
    int n = 0;
    *bad = 0;
    for (const char *s = out; s && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL) {
        const char *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)len, s);
        if (strncmp(line, prefix, strlen(prefix))) continue;
        if (!want || strstr(line, want)) n++;
        if (forbid && strstr(line, forbid)) ++*bad;
    }
    return n;
}

/* --window without --model: per window the streams each file has (face for the silent clip, voice for the flac,
 * both for the clip with sound) as text and CSV; a photo has no windows; --hop alone is a usage error. */
static void test_windows_text_csv(void) {
    char args[16384], prefix[4200];
    FMT(args, "--window 1 --hop 0.5 '%s' '%s' '%s'", silent, flac, sound);
    int rc = predict(avemo_bin(), NULL, NULL, args), bad;
    CHECK(rc == 0, "--window without --model: rc %d: %s", rc, out);
    FMT(prefix, "%s [", silent); /* 2 s: windows at 0, 0.5 and 1 s */
    CHECK(count_lines(prefix, "face: ", "voice:", &bad) == 3 && !bad && strstr(out, "silent.mp4 [1.00-2.00 s]: face: "),
          "silent clip: 3 face-only windows: %s", out);
    FMT(prefix, "%s [", flac);
    CHECK(count_lines(prefix, "voice: ", "face:", &bad) >= 3 && !bad, "flac: voice-only windows: %s", out);
    FMT(prefix, "%s [", sound);
    int n = count_lines(prefix, NULL, NULL, &bad);
    CHECK(n >= 3 && count_lines(prefix, ", voice: ", NULL, &bad) == n && strstr(out, "with_sound.mp4 [0.00-1.00 s]: face: "),
          "clip with sound: face and voice in every window: %s", out);
    FMT(args, "--window 2 --hop 1 --format csv '%s' '%s' 2>&1", silent, flac);
    CHECK(predict(avemo_bin(), NULL, NULL, args) == 0 &&
              !strncmp(out, "file,start_s,end_s,person,x0,y0,x1,y1,frames,emotion,p,top,p_neutral,p_happy,", 76),
          "--format csv: %s", out);
    FMT(prefix, "%s,0.000,2.000,", silent); /* the 2 s clip: one window, its result and the face's */
    CHECK(count_lines(prefix, NULL, NULL, &bad) == 2 && strstr(out, "silent.mp4,0.000,2.000,face,"), "CSV silent: %s", out);
    FMT(prefix, "%s,1.000,3.000,", flac);
    CHECK(count_lines(prefix, NULL, NULL, &bad) == 2 && strstr(out, ".flac,1.000,3.000,voice,"), "CSV flac: %s", out);
    int commas = 0;
    for (const char *c = out; *c && *c != '\n'; c++) commas += *c == ',';
    for (const char *s = strchr(out, '\n'); s && s[1]; s = strchr(s + 1, '\n')) {
        int k = 0;
        for (const char *c = s + 1; *c && *c != '\n'; c++) k += *c == ',';
        CHECK(k == commas, "CSV row with %d commas, header %d: %.200s", k, commas, s + 1);
    }
    char blank[4200]; /* a silent video without a face: windows with no stream, no result, not an error */
    FMT(blank, "%s/blank.mp4", test_tmpdir());
    if (ffmpeg("-f lavfi -i color=c=gray:s=320x240:d=2:r=10 -c:v mpeg4 -pix_fmt yuv420p", blank) == 0) {
        FMT(args, "--window 1 '%s'", blank);
        CHECK(predict(avemo_bin(), NULL, NULL, args) == 0 && strstr(out, "blank.mp4 [0.00-1.00 s]: no face") &&
                  !strstr(out, " -> "), "a video without a face: %s", out);
        FMT(args, "--window 1 --format csv '%s'", blank);
        CHECK(predict(avemo_bin(), NULL, NULL, args) == 0 && strstr(out, "blank.mp4,0.000,1.000,,,,,,1,,,,,,,,,,\n"),
              "CSV of a window without a stream: empty class fields: %s", out);
    }
    FMT(args, "--window 2 '%s'", photo);
    CHECK(predict(avemo_bin(), NULL, NULL, args) == 2 && strstr(out, "still image"), "--window on a photo: %s", out);
    FMT(args, "--hop 1 '%s'", flac);
    CHECK(predict(avemo_bin(), NULL, NULL, args) == 2 && strstr(out, "--hop needs --window"), "--hop alone: %s", out);
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* --json: both streams' detail; the fused probabilities are the weighted mean of the mapped ones; the C API's
 * avemo_bundle_predict_file gives the same numbers. */
static void test_json_and_api(void) {
    char args[8192];
    FMT(args, "--json '%s' 2>/dev/null", sound);
    CHECK(predict(avemo_bin(), NULL, NULL, args) == 0, "--json: %s", out);
    cJSON *doc = cJSON_Parse(out);
    CHECK(doc != NULL, "JSON: %s", out);
    if (!doc) return;
    const cJSON *file = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "files"), 0);
    const cJSON *streams = cJSON_GetObjectItem(file, "streams");
    const cJSON *face = cJSON_GetObjectItem(streams, "face"), *voice = cJSON_GetObjectItem(streams, "voice");
    CHECK(face && voice && cJSON_GetObjectItem(face, "probs") && cJSON_GetObjectItem(voice, "mapped_probs"),
          "streams: %s", out);
    avemo_bundle *b = NULL;
    CHECK(avemo_bundle_open(NULL, &b) == 0, "avemo_bundle_open: %s", avemo_last_error());
    avemo_bundle_result r;
    if (b && face && voice) {
        CHECK(avemo_bundle_predict_file(b, sound, NULL, &r) == 0, "API: %s", avemo_last_error());
        CHECK(r.used_face && r.used_voice, "API streams %d %d", r.used_face, r.used_voice);
        const cJSON *probs = cJSON_GetObjectItem(file, "probs");
        const cJSON *fm = cJSON_GetObjectItem(face, "mapped_probs"), *vm = cJSON_GetObjectItem(voice, "mapped_probs");
        double sum = 0;
        for (int k = 0; k < AVEMO_BUNDLE_CLASSES; k++) {
            const char *name = avemo_bundle_class_name(k);
            double p = num(probs, name), want = AVEMO_BUNDLE_FACE_WEIGHT * num(fm, name) +
                                                (1 - AVEMO_BUNDLE_FACE_WEIGHT) * num(vm, name);
            CHECK(fabs(p - want) < 1e-5, "%s: fused %g, weighted mean %g", name, p, want);
            CHECK(fabs(p - r.probs[k]) < 1e-5, "%s: CLI %g, API %g", name, p, r.probs[k]);
            sum += p;
        }
        CHECK(fabs(sum - 1) < 1e-4, "fused probabilities sum to %g", sum);
        CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(file, "emotion")), avemo_bundle_class_name(r.top_class)),
              "top class");
        /* avemo_bundle_to_common is the mapping the bundle applies: RAVDESS's calm joins neutral */
        const avemo_model *vm_model = avemo_bundle_model(b, 1);
        float common[AVEMO_BUNDLE_CLASSES], calm = 0, neutral = 0;
        int top = avemo_bundle_to_common(vm_model, r.voice.probs, common), top_want = 0;
        for (int k = 0; k < AVEMO_BUNDLE_CLASSES; k++) {
            CHECK(common[k] == r.voice_probs[k], "to_common %s: %g, bundle %g", avemo_bundle_class_name(k), common[k],
                  r.voice_probs[k]);
            if (common[k] > common[top_want]) top_want = k;
        }
        for (int k = 0; k < avemo_class_count(vm_model); k++) {
            if (!strcmp(avemo_class_name(vm_model, k), "calm")) calm = r.voice.probs[k];
            if (!strcmp(avemo_class_name(vm_model, k), "neutral")) neutral = r.voice.probs[k];
        }
        CHECK(top == top_want, "to_common top %d, want %d", top, top_want);
        CHECK(common[0] == calm + neutral, "neutral %g = calm %g + neutral %g", common[0], calm, neutral);
        CHECK(avemo_bundle_to_common(vm_model, NULL, common) == -1, "NULL probs accepted");
    }
    avemo_bundle_close(b);
    cJSON_Delete(doc);
}

/* --window --json without --model: each window's fused probabilities are the weighted mean of its streams' mapped
 * ones, and the C API's avemo_bundle_predict_file_windows gives the same windows and numbers. */
static void test_windows_json_and_api(void) {
    char args[8192];
    FMT(args, "--window 2 --hop 1 --json '%s' 2>/dev/null", sound);
    CHECK(predict(avemo_bin(), NULL, NULL, args) == 0, "--window --json: %s", out);
    cJSON *doc = cJSON_Parse(out);
    CHECK(doc != NULL, "JSON: %s", out);
    if (!doc) return;
    CHECK(num(doc, "window_s") == 2 && num(doc, "hop_s") == 1, "window_s, hop_s: %s", out);
    const cJSON *ws = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "files"), 0), "windows");
    int n = cJSON_GetArraySize(ws), n_api = -1;
    avemo_bundle *b = NULL;
    CHECK(avemo_bundle_open(NULL, &b) == 0, "avemo_bundle_open: %s", avemo_last_error());
    avemo_bundle_result r[8];
    CHECK(b && avemo_bundle_predict_file_windows(b, sound, 2, 1, r, 8, &n_api) == 0, "API: %s", avemo_last_error());
    CHECK(n >= 2 && n == n_api && n <= 8, "windows: CLI %d, API %d", n, n_api);
    for (int w = 0; w < n && n == n_api; w++) {
        const cJSON *win = cJSON_GetArrayItem(ws, w), *streams = cJSON_GetObjectItem(win, "streams");
        const cJSON *probs = cJSON_GetObjectItem(win, "probs");
        const cJSON *fm = cJSON_GetObjectItem(cJSON_GetObjectItem(streams, "face"), "mapped_probs");
        const cJSON *vm = cJSON_GetObjectItem(cJSON_GetObjectItem(streams, "voice"), "mapped_probs");
        CHECK(num(win, "start_s") == w && num(win, "end_s") == w + 2 && fm && vm, "window %d: %s", w, out);
        CHECK(r[w].used_face && r[w].used_voice, "API window %d streams %d %d", w, r[w].used_face, r[w].used_voice);
        if (!fm || !vm) break;
        for (int k = 0; k < AVEMO_BUNDLE_CLASSES; k++) {
            const char *name = avemo_bundle_class_name(k);
            double p = num(probs, name), want = AVEMO_BUNDLE_FACE_WEIGHT * num(fm, name) +
                                                (1 - AVEMO_BUNDLE_FACE_WEIGHT) * num(vm, name);
            CHECK(fabs(p - want) < 1e-5, "window %d %s: fused %g, weighted mean %g", w, name, p, want);
            CHECK(fabs(p - r[w].probs[k]) < 1e-5, "window %d %s: CLI %g, API %g", w, name, p, r[w].probs[k]);
        }
    }
    avemo_bundle_close(b);
    cJSON_Delete(doc);
}

/* make install DESTDIR=D, then the installed program from another folder, with no ../shared to fall back on */
static void test_installed(void) {
    const char *d = test_tmpdir();
    char cmd[16384], dest[4096], bin[4200], data[4200], elsewhere[4200];
    FMT(dest, "%s/dest", d);
    const char *make_args = getenv("AVEMO_MAKE_ARGS");
    FMT(cmd, "cd '%s' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory install DESTDIR='%s' %s",
        repo, dest, make_args ? make_args : "");
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "%s: rc %d: %s", cmd, rc, out);
    FMT(bin, "%s/usr/local/bin/avemo", dest);
    FMT(data, "%s/usr/local/share/avemo", dest);
    FMT(elsewhere, "%s/elsewhere", d);
    CHECK(mkdir(elsewhere, 0755) == 0, "mkdir %s", elsewhere);
    const char *env = "-u AVEMO_SHARED -u AVEMO_DATA -u AVEMO_MTCNN";
    FMT(cmd, "--json '%s' '%s' 2>&1", photo, sound);
    rc = predict(bin, elsewhere, env, cmd);
    CHECK(rc == 0 && strstr(out, data) && strstr(out, "\"face\"") && strstr(out, "\"voice\""),
          "installed predict from %s: rc %d: %s", elsewhere, rc, out);
    FMT(cmd, "cd '%s' && env %s OMP_NUM_THREADS=1 '%s' faces --out crops '%s'", elsewhere, env, bin, photo);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "installed faces from %s: rc %d: %s", elsewhere, rc, out);
    /* the C API from $AVEMO_DATA */
    setenv("AVEMO_DATA", data, 1);
    avemo_bundle *b = NULL;
    CHECK(avemo_bundle_open(NULL, &b) == 0 && !strncmp(avemo_bundle_model_path(b, 0), data, strlen(data)) &&
              !strncmp(avemo_bundle_model_path(b, 1), data, strlen(data)),
          "API with $AVEMO_DATA: %s", b ? avemo_bundle_model_path(b, 0) : avemo_last_error());
    avemo_bundle_close(b);
    unsetenv("AVEMO_DATA");
}

/* The face probabilities of the crop in the JSON of `predict --json ARGS crop` into p (common classes); the
 * document's face_views; -1 on failure. */
static int crop_face_json(const char *args, float *p) {
    char cmd[8192];
    FMT(cmd, "--json %s '%s' 2>/dev/null", args, crop);
    if (predict(avemo_bin(), NULL, NULL, cmd) != 0) return -1;
    cJSON *doc = cJSON_Parse(out);
    const cJSON *file = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "files"), 0);
    const cJSON *fm = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(file, "streams"), "face"),
                                          "mapped_probs");
    int views = fm ? (int)num(doc, "face_views") : -1;
    for (int k = 0; k < AVEMO_BUNDLE_CLASSES && fm; k++) p[k] = (float)num(fm, avemo_bundle_class_name(k));
    cJSON_Delete(doc);
    return views;
}

/* Each face is scored over AVEMO_BUNDLE_FACE_VIEWS test-time views by default, over one with --tta 1 (the C API's
 * face_views): the CLI and the API agree on both, and the two differ. */
static void test_face_views(void) {
    float cli_default[AVEMO_BUNDLE_CLASSES], cli_one[AVEMO_BUNDLE_CLASSES];
    CHECK(crop_face_json("", cli_default) == AVEMO_BUNDLE_FACE_VIEWS, "default face_views: %s", out);
    CHECK(crop_face_json("--tta 1", cli_one) == 1, "--tta 1 face_views: %s", out);
    double diff = 0;
    for (int views = 0; views <= 1; views++) {
        avemo_bundle_options o = {.face_views = views};
        avemo_bundle *b = NULL;
        avemo_bundle_result r;
        CHECK(avemo_bundle_open(&o, &b) == 0, "avemo_bundle_open: %s", avemo_last_error());
        if (b && avemo_bundle_predict_file(b, crop, NULL, &r) == 0) {
            const float *want = views ? cli_one : cli_default;
            for (int k = 0; k < AVEMO_BUNDLE_CLASSES; k++)
                CHECK(fabsf(r.face_probs[k] - want[k]) < 1e-5f, "face_views %d, %s: API %g, CLI %g", views,
                      avemo_bundle_class_name(k), r.face_probs[k], want[k]);
        } else {
            CHECK(0, "API on %s: %s", crop, avemo_last_error());
        }
        avemo_bundle_close(b);
    }
    for (int k = 0; k < AVEMO_BUNDLE_CLASSES; k++) diff += fabs(cli_default[k] - cli_one[k]);
    CHECK(diff > 1e-3, "10 views and 1 view gave the same probabilities (sum |diff| %g)", diff);
}

int main(void) {
    test_run(setup, "setup");
    if (!ready) return test_summary();
    test_run(test_streams, "predict without --model: photo, silent clip, audio, clip with sound, crop");
    test_run(test_json_and_api, "--json streams and fusion = C API");
    test_run(test_face_views, "test-time views per face: 10 by default, --tta 1 one; CLI = C API");
    test_run(test_windows_text_csv, "--window without --model: text and CSV per window, the streams each file has");
    test_run(test_windows_json_and_api, "--window --json without --model = C API avemo_bundle_predict_file_windows");
    test_run(test_installed, "make install DESTDIR, predict and faces from another folder");
    return test_summary();
}
