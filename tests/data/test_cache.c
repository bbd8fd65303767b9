#include "test.h"

#include "data/cache.h"
#include "data/loader.h"
#include "io/npy.h"
#include "avemo.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define C_COEFFS 3
#define F_FRAMES 5

/* 6 samples, actors 1 and 2, as a scan would give them. */
static void make_ds(dataset *ds) {
    memset(ds, 0, sizeof *ds);
    ds->kind = DATASET_RAVDESS;
    ds->root = strdup("/data/ravdess");
    ds->n_classes = 2;
    ds->class_names[0] = strdup("neutral");
    ds->class_names[1] = strdup("calm");
    ds->n_splits = 1;
    ds->split_names = calloc(1, sizeof(char *));
    ds->split_names[0] = strdup("");
    ds->n = 6;
    ds->samples = calloc(6, sizeof *ds->samples);
    for (int i = 0; i < 6; i++) {
        char id[64], p[128];
        snprintf(id, sizeof id, "03-01-0%d-01-01-01-0%d", 1 + i % 2, 1 + i / 3);
        id[13] = (char)('0' + i); /* unique: vary the statement digit position */
        snprintf(p, sizeof p, "/data/ravdess/%s.wav", id);
        ds->samples[i].id = strdup(id);
        ds->samples[i].audio_path = strdup(p);
        ds->samples[i].label = i % 2;
        ds->samples[i].actor = 1 + i / 3;
    }
    ds->n_skipped = 1;
    ds->skipped = calloc(1, sizeof(char *));
    ds->skipped[0] = strdup("/data/ravdess/Actor_01/bad.wav: not a RAVDESS name");
}

static void fill_feat(float *x, int i) { /* [C, F]: value encodes (sample, coeff, frame) */
    for (int c = 0; c < C_COEFFS; c++)
        for (int f = 0; f < F_FRAMES; f++) x[c * F_FRAMES + f] = (float)(i * 100 + c * 10 + f);
}

