/* A timeline per person (include/avemo.h, avemo_timeline_file): sampled frames -> MTCNN faces -> tracks
 * (vision/face_tracks.h) -> each face's crop through the model's video stream (avemo_predict_pcm, frames only)
 * -> per window and track, the mean probabilities (T = 1) or one prediction on T of its crops. */
#include "avemo.h"

#include "api/predict_inputs.h"
#include "core/err.h"
#include "data/weights.h"
#include "io/media_probe.h"
#include "io/video.h"
#include "vision/face_tracks.h"
#include "vision/faces.h"
#include "vision/imgops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TIMELINE_DEFAULT_FPS 5.0
#define TIMELINE_DECODE_FRAMES 48  /* frames decoded per pass */
#define TIMELINE_MAX_SAMPLES 200000 /* sampled frames per file (11 hours at 5 fps) */
#define TIMELINE_PATH_MAX 4096
#define TIMELINE_MAX_CROP_BYTES (1L << 30) /* T > 1 models keep every face crop until the windows are scored */

static double tl_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* Everything one call builds. */
typedef struct {
    avemo_model *M;
    const char *path;
    int T, S, C;           /* the model's frames per input, side, channels */
    mtcnn *own_detector;   /* loaded here when the model's featurizer has none */
    const mtcnn *detector;
    mtcnn_config mcfg;
    long total;            /* frames of the video */
    double fps;
    int n_samples;
    long *idx;             /* [n_samples] sampled frame indices, ascending */
    avemo_timeline *tl;
    int cap_faces;
    float *face_probs;     /* T = 1: [cap_faces, n_classes] each sighting's probabilities */
    uint8_t *face_crops;   /* T > 1: [cap_faces, S, S, C] each sighting's crop */
    face_tracker tracker;
} timeline_job;

void avemo_timeline_free(avemo_timeline *t) {
    if (!t) return;
    free(t->people);
    free(t->faces);
    free(t);
}

static void job_free(timeline_job *j) {
    mtcnn_free(j->own_detector);
    free(j->idx);
    free(j->face_probs);
    free(j->face_crops);
    face_tracker_free(&j->tracker);
}

/* The model must read video; with audio too, tolerate its absence. */
static int check_model(const avemo_model *M, const char *path) {
    int needs = avemo_model_needs(M);
    if (!(needs & AVEMO_NEEDS_VIDEO))
        return avemo_error(AVEMO_EINVAL, "%s: per-person emotions need a model that reads video (this one reads audio only)",
                           path);
    if ((needs & AVEMO_NEEDS_AUDIO) && !avemo_model_tolerates_missing(M))
        return avemo_error(AVEMO_EINVAL, "%s: per-person emotions need a video model, or an audio-visual one trained with "
                           "modality dropout (the face alone is fed to it)", path);
    return AVEMO_OK;
}

/* The detector: the model's own, else one loaded from the weights search. */
static int job_detector(timeline_job *j, const avemo_timeline_options *o) {
    const featurizer *f = predict_featurizer(j->M);
    j->mcfg = f->settings.faces.mtcnn;
    if (f->detector && !(o && o->mtcnn_manifest)) {
        j->detector = f->detector;
        return AVEMO_OK;
    }
    char where[TIMELINE_PATH_MAX];
    int rc = weights_find(WEIGHTS_MTCNN, o ? o->mtcnn_manifest : NULL, NULL, where, sizeof where);
    if (!rc) rc = mtcnn_load(where, &j->own_detector);
    j->detector = j->own_detector;
    return rc;
}

/* Probe, count windows, choose the sampled frames. */
static int job_plan(timeline_job *j, double window_s, double hop_s, const avemo_timeline_options *o) {
    media_info mi;
    int rc = media_probe(j->path, &mi);
    if (rc) return rc;
    if (!mi.has_video) return avemo_error(AVEMO_EDECODE, "%s: no video stream; a timeline per person needs one", j->path);
    if (mi.is_image) return avemo_error(AVEMO_EINVAL, "%s: a still image has no time axis for windows", j->path);
    avemo_timeline *tl = j->tl;
    if ((rc = video_probe(j->path, &j->total, &j->fps, &tl->height, &tl->width))) return rc;
    tl->duration_s = j->total / j->fps;
    tl->window_s = window_s;
    tl->hop_s = hop_s;
    double nw = tl->duration_s < window_s ? 1 : floor((tl->duration_s - window_s) / hop_s + 1e-9) + 1;
    if (nw > TIMELINE_MAX_SAMPLES) return avemo_error(AVEMO_EINVAL, "%s: %.0f windows (too many)", j->path, nw);
    tl->n_windows = (int)nw;
    double sfps = o && o->sample_fps > 0 ? o->sample_fps : TIMELINE_DEFAULT_FPS;
    if (sfps > j->fps) sfps = j->fps;
    tl->sample_fps = sfps;
    double ns = floor(tl->duration_s * sfps);
    if (ns < 1) ns = 1;
    if (ns > TIMELINE_MAX_SAMPLES)
        return avemo_error(AVEMO_EINVAL, "%s: %.0f frames to sample (at most %d): lower the sampling rate", j->path, ns,
                           TIMELINE_MAX_SAMPLES);
    j->n_samples = (int)ns;
    if (!(j->idx = malloc((size_t)j->n_samples * sizeof *j->idx))) return avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int k = 0; k < j->n_samples; k++) { /* frame showing the middle of slot k */
        long i = (long)floor((k + 0.5) / sfps * j->fps);
        j->idx[k] = i < j->total ? i : j->total - 1;
    }
    return AVEMO_OK;
}

