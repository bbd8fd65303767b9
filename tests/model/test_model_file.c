/* Tests for src/model/model_file.c, the head's checkpoint: bit-exact round trip of every parameter, BN
 * statistic, feature statistic and metadata; damaged files fail with a clear error and no leak. */
#include "test.h"

#include "avemo.h"
#include "core/fileio.h"
#include "model/model_file.h"

#include <stdlib.h>
#include <string.h>

static model_config small_cfg(model_fusion f) {
    model_config c;
    model_config_default(&c, 3);
    c.fusion = f;
    c.video_dim = 12, c.video_frames = 5, c.video_ch1 = 4, c.video_ch2 = 6;
    c.audio_channels = 3, c.audio_frames = 40, c.audio_ch = 5, c.fusion_ch = 6, c.fusion_blocks = 2;
    return c;
}

/* A model whose BN running statistics moved away from 0 / 1 (one train-mode step). */
static model *trained_model(const model_config *cfg, float **video, float **audio) {
    model *m = NULL;
    CHECK(model_create(&m, cfg, 5) == 0, "create: %s", avemo_last_error());
    if (!m) return NULL;
    long nv = 4L * cfg->video_frames * cfg->video_dim, na = 4L * cfg->audio_frames * cfg->audio_channels;
    *video = malloc((size_t)nv * sizeof(float)), *audio = malloc((size_t)na * sizeof(float));
    fill_uniform_f(*video, nv, 1, -1, 1);
    fill_uniform_f(*audio, na, 2, -1, 1);
    int labels[4] = {0, 1, 2, 1};
    rng_t r;
    rng_seed(&r, 3);
    CHECK(model_forward(m, *video, *audio, labels, 4, 1, &r) == 0, "forward: %s", avemo_last_error());
    return m;
}

static int save_small(const char *path, model *m) {
    static char n0[] = "angry", n1[] = "calm", n2[] = "neutral";
    float am[3] = {0.5f, -1.25f, 3e-8f}, as[3] = {1, 2, 0.1f}, vm[12], vs[12];
    fill_uniform_f(vm, 12, 7, -1, 1);
    fill_uniform_f(vs, 12, 8, 0.5f, 2);
    model_file mf = {.m = m, .n_classes = 3, .class_names = {n0, n1, n2}, .audio_mean = am, .audio_std = as,
                     .video_mean = vm, .video_std = vs, .dataset = "ravdess", .protocol = "actors:1-4/5-8",
                     .selected = "best val top-1", .fold = 2};
    return model_file_save(path, &mf);
}

static void test_roundtrip_bit_exact(void) {
    const model_fusion fusions[] = {FUSION_ATTENTION, FUSION_IT, FUSION_LATE};
    for (int k = 0; k < 3; k++) {
        model_config cfg = small_cfg(fusions[k]);
        float *video = NULL, *audio = NULL;
        model *m = trained_model(&cfg, &video, &audio);
        if (!m) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/m%d.safetensors", test_tmpdir(), k);
        CHECK(save_small(path, m) == 0, "save: %s", avemo_last_error());
        model_file mf;
        CHECK(model_file_load(path, &mf) == 0, "load: %s", avemo_last_error());
        if (mf.m) {
            model *l = mf.m;
            CHECK(l->n_params == m->n_params && l->n_buffers == m->n_buffers, "sizes differ");
            CHECK(!memcmp(l->param_mem, m->param_mem, (size_t)m->n_params * sizeof(float)), "parameters differ");
            CHECK(!memcmp(l->buffer_mem, m->buffer_mem, (size_t)m->n_buffers * sizeof(float)), "BN statistics differ");
            char *a = model_config_to_json(&m->cfg), *b = model_config_to_json(&l->cfg);
            CHECK(a && b && !strcmp(a, b), "config differs: %s vs %s", a, b);
            free(a), free(b);
            CHECK(mf.n_classes == 3 && !strcmp(mf.class_names[2], "neutral"), "class names");
            CHECK(mf.audio_mean && mf.audio_mean[2] == 3e-8f && mf.audio_std[1] == 2.0f, "audio statistics");
            CHECK(mf.video_mean && mf.video_std, "video statistics");
            CHECK(mf.fold == 2 && mf.protocol && !strcmp(mf.protocol, "actors:1-4/5-8"), "metadata");
            /* same eval-mode logits, bit for bit */
            CHECK(model_forward(m, video, audio, NULL, 4, 0, NULL) == 0 && model_forward(l, video, audio, NULL, 4, 0, NULL) == 0,
                  "eval forward");
            CHECK(!memcmp(m->acts.logits, l->acts.logits, 4 * 3 * sizeof(float)), "logits differ after reload");
        }
        model_file_free(&mf);
        model_free(m);
        free(video), free(audio);
    }
}

