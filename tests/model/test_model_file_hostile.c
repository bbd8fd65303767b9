/* Model files from hostile sources: the config in the metadata is checked against the tensors the file
 * actually holds before the model it describes is allocated (model_config_n_values). */
#include "test.h"

#include "avemo.h"
#include "io/safetensors.h"
#include "model/model_file.h"

#include <stdlib.h>
#include <string.h>

static void small_config(model_config *c) {
    model_config_default(c, 4);
    c->modality = MODALITY_AUDIO;
    c->audio_frames = 32;
    c->audio_ch = 8;
    c->fusion_ch = 8;
    c->mlp_hidden = 8;
}

static void test_roundtrip(void) {
    model_file mf, back;
    memset(&mf, 0, sizeof mf);
    model_config c;
    small_config(&c);
    CHECK(model_create(&mf.m, &c, 3) == 0, "create: %s", avemo_last_error());
    if (test_failed_now) return;
    const char *names[4] = {"neutral", "happy", "sad", "angry"};
    for (int i = 0; i < 4; i++) mf.class_names[i] = strdup(names[i]);
    mf.n_classes = 4;
    mf.audio_mean = calloc((size_t)c.audio_channels, sizeof(float));
    mf.audio_std = calloc((size_t)c.audio_channels, sizeof(float));
    for (int i = 0; i < c.audio_channels; i++) mf.audio_std[i] = 1.0f + (float)i;
    char path[600];
    snprintf(path, sizeof path, "%s/m.safetensors", test_tmpdir());
    CHECK(model_file_save(path, &mf) == 0, "save: %s", avemo_last_error());
    CHECK(model_file_load(path, &back) == 0, "load: %s", avemo_last_error());
    if (!test_failed_now) {
        int64_t n;
        CHECK(model_config_n_values(&c, &n) == 0 && n == back.m->n_params + back.m->n_buffers,
              "model_config_n_values %lld vs %ld + %ld", (long long)n, back.m->n_params, back.m->n_buffers);
        CHECK(back.n_classes == 4 && !strcmp(back.class_names[3], "angry") && back.audio_std[2] == 3.0f, "content");
        for (int i = 0; i < model_n_tensors(mf.m); i++)
            CHECK(!memcmp(model_tensor_data(mf.m, i), model_tensor_data(back.m, i),
                          (size_t)model_tensor(mf.m, i)->count * sizeof(float)), "tensor %s differs",
                  model_tensor(mf.m, i)->name);
        model_file_free(&back);
    }
    model_file_free(&mf);
}

/* A 1 KB file whose config asks for widths of 2^20: the model it describes has ~10^12 values. The loader
 * used to allocate (and initialise) it before finding the tensors missing; now it compares the count with
 * what the file holds first and fails with AVEMO_EFORMAT. */
static void test_hostile_config(void) {
    char path[600];
    snprintf(path, sizeof path, "%s/hostile.safetensors", test_tmpdir());
    st_writer *w = st_writer_new();
    float x[4] = {0};
    int64_t shape[1] = {4};
    CHECK(st_writer_add(w, "x", ST_F32, 1, shape, x) == 0, "add");
    st_writer_meta(w, "format", "avemo-model");
    st_writer_meta(w, "config", "{\"modality\":\"audio\",\"n_classes\":4,\"audio_channels\":1048576,"
                                "\"audio_ch\":1048576,\"fusion_ch\":1048576,\"mlp_hidden\":1048576}");
    st_writer_meta(w, "classes", "[\"a\",\"b\",\"c\",\"d\"]");
    CHECK(st_writer_write(w, path) == 0, "write: %s", avemo_last_error());
    st_writer_free(w);
    model_file mf;
    int rc = model_file_load(path, &mf);
    CHECK(rc == AVEMO_EFORMAT && strstr(avemo_last_error(), "holds"), "hostile config: rc %d (%s)", rc,
          avemo_last_error());
    if (!rc) model_file_free(&mf);
}

int main(void) {
    RUN(test_roundtrip);
    RUN(test_hostile_config);
    return test_summary();
}
