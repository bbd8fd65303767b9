/* Tests of `avemo prep` (src/cli/cmd_prep.c, src/data/prep.c) on a handful of real RAVDESS clips from
 * ../shared plus a damaged file and a bad name: the cache holds exactly the library's features, damaged
 * clips are logged, a rerun resumes, other settings are refused, bad options exit 2 with one line. */
#include "test.h"

#include "avemo.h"
#include "data/cache.h"
#include "data/featurizer.h"
#include "data/loader.h"
#include "data/protocol.h"
#include "io/npy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const clips[6] = {
    "Actor_01/03-01-01-01-01-01-01.flac", "Actor_01/03-01-05-02-01-02-01.flac", "Actor_01/03-01-08-01-02-01-01.flac",
    "Actor_01/03-01-03-02-02-02-01.flac", "Actor_02/03-01-04-01-01-01-02.flac", "Actor_02/03-01-06-02-02-01-02.flac",
};

static char tree[512], cache[512];

static int make_tree(void) {
    snprintf(tree, sizeof tree, "%s/rav", test_tmpdir());
    snprintf(cache, sizeof cache, "%s/cache", test_tmpdir());
    char p[1024];
    mkdir(tree, 0777);
    snprintf(p, sizeof p, "%s/Actor_01", tree);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/Actor_02", tree);
    mkdir(p, 0777);
    for (int i = 0; i < 6; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "data/ravdess-speech/%s", clips[i]);
        const char *rel_src = shared_path(rel);
        if (!rel_src) return 0;
        char src[4096];
        if (!realpath(rel_src, src)) return 0; /* the link must not depend on the working directory */
        snprintf(p, sizeof p, "%s/%s", tree, clips[i]);
        CHECK(symlink(src, p) == 0, "symlink %s", p);
    }
    /* a damaged clip (a valid name, but text inside) and a bad name */
    snprintf(p, sizeof p, "%s/Actor_02/03-01-02-01-01-01-02.wav", tree);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs("this is not a wav file", f);
        fclose(f);
    }
    snprintf(p, sizeof p, "%s/Actor_02/03-01-09-01-01-01-02.wav", tree);
    f = fopen(p, "w");
    if (f) {
        fputs("x", f);
        fclose(f);
    }
    return 1;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_prep_audio(void) {
    if (!make_tree()) return;
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s prep --dataset ravdess --modality audio --input %s --out %s --jobs 2", avemo_bin(),
             tree, cache);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "1 clip failed") && strstr(out, "03-01-09-01-01-01-02.wav: emotion 09"), "messages: %s", out);
    CHECK(strstr(out, "7 samples") && strstr(out, "ready: audio 6;"), "summary: %s", out);

    char p[1024];
    snprintf(p, sizeof p, "%s/skipped.log", cache);
    const char *log = slurp(p);
    CHECK(log && strstr(log, "03-01-02-01-01-01-02.wav\taudio\t") && strstr(log, "03-01-09-01-01-01-02.wav\tscan\t"),
          "skipped.log: %s", log ? log : "(missing)");

    /* the cached array is exactly what the library computes for that file: an audio-only cache is the voice
     * recipe's by default, 10 MFCC rows and 2 pitch rows */
    snprintf(p, sizeof p, "%s/audio/03-01-05-02-01-02-01.npy", cache);
    npy_array a;
    if (npy_read(p, &a) == 0) {
        CHECK(a.dtype == NPY_F32 && a.ndim == 2 && a.shape[0] == 12 && a.shape[1] == 156, "shape [12, 156]");
        featurizer_settings fs;
        featurizer_settings_default(&fs);
        fs.modality = DATASET_NEED_AUDIO;
        fs.pitch = 1;
        featurizer f;
        float ref[12 * 156];
        int C, F;
        featurizer_audio_shape(&fs, &C, &F);
        char src[1024];
        snprintf(src, sizeof src, "%s/%s", tree, clips[1]);
        CHECK(featurizer_open(&f, &fs, NULL, NULL) == 0 && featurizer_audio_file(&f, src, ref) == 0, "%s",
              avemo_last_error());
        CHECK(C == 12 && F == 156 && !memcmp(ref, a.data, sizeof ref), "cache differs from the library");
        featurizer_close(&f);
        npy_free(&a);
    } else {
        CHECK(0, "%s", avemo_last_error());
    }

    /* resume: the 6 good clips are not redone, the damaged one is retried */
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "6 already cached, 1 processed"), "resume: %s", out);

    /* the cache reads back for training: 2 actors, audio [N, 156, 12] */
    feature_cache c;
    if (cache_open(&c, cache) == 0) {
        int idx[16], n = 0;
        for (int i = 0; i < c.ds.n; i++) idx[n++] = i;
        n = cache_filter_indices(&c, CACHE_BIT(CACHE_AUDIO), idx, n);
        cache_set s;
        CHECK(n == 6 && cache_load_set(&c, idx, n, CACHE_BIT(CACHE_AUDIO), &s) == 0, "load: %s", avemo_last_error());
        if (n == 6) {
            CHECK(s.audio_frames == 156 && s.audio_coeffs == 12 && s.actors[5] == 2, "loaded");
            cache_set_free(&s);
        }
        protocol_spec ps;
        fold_set fs;
        CHECK(protocol_parse("actors:1/", &ps) == 0 && protocol_make_folds(&ps, &c.ds, 1, &fs) == 0, "%s",
              avemo_last_error());
        if (fs.n_folds) {
            CHECK(fs.folds[0].n_test == 4 && fs.folds[0].n_train == 3, "folds on the cache");
            fold_set_free(&fs);
        }
        cache_free(&c);
    } else {
        CHECK(0, "open: %s", avemo_last_error());
    }

    /* other settings into the same cache: refused, exit 2, one line */
    snprintf(cmd, sizeof cmd, "%s prep --dataset ravdess --modality audio --features frft-mfcc --input %s --out %s",
             avemo_bin(), tree, cache);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "other settings"), "exit %d: %s", rc, out);
}

