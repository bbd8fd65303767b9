/* Damaged inputs through every command that reads files. tests/make-corrupt-media.sh writes good/ and bad/
 * (truncated, zero-length, no samples, no frames, no streams, zero channels, 0 Hz, wrong extension, random
 * bytes, broken .npy / safetensors / tflite headers; a WAV named .mp4 and an odd 65x49 frame size must work).
 * Each bad file gives exit status 2 and exactly one stderr line naming it, no command dies of a signal, and
 * with --keep-going (or the commands that always go on: detect, predict) the good files of the same run are
 * still processed. Also `avemo prep` on a RAVDESS tree with damaged clips: they are logged in
 * CACHE/skipped.log and skipped, the rest is cached, the run succeeds. */
#include "test.h"

#include "avemo.h"
#include "core/fileio.h"
#include "io/npy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FILES 64

static char media[600], mtcnn[600];
static char *bad[MAX_FILES];
static int n_bad;

/* Run argv with stdout and stderr to files; returns the exit code, or 128 + signal. */
static int run_argv(char *const argv[], const char *out, const char *err) {
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0) _exit(126);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return test_wait_exit(pid);
}

static char *slurp(const char *path) {
    unsigned char *t;
    size_t n;
    if (file_read_all(path, 1 << 24, &t, &n)) return strdup("");
    return (char *)t;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* Lines of `text` that contain `needle`. */
static int lines_naming(const char *text, const char *needle) {
    int n = 0;
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *l = strndup(line, len);
        n += strstr(l, needle) != NULL;
        free(l);
        line = end ? end + 1 : line + len;
    }
    return n;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_bad_for(const char *name, const char *const *valid_here) {
    for (int i = 0; valid_here && valid_here[i]; i++)
        if (strstr(name, valid_here[i])) return 0;
    return 1;
}

/* One run per bad file: `argv_tail` is the command with "%s" (the file) somewhere. Files listed in
 * `valid_here` are fine for this command (e.g. an audio-only file for `features`): exit 0 expected. */
static void each_bad_alone(const char *what, const char *const *fmt, const char *const *valid_here) {
    char outp[700], errp[700];
    snprintf(outp, sizeof outp, "%s/stdout", test_tmpdir());
    snprintf(errp, sizeof errp, "%s/stderr", test_tmpdir());
    int n_checked = 0;
    for (int i = 0; i < n_bad; i++) {
        char *argv[32], bufs[32][1000];
        int n = 0;
        argv[n++] = (char *)avemo_bin();
        for (int k = 0; fmt[k]; k++) {
            snprintf(bufs[n], sizeof bufs[n], fmt[k], bad[i]);
            argv[n] = bufs[n];
            n++;
        }
        argv[n] = NULL;
        int rc = run_argv(argv, outp, errp);
        char *err = slurp(errp);
        int expect_bad = is_bad_for(bad[i], valid_here);
        CHECK(rc < 128, "%s %s: killed by signal %d", what, bad[i], rc - 128);
        if (expect_bad) {
            CHECK(rc == 2, "%s %s: exit %d, want 2 (stderr: %s)", what, bad[i], rc, err);
            CHECK(count_lines(err) == 1 && lines_naming(err, bad[i]) == 1,
                  "%s %s: want one stderr line naming the file, got: %s", what, bad[i], err);
        } else {
            CHECK(rc == 0, "%s %s: exit %d on a usable file (stderr: %s)", what, bad[i], rc, err);
        }
        free(err);
        n_checked++;
    }
    printf("  %s: %d damaged files, one run each\n", what, n_checked);
}

/* One run with good files and every bad file: exit 2, each bad file named on exactly one stderr line, at
 * most `extra` other lines (summary, warnings about the good files); returns stdout for more checks. */
static char *batch(const char *what, char **argv_head, int n_head, char **good, int n_good,
                   const char *const *valid_here, int extra) {
    char outp[700], errp[700];
    snprintf(outp, sizeof outp, "%s/stdout", test_tmpdir());
    snprintf(errp, sizeof errp, "%s/stderr", test_tmpdir());
    char *argv[MAX_FILES + 40];
    int n = 0, n_listed_bad = 0;
    argv[n++] = (char *)avemo_bin();
    for (int i = 0; i < n_head; i++) argv[n++] = argv_head[i];
    for (int i = 0; i < n_good; i++) argv[n++] = good[i];
    for (int i = 0; i < n_bad; i++) {
        if (!is_bad_for(bad[i], valid_here)) continue;
        argv[n++] = bad[i];
        n_listed_bad++;
    }
    argv[n] = NULL;
    int rc = run_argv(argv, outp, errp);
    char *err = slurp(errp);
    CHECK(rc == 2, "%s with %d bad files: exit %d, want 2 (stderr: %s)", what, n_listed_bad, rc, err);
    for (int i = 0; i < n_bad; i++)
        if (is_bad_for(bad[i], valid_here))
            CHECK(lines_naming(err, bad[i]) == 1, "%s: %s named on %d stderr lines, want 1: %s", what, bad[i],
                  lines_naming(err, bad[i]), err);
    CHECK(count_lines(err) <= n_listed_bad + extra, "%s: %d stderr lines for %d bad files: %s", what,
          count_lines(err), n_listed_bad, err);
    printf("  %s: %d good + %d damaged files in one run, %d stderr lines\n", what, n_good, n_listed_bad,
           count_lines(err));
    free(err);
    return slurp(outp);
}

static void test_make_media(void) {
    snprintf(media, sizeof media, "%s/media", test_tmpdir());
    char cmd[1200], out[4096];
    snprintf(cmd, sizeof cmd, "tests/make-corrupt-media.sh '%s'", media);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "make-corrupt-media.sh failed: %s", out);
    char dir[700];
    snprintf(dir, sizeof dir, "%s/bad", media);
    DIR *d = opendir(dir);
    CHECK(d != NULL, "no %s", dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && n_bad < MAX_FILES) {
        if (e->d_name[0] == '.') continue;
        char p[1000];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        bad[n_bad++] = strdup(p);
    }
    closedir(d);
    qsort(bad, (size_t)n_bad, sizeof *bad, cmp_str);
    CHECK(n_bad >= 10, "only %d damaged files", n_bad);
    const char *m = shared_path("weights/mtcnn/mtcnn_model-weights_manifest.json");
    snprintf(mtcnn, sizeof mtcnn, "%s", m ? m : "");
}

