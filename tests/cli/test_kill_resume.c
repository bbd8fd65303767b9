/* kill -9 at any moment, then the same command (train: with --resume; prep: resumes by itself), must end with
 * results identical to an uninterrupted run with the same seed:
 *   train: RUN/model.safetensors and RUN/report.json byte for byte;
 *   prep:  every CACHE/audio/<id>.npy byte for byte and index.json's data_hash.
 * The victims are real `avemo` processes killed with SIGKILL: first right after their first checkpoint /
 * first cached clip appears (polled), then after random delays. */
#include "test.h"

#include "avemo.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "data/cache.h"
#include "synth_cache.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void sleep_s(double s) {
    struct timespec t = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    nanosleep(&t, NULL);
}

/* Start argv (NULL-terminated) with stdout/stderr to `log` (appended). */
static pid_t spawn(char *const argv[], const char *log) {
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Poll until cond(arg) or the child exits or `timeout` s pass; then SIGKILL it. Returns 1 if the kill hit a
 * running process, 0 if it had already finished (exit code in *rc). */
static int kill_when(pid_t pid, int (*cond)(const void *), const void *arg, double delay, double timeout, int *rc) {
    double t0 = now_s();
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            *rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return 0;
        }
        if ((cond && cond(arg)) || (!cond && now_s() - t0 >= delay) || now_s() - t0 > timeout) break;
        sleep_s(0.002);
    }
    kill(pid, SIGKILL);
    *rc = test_wait_exit(pid);
    return *rc == 128 + SIGKILL;
}

static int file_exists(const void *path) {
    struct stat st;
    return stat((const char *)path, &st) == 0;
}

static int count_tmp(const char *dir);

/* ------------------------------------------------------------------------------------------------ train */

#define TRAIN_EPOCHS "4"

static void train_argv(char **argv, const char *cache, const char *run, int resume) {
    int n = 0;
    argv[n++] = (char *)avemo_bin();
    argv[n++] = "train";
    argv[n++] = "--data";
    argv[n++] = (char *)cache;
    argv[n++] = "--out";
    argv[n++] = (char *)run;
    const char *opts[] = {"--modality", "audio", "--recipe", "paper", "--protocol", "actors:1/2", "--epochs",
                          TRAIN_EPOCHS, "--batch", "8", "--optimizer", "adam", "--lr", "0.003", "--schedule",
                          "constant", "--seed", "5", "--dropout", "0.3", "--quiet"};
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) argv[n++] = (char *)opts[i];
    if (resume) argv[n++] = "--resume";
    argv[n] = NULL;
}

static void test_train_kill_resume(void) {
    char cache[600], run_a[600], run_b[600], log[700], state[700], a[800], b[800];
    snprintf(cache, sizeof cache, "%s/train_cache", test_tmpdir());
    snprintf(run_a, sizeof run_a, "%s/run_a", test_tmpdir());
    snprintf(run_b, sizeof run_b, "%s/run_b", test_tmpdir());
    snprintf(log, sizeof log, "%s/train.log", test_tmpdir());
    snprintf(state, sizeof state, "%s/fold_1/state.safetensors", run_b);
    /* a separable synthetic audio cache: 4 actors x 12 utterances, class c bumped by +1 on coefficient c */
    CHECK(synth_audio_cache(cache, 12, 1.0f) == 0, "cache: %s", avemo_last_error());
    if (test_failed_now) return;
    char *argv[40];
    train_argv(argv, cache, run_a, 0);
    double t0 = now_s();
    int rc = test_wait_exit(spawn(argv, log));
    double full = now_s() - t0;
    CHECK(rc == 0, "uninterrupted train exited %d (log %s)", rc, log);
    if (rc) return;

    /* kill 1: as soon as the first epoch's checkpoint exists; then random moments of the resumed runs */
    train_argv(argv, cache, run_b, 0);
    int killed = kill_when(spawn(argv, log), file_exists, state, 0, 120, &rc);
    CHECK(killed || rc == 0, "train exited %d before the kill", rc);
    int n_kills = killed;
    rng_t r;
    rng_seed(&r, 42);
    train_argv(argv, cache, run_b, 1);
    for (int k = 0; k < 2; k++) {
        double delay = (0.15 + 0.7 * rng_uniform(&r)) * full;
        int hit = kill_when(spawn(argv, log), NULL, NULL, delay, 120, &rc);
        CHECK(hit || rc == 0, "resumed train exited %d (log %s)", rc, log);
        n_kills += hit;
    }
    rc = test_wait_exit(spawn(argv, log));
    CHECK(rc == 0, "final resume exited %d (log %s)", rc, log);
    char fold_b[700];
    snprintf(fold_b, sizeof fold_b, "%s/fold_1", run_b);
    printf("  train: uninterrupted %.2f s; %d SIGKILLs landed mid-run, then resumed; %d temp files of interrupted "
           "writes left in the run folder\n", full, n_kills, count_tmp(run_b) + count_tmp(fold_b));
    CHECK(n_kills >= 1, "no kill landed while train was running");
    snprintf(a, sizeof a, "%s/model.safetensors", run_a);
    snprintf(b, sizeof b, "%s/model.safetensors", run_b);
    CHECK(test_same_file(a, b), "model.safetensors differs after kill -9 + --resume");
    snprintf(a, sizeof a, "%s/report.json", run_a);
    snprintf(b, sizeof b, "%s/report.json", run_b);
    CHECK(test_same_file(a, b), "report.json differs after kill -9 + --resume");
    snprintf(a, sizeof a, "%s/fold_1/model.safetensors", run_a);
    snprintf(b, sizeof b, "%s/fold_1/model.safetensors", run_b);
    CHECK(test_same_file(a, b), "fold_1/model.safetensors differs after kill -9 + --resume");
}

