/* MobileNetV2 (see mobilenetv2.h): the architecture and its tensors, forward / backward, folded inference.
 * Files: mobilenetv2_file.c (safetensors), mobilenetv2_tflite.c (TFLite import), mobilenetv2_infer.c (folded
 * inference: mobilenetv2_fold / mobilenetv2_infer). */
#include "model/mobilenetv2.h"

#include "core/err.h"
#include "nn/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* (expansion t, channels c, repeats n, stride s), the paper's Table 2 */
static const int settings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                   {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
#define STEM_CHANNELS 32

const char *mnv2_padding_name(mnv2_padding p) { return p == MNV2_PAD_TF_SAME ? "tf_same" : "torch"; }
const char *mnv2_norm_name(mnv2_norm n) { return n == MNV2_NORM_MINUS1_1 ? "minus1_1" : "imagenet"; }

static void set_unit(mnv2_unit *u, int c_in, int c_out, int k, int stride, int groups, int relu6) {
    memset(u, 0, sizeof *u);
    u->c_in = c_in;
    u->c_out = c_out;
    u->k = k;
    u->stride = stride;
    u->groups = groups;
    u->relu6 = relu6;
}

/* The units and blocks of the paper's Table 2 (shapes only) for in_channels input channels. */
static int build_architecture(mnv2_params *p, int in_channels) {
    mnv2_unit *U = p->units;
    int n_units = 0, c = STEM_CHANNELS, b = 0;
    set_unit(&U[n_units++], in_channels, c, 3, 2, 1, 1);
    for (int s = 0; s < 7; s++)
        for (int r = 0; r < settings[s][2]; r++, b++) {
            mnv2_block *B = &p->blocks[b];
            int t = settings[s][0], co = settings[s][1], stride = r == 0 ? settings[s][3] : 1;
            B->c_in = c;
            B->hidden = c * t;
            B->c_out = co;
            B->stride = stride;
            B->residual = stride == 1 && c == co;
            B->n_units = 0;
            if (t != 1) {
                set_unit(&U[n_units], c, B->hidden, 1, 1, 1, 1);
                B->u[B->n_units++] = &U[n_units++];
            }
            set_unit(&U[n_units], B->hidden, B->hidden, 3, stride, B->hidden, 1);
            B->u[B->n_units++] = &U[n_units++];
            set_unit(&U[n_units], B->hidden, co, 1, 1, 1, 0);
            B->u[B->n_units++] = &U[n_units++];
            c = co;
        }
    set_unit(&U[n_units++], c, MNV2_FEATURES, 1, 1, 1, 1);
    if (n_units != MNV2_UNITS || b != MNV2_BLOCKS) return avemo_error(AVEMO_EINTERNAL, "MobileNetV2: bad architecture");
    return AVEMO_OK;
}

/* The architecture of src in dst without its tensors (pointer fields NULL; dst's blocks point at dst's units). */
static void copy_architecture(mnv2_params *dst, const mnv2_params *src) {
    memset(dst, 0, sizeof *dst);
    for (int i = 0; i < MNV2_UNITS; i++) {
        const mnv2_unit *u = &src->units[i];
        set_unit(&dst->units[i], u->c_in, u->c_out, u->k, u->stride, u->groups, u->relu6);
    }
    for (int b = 0; b < MNV2_BLOCKS; b++) {
        dst->blocks[b] = src->blocks[b];
        for (int k = 0; k < src->blocks[b].n_units; k++)
            dst->blocks[b].u[k] = &dst->units[src->blocks[b].u[k] - src->units];
    }
}

/* Declare a unit's tensors in state_dict order: the conv weight, then BN weight and bias (trainable), running
 * mean and var (buffers); torchvision's names, timm's as aliases. */
static void declare_unit(layout *L, mnv2_unit *u, const char *conv, const char *bn, const char *timm_conv,
                         const char *timm_bn) {
    static const char *bn_suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    static const layout_kind bn_kind[4] = {LT_ONES, LT_ZEROS, LT_BUF_ZEROS, LT_BUF_ONES};
    float **bn_field[4] = {&u->gamma, &u->beta, &u->running_mean, &u->running_var};
    LAYOUT_ADD(L, &u->w, LT_WEIGHT, 0, conv, u->c_out, u->c_in / u->groups, u->k, u->k);
    layout_alias(L, "%s", timm_conv);
    for (int k = 0; k < 4; k++) {
        int64_t c_out = u->c_out;
        layout_add(L, bn_field[k], bn_kind[k], 0, 1, &c_out, "%s.%s", bn, bn_suffix[k]);
        layout_alias(L, "%s.%s", timm_bn, bn_suffix[k]);
    }
}

/* The units of inverted residual block b (features.<b + 1>), timm's blocks.<stage>.<index in stage>. */
static void declare_block(layout *L, mnv2_block *B, int b, int stage, int index) {
    char conv[48], bn[48], timm_conv[48], timm_bn[48];
    int f = b + 1;
    if (B->n_units == 2) { /* features.1: depthwise, project */
        snprintf(conv, sizeof conv, "features.%d.conv.0.0.weight", f);
        snprintf(bn, sizeof bn, "features.%d.conv.0.1", f);
        snprintf(timm_conv, sizeof timm_conv, "blocks.%d.%d.conv_dw.weight", stage, index);
        snprintf(timm_bn, sizeof timm_bn, "blocks.%d.%d.bn1", stage, index);
        declare_unit(L, B->u[0], conv, bn, timm_conv, timm_bn);
        snprintf(conv, sizeof conv, "features.%d.conv.1.weight", f);
        snprintf(bn, sizeof bn, "features.%d.conv.2", f);
        snprintf(timm_conv, sizeof timm_conv, "blocks.%d.%d.conv_pw.weight", stage, index);
        snprintf(timm_bn, sizeof timm_bn, "blocks.%d.%d.bn2", stage, index);
        declare_unit(L, B->u[1], conv, bn, timm_conv, timm_bn);
        return;
    }
    /* expand, depthwise, project */
    static const char *tv_conv[3] = {"conv.0.0.weight", "conv.1.0.weight", "conv.2.weight"};
    static const char *tv_bn[3] = {"conv.0.1", "conv.1.1", "conv.3"};
    static const char *timm_conv_name[3] = {"conv_pw", "conv_dw", "conv_pwl"};
    for (int k = 0; k < 3; k++) {
        snprintf(conv, sizeof conv, "features.%d.%s", f, tv_conv[k]);
        snprintf(bn, sizeof bn, "features.%d.%s", f, tv_bn[k]);
        snprintf(timm_conv, sizeof timm_conv, "blocks.%d.%d.%s.weight", stage, index, timm_conv_name[k]);
        snprintf(timm_bn, sizeof timm_bn, "blocks.%d.%d.bn%d", stage, index, k + 1);
        declare_unit(L, B->u[k], conv, bn, timm_conv, timm_bn);
    }
}

/* Every tensor of the state_dict, in its order, into m->param_layout (fields of m->p). */
static void declare_tensors(mobilenetv2 *m) {
    layout *L = &m->param_layout;
    mnv2_params *p = &m->p;
    layout_begin(L, p);
    declare_unit(L, &p->units[0], "features.0.0.weight", "features.0.1", "conv_stem.weight", "bn1");
    for (int s = 0, b = 0; s < 7; s++)
        for (int r = 0; r < settings[s][2]; r++, b++) declare_block(L, &p->blocks[b], b, s, r);
    declare_unit(L, &p->units[MNV2_UNITS - 1], "features.18.0.weight", "features.18.1", "conv_head.weight", "bn2");
    if (m->n_classes) {
        LAYOUT_ADD(L, &p->fc_w, LT_WEIGHT, 0, "classifier.1.weight", m->n_classes, MNV2_FEATURES);
        layout_alias(L, "classifier.weight");
        LAYOUT_ADD(L, &p->fc_b, LT_BIAS, 0, "classifier.1.bias", m->n_classes);
        layout_alias(L, "classifier.bias");
    }
}

int mobilenetv2_init(mobilenetv2 *m, int in_channels, int n_classes) {
    memset(m, 0, sizeof *m);
    if (in_channels != 1 && in_channels != 3)
        return avemo_error(AVEMO_EINVAL, "MobileNetV2: in_channels must be 1 or 3 (got %d)", in_channels);
    if (n_classes < 0 || n_classes > 100000)
        return avemo_error(AVEMO_EINVAL, "MobileNetV2: bad number of classes %d", n_classes);
    m->in_channels = in_channels;
    m->n_classes = n_classes;
    m->bn_eps = MNV2_BN_EPS;
    m->bn_momentum = MNV2_BN_MOMENTUM;
    int rc = build_architecture(&m->p, in_channels);
    if (rc) return rc;
    declare_tensors(m);
    if ((rc = layout_alloc(&m->param_layout, &m->p, NULL, &m->params, NULL, &m->buffers, NULL))) {
        mobilenetv2_free(m);
        return avemo_error_prefix(rc, "MobileNetV2");
    }
    m->n_params = m->param_layout.n_grad;
    m->n_buffers = m->param_layout.n_nograd;
    for (int i = 0; i < MNV2_UNITS; i++) {
        mnv2_unit *u = &m->p.units[i];
        for (int j = 0; j < u->c_out; j++) u->gamma[j] = u->running_var[j] = 1;
    }
    return AVEMO_OK;
}

static void acts_free(mnv2_acts *a) {
    free(a->mem);
    free(a->scratch);
    memset(a, 0, sizeof *a);
}

void mobilenetv2_free(mobilenetv2 *m) {
    if (!m) return;
    free(m->params);
    free(m->grads);
    free(m->buffers);
    acts_free(&m->acts);
    layout_free(&m->param_layout);
    memset(m, 0, sizeof *m);
}

void mobilenetv2_init_random(mobilenetv2 *m, rng_t *rng) {
    for (int i = 0; i < MNV2_UNITS; i++) {
        mnv2_unit *u = &m->p.units[i];
        long count = (long)u->c_out * (u->c_in / u->groups) * u->k * u->k;
        double std = sqrt(2.0 / (double)(u->c_out / u->groups * u->k * u->k)); /* kaiming_normal_, fan_out */
        for (long j = 0; j < count; j++) u->w[j] = (float)(rng_normal(rng) * std);
        for (int j = 0; j < u->c_out; j++) {
            u->gamma[j] = 1;
            u->beta[j] = 0;
            u->running_mean[j] = 0;
            u->running_var[j] = 1;
        }
    }
    if (m->n_classes) {
        for (long j = 0; j < (long)m->n_classes * MNV2_FEATURES; j++) m->p.fc_w[j] = (float)(rng_normal(rng) * 0.01);
        memset(m->p.fc_b, 0, (size_t)m->n_classes * sizeof(float));
    }
    m->num_batches_tracked = 0;
}

int mobilenetv2_alloc_grads(mobilenetv2 *m) {
    if (m->grads) return AVEMO_OK;
    copy_architecture(&m->g, &m->p);
    int rc = layout_alloc_grads(&m->param_layout, &m->g, &m->grads);
    return rc ? avemo_error_prefix(rc, "MobileNetV2") : AVEMO_OK;
}

void mobilenetv2_zero_grads(mobilenetv2 *m) {
    if (m->grads) memset(m->grads, 0, (size_t)m->n_params * sizeof(float));
}

/* ---- shapes ---- */

static void same_pad(int in, int k, int s, int *lo, int *hi) {
    int out = (in + s - 1) / s, total = (out - 1) * s + k - in;
    if (total < 0) total = 0;
    *lo = total / 2;
    *hi = total - *lo;
}

void mnv2_unit_shape(conv2d_shape *s, const mnv2_unit *u, mnv2_padding pad, int n, int h, int w) {
    memset(s, 0, sizeof *s);
    s->n = n;
    s->h = h;
    s->w = w;
    s->c_in = u->c_in;
    s->c_out = u->c_out;
    s->kh = s->kw = u->k;
    s->stride_h = s->stride_w = u->stride;
    s->groups = u->groups;
    if (pad == MNV2_PAD_TF_SAME) {
        same_pad(h, u->k, u->stride, &s->pad_top, &s->pad_bottom);
        same_pad(w, u->k, u->stride, &s->pad_left, &s->pad_right);
    } else {
        s->pad_top = s->pad_bottom = s->pad_left = s->pad_right = u->k / 2;
    }
}

static int check_input(const mobilenetv2 *m, int n, int h, int w) {
    if (n < 1 || h < 1 || w < 1 || (long)n * h * w > (1L << 31) / 4)
        return avemo_error(AVEMO_EINVAL, "MobileNetV2: bad input size %d x %d x %d", n, h, w);
    return AVEMO_OK;
}

/* Size the activation storage for n x h x w. */
static int acts_alloc(mobilenetv2 *m, int n, int h, int w) {
    mnv2_acts *a = &m->acts;
    if (a->mem && a->n == n && a->h == h && a->w == w && a->padding == (int)m->padding) return AVEMO_OK;
    acts_free(a);
    long total = 0, stats = 0, max_act = (long)n * h * w * m->in_channels;
    int out_h = h, out_w = w;
    long off_conv[MNV2_UNITS], off_y[MNV2_UNITS];
    for (int i = 0; i < MNV2_UNITS; i++) {
        mnv2_unit_shape(&a->shape[i], &m->p.units[i], m->padding, n, out_h, out_w);
        out_h = conv2d_out_h(&a->shape[i]);
        out_w = conv2d_out_w(&a->shape[i]);
        if (out_h < 1 || out_w < 1) return avemo_error(AVEMO_EINVAL, "MobileNetV2: input %d x %d too small", h, w);
        long size = (long)n * out_h * out_w * m->p.units[i].c_out;
        off_conv[i] = total;
        off_y[i] = total + size;
        total += 2 * size;
        stats += m->p.units[i].c_out;
        if (size > max_act) max_act = size;
    }
    a->mem = malloc((size_t)(total + 2 * stats + (long)n * MNV2_FEATURES) * sizeof(float));
    if (!a->mem) return avemo_error(AVEMO_ENOMEM, "MobileNetV2: cannot allocate activations (%ld floats)", total);
    for (int i = 0; i < MNV2_UNITS; i++) {
        a->conv[i] = a->mem + off_conv[i];
        a->y[i] = a->mem + off_y[i];
    }
    a->mean = a->mem + total;
    a->rstd = a->mean + stats;
    a->pooled = a->rstd + stats;
    a->max_act = max_act;
    a->padding = (int)m->padding;
    a->n = n;
    a->h = h;
    a->w = w;
    return AVEMO_OK;
}

/* ---- forward / backward ---- */

static long unit_stat_offset(const mobilenetv2 *m, int i) {
    long off = 0;
    for (int k = 0; k < i; k++) off += m->p.units[k].c_out;
    return off;
}

static int unit_forward(mobilenetv2 *m, int i, const float *in, int train) {
    mnv2_acts *a = &m->acts;
    mnv2_unit *u = &m->p.units[i];
    conv2d_shape *s = &a->shape[i];
    a->in[i] = (float *)in;
    int rc = conv2d_forward(a->conv[i], in, u->w, NULL, s);
    if (rc) return rc;
    long rows = (long)s->n * conv2d_out_h(s) * conv2d_out_w(s);
    if (train) {
        long stat = unit_stat_offset(m, i);
        batchnorm_forward_train(a->y[i], a->mean + stat, a->rstd + stat, u->running_mean, u->running_var, a->conv[i],
                                u->gamma, u->beta, rows, u->c_out, m->bn_momentum, m->bn_eps);
    } else {
        batchnorm_forward_eval(a->y[i], a->conv[i], u->gamma, u->beta, u->running_mean, u->running_var, rows,
                               u->c_out, m->bn_eps);
    }
    if (u->relu6) relu6_forward(a->y[i], a->y[i], rows * u->c_out);
    return AVEMO_OK;
}

int mobilenetv2_forward(mobilenetv2 *m, float *features, const float *x, int n, int h, int w, int train) {
    int rc = check_input(m, n, h, w);
    if (rc || (rc = acts_alloc(m, n, h, w))) return rc;
    mnv2_acts *a = &m->acts;
    a->train = train;
    if ((rc = unit_forward(m, 0, x, train))) return rc;
    const float *cur = a->y[0];
    for (int b = 0; b < MNV2_BLOCKS; b++) {
        const mnv2_block *B = &m->p.blocks[b];
        const float *block_in = cur;
        for (int k = 0; k < B->n_units; k++) {
            int i = (int)(B->u[k] - m->p.units);
            if ((rc = unit_forward(m, i, cur, train))) return rc;
            cur = a->y[i];
        }
        if (B->residual) { /* x + block(x) */
            int last = (int)(B->u[B->n_units - 1] - m->p.units);
            long count = (long)n * conv2d_out_h(&a->shape[last]) * conv2d_out_w(&a->shape[last]) * B->c_out;
            float *y = a->y[last];
            for (long j = 0; j < count; j++) y[j] += block_in[j];
        }
    }
    int head = MNV2_UNITS - 1;
    if ((rc = unit_forward(m, head, cur, train))) return rc;
    long hw = (long)conv2d_out_h(&a->shape[head]) * conv2d_out_w(&a->shape[head]);
    avgpool_global_forward(a->pooled, a->y[head], n, hw, MNV2_FEATURES);
    memcpy(features, a->pooled, (size_t)n * MNV2_FEATURES * sizeof(float));
    if (train) m->num_batches_tracked++;
    return AVEMO_OK;
}

/* Backward of eval-mode BN, affine per channel: y = (x - mean) r gamma + beta, r = 1/sqrt(var + eps).
 * dy, x [rows, c]; dx overwritten, dgamma / dbeta accumulated (sums in double). */
static void bn_eval_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                             const mnv2_unit *u, long rows, float eps) {
    int c_out = u->c_out;
    for (int c = 0; c < c_out; c++) {
        float r = 1.0f / sqrtf(u->running_var[c] + eps);
        double sum_gamma = 0, sum_beta = 0;
        for (long j = 0; j < rows; j++) {
            float d = dy[j * c_out + c];
            sum_beta += d;
            sum_gamma += (double)d * (x[j * c_out + c] - u->running_mean[c]) * r;
            dx[j * c_out + c] = d * r * u->gamma[c];
        }
        dgamma[c] += (float)sum_gamma;
        dbeta[c] += (float)sum_beta;
    }
}

