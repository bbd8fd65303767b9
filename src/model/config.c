#include "model/config.h"

#include "core/err.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void model_config_default(model_config *c, int n_classes) {
    memset(c, 0, sizeof *c);
    c->modality = MODALITY_AV;
    c->fusion = FUSION_ATTENTION;
    c->audio_stream = AUDIO_STREAM_PAPER;
    c->n_classes = n_classes;
    c->audio_channels = AVEMO_N_MFCC;
    c->audio_frames = AVEMO_MFCC_FRAMES;
    c->video_frames = AVEMO_FRAMES_PER_CLIP;
    c->video_dim = AVEMO_VIDEO_FEATURE_DIM;
    c->video_ch1 = 64;
    c->video_ch2 = 128;
    c->audio_ch = 64;
    c->audio_blocks = 4;
    c->baseline_ch1 = 64;
    c->baseline_ch2 = 128;
    c->baseline_ch3 = 256;
    c->baseline_pool_stride = 1;
    c->fusion_ch = 128;
    c->fusion_blocks = 4;
    c->mlp_hidden = 128;
    c->dropout = 0.5f;
    c->modality_dropout = 0;
    c->label_smoothing = 0.0f;
}

static const char *modality_names[] = {"av", "audio", "video"};
static const char *fusion_names[] = {"attention", "ia", "it", "lt", "intermediate", "late", "concat"};
static const char *audio_stream_names[] = {"paper", "baseline"};
#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *model_modality_name(model_modality m) {
    return (int)m >= 0 && (int)m < N_OF(modality_names) ? modality_names[m] : "?";
}
const char *model_fusion_name(model_fusion f) {
    return (int)f >= 0 && (int)f < N_OF(fusion_names) ? fusion_names[f] : "?";
}
const char *audio_stream_name(audio_stream_variant v) {
    return (int)v >= 0 && (int)v < N_OF(audio_stream_names) ? audio_stream_names[v] : "?";
}

static int parse_name(const char *s, const char **names, int n, int *out, const char *what) {
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return AVEMO_OK;
        }
    char list[256] = "";
    for (int i = 0; i < n; i++) {
        strcat(list, names[i]);
        if (i + 1 < n) strcat(list, ", ");
    }
    return avemo_error(AVEMO_EINVAL, "unknown %s '%s' (expected one of: %s)", what, s ? s : "(null)", list);
}

int model_modality_parse(const char *s, model_modality *out) {
    int v = 0, st = parse_name(s, modality_names, N_OF(modality_names), &v, "modality");
    if (st == AVEMO_OK) *out = (model_modality)v;
    return st;
}
int model_fusion_parse(const char *s, model_fusion *out) {
    int v = 0, st = parse_name(s, fusion_names, N_OF(fusion_names), &v, "fusion");
    if (st == AVEMO_OK) *out = (model_fusion)v;
    return st;
}
int audio_stream_parse(const char *s, audio_stream_variant *out) {
    int v = 0, st = parse_name(s, audio_stream_names, N_OF(audio_stream_names), &v, "audio stream");
    if (st == AVEMO_OK) *out = (audio_stream_variant)v;
    return st;
}

int model_config_validate(const model_config *c) {
    if ((int)c->modality < 0 || (int)c->modality > MODALITY_VIDEO) return avemo_error(AVEMO_EINVAL, "bad modality");
    if ((int)c->fusion < 0 || (int)c->fusion > FUSION_CONCAT) return avemo_error(AVEMO_EINVAL, "bad fusion");
    if ((int)c->audio_stream < 0 || (int)c->audio_stream > AUDIO_STREAM_BASELINE)
        return avemo_error(AVEMO_EINVAL, "bad audio stream variant");
    const int sizes[] = {c->n_classes, c->audio_channels, c->audio_frames, c->video_frames, c->video_dim,
                         c->video_ch1, c->video_ch2, c->audio_ch, c->audio_blocks, c->baseline_ch1,
                         c->baseline_ch2, c->baseline_ch3, c->fusion_ch, c->fusion_blocks, c->mlp_hidden,
                         c->baseline_pool_stride};
    for (int i = 0; i < N_OF(sizes); i++)
        if (sizes[i] <= 0 || sizes[i] > (1 << 20))
            return avemo_error(AVEMO_EINVAL, "model config: size %d out of range (item %d)", sizes[i], i);
    if (c->fusion_blocks > MODEL_MAX_FUSION_BLOCKS)
        return avemo_error(AVEMO_EINVAL, "model config: fusion_blocks must be in 1..%d", MODEL_MAX_FUSION_BLOCKS);
    if (c->n_classes < 2) return avemo_error(AVEMO_EINVAL, "model config: n_classes must be >= 2");
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return avemo_error(AVEMO_EINVAL, "model config: dropout must be in [0, 1)");
    if (!(c->label_smoothing >= 0.0f && c->label_smoothing < 1.0f))
        return avemo_error(AVEMO_EINVAL, "model config: label smoothing must be in [0, 1)");
    if (c->modality != MODALITY_VIDEO) {
        int t = c->audio_frames;
        if (c->audio_stream == AUDIO_STREAM_PAPER) {
            for (int i = 0; i < c->audio_blocks; i++) t /= 2;       /* MaxPool1d(2) per block */
            if (c->audio_blocks < 2 || c->audio_blocks > MODEL_MAX_AUDIO_BLOCKS)
                return avemo_error(AVEMO_EINVAL, "model config: audio_blocks must be in 2..%d", MODEL_MAX_AUDIO_BLOCKS);
        } else if (c->baseline_pool_stride > 2) {
            return avemo_error(AVEMO_EINVAL, "model config: baseline_pool_stride must be 1 or 2");
        } else {
            for (int i = 0; i < 4; i++) t = t < 4 ? 0 : (t - 4) / c->baseline_pool_stride + 1; /* k=3 valid, pool 2 */
        }
        if (t < 1)
            return avemo_error(AVEMO_EINVAL, "model config: %d audio frames are too few for the %s audio stream",
                               c->audio_frames, audio_stream_name(c->audio_stream));
    }
    return AVEMO_OK;
}

