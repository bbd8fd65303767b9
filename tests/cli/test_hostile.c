/* Hostile inputs through the CLI (issue 12), each made here at test time (tests/make-hostile-media.py, ffmpeg,
 * the library) and run as its own `avemo` process whose peak RSS (getrusage of the child, wait4) and wall time
 * are bounded. Each case asserts the exit status (0 ok, 1 runtime, 2 bad input or usage), the one stderr line
 * naming the file and the problem, and the bounds:
 *
 *   item 1  a 176 KB WAV claiming 1 Hz (refused); 4 h of 192 kHz silence in a 2.6 MB FLAC (only its centre decoded)
 *   item 2  an 8192x8192 PNG and a 2-frame 8192x8192 video (refused before any frame is allocated)
 *   item 3  symlinks planted at the old temp names and at the output itself: the victim stays untouched
 *   item 4  two concurrent preps with different settings on one cache: one wins, the other exits 2, the cache
 *           is consistent; a prep against a held lock exits 2 naming it
 *   item 5  a NaN bias / NaN audio_mean in a model file, a NaN in a cached feature (hash consistent), a cached
 *           file changed after prep (hash mismatch): exit 2 naming the tensor or file
 *   item 6  a rotate=270 phone-style clip: every frame has a face, upright (eyes above the mouth)
 *   item 7  a tensor with the wrong shape / dtype: exit 2 naming the tensor
 *   item 8  a FIFO as input (refused, no blocking); outputs in a missing folder (exit 1 from every command);
 *           `--` ends the options
 *
 * RSS_BOUND_MB is what the README states as the most a hostile file costs one process (measured 30-70 MB
 * here; ASan builds get 2.5x); TIME_BOUND_S is generous for a loaded 2-core machine (each case takes 0.2-4 s
 * alone; ASan builds get 4x). */
#include "api/predict_fixture.h"
#include "synth_cache.h"

#include "io/npy.h"

#include <cjson/cJSON.h>
#include "core/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) /* make SAN=1: ASan's shadow and quarantine (measured 2.5x RSS), slower code */
#define SAN_RSS 2.5
#define SAN_TIME 4.0
#else
#define SAN_RSS 1.0
#define SAN_TIME 1.0
#endif
#define RSS_BOUND_MB (300.0 * SAN_RSS)
#define TIME_BOUND_S (30.0 * SAN_TIME)
#define AUDIO_RSS_BOUND_MB (150.0 * SAN_RSS) /* any accepted audio file (measured at most 75 MB) */

typedef struct {
    int rc;        /* exit status, 128 + signal, or -1 when killed at the time bound */
    double secs;   /* wall time */
    double rss_mb; /* peak resident set of the child */
    char err[4096];
} run_result;

static char dir[600], script[700], media[700];
static const char *child_cwd; /* where the next child runs (NULL: here) */

static const char *at(const char *name) {
    static char buf[8][900];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Start `exec cmd` in /bin/sh (so the child is avemo itself) with stdout to /dev/null and stderr to errf. */
static pid_t start(const char *cmd, const char *errf) {
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open("/dev/null", O_WRONLY), fe = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || (child_cwd && chdir(child_cwd))) _exit(126);
        dup2(fo, 1);
        dup2(fe, 2);
        char full[8192];
        snprintf(full, sizeof full, "exec %s", cmd);
        execl("/bin/sh", "sh", "-c", full, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Wait for pid (killing it at 2 x TIME_BOUND_S); fills rc, secs, rss_mb and err. */
static void finish(pid_t pid, double t0, const char *errf, run_result *r) {
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        pid_t w = wait4(pid, &st, WNOHANG, &ru);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) break;
        if (now_s() - t0 > 2 * TIME_BOUND_S) {
            kill(pid, SIGKILL);
            wait4(pid, &st, 0, &ru);
            st = -1;
            break;
        }
        usleep(5000);
    }
    r->secs = now_s() - t0;
    r->rss_mb = ru.ru_maxrss / 1024.0;
    r->rc = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->err[0] = 0;
    FILE *f = fopen(errf, "r");
    if (f) {
        size_t n = fread(r->err, 1, sizeof r->err - 1, f);
        r->err[n] = 0;
        fclose(f);
    }
}

static void run(const char *cmd, run_result *r) {
    double t0 = now_s();
    finish(start(cmd, at("stderr.txt")), t0, at("stderr.txt"), r);
}

