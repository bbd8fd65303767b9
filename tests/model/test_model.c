/* Tests for the trainable head (src/model/model.c, fusion.c, blocks.c, streams): shapes, the full backward
 * against finite differences for every fusion and modality, eval mode, modality dropout. */
#include "test.h"

#include "avemo.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

/* A small head: every width shrunk so that a forward takes microseconds, same code paths. */
static model_config small_cfg(model_modality mod, model_fusion f, audio_stream_variant av) {
    model_config c;
    model_config_default(&c, 4);
    c.modality = mod, c.fusion = f, c.audio_stream = av;
    c.video_dim = 12, c.video_frames = 5, c.video_ch1 = 4, c.video_ch2 = 6;
    c.audio_channels = 3, c.audio_frames = av == AUDIO_STREAM_BASELINE ? 20 : 40; /* -> 8 / 2 steps */
    c.audio_ch = 5, c.baseline_ch1 = 4, c.baseline_ch2 = 6, c.baseline_ch3 = 7;
    c.fusion_ch = 6, c.fusion_blocks = 2, c.mlp_hidden = 7;
    c.label_smoothing = 0.1f;
    return c;
}

typedef struct {
    model *m;
    float *video, *audio;
    int *labels;
    int B;
} fd_ctx;

/* The loss of a train-mode forward with the same dropout masks every time (rng reseeded). */
static double loss_at(fd_ctx *c) {
    rng_t r;
    rng_seed(&r, 99);
    int st = model_forward(c->m, c->video, c->audio, c->labels, c->B, 1, &r);
    return st ? NAN : (double)c->m->loss;
}

/* Finite-difference derivative of the loss along u (added to x[0..n)) vs the analytic g.u. The head is
 * float32, full of kinks (ReLU, max-pool) and uses train-mode BatchNorm over a small batch, so no single
 * step fits: at h = 1e-3 a kink is crossed now and then, at h = 1e-4 the loss's float32 rounding noise
 * (~3e-7 |L|) over h dominates. So the derivative is estimated at h = 1e-3, 3e-4 and 1e-4, centrally and, for
 * a kink lying on one side of the point (seen here: two max-pool inputs within 1e-4 of each other), one-sided;
 * the check passes when one estimate satisfies |num - ana| <= 2e-2 max(|num|, |ana|) + k 3e-7 max(1, |L|) / h
 * (k = 1 central, 2 one-sided). A wrong gradient is wrong for every estimate. */
static const float FD_STEPS[3] = {1e-3f, 3e-4f, 1e-4f};
#define FD_RTOL 2e-2
static int fd_direction(fd_ctx *c, float *x, const float *g, long n, const float *u, double *num_out,
                        double *ana_out) {
    float *save = malloc((size_t)n * sizeof(float));
    memcpy(save, x, (size_t)n * sizeof(float));
    double ana = 0, l0 = loss_at(c), noise = 3e-7 * fmax(1.0, fabs(l0)), best = INFINITY;
    for (long i = 0; i < n; i++) ana += (double)g[i] * u[i];
    int ok = 0;
    for (int s = 0; s < 3 && !ok; s++) {
        float h = FD_STEPS[s];
        for (long i = 0; i < n; i++) x[i] = save[i] + h * u[i];
        double lp = loss_at(c);
        for (long i = 0; i < n; i++) x[i] = save[i] - h * u[i];
        double lm = loss_at(c);
        double est[3] = {(lp - lm) / (2.0 * h), (lp - l0) / h, (l0 - lm) / h};
        for (int k = 0; k < 3 && !ok; k++) {
            ok = fabs(est[k] - ana) <= FD_RTOL * fmax(fabs(est[k]), fabs(ana)) + (k ? 2 : 1) * noise / h;
            if (ok || fabs(est[k] - ana) < fabs(best - ana)) best = est[k];
        }
        if (getenv("FD_TRACE")) printf("    h=%g central %+.6e forward %+.6e backward %+.6e ana %+.6e\n", h, est[0], est[1], est[2], ana);
    }
    memcpy(x, save, (size_t)n * sizeof(float));
    free(save);
    *num_out = best, *ana_out = ana;
    return ok;
}

/* Per tensor, single coordinates: the two with the largest |gradient| (a strong signal) and one at random.
 * Moving one weight by h shifts few pre-activations by ~h |x|, so ReLU / max-pool kinks are rarely crossed
 * (moving a whole tensor along a random direction crosses some almost always: measured, ~5% of tensors off
 * by 3-30% at every step size, at different tensors for different seeds). */
static int fd_coords(fd_ctx *c, float *x, const float *g, long n, unsigned long long seed, const char *name,
                     const char *what) {
    long idx[3] = {0, 0, 0};
    for (long i = 0; i < n; i++)
        if (fabsf(g[i]) > fabsf(g[idx[0]])) idx[0] = i;
    for (long i = 0; i < n; i++)
        if (i != idx[0] && (idx[1] == idx[0] || fabsf(g[i]) > fabsf(g[idx[1]]))) idx[1] = i;
    rng_t r;
    rng_seed(&r, seed);
    idx[2] = (long)rng_below(&r, (uint64_t)n);
    int bad = 0;
    for (int k = 0; k < 3 && k < n; k++) {
        double num, ana;
        float one = 1.0f;
        int ok = fd_direction(c, x + idx[k], g + idx[k], 1, &one, &num, &ana);
        bad += !ok;
        if (!ok || getenv("AVEMO_TEST_VERBOSE"))
            printf("  %s %-40s [%ld] num %+.6e ana %+.6e%s\n", what, name, idx[k], num, ana, ok ? "" : "  <-- BAD");
    }
    return bad == 0;
}

static int trainable(layout_kind k) { return k == LT_WEIGHT || k == LT_BIAS || k == LT_ONES || k == LT_ZEROS; }