/* dy: gradient of unit i's output y. Accumulates parameter gradients; dx_in (zeroed here when zero_dx)
 * receives the gradient of its input. Scratch: dbn_out (gradient of the BN output, before ReLU6), dconv
 * (gradient of the conv output, before BN), each the size of the unit's output. */
static int unit_backward(mobilenetv2 *m, int i, float *dx_in, int zero_dx, const float *dy, float *dbn_out,
                         float *dconv) {
    mnv2_acts *a = &m->acts;
    mnv2_unit *u = &m->p.units[i], *g = &m->g.units[i];
    conv2d_shape *s = &a->shape[i];
    long rows = (long)s->n * conv2d_out_h(s) * conv2d_out_w(s), count = rows * u->c_out;
    const float *dbn = dy;
    if (u->relu6) {
        memset(dbn_out, 0, (size_t)count * sizeof(float));
        relu6_backward(dbn_out, dy, a->y[i], count);
        dbn = dbn_out;
    }
    memset(dconv, 0, (size_t)count * sizeof(float));
    if (a->train) {
        long stat = unit_stat_offset(m, i);
        batchnorm_backward(dconv, g->gamma, g->beta, dbn, a->conv[i], a->mean + stat, a->rstd + stat, u->gamma, rows,
                           u->c_out);
    } else {
        bn_eval_backward(dconv, g->gamma, g->beta, dbn, a->conv[i], u, rows, m->bn_eps);
    }
    if (dx_in && zero_dx) memset(dx_in, 0, (size_t)s->n * s->h * s->w * s->c_in * sizeof(float));
    return conv2d_backward(dx_in, g->w, NULL, dconv, a->in[i], u->w, s);
}

