/* The formula weights of tools/fixtures_backbone.py (formula_state_dict), shared by the tests that compare a
 * MobileNetV2 against its PyTorch fixtures: hash_uniform is the fixture's deterministic value in [-1, 1). */
#ifndef AVEMO_TESTS_MOBILENETV2_FORMULA_H
#define AVEMO_TESTS_MOBILENETV2_FORMULA_H
#include "model/mobilenetv2.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline double hash_uniform(uint64_t i, uint64_t stream) {
    uint64_t h = (i * 2654435761ULL + stream * 40503ULL + 12345ULL) & 0xffffffffULL;
    h ^= h >> 15;
    h = (h * 2246822519ULL) & 0xffffffffULL;
    h ^= h >> 13;
    h = (h * 3266489917ULL) & 0xffffffffULL;
    h ^= h >> 16;
    return (double)h / 4294967296.0 * 2.0 - 1.0;
}

/* the formula weights of fixtures_backbone.formula_state_dict */
static inline void formula_weights(mobilenetv2 *m) {
    for (int j = 0; j < m->param_layout.n; j++) {
        const layout_entry *t = &m->param_layout.e[j];
        float *d = (layout_has_grad(t) ? m->params : m->buffers) + t->offset;
        size_t L = strlen(t->name);
        for (long i = 0; i < t->count; i++) {
            double u = hash_uniform((uint64_t)i, (uint64_t)j), v;
            if (L > 13 && !strcmp(t->name + L - 13, ".running_mean")) v = 0.1 * u;
            else if (L > 12 && !strcmp(t->name + L - 12, ".running_var")) v = 1.5 + 0.5 * u;
            else if (t->ndim == 4) v = u * sqrt(6.0 / (double)(t->shape[1] * t->shape[2] * t->shape[3]));
            else if (L > 7 && !strcmp(t->name + L - 7, ".weight")) v = 1.0 + 0.25 * u;
            else v = 0.1 * u;
            d[i] = (float)v;
        }
    }
}

#endif
