/* Optimizers with torch.optim semantics (PyTorch 1.13, single-tensor path) over one flat parameter vector. */
#include "nn/nn.h"

#include <math.h>

#define OPT_PARALLEL_MIN 65536L

/* torch.optim.SGD: g = grad + wd p; with momentum: buf = g on the first step, else
 * momentum buf + (1 - dampening) g; g = nesterov ? g + momentum buf : buf; p -= lr g.
 * momentum_buf may be NULL when momentum == 0. */
void sgd_step(float *p, const float *grad, float *momentum_buf, long n, const sgd_config *cfg, long step) {
    const float lr = cfg->lr, mom = cfg->momentum, damp = cfg->dampening, wd = cfg->weight_decay;
    const int nesterov = cfg->nesterov, first = step <= 1, use_mom = mom != 0.0f;
#pragma omp parallel for simd schedule(static) if (n >= OPT_PARALLEL_MIN)
    for (long i = 0; i < n; i++) {
        float g = grad[i];
        if (wd != 0.0f) g += wd * p[i];
        if (use_mom) {
            float b = first ? g : mom * momentum_buf[i] + (1.0f - damp) * g;
            momentum_buf[i] = b;
            g = nesterov ? g + mom * b : b;
        }
        p[i] -= lr * g;
    }
}

/* torch.optim.Adam / AdamW:
 *   AdamW: p *= 1 - lr wd;  Adam: g = grad + wd p;
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). */
void adam_step(float *p, const float *grad, float *m, float *v, long n, const adam_config *cfg, long step) {
    const float lr = cfg->lr, b1 = cfg->beta1, b2 = cfg->beta2, eps = cfg->eps, wd = cfg->weight_decay;
    const int decoupled = cfg->decoupled;
    const float step_size = (float)(lr / (1.0 - pow(b1, (double)step)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(b2, (double)step));
    const float decay = 1.0f - lr * wd;
#pragma omp parallel for simd schedule(static) if (n >= OPT_PARALLEL_MIN)
    for (long i = 0; i < n; i++) {
        float g = grad[i];
        if (decoupled) p[i] *= decay;
        else g += wd * p[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
}