static unsigned char *slurp(const char *path, size_t *size) {
    unsigned char *buf = NULL;
    CHECK(file_read_all(path, 1 << 26, &buf, size) == 0, "read %s", path);
    return buf;
}

static int load_bytes(const char *dir, const char *name, const unsigned char *buf, size_t size) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK(atomic_write(path, buf, size) == 0, "write %s", path);
    model_file mf;
    int rc = model_file_load(path, &mf);
    if (rc == 0) model_file_free(&mf);
    else CHECK(strstr(avemo_last_error(), name) != NULL, "error does not name the file: %s", avemo_last_error());
    return rc;
}

/* Replace the first occurrence of `from` by `to` (same length) in buf. */
static int patch(unsigned char *buf, size_t size, const char *from, const char *to) {
    size_t n = strlen(from);
    for (size_t i = 0; i + n <= size; i++)
        if (!memcmp(buf + i, from, n)) {
            memcpy(buf + i, to, n);
            return 1;
        }
    return 0;
}

static void test_damaged_files_fail(void) {
    model_config cfg = small_cfg(FUSION_ATTENTION);
    float *video = NULL, *audio = NULL;
    model *m = trained_model(&cfg, &video, &audio);
    if (!m) return;
    const char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/good.safetensors", dir);
    CHECK(save_small(path, m) == 0, "save: %s", avemo_last_error());
    size_t size = 0;
    unsigned char *good = slurp(path, &size), *buf = malloc(size);
    if (!good || !buf) return;
    CHECK(load_bytes(dir, "same.safetensors", good, size) == 0, "intact copy rejected: %s", avemo_last_error());
    /* truncated anywhere: header, mid-tensor, last byte */
    const size_t cuts[] = {0, 4, 8, 100, size / 3, size / 2, size - 1};
    for (int i = 0; i < 7; i++)
        CHECK(load_bytes(dir, "cut.safetensors", good, cuts[i]) != 0, "file cut to %zu of %zu bytes accepted", cuts[i], size);
    /* header length pointing past the end */
    memcpy(buf, good, size);
    buf[5] = 0x7f;
    CHECK(load_bytes(dir, "hlen.safetensors", buf, size) != 0, "huge header length accepted");
    /* a tensor renamed: the config expects it */
    memcpy(buf, good, size);
    CHECK(patch(buf, size, "fusion.gate.weight", "fusion.gate.WEIGHT"), "name not found");
    CHECK(load_bytes(dir, "renamed.safetensors", buf, size) == AVEMO_EFORMAT, "missing tensor accepted");
    /* config and tensors disagree (wider fusion channels) */
    memcpy(buf, good, size);
    CHECK(patch(buf, size, "\\\"fusion_ch\\\":6", "\\\"fusion_ch\\\":7"), "config key not found");
    CHECK(load_bytes(dir, "config.safetensors", buf, size) != 0, "config/tensor mismatch accepted");
    /* not JSON at all in the config */
    memcpy(buf, good, size);
    CHECK(patch(buf, size, "\\\"modality\\\"", "\\\"modality}\\\""), "config not found");
    CHECK(load_bytes(dir, "badjson.safetensors", buf, size) != 0, "broken config accepted");
    /* an offset out of range */
    memcpy(buf, good, size);
    CHECK(patch(buf, size, "\"data_offsets\":[0,", "\"data_offsets\":[9,"), "offsets not found");
    CHECK(load_bytes(dir, "offsets.safetensors", buf, size) != 0, "bad offsets accepted");
    /* a missing file */
    model_file mf;
    snprintf(path, sizeof path, "%s/absent.safetensors", dir);
    CHECK(model_file_load(path, &mf) == AVEMO_EIO, "absent file: %s", avemo_last_error());
    free(good), free(buf), free(video), free(audio);
    model_free(m);
}