static const char *cfg = "{\"features\":\"mfcc\",\"n_mfcc\":3}";

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_roundtrip_and_resume(void) {
    char dir[512], path[1024];
    snprintf(dir, sizeof dir, "%s/cache1", test_tmpdir());
    dataset ds;
    make_ds(&ds);
    feature_cache c;
    CHECK(cache_create(&c, dir, &ds, cfg) == 0, "create: %s", avemo_last_error());
    CHECK(ds.n == 0 && c.ds.n == 6, "dataset taken over");
    float x[C_COEFFS * F_FRAMES];
    for (int i = 0; i < 4; i++) {
        fill_feat(x, i);
        CHECK(cache_write_audio(&c, i, x, C_COEFFS, F_FRAMES) == 0, "write %d: %s", i, avemo_last_error());
    }
    CHECK(cache_mark_error(&c, 4, CACHE_AUDIO, "decode failed: no audio stream") == 0, "mark");
    CHECK(cache_save(&c) == 0, "save: %s", avemo_last_error());
    uint64_t h1 = c.data_hash, s0 = c.hash[0][CACHE_AUDIO];
    int done, failed;
    cache_count(&c, CACHE_AUDIO, &done, &failed);
    CHECK(done == 4 && failed == 1, "counts %d %d", done, failed);

    /* the files are plain .npy [C, F] */
    CHECK(cache_path(&c, 2, CACHE_AUDIO, path, sizeof path) == 0, "path");
    npy_array a;
    CHECK(npy_read(path, &a) == 0 && a.ndim == 2 && a.shape[0] == C_COEFFS && a.shape[1] == F_FRAMES &&
              ((float *)a.data)[F_FRAMES + 1] == 211.0f,
          "npy content");
    npy_free(&a);
    /* index.json parses and lists what it should */
    snprintf(path, sizeof path, "%s/index.json", dir);
    char *t = read_text(path);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    CHECK(j != NULL, "index.json parses");
    if (j) {
        cJSON *s = cJSON_GetObjectItem(j, "samples");
        CHECK(cJSON_GetArraySize(s) == 6, "6 records");
        cJSON *r4 = cJSON_GetArrayItem(s, 4);
        cJSON *e = cJSON_GetObjectItem(cJSON_GetObjectItem(r4, "errors"), "audio");
        CHECK(cJSON_IsString(e) && strstr(e->valuestring, "no audio stream"), "error recorded");
        CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "data_hash")), "data_hash");
        CHECK(cJSON_GetObjectItem(j, "n_audio_done")->valueint == 4, "n_audio_done");
        cJSON_Delete(j);
    }
    snprintf(path, sizeof path, "%s/skipped.log", dir);
    t = read_text(path);
    CHECK(t && strstr(t, "/data/ravdess/Actor_01/bad.wav\tscan\tnot a RAVDESS name") &&
              strstr(t, "\taudio\tdecode failed: no audio stream"),
          "skipped.log: %s", t ? t : "(missing)");
    /* sample 5 written but the process "crashes" before cache_save */
    fill_feat(x, 5);
    CHECK(cache_write_audio(&c, 5, x, C_COEFFS, F_FRAMES) == 0, "write 5");
    uint64_t s5 = c.hash[5][CACHE_AUDIO];
    cache_free(&c);

    /* resume: the 5 files on disk are done (4 hashes from the index, sample 5's recomputed); 4 is to redo */
    make_ds(&ds);
    CHECK(cache_create(&c, dir, &ds, cfg) == 0, "resume: %s", avemo_last_error());
    CHECK(c.done[0] && c.done[3] && !c.done[4] && c.done[5], "done bits %d %d %d %d", c.done[0], c.done[3], c.done[4],
          c.done[5]);
    CHECK(c.hash[0][CACHE_AUDIO] == s0 && c.hash[5][CACHE_AUDIO] == s5, "hashes carried over / recomputed");
    CHECK(c.error[4][CACHE_AUDIO] == NULL, "old failure is retried, not kept");
    CHECK(c.data_hash != h1, "data hash must change when sample 5 is added");
    fill_feat(x, 4);
    CHECK(cache_write_audio(&c, 4, x, C_COEFFS, F_FRAMES) == 0 && cache_save(&c) == 0, "finish");
    uint64_t h_full = c.data_hash;
    cache_free(&c);

    /* other settings into the same folder are refused */
    make_ds(&ds);
    CHECK(cache_create(&c, dir, &ds, "{\"features\":\"frft-mfcc\"}") == AVEMO_EINVAL, "other config accepted");
    CHECK(strstr(avemo_last_error(), "other settings") != NULL, "message: %s", avemo_last_error());
    dataset_free(&ds); /* cache_create failed after taking it over: ds is empty, this is a no-op */

    /* open for training */
    CHECK(cache_open(&c, dir) == 0, "open: %s", avemo_last_error());
    CHECK(c.ds.n == 6 && c.ds.n_classes == 2 && !strcmp(c.ds.class_names[1], "calm") && c.data_hash == h_full,
          "opened: n %d hash %d", c.ds.n, c.data_hash == h_full);
    CHECK(c.ds.samples[4].actor == 2 && c.ds.samples[4].label == 0 && c.ds.n_skipped == 1, "sample fields");
    int idx[6] = {5, 0, 2, 4, 1, 3};
    cache_set s;
    CHECK(cache_load_set(&c, idx, 6, CACHE_BIT(CACHE_AUDIO), &s) == 0, "load: %s", avemo_last_error());
    CHECK(s.audio_frames == F_FRAMES && s.audio_coeffs == C_COEFFS, "shape");
    int ok = 1;
    for (int j = 0; j < 6; j++)
        for (int f = 0; f < F_FRAMES; f++)
            for (int ci = 0; ci < C_COEFFS; ci++) /* [N, F, C] channels-last */
                ok &= s.audio[(j * F_FRAMES + f) * C_COEFFS + ci] == (float)(idx[j] * 100 + ci * 10 + f);
    CHECK(ok, "transposed content");
    CHECK(s.labels[0] == 1 && s.actors[0] == 2 && s.index[3] == 4, "labels/actors");
    cache_set_free(&s);
    /* a missing file is reported, not loaded */
    CHECK(cache_path(&c, 1, CACHE_AUDIO, path, sizeof path) == 0 && unlink(path) == 0, "unlink");
    cache_free(&c);
    CHECK(cache_open(&c, dir) == 0, "reopen");
    CHECK(!c.done[1] && c.error[1][CACHE_AUDIO] && strstr(c.error[1][CACHE_AUDIO], "missing"), "missing detected");
    CHECK(cache_load_set(&c, idx, 6, CACHE_BIT(CACHE_AUDIO), &s) == AVEMO_EINVAL, "loaded a missing sample");
    CHECK(strstr(avemo_last_error(), "missing") != NULL, "message: %s", avemo_last_error());
    CHECK(cache_filter_indices(&c, CACHE_BIT(CACHE_AUDIO), idx, 6) == 5 && idx[4] == 3, "filter");
    CHECK(cache_filter_indices(&c, CACHE_BIT(CACHE_AUDIO) | CACHE_BIT(CACHE_FEATS), idx, 5) == 0, "filter feats");
    cache_free(&c);
}

