/* Tests for the trainable head (src/model/model.c, fusion_*.c, unimodal.c, classifier.c, blocks.c, streams):
 * shapes, the full backward against finite differences for every fusion and modality, eval mode, modality
 * dropout. */
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


/* The paper's sizes: every fusion and modality builds, runs forward (train and eval) and backward, and the
 * streams have the shapes of Tables I and II. */
static void test_default_sizes(void) {
    const struct { model_modality mod; model_fusion f; audio_stream_variant av; } cases[] = {
        {MODALITY_AV, FUSION_ATTENTION, AUDIO_STREAM_PAPER}, {MODALITY_AV, FUSION_CONCAT, AUDIO_STREAM_PAPER},
        {MODALITY_AV, FUSION_IA, AUDIO_STREAM_BASELINE},     {MODALITY_AV, FUSION_IT, AUDIO_STREAM_BASELINE},
        {MODALITY_AV, FUSION_LT, AUDIO_STREAM_BASELINE},     {MODALITY_AV, FUSION_INTERMEDIATE, AUDIO_STREAM_PAPER},
        {MODALITY_AV, FUSION_LATE, AUDIO_STREAM_PAPER},      {MODALITY_AUDIO, FUSION_ATTENTION, AUDIO_STREAM_PAPER},
        {MODALITY_VIDEO, FUSION_ATTENTION, AUDIO_STREAM_PAPER}};
    int B = 2, labels[2] = {1, 7};
    long nv = (long)B * AVEMO_FRAMES_PER_CLIP * AVEMO_VIDEO_FEATURE_DIM, na = (long)B * AVEMO_MFCC_FRAMES * AVEMO_N_MFCC;
    float *video = malloc((size_t)nv * sizeof(float)), *audio = malloc((size_t)na * sizeof(float));
    fill_uniform_f(video, nv, 1, 0, 1);
    fill_uniform_f(audio, na, 2, -1, 1);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        model_config cfg;
        model_config_default(&cfg, 8);
        cfg.modality = cases[k].mod, cfg.fusion = cases[k].f, cfg.audio_stream = cases[k].av;
        model *m = NULL;
        CHECK(model_create(&m, &cfg, 1) == 0, "create: %s", avemo_last_error());
        if (!m) continue;
        const char *name = cfg.modality == MODALITY_AV ? model_fusion_name(cfg.fusion) : model_modality_name(cfg.modality);
        if (cfg.modality != MODALITY_VIDEO) {
            int t = audio_stream_out_t(&m->adims, 1), c = audio_stream_out_c(&m->adims, 1);
            if (cfg.audio_stream == AUDIO_STREAM_PAPER)
                CHECK(t == 9 && c == 64, "%s: paper audio stream gives [B, %d, %d], Table II says [B, 9, 64]", name, t, c);
            else
                CHECK(t == 144 && c == 128, "%s: baseline audio stream gives [B, %d, %d], want [B, 144, 128]", name, t, c);
        }
        if (cfg.modality != MODALITY_AUDIO)
            CHECK(m->vdims.stage[1].co == 128 && m->vdims.stage[1].t == 15, "%s: temporal stream", name);
        rng_t r;
        rng_seed(&r, 3);
        CHECK(model_forward(m, video, audio, labels, B, 1, &r) == 0, "%s: train forward: %s", name, avemo_last_error());
        CHECK(isfinite(m->loss) && m->loss > 0, "%s: loss %g", name, m->loss);
        model_zero_grad(m);
        CHECK(model_backward(m, NULL, NULL) == 0, "%s: backward: %s", name, avemo_last_error());
        double gn = 0;
        for (long i = 0; i < m->n_params; i++) gn += (double)m->grad_mem[i] * m->grad_mem[i];
        CHECK(isfinite(gn) && gn > 0, "%s: gradient norm^2 %g", name, gn);
        CHECK(model_forward(m, video, audio, NULL, B, 0, NULL) == 0, "%s: eval forward: %s", name, avemo_last_error());
        for (int b = 0; b < B; b++) {
            double sum = 0;
            for (int k2 = 0; k2 < 8; k2++) sum += m->acts.probs[b * 8 + k2];
            CHECK(fabs(sum - 1) < 1e-5, "%s: probabilities sum to %g", name, sum);
        }
        if (getenv("AVEMO_TEST_VERBOSE")) printf("  %-12s %8ld parameters %6ld buffers\n", name, m->n_params, m->n_buffers);
        model_free(m);
    }
    free(video), free(audio);
}

