#include "model/config.h"

#include "core/err.h"

#include <cjson/cJSON.h>
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
                         c->baseline_ch2, c->baseline_ch3, c->fusion_ch, c->fusion_blocks, c->mlp_hidden};
    for (int i = 0; i < N_OF(sizes); i++)
        if (sizes[i] <= 0 || sizes[i] > (1 << 20))
            return avemo_error(AVEMO_EINVAL, "model config: size %d out of range (item %d)", sizes[i], i);
    if (c->fusion_blocks > MODEL_MAX_FUSION_BLOCKS)
        return avemo_error(AVEMO_EINVAL, "model config: fusion_blocks must be in 1..%d", MODEL_MAX_FUSION_BLOCKS);
    if (c->n_classes < 2) return avemo_error(AVEMO_EINVAL, "model config: n_classes must be >= 2");
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f)) return avemo_error(AVEMO_EINVAL, "model config: dropout must be in [0, 1)");
    if (!(c->label_smoothing >= 0.0f && c->label_smoothing < 1.0f))
        return avemo_error(AVEMO_EINVAL, "model config: label smoothing must be in [0, 1)");
    if (c->modality != MODALITY_VIDEO) {
        int t = c->audio_frames;
        if (c->audio_stream == AUDIO_STREAM_PAPER) {
            for (int i = 0; i < c->audio_blocks; i++) t /= 2;       /* MaxPool1d(2) per block */
            if (c->audio_blocks < 2 || c->audio_blocks > MODEL_MAX_AUDIO_BLOCKS)
                return avemo_error(AVEMO_EINVAL, "model config: audio_blocks must be in 2..%d", MODEL_MAX_AUDIO_BLOCKS);
        } else {
            t -= 4 * 3;                                              /* k=3 valid conv + MaxPool1d(2, 1) */
        }
        if (t < 1)
            return avemo_error(AVEMO_EINVAL, "model config: %d audio frames are too few for the %s audio stream",
                               c->audio_frames, audio_stream_name(c->audio_stream));
    }
    return AVEMO_OK;
}

char *model_config_to_json(const model_config *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "modality", model_modality_name(c->modality));
    cJSON_AddStringToObject(o, "fusion", model_fusion_name(c->fusion));
    cJSON_AddStringToObject(o, "audio_stream", audio_stream_name(c->audio_stream));
#define INT_FIELD(f) cJSON_AddNumberToObject(o, #f, c->f)
    INT_FIELD(n_classes);
    INT_FIELD(audio_channels);
    INT_FIELD(audio_frames);
    INT_FIELD(video_frames);
    INT_FIELD(video_dim);
    INT_FIELD(video_ch1);
    INT_FIELD(video_ch2);
    INT_FIELD(audio_ch);
    INT_FIELD(audio_blocks);
    INT_FIELD(baseline_ch1);
    INT_FIELD(baseline_ch2);
    INT_FIELD(baseline_ch3);
    INT_FIELD(fusion_ch);
    INT_FIELD(fusion_blocks);
    INT_FIELD(mlp_hidden);
    INT_FIELD(modality_dropout);
#undef INT_FIELD
    /* floats go through double: 0.5f and 0.1f print as their shortest round-tripping decimal */
    cJSON_AddNumberToObject(o, "dropout", (double)c->dropout);
    cJSON_AddNumberToObject(o, "label_smoothing", (double)c->label_smoothing);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int model_config_from_json(const char *json, model_config *c) {
    model_config d;
    model_config_default(&d, 8);
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return avemo_error(AVEMO_EFORMAT, "model config: not a JSON object");
    }
    int st = AVEMO_OK;
    const cJSON *it;
    it = cJSON_GetObjectItemCaseSensitive(o, "modality");
    if (it && (!cJSON_IsString(it) || model_modality_parse(it->valuestring, &d.modality))) st = AVEMO_EFORMAT;
    it = cJSON_GetObjectItemCaseSensitive(o, "fusion");
    if (!st && it && (!cJSON_IsString(it) || model_fusion_parse(it->valuestring, &d.fusion))) st = AVEMO_EFORMAT;
    it = cJSON_GetObjectItemCaseSensitive(o, "audio_stream");
    if (!st && it && (!cJSON_IsString(it) || audio_stream_parse(it->valuestring, &d.audio_stream))) st = AVEMO_EFORMAT;
    if (st) {
        cJSON_Delete(o);
        return avemo_error_prefix(AVEMO_EFORMAT, "model config");
    }
    struct { const char *key; int *dst; } ints[] = {
        {"n_classes", &d.n_classes}, {"audio_channels", &d.audio_channels}, {"audio_frames", &d.audio_frames},
        {"video_frames", &d.video_frames}, {"video_dim", &d.video_dim}, {"video_ch1", &d.video_ch1},
        {"video_ch2", &d.video_ch2}, {"audio_ch", &d.audio_ch}, {"audio_blocks", &d.audio_blocks},
        {"baseline_ch1", &d.baseline_ch1}, {"baseline_ch2", &d.baseline_ch2}, {"baseline_ch3", &d.baseline_ch3},
        {"fusion_ch", &d.fusion_ch}, {"fusion_blocks", &d.fusion_blocks}, {"mlp_hidden", &d.mlp_hidden},
        {"modality_dropout", &d.modality_dropout}};
    for (int i = 0; i < N_OF(ints); i++) {
        it = cJSON_GetObjectItemCaseSensitive(o, ints[i].key);
        if (!it) continue;
        double v = cJSON_IsNumber(it) ? it->valuedouble : 0.5;
        if (!(v >= -2147483648.0 && v <= 2147483647.0) || v != (double)(int)v) {
            cJSON_Delete(o);
            return avemo_error(AVEMO_EFORMAT, "model config: '%s' is not an integer", ints[i].key);
        }
        *ints[i].dst = (int)v;
    }
    struct { const char *key; float *dst; } flts[] = {{"dropout", &d.dropout}, {"label_smoothing", &d.label_smoothing}};
    for (int i = 0; i < N_OF(flts); i++) {
        it = cJSON_GetObjectItemCaseSensitive(o, flts[i].key);
        if (!it) continue;
        if (!cJSON_IsNumber(it)) {
            cJSON_Delete(o);
            return avemo_error(AVEMO_EFORMAT, "model config: '%s' is not a number", flts[i].key);
        }
        *flts[i].dst = (float)it->valuedouble;
    }
    cJSON_Delete(o);
    if (model_config_validate(&d)) return avemo_error_prefix(AVEMO_EFORMAT, "model config");
    *c = d;
    return AVEMO_OK;
}