int mobilenetv2_backward(mobilenetv2 *m, float *dx, const float *dfeatures) {
    mnv2_acts *a = &m->acts;
    if (!a->mem || !m->grads) return avemo_error(AVEMO_EINVAL, "MobileNetV2 backward: no forward pass or no gradients");
    if (!a->scratch) {
        a->scratch = malloc((size_t)a->max_act * 5 * sizeof(float));
        if (!a->scratch) return avemo_error(AVEMO_ENOMEM, "MobileNetV2 backward: cannot allocate scratch");
    }
    /* three gradient buffers in rotation (a block's output gradient stays while its units run), two scratch */
    float *grad[3] = {a->scratch, a->scratch + a->max_act, a->scratch + 2 * a->max_act};
    float *dbn_out = a->scratch + 3 * a->max_act, *dconv = a->scratch + 4 * a->max_act;
    int n = a->n, head = MNV2_UNITS - 1, rc;
    long hw = (long)conv2d_out_h(&a->shape[head]) * conv2d_out_w(&a->shape[head]);
    memset(grad[0], 0, (size_t)n * hw * MNV2_FEATURES * sizeof(float));
    avgpool_global_backward(grad[0], dfeatures, n, hw, MNV2_FEATURES);
    if ((rc = unit_backward(m, head, grad[1], 1, grad[0], dbn_out, dconv))) return rc;
    int cur = 1; /* grad[cur] = gradient of the current block's output */
    for (int b = MNV2_BLOCKS - 1; b >= 0; b--) {
        const mnv2_block *B = &m->p.blocks[b];
        int block_out = cur, unit_out = cur;
        for (int k = B->n_units - 1; k >= 0; k--) {
            int i = (int)(B->u[k] - m->p.units), unit_in = (unit_out + 1) % 3;
            if (unit_in == block_out) unit_in = (unit_in + 1) % 3;
            if ((rc = unit_backward(m, i, grad[unit_in], 1, grad[unit_out], dbn_out, dconv))) return rc;
            unit_out = unit_in;
        }
        if (B->residual) {
            const conv2d_shape *s = &a->shape[B->u[0] - m->p.units];
            long count = (long)n * s->h * s->w * B->c_in;
            for (long j = 0; j < count; j++) grad[unit_out][j] += grad[block_out][j];
        }
        cur = unit_out;
    }
    return unit_backward(m, 0, dx, 0, grad[cur], dbn_out, dconv);
}

