/* Part of a new model from a trained model file (see model_init.h). */
#include "model/model_init.h"

#include "core/err.h"
#include "io/safetensors.h"
#include "model/model_file.h"

#include <string.h>

static int has_prefix(const layout_entry *e, const char *prefix) {
    return strncmp(e->name, prefix, strlen(prefix)) == 0;
}

/* Every tensor of m named prefix* must be in f with the same shape: checked before anything is copied, so a
 * failure leaves m untouched. *n_found = those tensors. */
static int check_prefixed_tensors(const model *m, const st_file *f, const char *path, const char *prefix,
                                  int *n_found) {
    int wanted = 0, found = 0;
    for (int i = 0; i < model_n_tensors(m); i++) {
        const layout_entry *e = model_tensor(m, i);
        if (!has_prefix(e, prefix)) continue;
        wanted++;
        const st_tensor *t = st_find(f, e->name);
        if (!t) continue;
        int same = t->ndim == e->ndim;
        for (int d = 0; same && d < e->ndim; d++) same = t->shape[d] == e->shape[d];
        if (!same)
            return avemo_error(AVEMO_EINVAL, "%s: tensor %s has another shape than this model's (other feature size or "
                                             "widths?)", path, e->name);
        int rc = model_file_check_tensor(t, e->name, e->ndim, e->shape, path); /* float32 */
        if (rc) return rc;
        found++;
    }
    *n_found = found;
    if (wanted == 0) return avemo_error(AVEMO_EINVAL, "%s: this model has no tensors named %s*", path, prefix);
    if (found == 0)
        return avemo_error(AVEMO_EINVAL, "%s has no %s* tensors (a model without that stream?)", path, prefix);
    if (found != wanted)
        return avemo_error(AVEMO_EINVAL, "%s has only %d of the %d %s* tensors this model needs", path, found, wanted,
                           prefix);
    return AVEMO_OK;
}

int model_init_from_file(model *m, const char *path, const char *prefix, int *n_copied) {
    if (n_copied) *n_copied = 0;
    st_file f;
    int rc = st_read(path, &f), found = 0;
    if (rc) return rc;
    const char *format = st_meta(&f, "format");
    if (!format || strcmp(format, MODEL_FILE_FORMAT) != 0) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: not an avemo model file (no format avemo-model)", path);
        goto done;
    }
    if ((rc = check_prefixed_tensors(m, &f, path, prefix, &found))) goto done;
    for (int i = 0; i < model_n_tensors(m); i++) {
        const layout_entry *e = model_tensor(m, i);
        if (has_prefix(e, prefix) &&
            ((rc = st_to_f32(st_find(&f, e->name), model_tensor_data(m, i), e->count, path)) ||
             (rc = model_file_check_finite(model_tensor_data(m, i), e->count, e->name, path))))
            goto done;
    }
    if (n_copied) *n_copied = found;
done:
    st_free(&f);
    return rc;
}