static void good_path(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/good/%s", media, name); }

static void test_features(void) {
    const char *valid[] = {"no_video.m4a", NULL}; /* audio only: fine for audio features */
    char out[700];
    snprintf(out, sizeof out, "%s/feat.npy", test_tmpdir());
    const char *fmt[] = {"features", "--quiet", "--out", out, "%s", NULL};
    each_bad_alone("features", fmt, valid);
    char g[3][700];
    good_path(g[0], sizeof g[0], "tone.wav");
    good_path(g[1], sizeof g[1], "clip.mp4");
    good_path(g[2], sizeof g[2], "tone_renamed.mp4"); /* a WAV named .mp4: decoded by content */
    char *good[3] = {g[0], g[1], g[2]};
    char *head[] = {"features", "--quiet", "--keep-going", "--out", out};
    free(batch("features --keep-going", head, 5, good, 3, valid, 1));
    npy_array a;
    CHECK(npy_read(out, &a) == 0 && a.ndim == 3 && a.shape[0] == 3, "features --keep-going wrote %lld rows, want 3 "
          "(%s)", (long long)a.shape[0], avemo_last_error());
    npy_free(&a);
}

static void test_frft(void) {
    char out[700];
    snprintf(out, sizeof out, "%s/frft.npy", test_tmpdir());
    const char *fmt[] = {"frft", "--order", "0.5", "--in", "%s", "--out", out, NULL};
    each_bad_alone("frft", fmt, NULL);
}

static void test_faces_detect(void) {
    if (!mtcnn[0]) return;
    const char *valid[] = {"no_audio.mp4", NULL}; /* silent video: fine for faces */
    char dir[700], g[2][700], npy[800];
    snprintf(dir, sizeof dir, "%s/faces", test_tmpdir());
    good_path(g[0], sizeof g[0], "clip.mp4");
    good_path(g[1], sizeof g[1], "odd_size.avi"); /* 65x49 MJPEG */
    char *good[2] = {g[0], g[1]};
    char *head[] = {"faces", "--keep-going", "--frames", "3", "--mtcnn", mtcnn, "--out", dir};
    /* extra lines: the summary and a no-face warning per good clip (test patterns, no real face) */
    free(batch("faces --keep-going", head, 8, good, 2, valid, 3));
    snprintf(npy, sizeof npy, "%s/clip.npy", dir);
    npy_array a;
    CHECK(npy_read(npy, &a) == 0 && a.shape[0] == 3, "faces --keep-going did not write the good clip: %s",
          avemo_last_error());
    npy_free(&a);
    snprintf(npy, sizeof npy, "%s/odd_size.npy", dir);
    CHECK(npy_read(npy, &a) == 0 && a.shape[0] == 3, "faces --keep-going did not write the odd-size clip: %s",
          avemo_last_error());
    npy_free(&a);
    char *dhead[] = {"detect", "--frames", "3", "--mtcnn", mtcnn};
    char *out = batch("detect", dhead, 5, good, 2, valid, 0);
    CHECK(strstr(out, g[0]) != NULL && strstr(out, g[1]) != NULL, "detect did not report the good clips: %s", out);
    free(out);
}

static void test_import(void) {
    char out[700];
    snprintf(out, sizeof out, "%s/imported.safetensors", test_tmpdir());
    const char *st[] = {"import", "--from", "safetensors", "%s", "--out", out, NULL};
    each_bad_alone("import --from safetensors", st, NULL);
    const char *tfl[] = {"import", "--from", "tflite", "%s", "--out", out, NULL};
    each_bad_alone("import --from tflite", tfl, NULL);
}

/* predict needs a model whose prep settings it can recompute: prep a tiny audio tree of good tones (3 actors),
 * train 1 epoch, then predict on the damaged files plus a good one. */
static void test_predict(void) {
    char root[700], cache[700], run[700], model[800], cmd[4000], out[8192], tone[700];
    snprintf(root, sizeof root, "%s/predict_ds", test_tmpdir());
    snprintf(cache, sizeof cache, "%s/predict_cache", test_tmpdir());
    snprintf(run, sizeof run, "%s/predict_run", test_tmpdir());
    good_path(tone, sizeof tone, "tone.wav");
    for (int actor = 1; actor <= 3; actor++)
        for (int e = 1; e <= 2; e++) {
            char dir[800], p[1800];
            snprintf(dir, sizeof dir, "%s/Actor_%02d", root, actor);
            make_dirs(dir);
            snprintf(p, sizeof p, "cp '%s' '%s/03-01-%02d-01-01-01-%02d.wav'", tone, dir, e, actor);
            CHECK(run_cmd(p, NULL, 0) == 0, "cp");
        }
    snprintf(cmd, sizeof cmd, "%s prep --dataset ravdess --modality audio --input '%s' --out '%s' && "
             "%s train --data '%s' --out '%s' --modality audio --protocol actors:1/2 --epochs 1 --quiet",
             avemo_bin(), root, cache, avemo_bin(), cache, run);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "prep + train for predict: %s", out);
    if (test_failed_now) return;
    snprintf(model, sizeof model, "%s/model.safetensors", run);
    const char *valid[] = {"no_video.m4a", NULL};
    const char *fmt[] = {"predict", "--model", model, "%s", NULL};
    each_bad_alone("predict", fmt, valid);
    char *head[] = {"predict", "--model", model};
    char *good[1] = {tone};
    char *o = batch("predict", head, 3, good, 1, valid, 1);
    CHECK(strstr(o, "tone.wav") != NULL, "predict did not report the good file: %s", o);
    free(o);
}

