#include "model/model_file.h"

#include "core/err.h"
#include "io/safetensors.h"

#include <cjson/cJSON.h>
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

static int n_members_of(const model_file *mf) { return mf->n_members > 1 ? mf->n_members : 1; }

/* metadata: format, version, config, classes, fold, the version-2 keys and the optional strings */
static int write_metadata(st_writer *w, const model_file *mf, const char *config_json, const char *classes) {
    char fold[16], version[16], members[16];
    snprintf(fold, sizeof fold, "%d", mf->fold);
    snprintf(version, sizeof version, "%d", MODEL_FILE_VERSION);
    snprintf(members, sizeof members, "%d", n_members_of(mf));
    int rc;
    if ((rc = st_writer_meta(w, "format", MODEL_FILE_FORMAT)) || (rc = st_writer_meta(w, "format_version", version)) ||
        (rc = st_writer_meta(w, "config", config_json)) || (rc = st_writer_meta(w, "classes", classes)) ||
        (rc = st_writer_meta(w, "fold", fold)))
        return rc;
    if (n_members_of(mf) > 1 && (rc = st_writer_meta(w, "members", members))) return rc;
    if (mf->speaker_norm && (rc = st_writer_meta(w, "speaker_norm", "1"))) return rc;
    if (mf->prep_json && (rc = st_writer_meta(w, "prep", mf->prep_json))) return rc;
    if (mf->dataset && (rc = st_writer_meta(w, "dataset", mf->dataset))) return rc;
    if (mf->protocol && (rc = st_writer_meta(w, "protocol", mf->protocol))) return rc;
    if (mf->selected && (rc = st_writer_meta(w, "selected", mf->selected))) return rc;
    return AVEMO_OK;
}

/* The name of member j's tensor `name`: the name itself for member 0, "member<j>.<name>" after. */
static const char *member_tensor_name(char *buf, size_t cap, int j, const char *name) {
    if (j == 0) return name;
    snprintf(buf, cap, "member%d.%s", j, name);
    return buf;
}

