/* vision/face_tracks.c on synthetic boxes: steady faces keep their ids, adjacent faces do not swap, crossing
 * faces keep their ids through the overlap (constant-velocity prediction), a missed frame does not end a track,
 * more misses than max_missed do (and the face comes back with a new id), new faces get new ids. */
#include "test.h"

#include "vision/face_tracks.h"

#include <math.h>

static void box_at(float *b, float cx, float cy, float side) {
    b[0] = cx - side / 2, b[1] = cy - side / 2, b[2] = cx + side / 2, b[3] = cy + side / 2;
}

static void test_iou(void) {
    float a[4] = {0, 0, 10, 10}, b[4] = {5, 0, 15, 10}, c[4] = {20, 20, 30, 30}, e[4] = {3, 3, 3, 8};
    CHECK(fabsf(face_box_iou(a, b) - 50.0f / 150.0f) < 1e-6f, "half overlap: %g", face_box_iou(a, b));
    CHECK(face_box_iou(a, c) == 0 && face_box_iou(a, e) == 0, "disjoint / empty");
    CHECK(fabsf(face_box_iou(a, a) - 1) < 1e-6f, "self");
}

/* Two faces side by side, touching (adjacent), jittering by a few pixels for 30 frames: ids 1 (left), 2. */
static void test_adjacent(void) {
    face_tracker t;
    face_tracker_init(&t, 0, -1);
    int ok = 1;
    for (int f = 0; f < 30; f++) {
        float boxes[2][4];
        int ids[2], order = f % 2; /* the detector's order changes from frame to frame */
        float jitter = (float)((f * 7) % 5) - 2;
        box_at(boxes[order], 100 + jitter, 100, 100);
        box_at(boxes[1 - order], 200 - jitter, 102, 100);
        CHECK(face_tracker_update(&t, (const float(*)[4])boxes, 2, ids) == 0, "update");
        ok &= ids[order] == 1 && ids[1 - order] == 2;
    }
    CHECK(ok, "adjacent faces keep their ids");
    face_tracker_free(&t);
}

/* Two faces moving towards each other at 12 px/frame, crossing (the boxes overlap for several frames) and
 * going on: each id follows its own direction. Without the velocity, the overlapping frames would swap them. */
static void test_crossing(void) {
    face_tracker t;
    face_tracker_init(&t, 0, -1);
    int ok = 1, overlapped = 0;
    for (int f = 0; f < 30; f++) {
        float boxes[2][4];
        int ids[2];
        box_at(boxes[0], 20 + 12.0f * f, 100, 60);  /* moves right */
        box_at(boxes[1], 380 - 12.0f * f, 110, 60); /* moves left */
        overlapped += face_box_iou(boxes[0], boxes[1]) > 0.3f;
        CHECK(face_tracker_update(&t, (const float(*)[4])boxes, 2, ids) == 0, "update");
        ok &= ids[0] == 1 && ids[1] == 2;
    }
    CHECK(overlapped >= 2, "the test crosses: %d frames overlap", overlapped);
    CHECK(ok, "crossing faces keep their ids");
    face_tracker_free(&t);
}

/* One face, seen in frames 0-4, missed in frame 5, seen again (moving on) in 6-9: one track. Then gone for
 * max_missed + 1 frames: a new id when it returns. A second face appearing gets the next id. */
static void test_missed_and_new(void) {
    face_tracker t;
    face_tracker_init(&t, 0, 2);
    int ok = 1, f = 0;
    for (; f < 10; f++) {
        float b[1][4];
        int id = 0;
        box_at(b[0], 100 + 4.0f * f, 100, 80);
        CHECK(face_tracker_update(&t, (const float(*)[4])b, f == 5 ? 0 : 1, &id) == 0, "update");
        if (f != 5) ok &= id == 1;
    }
    CHECK(ok, "a missed frame keeps the track");
    for (int k = 0; k < 3; k++) CHECK(face_tracker_update(&t, NULL, 0, NULL) == 0, "empty frame");
    CHECK(t.n_live == 0, "the track ended after 3 misses (max 2): %d live", t.n_live);
    float b[2][4];
    int ids[2];
    box_at(b[0], 140, 100, 80);
    box_at(b[1], 400, 100, 80);
    CHECK(face_tracker_update(&t, (const float(*)[4])b, 2, ids) == 0 && ids[0] == 2 && ids[1] == 3,
          "new ids after the end: %d %d", ids[0], ids[1]);
    face_tracker_free(&t);
}

int main(void) {
    RUN(test_iou);
    RUN(test_adjacent);
    RUN(test_crossing);
    RUN(test_missed_and_new);
    return test_summary();
}