/* Room for one more sighting (and its probabilities or crop). */
static int grow_faces(timeline_job *j) {
    avemo_timeline *tl = j->tl;
    if (tl->n_faces < j->cap_faces) return AVEMO_OK;
    int cap = j->cap_faces ? 2 * j->cap_faces : 64, K = avemo_class_count(j->M);
    if (j->T > 1 && (double)cap * j->S * j->S * j->C > TIMELINE_MAX_CROP_BYTES)
        return avemo_error(AVEMO_ENOMEM, "%s: more than %d face crops to keep for a %d-frame model (%ld MB at most): "
                           "sample fewer frames per second", j->path, tl->n_faces, j->T, TIMELINE_MAX_CROP_BYTES >> 20);
    avemo_face_sighting *f = realloc(tl->faces, (size_t)cap * sizeof *f);
    if (f) tl->faces = f;
    void *extra = j->T == 1 ? realloc(j->face_probs, (size_t)cap * K * sizeof(float))
                            : realloc(j->face_crops, (size_t)cap * j->S * j->S * j->C);
    if (extra && j->T == 1) j->face_probs = extra;
    else if (extra) j->face_crops = extra;
    if (!f || !extra) return avemo_error(AVEMO_ENOMEM, "out of memory");
    j->cap_faces = cap;
    return AVEMO_OK;
}

/* The model's frame for the face in box (squared, zero outside): dst [S, S, C]. */
static int face_crop(const timeline_job *j, const uint8_t *rgb, int h, int w, const float *box, uint8_t *dst) {
    float side = fmaxf(box[2] - box[0], box[3] - box[1]), cx = 0.5f * (box[0] + box[2]), cy = 0.5f * (box[1] + box[3]);
    int s = (int)lrintf(side), x0 = (int)lrintf(cx - 0.5f * side), y0 = (int)lrintf(cy - 0.5f * side);
    if (s < 1) s = 1;
    if (s > 2 * (h > w ? h : w)) return avemo_error(AVEMO_EINVAL, "%s: face box too large (%d px)", j->path, s);
    uint8_t *crop = malloc((size_t)s * s * 3);
    if (!crop) return avemo_error(AVEMO_ENOMEM, "out of memory");
    crop_u8(crop, rgb, h, w, 3, x0, y0, s, s);
    if (j->C == 1) rgb_to_gray(crop, crop, (long)s * s); /* in place: gray[i] reads rgb[3i..3i+2] */
    resize_bilinear_u8(dst, j->S, j->S, crop, s, s, j->C);
    free(crop);
    return AVEMO_OK;
}

/* One detected face of sampled frame k (decoded rgb [h, w, 3]): a sighting, and its probabilities (T = 1) or
 * its crop (T > 1). */
static int add_sighting(timeline_job *j, int k, const uint8_t *rgb, int h, int w, const mtcnn_face *fc, int id) {
    int rc = grow_faces(j);
    if (rc) return rc;
    avemo_timeline *tl = j->tl;
    avemo_face_sighting *s = &tl->faces[tl->n_faces];
    float box[4] = {fc->x0, fc->y0, fc->x1, fc->y1}, kx = (float)tl->width / w, ky = (float)tl->height / h;
    s->time_s = j->idx[k] / j->fps;
    s->track_id = id;
    s->score = fc->score;
    s->box[0] = box[0] * kx, s->box[1] = box[1] * ky, s->box[2] = box[2] * kx, s->box[3] = box[3] * ky;
    if (j->T == 1) {
        uint8_t *crop = malloc((size_t)j->S * j->S * j->C);
        avemo_result r;
        double t0 = tl_now_ms();
        rc = crop ? face_crop(j, rgb, h, w, box, crop) : avemo_error(AVEMO_ENOMEM, "out of memory");
        tl->faces_ms += tl_now_ms() - t0;
        t0 = tl_now_ms();
        if (!rc) rc = avemo_predict_pcm(j->M, NULL, 0, 0, crop, 1, j->S, j->S, &r);
        tl->model_ms += tl_now_ms() - t0;
        free(crop);
        if (rc) return avemo_error_prefix(rc, "%s", j->path);
        memcpy(j->face_probs + (size_t)tl->n_faces * r.n_classes, r.probs, (size_t)r.n_classes * sizeof(float));
    } else if ((rc = face_crop(j, rgb, h, w, box, j->face_crops + (size_t)tl->n_faces * j->S * j->S * j->C))) {
        return rc;
    }
    tl->n_faces++;
    return AVEMO_OK;
}

