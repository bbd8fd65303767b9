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
 *
 * Following the face (ours, issue 15; `track`): the full search above runs on the first frame with a face and
 * whenever the track is lost; on the next frames only the second pass runs, on the enlarged crop around the
 * box the previous frame's crop was centred on (the face is ~96 px there, MTCNN at min face 40: a few small
 * pyramid levels, R-Net and O-Net on a handful of candidates, instead of the pyramid of the whole frame); that
 * centre moves to the face found only when the face has moved or grown by more than FACES_TRACK_RECENTER of its
 * side, so that a still face gets the full search's box on every frame. Its most confident face is
 * kept when O-Net scores it at least FACES_TRACK_MIN_SCORE and its side is within FACES_TRACK_MAX_CHANGE times
 * the previous one's (either way); otherwise the frame gets the full search (and refinement). Frames are then
 * processed in order (the full search runs frames in parallel). With a still or slowly moving face the boxes
 * are those of the full search within a few pixels (bench/RESULTS.md).
 *
 * Smallest face relative to the frame (ours, issue 15; `min_face_frac`): the full search skips the pyramid
 * levels that look for faces smaller than min_face_frac x the shorter side of the frame it runs on (mtcnn.h's
 * skip_below_px; the other levels are unchanged). 0 = all levels (faces down to MTCNN's 20 px).
 *
 * faces_default_config keeps the paper's search (track 0, min_face_frac 0: the commands faces and detect); the
 * featurizer's defaults (prep, and predict for models prepared with them) follow the face and use
 * FACES_MIN_FACE_FRAC (data/featurizer.h).
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
#define FACES_TRACK_MIN_SCORE 0.9f
#define FACES_TRACK_MAX_CHANGE 1.5f
#define FACES_TRACK_RECENTER 0.1f
/* a talking head fills a good part of the frame: at 640 x 360 the full search then looks for faces of 36 px and
 * more (RAVDESS faces are ~150 px there, CREMA-D's ~100 px at 480 x 360) */
#define FACES_MIN_FACE_FRAC 0.1f

typedef struct {
    int frames;          /* frames sampled per clip (AVEMO_FRAMES_PER_CLIP) */
    int size;            /* output side (224) */
    int color_rgb;       /* 0: grayscale [size, size]; 1: RGB [size, size, 3] */
    int reuse_box;       /* a frame without a face reuses the previous frame's box (the baseline) */
    int refine;          /* second MTCNN pass (default 1) */
    int detect_max_side; /* first pass on the frame shrunk to this longer side; 0 = full resolution */
    frame_window window; /* which frames are sampled */
    int track;           /* follow the face from frame to frame (see above; 0: full search on every frame) */
    float min_face_frac; /* full search: no faces smaller than this fraction of the shorter side (0: any) */
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
    int tracked;       /* found by following the previous frame's box (track), without the full search */
    float box[4];      /* the square crop box x0, y0, x1, y1 in frame pixels (FOUND / REUSED) */
} face_frame;

/* Bytes of one output frame. */
static inline long faces_frame_bytes(const faces_config *cfg) {
    return (long)cfg->size * cfg->size * (cfg->color_rgb ? 3 : 1);
}

/* What following the face and reusing boxes carry from one frame to the next (faces_sequence_frame). */
typedef struct {
    float anchor[4]; /* the box the follower's search crop is centred on */
    int have_anchor; /* the last frame searched had a face */
    float prev[4];   /* the last box cropped (reuse_box) */
    int have_prev;
} faces_sequence;

void faces_sequence_init(faces_sequence *seq);
/* One frame rgb [h, w, 3] of a sequence, frames in order: frame_index < 0 is a padded slot (rgb not read, out zeros);
 * else the face followed (cfg->track) or the full search, then the crop into out [size, size(, 3)] and fi. What
 * faces_from_clip does per frame when following, so that frames can be fed as they are decoded (data/featurizer.h's
 * overlapped decode) with the same result bit for bit. The layers run on as many threads as the caller allows. */
int faces_sequence_frame(const mtcnn *m, const faces_config *cfg, faces_sequence *seq, const uint8_t *rgb, int h,
                         int w, long frame_index, uint8_t *out, face_frame *fi, int *n_noface);

/* Crops of every frame of `clip` into out [clip->n, size, size(, 3)], info [clip->n]. *n_noface counts
 * frames where no face was found (reused boxes included, padded frames not). */
int faces_from_clip(const mtcnn *m, const video_clip *clip, const faces_config *cfg, uint8_t *out,
                    face_frame *info, int *n_noface);

#endif
