#include "data/featurizer_jobs.h"

#include "core/err.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "core/text_lines.h"
#include "io/image.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "nn/nn.h"
#include "vision/imgops.h"

#include <cjson/cJSON.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a job over a list of inputs ---- */

/* Processes input i of a job (and reports it through the job's callback); returns its status. */
typedef int (*job_step)(void *job, const char *input);

static void run_inputs(void *job, job_step step, char *const *inputs, int n, int keep_going, const char *progress_label,
                       job_tally *t) {
    memset(t, 0, sizeof *t);
    progress bar;
    if (progress_label) progress_start(&bar, progress_label, n);
    for (int i = 0; i < n; i++) {
        int st = step(job, inputs[i]);
        t->n_done++;
        if (st) {
            t->n_failed++;
            if (!t->status || avemo_error_is_runtime(st)) t->status = st;
            if (!keep_going || avemo_error_is_runtime(st)) break;
        }
        if (progress_label) progress_update(&bar, i + 1);
    }
    if (progress_label) progress_finish(&bar);
}

/* ---- audio features of many files ---- */

void audio_rows_free(audio_rows *r) {
    for (long i = 0; r->why && i < r->n; i++) free(r->why[i]);
    free(r->why);
    free(r->status);
    free(r->rows);
    memset(r, 0, sizeof *r);
}

/* One input's row: its fitted waveform [clip_samples], or its features [C, F]. */
static int audio_row(const featurizer *f, const char *path, int waveform, float *row) {
    return waveform ? featurizer_audio_clip(f, path, row, NULL) : featurizer_audio_file(f, path, row);
}

static int audio_rows_alloc(audio_rows *r, const featurizer *f, long n, int waveform) {
    memset(r, 0, sizeof *r);
    r->n = n;
    int C, F;
    featurizer_audio_shape(&f->settings, &C, &F);
    r->channels = waveform ? 1 : C;
    r->frames = waveform ? f->clip_samples : F;
    r->rows = malloc((size_t)(n ? n : 1) * r->channels * r->frames * sizeof *r->rows);
    r->status = calloc((size_t)(n ? n : 1), sizeof *r->status);
    r->why = calloc((size_t)(n ? n : 1), sizeof *r->why);
    if (r->rows && r->status && r->why) return AVEMO_OK;
    audio_rows_free(r);
    return avemo_error(AVEMO_ENOMEM, "out of memory for %ld inputs", n);
}

/* The rows in parallel; a failure stops the others' next inputs unless keep_going (a runtime one always). */
static void audio_rows_fill(const featurizer *f, char *const *paths, const audio_rows_options *o, progress *bar,
                            audio_rows *r) {
    long row_len = r->channels * r->frames, done_count = 0;
    int threads = o->threads > 0 ? o->threads : omp_get_max_threads(), stop = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long i = 0; i < r->n; i++) {
        int halt;
#pragma omp atomic read
        halt = stop;
        if (halt) continue;
        int st = audio_row(f, paths[i], o->waveform, r->rows + (size_t)i * row_len);
        if (st) {
            r->status[i] = st;
            r->why[i] = strdup(avemo_last_error());
            if (!o->keep_going || avemo_error_is_runtime(st)) {
#pragma omp atomic write
                stop = 1;
            }
        }
        long d;
#pragma omp atomic capture
        d = ++done_count;
        if (bar) {
#pragma omp critical(audio_rows_progress)
            progress_update(bar, d);
        }
    }
}

int audio_rows_compute(const featurizer_settings *s, char *const *paths, long n, const audio_rows_options *o,
                       audio_rows *r) {
    memset(r, 0, sizeof *r);
    featurizer f;
    int rc = featurizer_open(&f, s, NULL, NULL);
    if (rc) return rc;
    progress bar;
    int show = o->progress && n >= AUDIO_ROWS_PROGRESS_MIN;
    if (show) progress_start(&bar, "features", n);
    rc = audio_rows_alloc(r, &f, n, o->waveform);
    if (!rc) audio_rows_fill(&f, paths, o, show ? &bar : NULL, r);
    if (show) progress_finish(&bar);
    featurizer_close(&f);
    return rc;
}

