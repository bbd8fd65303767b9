/* Face crop pipeline on a hand-made clip: face, blank, face, padded; --reuse-box; colour; refinement. */
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
    video_clip_free(&clip);
    mtcnn_free(model);
    return test_summary();
}