/* ------------------------------------------------------------------------------------------------ prep */

#define N_CLIPS 40
#define WAV_RATE 16000
#define WAV_SECONDS 2

/* 16-bit PCM mono: a chirp-like tone per clip plus deterministic noise, so every clip's features differ. */
static void write_wav(const char *path, int clip) {
    int n = WAV_RATE * WAV_SECONDS;
    int16_t *s = malloc((size_t)n * sizeof *s);
    rng_t r;
    rng_seed(&r, 100 + (uint64_t)clip);
    double f0 = 150.0 + 37.0 * clip;
    for (int i = 0; i < n; i++) {
        double t = (double)i / WAV_RATE;
        double v = 0.4 * sin(2 * M_PI * f0 * t * (1.0 + 0.1 * t)) + 0.05 * rng_normal(&r);
        s[i] = (int16_t)lrint(fmax(-1.0, fmin(1.0, v)) * 32000);
    }
    unsigned char h[44];
    uint32_t data = (uint32_t)n * 2;
    memcpy(h, "RIFF", 4);
    uint32_t v32 = 36 + data;
    memcpy(h + 4, &v32, 4);
    memcpy(h + 8, "WAVEfmt ", 8);
    v32 = 16;
    memcpy(h + 16, &v32, 4);
    uint16_t v16 = 1;
    memcpy(h + 20, &v16, 2); /* PCM */
    memcpy(h + 22, &v16, 2); /* mono */
    v32 = WAV_RATE;
    memcpy(h + 24, &v32, 4);
    v32 = WAV_RATE * 2;
    memcpy(h + 28, &v32, 4);
    v16 = 2;
    memcpy(h + 32, &v16, 2);
    v16 = 16;
    memcpy(h + 34, &v16, 2);
    memcpy(h + 36, "data", 4);
    memcpy(h + 40, &data, 4);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(h, 1, 44, f) == 44 && fwrite(s, 2, (size_t)n, f) == (size_t)n, "write %s", path);
    if (f) fclose(f);
    free(s);
}

/* RAVDESS audio-only layout: Actor_XX/03-01-EE-01-SS-01-XX.wav, 10 clips per actor. */
static void make_wav_tree(const char *root) {
    for (int i = 0; i < N_CLIPS; i++) {
        int actor = 1 + i / 10, k = i % 10;
        char dir[700], path[800];
        snprintf(dir, sizeof dir, "%s/Actor_%02d", root, actor);
        CHECK(make_dirs(dir) == 0, "mkdir %s", dir);
        snprintf(path, sizeof path, "%s/03-01-%02d-01-%02d-01-%02d.wav", dir, 1 + k % 8, 1 + k / 8, actor);
        write_wav(path, i);
    }
}

static int count_npy(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        n += l > 4 && !strcmp(e->d_name + l - 4, ".npy");
    }
    closedir(d);
    return n;
}

/* Leftover temp files "<name>.tmp.<id>" of writes a kill interrupted. */
static int count_tmp(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static int some_cached(const void *audio_dir) { return count_npy(audio_dir) >= 3; }

static int data_hash(const char *cache, char *out, size_t cap) {
    char p[700];
    snprintf(p, sizeof p, "%s/index.json", cache);
    unsigned char *t;
    size_t n;
    if (file_read_all(p, 1 << 26, &t, &n)) return 0;
    cJSON *j = cJSON_Parse((const char *)t);
    free(t);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "data_hash");
    int ok = cJSON_IsString(h);
    if (ok) snprintf(out, cap, "%s", h->valuestring);
    cJSON_Delete(j);
    return ok;
}

