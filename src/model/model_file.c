#include "model/model_file.h"

#include "core/err.h"
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *classes_json(const model_file *mf) {
    cJSON *names = cJSON_CreateArray();
    for (int i = 0; names && i < mf->n_classes; i++)
        cJSON_AddItemToArray(names, cJSON_CreateString(mf->class_names[i]));
    char *json = names ? cJSON_PrintUnformatted(names) : NULL;
    cJSON_Delete(names);
    return json;
}

/* metadata: format, config, classes, fold and the optional strings */
static int write_metadata(st_writer *w, const model_file *mf, const char *config_json, const char *classes) {
    char fold[16];
    snprintf(fold, sizeof fold, "%d", mf->fold);
    int rc;
    if ((rc = st_writer_meta(w, "format", MODEL_FILE_FORMAT)) || (rc = st_writer_meta(w, "config", config_json)) ||
        (rc = st_writer_meta(w, "classes", classes)) || (rc = st_writer_meta(w, "fold", fold)))
        return rc;
    if (mf->prep_json && (rc = st_writer_meta(w, "prep", mf->prep_json))) return rc;
    if (mf->dataset && (rc = st_writer_meta(w, "dataset", mf->dataset))) return rc;
    if (mf->protocol && (rc = st_writer_meta(w, "protocol", mf->protocol))) return rc;
    if (mf->selected && (rc = st_writer_meta(w, "selected", mf->selected))) return rc;
    return AVEMO_OK;
}

int model_file_save(const char *path, const model_file *mf) {
    const model *m = mf->m;
    int rc = AVEMO_ENOMEM;
    char *config_json = model_config_to_json(&m->cfg), *classes = classes_json(mf);
    st_writer *w = st_writer_new();
    if (!config_json || !classes || !w) {
        avemo_error(rc, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < model_n_tensors(m); i++) {
        const layout_entry *e = model_tensor(m, i);
        if ((rc = st_writer_add(w, e->name, ST_F32, e->ndim, e->shape, model_tensor_data(m, i)))) goto done;
    }
    int64_t n_audio = m->cfg.audio_channels, n_video = m->cfg.video_dim;
    if (mf->audio_mean && ((rc = st_writer_add(w, "audio_mean", ST_F32, 1, &n_audio, mf->audio_mean)) ||
                           (rc = st_writer_add(w, "audio_std", ST_F32, 1, &n_audio, mf->audio_std))))
        goto done;
    if (mf->video_mean && ((rc = st_writer_add(w, "video_mean", ST_F32, 1, &n_video, mf->video_mean)) ||
                           (rc = st_writer_add(w, "video_std", ST_F32, 1, &n_video, mf->video_std))))
        goto done;
    if ((rc = write_metadata(w, mf, config_json, classes))) goto done;
    rc = st_writer_write(w, path);
done:
    st_writer_free(w);
    free(config_json);
    free(classes);
    return rc;
}

void model_file_free(model_file *mf) {
    if (mf->m) model_free(mf->m);
    for (int i = 0; i < mf->n_classes; i++) free(mf->class_names[i]);
    free(mf->audio_mean);
    free(mf->audio_std);
    free(mf->video_mean);
    free(mf->video_std);
    free(mf->prep_json);
    free(mf->dataset);
    free(mf->protocol);
    free(mf->selected);
    memset(mf, 0, sizeof *mf);
}

static char *dup_meta(const st_file *f, const char *key) {
    const char *v = st_meta(f, key);
    return v ? strdup(v) : NULL;
}

/* "[d0,d1,...]" of a shape, for messages. */
static void shape_text(char *buf, size_t cap, const int64_t *shape, int ndim) {
    size_t n = 0;
    buf[0] = 0;
    for (int d = 0; d < ndim && n + 24 < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? "," : "", (long long)shape[d]);
}

int model_file_check_tensor(const st_tensor *t, const char *name, int ndim, const int64_t *shape, const char *path) {
    if (!t) return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' missing (config and weights disagree)", path, name);
    int same = t->ndim == ndim;
    for (int d = 0; d < ndim && same; d++) same = t->shape[d] == shape[d];
    char want[96], got[96];
    shape_text(want, sizeof want, shape, ndim);
    shape_text(got, sizeof got, t->shape, t->ndim);
    if (!same)
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has shape [%s], the config declares [%s]", path, name, got,
                           want);
    if (t->dtype != ST_F32)
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' [%s] is not float32 (F32)", path, name, got);
    return AVEMO_OK;
}

int model_file_check_finite(const float *x, long n, const char *name, const char *path) {
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' holds %g at index %ld (weights must be finite)", path,
                               name, x[i], i);
    return AVEMO_OK;
}

/* Copy the float32 vector `name` [count] into a fresh buffer: finite, and positive when it is a std. */
static int read_vec(const st_file *f, const char *path, const char *name, long count, float **out) {
    int64_t shape = count;
    int rc = model_file_check_tensor(st_find(f, name), name, 1, &shape, path);
    if (rc) return rc;
    *out = malloc((size_t)count * sizeof(float));
    if (!*out) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    if ((rc = st_to_f32(st_find(f, name), *out, count, path)) || (rc = model_file_check_finite(*out, count, name, path))) return rc;
    for (long i = 0; strstr(name, "_std") && i < count; i++)
        if (!((*out)[i] > 0))
            return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' holds %g at index %ld (a std must be positive)", path,
                               name, (*out)[i], i);
    return AVEMO_OK;
}

