/* MTCNN weights from the face-api.js TF.js export (vision/mtcnn_weights.h): tensors by name from the
 * manifest, shapes checked; the export's naming and layouts are the ones mtcnn_weights_fill asks for. */
#include "vision/mtcnn_weights.h"

#include "core/err.h"
#include "io/tfjs.h"

#include <string.h>

typedef struct {
    const tfjs_weights *tw;
    const char *path;
} tfjs_source;

static int tfjs_get(void *ctx, const char *name, int ndim, const int *shape, float *out) {
    const tfjs_source *c = ctx;
    const tfjs_tensor *t = tfjs_find(c->tw, name);
    if (!t) return avemo_error(AVEMO_EFORMAT, "%s: MTCNN tensor %s missing", c->path, name);
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (!ok) return avemo_error(AVEMO_EFORMAT, "%s: MTCNN tensor %s has an unexpected shape", c->path, name);
    memcpy(out, t->data, sizeof(float) * (size_t)t->count);
    return AVEMO_OK;
}

int mtcnn_weights_load_tfjs(const char *manifest_path, mtcnn_weights *w) {
    memset(w, 0, sizeof *w);
    tfjs_weights tw;
    int err = tfjs_load(manifest_path, &tw);
    if (err) return err;
    tfjs_source c = {&tw, manifest_path};
    err = mtcnn_weights_fill(tfjs_get, &c, manifest_path, w);
    tfjs_free(&tw);
    return err;
}