static void test_prep_frft_orders(void) {
    if (!tree[0]) return;
    char cmd[2048], out[8192], dir[600], p[1024];
    snprintf(dir, sizeof dir, "%s/cache_frft", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "%s prep --dataset ravdess --modality audio --recipe paper --features frft-mfcc --frft-orders 0.9,1.0 "
             "--input %s/Actor_01 --out %s",
             avemo_bin(), tree, dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "4 samples"), "exit %d: %s", rc, out);
    snprintf(p, sizeof p, "%s/audio/03-01-01-01-01-01-01.npy", dir);
    npy_array a;
    if (npy_read(p, &a) == 0) {
        CHECK(a.ndim == 2 && a.shape[0] == 20 && a.shape[1] == 156, "two orders stack: [20, 156]");
        npy_free(&a);
    } else {
        CHECK(0, "%s", avemo_last_error());
    }
}

/* CREMA-D layout (AudioWAV/AAAA_SSS_EEE_LL.wav); the audio is RAVDESS FLAC behind the links (FFmpeg probes
 * the content, not the extension). */
static void test_prep_cremad_audio(void) {
    if (!tree[0]) return;
    char root[600], aw[700], p[1024], src[1024], cmd[2048], out[8192], dir[600];
    snprintf(root, sizeof root, "%s/cremad", test_tmpdir());
    snprintf(aw, sizeof aw, "%s/AudioWAV", root);
    mkdir(root, 0777);
    mkdir(aw, 0777);
    const char *names[2] = {"1001_DFA_ANG_XX.wav", "1002_IEO_HAP_HI.wav"};
    for (int i = 0; i < 2; i++) {
        snprintf(src, sizeof src, "%s/%s", tree, clips[i]);
        char real[4096];
        CHECK(realpath(src, real) != NULL, "realpath %s", src);
        snprintf(p, sizeof p, "%s/%s", aw, names[i]);
        CHECK(symlink(real, p) == 0, "symlink %s", p);
    }
    snprintf(dir, sizeof dir, "%s/cache_cremad", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s prep --dataset cremad --modality audio --input %s --out %s", avemo_bin(), root, dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "2 samples") && strstr(out, "ready: audio 2;"), "exit %d: %s", rc, out);
    feature_cache c;
    if (cache_open(&c, dir) == 0) {
        CHECK(c.ds.kind == DATASET_CREMAD && c.ds.n_classes == 6 && c.ds.samples[0].actor == 1001 &&
                  c.ds.samples[0].label == 0 && c.ds.samples[1].label == 3 && c.done[1] == CACHE_BIT(CACHE_AUDIO),
              "cremad cache");
        cache_free(&c);
    } else {
        CHECK(0, "%s", avemo_last_error());
    }
}

static int one_line(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n == 1;
}

static void test_prep_bad_args(void) {
    char cmd[4096], out[4096], empty[600], o[600];
    /* inputs and outputs inside this test's own folder: never scan or write a shared /tmp */
    snprintf(empty, sizeof empty, "%s/empty", test_tmpdir());
    mkdir(empty, 0777);
    snprintf(o, sizeof o, "%s/never", test_tmpdir());
    const char *bad[] = {
        "prep --dataset ravdess --out O",
        "prep --dataset nope --input E --out O",
        "prep --dataset ravdess --modality sound --input E --out O",
        "prep --dataset ravdess --modality av --input E --out O",
        "prep --dataset imagefolder --modality audio --input E --out O",
        "prep --dataset ravdess --modality audio --frft-order 0.9 --input E --out O",
        "prep --dataset ravdess --modality audio --jobs 0 --input E --out O",
        "prep --dataset ravdess --modality audio --input E/nonexistent --out O",
        "prep --dataset ravdess --modality audio --backbone x.safetensors --input E --out O",
        "prep --dataset ravdess --modality av --speed 1.1 --input E --out O",
        "prep --dataset ravdess --modality audio --speed 3 --input E --out O",
        "prep --bogus",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char args[1024];
        size_t k = 0;
        for (const char *q = bad[i]; *q && k + 600 < sizeof args; q++) { /* E -> empty folder, O -> output */
            if ((*q == 'E' || *q == 'O') && (q[1] == 0 || q[1] == ' ' || q[1] == '/') && q[-1] == ' ')
                k += (size_t)snprintf(args + k, sizeof args - k, "%s", *q == 'E' ? empty : o);
            else
                args[k++] = *q;
        }
        args[k] = 0;
        snprintf(cmd, sizeof cmd, "%s %s", avemo_bin(), args);
        int rc = run_cmd(cmd, out, sizeof out);
        CHECK(rc == 2 && one_line(out), "'%s': exit %d, output: %s", args, rc, out);
    }
    struct stat st;
    CHECK(stat(o, &st) != 0, "a failed prep created its output folder %s", o);
    snprintf(cmd, sizeof cmd, "%s prep --help", avemo_bin());
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "--modality"), "help");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median over voiced frames of the pitch row (log2(f0 / 100 Hz)) of one cached clip, or NAN. */
static double median_voiced_pitch(const char *dir, const char *id) {
    char p[1024];
    snprintf(p, sizeof p, "%s/audio/%s.npy", dir, id);
    npy_array a;
    if (npy_read(p, &a)) return NAN;
    const float *row = (const float *)a.data + 10 * a.shape[1];
    double v[1024];
    int n = 0;
    for (long t = 0; t < a.shape[1] && n < 1024; t++)
        if (row[t] != 0) v[n++] = row[t];
    npy_free(&a);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n ? (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2])) : NAN;
}

