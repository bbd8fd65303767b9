/* Face crop pipeline on a hand-made clip: face, blank, face, padded; --reuse-box; colour; refinement; following
 * the face on a moving face against the full search on every frame; the pyramid's smallest face. */
#include "test.h"

#include "avemo.h"
#include "io/image.h"
#include "nn/nn.h"
#include "vision/faces.h"

#include <stdlib.h>
#include <string.h>

static mtcnn *model;
static video_clip clip; /* 4 frames of Actor_07: face, grey, face, padded (index -1) */

static int make_clip(void) {
    const char *p = shared_path("data/faces/ravdess-stills/Actor_07.png");
    image_rgb img;
    if (!p || image_load_rgb(p, &img)) return -1;
    size_t fb = (size_t)img.h * img.w * 3;
    clip.n = 4, clip.h = img.h, clip.w = img.w;
    clip.index = malloc(sizeof(long) * 4);
    clip.rgb = calloc(4, fb);
    long idx[4] = {0, 1, 2, -1};
    memcpy(clip.index, idx, sizeof idx);
    memcpy(clip.rgb, img.rgb, fb);
    memset(clip.rgb + fb, 128, fb);
    memcpy(clip.rgb + 2 * fb, img.rgb, fb);
    image_free(&img);
    return 0;
}

static long nonzero(const uint8_t *p, long n) {
    long k = 0;
    for (long i = 0; i < n; i++) k += p[i] != 0;
    return k;
}

static void test_gray_frames(void) {
    faces_config cfg;
    faces_default_config(&cfg);
    long fb = faces_frame_bytes(&cfg);
    CHECK(fb == 224 * 224, "frame bytes %ld", fb);
    uint8_t *out = malloc((size_t)4 * fb);
    face_frame info[4];
    int noface = -1;
    CHECK(faces_from_clip(model, &clip, &cfg, out, info, &noface) == 0, "%s", avemo_last_error());
    CHECK(noface == 1, "frames without a face: %d", noface);
    CHECK(info[0].status == FACE_FOUND && info[2].status == FACE_FOUND, "faces not found");
    CHECK(info[1].status == FACE_NONE && info[3].status == FACE_PADDED, "status %d %d", info[1].status, info[3].status);
    CHECK(info[0].refined, "second pass did not find the face");
    CHECK(nonzero(out, fb) > fb * 9 / 10, "face frame mostly zero");
    CHECK(nonzero(out + fb, fb) == 0 && nonzero(out + 3 * fb, fb) == 0, "no-face / padded frames not zero");
    CHECK(memcmp(out, out + 2 * fb, (size_t)fb) == 0, "same image, different crops (not deterministic)");
    /* the square box holds the landmarks, and its side is about the MTCNN box's longer side */
    const face_frame *f = &info[0];
    float side = f->box[2] - f->box[0], mside = fmaxf(f->face.x1 - f->face.x0, f->face.y1 - f->face.y0);
    CHECK(fabsf(f->box[3] - f->box[1] - side) < 1e-3f, "box not square");
    CHECK(side > 0.85f * mside && side < 1.15f * mside, "refined side %.1f vs detected %.1f", side, mside);
    for (int k = 0; k < 5; k++)
        CHECK(f->face.lm_x[k] > f->box[0] && f->face.lm_x[k] < f->box[2] && f->face.lm_y[k] > f->box[1] &&
                  f->face.lm_y[k] < f->box[3], "landmark %d outside the crop box", k);
    free(out);
}

static void test_reuse_box_and_rgb(void) {
    faces_config cfg;
    faces_default_config(&cfg);
    cfg.reuse_box = 1;
    cfg.color_rgb = 1;
    cfg.size = 64;
    long fb = faces_frame_bytes(&cfg);
    CHECK(fb == 64 * 64 * 3, "rgb frame bytes %ld", fb);
    uint8_t *out = malloc((size_t)4 * fb);
    face_frame info[4];
    int noface = -1;
    CHECK(faces_from_clip(model, &clip, &cfg, out, info, &noface) == 0, "%s", avemo_last_error());
    CHECK(noface == 1 && info[1].status == FACE_REUSED, "noface %d status %d", noface, info[1].status);
    CHECK(memcmp(info[1].box, info[0].box, sizeof info[0].box) == 0, "reused box differs");
    CHECK(nonzero(out + fb, fb) > fb / 2, "reused-box frame is zero"); /* the grey frame cropped: grey */
    CHECK(nonzero(out + 3 * fb, fb) == 0, "padded frame not zero");
    /* colour kept: R, G, B differ somewhere in the face crop */
    long diff = 0;
    for (long i = 0; i < 64 * 64; i++) diff += out[3 * i] != out[3 * i + 1];
    CHECK(diff > 100, "colour crop looks grey");
    free(out);
}

/* frame k of a moving face: the still shifted right by 8 k px and down by 4 k px (grey where it came from);
 * frame 3 is grey (the track is lost there). */