/* The integer and float fields, in the JSON's order. */
#define FIELD(name) {#name, offsetof(model_config, name)}
static const struct { const char *key; size_t offset; } int_fields[] = {
    FIELD(n_classes),    FIELD(audio_channels), FIELD(audio_frames), FIELD(video_frames), FIELD(video_dim),
    FIELD(video_ch1),    FIELD(video_ch2),      FIELD(audio_ch),     FIELD(audio_blocks), FIELD(baseline_ch1),
    FIELD(baseline_ch2), FIELD(baseline_ch3),   FIELD(fusion_ch),    FIELD(fusion_blocks), FIELD(mlp_hidden),
    FIELD(modality_dropout), FIELD(baseline_pool_stride)};
static const struct { const char *key; size_t offset; } float_fields[] = {FIELD(dropout), FIELD(label_smoothing)};
#undef FIELD
static int int_field(const model_config *c, int i) { return *(const int *)((const char *)c + int_fields[i].offset); }
static float float_field(const model_config *c, int i) {
    return *(const float *)((const char *)c + float_fields[i].offset);
}
static void set_int_field(model_config *c, int i, int v) { *(int *)((char *)c + int_fields[i].offset) = v; }
static void set_float_field(model_config *c, int i, float v) { *(float *)((char *)c + float_fields[i].offset) = v; }

char *model_config_to_json(const model_config *c) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    cJSON_AddStringToObject(root, "modality", model_modality_name(c->modality));
    cJSON_AddStringToObject(root, "fusion", model_fusion_name(c->fusion));
    cJSON_AddStringToObject(root, "audio_stream", audio_stream_name(c->audio_stream));
    for (int i = 0; i < N_OF(int_fields); i++) cJSON_AddNumberToObject(root, int_fields[i].key, int_field(c, i));
    /* floats go through double: 0.5f and 0.1f print as their shortest round-tripping decimal */
    for (int i = 0; i < N_OF(float_fields); i++)
        cJSON_AddNumberToObject(root, float_fields[i].key, (double)float_field(c, i));
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return json;
}

/* "modality", "fusion", "audio_stream" (names) into c */
static int names_from_json(const cJSON *root, model_config *c) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "modality");
    if (item && (!cJSON_IsString(item) || model_modality_parse(item->valuestring, &c->modality))) return AVEMO_EFORMAT;
    item = cJSON_GetObjectItemCaseSensitive(root, "fusion");
    if (item && (!cJSON_IsString(item) || model_fusion_parse(item->valuestring, &c->fusion))) return AVEMO_EFORMAT;
    item = cJSON_GetObjectItemCaseSensitive(root, "audio_stream");
    if (item && (!cJSON_IsString(item) || audio_stream_parse(item->valuestring, &c->audio_stream)))
        return AVEMO_EFORMAT;
    return AVEMO_OK;
}

/* the integer and float fields present into c */
static int numbers_from_json(const cJSON *root, model_config *c) {
    for (int i = 0; i < N_OF(int_fields); i++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, int_fields[i].key);
        if (!item) continue;
        double v = cJSON_IsNumber(item) ? item->valuedouble : 0.5;
        /* range first: (int)1e300 is undefined behaviour */
        if (!(v >= -2147483648.0 && v <= 2147483647.0) || v != (double)(int)v)
            return avemo_error(AVEMO_EFORMAT, "model config: '%s' is not an integer", int_fields[i].key);
        set_int_field(c, i, (int)v);
    }
    for (int i = 0; i < N_OF(float_fields); i++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, float_fields[i].key);
        if (!item) continue;
        if (!cJSON_IsNumber(item))
            return avemo_error(AVEMO_EFORMAT, "model config: '%s' is not a number", float_fields[i].key);
        set_float_field(c, i, (float)item->valuedouble);
    }
    return AVEMO_OK;
}

int model_config_from_json(const char *json, model_config *c) {
    model_config parsed;
    model_config_default(&parsed, 8);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return avemo_error(AVEMO_EFORMAT, "model config: not a JSON object");
    }
    int st = names_from_json(root, &parsed);
    if (st) avemo_error_prefix(AVEMO_EFORMAT, "model config");
    else st = numbers_from_json(root, &parsed);
    cJSON_Delete(root);
    if (st) return st;
    if (model_config_validate(&parsed)) return avemo_error_prefix(AVEMO_EFORMAT, "model config");
    *c = parsed;
    return AVEMO_OK;
}