/* Version 2: a seed ensemble of 3 members (different weights) and the speaker_norm flag survive a round trip,
 * member by member; member 0 sits under the plain names (what a version-1 reader loads); a later version and a
 * members count the tensors do not back are refused. */
static void test_ensemble_roundtrip(void) {
    model_config cfg = small_cfg(FUSION_LATE);
    model *members[3] = {NULL, NULL, NULL};
    for (int j = 0; j < 3; j++) CHECK(model_create(&members[j], &cfg, 11 + j) == 0, "create: %s", avemo_last_error());
    if (!members[0] || !members[1] || !members[2]) return;
    static char n0[] = "angry", n1[] = "calm", n2[] = "neutral";
    float am[3] = {0.5f, -1.25f, 3e-8f}, as[3] = {1, 2, 0.1f}, vm[12], vs[12];
    fill_uniform_f(vm, 12, 7, -1, 1);
    fill_uniform_f(vs, 12, 8, 0.5f, 2);
    model_file mf = {.m = members[0], .n_members = 3, .members = {members[0], members[1], members[2]},
                     .speaker_norm = 1, .n_classes = 3, .class_names = {n0, n1, n2}, .audio_mean = am,
                     .audio_std = as, .video_mean = vm, .video_std = vs};
    char path[512];
    snprintf(path, sizeof path, "%s/ensemble.safetensors", test_tmpdir());
    CHECK(model_file_save(path, &mf) == 0, "save: %s", avemo_last_error());
    model_file back;
    CHECK(model_file_load(path, &back) == 0, "load: %s", avemo_last_error());
    CHECK(back.n_members == 3 && back.speaker_norm == 1 && back.m == back.members[0], "members %d, speaker_norm %d",
          back.n_members, back.speaker_norm);
    for (int j = 0; j < 3 && back.n_members == 3; j++)
        CHECK(!memcmp(back.members[j]->param_mem, members[j]->param_mem, (size_t)members[j]->n_params * sizeof(float)),
              "member %d's parameters differ", j);
    CHECK(back.n_members != 3 || memcmp(back.members[1]->param_mem, back.members[2]->param_mem,
                                        (size_t)members[1]->n_params * sizeof(float)),
          "members 2 and 3 are the same model");
    model_file_free(&back);
    /* a plain file has one member and no speaker_norm */
    model_file one = mf;
    one.n_members = 1, one.speaker_norm = 0;
    CHECK(model_file_save(path, &one) == 0 && model_file_load(path, &back) == 0, "single: %s", avemo_last_error());
    CHECK(back.n_members == 1 && !back.speaker_norm, "single model read as %d members", back.n_members);
    model_file_free(&back);
    /* a newer format version, and more members than the tensors hold */
    size_t size = 0;
    CHECK(model_file_save(path, &mf) == 0, "save: %s", avemo_last_error());
    unsigned char *good = slurp(path, &size), *buf = malloc(size);
    if (good && buf) {
        memcpy(buf, good, size);
        CHECK(patch(buf, size, "\"format_version\":\"2\"", "\"format_version\":\"9\""), "version not found");
        CHECK(load_bytes(test_tmpdir(), "v9.safetensors", buf, size) == AVEMO_EFORMAT &&
                  strstr(avemo_last_error(), "version 9"),
              "a version-9 file: %s", avemo_last_error());
        memcpy(buf, good, size);
        CHECK(patch(buf, size, "\"members\":\"3\"", "\"members\":\"4\""), "members not found");
        CHECK(load_bytes(test_tmpdir(), "m4.safetensors", buf, size) == AVEMO_EFORMAT, "4 members of 3 accepted");
    }
    free(good), free(buf);
    for (int j = 0; j < 3; j++) model_free(members[j]);
}

int main(void) {
    nn_set_threads(1); /* tiny layers */
    RUN(test_roundtrip_bit_exact);
    RUN(test_damaged_files_fail);
    RUN(test_ensemble_roundtrip);
    return test_summary();
}