/* Sampled frames [k0, k1) decoded in rgb [k1 - k0, h, w, 3]: detections (in parallel), then tracks in order. */
static int track_frames(timeline_job *j, int k0, int k1, const uint8_t *rgb, int h, int w) {
    int n = k1 - k0, rc = AVEMO_OK;
    mtcnn_face **faces = calloc((size_t)n, sizeof *faces);
    int *counts = calloc((size_t)n, sizeof *counts), *errs = calloc((size_t)n, sizeof *errs);
    if (!faces || !counts || !errs) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    double t0 = tl_now_ms();
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < (rc ? 0 : n); i++)
        errs[i] = mtcnn_detect(j->detector, rgb + (size_t)i * h * w * 3, h, w, &j->mcfg, &faces[i], &counts[i]);
    j->tl->faces_ms += tl_now_ms() - t0;
    for (int i = 0; !rc && i < n; i++) {
        if ((rc = errs[i])) {
            avemo_error(rc, "%s: face detection failed on frame %ld", j->path, j->idx[k0 + i]);
            break;
        }
        float(*boxes)[4] = malloc(((size_t)counts[i] + 1) * sizeof *boxes);
        int *ids = malloc(((size_t)counts[i] + 1) * sizeof *ids);
        if (!boxes || !ids) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        for (int d = 0; !rc && d < counts[i]; d++)
            boxes[d][0] = faces[i][d].x0, boxes[d][1] = faces[i][d].y0, boxes[d][2] = faces[i][d].x1,
            boxes[d][3] = faces[i][d].y1;
        if (!rc) rc = face_tracker_update(&j->tracker, (const float(*)[4])boxes, counts[i], ids);
        for (int d = 0; !rc && d < counts[i]; d++)
            rc = add_sighting(j, k0 + i, rgb + (size_t)i * h * w * 3, h, w, &faces[i][d], ids[d]);
        free(boxes);
        free(ids);
    }
    for (int i = 0; faces && i < n; i++) free(faces[i]);
    free(faces);
    free(counts);
    free(errs);
    return rc;
}

/* Every sampled frame, a decoding pass at a time. */
static int track_all(timeline_job *j) {
    int rc = AVEMO_OK;
    for (int k0 = 0; k0 < j->n_samples && !rc; k0 += TIMELINE_DECODE_FRAMES) {
        int k1 = k0 + TIMELINE_DECODE_FRAMES < j->n_samples ? k0 + TIMELINE_DECODE_FRAMES : j->n_samples, h, w;
        uint8_t *rgb = NULL;
        double t0 = tl_now_ms();
        rc = video_decode_indices(j->path, j->idx + k0, k1 - k0, FACES_DETECT_MAX_SIDE, &rgb, &h, &w);
        j->tl->decode_ms += tl_now_ms() - t0;
        if (!rc) rc = track_frames(j, k0, k1, rgb, h, w);
        free(rgb);
    }
    return rc;
}

