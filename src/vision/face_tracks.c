#include "vision/face_tracks.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

void face_tracker_init(face_tracker *t, float min_iou, int max_missed) {
    memset(t, 0, sizeof *t);
    t->min_iou = min_iou > 0 ? min_iou : FACE_TRACKS_MIN_IOU;
    t->max_missed = max_missed >= 0 ? max_missed : FACE_TRACKS_MAX_MISSED;
    t->next_id = 1;
}

void face_tracker_free(face_tracker *t) {
    free(t->live);
    memset(t, 0, sizeof *t);
}

float face_box_iou(const float *a, const float *b) {
    float ix = (a[2] < b[2] ? a[2] : b[2]) - (a[0] > b[0] ? a[0] : b[0]);
    float iy = (a[3] < b[3] ? a[3] : b[3]) - (a[1] > b[1] ? a[1] : b[1]);
    float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
    if (ix <= 0 || iy <= 0 || area_a <= 0 || area_b <= 0) return 0;
    float inter = ix * iy;
    return inter / (area_a + area_b - inter);
}

typedef struct {
    float iou;
    int track, det;
} pair;

static int cmp_pair(const void *pa, const void *pb) {
    const pair *a = pa, *b = pb;
    if (a->iou != b->iou) return a->iou > b->iou ? -1 : 1;
    if (a->track != b->track) return a->track - b->track;
    return a->det - b->det;
}

/* Track k's box predicted for this frame (constant velocity over the frames since its last match). */
static void predicted_box(const face_track *tr, float *box) {
    float steps = (float)(tr->missed + 1);
    for (int i = 0; i < 4; i++) box[i] = tr->box[i] + steps * tr->velocity[i];
}

static int grow_live(face_tracker *t, int need) {
    if (need <= t->cap) return AVEMO_OK;
    int cap = t->cap ? 2 * t->cap : 8;
    while (cap < need) cap *= 2;
    face_track *p = realloc(t->live, (size_t)cap * sizeof *p);
    if (!p) return avemo_error(AVEMO_ENOMEM, "face tracks: out of memory");
    t->live = p;
    t->cap = cap;
    return AVEMO_OK;
}

/* The greedy assignment: ids[d] = live index of detection d's track, or -1. */
static int associate(face_tracker *t, const float (*boxes)[4], int n, int *match) {
    pair *pairs = malloc(((size_t)t->n_live * n + 1) * sizeof *pairs);
    char *track_taken = calloc((size_t)t->n_live + 1, 1);
    if (!pairs || !track_taken) {
        free(pairs);
        free(track_taken);
        return avemo_error(AVEMO_ENOMEM, "face tracks: out of memory");
    }
    int np = 0;
    for (int k = 0; k < t->n_live; k++) {
        float pred[4];
        predicted_box(&t->live[k], pred);
        for (int d = 0; d < n; d++) {
            float iou = face_box_iou(pred, boxes[d]);
            if (iou >= t->min_iou) pairs[np++] = (pair){iou, k, d};
        }
    }
    qsort(pairs, np, sizeof *pairs, cmp_pair);
    for (int d = 0; d < n; d++) match[d] = -1;
    for (int i = 0; i < np; i++)
        if (!track_taken[pairs[i].track] && match[pairs[i].det] < 0) {
            track_taken[pairs[i].track] = 1;
            match[pairs[i].det] = pairs[i].track;
        }
    free(pairs);
    free(track_taken);
    return AVEMO_OK;
}

int face_tracker_update(face_tracker *t, const float (*boxes)[4], int n, int *ids) {
    int *match = malloc(((size_t)n + 1) * sizeof *match);
    char *seen = calloc((size_t)t->n_live + 1, 1);
    int rc = match && seen ? associate(t, boxes, n, match) : avemo_error(AVEMO_ENOMEM, "face tracks: out of memory");
    if (!rc) rc = grow_live(t, t->n_live + n);
    if (rc) goto done;
    int n_old = t->n_live;
    for (int d = 0; d < n; d++) {
        face_track *tr;
        if (match[d] >= 0) { /* continue the track: velocity per frame since its last match */
            tr = &t->live[match[d]];
            for (int i = 0; i < 4; i++) tr->velocity[i] = (boxes[d][i] - tr->box[i]) / (float)(tr->missed + 1);
            seen[match[d]] = 1;
        } else { /* a new face */
            tr = &t->live[t->n_live++];
            memset(tr, 0, sizeof *tr);
            tr->id = t->next_id++;
        }
        memcpy(tr->box, boxes[d], sizeof tr->box);
        tr->missed = 0;
        tr->hits++;
        ids[d] = tr->id;
    }
    int kept = 0; /* tracks that missed this frame, then those past max_missed dropped (order kept) */
    for (int k = 0; k < t->n_live; k++) {
        if (k < n_old && !seen[k]) t->live[k].missed++;
        if (t->live[k].missed <= t->max_missed) t->live[kept++] = t->live[k];
    }
    t->n_live = kept;
done:
    free(match);
    free(seen);
    return rc;
}
