/* sgd_step, adam_step, lr schedules: against a plain float64 restatement of torch.optim's update rules
 * (the PyTorch comparison itself is in test_layers_torch.c). */
#include "fd.h"

#include "nn/nn.h"

/* float vs float64 restatement over 5 steps of O(1) values: float32 rounding, a few eps per step */
#define OPT_TOL 1e-5

static void sgd_case(sgd_config cfg) {
    enum { N = 1000, STEPS = 5 };
    float p[N], buf[N], g[N];
    double pd[N], bd[N];
    fill_uniform_f(p, N, 1, -1, 1);
    for (int i = 0; i < N; i++) pd[i] = p[i];
    for (long t = 1; t <= STEPS; t++) {
        fill_uniform_f(g, N, 100 + t, -1, 1);
        sgd_step(p, g, cfg.momentum != 0 ? buf : NULL, N, &cfg, t);
        for (int i = 0; i < N; i++) {
            double d = g[i] + (double)cfg.weight_decay * pd[i];
            if (cfg.momentum != 0) {
                bd[i] = t == 1 ? d : (double)cfg.momentum * bd[i] + (1 - (double)cfg.dampening) * d;
                d = cfg.nesterov ? d + (double)cfg.momentum * bd[i] : bd[i];
            }
            pd[i] -= (double)cfg.lr * d;
        }
    }
    float pf[N];
    for (int i = 0; i < N; i++) pf[i] = (float)pd[i];
    double e = rel_err_f(p, pf, N);
    CHECK(e < OPT_TOL, "sgd mom %g damp %g wd %g nesterov %d: rel err %.3g", cfg.momentum, cfg.dampening,
          cfg.weight_decay, cfg.nesterov, e);
}

static void test_sgd(void) {
    sgd_case((sgd_config){.lr = 0.1f});
    sgd_case((sgd_config){.lr = 0.04f, .momentum = 0.9f, .dampening = 0.9f, .weight_decay = 1e-3f}); /* baseline */
    sgd_case((sgd_config){.lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-2f, .nesterov = 1});
}

static void test_sgd_first_step(void) {
    /* torch: the buffer starts as the gradient itself, no dampening on step 1 */
    sgd_config cfg = {.lr = 1, .momentum = 0.9f, .dampening = 0.9f};
    float p = 0, g = 2, buf = 123;
    sgd_step(&p, &g, &buf, 1, &cfg, 1);
    CHECK(buf == 2 && p == -2, "buf %g p %g", buf, p);
    sgd_step(&p, &g, &buf, 1, &cfg, 2);
    CHECK(fabsf(buf - (0.9f * 2 + 0.1f * 2)) < 1e-6f && fabsf(p - (-2 - buf)) < 1e-6f, "step 2: buf %g p %g", buf, p);
}

static void adam_case(adam_config cfg) {
    enum { N = 1000, STEPS = 5 };
    float p[N], m[N] = {0}, v[N] = {0}, g[N];
    double pd[N], md[N] = {0}, vd[N] = {0};
    fill_uniform_f(p, N, 2, -1, 1);
    for (int i = 0; i < N; i++) pd[i] = p[i];
    for (long t = 1; t <= STEPS; t++) {
        fill_uniform_f(g, N, 200 + t, -1, 1);
        adam_step(p, g, m, v, N, &cfg, t);
        double b1 = cfg.beta1, b2 = cfg.beta2, lr = cfg.lr, wd = cfg.weight_decay;
        for (int i = 0; i < N; i++) {
            double d = g[i];
            if (cfg.decoupled) pd[i] *= 1 - lr * wd;
            else d += wd * pd[i];
            md[i] = b1 * md[i] + (1 - b1) * d;
            vd[i] = b2 * vd[i] + (1 - b2) * d * d;
            double mh = md[i] / (1 - pow(b1, t)), vh = vd[i] / (1 - pow(b2, t));
            pd[i] -= lr * mh / (sqrt(vh) + cfg.eps);
        }
    }
    float pf[N];
    for (int i = 0; i < N; i++) pf[i] = (float)pd[i];
    double e = rel_err_f(p, pf, N);
    CHECK(e < OPT_TOL, "adam decoupled %d wd %g: rel err %.3g", cfg.decoupled, cfg.weight_decay, e);
}

static void test_adam(void) {
    adam_case((adam_config){.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f});
    adam_case((adam_config){.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f});
    adam_case((adam_config){.lr = 1e-2f, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f, .weight_decay = 0.1f,
                            .decoupled = 1});
}

static void test_lr(void) {
    int ms[4] = {40, 55, 65, 70}; /* the baseline's schedule */
    CHECK(lr_multistep(0.04f, 0, ms, 4, 0.1f) == 0.04f, "epoch 0");
    CHECK(lr_multistep(0.04f, 39, ms, 4, 0.1f) == 0.04f, "epoch 39");
    CHECK(fabsf(lr_multistep(0.04f, 40, ms, 4, 0.1f) - 0.004f) < 1e-9f, "epoch 40");
    CHECK(fabsf(lr_multistep(0.04f, 99, ms, 4, 0.1f) - 4e-6f) < 1e-12f, "epoch 99");
    CHECK(lr_cosine(0.1f, 0, 100, 0.001f) == 0.1f, "cos start");
    CHECK(fabsf(lr_cosine(0.1f, 50, 100, 0.001f) - 0.0505f) < 1e-8f, "cos middle");
    CHECK(fabsf(lr_cosine(0.1f, 100, 100, 0.001f) - 0.001f) < 1e-9f, "cos end");
}

/* torch.optim.lr_scheduler.OneCycleLR(AdamW, max_lr=3e-3, total_steps=900) (defaults: pct_start 0.3,
 * div_factor 25, final_div_factor 1e4, cycle_momentum with betas[0] from 0.95 to 0.85), read from
 * param_groups[0] before step i with torch 1.13. Relative tolerance 1e-6: float results of a double formula. */
static void test_onecycle(void) {
    static const struct { long step; double lr, beta1; } ref[] = {
        {0, 0.00011999999999999988, 0.95},          {1, 0.00012009820254556833, 0.94999659018939},
        {100, 0.0009953697329221065, 0.9196052176068712}, {269, 0.003, 0.85},
        {270, 0.0029999813500671377, 0.8500006216669154}, {500, 0.0021101085241938423, 0.8796631678462099},
        {899, 1.2e-08, 0.95}};
    for (size_t i = 0; i < sizeof ref / sizeof *ref; i++) {
        double lr = lr_onecycle(3e-3f, ref[i].step, 900, 0.3f, 25.0f, 1e4f);
        double b1 = momentum_onecycle(0.85f, 0.95f, ref[i].step, 900, 0.3f);
        CHECK(fabs(lr - ref[i].lr) <= 1e-6 * ref[i].lr, "lr at step %ld: %.10g, torch %.10g", ref[i].step, lr, ref[i].lr);
        CHECK(fabs(b1 - ref[i].beta1) <= 1e-6, "beta1 at step %ld: %.10g, torch %.10g", ref[i].step, b1, ref[i].beta1);
    }
}

int main(void) {
    RUN(test_sgd);
    RUN(test_sgd_first_step);
    RUN(test_adam);
    RUN(test_lr);
    RUN(test_onecycle);
    return test_summary();
}
