/* The head against PyTorch 1.13 (tools/fixtures_head.py), every fusion and modality: same small
 * configuration, same formula weights and inputs; eval-mode logits, train-mode logits / loss / every
 * parameter and input gradient, and the BN running statistics after the train step. */
#include "test.h"

#include "avemo.h"
#include "io/safetensors.h"
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Both sides compute in float32 with different summation orders (GEMM blocking, BN partial sums).
 * Measured: logits and loss <= 2e-7 relative, BN running statistics <= 1e-8, most gradients ~1e-6; the
 * attention parameters more (self-attention biases 7.5e-5; `it`'s key LayerNorm shift 5.5e-4: the softmax
 * part of that sum cancels exactly, leaving a small result of large float32 terms). A wrong formula gives
 * errors of order 1. */
#define TOL_FWD 3e-5
#define TOL_GRAD 2e-3

static int name_hash(const char *s) {
    long h = 0;
    for (int k = 0; s[k]; k++) h += (long)(k + 1) * (unsigned char)s[k];
    return (int)(h % 997);
}

static void formula(float *v, long n, const char *name) {
    int rv = strlen(name) >= 11 && !strcmp(name + strlen(name) - 11, "running_var");
    for (long i = 0; i < n; i++) {
        double s = sin(0.7 * (double)i + 0.013 * name_hash(name) + 0.5);
        v[i] = (float)(rv ? 1.0 + 0.5 * s * s : 0.3 * s);
    }
}

static void compare(const st_file *f, const char *name, const char *label, const float *got, long n, double tol) {
    const st_tensor *t = st_find(f, name);
    CHECK(t != NULL, "fixture lacks %s", name);
    if (!t) return;
    float *want = malloc((size_t)n * sizeof(float));
    CHECK(st_to_f32(t, want, n, name) == 0, "%s: %s", name, avemo_last_error());
    double e = rel_err_f(got, want, n), big = 0;
    for (long i = 0; i < n; i++) big = fmax(big, fabs(want[i]));
    if (big < 1e-6) {
        /* a gradient that is zero in exact arithmetic (the key bias: softmax is shift invariant); both sides
         * hold rounding noise, so compare absolutely */
        e = max_abs_diff_f(got, want, n);
        tol = 1e-6;
    }
    if (getenv("AVEMO_TEST_VERBOSE")) printf("  %-55s err %.3g\n", label, e);
    CHECK(e < tol, "%s: err %.3g vs PyTorch (tol %.1g)", label, e, tol);
    free(want);
}

