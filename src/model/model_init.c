#include "model/model_init.h"

#include "core/err.h"
#include "io/safetensors.h"
#include "model/model_file.h"

#include <string.h>

int model_init_from_file(model *m, const char *path, const char *prefix, int *n_copied) {
    if (n_copied) *n_copied = 0;
    st_file f;
    int rc = st_read(path, &f);
    if (rc) return rc;
    const char *fmt = st_meta(&f, "format");
    size_t np = strlen(prefix);
    int wanted = 0, copied = 0;
    if (!fmt || strcmp(fmt, MODEL_FILE_FORMAT) != 0) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: not an avemo model file (no format avemo-model)", path);
        goto done;
    }
    /* check every shape first, so a failure leaves m untouched */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < model_n_tensors(m); i++) {
            const layout_entry *e = model_tensor(m, i);
            if (strncmp(e->name, prefix, np) != 0) continue;
            const st_tensor *t = st_find(&f, e->name);
            if (pass == 0) {
                wanted++;
                if (!t) continue;
                int same = t->ndim == e->ndim;
                for (int d = 0; same && d < e->ndim; d++) same = t->shape[d] == e->shape[d];
                if (!same) {
                    rc = avemo_error(AVEMO_EINVAL, "%s: tensor %s has another shape than this model's (other feature "
                                                   "size or widths?)", path, e->name);
                    goto done;
                }
                copied++;
            } else if ((rc = st_to_f32(t, model_tensor_data(m, i), e->count, path))) {
                goto done;
            }
        }
        if (pass == 0 && (wanted == 0 || copied != wanted)) {
            rc = wanted == 0 ? avemo_error(AVEMO_EINVAL, "%s: this model has no tensors named %s*", path, prefix)
                 : copied == 0 ? avemo_error(AVEMO_EINVAL, "%s has no %s* tensors (a model without that stream?)", path, prefix)
                               : avemo_error(AVEMO_EINVAL, "%s has only %d of the %d %s* tensors this model needs", path,
                                             copied, wanted, prefix);
            goto done;
        }
    }
    if (n_copied) *n_copied = copied;
done:
    st_free(&f);
    return rc;
}
