/* avemo predict with the bundled models: text lines or one JSON document naming which streams spoke and what
 * each said, then the fused result. */
#include "cli/predict_bundled.h"

#include "avemo.h"
#include "cli/cli_util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

enum { STREAM_FACE = 0, STREAM_VOICE = 1 };

/* "FILE: face: happy 0.81, voice: neutral 0.55 -> happy 0.74  [face crop; total 12.3 ms]" */
static void print_text(const avemo_bundle *b, const char *file, const avemo_bundle_result *r) {
    printf("%s: ", file);
    if (r->used_face)
        printf("face: %s %.2f%s", avemo_class_name(avemo_bundle_model(b, STREAM_FACE), r->face.top_class),
               r->face.probs[r->face.top_class], r->used_voice ? ", " : "");
    if (r->used_voice)
        printf("voice: %s %.2f", avemo_class_name(avemo_bundle_model(b, STREAM_VOICE), r->voice.top_class),
               r->voice.probs[r->voice.top_class]);
    printf(" -> %s %.2f  [", avemo_bundle_class_name(r->top_class), r->probs[r->top_class]);
    if (r->used_face) printf("%s; ", r->face_cropped ? "face crop as is" : "MTCNN face");
    if (!r->used_face && r->face.video_frames) printf("no face in the sampled frame; ");
    printf("total %.1f ms]\n", r->total_ms);
}

/* {"emotion": p, ...} over a model's classes (m) or the common ones (m NULL) */
static cJSON *probs_json(const avemo_model *m, const float *p, int n) {
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; k < n; k++) cJSON_AddNumberToObject(o, m ? avemo_class_name(m, k) : avemo_bundle_class_name(k), p[k]);
    return o;
}

static void stream_json(cJSON *streams, const avemo_bundle *b, int stream, const avemo_result *own, const float *mapped,
                        const avemo_bundle_result *r) {
    const avemo_model *m = avemo_bundle_model(b, stream);
    cJSON *s = cJSON_AddObjectToObject(streams, stream == STREAM_FACE ? "face" : "voice");
    cJSON_AddStringToObject(s, "emotion", avemo_class_name(m, own->top_class));
    cJSON_AddNumberToObject(s, "p", own->probs[own->top_class]);
    cJSON_AddItemToObject(s, "probs", probs_json(m, own->probs, own->n_classes));
    cJSON_AddItemToObject(s, "mapped_probs", probs_json(NULL, mapped, AVEMO_BUNDLE_CLASSES));
    if (stream == STREAM_FACE) {
        cJSON_AddBoolToObject(s, "cropped", r->face_cropped);
        cJSON_AddNumberToObject(s, "frames", own->video_frames);
        cJSON_AddNumberToObject(s, "frames_without_face", own->frames_without_face);
    }
    cJSON_AddNumberToObject(s, "total_ms", own->total_ms);
}

static cJSON *result_json(const avemo_bundle *b, const char *file, const avemo_bundle_result *r) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "file", file);
    cJSON_AddStringToObject(e, "emotion", avemo_bundle_class_name(r->top_class));
    cJSON_AddNumberToObject(e, "p", r->probs[r->top_class]);
    cJSON_AddItemToObject(e, "probs", probs_json(NULL, r->probs, AVEMO_BUNDLE_CLASSES));
    cJSON *streams = cJSON_AddObjectToObject(e, "streams");
    if (r->used_face) stream_json(streams, b, STREAM_FACE, &r->face, r->face_probs, r);
    if (r->used_voice) stream_json(streams, b, STREAM_VOICE, &r->voice, r->voice_probs, r);
    cJSON_AddNumberToObject(e, "total_ms", r->total_ms);
    return e;
}

static cJSON *json_document(const avemo_bundle *b, cJSON **files) {
    cJSON *doc = cJSON_CreateObject();
    cJSON *models = cJSON_AddObjectToObject(doc, "models");
    cJSON_AddStringToObject(models, "face", avemo_bundle_model_path(b, STREAM_FACE));
    cJSON_AddStringToObject(models, "voice", avemo_bundle_model_path(b, STREAM_VOICE));
    cJSON *temps = cJSON_AddObjectToObject(doc, "temperatures"); /* each model's calibration (1: none) */
    cJSON_AddNumberToObject(temps, "face", avemo_model_temperature(avemo_bundle_model(b, STREAM_FACE)));
    cJSON_AddNumberToObject(temps, "voice", avemo_model_temperature(avemo_bundle_model(b, STREAM_VOICE)));
    cJSON *cls = cJSON_AddArrayToObject(doc, "classes");
    for (int k = 0; k < AVEMO_BUNDLE_CLASSES; k++) cJSON_AddItemToArray(cls, cJSON_CreateString(avemo_bundle_class_name(k)));
    cJSON *fusion = cJSON_AddObjectToObject(doc, "fusion");
    cJSON_AddStringToObject(fusion, "rule", "weighted mean of the mapped probabilities of the streams that spoke");
    cJSON_AddNumberToObject(fusion, "face_weight", AVEMO_BUNDLE_FACE_WEIGHT);
    cJSON_AddNumberToObject(fusion, "voice_weight", 1.0 - AVEMO_BUNDLE_FACE_WEIGHT);
    *files = cJSON_AddArrayToObject(doc, "files");
    return doc;
}

int predict_bundled(const predict_bundled_args *a, char *const *files, int n) {
    avemo_bundle *b;
    avemo_bundle_options bo = {.mtcnn_manifest = a->mtcnn};
    int st = avemo_bundle_open(&bo, &b);
    if (st) return cli_fail("predict", st);
    cJSON *arr = NULL, *doc = a->json ? json_document(b, &arr) : NULL;
    avemo_bundle_predict_options po = {a->cropped ? AVEMO_CROP_YES : AVEMO_CROP_AUTO};
    int status = 0;
    for (int f = 0; f < n; f++) {
        avemo_bundle_result r;
        if ((st = avemo_bundle_predict_file(b, files[f], &po, &r))) {
            const char *msg = avemo_last_error();
            if (strstr(msg, files[f])) fprintf(stderr, "avemo predict: %s\n", msg);
            else fprintf(stderr, "avemo predict: %s: %s\n", files[f], msg);
            if (arr) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "file", files[f]);
                cJSON_AddStringToObject(e, "error", msg);
                cJSON_AddStringToObject(e, "status", avemo_status_name(st));
                cJSON_AddItemToArray(arr, e);
            }
            int c = cli_exit_status(st);
            if (c > status) status = c;
        } else if (arr) {
            cJSON_AddItemToArray(arr, result_json(b, files[f], &r));
        } else {
            print_text(b, files[f], &r);
        }
    }
    if (doc) {
        char *s = cJSON_Print(doc);
        if (s) puts(s);
        else status = 1;
        cJSON_free(s);
        cJSON_Delete(doc);
    }
    fflush(stdout);
    avemo_bundle_close(b);
    return status;
}