/* Track `id` in window w: sightings sel [n] -> the window's result (probabilities per the model's T). */
static int person_result(timeline_job *j, const int *sel, int n, avemo_person_window *p) {
    int K = avemo_class_count(j->M);
    const avemo_face_sighting *f = j->tl->faces;
    p->frames = n;
    p->n_classes = K;
    memset(p->box, 0, sizeof p->box);
    memset(p->probs, 0, sizeof p->probs);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 4; c++) p->box[c] += f[sel[i]].box[c] / (float)n;
    if (j->T == 1) {
        for (int i = 0; i < n; i++)
            for (int k = 0; k < K; k++) p->probs[k] += j->face_probs[(size_t)sel[i] * K + k] / (float)n;
    } else { /* T of the crops spread over the window (repeated when fewer) */
        size_t fb = (size_t)j->S * j->S * j->C;
        uint8_t *frames = malloc((size_t)j->T * fb);
        if (!frames) return avemo_error(AVEMO_ENOMEM, "out of memory");
        for (int t = 0; t < j->T; t++) memcpy(frames + t * fb, j->face_crops + sel[(int)((t + 0.5) * n / j->T)] * fb, fb);
        avemo_result r;
        double t0 = tl_now_ms();
        int rc = avemo_predict_pcm(j->M, NULL, 0, 0, frames, j->T, j->S, j->S, &r);
        j->tl->model_ms += tl_now_ms() - t0;
        free(frames);
        if (rc) return avemo_error_prefix(rc, "%s", j->path);
        memcpy(p->probs, r.probs, (size_t)K * sizeof(float));
    }
    p->top_class = 0;
    for (int k = 1; k < K; k++)
        if (p->probs[k] > p->probs[p->top_class]) p->top_class = k;
    return AVEMO_OK;
}

/* Room for one more person-window result. */
static int grow_people(avemo_timeline *tl, int *cap) {
    if (tl->n_people < *cap) return AVEMO_OK;
    int c = *cap ? 2 * *cap : 16;
    avemo_person_window *p = realloc(tl->people, (size_t)c * sizeof *p);
    if (!p) return avemo_error(AVEMO_ENOMEM, "out of memory");
    tl->people = p;
    *cap = c;
    return AVEMO_OK;
}

/* Per window, per track seen in it: its result. Sightings are in time order, so each window is a range of them
 * (found by two pointers as windows advance); within it, each track's sightings in order. */
static int people_results(timeline_job *j) {
    avemo_timeline *tl = j->tl;
    int cap = 0, rc = AVEMO_OK, lo = 0, hi = 0;
    int *sel = malloc(((size_t)tl->n_faces + 1) * sizeof *sel);
    char *done = calloc((size_t)tl->n_faces + 1, 1);
    if (!sel || !done) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    tl->n_tracks = j->tracker.next_id - 1;
    for (int w = 0; w < tl->n_windows && !rc; w++) {
        double s = w * tl->hop_s, e = s + tl->window_s;
        while (lo < tl->n_faces && tl->faces[lo].time_s < s) lo++;
        if (hi < lo) hi = lo;
        while (hi < tl->n_faces && tl->faces[hi].time_s < e) hi++;
        memset(done + lo, 0, (size_t)(hi - lo));
        for (int id = 1; id <= tl->n_tracks && !rc; id++) { /* ids ascending; only those in the range cost a scan */
            int first = -1, n = 0;
            for (int i = lo; i < hi && first < 0; i++)
                if (!done[i] && tl->faces[i].track_id == id) first = i;
            if (first < 0) continue;
            for (int i = first; i < hi; i++)
                if (tl->faces[i].track_id == id) sel[n++] = i, done[i] = 1;
            if ((rc = grow_people(tl, &cap))) break;
            avemo_person_window *p = &tl->people[tl->n_people];
            p->window = w, p->start_s = s, p->end_s = e, p->track_id = id;
            if (!(rc = person_result(j, sel, n, p))) tl->n_people++;
        }
    }
    free(sel);
    free(done);
    return rc;
}

int avemo_timeline_file(avemo_model *M, const char *path, double window_s, double hop_s,
                        const avemo_timeline_options *o, avemo_timeline **out) {
    if (!M || !path || !out) return avemo_error(AVEMO_EINVAL, "avemo_timeline_file: NULL argument");
    *out = NULL;
    if (!(window_s > 0 && window_s < 1e6) || !(hop_s > 0 && hop_s < 1e6))
        return avemo_error(AVEMO_EINVAL, "window and hop must be positive seconds (got %g, %g)", window_s, hop_s);
    double t_start = tl_now_ms();
    int rc = check_model(M, path);
    if (rc) return rc;
    timeline_job j = {.M = M, .path = path};
    avemo_model_video_shape(M, &j.T, &j.S, &j.C);
    face_tracker_init(&j.tracker, 0, o && o->max_missed ? (o->max_missed < 0 ? 0 : o->max_missed) : -1);
    if (!(j.tl = calloc(1, sizeof *j.tl))) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!rc) rc = job_plan(&j, window_s, hop_s, o);
    if (!rc) rc = job_detector(&j, o);
    if (!rc) rc = track_all(&j);
    if (!rc) rc = people_results(&j);
    if (!rc) {
        j.tl->total_ms = tl_now_ms() - t_start;
        *out = j.tl;
    } else {
        avemo_timeline_free(j.tl);
    }
    job_free(&j);
    return rc;
}
