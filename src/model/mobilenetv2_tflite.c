/* MobileNetV2 weights from a TFLite flatbuffer (see mobilenetv2_from_tflite in mobilenetv2.h). */
#include "model/mobilenetv2.h"

#include "core/err.h"
#include "io/tflite.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Copy one TFLite conv into unit u (weights OIHW; BN = identity + folded bias). */
static int import_unit(mnv2_unit *u, const tfl_model *t, const tfl_op *op, int idx, int in_channels, float eps,
                       const char *path) {
    int dw = u->groups > 1;
    int want_op = dw ? TFL_OP_DEPTHWISE_CONV_2D : TFL_OP_CONV_2D;
    if (op->opcode != want_op || op->n_inputs < 3 || op->inputs[1] < 0 || op->inputs[2] < 0)
        return avemo_error(AVEMO_EFORMAT, "%s: convolution %d is %s, expected %s with a bias", path, idx,
                           tfl_op_name(op->opcode), tfl_op_name(want_op));
    const tfl_tensor *w = &t->tensors[op->inputs[1]], *b = &t->tensors[op->inputs[2]];
    int k = u->k, file_cin = idx == 0 ? 3 : u->c_in;
    /* TFLite filters: conv [c_out, kh, kw, c_in], depthwise [1, kh, kw, c_out] */
    int ok = w->ndim == 4 && w->shape[1] == k && w->shape[2] == k &&
             (dw ? w->shape[0] == 1 && w->shape[3] == u->c_out && op->depth_multiplier == 1
                 : w->shape[0] == u->c_out && (w->shape[3] == file_cin || (idx == 0 && w->shape[3] == in_channels)));
    ok = ok && b->ndim == 1 && b->shape[0] == u->c_out;
    if (!ok)
        return avemo_error(AVEMO_EFORMAT, "%s: convolution %d ('%s') has shape [%d,%d,%d,%d], not MobileNetV2 v1.0's",
                           path, idx, w->name, w->ndim > 0 ? w->shape[0] : 0, w->ndim > 1 ? w->shape[1] : 0,
                           w->ndim > 2 ? w->shape[2] : 0, w->ndim > 3 ? w->shape[3] : 0);
    int want_act = u->relu6 ? TFL_ACT_RELU6 : TFL_ACT_NONE;
    if (op->stride_h != u->stride || op->stride_w != u->stride || op->activation != want_act ||
        op->padding != TFL_PAD_SAME || op->dilation_h != 1 || op->dilation_w != 1)
        return avemo_error(AVEMO_EFORMAT, "%s: convolution %d ('%s') has stride %d, activation %d, padding %d; "
                           "expected stride %d, activation %d, SAME", path, idx, w->name, op->stride_h,
                           op->activation, op->padding, u->stride, want_act);
    if (!dw && w->shape[3] != u->c_in && !(w->shape[3] == 3 && u->c_in == 1))
        return avemo_error(AVEMO_EFORMAT, "%s: stem has %d input channels, the model %d", path, w->shape[3], u->c_in);
    float *filter = malloc((size_t)w->count * sizeof(float));
    if (!filter) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    int rc = tfl_to_f32(w, filter, w->count, path);
    if (!rc) rc = tfl_to_f32(b, u->beta, u->c_out, path);
    for (long k = 0; !rc && k < (long)w->count + u->c_out; k++) {
        float v = k < w->count ? filter[k] : u->beta[k - w->count];
        if (!isfinite(v))
            rc = avemo_error(AVEMO_EFORMAT, "%s: convolution %d ('%s') holds %g (weights must be finite)", path, idx,
                             k < w->count ? w->name : b->name, v);
    }
    if (rc) {
        free(filter);
        return rc;
    }
    int cin = w->shape[3];
    for (int o = 0; o < u->c_out; o++)
        for (int y = 0; y < k; y++)
            for (int x = 0; x < k; x++) {
                if (dw) {
                    u->w[(o * k + y) * k + x] = filter[(y * k + x) * u->c_out + o];
                } else if (u->c_in == cin) {
                    for (int c = 0; c < cin; c++)
                        u->w[((o * cin + c) * k + y) * k + x] = filter[((o * k + y) * k + x) * cin + c];
                } else { /* 3-channel stem into a 1-channel model: sum the RGB filters */
                    float s = 0;
                    for (int c = 0; c < cin; c++) s += filter[((o * k + y) * k + x) * cin + c];
                    u->w[(o * k + y) * k + x] = s;
                }
            }
    free(filter);
    float var = 1.0f - eps;
    if (var + eps != 1.0f) var = nextafterf(var, 2.0f);
    for (int c = 0; c < u->c_out; c++) {
        u->gamma[c] = 1.0f;
        u->running_mean[c] = 0.0f;
        u->running_var[c] = var;
    }
    return AVEMO_OK;
}