/* Every tensor of every member. */
static int write_members(st_writer *w, const model_file *mf, const char *path) {
    int n = n_members_of(mf);
    if (n > MODEL_FILE_MAX_MEMBERS) return avemo_error(AVEMO_EINVAL, "%s: %d ensemble members (at most %d)", path, n,
                                                       MODEL_FILE_MAX_MEMBERS);
    for (int j = 0; j < n; j++) {
        const model *m = j == 0 ? mf->m : mf->members[j];
        if (!m || memcmp(&m->cfg, &mf->m->cfg, sizeof m->cfg))
            return avemo_error(AVEMO_EINVAL, "%s: ensemble member %d is missing or has another config", path, j);
        for (int i = 0; i < model_n_tensors(m); i++) {
            const layout_entry *e = model_tensor(m, i);
            char name[LAYOUT_NAME_MAX + 32];
            int rc = st_writer_add(w, member_tensor_name(name, sizeof name, j, e->name), ST_F32, e->ndim, e->shape,
                                   model_tensor_data(m, i));
            if (rc) return rc;
        }
    }
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
    if ((rc = write_members(w, mf, path))) goto done;
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
    for (int j = 1; j < mf->n_members && j < MODEL_FILE_MAX_MEMBERS; j++)
        if (mf->members[j] && mf->members[j] != mf->m) model_free(mf->members[j]);
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

/* The "classes" metadata (a JSON array of n_classes strings) into mf->class_names. */
static int read_class_names(model_file *mf, const char *classes, int n_classes, const char *path) {
    cJSON *names = cJSON_Parse(classes);
    int n = cJSON_IsArray(names) ? cJSON_GetArraySize(names) : -1;
    if (n != n_classes || n > MODEL_FILE_MAX_CLASSES) {
        cJSON_Delete(names);
        return avemo_error(AVEMO_EFORMAT, "%s: class list does not match the config's %d classes", path, n_classes);
    }
    for (int i = 0; i < n; i++) {
        const cJSON *name = cJSON_GetArrayItem(names, i);
        mf->class_names[i] = strdup(cJSON_IsString(name) ? name->valuestring : "?");
        mf->n_classes++;
    }
    cJSON_Delete(names);
    return AVEMO_OK;
}

/* The config comes from the file: before allocating the model it describes, check the file holds at least that
 * many values (every parameter and buffer must be in it), so a hostile config cannot make us allocate (and
 * initialise) terabytes. */
static int check_config_fits(const st_file *f, const model_config *cfg, int n_members, const char *path) {
    int64_t need, have = 0;
    int rc = model_config_n_values(cfg, &need);
    if (rc) return rc;
    need *= n_members;
    for (int i = 0; i < f->n_tensors; i++) have += f->tensors[i].count;
    if (need > have)
        return avemo_error(AVEMO_EFORMAT, "%s: config needs %lld weight values but the file holds %lld", path,
                           (long long)need, (long long)have);
    return AVEMO_OK;
}

/* Every tensor of member j (model m) from f, by its layout name (member_tensor_name). */
static int read_model_tensors(model *m, int j, const st_file *f, const char *path) {
    for (int i = 0; i < model_n_tensors(m); i++) {
        const layout_entry *e = model_tensor(m, i);
        char buf[LAYOUT_NAME_MAX + 32];
        const char *name = member_tensor_name(buf, sizeof buf, j, e->name);
        const st_tensor *t = st_find(f, name);
        if (!t) return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' missing (config and weights disagree)", path, name);
        int rc = st_to_f32(t, model_tensor_data(m, i), e->count, path);
        if (rc) return rc;
    }
    return AVEMO_OK;
}

/* "format_version" (absent: 1), "members" (absent: 1) and "speaker_norm" into mf. */
static int read_version_keys(model_file *mf, const st_file *f, const char *path) {
    const char *version = st_meta(f, "format_version"), *members = st_meta(f, "members");
    const char *speaker = st_meta(f, "speaker_norm");
    char *end;
    long v = version ? strtol(version, &end, 10) : 1;
    if (version && (*end || v < 1)) return avemo_error(AVEMO_EFORMAT, "%s: bad format_version '%s'", path, version);
    if (v > MODEL_FILE_VERSION)
        return avemo_error(AVEMO_EFORMAT, "%s: model file format version %ld, this avemo reads up to %d (a newer avemo "
                                          "wrote it)", path, v, MODEL_FILE_VERSION);
    long n = members ? strtol(members, &end, 10) : 1;
    if (members && (*end || n < 1 || n > MODEL_FILE_MAX_MEMBERS))
        return avemo_error(AVEMO_EFORMAT, "%s: members '%s' (1..%d)", path, members, MODEL_FILE_MAX_MEMBERS);
    if (speaker && strcmp(speaker, "0") && strcmp(speaker, "1"))
        return avemo_error(AVEMO_EFORMAT, "%s: speaker_norm '%s' (0 or 1)", path, speaker);
    mf->n_members = (int)n;
    mf->speaker_norm = speaker && !strcmp(speaker, "1");
    return AVEMO_OK;
}

/* Create and read every member (mf->n_members set). */
static int read_members(model_file *mf, const st_file *f, const model_config *cfg, const char *path) {
    for (int j = 0; j < mf->n_members; j++) {
        int rc = model_create(&mf->members[j], cfg, 0);
        if (rc) return rc;
        if (j == 0) mf->m = mf->members[0];
        if ((rc = read_model_tensors(mf->members[j], j, f, path))) return rc;
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
    if ((rc = read_version_keys(mf, &f, path)) || (rc = read_class_names(mf, classes, cfg.n_classes, path)) ||
        (rc = check_config_fits(&f, &cfg, mf->n_members, path)) || (rc = read_members(mf, &f, &cfg, path)) ||
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
