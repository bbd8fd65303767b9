/* MobileNetV2 weights in safetensors files: torchvision's state_dict names (timm's accepted when loading), a
 * 3-channel stem summed into a 1-channel model (see mobilenetv2_load / _from_file / _save in mobilenetv2.h). */
#include "model/mobilenetv2.h"

#include "core/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "[d0,d1,...]" of a shape */
static void shape_text(char *buf, size_t cap, const int64_t *shape, int ndim) {
    buf[0] = 0;
    for (int d = 0; d < ndim && d < 6; d++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%lld", d ? "," : "", (long long)shape[d]);
}

/* A 3-channel stem [c_out, 3, k, k] into a 1-channel model's [c_out, 1, k, k]: the RGB filters summed (the
 * model's gray input is R = G = B). */
static int load_rgb_stem_as_gray(float *dst, const st_tensor *s, const char *file_name) {
    float *rgb = malloc((size_t)s->count * sizeof(float));
    if (!rgb) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", file_name);
    int rc = st_to_f32(s, rgb, s->count, file_name);
    if (!rc) {
        long khw = (long)(s->shape[2] * s->shape[3]);
        for (long o = 0; o < s->shape[0]; o++)
            for (long j = 0; j < khw; j++)
                dst[o * khw + j] = rgb[(o * 3 + 0) * khw + j] + rgb[(o * 3 + 1) * khw + j] + rgb[(o * 3 + 2) * khw + j];
    }
    free(rgb);
    return rc;
}

/* Tensor i of the state_dict from f, by its torchvision name or its timm alias. */
static int load_tensor(mobilenetv2 *m, int i, const st_file *f, const char *file_name) {
    const layout_entry *t = &m->param_layout.e[i];
    const st_tensor *s = st_find(f, t->name);
    if (!s) s = st_find(f, t->alias);
    if (!s)
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' missing (not a MobileNetV2 v1.0 checkpoint?)", file_name,
                           t->name);
    float *dst = layout_ptr(t, &m->p);
    int stem = i == 0 && s->ndim == 4 && s->shape[1] != m->in_channels;
    int shape_ok = s->ndim == t->ndim;
    for (int d = 0; d < t->ndim && shape_ok; d++) shape_ok = s->shape[d] == t->shape[d] || (stem && d == 1);
    if (!shape_ok) {
        char want[64], got[64];
        shape_text(want, sizeof want, t->shape, t->ndim);
        shape_text(got, sizeof got, s->shape, s->ndim);
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has shape [%s], expected [%s]", file_name, t->name, got,
                           want);
    }
    if (s->dtype != ST_F32 && s->dtype != ST_F16 && s->dtype != ST_BF16 && s->dtype != ST_F64)
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' is not floating point (F32, F16, BF16 or F64)", file_name,
                           t->name);
    int rc;
    if (!stem) {
        rc = st_to_f32(s, dst, t->count, file_name);
    } else if (m->in_channels != 1 || s->shape[1] != 3) {
        return avemo_error(AVEMO_EFORMAT, "%s: stem has %lld input channels, model %d", file_name,
                           (long long)s->shape[1], m->in_channels);
    } else {
        rc = load_rgb_stem_as_gray(dst, s, file_name);
    }
    for (long k = 0; !rc && k < t->count; k++)
        if (!isfinite(dst[k]))
            rc = avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' holds %g at index %ld (weights must be finite)", file_name,
                             t->name, dst[k], k);
    return rc;
}

/* Load from a safetensors file with torchvision (or timm) names. A 3-channel stem loads into a 1-channel model
 * by summing its RGB filters. The classifier is loaded when the model has one (n_classes must match).
 * Metadata "padding" and "input_norm" set m->padding and m->norm (defaults: torch, imagenet). */
