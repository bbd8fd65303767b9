/* MobileNetV2 fine-tuning helpers (model/mobilenetv2_train.h). */
#include "model/mobilenetv2_train.h"

#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BN_DATA_CHUNK 32

/* Per-channel sums of unit i's conv output of the last forward into sum/sumsq [c_out] (double). */
static void accumulate_unit(const mobilenetv2 *m, int i, double *sum, double *sumsq) {
    const mnv2_acts *a = &m->acts;
    const conv2d_shape *s = &a->shape[i];
    int c = m->p.units[i].c_out;
    long rows = (long)s->n * conv2d_out_h(s) * conv2d_out_w(s);
    const float *x = a->conv[i];
    for (long r = 0; r < rows; r++)
        for (int j = 0; j < c; j++) {
            double v = x[r * c + j];
            sum[j] += v;
            sumsq[j] += v * v;
        }
}

/* Unit u's BN re-expressed with mean/var, the eval-mode function kept (see the header). */
static void reparametrise(mnv2_unit *u, const double *mean, const double *var, float eps) {
    for (int j = 0; j < u->c_out; j++) {
        double A = u->gamma[j] / sqrt((double)u->running_var[j] + eps);
        double B = u->beta[j] - u->running_mean[j] * A;
        double v = var[j] > 0 ? var[j] : 0;
        u->running_mean[j] = (float)mean[j];
        u->running_var[j] = (float)v;
        u->gamma[j] = (float)(A * sqrt(v + eps));
        u->beta[j] = (float)(B + mean[j] * A);
    }
}

int mobilenetv2_bn_from_data(mobilenetv2 *m, const float *x, int n, int h, int w, int chunk) {
    if (n < 1) return avemo_error(AVEMO_EINVAL, "MobileNetV2 BN from data: no images");
    if (chunk <= 0) chunk = BN_DATA_CHUNK;
    long total = 0;
    for (int i = 0; i < MNV2_UNITS; i++) total += m->p.units[i].c_out;
    double *sum = calloc((size_t)total * 2, sizeof *sum);
    float *feat = malloc((size_t)chunk * MNV2_FEATURES * sizeof *feat);
    int rc = sum && feat ? AVEMO_OK : avemo_error(AVEMO_ENOMEM, "out of memory");
    double *sumsq = sum ? sum + total : NULL;
    long rows_total[MNV2_UNITS] = {0};
    for (int n0 = 0; n0 < n && !rc; n0 += chunk) {
        int nb = n - n0 < chunk ? n - n0 : chunk;
        rc = mobilenetv2_forward(m, feat, x + (long)n0 * h * w * m->in_channels, nb, h, w, 0);
        long off = 0;
        for (int i = 0; i < MNV2_UNITS && !rc; i++) {
            const conv2d_shape *s = &m->acts.shape[i];
            accumulate_unit(m, i, sum + off, sumsq + off);
            rows_total[i] += (long)s->n * conv2d_out_h(s) * conv2d_out_w(s);
            off += m->p.units[i].c_out;
        }
    }
    for (int i = 0, off = 0; i < MNV2_UNITS && !rc; off += m->p.units[i].c_out, i++) {
        double *mean = sum + off, *var = sumsq + off;
        for (int j = 0; j < m->p.units[i].c_out; j++) {
            mean[j] /= (double)rows_total[i];
            var[j] = var[j] / (double)rows_total[i] - mean[j] * mean[j];
        }
        reparametrise(&m->p.units[i], mean, var, m->bn_eps);
    }
    free(sum);
    free(feat);
    return rc;
}

int mobilenetv2_tensor_unit(const mobilenetv2 *m, int e) {
    int unit = -1;
    for (int k = 0; k <= e && k < m->param_layout.n; k++)
        if (m->param_layout.e[k].ndim == 4) unit++; /* each unit's tensors start with its conv weight */
    if (e < m->param_layout.n && !strncmp(m->param_layout.e[e].name, "classifier", 10)) return -1;
    return unit;
}