static void grad_check(const char *what, model_config cfg) {
    fd_ctx c = {0};
    c.B = getenv("FD_B") ? atoi(getenv("FD_B")) : 3;
    CHECK(model_create(&c.m, &cfg, getenv("FD_SEED") ? atoi(getenv("FD_SEED")) : 7) == 0, "%s: create: %s", what, avemo_last_error());
    if (!c.m) return;
    long nv = (long)c.B * cfg.video_frames * cfg.video_dim, na = (long)c.B * cfg.audio_frames * cfg.audio_channels;
    c.video = malloc((size_t)nv * sizeof(float));
    c.audio = malloc((size_t)na * sizeof(float));
    fill_uniform_f(c.video, nv, 11, -1, 1);
    fill_uniform_f(c.audio, na, 12, -1, 1);
    int labels[16] = {0, 3, 1, 2, 1, 0, 3, 2, 2, 1, 0, 3, 3, 2, 1, 0};
    c.labels = labels;
    float *dvideo = calloc((size_t)nv, sizeof(float)), *daudio = calloc((size_t)na, sizeof(float));
    float *grad = malloc((size_t)c.m->n_params * sizeof(float));

    double loss = loss_at(&c);
    CHECK(isfinite(loss) && loss > 0, "%s: loss %g", what, loss);
    model_zero_grad(c.m);
    CHECK(model_backward(c.m, dvideo, daudio) == 0, "%s: backward: %s", what, avemo_last_error());
    memcpy(grad, c.m->grad_mem, (size_t)c.m->n_params * sizeof(float));

    int n_checked = 0, n_bad = 0;
    /* every trainable tensor, and the inputs (the hook for fine-tuning the backbone) */
    for (int i = -2; i < model_n_tensors(c.m); i++) {
        const char *name;
        float *x;
        const float *g;
        long n;
        if (i == -2) {
            if (cfg.modality == MODALITY_AUDIO) continue;
            name = "(video input)", x = c.video, g = dvideo, n = nv;
        } else if (i == -1) {
            if (cfg.modality == MODALITY_VIDEO) continue;
            name = "(audio input)", x = c.audio, g = daudio, n = na;
        } else {
            const layout_entry *e = model_tensor(c.m, i);
            if (!trainable(e->kind)) continue;
            name = e->name, x = model_tensor_data(c.m, i), g = grad + (x - c.m->param_mem), n = e->count;
        }
        int ok = fd_coords(&c, x, g, n, 1000 + i, name, what);
        n_checked++;
        if (!ok) n_bad++;
    }
    CHECK(n_bad == 0, "%s: %d of %d directional derivatives off (see above)", what, n_bad, n_checked + 3);
    CHECK(n_checked >= 4, "%s: only %d tensors", what, n_checked);
    free(grad), free(dvideo), free(daudio), free(c.video), free(c.audio);
    model_free(c.m);
}

static void test_grad_attention(void) { grad_check("attention", small_cfg(MODALITY_AV, FUSION_ATTENTION, AUDIO_STREAM_PAPER)); }
static void test_grad_concat(void) { grad_check("concat", small_cfg(MODALITY_AV, FUSION_CONCAT, AUDIO_STREAM_PAPER)); }
static void test_grad_ia(void) { grad_check("ia", small_cfg(MODALITY_AV, FUSION_IA, AUDIO_STREAM_BASELINE)); }
static void test_grad_it(void) { grad_check("it", small_cfg(MODALITY_AV, FUSION_IT, AUDIO_STREAM_BASELINE)); }
static void test_grad_lt(void) { grad_check("lt", small_cfg(MODALITY_AV, FUSION_LT, AUDIO_STREAM_BASELINE)); }
static void test_grad_ia_paper_audio(void) { grad_check("ia/paper", small_cfg(MODALITY_AV, FUSION_IA, AUDIO_STREAM_PAPER)); }
static void test_grad_it_paper_audio(void) { grad_check("it/paper", small_cfg(MODALITY_AV, FUSION_IT, AUDIO_STREAM_PAPER)); }
static void test_grad_intermediate(void) { grad_check("intermediate", small_cfg(MODALITY_AV, FUSION_INTERMEDIATE, AUDIO_STREAM_PAPER)); }
static void test_grad_late(void) { grad_check("late", small_cfg(MODALITY_AV, FUSION_LATE, AUDIO_STREAM_PAPER)); }
static void test_grad_attention_baseline_audio(void) { grad_check("attention/baseline", small_cfg(MODALITY_AV, FUSION_ATTENTION, AUDIO_STREAM_BASELINE)); }
static void test_grad_audio_only(void) { grad_check("audio", small_cfg(MODALITY_AUDIO, FUSION_ATTENTION, AUDIO_STREAM_PAPER)); }
static void test_grad_audio_only_baseline(void) { grad_check("audio/baseline", small_cfg(MODALITY_AUDIO, FUSION_ATTENTION, AUDIO_STREAM_BASELINE)); }
static void test_grad_video_only(void) { grad_check("video", small_cfg(MODALITY_VIDEO, FUSION_ATTENTION, AUDIO_STREAM_PAPER)); }

int main(void) {
    RUN(test_grad_attention);
    RUN(test_grad_concat);
    RUN(test_grad_ia);
    RUN(test_grad_it);
    RUN(test_grad_lt);
    RUN(test_grad_ia_paper_audio);
    RUN(test_grad_it_paper_audio);
    RUN(test_grad_intermediate);
    RUN(test_grad_late);
    RUN(test_grad_attention_baseline_audio);
    RUN(test_grad_audio_only);
    RUN(test_grad_audio_only_baseline);
    RUN(test_grad_video_only);
    return test_summary();
}