static void test_faces_feats(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/cache2", test_tmpdir());
    dataset ds;
    make_ds(&ds);
    feature_cache c;
    CHECK(cache_create(&c, dir, &ds, "{}") == 0, "create: %s", avemo_last_error());
    uint8_t faces[2 * 4 * 4];
    for (int k = 0; k < 32; k++) faces[k] = (uint8_t)(k * 7);
    CHECK(cache_write_faces(&c, 0, faces, 2, 4, 4, 1) == 0, "faces: %s", avemo_last_error());
    float feats[3 * 8];
    for (int i = 0; i < 2; i++) {
        for (int k = 0; k < 24; k++) feats[k] = (float)(i * 1000 + k);
        CHECK(cache_write_feats(&c, i, feats, 3, 8) == 0, "feats");
    }
    uint8_t *back;
    int T, H, W, ch;
    CHECK(cache_load_faces(&c, 0, &back, &T, &H, &W, &ch) == 0 && T == 2 && H == 4 && W == 4 && ch == 1 &&
              !memcmp(back, faces, 32),
          "faces roundtrip");
    free(back);
    int idx[2] = {1, 0};
    cache_set s;
    CHECK(cache_load_set(&c, idx, 2, CACHE_BIT(CACHE_FEATS), &s) == 0 && s.video_frames == 3 && s.video_dim == 8 &&
              s.video[0] == 1000 && s.video[24 + 23] == 23 && !s.audio,
          "feats load: %s", avemo_last_error());
    cache_set_free(&s);
    cache_free(&c);
}

static void test_standardize(void) {
    /* x [4 rows, 2 cols]: col 0 = 1 3 5 7 (mean 4, population std sqrt(5)); col 1 constant 10 (std -> 1) */
    float x[8] = {1, 10, 3, 10, 5, 10, 7, 10}, mean[2], std[2];
    feature_stats(x, 4, 2, mean, std);
    CHECK(fabsf(mean[0] - 4) < 1e-6f && fabsf(std[0] - sqrtf(5)) < 1e-6f, "col 0: %g %g", mean[0], std[0]);
    CHECK(mean[1] == 10 && std[1] == 1, "constant column: %g %g", mean[1], std[1]);
    feature_standardize(x, 4, 2, mean, std);
    CHECK(fabsf(x[0] + 3 / sqrtf(5)) < 1e-6f && x[1] == 0 && fabsf(x[6] - 3 / sqrtf(5)) < 1e-6f, "standardized");
    /* many rows around -300 (MFCC c0): mean and std still accurate (double accumulation, two passes) */
    enum { R = 100000 };
    float *y = malloc(R * sizeof *y), m, sd;
    for (int r = 0; r < R; r++) y[r] = -300.0f + (r % 2 ? 0.5f : -0.5f);
    feature_stats(y, R, 1, &m, &sd);
    CHECK(fabsf(m + 300) < 1e-4f && fabsf(sd - 0.5f) < 1e-5f, "big offset: %g %g", m, sd);
    free(y);
}