/* A class name a terminal can show as is: 1..AVEMO_CLASS_NAME_MAX bytes, no control characters (escape sequences
 * in a hostile model file would reach the terminal through predict). */
static int check_class_name(const cJSON *name, int i, const char *path) {
    const char *s = cJSON_IsString(name) ? name->valuestring : NULL;
    size_t n = s ? strlen(s) : 0;
    if (!s || n == 0 || n > MODEL_FILE_CLASS_NAME_MAX)
        return avemo_error(AVEMO_EFORMAT, "%s: class %d has no name of 1..%d characters", path, i,
                           MODEL_FILE_CLASS_NAME_MAX);
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
            return avemo_error(AVEMO_EFORMAT, "%s: class %d's name holds a control character (0x%02x)", path, i,
                               (unsigned char)s[k]);
    return AVEMO_OK;
}

/* The "classes" metadata (a JSON array of n_classes strings) into mf->class_names. */
static int read_class_names(model_file *mf, const char *classes, int n_classes, const char *path) {
    cJSON *names = cJSON_Parse(classes);
    int n = cJSON_IsArray(names) ? cJSON_GetArraySize(names) : -1, rc = AVEMO_OK;
    if (n != n_classes || n > MODEL_FILE_MAX_CLASSES) {
        cJSON_Delete(names);
        return avemo_error(AVEMO_EFORMAT, "%s: class list does not match the config's %d classes", path, n_classes);
    }
    for (int i = 0; i < n && !rc; i++) {
        const cJSON *name = cJSON_GetArrayItem(names, i);
        if ((rc = check_class_name(name, i, path))) break;
        if (!(mf->class_names[i] = strdup(name->valuestring))) rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
        else mf->n_classes++;
    }
    cJSON_Delete(names);
    return rc;
}

/* The config comes from the file: before allocating the model it describes, check the file holds at least that
 * many values (every parameter and buffer must be in it), so a hostile config cannot make us allocate (and
 * initialise) terabytes. */
static int check_config_fits(const st_file *f, const model_config *cfg, const char *path) {
    int64_t need, have = 0;
    int rc = model_config_n_values(cfg, &need);
    if (rc) return rc;
    for (int i = 0; i < f->n_tensors; i++) have += f->tensors[i].count;
    if (need > have)
        return avemo_error(AVEMO_EFORMAT, "%s: config needs %lld weight values but the file holds %lld", path,
                           (long long)need, (long long)have);
    return AVEMO_OK;
}

/* Every tensor of mf->m from f, by its layout name: of the config's dtype and shape, every value finite. */
static int read_model_tensors(model_file *mf, const st_file *f, const char *path) {
    for (int i = 0; i < model_n_tensors(mf->m); i++) {
        const layout_entry *e = model_tensor(mf->m, i);
        const st_tensor *t = st_find(f, e->name);
        int rc = model_file_check_tensor(t, e->name, e->ndim, e->shape, path);
        if (!rc) rc = st_to_f32(t, model_tensor_data(mf->m, i), e->count, path);
        if (!rc) rc = model_file_check_finite(model_tensor_data(mf->m, i), e->count, e->name, path);
        if (rc) return rc;
    }
    return AVEMO_OK;
}

static int read_feature_stats(model_file *mf, const st_file *f, const model_config *cfg, const char *path) {
    int rc;
    if (cfg->modality != MODALITY_VIDEO &&
        ((rc = read_vec(f, path, "audio_mean", cfg->audio_channels, &mf->audio_mean)) ||
         (rc = read_vec(f, path, "audio_std", cfg->audio_channels, &mf->audio_std))))
        return rc;
    if (cfg->modality != MODALITY_AUDIO &&
        ((rc = read_vec(f, path, "video_mean", cfg->video_dim, &mf->video_mean)) ||
         (rc = read_vec(f, path, "video_std", cfg->video_dim, &mf->video_std))))
        return rc;
    return AVEMO_OK;
}

int model_file_load(const char *path, model_file *mf) {
    memset(mf, 0, sizeof *mf);
    st_file f;
    int rc = st_read(path, &f);
    if (rc) return rc;
    const char *format = st_meta(&f, "format"), *config_json = st_meta(&f, "config");
    const char *classes = st_meta(&f, "classes");
    if (!format || strcmp(format, MODEL_FILE_FORMAT) != 0 || !config_json || !classes) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: not an avemo model (metadata format/config/classes missing)", path);
        goto fail;
    }
    model_config cfg;
    if ((rc = model_config_from_json(config_json, &cfg))) {
        avemo_error_prefix(rc, "%s: config", path);
        goto fail;
    }
    if ((rc = read_class_names(mf, classes, cfg.n_classes, path)) || (rc = check_config_fits(&f, &cfg, path)) ||
        (rc = model_create(&mf->m, &cfg, 0)) || (rc = read_model_tensors(mf, &f, path)) ||
        (rc = read_feature_stats(mf, &f, &cfg, path)))
        goto fail;
    mf->prep_json = dup_meta(&f, "prep");
    mf->dataset = dup_meta(&f, "dataset");
    mf->protocol = dup_meta(&f, "protocol");
    mf->selected = dup_meta(&f, "selected");
    const char *fold = st_meta(&f, "fold");
    mf->fold = fold ? atoi(fold) : 0;
    st_free(&f);
    return AVEMO_OK;
fail:
    st_free(&f);
    model_file_free(mf);
    return rc;
}
