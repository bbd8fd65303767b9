#include "model/model_file.h"

#include "core/err.h"
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *classes_json(const model_file *mf) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < mf->n_classes; i++) cJSON_AddItemToArray(a, cJSON_CreateString(mf->class_names[i]));
    char *s = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return s;
}

int model_file_save(const char *path, const model_file *mf) {
    const model *m = mf->m;
    int rc = AVEMO_ENOMEM;
    char *cfg = model_config_to_json(&m->cfg), *cls = classes_json(mf), fold[16];
    st_writer *w = st_writer_new();
    if (!cfg || !cls || !w) {
        avemo_error(rc, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < model_n_tensors(m); i++) {
        const layout_entry *e = model_tensor(m, i);
        if ((rc = st_writer_add(w, e->name, ST_F32, e->ndim, e->shape, model_tensor_data(m, i)))) goto done;
    }
    int64_t c = m->cfg.audio_channels, d = m->cfg.video_dim;
    if (mf->audio_mean && ((rc = st_writer_add(w, "audio_mean", ST_F32, 1, &c, mf->audio_mean)) ||
                           (rc = st_writer_add(w, "audio_std", ST_F32, 1, &c, mf->audio_std))))
        goto done;
    if (mf->video_mean && ((rc = st_writer_add(w, "video_mean", ST_F32, 1, &d, mf->video_mean)) ||
                           (rc = st_writer_add(w, "video_std", ST_F32, 1, &d, mf->video_std))))
        goto done;
    snprintf(fold, sizeof fold, "%d", mf->fold);
    if ((rc = st_writer_meta(w, "format", MODEL_FILE_FORMAT)) || (rc = st_writer_meta(w, "config", cfg)) ||
        (rc = st_writer_meta(w, "classes", cls)) || (rc = st_writer_meta(w, "fold", fold)))
        goto done;
    if (mf->prep_json && (rc = st_writer_meta(w, "prep", mf->prep_json))) goto done;
    if (mf->dataset && (rc = st_writer_meta(w, "dataset", mf->dataset))) goto done;
    if (mf->protocol && (rc = st_writer_meta(w, "protocol", mf->protocol))) goto done;
    if (mf->selected && (rc = st_writer_meta(w, "selected", mf->selected))) goto done;
    rc = st_writer_write(w, path);
done:
    st_writer_free(w);
    free(cfg);
    free(cls);
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

/* Copy a named float tensor of exactly `count` values into a fresh buffer. */
static int read_vec(const st_file *f, const char *path, const char *name, long count, float **out) {
    const st_tensor *t = st_find(f, name);
    if (!t) return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' missing", path, name);
    *out = malloc((size_t)count * sizeof(float));
    if (!*out) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    return st_to_f32(t, *out, count, path);
}

int model_file_load(const char *path, model_file *mf) {
    memset(mf, 0, sizeof *mf);
    st_file f;
    int rc = st_read(path, &f);
    if (rc) return rc;
    const char *fmt = st_meta(&f, "format"), *cfg_json = st_meta(&f, "config"), *cls = st_meta(&f, "classes");
    if (!fmt || strcmp(fmt, MODEL_FILE_FORMAT) != 0 || !cfg_json || !cls) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: not an avemo model (metadata format/config/classes missing)", path);
        goto fail;
    }
    model_config cfg;
    if ((rc = model_config_from_json(cfg_json, &cfg))) {
        avemo_error_prefix(rc, "%s: config", path);
        goto fail;
    }
    cJSON *a = cJSON_Parse(cls);
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n != cfg.n_classes || n > MODEL_FILE_MAX_CLASSES) {
        cJSON_Delete(a);
        rc = avemo_error(AVEMO_EFORMAT, "%s: class list does not match the config's %d classes", path, cfg.n_classes);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        const cJSON *s = cJSON_GetArrayItem(a, i);
        mf->class_names[i] = strdup(cJSON_IsString(s) ? s->valuestring : "?");
        mf->n_classes++;
    }
    cJSON_Delete(a);
    /* the config comes from the file: before allocating the model it describes, check the file holds at least
     * that many values (every parameter and buffer must be in it), so a hostile config cannot make us
     * allocate (and initialise) terabytes */
    int64_t need, have = 0;
    if ((rc = model_config_n_values(&cfg, &need))) goto fail;
    for (int i = 0; i < f.n_tensors; i++) have += f.tensors[i].count;
    if (need > have) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: config needs %lld weight values but the file holds %lld", path,
                         (long long)need, (long long)have);
        goto fail;
    }
    if ((rc = model_create(&mf->m, &cfg, 0))) goto fail;
    for (int i = 0; i < model_n_tensors(mf->m); i++) {
        const layout_entry *e = model_tensor(mf->m, i);
        const st_tensor *t = st_find(&f, e->name);
        if (!t) {
            rc = avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' missing (config and weights disagree)", path, e->name);
            goto fail;
        }
        if ((rc = st_to_f32(t, model_tensor_data(mf->m, i), e->count, path))) goto fail;
    }
    if (cfg.modality != MODALITY_VIDEO &&
        ((rc = read_vec(&f, path, "audio_mean", cfg.audio_channels, &mf->audio_mean)) ||
         (rc = read_vec(&f, path, "audio_std", cfg.audio_channels, &mf->audio_std))))
        goto fail;
    if (cfg.modality != MODALITY_AUDIO &&
        ((rc = read_vec(&f, path, "video_mean", cfg.video_dim, &mf->video_mean)) ||
         (rc = read_vec(&f, path, "video_std", cfg.video_dim, &mf->video_std))))
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
