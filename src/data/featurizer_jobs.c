#include "data/featurizer_jobs.h"

#include "core/err.h"
#include "core/fileio.h"
#include "io/image.h"
#include "io/labels.h"
#include "io/safetensors.h"
#include "nn/nn.h"
#include "vision/imgops.h"

#include <cjson/cJSON.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- audio features of many files ---- */

int audio_rows_runtime_failure(int status) { return status == AVEMO_ENOMEM || status == AVEMO_EINTERNAL; }

void audio_rows_free(audio_rows *r) {
    for (long i = 0; r->why && i < r->n; i++) free(r->why[i]);
    free(r->why);
    free(r->status);
    free(r->rows);
    memset(r, 0, sizeof *r);
}

/* One input's row: its fitted waveform [clip_samples], or its features [C, F]. */
static int audio_row(const featurizer *f, const char *path, int waveform, float *row) {
    float *x;
    long n;
    int rc = featurizer_load_audio(f, path, &x, &n);
    if (rc) return rc;
    if (waveform) featurizer_fit_clip(f, x, n, row);
    else if ((rc = featurizer_audio(f, x, n, row))) avemo_error_prefix(rc, "%s", path);
    free(x);
    return rc;
}

int audio_rows_compute(const featurizer *f, char *const *paths, long n, const audio_rows_options *o, audio_rows *r) {
    memset(r, 0, sizeof *r);
    r->n = n;
    int C, F;
    featurizer_audio_shape(&f->settings, &C, &F);
    r->channels = o->waveform ? 1 : C;
    r->frames = o->waveform ? f->clip_samples : F;
    long row_len = r->channels * r->frames;
    r->rows = malloc((size_t)(n ? n : 1) * row_len * sizeof *r->rows);
    r->status = calloc((size_t)(n ? n : 1), sizeof *r->status);
    r->why = calloc((size_t)(n ? n : 1), sizeof *r->why);
    if (!r->rows || !r->status || !r->why) {
        audio_rows_free(r);
        return avemo_error(AVEMO_ENOMEM, "out of memory for %ld inputs", n);
    }
    int threads = o->threads > 0 ? o->threads : omp_get_max_threads(), stop = 0;
    long done_count = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long i = 0; i < n; i++) {
        int halt;
#pragma omp atomic read
        halt = stop;
        if (halt) continue;
        int st = audio_row(f, paths[i], o->waveform, r->rows + (size_t)i * row_len);
        if (st) {
            r->status[i] = st;
            r->why[i] = strdup(avemo_last_error());
            if (!o->keep_going || audio_rows_runtime_failure(st)) {
#pragma omp atomic write
                stop = 1;
            }
        }
        long d;
#pragma omp atomic capture
        d = ++done_count;
        if (o->bar) {
#pragma omp critical(audio_rows_progress)
            progress_update(o->bar, d);
        }
    }
    return AVEMO_OK;
}

int audio_rows_write_npy(audio_rows *r, const char *path, long *n_good) {
    long row_len = r->channels * r->frames, good = 0;
    for (long i = 0; i < r->n; i++) {
        if (r->status[i]) continue;
        if (good != i) memmove(r->rows + (size_t)good * row_len, r->rows + (size_t)i * row_len, row_len * sizeof *r->rows);
        good++;
    }
    *n_good = good;
    if (!good) return AVEMO_OK;
    int64_t shape[3] = {good, r->channels, r->frames};
    return npy_write(path, NPY_F32, 3, shape, r->rows);
}

int audio_rows_write_failed(const audio_rows *r, char *const *paths, const char *path) {
    atomic_file af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    for (long i = 0; i < r->n; i++)
        if (r->status[i]) fprintf(af.f, "%ld\t%s\t%s\n", i, paths[i], r->why[i] ? r->why[i] : "out of memory");
    return atomic_commit(&af);
}

/* ---- embeddings of an image array ---- */

