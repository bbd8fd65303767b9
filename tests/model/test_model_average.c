/* Tests for src/model/model_average.c: the weight average of two model files is the mean of every tensor (head,
 * BN statistics, feature statistics, fine-tuned backbone) within float rounding; a model averaged with itself
 * is bit-identical; models that disagree (config, classes, ensembles) are refused naming the file. */
#include "test.h"

#include "avemo.h"
#include "model/model_average.h"
#include "model/model_file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static model_config small_cfg(void) {
    model_config c;
    model_config_default(&c, 3);
    c.modality = MODALITY_VIDEO;
    c.video_dim = MNV2_FEATURES, c.video_frames = 1, c.video_ch1 = 4, c.video_ch2 = 6;
    return c;
}

/* A model file at `path`: a head with random parameters and BN statistics, feature statistics and (backbone = 1)
 * a random fine-tuned MobileNetV2, all drawn from `seed`; n_members > 1 saves a seed ensemble instead. */
static int save_random(const char *path, const model_config *cfg, uint64_t seed, int backbone, int n_members,
                       const char *last_class) {
    static char n0[] = "angry", n1[] = "happy";
    model *ms[2] = {NULL, NULL};
    mobilenetv2 net = {0};
    float vm[MNV2_FEATURES], vs[MNV2_FEATURES];
    int rc = 0;
    for (int j = 0; j < n_members && !rc; j++) {
        rc = model_create(&ms[j], cfg, seed + (uint64_t)j);
        for (int i = 0; !rc && i < model_n_tensors(ms[j]); i++)
            fill_uniform_f(model_tensor_data(ms[j], i), model_tensor(ms[j], i)->count, seed * 100 + (uint64_t)i,
                           0.5f, 1.5f); /* positive: valid BN variances */
    }
    fill_uniform_f(vm, MNV2_FEATURES, seed + 7, -1, 1);
    fill_uniform_f(vs, MNV2_FEATURES, seed + 8, 0.5f, 2);
    if (!rc && backbone && !(rc = mobilenetv2_init(&net, 1, 0))) {
        fill_uniform_f(net.params, net.n_params, seed + 9, -1, 1);
        fill_uniform_f(net.buffers, net.n_buffers, seed + 10, 0.5f, 1.5f);
        net.num_batches_tracked = (int64_t)seed;
    }
    model_file mf = {.m = ms[0], .n_members = n_members, .members = {ms[0], ms[1]}, .n_classes = 3,
                     .class_names = {n0, n1, (char *)last_class}, .video_mean = vm, .video_std = vs,
                     .backbone = backbone ? &net : NULL, .input_size = 32, .temperature = 0.8f,
                     .calibration = "a fit", .selected = "best val top-1"};
    if (!rc) rc = model_file_save(path, &mf);
    for (int j = 0; j < 2; j++)
        if (ms[j]) model_free(ms[j]);
    if (backbone) mobilenetv2_free(&net);
    return rc;
}

static void path_of(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", test_tmpdir(), name); }

/* a[i] == (b[i] + c[i]) / 2 within float rounding, for n values */
static double worst_mean_error(const float *a, const float *b, const float *c, long n) {
    double worst = 0;
    for (long i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - 0.5 * ((double)b[i] + c[i])) / (1 + fabs(a[i])));
    return worst;
}

static void test_mean_of_every_tensor(void) {
    model_config cfg = small_cfg();
    char pa[512], pb[512];
    path_of(pa, sizeof pa, "a.safetensors");
    path_of(pb, sizeof pb, "b.safetensors");
    CHECK(save_random(pa, &cfg, 1, 1, 1, "sad") == 0 && save_random(pb, &cfg, 2, 1, 1, "sad") == 0, "save: %s",
          avemo_last_error());
    model_file mf[2], ref[2];
    const char *paths[2] = {pa, pb};
    CHECK(model_file_load(pa, &mf[0]) == 0 && model_file_load(pb, &mf[1]) == 0, "load: %s", avemo_last_error());
    CHECK(model_file_load(pa, &ref[0]) == 0 && model_file_load(pb, &ref[1]) == 0, "load: %s", avemo_last_error());
    CHECK(model_average(mf, paths, 2) == 0, "average: %s", avemo_last_error());
    double worst = 0;
    for (int i = 0; i < model_n_tensors(mf[0].m); i++)
        worst = fmax(worst, worst_mean_error(model_tensor_data(mf[0].m, i), model_tensor_data(ref[0].m, i),
                                             model_tensor_data(ref[1].m, i), model_tensor(mf[0].m, i)->count));
    worst = fmax(worst, worst_mean_error(mf[0].video_mean, ref[0].video_mean, ref[1].video_mean, MNV2_FEATURES));
    worst = fmax(worst, worst_mean_error(mf[0].video_std, ref[0].video_std, ref[1].video_std, MNV2_FEATURES));
    worst = fmax(worst, worst_mean_error(mf[0].backbone->params, ref[0].backbone->params, ref[1].backbone->params,
                                         mf[0].backbone->n_params));
    worst = fmax(worst, worst_mean_error(mf[0].backbone->buffers, ref[0].backbone->buffers, ref[1].backbone->buffers,
                                         mf[0].backbone->n_buffers));
    CHECK(worst < 2e-7, "the average is not the mean of the tensors: worst relative error %.3g (tolerance 2e-7)", worst);
    CHECK(mf[0].temperature == 1.0f && !mf[0].calibration, "the temperature was not reset (%g)", mf[0].temperature);
    CHECK(mf[0].backbone->num_batches_tracked == 2, "num_batches_tracked %lld, want the largest (2)",
          (long long)mf[0].backbone->num_batches_tracked);
    for (int j = 0; j < 2; j++) model_file_free(&mf[j]), model_file_free(&ref[j]);
}

