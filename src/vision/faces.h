/* Face crops of a clip (SPEC section 2.3-2.5): per sampled frame, MTCNN on the frame, keep the most
 * confident face, square its box, refine it with a second MTCNN pass on an enlarged crop (the paper),
 * crop (zero outside the image), convert to grayscale (BT.601) unless colour is asked for, bilinear resize
 * (half-pixel centres) to size x size. A frame without a face (or sampled past the clip's end, with the
 * baseline's first-frames window) is all zeros.
 *
 * Second pass: the squared first box of side s is enlarged to FACES_REFINE_ENLARGE * s around its centre,
 * that crop is resampled to FACES_REFINE_PX pixels square (so the face is about 96 px there, whatever its
 * size in the frame) and MTCNN runs on it with min face FACES_REFINE_MIN_FACE_PX; its most confident face,
 * mapped back to frame coordinates and squared, replaces the first box. If the second pass finds nothing,
 * the first box is kept.
 *
 * Speed (ours): the first pass runs on the frame shrunk (area filter) so that its longer side is at most
 * detect_max_side pixels (default FACES_DETECT_MAX_SIDE; 0 = full resolution, the paper's setting). The
 * second pass works on the full-resolution crop, so the final box keeps full precision. At 640, a 720p
 * RAVDESS face (~300 px) is still ~150 px, far above MTCNN's 20 px minimum, and P-Net costs ~4x less.
 */
#ifndef AVEMO_VISION_FACES_H
#define AVEMO_VISION_FACES_H
#include "io/video.h"
#include "vision/mtcnn.h"

#include <stdint.h>

#define FACES_SIZE 224
#define FACES_REFINE_ENLARGE 1.5f
#define FACES_REFINE_PX 144
#define FACES_REFINE_MIN_FACE_PX 40.0f
#define FACES_DETECT_MAX_SIDE 640

typedef struct {
    int frames;          /* frames sampled per clip (AVEMO_FRAMES_PER_CLIP) */
    int size;            /* output side (224) */
    int color_rgb;       /* 0: grayscale [size, size]; 1: RGB [size, size, 3] */
    int reuse_box;       /* a frame without a face reuses the previous frame's box (the baseline) */
    int refine;          /* second MTCNN pass (default 1) */
    int detect_max_side; /* first pass on the frame shrunk to this longer side; 0 = full resolution */
    frame_window window; /* which frames are sampled */
    mtcnn_config mtcnn;
} faces_config;

void faces_default_config(faces_config *cfg);

typedef enum {
    FACE_NONE = 0,    /* no face: zero frame */
    FACE_FOUND = 1,   /* detected in this frame */
    FACE_REUSED = 2,  /* --reuse-box: previous frame's box */
    FACE_PADDED = 3   /* sampled time outside the clip: zero frame */
} face_status;

typedef struct {
    face_status status;
    long frame_index;  /* source frame, -1 when padded */
    int n_detected;    /* faces MTCNN found in the frame */
    mtcnn_face face;   /* the first-pass detection kept (valid for FACE_FOUND) */
    int refined;       /* the second pass found the face */
    float box[4];      /* the square crop box x0, y0, x1, y1 in frame pixels (FOUND / REUSED) */
} face_frame;

/* Bytes of one output frame. */
static inline long faces_frame_bytes(const faces_config *cfg) {
    return (long)cfg->size * cfg->size * (cfg->color_rgb ? 3 : 1);
}

/* Crops of every frame of `clip` into out [clip->n, size, size(, 3)], info [clip->n]. *n_noface counts
 * frames where no face was found (reused boxes included, padded frames not). */
int faces_from_clip(const mtcnn *m, const video_clip *clip, const faces_config *cfg, uint8_t *out,
                    face_frame *info, int *n_noface);

#endif