static void check_case_stride(const char *case_name, model_modality mod, model_fusion fusion,
                              audio_stream_variant astream, int pool_stride) {
    char rel[128];
    snprintf(rel, sizeof rel, "model/head_%s.safetensors", case_name);
    const char *path = fixture_path(rel);
    if (!path) return;
    st_file f;
    CHECK(st_read(path, &f) == 0, "%s", avemo_last_error());
    /* the configuration of tools/fixtures_head.py */
    model_config cfg;
    model_config_default(&cfg, 4);
    cfg.modality = mod, cfg.fusion = fusion, cfg.audio_stream = astream;
    cfg.video_dim = 12, cfg.video_frames = 5, cfg.video_ch1 = 4, cfg.video_ch2 = 6;
    cfg.audio_channels = 3, cfg.audio_ch = 5, cfg.baseline_pool_stride = pool_stride;
    cfg.audio_frames = astream == AUDIO_STREAM_PAPER ? 40 : pool_stride == 1 ? 20 : 48;
    cfg.baseline_ch1 = 4, cfg.baseline_ch2 = 6, cfg.baseline_ch3 = 7;
    cfg.fusion_ch = 6, cfg.fusion_blocks = 2, cfg.mlp_hidden = 7;
    cfg.dropout = 0.0f, cfg.label_smoothing = 0.1f;
    model *m = NULL;
    CHECK(model_create(&m, &cfg, 0) == 0, "%s", avemo_last_error());
    if (!m) {
        st_free(&f);
        return;
    }
    int n_trainable = 0, n_grads = 0, use_v = mod != MODALITY_AUDIO, use_a = mod != MODALITY_VIDEO;
    for (int i = 0; i < model_n_tensors(m); i++) {
        const layout_entry *e = model_tensor(m, i);
        formula(model_tensor_data(m, i), e->count, e->name);
        n_trainable += e->kind != LT_BUF_ZEROS && e->kind != LT_BUF_ONES;
    }
    for (int i = 0; i < f.n_tensors; i++) n_grads += !strncmp(f.tensors[i].name, "grad.", 5);
    CHECK(n_grads == n_trainable + use_v + use_a, "%s: PyTorch has %d gradients, the C head %d parameter tensors",
          case_name, n_grads, n_trainable);
    enum { B = 3, T = 5, VD = 12, AC = 3 };
    int af = cfg.audio_frames;
    float video[B * T * VD], audio[B * 48 * AC], dvideo[B * T * VD], daudio[B * 48 * AC];
    for (int i = 0; i < B * T * VD; i++) video[i] = (float)sin(0.37 * i + 0.2);
    for (int i = 0; i < B * af * AC; i++) audio[i] = (float)cos(0.23 * i);
    int labels[B] = {0, 3, 1};
    char key[LAYOUT_NAME_MAX + 64];
#define KEY(what) (snprintf(key, sizeof key, "%s: %s", case_name, what), key)

    CHECK(model_forward(m, video, audio, NULL, B, 0, NULL) == 0, "eval: %s", avemo_last_error());
    compare(&f, "logits_eval", KEY("logits_eval"), m->acts.logits, B * 4, TOL_FWD);
    rng_t r;
    rng_seed(&r, 1);
    CHECK(model_forward(m, video, audio, labels, B, 1, &r) == 0, "train: %s", avemo_last_error());
    compare(&f, "logits_train", KEY("logits_train"), m->acts.logits, B * 4, TOL_FWD);
    compare(&f, "loss_train", KEY("loss_train"), &m->loss, 1, TOL_FWD);
    model_zero_grad(m);
    CHECK(model_backward(m, dvideo, daudio) == 0, "backward: %s", avemo_last_error());
    if (use_v) compare(&f, "grad.video_input", KEY("grad.video_input"), dvideo, B * T * VD, TOL_GRAD);
    if (use_a) compare(&f, "grad.audio_input", KEY("grad.audio_input"), daudio, (long)B * af * AC, TOL_GRAD);
    for (int i = 0; i < model_n_tensors(m); i++) {
        const layout_entry *e = model_tensor(m, i);
        char name[LAYOUT_NAME_MAX + 16];
        int buffer = e->kind == LT_BUF_ZEROS || e->kind == LT_BUF_ONES;
        snprintf(name, sizeof name, "%s%s", buffer ? "after_train." : "grad.", e->name);
        const float *got = buffer ? model_tensor_data(m, i) : m->grad_mem + (model_tensor_data(m, i) - m->param_mem);
        compare(&f, name, KEY(name), got, e->count, buffer ? TOL_FWD : TOL_GRAD);
    }
#undef KEY
    model_free(m);
    st_free(&f);
}

static void check_case(const char *case_name, model_modality mod, model_fusion fusion, audio_stream_variant astream) {
    check_case_stride(case_name, mod, fusion, astream, 1);
}

static void test_attention(void) { check_case("attention", MODALITY_AV, FUSION_ATTENTION, AUDIO_STREAM_PAPER); }
static void test_concat(void) { check_case("concat", MODALITY_AV, FUSION_CONCAT, AUDIO_STREAM_PAPER); }
static void test_ia(void) { check_case("ia", MODALITY_AV, FUSION_IA, AUDIO_STREAM_BASELINE); }
static void test_it(void) { check_case("it", MODALITY_AV, FUSION_IT, AUDIO_STREAM_BASELINE); }
static void test_lt(void) { check_case("lt", MODALITY_AV, FUSION_LT, AUDIO_STREAM_BASELINE); }
static void test_intermediate(void) { check_case("intermediate", MODALITY_AV, FUSION_INTERMEDIATE, AUDIO_STREAM_PAPER); }
static void test_late(void) { check_case("late", MODALITY_AV, FUSION_LATE, AUDIO_STREAM_PAPER); }
static void test_audio_only(void) { check_case("audio", MODALITY_AUDIO, FUSION_ATTENTION, AUDIO_STREAM_PAPER); }
static void test_video_only(void) { check_case("video", MODALITY_VIDEO, FUSION_ATTENTION, AUDIO_STREAM_PAPER); }
/* the voice recipe's stream (issue 13): the baseline's blocks with MaxPool1d(2, 2) */
static void test_audio_baseline_stride2(void) {
    check_case_stride("audio_baseline_stride2", MODALITY_AUDIO, FUSION_ATTENTION, AUDIO_STREAM_BASELINE, 2);
}

static void test_attention_baseline_audio(void) {
    check_case("attention_baseline", MODALITY_AV, FUSION_ATTENTION, AUDIO_STREAM_BASELINE);
}

int main(void) {
    nn_set_threads(1); /* tiny layers */
    RUN(test_attention);
    RUN(test_concat);
    RUN(test_ia);
    RUN(test_it);
    RUN(test_lt);
    RUN(test_intermediate);
    RUN(test_late);
    RUN(test_audio_only);
    RUN(test_video_only);
    RUN(test_attention_baseline_audio);
    RUN(test_audio_baseline_stride2);
    return test_summary();
}