/* Eval mode is deterministic and uses the running statistics; train mode updates them. */
static void test_eval_mode(void) {
    model_config cfg = small_cfg(MODALITY_AV, FUSION_ATTENTION, AUDIO_STREAM_PAPER);
    model *m = NULL;
    CHECK(model_create(&m, &cfg, 3) == 0, "create: %s", avemo_last_error());
    if (!m) return;
    int B = 4, labels[4] = {0, 1, 2, 3};
    long nv = (long)B * cfg.video_frames * cfg.video_dim, na = (long)B * cfg.audio_frames * cfg.audio_channels;
    float *video = malloc((size_t)nv * sizeof(float)), *audio = malloc((size_t)na * sizeof(float));
    float *l1 = malloc(16 * sizeof(float));
    fill_uniform_f(video, nv, 4, -1, 1);
    fill_uniform_f(audio, na, 5, -1, 1);
    CHECK(model_forward(m, video, audio, NULL, B, 0, NULL) == 0, "eval: %s", avemo_last_error());
    memcpy(l1, m->acts.logits, 16 * sizeof(float));
    CHECK(model_forward(m, video, audio, NULL, B, 0, NULL) == 0, "eval: %s", avemo_last_error());
    CHECK(memcmp(l1, m->acts.logits, 16 * sizeof(float)) == 0, "eval forward not deterministic");
    /* running statistics start at mean 0, var 1 and move with each train-mode forward */
    float rv0 = m->params.video.stage[0].conv1.running_var[0];
    rng_t r;
    rng_seed(&r, 1);
    CHECK(model_forward(m, video, audio, labels, B, 1, &r) == 0, "train: %s", avemo_last_error());
    CHECK(m->params.video.stage[0].conv1.running_var[0] != rv0, "running var not updated");
    CHECK(model_backward(m, NULL, NULL) == 0, "backward: %s", avemo_last_error());
    /* a smaller batch reuses the activations; eval then backward is refused */
    CHECK(model_forward(m, video, audio, labels, 2, 0, NULL) == 0, "eval B=2: %s", avemo_last_error());
    CHECK(model_backward(m, NULL, NULL) == AVEMO_EINVAL, "backward after an eval forward accepted");
    labels[0] = 4;
    CHECK(model_forward(m, video, audio, labels, B, 1, &r) == AVEMO_EINVAL, "label 4 of 4 classes accepted");
    CHECK(model_forward(m, NULL, audio, NULL, B, 0, NULL) == AVEMO_EINVAL, "missing video accepted");
    free(video), free(audio), free(l1);
    model_free(m);
}

/* softhard: 4B samples, each original sample once in each of the four variants, labels carried along. */
static void test_softhard(void) {
    int B = 5, labels[5] = {0, 1, 2, 3, 4}, lo[20];
    float video[5 * 2], audio[5 * 3], vo[20 * 2], ao[20 * 3];
    for (int i = 0; i < 10; i++) video[i] = 1.0f + (float)(i / 2);
    for (int i = 0; i < 15; i++) audio[i] = 1.0f + (float)(i / 3);
    rng_t r;
    rng_seed(&r, 9);
    CHECK(modality_dropout_softhard(vo, ao, lo, video, audio, labels, B, 2, 3, &r) == 0, "softhard failed");
    int count[5][4] = {{0}};
    for (int j = 0; j < 20; j++) {
        int i = lo[j];
        float cv = vo[2 * j] / video[2 * i], ca = ao[3 * j] / audio[3 * i];
        CHECK(vo[2 * j + 1] == cv * video[2 * i + 1] && ao[3 * j + 2] == ca * audio[3 * i + 2], "scaling not per sample");
        int variant = ca == 1 && cv == 1 ? 0 : ca == 0 ? 2 : cv == 0 ? 3 : 1;
        if (variant == 1) CHECK(fabsf(ca + cv - 1) < 1e-6f, "soft variant: c %g + (1 - c) %g != 1", ca, cv);
        count[i][variant]++;
    }
    for (int i = 0; i < B; i++)
        for (int v = 0; v < 4; v++) CHECK(count[i][v] == 1, "sample %d variant %d appears %d times", i, v, count[i][v]);
    int shuffled = 0;
    for (int j = 0; j < 20; j++) shuffled += lo[j] != j % 5;
    CHECK(shuffled > 0, "not shuffled");
}

int main(void) {
    /* tiny layers: OpenMP threads only add barrier waits (48 s instead of 2 s on a loaded 2-core machine) */
    nn_set_threads(1);
    RUN(test_default_sizes);
    RUN(test_eval_mode);
    RUN(test_softhard);
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