static void test_fnv(void) {
    /* reference values of 64-bit FNV-1a (draft-eastlake-fnv test vectors) */
    CHECK(fnv1a64(FNV1A64_INIT, "", 0) == 0xcbf29ce484222325ULL, "empty");
    CHECK(fnv1a64(FNV1A64_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL, "a");
    CHECK(fnv1a64(FNV1A64_INIT, "foobar", 6) == 0x85944171f73967e8ULL, "foobar");
}

/* Hostile or damaged index.json files fail with a clear error, never a crash. The first one (a version
 * other than ours) was found by tests/fuzz/fuzz_cache_index.c: the error message read the version from the
 * already freed JSON tree (heap use after free under ASan). */
static void test_hostile_index(void) {
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/hostile", test_tmpdir());
    snprintf(path, sizeof path, "%s/index.json", dir);
    CHECK(system(NULL) != 0, "no shell");
    char mk[700];
    snprintf(mk, sizeof mk, "mkdir -p '%s'", dir);
    CHECK(system(mk) == 0, "mkdir");
    const char *bad[] = {
        "{\"format\": \"avemo-cache\", \"version\": 2, \"dataset\": \"ravdess\"}",
        "{\"format\": \"avemo-cache\", \"version\": 1e300}",
        "{\"format\": \"avemo-cache\", \"version\": 1, \"dataset\": \"ravdess\", \"classes\": [\"a\",\"b\"], "
        "\"config\": {}, \"samples\": [{\"id\": \"x\", \"label\": 7}]}",
        "{\"format\": \"avemo-cache\", \"version\": 1, \"dataset\": \"ravdess\", \"classes\": [\"a\",\"b\"], "
        "\"config\": {}, \"samples\": [{\"id\": \"../../etc\", \"label\": 0}]}",
        "{\"format\": \"avemo-cache\", \"version\": 1, \"dataset\": \"ravdess\", \"classes\": [], "
        "\"config\": {}, \"samples\": []}",
        "{\"format\": \"avemo-cache\", \"version\": 1, \"dataset\": \"ravdess\", \"classes\": [\"a\"",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        FILE *f = fopen(path, "wb");
        fputs(bad[i], f);
        fclose(f);
        feature_cache c;
        int rc = cache_open(&c, dir);
        CHECK(rc == AVEMO_EFORMAT && strstr(avemo_last_error(), "index.json"),
              "bad index %zu: rc %d, error '%s'", i, rc, avemo_last_error());
        if (!rc) cache_free(&c);
    }
}

/* cache_join: the audio-only cache's samples get the video cache's features of the same id (samples 2..5
 * of the video cache are samples 2..5 of the audio one; its sample 3 has no features); the joined cache
 * opens, reads both kinds through its links, and has both settings; a rerun re-points the links; a
 * folder in a link's place, or two caches without a common sample, are refused. */
static void test_join(void) {
    char audio_dir[512], video_dir[512], out[512], path[1024];
    snprintf(audio_dir, sizeof audio_dir, "%s/join_audio", test_tmpdir());
    snprintf(video_dir, sizeof video_dir, "%s/join_video", test_tmpdir());
    snprintf(out, sizeof out, "%s/join_out", test_tmpdir());
    dataset ds;
    make_ds(&ds);
    feature_cache c;
    CHECK(cache_create(&c, audio_dir, &ds, "{\"audio\":{\"features\":\"frft-mfcc\"},\"modality\":\"audio\"}") == 0,
          "create: %s", avemo_last_error());
    float x[C_COEFFS * F_FRAMES], v[2 * 4];
    for (int i = 0; i < 6; i++) {
        fill_feat(x, i);
        CHECK(cache_write_audio(&c, i, x, C_COEFFS, F_FRAMES) == 0, "write: %s", avemo_last_error());
    }
    char ids[6][64];
    for (int i = 0; i < 6; i++) snprintf(ids[i], sizeof ids[i], "%s", c.ds.samples[i].id);
    CHECK(cache_save(&c) == 0, "save: %s", avemo_last_error());
    cache_free(&c);
    /* the video cache: samples 2..5 and one of its own, video paths set */
    make_ds(&ds);
    free(ds.samples[0].id);
    ds.samples[0].id = strdup("only-in-video");
    free(ds.samples[1].id);
    ds.samples[1].id = strdup("also-only-in-video");
    for (int i = 0; i < 6; i++) {
        char vp[128];
        snprintf(vp, sizeof vp, "/data/video/%d.mp4", i);
        ds.samples[i].video_path = strdup(vp);
    }
    CHECK(cache_create(&c, video_dir, &ds, "{\"audio\":{\"features\":\"mfcc\"},\"video\":{\"frames\":2}}") == 0,
          "create: %s", avemo_last_error());
    for (int i = 0; i < 6; i++) {
        for (int k = 0; k < 8; k++) v[k] = (float)(i * 10 + k);
        if (i != 3) CHECK(cache_write_feats(&c, i, v, 2, 4) == 0, "feats: %s", avemo_last_error());
    }
    CHECK(cache_save(&c) == 0, "save: %s", avemo_last_error());
    cache_free(&c);

    int n_joined = -1;
    CHECK(cache_join(audio_dir, video_dir, out, &n_joined) == 0 && n_joined == 3, "join: %d %s", n_joined,
          avemo_last_error());
    CHECK(cache_open(&c, out) == 0, "open joined: %s", avemo_last_error());
    int done_a, done_v, failed;
    cache_count(&c, CACHE_AUDIO, &done_a, &failed);
    cache_count(&c, CACHE_FEATS, &done_v, &failed);
    CHECK(c.ds.n == 6 && done_a == 6 && done_v == 3, "joined: %d samples, audio %d video %d", c.ds.n, done_a, done_v);
    for (int i = 0; i < 6; i++) {
        int want = i == 2 || i == 4 || i == 5;
        CHECK(!strcmp(c.ds.samples[i].id, ids[i]) && ((c.done[i] >> CACHE_FEATS) & 1) == want, "sample %d", i);
        if (want) {
            char vp[128];
            snprintf(vp, sizeof vp, "/data/video/%d.mp4", i);
            CHECK(c.ds.samples[i].video_path && !strcmp(c.ds.samples[i].video_path, vp), "video path %d", i);
        }
    }
    CHECK(strstr(c.config_json, "\"frft-mfcc\"") && strstr(c.config_json, "\"video\":{\"frames\":2}") &&
              strstr(c.config_json, "\"modality\":\"av\"") && strstr(c.config_json, "\"joined_from\""),
          "joined config %s", c.config_json);
    int idx[2] = {4, 0};
    cache_set s;
    CHECK(cache_load_set(&c, idx, 1, CACHE_BIT(CACHE_AUDIO) | CACHE_BIT(CACHE_FEATS), &s) == 0 && s.n == 1 &&
              s.audio[0] == 400 && s.video[0] == 40,
          "load through the links: %s", avemo_last_error());
    cache_set_free(&s);
    cache_free(&c);

    CHECK(cache_join(audio_dir, video_dir, out, &n_joined) == 0 && n_joined == 3, "rerun: %s", avemo_last_error());
    snprintf(path, sizeof path, "%s/feats", out);
    CHECK(unlink(path) == 0 && mkdir(path, 0777) == 0, "replace the link");
    CHECK(cache_join(audio_dir, video_dir, out, &n_joined) == AVEMO_EINVAL && strstr(avemo_last_error(), "not a link"),
          "a folder in the link's place: %s", avemo_last_error());
    CHECK(cache_join(audio_dir, audio_dir, out, &n_joined) == AVEMO_EINVAL &&
              strstr(avemo_last_error(), "share no sample"),
          "no common sample: %s", avemo_last_error());
    snprintf(path, sizeof path, "%s/nowhere", test_tmpdir());
    CHECK(cache_join(audio_dir, path, out, &n_joined) != 0 && strstr(avemo_last_error(), "nowhere"), "missing: %s",
          avemo_last_error());
}

int main(void) {
    RUN(test_hostile_index);
    RUN(test_fnv);
    RUN(test_roundtrip_and_resume);
    RUN(test_faces_feats);
    RUN(test_standardize);
    RUN(test_join);
    return test_summary();
}
