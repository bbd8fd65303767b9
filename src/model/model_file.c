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
    if (mf->temperature > 0 && mf->temperature != 1.0f) {
        char t[32];
        snprintf(t, sizeof t, "%.9g", mf->temperature);
        if ((rc = st_writer_meta(w, "temperature", t))) return rc;
        if (mf->calibration && (rc = st_writer_meta(w, "calibration", mf->calibration))) return rc;
    }
    return AVEMO_OK;
}

#define BACKBONE_PREFIX "backbone."
#define BACKBONE_MAX_INPUT 1024

/* metadata "backbone" (see model_file.h) */
static char *backbone_json(const model_file *mf) {
    const mobilenetv2 *b = mf->backbone;
    cJSON *j = cJSON_CreateObject();
    char batches[32];
    snprintf(batches, sizeof batches, "%lld", (long long)b->num_batches_tracked);
    cJSON_AddNumberToObject(j, "input_size", mf->input_size);
    cJSON_AddNumberToObject(j, "in_channels", b->in_channels);
    cJSON_AddStringToObject(j, "padding", mnv2_padding_name(b->padding));
    cJSON_AddStringToObject(j, "input_norm", mnv2_norm_name(b->norm));
    cJSON_AddNumberToObject(j, "bn_eps", b->bn_eps);
    cJSON_AddStringToObject(j, "num_batches_tracked", batches);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* The backbone's tensors as "backbone.<name>" and its metadata. Names are written into `names` (kept alive
 * until the writer writes: the writer references them). */
static int write_backbone(st_writer *w, const model_file *mf, char (*names)[LAYOUT_NAME_MAX + 16], char **json) {
    const mobilenetv2 *b = mf->backbone;
    int rc = AVEMO_OK;
    for (int i = 0; i < b->param_layout.n && !rc; i++) {
        const layout_entry *e = &b->param_layout.e[i];
        snprintf(names[i], sizeof names[i], BACKBONE_PREFIX "%s", e->name);
        rc = st_writer_add(w, names[i], ST_F32, e->ndim, e->shape, layout_ptr(e, &b->p));
    }
    if (!rc && !(*json = backbone_json(mf))) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!rc) rc = st_writer_meta(w, "backbone", *json);
    return rc;
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
    char *config_json = model_config_to_json(&m->cfg), *classes = classes_json(mf), *bb_json = NULL;
    char (*bb_names)[LAYOUT_NAME_MAX + 16] =
        mf->backbone ? malloc(sizeof *bb_names * (size_t)mf->backbone->param_layout.n) : NULL;
    st_writer *w = st_writer_new();
    if (!config_json || !classes || !w || (mf->backbone && !bb_names)) {
        avemo_error(rc, "%s: out of memory", path);
        goto done;
    }
    if (mf->backbone && n_members_of(mf) > 1) {
        rc = avemo_error(AVEMO_EINVAL, "%s: a fine-tuned backbone cannot be saved with %d ensemble members", path,
                         n_members_of(mf));
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
    if (mf->backbone && (rc = write_backbone(w, mf, bb_names, &bb_json))) goto done;
    if ((rc = write_metadata(w, mf, config_json, classes))) goto done;
    rc = st_writer_write(w, path);
done:
    st_writer_free(w);
    free(config_json);
    free(classes);
    free(bb_json);
    free(bb_names);
    return rc;
}

void model_file_free(model_file *mf) {
    for (int j = 1; j < mf->n_members && j < MODEL_FILE_MAX_MEMBERS; j++)
        if (mf->members[j] && mf->members[j] != mf->m) model_free(mf->members[j]);
    if (mf->m) model_free(mf->m);
    if (mf->backbone) {
        mobilenetv2_free(mf->backbone);
        free(mf->backbone);
    }
    for (int i = 0; i < mf->n_classes; i++) free(mf->class_names[i]);
    free(mf->audio_mean);
    free(mf->audio_std);
    free(mf->video_mean);
    free(mf->video_std);
    free(mf->prep_json);
    free(mf->dataset);
    free(mf->protocol);
    free(mf->selected);
    free(mf->calibration);
    memset(mf, 0, sizeof *mf);
}

static char *dup_meta(const st_file *f, const char *key) {
    const char *v = st_meta(f, key);
    return v ? strdup(v) : NULL;
}