static void prep_argv(char **argv, const char *input, const char *cache) {
    int n = 0;
    argv[n++] = (char *)avemo_bin();
    argv[n++] = "prep";
    const char *opts[] = {"--dataset", "ravdess", "--modality", "audio", "--features", "mfcc", "--jobs", "1"};
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) argv[n++] = (char *)opts[i];
    argv[n++] = "--input";
    argv[n++] = (char *)input;
    argv[n++] = "--out";
    argv[n++] = (char *)cache;
    argv[n] = NULL;
}

static void test_prep_kill_resume(void) {
    char input[600], cache_a[600], cache_b[600], audio_b[700], log[700];
    snprintf(input, sizeof input, "%s/wavs", test_tmpdir());
    snprintf(cache_a, sizeof cache_a, "%s/prep_a", test_tmpdir());
    snprintf(cache_b, sizeof cache_b, "%s/prep_b", test_tmpdir());
    snprintf(audio_b, sizeof audio_b, "%s/audio", cache_b);
    snprintf(log, sizeof log, "%s/prep.log", test_tmpdir());
    make_wav_tree(input);
    if (test_failed_now) return;
    char *argv[40];
    prep_argv(argv, input, cache_a);
    double t0 = now_s();
    int rc = test_wait_exit(spawn(argv, log));
    double full = now_s() - t0;
    CHECK(rc == 0, "uninterrupted prep exited %d (log %s)", rc, log);
    char dir_a[700];
    snprintf(dir_a, sizeof dir_a, "%s/audio", cache_a);
    CHECK(count_npy(dir_a) == N_CLIPS, "uninterrupted prep cached %d of %d clips", count_npy(dir_a), N_CLIPS);
    if (test_failed_now) return;

    prep_argv(argv, input, cache_b);
    int killed = kill_when(spawn(argv, log), some_cached, audio_b, 0, 120, &rc);
    CHECK(killed || rc == 0, "prep exited %d before the kill", rc);
    int n_kills = killed, at_first_kill = count_npy(audio_b);
    rng_t r;
    rng_seed(&r, 43);
    for (int k = 0; k < 2; k++) {
        double delay = (0.1 + 0.6 * rng_uniform(&r)) * full;
        int hit = kill_when(spawn(argv, log), NULL, NULL, delay, 120, &rc);
        CHECK(hit || rc == 0, "rerun of prep exited %d (log %s)", rc, log);
        n_kills += hit;
    }
    int tmp_left = count_tmp(audio_b) + count_tmp(cache_b);
    /* what a kill inside a write leaves (the kills above rarely land inside one): plant one */
    char stale[800];
    snprintf(stale, sizeof stale, "%s/03-01-01-01-01-01-01.npy.tmp.4242", audio_b);
    FILE *sf = fopen(stale, "wb");
    if (sf) fputs("\x93NUMPY torn", sf), fclose(sf);
    rc = test_wait_exit(spawn(argv, log));
    CHECK(rc == 0, "final prep exited %d (log %s)", rc, log);
    /* a rerun removes the temp files of the writes the kills interrupted */
    CHECK(count_tmp(audio_b) + count_tmp(cache_b) == 0, "%d temp files left in the cache after the rerun",
          count_tmp(audio_b) + count_tmp(cache_b));
    printf("  prep: uninterrupted %.2f s for %d clips; first kill with %d clips cached; %d SIGKILLs landed; %d "
           "temp files of interrupted writes before the last rerun\n", full, N_CLIPS, at_first_kill, n_kills, tmp_left);
    CHECK(n_kills >= 1 && at_first_kill < N_CLIPS, "no kill landed while prep was running");
    CHECK(count_npy(audio_b) == N_CLIPS, "%d of %d clips cached after resume", count_npy(audio_b), N_CLIPS);
    DIR *d = opendir(dir_a);
    struct dirent *e;
    int n_same = 0, n = 0;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= 4 || strcmp(e->d_name + l - 4, ".npy")) continue;
        char a[1000], b[1000];
        snprintf(a, sizeof a, "%s/%s", dir_a, e->d_name);
        snprintf(b, sizeof b, "%s/%s", audio_b, e->d_name);
        n++;
        n_same += test_same_file(a, b);
    }
    if (d) closedir(d);
    CHECK(n == N_CLIPS && n_same == n, "%d of %d cached arrays identical after kill -9 + rerun", n_same, n);
    char ha[64] = "", hb[64] = "";
    CHECK(data_hash(cache_a, ha, sizeof ha) && data_hash(cache_b, hb, sizeof hb) && !strcmp(ha, hb),
          "data_hash %s vs %s", ha, hb);
}

int main(void) {
    RUN(test_prep_kill_resume);
    RUN(test_train_kill_resume);
    return test_summary();
}
