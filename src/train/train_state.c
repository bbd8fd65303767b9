/* A fold's resume state (train/train_state.h). */
#include "train/train_state.h"

#include "core/err.h"
#include "io/safetensors.h"
#include "model/model_file.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static cJSON *float_array(const float *x, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, isfinite(x[i]) ? cJSON_CreateNumber(x[i]) : cJSON_CreateNull());
    return a;
}

static void read_float_array(const cJSON *a, float *x, int n) {
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(a, i);
        x[i] = cJSON_IsNumber(v) ? (float)v->valuedouble : NAN;
    }
}

int train_state_save(const char *path, const model *m, const float *opt_m, const float *opt_v, const float *best,
                     const train_history *h, const char *fingerprint) {
    st_writer *w = st_writer_new();
    if (!w) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int64_t n_params = m->n_params, n_state = m->n_params + m->n_buffers;
    int rc = st_writer_add(w, "param", ST_F32, 1, &n_params, m->param_mem);
    if (!rc && m->n_buffers) {
        int64_t nbuf = m->n_buffers;
        rc = st_writer_add(w, "buffer", ST_F32, 1, &nbuf, m->buffer_mem);
    }
    if (!rc && opt_m) rc = st_writer_add(w, "opt_m", ST_F32, 1, &n_params, opt_m);
    if (!rc && opt_v) rc = st_writer_add(w, "opt_v", ST_F32, 1, &n_params, opt_v);
    if (!rc && best) rc = st_writer_add(w, "best", ST_F32, 1, &n_state, best);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "epoch", h->epoch);
    cJSON_AddNumberToObject(j, "step", (double)h->step);
    cJSON_AddNumberToObject(j, "best_epoch", h->best_epoch);
    if (isfinite(h->best_val)) cJSON_AddNumberToObject(j, "best_val", h->best_val);
    cJSON_AddItemToObject(j, "train_loss", float_array(h->train_loss, h->epoch));
    cJSON_AddItemToObject(j, "train_acc", float_array(h->train_acc, h->epoch));
    cJSON_AddItemToObject(j, "val_loss", float_array(h->val_loss, h->epoch));
    cJSON_AddItemToObject(j, "val_acc", float_array(h->val_acc, h->epoch));
    char *js = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!rc) rc = js ? st_writer_meta(w, "history", js) : avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!rc) rc = st_writer_meta(w, "options", fingerprint);
    if (!rc) rc = st_writer_write(w, path);
    free(js);
    st_writer_free(w);
    return rc;
}

int train_state_load(const char *path, model *m, float *opt_m, float *opt_v, float *best, int *have_best,
                     train_history *h, const char *fingerprint, int epochs) {
    st_file f;
    int rc = st_read(path, &f);
    if (rc) return rc;
    const char *fp = st_meta(&f, "options"), *hist = st_meta(&f, "history");
    cJSON *j = NULL;
    if (!fp || strcmp(fp, fingerprint) != 0) {
        rc = avemo_error(AVEMO_EINVAL, "%s: this run was started with other options or data; use a new RUN folder "
                                       "or the same options to resume", path);
        goto done;
    }
    const st_tensor *t;
    if (!(t = st_find(&f, "param")) || (rc = st_to_f32(t, m->param_mem, m->n_params, path))) {
        if (!rc) rc = avemo_error(AVEMO_EFORMAT, "%s: no 'param' tensor", path);
        goto done;
    }
    if (m->n_buffers && (!(t = st_find(&f, "buffer")) || (rc = st_to_f32(t, m->buffer_mem, m->n_buffers, path)))) {
        if (!rc) rc = avemo_error(AVEMO_EFORMAT, "%s: no 'buffer' tensor", path);
        goto done;
    }
    if (opt_m && (t = st_find(&f, "opt_m")) && (rc = st_to_f32(t, opt_m, m->n_params, path))) goto done;
    if (opt_v && (t = st_find(&f, "opt_v")) && (rc = st_to_f32(t, opt_v, m->n_params, path))) goto done;
    *have_best = 0;
    if ((t = st_find(&f, "best"))) {
        if ((rc = st_to_f32(t, best, m->n_params + m->n_buffers, path))) goto done;
        *have_best = 1;
    }
    if ((rc = model_file_check_finite(m->param_mem, m->n_params, "param", path)) ||
        (rc = model_file_check_finite(m->buffer_mem, m->n_buffers, "buffer", path)) ||
        (*have_best && (rc = model_file_check_finite(best, m->n_params + m->n_buffers, "best", path))))
        goto done;
    j = hist ? cJSON_Parse(hist) : NULL;
    const cJSON *e = cJSON_GetObjectItem(j, "epoch");
    if (!cJSON_IsNumber(e) || e->valueint < 0 || e->valueint > epochs) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: bad or missing history", path);
        goto done;
    }
    h->epoch = e->valueint;
    const cJSON *s = cJSON_GetObjectItem(j, "step"), *be = cJSON_GetObjectItem(j, "best_epoch"),
                *bv = cJSON_GetObjectItem(j, "best_val");
    h->step = cJSON_IsNumber(s) ? (long)s->valuedouble : 0;
    h->best_epoch = cJSON_IsNumber(be) ? be->valueint : 0;
    h->best_val = cJSON_IsNumber(bv) ? bv->valuedouble : NAN;
    read_float_array(cJSON_GetObjectItem(j, "train_loss"), h->train_loss, h->epoch);
    read_float_array(cJSON_GetObjectItem(j, "train_acc"), h->train_acc, h->epoch);
    read_float_array(cJSON_GetObjectItem(j, "val_loss"), h->val_loss, h->epoch);
    read_float_array(cJSON_GetObjectItem(j, "val_acc"), h->val_acc, h->epoch);
done:
    cJSON_Delete(j);
    st_free(&f);
    return rc;
}