/* "temperature" (absent: 1) and "calibration" into mf. */
static int read_temperature(model_file *mf, const st_file *f, const char *path) {
    const char *t = st_meta(f, "temperature");
    char *end = NULL;
    mf->temperature = 1.0f;
    if (t) {
        double v = strtod(t, &end);
        if (end == t || *end || !(v > 0 && v < 1e6))
            return avemo_error(AVEMO_EFORMAT, "%s: temperature '%s' (a positive number)", path, t);
        mf->temperature = (float)v;
    }
    mf->calibration = dup_meta(f, "calibration");
    return AVEMO_OK;
}

void model_temper_probs(float *p, int n, float temperature) {
    if (!(temperature > 0) || temperature == 1.0f || n < 1) return;
    double lg[MODEL_FILE_MAX_CLASSES], mx = -INFINITY, sum = 0;
    for (int k = 0; k < n && k < MODEL_FILE_MAX_CLASSES; k++) {
        lg[k] = log(fmax(p[k], 1e-38)) / temperature;
        mx = fmax(mx, lg[k]);
    }
    for (int k = 0; k < n && k < MODEL_FILE_MAX_CLASSES; k++) sum += (lg[k] = exp(lg[k] - mx));
    for (int k = 0; k < n && k < MODEL_FILE_MAX_CLASSES; k++) p[k] = (float)(lg[k] / sum);
}