static void make_moving(video_clip *c, const image_rgb *img) {
    c->n = 6, c->h = img->h, c->w = img->w;
    c->index = malloc(sizeof(long) * 6);
    size_t fb = (size_t)img->h * img->w * 3;
    c->rgb = malloc(6 * fb);
    memset(c->rgb, 128, 6 * fb);
    for (int k = 0; k < 6; k++) {
        c->index[k] = k;
        if (k == 3) continue;
        int dx = 8 * k, dy = 4 * k;
        for (int y = dy; y < img->h; y++)
            memcpy(c->rgb + k * fb + ((size_t)y * img->w + dx) * 3, img->rgb + (size_t)(y - dy) * img->w * 3,
                   (size_t)(img->w - dx) * 3);
    }
}

static void test_track(void) {
    image_rgb img;
    const char *p = shared_path("data/faces/ravdess-stills/Actor_07.png");
    CHECK(p && image_load_rgb(p, &img) == 0, "%s", avemo_last_error());
    video_clip mv;
    make_moving(&mv, &img);
    image_free(&img);
    faces_config full, track;
    faces_default_config(&full);
    track = full;
    track.track = 1;
    track.min_face_frac = FACES_MIN_FACE_FRAC;
    long fb = faces_frame_bytes(&full);
    uint8_t *out = malloc((size_t)12 * fb);
    face_frame a[6], b[6];
    int na = -1, nb = -1;
    CHECK(faces_from_clip(model, &mv, &full, out, a, &na) == 0, "%s", avemo_last_error());
    CHECK(faces_from_clip(model, &mv, &track, out + 6 * fb, b, &nb) == 0, "%s", avemo_last_error());
    CHECK(na == 1 && nb == 1 && b[3].status == FACE_NONE, "frames without a face: %d %d", na, nb);
    /* full search on frames 0 and 4 (the first, and after the lost track), followed on 1, 2 and 5 */
    int want_tracked[6] = {0, 1, 1, 0, 0, 1};
    for (int k = 0; k < 6; k++) {
        if (k == 3) continue;
        CHECK(b[k].status == FACE_FOUND && b[k].tracked == want_tracked[k], "frame %d: status %d tracked %d", k,
              b[k].status, b[k].tracked);
        float side = a[k].box[2] - a[k].box[0], worst = 0;
        for (int i = 0; i < 4; i++) worst = fmaxf(worst, fabsf(a[k].box[i] - b[k].box[i]));
        /* the boxes of the two searches: within 3 % of the side (measured: see bench/RESULTS.md) */
        CHECK(worst <= 0.03f * side, "frame %d: followed box %.1f px from the full search's (side %.0f)", k, worst,
              side);
        if (!want_tracked[k]) CHECK(memcmp(a[k].box, b[k].box, sizeof a[k].box) == 0, "frame %d: full search differs", k);
    }
    free(out);
    video_clip_free(&mv);
}

/* skip_below_px drops the fine pyramid levels only: a large face is found with the same box */
static void test_skip_levels(void) {
    mtcnn_config c;
    mtcnn_default_config(&c);
    mtcnn_face *f0 = NULL, *f1 = NULL;
    int n0 = 0, n1 = 0;
    const uint8_t *rgb = clip.rgb;
    CHECK(mtcnn_detect(model, rgb, clip.h, clip.w, &c, &f0, &n0) == 0, "%s", avemo_last_error());
    c.skip_below_px = 0.1f * (clip.h < clip.w ? clip.h : clip.w);
    CHECK(mtcnn_detect(model, rgb, clip.h, clip.w, &c, &f1, &n1) == 0, "%s", avemo_last_error());
    CHECK(n0 >= 1 && n1 >= 1, "faces %d %d", n0, n1);
    if (n0 >= 1 && n1 >= 1)
        CHECK(fabsf(f0[0].x0 - f1[0].x0) < 1 && fabsf(f0[0].y0 - f1[0].y0) < 1 && fabsf(f0[0].x1 - f1[0].x1) < 1 &&
                  fabsf(f0[0].y1 - f1[0].y1) < 1, "box (%.1f %.1f %.1f %.1f) became (%.1f %.1f %.1f %.1f)", f0[0].x0,
              f0[0].y0, f0[0].x1, f0[0].y1, f1[0].x0, f1[0].y0, f1[0].x1, f1[0].y1);
    free(f0);
    free(f1);
}

int main(void) {
    nn_set_threads(1); /* see test_mtcnn.c */
    const char *mp = shared_path("weights/mtcnn/mtcnn_model-weights_manifest.json");
    if (!mp || mtcnn_load(mp, &model) || make_clip()) {
        fprintf(stderr, "setup: %s\n", avemo_last_error());
        printf("RESULT 0 1\n");
        return 1;
    }
    RUN(test_gray_frames);
    RUN(test_reuse_box_and_rgb);
    RUN(test_track);
    RUN(test_skip_levels);
    video_clip_free(&clip);
    mtcnn_free(model);
    return test_summary();
}