static int n_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* The result has exit status rc, within the bounds; with rc != 0, exactly one stderr line holding both needles. */
static void expect(const char *what, const run_result *r, int rc, const char *needle1, const char *needle2) {
    printf("  %-34s exit %d, %6.2f s, %5.1f MB  %s", what, r->rc, r->secs, r->rss_mb, r->err[0] ? r->err : "\n");
    CHECK(r->rc == rc, "%s: exit %d, expected %d: %s", what, r->rc, rc, r->err);
    CHECK(r->rss_mb < RSS_BOUND_MB, "%s: peak RSS %.1f MB (bound %.0f MB)", what, r->rss_mb, RSS_BOUND_MB);
    CHECK(r->secs < TIME_BOUND_S, "%s: %.1f s (bound %.0f s)", what, r->secs, TIME_BOUND_S);
    if (rc == 0) return;
    CHECK(n_lines(r->err) == 1, "%s: %d stderr lines, expected one: %s", what, n_lines(r->err), r->err);
    CHECK(!needle1 || strstr(r->err, needle1), "%s: '%s' not in: %s", what, needle1, r->err);
    CHECK(!needle2 || strstr(r->err, needle2), "%s: '%s' not in: %s", what, needle2, r->err);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[8192], out[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = run_cmd(cmd, out, sizeof out);
    if (rc) printf("  command failed (%d): %s\n%s\n", rc, cmd, out);
    return rc;
}

static void setup(void) {
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(script, sizeof script, "tests/make-hostile-media.py"); /* tests run from the repository root */
    snprintf(media, sizeof media, "%s/media", dir);
    mkdir(media, 0755);
    CHECK(sh("/usr/bin/python3 '%s' '%s'", script, media) == 0, "make-hostile-media.py failed");
}

static void test_audio_bombs(void) {
    run_result r;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s features --quiet --out '%s' '%s/rate_1hz.wav'", avemo_bin(), at("o.npy"), media);
    run(cmd, &r);
    expect("1 Hz WAV (features)", &r, 2, "rate_1hz.wav", "1 Hz");
    snprintf(cmd, sizeof cmd, "%s features --quiet --out '%s' '%s/silence_4h_192k.flac'", avemo_bin(), at("o.npy"),
             media);
    run(cmd, &r);
    expect("4 h silent FLAC (features)", &r, 0, NULL, NULL);
    /* the largest stream still decoded whole at 4 kHz would be 2^22 samples; upsampled whole to 22,050 Hz it took
     * 250 MB: now streams are decoded whole only while the upsampled copy fits 2^22 samples too */
    if (sh("ffmpeg -v error -y -f lavfi -i sine=f=300:r=4000 -t 1048.5 -c:a pcm_s16le '%s'", at("long_4k.wav"))) return;
    snprintf(cmd, sizeof cmd, "%s features --quiet --out '%s' '%s'", avemo_bin(), at("o4.npy"), at("long_4k.wav"));
    run(cmd, &r);
    expect("17 min at 4 kHz (features)", &r, 0, NULL, NULL);
    CHECK(r.rss_mb < AUDIO_RSS_BOUND_MB, "17 min at 4 kHz: %.1f MB (bound %.0f MB)", r.rss_mb, AUDIO_RSS_BOUND_MB);
    npy_array a;
    CHECK(npy_read(at("o.npy"), &a) == 0 && a.ndim == 3 && a.shape[0] == 1 && a.shape[2] == 156, "features of the FLAC: %s",
          avemo_last_error());
    if (!test_failed_now) npy_free(&a);
}

static void test_image_bombs(void) {
    run_result r;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s detect '%s/black_8192.png'", avemo_bin(), media);
    run(cmd, &r);
    expect("8192^2 PNG (detect)", &r, 2, "black_8192.png", "pixel limit");
    snprintf(cmd, sizeof cmd, "%s faces --out '%s' '%s/black_8192.png'", avemo_bin(), at("faces"), media);
    run(cmd, &r);
    expect("8192^2 PNG (faces)", &r, 2, "black_8192.png", "pixel limit");
    /* a 2-frame 8192 x 8192 video (PNG frames in Matroska: small on disk, cheap to make) */
    if (sh("ffmpeg -v error -y -f lavfi -i color=black:s=8192x8192:r=2 -frames:v 2 -c:v png '%s'", at("big.mkv")))
        return;
    snprintf(cmd, sizeof cmd, "%s faces --out '%s' '%s'", avemo_bin(), at("faces"), at("big.mkv"));
    run(cmd, &r);
    expect("8192^2 2-frame video (faces)", &r, 2, "big.mkv", "pixel limit");
}

static int file_is(const char *path, const char *text) {
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return !strcmp(buf, text);
}

static void test_symlinks(void) {
    /* symlinks to a victim at the output and at "<out>.tmp.<pid>" for the next 300 pids (the old temp names):
     * the output is written as a new file and the victim keeps its content */
    const char *victim = at("victim.txt"), *out = at("links/out.npy");
    mkdir(at("links"), 0755);
    FILE *f = fopen(victim, "w");
    fputs("precious", f);
    fclose(f);
    CHECK(symlink(victim, out) == 0, "symlink");
    for (int p = getpid() + 1; p <= getpid() + 300; p++) {
        char name[1024];
        snprintf(name, sizeof name, "%s.tmp.%d", out, p);
        symlink(victim, name);
    }
    CHECK(fix_tone_wav(at("tone.wav"), 1, 1.0, 1) == 0, "tone");
    run_result r;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s features --quiet --out '%s' '%s'", avemo_bin(), out, at("tone.wav"));
    run(cmd, &r);
    expect("symlinks at the temp names", &r, 0, NULL, NULL);
    struct stat st;
    CHECK(lstat(out, &st) == 0 && S_ISREG(st.st_mode), "the output is not a regular file");
    CHECK(file_is(victim, "precious"), "the victim was written to");
}

static void test_prep_hostile_tree(void) {
    /* prep --jobs 2 over the bombs named as RAVDESS clips, a good clip and its duplicate, and a name holding a
     * newline, a tab and an escape sequence: the good clip and the 4 h FLAC are cached, the 1 Hz WAV fails, the
     * others are skipped; skipped.log has one escaped row each, and no control character reaches stderr */
    const char *root = at("hostile_tree");
    char actor[900], cmd[8192];
    snprintf(actor, sizeof actor, "%s/Actor_01", root);
    mkdir(root, 0755);
    mkdir(actor, 0755);
    if (sh("cp '%s/silence_4h_192k.flac' '%s/03-01-01-01-01-01-01.flac' && cp '%s/rate_1hz.wav' "
           "'%s/03-01-03-01-01-01-01.wav'", media, actor, media, actor))
        return;
    char p[1200];
    snprintf(p, sizeof p, "%s/03-01-04-01-01-01-01.wav", actor);
    CHECK(fix_tone_wav(p, 2, 3.6, 3) == 0, "tone");
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/03-01-04-01-01-01-01.flac' && cp '%s' \"%s/evil\n\t\033[2J.wav\"", p, actor,
             p, actor);
    if (sh("%s", cmd)) return;
    snprintf(cmd, sizeof cmd, "%s prep --dataset ravdess --input '%s' --out '%s' --modality audio --jobs 2", avemo_bin(),
             root, at("hostile_cache"));
    run_result r;
    run(cmd, &r);
    expect("prep --jobs 2 over the bombs", &r, 0, NULL, NULL);
    CHECK(!strchr(r.err, 0x1b), "an escape character reached stderr: %s", r.err);
    unsigned char *log;
    size_t n;
    char path[1200];
    snprintf(path, sizeof path, "%s/skipped.log", at("hostile_cache"));
    CHECK(file_read_all(path, 1 << 20, &log, &n) == 0, "%s", avemo_last_error());
    if (test_failed_now) return;
    const char *t = (const char *)log;
    CHECK(n_lines(t) == 3 && !strchr(t, 0x1b) && strstr(t, "evil\\n\\t\\x1b[2J.wav\tscan\t") &&
              strstr(t, "03-01-04-01-01-01-01.flac\tscan\tduplicate of ") && strstr(t, "1 Hz"),
          "skipped.log:\n%s", t);
    free(log);
}

