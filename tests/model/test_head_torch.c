/* The head's default `attention` fusion against PyTorch 1.13 (tools/fixtures_head.py): same small
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
 * Measured: logits and loss ~2e-7 relative, BN running statistics <= 1e-8, gradients ~1e-6 relative except
 * the self-attention's (q, v weights and biases: up to 7.5e-5, small sums of cancelling terms). */
#define TOL_FWD 3e-5
#define TOL_GRAD 3e-4

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

static void compare(const st_file *f, const char *name, const float *got, long n, double tol) {
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
    if (getenv("AVEMO_TEST_VERBOSE")) printf("  %-45s err %.3g\n", name, e);
    CHECK(e < tol, "%s: err %.3g vs PyTorch (tol %.1g)", name, e, tol);
    free(want);
}

static void test_attention_fusion_vs_torch(void) {
    const char *path = fixture_path("model/head_attention.safetensors");
    if (!path) return;
    st_file f;
    CHECK(st_read(path, &f) == 0, "%s", avemo_last_error());
    model_config cfg;
    model_config_default(&cfg, 4);
    cfg.video_dim = 12, cfg.video_frames = 5, cfg.video_ch1 = 4, cfg.video_ch2 = 6;
    cfg.audio_channels = 3, cfg.audio_frames = 40, cfg.audio_ch = 5, cfg.fusion_ch = 6, cfg.fusion_blocks = 2;
    cfg.dropout = 0.0f, cfg.label_smoothing = 0.1f;
    model *m = NULL;
    CHECK(model_create(&m, &cfg, 0) == 0, "%s", avemo_last_error());
    if (!m) {
        st_free(&f);
        return;
    }
    int n_trainable = 0, n_grads = 0;
    for (int i = 0; i < model_n_tensors(m); i++) {
        const layout_entry *e = model_tensor(m, i);
        formula(model_tensor_data(m, i), e->count, e->name);
        n_trainable += e->kind != LT_BUF_ZEROS && e->kind != LT_BUF_ONES;
    }
    for (int i = 0; i < f.n_tensors; i++) n_grads += !strncmp(f.tensors[i].name, "grad.", 5);
    CHECK(n_grads == n_trainable + 2, "PyTorch has %d gradients, the C head %d parameter tensors + 2 inputs", n_grads,
          n_trainable);
    enum { B = 3, T = 5, VD = 12, AF = 40, AC = 3 };
    static float video[B * T * VD], audio[B * AF * AC], dvideo[B * T * VD], daudio[B * AF * AC];
    for (int i = 0; i < B * T * VD; i++) video[i] = (float)sin(0.37 * i + 0.2);
    for (int i = 0; i < B * AF * AC; i++) audio[i] = (float)cos(0.23 * i);
    int labels[B] = {0, 3, 1};

    CHECK(model_forward(m, video, audio, NULL, B, 0, NULL) == 0, "eval: %s", avemo_last_error());
    compare(&f, "logits_eval", m->acts.logits, B * 4, TOL_FWD);
    rng_t r;
    rng_seed(&r, 1);
    CHECK(model_forward(m, video, audio, labels, B, 1, &r) == 0, "train: %s", avemo_last_error());
    compare(&f, "logits_train", m->acts.logits, B * 4, TOL_FWD);
    compare(&f, "loss_train", &m->loss, 1, TOL_FWD);
    model_zero_grad(m);
    CHECK(model_backward(m, dvideo, daudio) == 0, "backward: %s", avemo_last_error());
    compare(&f, "grad.video_input", dvideo, B * T * VD, TOL_GRAD);
    compare(&f, "grad.audio_input", daudio, B * AF * AC, TOL_GRAD);
    for (int i = 0; i < model_n_tensors(m); i++) {
        const layout_entry *e = model_tensor(m, i);
        char key[LAYOUT_NAME_MAX + 16];
        int buffer = e->kind == LT_BUF_ZEROS || e->kind == LT_BUF_ONES;
        snprintf(key, sizeof key, "%s%s", buffer ? "after_train." : "grad.", e->name);
        const float *got = buffer ? model_tensor_data(m, i) : m->grad_mem + (model_tensor_data(m, i) - m->param_mem);
        compare(&f, key, got, e->count, buffer ? TOL_FWD : TOL_GRAD);
    }
    model_free(m);
    st_free(&f);
}

int main(void) {
    nn_set_threads(1); /* tiny layers */
    RUN(test_attention_fusion_vs_torch);
    return test_summary();
}