/* --speed F: the audio played F times faster, so its pitch goes up by log2(F) octaves; recorded in the config; the
 * cache is what the library computes with the setting */
static void test_prep_speed(void) {
    if (!tree[0]) return;
    char cmd[2048], out[8192], dir[600], p[1024];
    snprintf(dir, sizeof dir, "%s/cache_speed", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s prep --dataset ravdess --modality audio --speed 1.25 --input %s/Actor_01 --out %s",
             avemo_bin(), tree, dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "4 samples"), "exit %d: %s", rc, out);
    snprintf(p, sizeof p, "%s/index.json", dir);
    const char *ix = slurp(p);
    CHECK(ix && strstr(ix, "\"speed\":\t1.25") != NULL, "speed recorded: %.300s", ix ? ix : "(none)");
    /* test_prep_audio's cache holds the same clips at speed 1. Per clip the voiced frames differ (the 3.6 s window
     * holds more of the utterance), so each median moves by 0.32 +- 0.1 octaves (measured 0.32-0.40), their mean by
     * 0.32 +- 0.06; no change, or the inverse, would be off by 0.32 or 0.64 */
    double sum = 0;
    for (int i = 0; i < 4; i++) {
        char id[64];
        snprintf(id, sizeof id, "%.20s", strchr(clips[i], '/') + 1);
        double base = median_voiced_pitch(cache, id), fast = median_voiced_pitch(dir, id);
        CHECK(fabs(fast - base - log2(1.25)) < 0.1, "%s: median pitch %.3f -> %.3f, %.3f octaves up where %.3f is "
              "expected", id, base, fast, fast - base, log2(1.25));
        sum += fast - base;
    }
    CHECK(fabs(sum / 4 - log2(1.25)) < 0.06, "mean shift %.3f octaves, %.3f expected", sum / 4, log2(1.25));
    featurizer_settings fs;
    featurizer_settings_default(&fs);
    fs.modality = DATASET_NEED_AUDIO;
    fs.pitch = 1;
    fs.speed = 1.25;
    featurizer f;
    float ref[12 * 156];
    npy_array a;
    snprintf(p, sizeof p, "%s/audio/03-01-01-01-01-01-01.npy", dir);
    char src[1024];
    snprintf(src, sizeof src, "%s/%s", tree, clips[0]);
    CHECK(featurizer_open(&f, &fs, NULL, NULL) == 0 && featurizer_audio_file(&f, src, ref) == 0 && npy_read(p, &a) == 0,
          "%s", avemo_last_error());
    CHECK(a.nbytes == sizeof ref && !memcmp(ref, a.data, sizeof ref), "cache differs from the library");
    featurizer_close(&f);
    npy_free(&a);
}

int main(void) {
    RUN(test_prep_audio);
    RUN(test_prep_speed);
    RUN(test_prep_frft_orders);
    RUN(test_prep_cremad_audio);
    RUN(test_prep_bad_args);
    return test_summary();
}