/* A RAVDESS-named tree of tone WAVs (actors 1..2, 4 emotions, 2 takes). */
static int tone_tree(const char *root) {
    mkdir(root, 0755);
    for (int a = 1; a <= 2; a++) {
        char p[900];
        snprintf(p, sizeof p, "%s/Actor_%02d", root, a);
        mkdir(p, 0755);
        for (int c = 0; c < FIX_N_EMOTIONS; c++)
            for (int k = 0; k < 2; k++) {
                snprintf(p, sizeof p, "%s/Actor_%02d/03-01-%02d-01-01-%02d-%02d.wav", root, a, FIX_EMOTION_CODE[c],
                         1 + k, a);
                if (fix_tone_wav(p, c, 3.6, 4 * a + k)) return -1;
            }
    }
    return 0;
}

/* Every sample of the cache at `path` loads, matches its hash, is finite and has `channels` rows. */
static void check_cache_consistent(const char *path, int channels) {
    feature_cache c;
    CHECK(cache_open(&c, path) == 0, "%s", avemo_last_error());
    if (test_failed_now) return;
    int ok = 0;
    for (int i = 0; i < c.ds.n; i++) {
        char p[4200];
        npy_array a;
        cache_path(&c, i, CACHE_AUDIO, p, sizeof p);
        CHECK(npy_read(p, &a) == 0, "%s", avemo_last_error());
        if (test_failed_now) break;
        CHECK(cache_verify_array(&c, i, CACHE_AUDIO, &a, p) == 0, "%s", avemo_last_error());
        CHECK(a.shape[0] == channels, "%s: %lld channels, the index's settings say %d", p, (long long)a.shape[0],
              channels);
        ok += !test_failed_now;
        npy_free(&a);
    }
    CHECK(ok == c.ds.n && ok == 16, "%d of %d samples consistent", ok, c.ds.n);
    cache_free(&c);
}

