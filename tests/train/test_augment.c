/* Tests for src/train/augment.c (each augmentation against its definition on a small clip) and the mixup loss of
 * src/model/model.c (its gradient is the lambda-weighted sum of the two labels' gradients). */
#include "test.h"

#include "avemo.h"
#include "model/model.h"
#include "nn/nn.h"
#include "train/augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { F = 12, C = 4 };

static void clip(float *x) {
    for (int t = 0; t < F; t++)
        for (int c = 0; c < C; c++) x[t * C + c] = (float)(100 * t + c);
}

/* frame t of x is frame t - s (mod F) of the original: the shift recovered from frame 0 */
static void test_time_shift(void) {
    float x[F * C], scratch[F * C];
    audio_augment a = {.time_shift = 3};
    rng_t r;
    rng_seed(&r, 1);
    int seen[7] = {0};
    for (int rep = 0; rep < 200; rep++) {
        clip(x);
        audio_augment_batch(&a, x, 1, F, C, scratch, &r);
        int src0 = (int)(x[0] / 100), s = (F - src0) % F; /* y[0] = x[-s] */
        if (s > F / 2) s -= F;
        CHECK(s >= -3 && s <= 3, "shift %d outside [-3, 3]", s);
        for (int t = 0; t < F; t++)
            CHECK(x[t * C + 1] == (float)(100 * (((t - s) % F + F) % F) + 1), "frame %d after shift %d", t, s);
        if (s >= -3 && s <= 3) seen[s + 3] = 1;
    }
    for (int s = 0; s < 7; s++) CHECK(seen[s], "shift %d never drawn in 200 clips", s - 3);
}

/* masks: one run of zeroed frames (width <= W), one run of zeroed coefficients; the rest untouched */
static void test_masks(void) {
    float x[F * C], scratch[F * C];
    audio_augment a = {.time_mask = 5, .freq_mask = 2};
    rng_t r;
    rng_seed(&r, 2);
    for (int rep = 0; rep < 100; rep++) {
        clip(x);
        for (int t = 0; t < F; t++) x[t * C] += 1; /* every value nonzero (frame 0 coefficient 0 is 0) */
        audio_augment_batch(&a, x, 1, F, C, scratch, &r);
        int zero_frames = 0, zero_coeffs = 0;
        for (int t = 0; t < F; t++) {
            int all = 1;
            for (int c = 0; c < C; c++) all &= x[t * C + c] == 0;
            zero_frames += all;
        }
        for (int c = 0; c < C; c++) {
            int all = 1;
            for (int t = 0; t < F; t++) all &= x[t * C + c] == 0;
            zero_coeffs += all;
        }
        CHECK(zero_frames <= 5 && zero_coeffs <= 2, "%d frames, %d coefficients zeroed", zero_frames, zero_coeffs);
        for (int t = 0; t < F; t++)
            for (int c = 0; c < C; c++) {
                float v = x[t * C + c], orig = (float)(100 * t + c) + (c == 0 ? 1 : 0);
                CHECK(v == 0 || v == orig, "value changed at %d,%d: %g", t, c, v);
            }
    }
}

/* speed 0 is no stretch; a stretch keeps F frames and, at factor 1 exactly, the clip */
static void test_speed_and_noise(void) {
    float x[F * C], y[F * C], scratch[F * C];
    audio_augment a = {.speed = 0.2f};
    rng_t r;
    rng_seed(&r, 3);
    clip(x);
    memcpy(y, x, sizeof x);
    audio_augment_batch(&a, x, 1, F, C, scratch, &r);
    /* a linear ramp resampled linearly stays a linear ramp in t where no padding: consecutive differences equal */
    int ramp = 1;
    for (int t = 2; t < F; t++)
        if (x[t * C] && x[(t - 1) * C] && x[(t - 2) * C])
            ramp &= fabsf((x[t * C] - x[(t - 1) * C]) - (x[(t - 1) * C] - x[(t - 2) * C])) < 1e-3f;
    CHECK(ramp, "a stretched ramp is not a ramp");
    audio_augment none = {0};
    CHECK(!audio_augment_any(&none), "nothing on");
    audio_augment_batch(&none, y, 1, F, C, scratch, &r);
    clip(x);
    CHECK(!memcmp(x, y, sizeof x), "no augmentation changed the clip");
    /* noise: mean ~0, std ~s over many values */
    enum { N = 20000 };
    float *z = calloc(N, sizeof *z), *sz = calloc(N, sizeof *sz);
    audio_augment noise = {.noise = 0.5f};
    audio_augment_batch(&noise, z, 1, N, 1, sz, &r);
    double s = 0, ss = 0;
    for (int i = 0; i < N; i++) s += z[i], ss += (double)z[i] * z[i];
    double mean = s / N, sd = sqrt(ss / N - mean * mean);
    CHECK(fabs(mean) < 0.02 && fabs(sd - 0.5) < 0.02, "noise mean %g std %g", mean, sd); /* 5 sigma: 0.0035 */
    free(z), free(sz);
}