int embed_check_images(const npy_array *x, const char *path, int *n, int *h, int *w, int *channels) {
    *channels = x->ndim == 4 ? (int)x->shape[3] : 1;
    if ((x->dtype != NPY_U8 && x->dtype != NPY_F32) || (x->ndim != 3 && x->ndim != 4) || (x->ndim == 4 && *channels != 3))
        return avemo_error(AVEMO_EINVAL, "%s: want uint8 or float32 [N,H,W] or [N,H,W,3], got %s with %d dims", path,
                           npy_dtype_name(x->dtype), x->ndim);
    *n = (int)x->shape[0];
    *h = (int)x->shape[1];
    *w = (int)x->shape[2];
    if (x->shape[0] > (1 << 30) || *h < 32 || *w < 32 || *h > 4096 || *w > 4096)
        return avemo_error(AVEMO_EINVAL, "%s: image size %d x %d (want 32..4096)", path, *h, *w);
    return AVEMO_OK;
}

int embed_images(const featurizer *f, const npy_array *x, int batch, progress *bar, float *out) {
    int n = (int)x->shape[0], h = (int)x->shape[1], w = (int)x->shape[2], ch = x->ndim == 4 ? (int)x->shape[3] : 1;
    long per = (long)h * w * ch;
    if (batch > n && n > 0) batch = n;
    for (int n0 = 0; n0 < n; n0 += batch) {
        int nb = n - n0 < batch ? n - n0 : batch, rc;
        float *dst = out + (long)n0 * MNV2_FEATURES;
        if (x->dtype == NPY_U8) rc = featurizer_embed(f, (const uint8_t *)x->data + n0 * per, nb, h, w, ch, nb, dst);
        else rc = featurizer_embed_f32(f, (const float *)x->data + n0 * per, nb, h, w, ch, nb, dst);
        if (rc) return rc;
        if (bar) progress_update(bar, n0 + nb);
    }
    return AVEMO_OK;
}

/* ---- face crops of one input ---- */

static const char *face_status_name(face_status s) {
    switch (s) {
    case FACE_FOUND: return "found";
    case FACE_REUSED: return "reused";
    case FACE_PADDED: return "padded";
    default: return "none";
    }
}

static cJSON *face_frame_json(const face_frame *f) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "status", face_status_name(f->status));
    cJSON_AddNumberToObject(e, "source_frame", (double)f->frame_index);
    cJSON_AddNumberToObject(e, "faces_detected", f->n_detected);
    if (f->status == FACE_FOUND || f->status == FACE_REUSED)
        cJSON_AddItemToObject(e, "crop_box", cJSON_CreateFloatArray(f->box, 4));
    if (f->status == FACE_FOUND) {
        float b[4] = {f->face.x0, f->face.y0, f->face.x1, f->face.y1};
        cJSON_AddItemToObject(e, "mtcnn_box", cJSON_CreateFloatArray(b, 4));
        cJSON_AddNumberToObject(e, "score", f->face.score);
        cJSON *lm = cJSON_AddArrayToObject(e, "landmarks");
        for (int p = 0; p < 5; p++) {
            float xy[2] = {f->face.lm_x[p], f->face.lm_y[p]};
            cJSON_AddItemToArray(lm, cJSON_CreateFloatArray(xy, 2));
        }
        cJSON_AddBoolToObject(e, "refined", f->refined);
    }
    return e;
}

static int write_faces_json(const char *path, const char *input, const face_frame *info, int n, int n_noface,
                            const faces_config *cfg) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "input", input);
    cJSON_AddNumberToObject(o, "frames", n);
    cJSON_AddNumberToObject(o, "size", cfg->size);
    cJSON_AddStringToObject(o, "color", cfg->color_rgb ? "rgb" : "gray");
    cJSON_AddNumberToObject(o, "frames_without_face", n_noface);
    cJSON *arr = cJSON_AddArrayToObject(o, "per_frame");
    for (int k = 0; k < n; k++) cJSON_AddItemToArray(arr, face_frame_json(&info[k]));
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    if (!s) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int err = atomic_write(path, s, strlen(s));
    free(s);
    return err;
}

int faces_write_outputs(const char *dir, const char *input, const uint8_t *crops, const face_frame *info, int n,
                        int n_noface, const faces_config *cfg) {
    const char *base = strrchr(input, '/');
    char name[1024], npy_path[4096], json_path[4096];
    snprintf(name, sizeof name, "%s", base ? base + 1 : input); /* "dir/Actor_01.mp4" -> "Actor_01" */
    char *dot = strrchr(name, '.');
    if (dot && dot != name) *dot = 0;
    snprintf(npy_path, sizeof npy_path, "%s/%s.npy", dir, name);
    snprintf(json_path, sizeof json_path, "%s/%s.json", dir, name);
    int64_t shape[4] = {n, cfg->size, cfg->size, 3};
    int rc = npy_write(npy_path, NPY_U8, cfg->color_rgb ? 4 : 3, shape, crops);
    return rc ? rc : write_faces_json(json_path, input, info, n, n_noface, cfg);
}