/* The model's convolutions in order: MNV2_UNITS, or one more (the logits) -> convs, *n_convs. */
static int find_convolutions(const tfl_model *t, const tfl_op **convs, int *n_convs, const char *path) {
    *n_convs = 0;
    for (int i = 0; i < t->n_ops; i++) {
        if (t->ops[i].opcode != TFL_OP_CONV_2D && t->ops[i].opcode != TFL_OP_DEPTHWISE_CONV_2D) continue;
        if (*n_convs == MNV2_UNITS + 1)
            return avemo_error(AVEMO_EFORMAT, "%s: more convolutions than MobileNetV2 v1.0 has", path);
        convs[(*n_convs)++] = &t->ops[i];
    }
    if (*n_convs < MNV2_UNITS)
        return avemo_error(AVEMO_EFORMAT, "%s: %d convolutions, MobileNetV2 v1.0 has %d", path, *n_convs, MNV2_UNITS);
    return AVEMO_OK;
}

/* The logits 1x1 conv op: weight [classes, 1, 1, 1280] and bias [classes]. */
static int logits_layer(const tfl_model *t, const tfl_op *op, const tfl_tensor **weight, const tfl_tensor **bias,
                        const char *path) {
    const tfl_tensor *w = NULL, *b = NULL;
    if (op->opcode == TFL_OP_CONV_2D && op->n_inputs >= 3 && op->inputs[1] >= 0 && op->inputs[2] >= 0) {
        w = &t->tensors[op->inputs[1]];
        b = &t->tensors[op->inputs[2]];
    }
    if (!w || w->ndim != 4 || w->shape[1] != 1 || w->shape[2] != 1 || w->shape[3] != MNV2_FEATURES || b->ndim != 1 ||
        b->shape[0] != w->shape[0] || w->shape[0] < 1 || w->shape[0] > 100000)
        return avemo_error(AVEMO_EFORMAT, "%s: last convolution is not a [classes, 1, 1, 1280] logits layer", path);
    *weight = w, *bias = b;
    return AVEMO_OK;
}

int mobilenetv2_from_tflite(mobilenetv2 *m, const char *path, int in_channels) {
    memset(m, 0, sizeof *m);
    tfl_model t;
    int rc = tfl_read(path, &t);
    if (rc) return rc;
    const tfl_op *convs[MNV2_UNITS + 1];
    const tfl_tensor *logits_w = NULL, *logits_b = NULL;
    int n_convs, n_classes = 0;
    if ((rc = find_convolutions(&t, convs, &n_convs, path))) goto done;
    if (n_convs == MNV2_UNITS + 1) {
        if ((rc = logits_layer(&t, convs[MNV2_UNITS], &logits_w, &logits_b, path))) goto done;
        n_classes = logits_w->shape[0];
    }
    const tfl_op *stem = convs[0];
    const tfl_tensor *stem_w = stem->n_inputs > 1 && stem->inputs[1] >= 0 ? &t.tensors[stem->inputs[1]] : NULL;
    if (!in_channels) in_channels = stem_w && stem_w->ndim == 4 ? stem_w->shape[3] : 3;
    if ((rc = mobilenetv2_init(m, in_channels, n_classes))) goto done;
    m->padding = MNV2_PAD_TF_SAME;
    m->norm = MNV2_NORM_MINUS1_1;
    for (int i = 0; i < MNV2_UNITS; i++)
        if ((rc = import_unit(&m->p.units[i], &t, convs[i], i, in_channels, m->bn_eps, path))) goto fail;
    if (n_classes) {
        if ((rc = tfl_to_f32(logits_w, m->p.fc_w, (int64_t)n_classes * MNV2_FEATURES, path)) ||
            (rc = tfl_to_f32(logits_b, m->p.fc_b, n_classes, path)))
            goto fail;
        for (long k = 0; k < (long)n_classes * (MNV2_FEATURES + 1); k++) {
            float v = k < (long)n_classes * MNV2_FEATURES ? m->p.fc_w[k] : m->p.fc_b[k - (long)n_classes * MNV2_FEATURES];
            if (!isfinite(v)) {
                rc = avemo_error(AVEMO_EFORMAT, "%s: the logits layer holds %g (weights must be finite)", path, v);
                goto fail;
            }
        }
    }
    goto done;
fail:
    mobilenetv2_free(m);
done:
    tfl_free(&t);
    return rc;
}