/* A RAVDESS audio tree with good clips and damaged ones (and a file whose name does not parse). */
static void test_prep_skips_damaged(void) {
    char root[700], cache[700], dir[800], cmd[3000], out[8192];
    snprintf(root, sizeof root, "%s/ravdess", test_tmpdir());
    snprintf(cache, sizeof cache, "%s/cache", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/Actor_01", root);
    CHECK(make_dirs(dir) == 0, "mkdir");
    struct { const char *src, *name; int ok; } clips[] = {
        {"good/tone.wav", "03-01-01-01-01-01-01.wav", 1}, {"good/tone.wav", "03-01-02-01-01-01-01.wav", 1},
        {"good/clip.mp4", "01-01-03-01-01-01-01.mp4", 1}, {"bad/header_only.wav", "03-01-04-01-01-01-01.wav", 0},
        {"bad/noise.wav", "03-01-05-01-01-01-01.wav", 0},  {"bad/text.flac", "03-01-06-01-01-01-01.flac", 0},
        {"bad/truncated.mp4", "01-01-07-01-01-01-01.mp4", 0}, {"bad/no_audio.mp4", "01-01-08-01-01-01-01.mp4", 0},
        {"bad/empty.wav", "03-01-03-02-01-01-01.wav", 0},  {"good/tone.wav", "not_a_ravdess_name.wav", 0},
    };
    int n = sizeof clips / sizeof *clips, n_ok = 0;
    for (int i = 0; i < n; i++) {
        snprintf(cmd, sizeof cmd, "cp '%s/%s' '%s/%s'", media, clips[i].src, dir, clips[i].name);
        CHECK(run_cmd(cmd, NULL, 0) == 0, "%s", cmd);
        n_ok += clips[i].ok;
    }
    snprintf(cmd, sizeof cmd, "%s prep --dataset ravdess --modality audio --input '%s' --out '%s'", avemo_bin(), root,
             cache);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "prep with damaged clips exited %d: %s", rc, out);
    char log[800];
    snprintf(log, sizeof log, "%s/skipped.log", cache);
    char *skipped = slurp(log);
    for (int i = 0; i < n; i++) {
        int named = lines_naming(skipped, clips[i].name);
        if (clips[i].ok) CHECK(named == 0, "good clip %s in skipped.log: %s", clips[i].name, skipped);
        else CHECK(named == 1, "damaged %s (%s) named %d times in skipped.log:\n%s", clips[i].name, clips[i].src,
                   named, skipped);
    }
    for (int i = 0; i < n; i++) {
        if (!clips[i].ok) continue;
        char npy[1000], stem[64];
        snprintf(stem, sizeof stem, "%.20s", clips[i].name);
        snprintf(npy, sizeof npy, "%s/audio/%s.npy", cache, stem);
        struct stat st;
        CHECK(stat(npy, &st) == 0, "good clip %s not cached", clips[i].name);
    }
    printf("  prep: %d good and %d damaged clips; skipped.log has %d lines\n", n_ok, n - n_ok, count_lines(skipped));
    free(skipped);
}

int main(void) {
    RUN(test_make_media);
    if (n_bad) {
        RUN(test_features);
        RUN(test_frft);
        RUN(test_faces_detect);
        RUN(test_import);
        RUN(test_predict);
        RUN(test_prep_skips_damaged);
    }
    for (int i = 0; i < n_bad; i++) free(bad[i]);
    return test_summary();
}