int model_file_set_temperature(const char *path, float temperature, const char *calibration) {
    if (!(temperature > 0 && temperature < 1e6))
        return avemo_error(AVEMO_EINVAL, "%s: temperature %g (a positive number)", path, temperature);
    st_file f;
    if (st_read(path, &f)) return avemo_error(AVEMO_EFORMAT, "%s: not an avemo model", path);
    const char *format = st_meta(&f, "format");
    int rc = AVEMO_OK;
    if (!format || strcmp(format, MODEL_FILE_FORMAT)) rc = avemo_error(AVEMO_EFORMAT, "%s: not an avemo model", path);
    char t[32];
    snprintf(t, sizeof t, "%.9g", temperature);
    const char *keys[2] = {"temperature", "calibration"}, *values[2] = {t, calibration};
    if (!rc) rc = st_rewrite_meta(&f, path, calibration ? 2 : 1, keys, values);
    st_free(&f);
    return rc;
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

/* Every tensor of member j (model m) from f, by its layout name (member_tensor_name): of the config's dtype and
 * shape, every value finite. */
static int read_model_tensors(model *m, int j, const st_file *f, const char *path) {
    for (int i = 0; i < model_n_tensors(m); i++) {
        const layout_entry *e = model_tensor(m, i);
        char buf[LAYOUT_NAME_MAX + 32];
        const char *name = member_tensor_name(buf, sizeof buf, j, e->name);
        int rc = model_file_check_tensor(st_find(f, name), name, e->ndim, e->shape, path);
        if (!rc) rc = st_to_f32(st_find(f, name), model_tensor_data(m, i), e->count, path);
        if (!rc) rc = model_file_check_finite(model_tensor_data(m, i), e->count, name, path);
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
        int rc = model_create_unset(&mf->members[j], cfg); /* every tensor is read below */
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

/* The "backbone" metadata and tensors into a new mf->backbone (absent metadata: no backbone). */
static int read_backbone(model_file *mf, const st_file *f, const char *path) {
    const char *meta = st_meta(f, "backbone");
    if (!meta) return AVEMO_OK;
    if (mf->n_members > 1)
        return avemo_error(AVEMO_EFORMAT, "%s: a fine-tuned backbone with %d ensemble members (a fine-tuned model is "
                                          "a single model)", path, mf->n_members);
    cJSON *j = cJSON_Parse(meta);
    const cJSON *size = cJSON_GetObjectItem(j, "input_size"), *ch = cJSON_GetObjectItem(j, "in_channels");
    const cJSON *pad = cJSON_GetObjectItem(j, "padding"), *norm = cJSON_GetObjectItem(j, "input_norm");
    const cJSON *eps = cJSON_GetObjectItem(j, "bn_eps"), *nbt = cJSON_GetObjectItem(j, "num_batches_tracked");
    int ok = cJSON_IsNumber(size) && size->valueint >= 8 && size->valueint <= BACKBONE_MAX_INPUT &&
             cJSON_IsNumber(ch) && (ch->valueint == 1 || ch->valueint == 3) && cJSON_IsString(pad) &&
             cJSON_IsString(norm) && cJSON_IsNumber(eps) && eps->valuedouble > 0 && eps->valuedouble < 1;
    int rc = ok ? AVEMO_OK : avemo_error(AVEMO_EFORMAT, "%s: bad \"backbone\" metadata", path);
    mobilenetv2 *b = NULL;
    if (!rc && !(b = calloc(1, sizeof *b))) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!rc && (rc = mobilenetv2_init(b, ch->valueint, 0))) {
        free(b);
        b = NULL;
    }
    if (!rc) {
        mf->backbone = b;
        mf->input_size = size->valueint;
        b->padding = !strcmp(pad->valuestring, "tf_same") ? MNV2_PAD_TF_SAME : MNV2_PAD_TORCH;
        b->norm = !strcmp(norm->valuestring, "minus1_1") ? MNV2_NORM_MINUS1_1 : MNV2_NORM_IMAGENET;
        b->bn_eps = (float)eps->valuedouble;
        b->num_batches_tracked = cJSON_IsString(nbt) ? strtoll(nbt->valuestring, NULL, 10) : 0;
    }
    for (int i = 0; !rc && i < b->param_layout.n; i++) {
        const layout_entry *e = &b->param_layout.e[i];
        char name[LAYOUT_NAME_MAX + 16];
        snprintf(name, sizeof name, BACKBONE_PREFIX "%s", e->name);
        const st_tensor *t = st_find(f, name);
        if (!t) rc = avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' missing (the backbone is incomplete)", path, name);
        else if (!(rc = model_file_check_tensor(t, name, e->ndim, e->shape, path)) &&
                 !(rc = st_to_f32(t, layout_ptr(e, &b->p), e->count, path)))
            rc = model_file_check_finite(layout_ptr(e, &b->p), e->count, name, path);
    }
    cJSON_Delete(j);
    return rc;
}

int model_file_load_backbone(const char *path, mobilenetv2 *net, int *input_size) {
    model_file mf;
    int rc = model_file_load(path, &mf);
    if (rc) return rc;
    if (!mf.backbone) {
        model_file_free(&mf);
        return avemo_error(AVEMO_EINVAL, "%s: this model has no fine-tuned backbone (trained on frozen features); "
                                         "give the backbone it was prepared with", path);
    }
    const mobilenetv2 *b = mf.backbone; /* copied, not moved: the struct holds pointers into itself */
    rc = mobilenetv2_init(net, b->in_channels, 0);
    if (!rc) {
        memcpy(net->params, b->params, (size_t)b->n_params * sizeof(float));
        memcpy(net->buffers, b->buffers, (size_t)b->n_buffers * sizeof(float));
        net->padding = b->padding;
        net->norm = b->norm;
        net->bn_eps = b->bn_eps;
        net->num_batches_tracked = b->num_batches_tracked;
        *input_size = mf.input_size;
    }
    model_file_free(&mf);
    return rc;
}

int model_file_is_model(const char *path) {
    st_file f;
    if (st_read_meta(path, &f)) return 0; /* the header alone: the backbone file is read once, by its loader */
    const char *format = st_meta(&f, "format");
    int yes = format && !strcmp(format, MODEL_FILE_FORMAT);
    st_free(&f);
    return yes;
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
        (rc = read_feature_stats(mf, &f, &cfg, path)) || (rc = read_backbone(mf, &f, path)))
        goto fail;
    mf->prep_json = dup_meta(&f, "prep");
    mf->dataset = dup_meta(&f, "dataset");
    mf->protocol = dup_meta(&f, "protocol");
    mf->selected = dup_meta(&f, "selected");
    const char *fold = st_meta(&f, "fold");
    mf->fold = fold ? atoi(fold) : 0;
    if ((rc = read_temperature(mf, &f, path))) goto fail;
    st_free(&f);
    return AVEMO_OK;
fail:
    st_free(&f);
    model_file_free(mf);
    return rc;
}