long audio_rows_fatal(const audio_rows *r, int keep_going) {
    long fatal = -1;
    for (long i = 0; i < r->n; i++) {
        if (!r->status[i]) continue;
        if (avemo_error_is_runtime(r->status[i])) return i;
        if (!keep_going && fatal < 0) fatal = i;
    }
    return fatal;
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

int audio_rows_write_failed(const audio_rows *r, char *const *paths, const char *out_path) {
    char path[4096];
    snprintf(path, sizeof path, "%s.failed.txt", out_path);
    long n_failed = 0;
    for (long i = 0; i < r->n; i++) n_failed += r->status[i] != 0;
    if (!n_failed) {
        unlink(path);
        return AVEMO_OK;
    }
    atomic_file af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    for (long i = 0; i < r->n; i++)
        if (r->status[i]) fprintf(af.f, "%ld\t%s\t%s\n", i, paths[i], r->why[i] ? r->why[i] : "out of memory");
    return atomic_commit(&af);
}

/* ---- embeddings of an image array ---- */

/* images: uint8 or float32 [N, H, W] or [N, H, W, 3], 32 <= H, W <= 4096. Errors name `path`. */
static int embed_check_images(const npy_array *x, const char *path, int *n, int *channels) {
    *channels = x->ndim == 4 ? (int)x->shape[3] : 1;
    if ((x->dtype != NPY_U8 && x->dtype != NPY_F32) || (x->ndim != 3 && x->ndim != 4) || (x->ndim == 4 && *channels != 3))
        return avemo_error(AVEMO_EINVAL, "%s: want uint8 or float32 [N,H,W] or [N,H,W,3], got %s with %d dims", path,
                           npy_dtype_name(x->dtype), x->ndim);
    *n = (int)x->shape[0];
    int h = (int)x->shape[1], w = (int)x->shape[2];
    if (x->shape[0] > (1 << 30) || h < 32 || w < 32 || h > 4096 || w > 4096)
        return avemo_error(AVEMO_EINVAL, "%s: image size %d x %d (want 32..4096)", path, h, w);
    return AVEMO_OK;
}

/* Embeddings out [N, 1280] of the checked images, `batch` per backbone pass. */
static int embed_images(const featurizer *f, const npy_array *x, int batch, progress *bar, float *out) {
    int n = (int)x->shape[0], h = (int)x->shape[1], w = (int)x->shape[2], ch = x->ndim == 4 ? (int)x->shape[3] : 1;
    long per = (long)h * w * ch;
    if (batch > n && n > 0) batch = n;
    for (int n0 = 0; n0 < n; n0 += batch) {
        int n_batch = n - n0 < batch ? n - n0 : batch, rc;
        float *dst = out + (long)n0 * MNV2_FEATURES;
        if (x->dtype == NPY_U8)
            rc = featurizer_embed(f, (const uint8_t *)x->data + n0 * per, n_batch, h, w, ch, n_batch, dst);
        else
            rc = featurizer_embed_f32(f, (const float *)x->data + n0 * per, n_batch, h, w, ch, n_batch, dst);
        if (rc) return rc;
        if (bar) progress_update(bar, n0 + n_batch);
    }
    return AVEMO_OK;
}

int embed_job_run(const embed_job *job, float **out, int *n) {
    *out = NULL;
    *n = 0;
    npy_array x;
    int rc = npy_read(job->images, &x);
    if (rc) return rc;
    int in_channels;
    mobilenetv2 net = {0};
    featurizer f = {0};
    float *feat = NULL;
    rc = embed_check_images(&x, job->images, n, &in_channels);
    if (!rc) rc = mobilenetv2_from_file(&net, job->backbone, job->channels ? job->channels : in_channels);
    if (!rc && !(feat = malloc(sizeof(float) * (size_t)(*n > 0 ? *n : 1) * MNV2_FEATURES)))
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!rc) rc = featurizer_open_backbone(&f, &net);
    if (!rc) {
        progress bar;
        if (job->progress) progress_start(&bar, "embed", *n);
        rc = embed_images(&f, &x, job->batch, job->progress ? &bar : NULL, feat);
        if (!rc && job->progress) progress_finish(&bar);
    }
    featurizer_close(&f);
    mobilenetv2_free(&net);
    npy_free(&x);
    if (rc) {
        free(feat);
        *n = 0;
    } else {
        *out = feat;
    }
    return rc;
}

/* ---- face crops, one .npy and .json per input ---- */

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
        if (f->tracked) cJSON_AddBoolToObject(e, "tracked", 1); /* found by following the previous box */
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

