#include "vision/faces.h"

#include "core/err.h"
#include "vision/imgops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void faces_default_config(faces_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->frames = AVEMO_FRAMES_PER_CLIP;
    cfg->size = FACES_SIZE;
    cfg->refine = 1;
    cfg->detect_max_side = FACES_DETECT_MAX_SIDE;
    cfg->window = FRAME_WINDOW_CENTER;
    mtcnn_default_config(&cfg->mtcnn);
}

/* square box of side max(w, h) around the centre (rerec) */
static void square_box(float *b) {
    float w = b[2] - b[0], h = b[3] - b[1], l = w > h ? w : h;
    float cx = 0.5f * (b[0] + b[2]), cy = 0.5f * (b[1] + b[3]);
    b[0] = cx - 0.5f * l;
    b[1] = cy - 0.5f * l;
    b[2] = cx + 0.5f * l;
    b[3] = cy + 0.5f * l;
}

/* MTCNN on the crop of side FACES_REFINE_ENLARGE x the square box's, resampled to FACES_REFINE_PX, min face
 * FACES_REFINE_MIN_FACE_PX: *found = 1 and *best = its most confident face in frame pixels (*n faces found),
 * or *found = 0. */
static int search_around(const mtcnn *m, const uint8_t *rgb, int h, int w, const float *box, mtcnn_face *best, int *n,
                         int *found) {
    *found = *n = 0;
    float side = (box[2] - box[0]) * FACES_REFINE_ENLARGE;
    if (!(side >= 1)) return AVEMO_OK;
    float cx = 0.5f * (box[0] + box[2]), cy = 0.5f * (box[1] + box[3]);
    int x0 = (int)lrintf(cx - 0.5f * side), y0 = (int)lrintf(cy - 0.5f * side), s = (int)lrintf(side);
    const int r = FACES_REFINE_PX;
    float *cropf = malloc(sizeof(float) * r * r * 3);
    uint8_t *crop = malloc((size_t)r * r * 3);
    mtcnn_face *faces = NULL;
    int err = AVEMO_OK;
    if (!cropf || !crop) {
        err = avemo_error(AVEMO_ENOMEM, "faces: out of memory");
        goto done;
    }
    if ((err = crop_resize_f32(cropf, r, r, rgb, h, w, 3, x0, y0, s, s))) goto done;
    for (long i = 0; i < (long)r * r * 3; i++) {
        float v = cropf[i] + 0.5f;
        crop[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    mtcnn_config cfg;
    mtcnn_default_config(&cfg);
    cfg.min_face_px = FACES_REFINE_MIN_FACE_PX;
    if ((err = mtcnn_detect(m, crop, r, r, &cfg, &faces, n))) goto done;
    if (*n > 0) {
        float k = (float)s / r; /* crop pixels -> frame pixels */
        *best = faces[0];
        best->x0 = x0 + faces[0].x0 * k;
        best->y0 = y0 + faces[0].y0 * k;
        best->x1 = x0 + faces[0].x1 * k;
        best->y1 = y0 + faces[0].y1 * k;
        for (int p = 0; p < 5; p++) {
            best->lm_x[p] = x0 + faces[0].lm_x[p] * k;
            best->lm_y[p] = y0 + faces[0].lm_y[p] * k;
        }
        *found = 1;
    }
done:
    free(faces);
    free(cropf);
    free(crop);
    return err;
}

/* Second MTCNN pass on the enlarged crop around box (square); replaces box when a face is found. */
static int refine_box(const mtcnn *m, const uint8_t *rgb, int h, int w, float *box, int *refined) {
    mtcnn_face best;
    int n, err = search_around(m, rgb, h, w, box, &best, &n, refined);
    if (!err && *refined) {
        box[0] = best.x0, box[1] = best.y0, box[2] = best.x1, box[3] = best.y1;
        square_box(box);
    }
    return err;
}

/* MTCNN on rgb [h, w, 3], shrunk first so that the longer side is at most max_side (0: never), without the
 * pyramid levels for faces under min_face_frac of the shorter side searched; faces are returned in
 * full-resolution coordinates. */
static int detect_scaled(const mtcnn *m, const uint8_t *rgb, int h, int w, int max_side, float min_face_frac,
                         const mtcnn_config *cfg_in, mtcnn_face **faces, int *n) {
    int side = h > w ? h : w;
    mtcnn_config cfg = *cfg_in;
    if (max_side <= 0 || side <= max_side) {
        if (min_face_frac > 0) cfg.skip_below_px = min_face_frac * (h < w ? h : w);
        return mtcnn_detect(m, rgb, h, w, &cfg, faces, n);
    }
    double s = (double)max_side / side;
    int sh = (int)lround(h * s), sw = (int)lround(w * s);
    if (sh < 1) sh = 1;
    if (sw < 1) sw = 1;
    if (min_face_frac > 0) cfg.skip_below_px = min_face_frac * (sh < sw ? sh : sw);
    float *f = malloc(sizeof(float) * (size_t)sh * sw * 3);
    uint8_t *small = malloc((size_t)sh * sw * 3);
    int err = AVEMO_OK;
    if (!f || !small) err = avemo_error(AVEMO_ENOMEM, "faces: out of memory");
    if (!err) err = crop_resize_f32(f, sh, sw, rgb, h, w, 3, 0, 0, w, h);
    if (!err) {
        for (long i = 0; i < (long)sh * sw * 3; i++) small[i] = (uint8_t)(f[i] + 0.5f);
        err = mtcnn_detect(m, small, sh, sw, &cfg, faces, n);
    }
    free(f);
    free(small);
    if (err) return err;
    float kx = (float)w / sw, ky = (float)h / sh;
    for (int i = 0; i < *n; i++) {
        mtcnn_face *fc = &(*faces)[i];
        fc->x0 *= kx, fc->x1 *= kx, fc->y0 *= ky, fc->y1 *= ky;
        for (int p = 0; p < 5; p++) fc->lm_x[p] *= kx, fc->lm_y[p] *= ky;
    }
    return AVEMO_OK;
}

/* The full search on one frame: first pass, the most confident face, its squared box, refinement. */
static int full_search(const mtcnn *m, const uint8_t *rgb, int h, int w, const faces_config *cfg, face_frame *fi) {
    mtcnn_face *faces = NULL;
    int n = 0;
    int e = detect_scaled(m, rgb, h, w, cfg->detect_max_side, cfg->min_face_frac, &cfg->mtcnn, &faces, &n);
    if (!e && n > 0) {
        fi->status = FACE_FOUND;
        fi->n_detected = n;
        fi->face = faces[0];
        fi->box[0] = faces[0].x0;
        fi->box[1] = faces[0].y0;
        fi->box[2] = faces[0].x1;
        fi->box[3] = faces[0].y1;
        square_box(fi->box);
        if (cfg->refine) e = refine_box(m, rgb, h, w, fi->box, &fi->refined);
    }
    free(faces);
    return e;
}

/* Following: the second pass alone around the anchor (the box the search crop is centred on); *kept = 0 when the
 * track is lost (no face there, a low score, or a jump in size). The anchor stays while the face found keeps
 * within FACES_TRACK_RECENTER of it (centre and side, relative to its side), so that a still face gives the same
 * crop, hence the same box, on every frame, as the full search does; else it moves to the face found. */
static int follow(const mtcnn *m, const uint8_t *rgb, int h, int w, float *anchor, face_frame *fi, int *kept) {
    mtcnn_face best;
    int n, found, e = search_around(m, rgb, h, w, anchor, &best, &n, &found);
    *kept = 0;
    if (e || !found || !(best.score >= FACES_TRACK_MIN_SCORE)) return e;
    float side = fmaxf(best.x1 - best.x0, best.y1 - best.y0), prev_side = anchor[2] - anchor[0];
    if (!(side <= FACES_TRACK_MAX_CHANGE * prev_side && prev_side <= FACES_TRACK_MAX_CHANGE * side)) return AVEMO_OK;
    fi->status = FACE_FOUND;
    fi->n_detected = n;
    fi->face = best;
    fi->box[0] = best.x0, fi->box[1] = best.y0, fi->box[2] = best.x1, fi->box[3] = best.y1;
    square_box(fi->box);
    fi->refined = fi->tracked = *kept = 1;
    float lim = FACES_TRACK_RECENTER * prev_side, side_now = fi->box[2] - fi->box[0];
    if (fabsf(0.5f * (fi->box[0] + fi->box[2] - anchor[0] - anchor[2])) > lim ||
        fabsf(0.5f * (fi->box[1] + fi->box[3] - anchor[1] - anchor[3])) > lim || fabsf(side_now - prev_side) > lim)
        memcpy(anchor, fi->box, sizeof fi->box);
    return AVEMO_OK;
}

/* A frame's record before pass 1 fills it: cleared, its index set, FACE_PADDED for a padded slot (index < 0).
 * Returns whether the frame is a real one to search. */
static int frame_reset(face_frame *fi, long frame_index) {
    memset(fi, 0, sizeof *fi);
    fi->frame_index = frame_index;
    if (frame_index >= 0) return 1;
    fi->status = FACE_PADDED;
    return 0;
}

/* Pass 1 without following: the full search on every frame, frames in parallel (the layers run serially
 * inside). */
static int search_every_frame(const mtcnn *m, const video_clip *clip, const faces_config *cfg, face_frame *info) {
    size_t frame_px = (size_t)clip->h * clip->w * 3;
    int err = AVEMO_OK;
    char msg[512] = "";
#pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < clip->n; k++) {
        face_frame *fi = &info[k];
        if (!frame_reset(fi, clip->index[k])) continue;
        int e = full_search(m, clip->rgb + (size_t)k * frame_px, clip->h, clip->w, cfg, fi);
        if (e) {
#pragma omp critical(faces_error)
            if (!err) { /* messages are per thread: keep the first one for the caller's thread */
                err = e;
                snprintf(msg, sizeof msg, "%s", avemo_last_error());
            }
        }
    }
    return err ? avemo_error(err, "%s", msg) : AVEMO_OK;
}

/* crop box (zero outside), grayscale unless colour, bilinear resize -> dst [size, size(, 3)] */
static int crop_face(uint8_t *dst, const uint8_t *rgb, int h, int w, const float *box, const faces_config *cfg) {
    int x0 = (int)lrintf(box[0]), y0 = (int)lrintf(box[1]);
    int s = (int)lrintf(box[2] - box[0]);
    if (s < 1) s = 1;
    if ((long)s * s > AVEMO_MAX_PIXELS) return avemo_error(AVEMO_EINVAL, "faces: face box too large (%d px)", s);
    uint8_t *crop = malloc((size_t)s * s * 3);
    if (!crop) return avemo_error(AVEMO_ENOMEM, "faces: out of memory");
    crop_u8(crop, rgb, h, w, 3, x0, y0, s, s);
    if (cfg->color_rgb) {
        resize_bilinear_u8(dst, cfg->size, cfg->size, crop, s, s, 3);
    } else {
        rgb_to_gray(crop, crop, (long)s * s); /* in place: gray[i] only reads rgb[3i..3i+2], i <= 3i */
        resize_bilinear_u8(dst, cfg->size, cfg->size, crop, s, s, 1);
    }
    free(crop);
    return AVEMO_OK;
}

/* Pass 1 when following the face, on frame k (in order): the second pass around the anchor, else the full search
 * (which sets the anchor: the crop of its second pass, the first pass's box squared). */
static int follow_or_search(const mtcnn *m, const uint8_t *rgb, int h, int w, const faces_config *cfg,
                            faces_sequence *seq, face_frame *fi) {
    int kept = 0, e = seq->have_anchor ? follow(m, rgb, h, w, seq->anchor, fi, &kept) : AVEMO_OK;
    if (!e && !kept) {
        frame_reset(fi, fi->frame_index); /* what follow() wrote is dropped */
        e = full_search(m, rgb, h, w, cfg, fi);
        if (!e && fi->status == FACE_FOUND) {
            seq->anchor[0] = fi->face.x0, seq->anchor[1] = fi->face.y0;
            seq->anchor[2] = fi->face.x1, seq->anchor[3] = fi->face.y1;
            square_box(seq->anchor);
        }
    }
    if (!e) seq->have_anchor = fi->status == FACE_FOUND;
    return e;
}

/* Pass 2 on one frame, in order: the box (found, or the previous one reused), the crop into dst [size, size(, 3)]. */
static int crop_step(const uint8_t *rgb, int h, int w, const faces_config *cfg, faces_sequence *seq, face_frame *fi,
                     uint8_t *dst, int *n_noface) {
    memset(dst, 0, (size_t)faces_frame_bytes(cfg));
    if (fi->status == FACE_PADDED) return AVEMO_OK;
    if (fi->status == FACE_FOUND) {
        memcpy(seq->prev, fi->box, sizeof seq->prev);
        seq->have_prev = 1;
    } else {
        (*n_noface)++;
        if (!(cfg->reuse_box && seq->have_prev)) return AVEMO_OK;
        fi->status = FACE_REUSED;
        memcpy(fi->box, seq->prev, sizeof seq->prev);
    }
    return crop_face(dst, rgb, h, w, fi->box, cfg);
}

void faces_sequence_init(faces_sequence *seq) { memset(seq, 0, sizeof *seq); }

int faces_sequence_frame(const mtcnn *m, const faces_config *cfg, faces_sequence *seq, const uint8_t *rgb, int h,
                         int w, long frame_index, uint8_t *out, face_frame *fi, int *n_noface) {
    int real = frame_reset(fi, frame_index);
    int err = real && cfg->track ? follow_or_search(m, rgb, h, w, cfg, seq, fi)
              : real            ? full_search(m, rgb, h, w, cfg, fi)
                                : AVEMO_OK;
    return err ? err : crop_step(rgb, h, w, cfg, seq, fi, out, n_noface);
}

int faces_from_clip(const mtcnn *m, const video_clip *clip, const faces_config *cfg, uint8_t *out,
                    face_frame *info, int *n_noface) {
    *n_noface = 0;
    long fb = faces_frame_bytes(cfg);
    size_t frame_px = (size_t)clip->h * clip->w * 3;
    faces_sequence seq;
    faces_sequence_init(&seq);
    int err = AVEMO_OK;
    if (cfg->track) {
        /* following: frames in order, each searched then cropped, on the caller's thread inside a parallel region,
         * so that the layers run serially there: split over threads, MTCNN's small layers on a 144 px crop cost
         * more in waiting than they gain (measured: 4x the CPU time on 2 threads) */
#pragma omp parallel
#pragma omp master
        for (int k = 0; k < clip->n && !err; k++)
            err = faces_sequence_frame(m, cfg, &seq, clip->rgb + (size_t)k * frame_px, clip->h, clip->w,
                                       clip->index[k], out + (size_t)k * fb, &info[k], n_noface);
        return err;
    }
    /* the full search on every frame, frames in parallel; then reused boxes and crops, in order */
    if ((err = search_every_frame(m, clip, cfg, info))) return err;
    for (int k = 0; k < clip->n && !err; k++)
        err = crop_step(clip->rgb + (size_t)k * frame_px, clip->h, clip->w, cfg, &seq, &info[k], out + (size_t)k * fb,
                        n_noface);
    return err;
}
