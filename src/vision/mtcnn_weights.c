/* Filling mtcnn_weights from a source of TF.js-named tensors (vision/mtcnn_weights.h), converting the layouts
 * to the ones vision/mtcnn.c runs. */
#include "vision/mtcnn_weights.h"

#include "core/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *keep(mtcnn_weights *mw, size_t nfloat) {
    if (mw->n_allocs >= MTCNN_MAX_ALLOCS) return NULL;
    float *p = malloc(sizeof(float) * nfloat);
    if (p) mw->allocs[mw->n_allocs++] = p;
    return p;
}

/* The weight source: get() copies the tensor `name` (TF.js naming and layout: conv HWIO, dense [in, out]) of
 * the given shape into a buffer. */
typedef struct {
    mtcnn_tensor_fn get;
    void *ctx;
    const char *what; /* for messages */
} source;

/* src->get, then every value finite (else AVEMO_EFORMAT naming the tensor). */
static int get_finite(const source *src, const char *name, int ndim, const int *shape, float *out) {
    int err = src->get(src->ctx, name, ndim, shape, out);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) count *= (size_t)shape[i];
    for (size_t k = 0; !err && k < count; k++)
        if (!isfinite(out[k]))
            err = avemo_error(AVEMO_EFORMAT, "%s: MTCNN tensor %s holds %g (weights must be finite)", src->what, name,
                              out[k]);
    return err;
}