/* DIR/<name>.npy and DIR/<name>.json of one input's crops and their frames. */
static int faces_write_outputs(const char *dir, const char *input, const uint8_t *crops, const face_frame *info, int n,
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

typedef struct {
    const faces_job *job;
    featurizer featurizer;
} faces_run;

static int faces_step(void *run_v, const char *path) {
    faces_run *run = run_v;
    uint8_t *crops = NULL;
    face_frame *info = NULL;
    faces_done done = {.path = path};
    done.status = featurizer_frames_file(&run->featurizer, path, &crops, &info, &done.n_frames, &done.n_noface);
    if (!done.status)
        done.status = faces_write_outputs(run->job->out_dir, path, crops, info, done.n_frames, done.n_noface,
                                          &run->job->faces);
    free(crops);
    free(info);
    if (run->job->on_input) run->job->on_input(&done, run->job->ctx);
    return done.status;
}

int faces_job_run(const faces_job *job, char *const *inputs, int n, job_tally *tally) {
    memset(tally, 0, sizeof *tally);
    featurizer_settings s;
    featurizer_settings_default(&s);
    s.modality = DATASET_NEED_VIDEO;
    s.faces = job->faces;
    faces_run run = {.job = job};
    int rc = featurizer_open(&run.featurizer, &s, job->mtcnn_path, NULL);
    if (rc) return rc;
    run_inputs(&run, faces_step, inputs, n, job->keep_going, job->progress ? "faces" : NULL, tally);
    featurizer_close(&run.featurizer);
    return AVEMO_OK;
}

/* ---- MTCNN faces of each sampled frame ---- */

typedef struct {
    const detect_job *job;
    featurizer featurizer;
    detect_frame *frames; /* [cap] */
    int cap;
} detect_run;

/* The faces of every sampled frame of one clip into run->frames; *n_searched: how many it got through. */
static int detect_clip(detect_run *run, const video_clip *clip, const char *path, int *n_searched) {
    *n_searched = 0;
    if (clip->n > run->cap) {
        detect_frame *frames = realloc(run->frames, sizeof *frames * clip->n);
        if (!frames) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
        run->frames = frames;
        run->cap = clip->n;
    }
    const mtcnn *detector = run->featurizer.detector;
    for (int k = 0; k < clip->n; k++) {
        detect_frame *d = &run->frames[k];
        *d = (detect_frame){.source_frame = clip->index[k]};
        const uint8_t *rgb = clip->rgb + (size_t)k * clip->h * clip->w * 3;
        int rc = clip->index[k] >= 0 ? mtcnn_detect(detector, rgb, clip->h, clip->w, &run->job->mtcnn, &d->faces,
                                                    &d->n_faces)
                                     : AVEMO_OK;
        if (rc) return avemo_error_prefix(rc, "%s", path);
        (*n_searched)++;
    }
    return AVEMO_OK;
}

static void detect_frames_free(detect_frame *frames, int n) {
    for (int k = 0; k < n; k++) free(frames[k].faces);
}

static int detect_step(void *run_v, const char *path) {
    detect_run *run = run_v;
    detect_done done = {.path = path};
    video_clip clip;
    done.status = featurizer_read_frames(&run->featurizer, path, &clip);
    if (!done.status) {
        done.decoded = 1;
        done.width = clip.w;
        done.height = clip.h;
        done.total_frames = clip.total_frames;
        done.fps = clip.fps;
        done.n_sampled = clip.n;
        done.status = detect_clip(run, &clip, path, &done.n_searched);
        done.frames = run->frames;
        video_clip_free(&clip);
    }
    if (run->job->on_input) run->job->on_input(&done, run->job->ctx);
    detect_frames_free(run->frames, done.n_searched);
    return done.status;
}

int detect_job_run(const detect_job *job, char *const *inputs, int n, job_tally *tally) {
    memset(tally, 0, sizeof *tally);
    featurizer_settings s; /* the featurizer's frame sampling and weights; every face of a frame is kept here */
    featurizer_settings_default(&s);
    s.modality = DATASET_NEED_VIDEO;
    s.faces.frames = job->frames;
    s.faces.window = job->window;
    detect_run run = {.job = job};
    int rc = featurizer_open(&run.featurizer, &s, job->mtcnn_path, NULL);
    if (rc) return rc;
    run_inputs(&run, detect_step, inputs, n, 1, NULL, tally);
    featurizer_close(&run.featurizer);
    free(run.frames);
    return AVEMO_OK;
}

/* ---- ImageNet classes of images ---- */

#define CLASSIFY_SIZE 224 /* the classifier's input side */

typedef struct {
    const classify_job *job;
    mobilenetv2 net;  /* with its classifier */
    featurizer embed; /* its embeddings (featurizer_open_backbone) */
    char **labels;    /* [n_labels] */
    int n_labels;
    int label_offset; /* 1: the labels start with "background" (1001 labels, 1000 classes) */
    int n_top;            /* at most the classes */
    float *probs;         /* [classes] */
    classify_class *top;  /* [n_top] */
    uint8_t *rgb;         /* [224, 224, 3]: the image as the backbone sees it */
} classify_run;

/* The labels from labels_path, else from the backbone's metadata class_names. */
static int classifier_labels(classify_run *c, const char *backbone, const char *labels_path) {
    int rc = AVEMO_OK;
    if (labels_path) {
        rc = text_lines_read(labels_path, &c->labels, &c->n_labels);
    } else {
        st_file sf;
        if (st_read(backbone, &sf) == 0) {
            const char *names = st_meta(&sf, "class_names");
            if (names) rc = text_lines_split(names, &c->labels, &c->n_labels);
            st_free(&sf);
        }
        if (!rc && !c->labels)
            return avemo_error(AVEMO_EINVAL, "%s has no class_names metadata: give --labels FILE", backbone);
    }
    if (rc) return rc;
    while (c->n_labels > 0 && !c->labels[c->n_labels - 1][0]) c->n_labels--;
    int classes = c->net.n_classes;
    if (c->n_labels == classes + 1) c->label_offset = 1; /* 1001 labels with background, 1000-class classifier */
    else if (c->n_labels != classes)
        return avemo_error(AVEMO_EINVAL, "%s: %d labels for %d classes", labels_path ? labels_path : backbone,
                           c->n_labels, classes);
    return AVEMO_OK;
}

static void classify_close(classify_run *c) {
    featurizer_close(&c->embed);
    mobilenetv2_free(&c->net);
    text_lines_free(c->labels);
    free(c->probs);
    free(c->top);
    free(c->rgb);
}

/* The backbone (its own input channels) with its classifier, its labels and the buffers of one image. */
static int classify_open(classify_run *c, const classify_job *job) {
    memset(c, 0, sizeof *c);
    c->job = job;
    int rc = mobilenetv2_from_file(&c->net, job->backbone, 0);
    if (rc) return rc;
    int classes = c->net.n_classes;
    if (!classes) return avemo_error(AVEMO_EINVAL, "%s: no classifier (classifier.1.weight) in this backbone", job->backbone);
    if ((rc = classifier_labels(c, job->backbone, job->labels_path))) return rc;
    if ((rc = featurizer_open_backbone(&c->embed, &c->net))) return rc;
    c->n_top = job->top < classes ? job->top : classes;
    c->probs = malloc(sizeof *c->probs * classes);
    c->top = malloc(sizeof *c->top * (c->n_top > 0 ? c->n_top : 1));
    c->rgb = malloc((size_t)CLASSIFY_SIZE * CLASSIFY_SIZE * 3);
    if (!c->probs || !c->top || !c->rgb) return avemo_error(AVEMO_ENOMEM, "out of memory");
    return AVEMO_OK;
}

/* Image file -> rgb uint8 [224, 224, 3], whole or centre-cropped first (classify_job.crop). */
static int classify_input(const char *path, double crop, uint8_t *rgb) {
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

/* c->probs [classes] of one input: the featurizer's embedding, the classifier, a softmax. */
static int classify_rgb(classify_run *c, const uint8_t *rgb) {
    float feat[MNV2_FEATURES], *logits = malloc(sizeof(float) * c->net.n_classes);
    if (!logits) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int rc = featurizer_embed(&c->embed, rgb, 1, CLASSIFY_SIZE, CLASSIFY_SIZE, 3, 1, feat);
    if (!rc) rc = mobilenetv2_classify(&c->net, logits, feat, 1);
    if (!rc) softmax_forward(c->probs, logits, 1, c->net.n_classes);
    free(logits);
    return rc;
}

/* The c->n_top most probable classes, by repeated selection of the largest (the lower index on a tie). */
static void classify_top(classify_run *c) {
    for (int t = 0; t < c->n_top; t++) {
        int best = -1;
        for (int j = 0; j < c->net.n_classes; j++)
            if (c->probs[j] >= 0 && (best < 0 || c->probs[j] > c->probs[best])) best = j;
        c->top[t] = (classify_class){best, c->probs[best], c->labels[best + c->label_offset]};
        c->probs[best] = -1;
    }
}

static int classify_step(void *run_v, const char *path) {
    classify_run *c = run_v;
    classify_done done = {.path = path, .top = c->top};
    done.status = classify_input(path, c->job->crop, c->rgb);
    if (!done.status && (done.status = classify_rgb(c, c->rgb))) avemo_error_prefix(done.status, "%s", path);
    if (!done.status) {
        classify_top(c);
        done.n_top = c->n_top;
    }
    if (c->job->on_input) c->job->on_input(&done, c->job->ctx);
    return done.status;
}

int classify_job_run(const classify_job *job, char *const *inputs, int n, job_tally *tally) {
    memset(tally, 0, sizeof *tally);
    classify_run c;
    int rc = classify_open(&c, job);
    if (!rc) run_inputs(&c, classify_step, inputs, n, 1, NULL, tally);
    classify_close(&c);
    return rc;
}