/* ---- ImageNet check of a backbone ---- */

/* The labels from labels_path, else from the backbone's metadata class_names. */
static int classifier_labels(backbone_classifier *c, const char *backbone, const char *labels_path) {
    if (labels_path) {
        c->labels = labels_read_file(labels_path, &c->n_labels);
    } else {
        st_file sf;
        if (st_read(backbone, &sf) == 0) {
            const char *cn = st_meta(&sf, "class_names");
            if (cn) c->labels = labels_split_lines(cn, &c->n_labels);
            st_free(&sf);
        }
        if (!c->labels)
            return avemo_error(AVEMO_EINVAL, "%s has no class_names metadata: give --labels FILE", backbone);
    }
    if (!c->labels) return avemo_error(AVEMO_EINVAL, "%s", avemo_last_error());
    while (c->n_labels > 0 && !c->labels[c->n_labels - 1][0]) c->n_labels--;
    int classes = c->net.n_classes;
    if (c->n_labels == classes + 1) c->label_offset = 1; /* 1001 labels with background, 1000-class classifier */
    else if (c->n_labels != classes)
        return avemo_error(AVEMO_EINVAL, "%s: %d labels for %d classes", labels_path ? labels_path : backbone,
                           c->n_labels, classes);
    return AVEMO_OK;
}

int backbone_classifier_open(backbone_classifier *c, const char *backbone, const char *labels_path) {
    memset(c, 0, sizeof *c);
    int rc = mobilenetv2_from_file(&c->net, backbone, 0);
    if (rc) return rc;
    if (!c->net.n_classes)
        rc = avemo_error(AVEMO_EINVAL, "%s: no classifier (classifier.1.weight) in this backbone", backbone);
    if (!rc) rc = classifier_labels(c, backbone, labels_path);
    if (!rc) rc = featurizer_open_backbone(&c->embed, &c->net);
    if (rc) backbone_classifier_close(c);
    return rc;
}

void backbone_classifier_close(backbone_classifier *c) {
    featurizer_close(&c->embed);
    mobilenetv2_free(&c->net);
    labels_free(c->labels);
    memset(c, 0, sizeof *c);
}

int backbone_classifier_input(const backbone_classifier *c, const char *path, double crop, uint8_t *rgb) {
    image_rgb img;
    int rc = image_load_rgb(path, &img);
    if (rc) return rc;
    int side = (int)(crop * (img.h < img.w ? img.h : img.w) + 0.5);
    if (side < 1) side = 1;
    int cw = crop > 0 ? side : img.w, ch = crop > 0 ? side : img.h;
    float *f = malloc(sizeof(float) * CLASSIFY_SIZE * CLASSIFY_SIZE * 3);
    if (!f) rc = avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    if (!rc) rc = crop_resize_f32(f, CLASSIFY_SIZE, CLASSIFY_SIZE, img.rgb, img.h, img.w, 3, (img.w - cw) / 2,
                                  (img.h - ch) / 2, cw, ch);
    for (long i = 0; !rc && i < (long)CLASSIFY_SIZE * CLASSIFY_SIZE * 3; i++) {
        float v = f[i] + 0.5f;
        rgb[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    free(f);
    image_free(&img);
    return rc;
}

int backbone_classify(const backbone_classifier *c, const uint8_t *rgb, float *probs) {
    float feat[MNV2_FEATURES], *logits = malloc(sizeof(float) * c->net.n_classes);
    if (!logits) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int rc = featurizer_embed(&c->embed, rgb, 1, CLASSIFY_SIZE, CLASSIFY_SIZE, 3, 1, feat);
    if (!rc) rc = mobilenetv2_classify(&c->net, logits, feat, 1);
    if (!rc) softmax_forward(probs, logits, 1, c->net.n_classes);
    free(logits);
    return rc;
}

const char *backbone_classifier_label(const backbone_classifier *c, int k) {
    return k >= 0 && k < c->net.n_classes ? c->labels[k + c->label_offset] : NULL;
}