int mobilenetv2_classify(const mobilenetv2 *m, float *logits, const float *features, int n) {
    if (!m->n_classes) return avemo_error(AVEMO_EINVAL, "MobileNetV2: this backbone has no classifier");
    return linear_forward(logits, features, m->p.fc_w, m->p.fc_b, n, MNV2_FEATURES, m->n_classes);
}

/* ---- normalisation ---- */

void mobilenetv2_normalize_u8(float *dst, const unsigned char *src, long pixels, int channels, mnv2_norm norm) {
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    const float gray_mean = (0.485f + 0.456f + 0.406f) / 3, gray_std = (0.229f + 0.224f + 0.225f) / 3;
    for (long p = 0; p < pixels; p++)
        for (int c = 0; c < channels; c++) {
            float v = src[p * channels + c];
            if (norm == MNV2_NORM_MINUS1_1) {
                dst[p * channels + c] = v / 127.5f - 1.0f;
            } else {
                float mu = channels == 3 ? mean[c] : gray_mean, sd = channels == 3 ? std[c] : gray_std;
                dst[p * channels + c] = (v / 255.0f - mu) / sd;
            }
        }
}

void mobilenetv2_normalize_f32(float *x, long pixels, int channels, mnv2_norm norm) {
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    const float gray_mean = (0.485f + 0.456f + 0.406f) / 3, gray_std = (0.229f + 0.224f + 0.225f) / 3;
    for (long p = 0; p < pixels; p++)
        for (int c = 0; c < channels; c++) {
            float v = x[p * channels + c];
            if (norm == MNV2_NORM_MINUS1_1) {
                x[p * channels + c] = v / 127.5f - 1.0f;
            } else {
                float mu = channels == 3 ? mean[c] : gray_mean, sd = channels == 3 ? std[c] : gray_std;
                x[p * channels + c] = (v / 255.0f - mu) / sd;
            }
        }
}