static float *fetch(const source *src, const char *name, int ndim, const int *shape, int *err) {
    size_t count = 1;
    for (int i = 0; i < ndim; i++) count *= (size_t)shape[i];
    float *buf = malloc(sizeof(float) * count);
    if (!buf) {
        *err = avemo_error(AVEMO_ENOMEM, "%s: out of memory", src->what);
        return NULL;
    }
    if ((*err = get_finite(src, name, ndim, shape, buf))) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* conv kernel HWIO [k, k, c_in, c_out] -> OIHW [c_out, c_in, k, k]; bias [c_out] */
static int load_conv(mtcnn_weights *mw, const source *src, const char *net, const char *layer, int k, int c_in,
                     int c_out, mtcnn_conv *p) {
    char name[128];
    int err = AVEMO_OK;
    snprintf(name, sizeof name, "%s/%s/weights", net, layer);
    float *hwio = fetch(src, name, 4, (int[]){k, k, c_in, c_out}, &err);
    if (!hwio) return err;
    snprintf(name, sizeof name, "%s/%s/bias", net, layer);
    p->weight = keep(mw, (size_t)k * k * c_in * c_out);
    p->bias = keep(mw, (size_t)c_out);
    if (!p->weight || !p->bias) err = avemo_error(AVEMO_ENOMEM, "%s: out of memory", src->what);
    else err = get_finite(src, name, 1, (int[]){c_out}, p->bias);
    if (!err)
        for (int y = 0; y < k; y++)
            for (int x = 0; x < k; x++)
                for (int i = 0; i < c_in; i++)
                    for (int o = 0; o < c_out; o++)
                        p->weight[(((size_t)o * c_in + i) * k + y) * k + x] =
                            hwio[(((size_t)y * k + x) * c_in + i) * c_out + o];
    free(hwio);
    p->c_in = c_in;
    p->c_out = c_out;
    p->k = k;
    return err;
}

/* dense kernel [in, out] -> [out, in] */
static int load_fc(mtcnn_weights *mw, const source *src, const char *net, const char *layer, int in, int out,
                   mtcnn_fc *p) {
    char name[128];
    int err = AVEMO_OK;
    snprintf(name, sizeof name, "%s/%s/weights", net, layer);
    float *in_out = fetch(src, name, 2, (int[]){in, out}, &err);
    if (!in_out) return err;
    snprintf(name, sizeof name, "%s/%s/bias", net, layer);
    p->weight = keep(mw, (size_t)in * out);
    p->bias = keep(mw, (size_t)out);
    if (!p->weight || !p->bias) err = avemo_error(AVEMO_ENOMEM, "%s: out of memory", src->what);
    else err = get_finite(src, name, 1, (int[]){out}, p->bias);
    if (!err)
        for (int i = 0; i < in; i++)
            for (int o = 0; o < out; o++) p->weight[(size_t)o * in + i] = in_out[(size_t)i * out + o];
    free(in_out);
    p->in = in;
    p->out = out;
    return err;
}

static int load_prelu(mtcnn_weights *mw, const source *src, const char *net, const char *layer, int c,
                      float **alpha) {
    char name[128];
    snprintf(name, sizeof name, "%s/%s_alpha", net, layer);
    *alpha = keep(mw, (size_t)c);
    if (!*alpha) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", src->what);
    return get_finite(src, name, 1, (int[]){c}, *alpha);
}

int mtcnn_weights_fill(mtcnn_tensor_fn get, void *ctx, const char *what, mtcnn_weights *w) {
    memset(w, 0, sizeof *w);
    source s = {get, ctx, what}, *src = &s;
    int err;
#define TRY(x) if ((err = (x))) goto fail
    TRY(load_conv(w, src, "pnet", "conv1", 3, 3, 10, &w->pnet.conv1));
    TRY(load_prelu(w, src, "pnet", "prelu1", 10, &w->pnet.prelu1));
    TRY(load_conv(w, src, "pnet", "conv2", 3, 10, 16, &w->pnet.conv2));
    TRY(load_prelu(w, src, "pnet", "prelu2", 16, &w->pnet.prelu2));
    TRY(load_conv(w, src, "pnet", "conv3", 3, 16, 32, &w->pnet.conv3));
    TRY(load_prelu(w, src, "pnet", "prelu3", 32, &w->pnet.prelu3));
    TRY(load_conv(w, src, "pnet", "conv4_1", 1, 32, 2, &w->pnet.conv4_1));
    TRY(load_conv(w, src, "pnet", "conv4_2", 1, 32, 4, &w->pnet.conv4_2));

    TRY(load_conv(w, src, "rnet", "conv1", 3, 3, 28, &w->rnet.conv1));
    TRY(load_prelu(w, src, "rnet", "prelu1", 28, &w->rnet.prelu1));
    TRY(load_conv(w, src, "rnet", "conv2", 3, 28, 48, &w->rnet.conv2));
    TRY(load_prelu(w, src, "rnet", "prelu2", 48, &w->rnet.prelu2));
    TRY(load_conv(w, src, "rnet", "conv3", 2, 48, 64, &w->rnet.conv3));
    TRY(load_prelu(w, src, "rnet", "prelu3", 64, &w->rnet.prelu3));
    TRY(load_fc(w, src, "rnet", "fc1", 576, 128, &w->rnet.fc1));
    TRY(load_prelu(w, src, "rnet", "prelu4", 128, &w->rnet.prelu4));
    TRY(load_fc(w, src, "rnet", "fc2_1", 128, 2, &w->rnet.fc2_1));
    TRY(load_fc(w, src, "rnet", "fc2_2", 128, 4, &w->rnet.fc2_2));

    TRY(load_conv(w, src, "onet", "conv1", 3, 3, 32, &w->onet.conv1));
    TRY(load_prelu(w, src, "onet", "prelu1", 32, &w->onet.prelu1));
    TRY(load_conv(w, src, "onet", "conv2", 3, 32, 64, &w->onet.conv2));
    TRY(load_prelu(w, src, "onet", "prelu2", 64, &w->onet.prelu2));
    TRY(load_conv(w, src, "onet", "conv3", 3, 64, 64, &w->onet.conv3));
    TRY(load_prelu(w, src, "onet", "prelu3", 64, &w->onet.prelu3));
    TRY(load_conv(w, src, "onet", "conv4", 2, 64, 128, &w->onet.conv4));
    TRY(load_prelu(w, src, "onet", "prelu4", 128, &w->onet.prelu4));
    TRY(load_fc(w, src, "onet", "fc1", 1152, 256, &w->onet.fc1));
    TRY(load_prelu(w, src, "onet", "prelu5", 256, &w->onet.prelu5));
    TRY(load_fc(w, src, "onet", "fc2_1", 256, 2, &w->onet.fc2_1));
    TRY(load_fc(w, src, "onet", "fc2_2", 256, 4, &w->onet.fc2_2));
    TRY(load_fc(w, src, "onet", "fc2_3", 256, 10, &w->onet.fc2_3));
#undef TRY
    return AVEMO_OK;
fail:
    mtcnn_weights_free(w);
    return err;
}

void mtcnn_weights_free(mtcnn_weights *w) {
    for (int i = 0; i < w->n_allocs; i++) free(w->allocs[i]);
    memset(w, 0, sizeof *w);
}