static void test_self_average_is_identity(void) {
    model_config cfg = small_cfg();
    char pa[512];
    path_of(pa, sizeof pa, "a.safetensors");
    CHECK(save_random(pa, &cfg, 3, 1, 1, "sad") == 0, "save: %s", avemo_last_error());
    model_file mf[3], ref;
    const char *paths[3] = {pa, pa, pa};
    for (int j = 0; j < 3; j++) CHECK(model_file_load(pa, &mf[j]) == 0, "load: %s", avemo_last_error());
    CHECK(model_file_load(pa, &ref) == 0, "load: %s", avemo_last_error());
    CHECK(model_average(mf, paths, 3) == 0, "average: %s", avemo_last_error());
    double worst = 0;
    for (int i = 0; i < model_n_tensors(mf[0].m); i++)
        worst = fmax(worst, worst_mean_error(model_tensor_data(mf[0].m, i), model_tensor_data(ref.m, i),
                                             model_tensor_data(ref.m, i), model_tensor(ref.m, i)->count));
    CHECK(worst < 2e-7, "three copies of one model do not average to it: %.3g", worst);
    for (int j = 0; j < 3; j++) model_file_free(&mf[j]);
    model_file_free(&ref);
}

/* The models b disagrees with a: average refused with AVEMO_EINVAL, the message naming b and `what`. */
static void expect_refused(const char *pb, const char *what) {
    char pa[512];
    path_of(pa, sizeof pa, "a.safetensors");
    model_file mf[2];
    const char *paths[2] = {pa, pb};
    CHECK(model_file_load(pa, &mf[0]) == 0 && model_file_load(pb, &mf[1]) == 0, "load: %s", avemo_last_error());
    int rc = model_average(mf, paths, 2);
    CHECK(rc == AVEMO_EINVAL && strstr(avemo_last_error(), pb) && strstr(avemo_last_error(), what),
          "rc %d, message '%s' (want EINVAL naming %s and '%s')", rc, avemo_last_error(), pb, what);
    for (int j = 0; j < 2; j++) model_file_free(&mf[j]);
}

static void test_refusals(void) {
    model_config cfg = small_cfg(), other = small_cfg();
    other.video_ch2 = 8;
    char pa[512], pb[512];
    path_of(pa, sizeof pa, "a.safetensors");
    path_of(pb, sizeof pb, "b.safetensors");
    CHECK(save_random(pa, &cfg, 1, 0, 1, "sad") == 0, "save: %s", avemo_last_error());
    CHECK(save_random(pb, &other, 2, 0, 1, "sad") == 0, "save: %s", avemo_last_error());
    expect_refused(pb, "config");
    CHECK(save_random(pb, &cfg, 2, 0, 1, "fear") == 0, "save: %s", avemo_last_error());
    expect_refused(pb, "class names");
    CHECK(save_random(pb, &cfg, 2, 1, 1, "sad") == 0, "save: %s", avemo_last_error());
    expect_refused(pb, "backbone");
    CHECK(save_random(pb, &cfg, 2, 0, 2, "sad") == 0, "save: %s", avemo_last_error());
    expect_refused(pb, "ensemble");
    model_file one[1];
    const char *paths[1] = {pa};
    CHECK(model_file_load(pa, &one[0]) == 0, "load: %s", avemo_last_error());
    CHECK(model_average(one, paths, 1) == AVEMO_EINVAL, "one model was 'averaged'");
    model_file_free(&one[0]);
}

int main(void) {
    RUN(test_mean_of_every_tensor);
    RUN(test_self_average_is_identity);
    RUN(test_refusals);
    return test_summary();
}
