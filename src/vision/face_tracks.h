/* Face tracks across sampled frames: each frame's detections are associated with the tracks of the frames
 * before by intersection over union (IoU), greedily, best pair first.
 *
 * Per frame: every live track predicts its box with constant velocity (its last box moved by its last
 * per-frame displacement, times the frames since it was last seen), so two faces that cross or pass close
 * keep their identities where their last boxes alone would be ambiguous. All (track, detection) pairs with
 * IoU(predicted box, detection) >= min_iou are sorted by IoU, descending (ties: older track, then earlier
 * detection), and taken greedily when both are still free. A detection left over starts a new track (ids 1,
 * 2, ... in order of creation); a track left over misses the frame, and after more than max_missed misses in
 * a row it ends (its id is never reused).
 *
 * Pure: no I/O, no detector; boxes are x0, y0, x1, y1 in any consistent unit. */
#ifndef AVEMO_VISION_FACE_TRACKS_H
#define AVEMO_VISION_FACE_TRACKS_H

#define FACE_TRACKS_MIN_IOU 0.3f
#define FACE_TRACKS_MAX_MISSED 3

typedef struct {
    int id;
    float box[4];     /* last matched box */
    float velocity[4];/* per-frame displacement of the box between its last two matches */
    int missed;       /* frames in a row without a match */
    int hits;         /* frames matched */
} face_track;

typedef struct {
    float min_iou;
    int max_missed;
    face_track *live; /* [n_live] tracks that have not ended */
    int n_live, cap;
    int next_id;
} face_tracker;

/* min_iou <= 0 or max_missed < 0: the defaults above. */
void face_tracker_init(face_tracker *t, float min_iou, int max_missed);
void face_tracker_free(face_tracker *t);

/* One frame's detections boxes [n][4] -> ids [n] (the track of each). Returns 0, or AVEMO_ENOMEM. */
int face_tracker_update(face_tracker *t, const float (*boxes)[4], int n, int *ids);

/* IoU of boxes a, b (x0, y0, x1, y1); 0 when either is empty. */
float face_box_iou(const float *a, const float *b);

#endif