/* Beta(a, a): in (0, 1), mean 1/2, variance 1 / (4 (2a + 1)) */
static void test_mixup_lambda(void) {
    rng_t r;
    rng_seed(&r, 4);
    const double alphas[2] = {0.4, 2.0};
    for (int k = 0; k < 2; k++) {
        double s = 0, ss = 0, a = alphas[k];
        enum { N = 20000 };
        for (int i = 0; i < N; i++) {
            double l = audio_augment_mixup_lambda(a, &r);
            CHECK(l >= 0 && l <= 1, "lambda %g", l);
            s += l, ss += l * l;
        }
        double mean = s / N, var = ss / N - mean * mean, want = 1 / (4 * (2 * a + 1));
        CHECK(fabs(mean - 0.5) < 0.01 && fabs(var - want) < 0.01, "alpha %g: mean %g var %g (want %g)", a, mean, var,
              want);
    }
}

/* model_backward with mix_labels = lambda * (gradient with labels) + (1 - lambda) * (with mix_labels) */
static void test_mixup_gradient(void) {
    model_config c;
    model_config_default(&c, 4);
    c.modality = MODALITY_AUDIO, c.audio_channels = 3, c.audio_frames = 24, c.audio_ch = 5, c.dropout = 0;
    c.label_smoothing = 0.1f;
    model *m = NULL;
    CHECK(model_create(&m, &c, 9) == 0, "%s", avemo_last_error());
    if (!m) return;
    enum { B = 3 };
    float audio[B * 24 * 3];
    fill_uniform_f(audio, B * 24 * 3, 5, -1, 1);
    int y1[B] = {0, 1, 3}, y2[B] = {2, 1, 0};
    float lam = 0.3f;
    long n = m->n_params;
    float *g1 = malloc(n * sizeof *g1), *g2 = malloc(n * sizeof *g2);
    const int *labels[2] = {y1, y2};
    float *grads[2] = {g1, g2};
    /* BN in train mode updates running statistics, not the gradient: each forward sees the same batch */
    for (int i = 0; i < 2; i++) {
        CHECK(model_forward(m, NULL, audio, labels[i], B, 1, NULL) == 0, "%s", avemo_last_error());
        model_zero_grad(m);
        CHECK(model_backward(m, NULL, NULL) == 0, "%s", avemo_last_error());
        memcpy(grads[i], m->grad_mem, n * sizeof(float));
    }
    float loss1 = 0, loss2 = 0;
    model_forward(m, NULL, audio, y1, B, 1, NULL), loss1 = m->loss;
    model_forward(m, NULL, audio, y2, B, 1, NULL), loss2 = m->loss;
    m->mix_labels = y2, m->mix_lambda = lam;
    CHECK(model_forward(m, NULL, audio, y1, B, 1, NULL) == 0, "%s", avemo_last_error());
    CHECK(fabsf(m->loss - (lam * loss1 + (1 - lam) * loss2)) < 1e-5f, "mixed loss %g", m->loss);
    model_zero_grad(m);
    CHECK(model_backward(m, NULL, NULL) == 0, "%s", avemo_last_error());
    double worst = 0, scale = 0;
    for (long i = 0; i < n; i++) {
        double want = lam * g1[i] + (1 - lam) * g2[i];
        worst = fmax(worst, fabs(m->grad_mem[i] - want));
        scale = fmax(scale, fabs(want));
    }
    CHECK(worst <= 1e-5 * scale, "mixed gradient off by %g (scale %g)", worst, scale);
    free(g1), free(g2);
    model_free(m);
}

int main(void) {
    nn_set_threads(1);
    RUN(test_time_shift);
    RUN(test_masks);
    RUN(test_speed_and_noise);
    RUN(test_mixup_lambda);
    RUN(test_mixup_gradient);
    return test_summary();
}
