/* Helpers shared by the MTCNN tests (test_mtcnn.c: TF.js weights; test_mtcnn_weights_tflite.c: TFLite weights).
 * Header-only (each test is its own binary). */
#ifndef AVEMO_TESTS_VISION_MTCNN_HELPERS_H
#define AVEMO_TESTS_VISION_MTCNN_HELPERS_H
#include "test.h"

#include "avemo.h"
#include "core/rng.h"
#include "io/image.h"
#include "io/npy.h"
#include "vision/imgops.h"
#include "vision/mtcnn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* tests/fixtures/vision/mtcnn_<name>.npy (tools/mtcnn_reference.py, the float64 PyTorch reference) as float32
 * with `count` values; NULL and a failed check otherwise. */
static inline float *mtcnn_fixture(const char *name, long count) {
    char rel[256];
    snprintf(rel, sizeof rel, "vision/mtcnn_%s.npy", name);
    const char *p = fixture_path(rel);
    if (!p) return NULL;
    npy_array a;
    if (npy_read(p, &a)) {
        CHECK(0, "%s", avemo_last_error());
        return NULL;
    }
    if (a.dtype != NPY_F32 || a.count != count) {
        CHECK(0, "%s: dtype/count %lld, expected %ld float32 values", name, (long long)a.count, count);
        npy_free(&a);
        return NULL;
    }
    return a.data;
}

/* Load a shared image, shrinking it (area filter) so its longer side is at most max_side: keeps the big
 * photos (up to 1638x2048) fast; the faces there stay far above the 20 px minimum. */
static inline int load_image(const char *rel, image_rgb *img, int max_side) {
    const char *p = shared_path(rel);
    if (!p) return -1;
    if (image_load_rgb(p, img)) {
        CHECK(0, "%s", avemo_last_error());
        return -1;
    }
    int side = img->h > img->w ? img->h : img->w;
    if (side <= max_side) return 0;
    int nh = (int)((long)img->h * max_side / side), nw = (int)((long)img->w * max_side / side);
    float *f = malloc(sizeof(float) * img->h * img->w * 3), *g = malloc(sizeof(float) * nh * nw * 3);
    for (long i = 0; i < (long)img->h * img->w * 3; i++) f[i] = img->rgb[i];
    resize_area_f32(g, nh, nw, f, img->h, img->w, 3);
    uint8_t *small = malloc((size_t)nh * nw * 3);
    for (long i = 0; i < (long)nh * nw * 3; i++) small[i] = (uint8_t)(g[i] + 0.5f);
    free(f), free(g), free(img->rgb);
    img->rgb = small, img->h = nh, img->w = nw;
    return 0;
}

/* the five landmarks inside the box and in anatomical order: eyes above the nose above the mouth corners;
 * left eye left of the right eye */
static inline int landmarks_inside(const mtcnn_face *f) {
    for (int k = 0; k < 5; k++)
        if (f->lm_x[k] < f->x0 || f->lm_x[k] > f->x1 || f->lm_y[k] < f->y0 || f->lm_y[k] > f->y1) return 0;
    return f->lm_x[0] < f->lm_x[1] && f->lm_y[0] < f->lm_y[2] && f->lm_y[1] < f->lm_y[2] &&
           f->lm_y[2] < f->lm_y[3] && f->lm_y[2] < f->lm_y[4];
}

/* no face in a blank and in a noise image */
static inline void check_no_face(const mtcnn *m) {
    int h = 240, w = 320, n = -1;
    uint8_t *img = malloc((size_t)h * w * 3);
    mtcnn_face *f;
    memset(img, 128, (size_t)h * w * 3);
    CHECK(mtcnn_detect(m, img, h, w, NULL, &f, &n) == 0 && n == 0, "blank image: %d faces", n);
    free(f);
    rng_t rng;
    rng_seed(&rng, 7);
    for (long i = 0; i < (long)h * w * 3; i++) img[i] = (uint8_t)(rng_u64(&rng) >> 56);
    CHECK(mtcnn_detect(m, img, h, w, NULL, &f, &n) == 0 && n == 0, "noise image: %d faces", n);
    free(f);
    free(img);
}

#endif