static void test_concurrent_preps(void) {
    const char *root = at("rav"), *cache = at("cache");
    CHECK(tone_tree(root) == 0, "tone tree");
    char cmd_a[4096], cmd_b[4200];
    snprintf(cmd_a, sizeof cmd_a, "%s prep --dataset ravdess --input '%s' --out '%s' --modality audio --jobs 1",
             avemo_bin(), root, cache);
    snprintf(cmd_b, sizeof cmd_b, "%s --features frft-mfcc --n-mfcc 13", cmd_a);
    double t0 = now_s();
    pid_t a = start(cmd_a, at("err_a.txt")), b = start(cmd_b, at("err_b.txt"));
    run_result ra, rb;
    finish(a, t0, at("err_a.txt"), &ra);
    finish(b, t0, at("err_b.txt"), &rb);
    printf("  concurrent preps: mfcc exit %d (%.2f s, %.1f MB), frft-mfcc/13 exit %d (%.2f s, %.1f MB)\n", ra.rc,
           ra.secs, ra.rss_mb, rb.rc, rb.secs, rb.rss_mb);
    CHECK((ra.rc == 0) + (rb.rc == 0) == 1, "exit statuses %d and %d: exactly one prep must win", ra.rc, rb.rc);
    const run_result *loser = ra.rc == 0 ? &rb : &ra;
    CHECK(loser->rc == 2 && n_lines(loser->err) == 1 &&
              (strstr(loser->err, "another avemo is writing") || strstr(loser->err, "other settings")),
          "the loser (exit %d): %s", loser->rc, loser->err);
    printf("    the loser: %s", loser->err);
    check_cache_consistent(cache, ra.rc == 0 ? 12 : 15); /* an audio-only cache: the coefficients + 2 pitch rows */
    /* a writer holding the lock (this process): prep stops at once, naming the situation */
    char lock[900];
    snprintf(lock, sizeof lock, "%s/.lock", cache);
    int fd = open(lock, O_RDWR);
    CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "lock %s", lock);
    run_result r;
    run(cmd_a, &r);
    expect("prep on a locked cache", &r, 2, "another avemo is writing", "cache");
    if (fd >= 0) close(fd);
}