static int mobilenetv2_load(mobilenetv2 *m, const st_file *f, const char *file_name) {
    const char *pad = st_meta(f, "padding"), *norm = st_meta(f, "input_norm");
    if (pad && strcmp(pad, "torch") && strcmp(pad, "tf_same"))
        return avemo_error(AVEMO_EFORMAT, "%s: unknown padding '%s' in metadata (torch or tf_same)", file_name, pad);
    if (norm && strcmp(norm, "imagenet") && strcmp(norm, "minus1_1"))
        return avemo_error(AVEMO_EFORMAT, "%s: unknown input_norm '%s' in metadata (imagenet or minus1_1)",
                           file_name, norm);
    m->padding = pad && !strcmp(pad, "tf_same") ? MNV2_PAD_TF_SAME : MNV2_PAD_TORCH;
    m->norm = norm && !strcmp(norm, "minus1_1") ? MNV2_NORM_MINUS1_1 : MNV2_NORM_IMAGENET;
    for (int i = 0; i < m->param_layout.n; i++) {
        int rc = load_tensor(m, i, f, file_name);
        if (rc) return rc;
    }
    const st_tensor *batches = st_find(f, "features.0.1.num_batches_tracked");
    if (batches && batches->dtype == ST_I64 && batches->count == 1) memcpy(&m->num_batches_tracked, batches->data, 8);
    return AVEMO_OK;
}

int mobilenetv2_from_file(mobilenetv2 *m, const char *path, int in_channels) {
    memset(m, 0, sizeof *m);
    st_file f;
    int rc = st_read(path, &f);
    if (rc) return rc;
    const st_tensor *stem = st_find(&f, "features.0.0.weight");
    if (!stem) stem = st_find(&f, "conv_stem.weight");
    const st_tensor *fc = st_find(&f, "classifier.1.weight");
    if (!fc) fc = st_find(&f, "classifier.weight");
    if (!stem || stem->ndim != 4 || (stem->shape[1] != 1 && stem->shape[1] != 3)) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: no MobileNetV2 stem (features.0.0.weight) with 1 or 3 input channels",
                         path);
        goto done;
    }
    if (fc && (fc->ndim != 2 || fc->shape[1] != MNV2_FEATURES || fc->shape[0] < 1 || fc->shape[0] > 100000)) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: classifier weight is not [classes, 1280]", path);
        goto done;
    }
    if ((rc = mobilenetv2_init(m, in_channels ? in_channels : (int)stem->shape[1], fc ? (int)fc->shape[0] : 0)))
        goto done;
    if ((rc = mobilenetv2_load(m, &f, path))) mobilenetv2_free(m);
done:
    st_free(&f);
    return rc;
}

int mobilenetv2_save(const mobilenetv2 *m, const char *path, const char *const *meta_kv, int n_meta) {
    st_writer *w = st_writer_new();
    if (!w) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    int rc = AVEMO_OK;
    int64_t batches = m->num_batches_tracked;
    char chans[16], eps[32];
    snprintf(chans, sizeof chans, "%d", m->in_channels);
    snprintf(eps, sizeof eps, "%g", (double)m->bn_eps);
    rc = st_writer_meta(w, "arch", "mobilenet_v2_1.0");
    if (!rc) rc = st_writer_meta(w, "padding", mnv2_padding_name(m->padding));
    if (!rc) rc = st_writer_meta(w, "input_norm", mnv2_norm_name(m->norm));
    if (!rc) rc = st_writer_meta(w, "in_channels", chans);
    if (!rc) rc = st_writer_meta(w, "bn_eps", eps);
    for (int i = 0; i < n_meta && !rc; i++) rc = st_writer_meta(w, meta_kv[2 * i], meta_kv[2 * i + 1]);
    for (int i = 0; i < m->param_layout.n && !rc; i++) {
        const layout_entry *t = &m->param_layout.e[i];
        rc = st_writer_add(w, t->name, ST_F32, t->ndim, t->shape, layout_ptr(t, &m->p));
        /* torchvision's state_dict has num_batches_tracked after each BN's running_var */
        size_t len = strlen(t->name);
        if (!rc && len > 12 && !strcmp(t->name + len - 12, ".running_var")) {
            char name[LAYOUT_NAME_MAX + 32];
            snprintf(name, sizeof name, "%.*s.num_batches_tracked", (int)(len - 12), t->name);
            rc = st_writer_add(w, name, ST_I64, 0, NULL, &batches);
        }
    }
    if (!rc) rc = st_writer_write(w, path);
    st_writer_free(w);
    return rc;
}