static void test_model_files(void) {
    char model[700], spoiled[800], cmd[4096];
    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    snprintf(spoiled, sizeof spoiled, "%s/spoiled.safetensors", dir);
    CHECK(fix_random_audio_model(model) == 0, "model: %s", avemo_last_error());
    CHECK(fix_tone_wav(at("tone.wav"), 1, 1.0, 1) == 0, "tone");
    if (test_failed_now) return;
    avemo_model *m = (avemo_model *)model; /* anything but NULL: the call must clear it */
    CHECK(avemo_model_open(NULL, &m) == AVEMO_EINVAL && m == NULL, "avemo_model_open(NULL, &m) left m %p", (void *)m);
    const struct { const char *how, *tensor, *what, *needle; } cases[] = {
        {"nan", "classifier.bias", "NaN bias (predict)", "nan"},
        {"nan", "audio_mean", "NaN audio_mean (predict)", "nan"},
        {"shape", "classifier.bias", "[4,2] for [8] (predict)", "[4,2]"},
        {"dtype", "classifier.bias", "I32 for F32 (predict)", "float32"},
        {"class", "-", "ESC in a class name (predict)", "control character"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (sh("/usr/bin/python3 '%s' --model '%s' '%s' %s %s", script, model, spoiled, cases[i].how, cases[i].tensor))
            return;
        snprintf(cmd, sizeof cmd, "%s predict --model '%s' '%s'", avemo_bin(), spoiled, at("tone.wav"));
        run_result r;
        run(cmd, &r);
        expect(cases[i].what, &r, 2, strcmp(cases[i].tensor, "-") ? cases[i].tensor : NULL, cases[i].needle);
        CHECK(!strchr(r.err, 0x1b), "%s: an escape character reached stderr", cases[i].what);
        CHECK(strstr(r.err, "spoiled.safetensors"), "the message does not name the file: %s", r.err);
    }
}

static void test_nan_cache(void) {
    /* sample 5 holds a NaN written through the cache (its hash matches): train stops naming its file */
    const char *cache = at("nan_cache");
    CHECK(synth_audio_cache_nan(cache, 8, 1.0f, 5) == 0, "cache: %s", avemo_last_error());
    char cmd[4096], id_path[1200];
    snprintf(cmd, sizeof cmd, "%s train --data '%s' --out '%s' --modality audio --protocol actors:1/2 --epochs 1 --quiet",
             avemo_bin(), cache, at("nan_run"));
    run_result r;
    run(cmd, &r);
    feature_cache c;
    CHECK(cache_open(&c, cache) == 0, "%s", avemo_last_error());
    if (test_failed_now) return;
    cache_path(&c, 5, CACHE_AUDIO, id_path, sizeof id_path);
    cache_free(&c);
    const char *base = strrchr(id_path, '/') + 1;
    expect("NaN in a cached feature (train)", &r, 2, base, "finite");
    /* a cached file changed after prep (one value flipped to NaN in place): the hash no longer matches */
    const char *cache2 = at("nan_cache2");
    CHECK(synth_audio_cache(cache2, 8, 1.0f) == 0, "cache: %s", avemo_last_error());
    CHECK(cache_open(&c, cache2) == 0, "%s", avemo_last_error());
    if (test_failed_now) return;
    cache_path(&c, 3, CACHE_AUDIO, id_path, sizeof id_path);
    cache_free(&c);
    npy_array a;
    CHECK(npy_read(id_path, &a) == 0, "%s", avemo_last_error());
    if (test_failed_now) return;
    ((float *)a.data)[7] = NAN;
    CHECK(npy_write(id_path, a.dtype, a.ndim, a.shape, a.data) == 0, "%s", avemo_last_error());
    npy_free(&a);
    snprintf(cmd, sizeof cmd, "%s train --data '%s' --out '%s' --modality audio --protocol actors:1/2 --epochs 1 --quiet",
             avemo_bin(), cache2, at("nan_run2"));
    run(cmd, &r);
    expect("cached file changed after prep", &r, 2, strrchr(id_path, '/') + 1, "content hash");
}

/* Exit 1 (runtime: the output cannot be written) from each command writing into a missing folder. */
static void test_unwritable_outputs(void) {
    CHECK(fix_tone_wav(at("tone.wav"), 1, 1.0, 1) == 0, "tone");
    const char *still = shared_path("data/faces/ravdess-stills/Actor_05.png");
    if (!still) return;
    char cmds[4][4096];
    snprintf(cmds[0], sizeof cmds[0], "%s features --quiet --out /proc/avemo-no/o.npy '%s'", avemo_bin(), at("tone.wav"));
    snprintf(cmds[1], sizeof cmds[1], "%s faces --out /proc/avemo-no/faces '%s'", avemo_bin(), still);
    snprintf(cmds[2], sizeof cmds[2], "%s prep --dataset ravdess --input '%s' --out /proc/avemo-no/cache --modality audio",
             avemo_bin(), at("rav"));
    snprintf(cmds[3], sizeof cmds[3], "%s train --data '%s' --out /proc/avemo-no/run --modality audio "
             "--protocol actors:1/2 --epochs 1 --quiet", avemo_bin(), at("nan_cache2"));
    const char *what[4] = {"unwritable output (features)", "unwritable output (faces)", "unwritable output (prep)",
                           "unwritable output (train)"};
    for (int i = 0; i < 4; i++) {
        run_result r;
        run(cmds[i], &r);
        expect(what[i], &r, 1, "/proc/avemo-no", NULL);
    }
}

static void test_rotated_clip(void) {
    const char *still = shared_path("data/faces/ravdess-stills/Actor_05.png");
    if (!still) return;
    if (sh("ffmpeg -v error -y -loop 1 -framerate 10 -i '%s' -vf transpose=cclock,format=yuv420p -frames:v 40 "
           "-c:v libx264 '%s' && ffmpeg -v error -y -i '%s' -c copy -metadata:s:v:0 rotate=270 '%s'",
           still, at("side.mp4"), at("side.mp4"), at("rot270.mp4")))
        return;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s faces --out '%s' '%s'", avemo_bin(), at("rot_faces"), at("rot270.mp4"));
    run_result r;
    run(cmd, &r);
    expect("rotate=270 clip (faces)", &r, 0, NULL, NULL);
    unsigned char *text;
    size_t n;
    CHECK(file_read_all(at("rot_faces/rot270.json"), 1 << 22, &text, &n) == 0, "%s", avemo_last_error());
    if (test_failed_now) return;
    cJSON *j = cJSON_Parse((const char *)text);
    free(text);
    const cJSON *frames = cJSON_GetObjectItem(j, "per_frame"), *fr;
    int found = 0, upright = 0;
    cJSON_ArrayForEach(fr, frames) {
        const cJSON *st = cJSON_GetObjectItem(fr, "status"), *lm = cJSON_GetObjectItem(fr, "landmarks");
        if (!cJSON_IsString(st) || strcmp(st->valuestring, "found") || cJSON_GetArraySize(lm) != 5) continue;
        found++;
        /* landmarks: left eye, right eye, nose, mouth left, mouth right; upright: eyes side by side, above the mouth */
        double ly = cJSON_GetArrayItem(cJSON_GetArrayItem(lm, 0), 1)->valuedouble,
               ry = cJSON_GetArrayItem(cJSON_GetArrayItem(lm, 1), 1)->valuedouble,
               my = cJSON_GetArrayItem(cJSON_GetArrayItem(lm, 3), 1)->valuedouble;
        upright += fabs(ly - ry) < 10 && my - ly > 30;
    }
    printf("    rotate=270: faces in %d of %d frames, upright in %d\n", found, cJSON_GetArraySize(frames), upright);
    CHECK(found == 15 && upright == 15, "faces %d / 15, upright %d", found, upright);
    cJSON_Delete(j);
}

static void test_fifo_and_dashdash(void) {
    const char *fifo = at("pipe.mp4");
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
    char cmd[4096];
    const char *what[3] = {"FIFO (detect)", "FIFO (faces)", "FIFO (features)"};
    snprintf(cmd, sizeof cmd, "%s detect '%s'", avemo_bin(), fifo);
    for (int i = 0; i < 3; i++) {
        if (i == 1) snprintf(cmd, sizeof cmd, "%s faces --out '%s' '%s'", avemo_bin(), at("ff"), fifo);
        if (i == 2) snprintf(cmd, sizeof cmd, "%s features --quiet --out '%s' '%s'", avemo_bin(), at("o.npy"), fifo);
        run_result r;
        run(cmd, &r);
        expect(what[i], &r, 2, "pipe.mp4", "not a regular");
    }
    /* `--` ends the options: an input named like an option */
    CHECK(fix_tone_wav(at("-dash.wav"), 1, 1.0, 1) == 0, "tone");
    snprintf(cmd, sizeof cmd, "%s features --quiet --out o.npy -- -dash.wav", avemo_bin());
    run_result r;
    child_cwd = dir;
    run(cmd, &r);
    child_cwd = NULL;
    expect("-- then -dash.wav (features)", &r, 0, NULL, NULL);
}

int main(void) {
    setup();
    RUN(test_audio_bombs);
    RUN(test_image_bombs);
    RUN(test_symlinks);
    RUN(test_prep_hostile_tree);
    RUN(test_concurrent_preps);
    RUN(test_model_files);
    RUN(test_nan_cache);
    RUN(test_unwritable_outputs);
    RUN(test_rotated_clip);
    RUN(test_fifo_and_dashdash);
    return test_summary();
}
