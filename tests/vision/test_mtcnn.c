/* MTCNN: the three networks against the PyTorch float64 reference (tools/mtcnn_reference.py) on fixed
 * inputs, and detection on real photos, RAVDESS stills, a blank and a noise image. */
#include "mtcnn_helpers.h"

#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>

static mtcnn *model;

/* Tolerance 1e-4 relative (max abs error over max abs value): float32 accumulation over at most
 * 1152-term dot products against a float64 reference stays far below that; a layout slip (transposed
 * kernel, wrong flatten order, pooling padding) gives errors of order 1. */
#define NET_TOL 1e-4

static void test_pnet_matches_reference(void) {
    int h = 31, w = 27, oh = mtcnn_pnet_out(h), ow = mtcnn_pnet_out(w);
    CHECK(oh == 11 && ow == 9, "P-Net output %dx%d", oh, ow);
    float *x = mtcnn_fixture("pnet_in", (long)h * w * 3), *rp = mtcnn_fixture("pnet_prob", (long)oh * ow),
          *rr = mtcnn_fixture("pnet_reg", (long)oh * ow * 4);
    if (x && rp && rr) {
        float prob[99], reg[396];
        CHECK(mtcnn_pnet_forward(model, prob, reg, x, h, w) == 0, "%s", avemo_last_error());
        double ep = rel_err_f(prob, rp, oh * ow), er = rel_err_f(reg, rr, oh * ow * 4);
        CHECK(ep < NET_TOL && er < NET_TOL, "P-Net rel err prob %.3g reg %.3g", ep, er);
        printf("  P-Net rel err: prob %.2g, reg %.2g\n", ep, er);
    }
    free(x), free(rp), free(rr);
}

static void test_rnet_matches_reference(void) {
    float *x = mtcnn_fixture("rnet_in", 3L * 24 * 24 * 3), *rp = mtcnn_fixture("rnet_prob", 3),
          *rr = mtcnn_fixture("rnet_reg", 12);
    if (x && rp && rr) {
        float prob[3], reg[12];
        CHECK(mtcnn_rnet_forward(model, prob, reg, x, 3) == 0, "%s", avemo_last_error());
        double ep = rel_err_f(prob, rp, 3), er = rel_err_f(reg, rr, 12);
        CHECK(ep < NET_TOL && er < NET_TOL, "R-Net rel err prob %.3g reg %.3g", ep, er);
        printf("  R-Net rel err: prob %.2g, reg %.2g\n", ep, er);
    }
    free(x), free(rp), free(rr);
}

static void test_onet_matches_reference(void) {
    float *x = mtcnn_fixture("onet_in", 2L * 48 * 48 * 3), *rp = mtcnn_fixture("onet_prob", 2),
          *rr = mtcnn_fixture("onet_reg", 8), *rl = mtcnn_fixture("onet_lm", 20);
    if (x && rp && rr && rl) {
        float prob[2], reg[8], lm[20];
        CHECK(mtcnn_onet_forward(model, prob, reg, lm, x, 2) == 0, "%s", avemo_last_error());
        double ep = rel_err_f(prob, rp, 2), er = rel_err_f(reg, rr, 8), el = rel_err_f(lm, rl, 20);
        CHECK(ep < NET_TOL && er < NET_TOL && el < NET_TOL, "O-Net rel err prob %.3g reg %.3g lm %.3g", ep, er, el);
        printf("  O-Net rel err: prob %.2g, reg %.2g, landmarks %.2g\n", ep, er, el);
    }
    free(x), free(rp), free(rr), free(rl);
}

static int detect(const char *rel, mtcnn_face **faces, int max_side) {
    image_rgb img;
    int n = -1;
    *faces = NULL;
    if (load_image(rel, &img, max_side)) return -1;
    if (mtcnn_detect(model, img.rgb, img.h, img.w, NULL, faces, &n)) CHECK(0, "%s: %s", rel, avemo_last_error());
    image_free(&img);
    return n;
}

static void test_single_face_photos(void) {
    const char *photos[] = {"data/faces/photos/astronaut.png", "data/faces/photos/grace_hopper.bmp",
                            "data/faces/photos/kate_siegel.jpg", "data/faces/photos/paul_rudd.jpg"};
    for (int i = 0; i < 4; i++) {
        mtcnn_face *f;
        int n = detect(photos[i], &f, 800);
        CHECK(n == 1, "%s: %d faces, expected 1", photos[i], n);
        if (n >= 1) {
            CHECK(f[0].score > 0.99f, "%s: score %.4f", photos[i], f[0].score);
            CHECK(landmarks_inside(&f[0]), "%s: landmarks outside the box or out of order", photos[i]);
        }
        free(f);
    }
}

static void test_coral_face(void) {
    /* shared/README calls coral_face.jpg single-face, but it shows two people in front and two in the
     * background (about 45 px faces, left and right edges): all four are real faces. */
    mtcnn_face *f;
    int n = detect("data/faces/photos/coral_face.jpg", &f, 800);
    CHECK(n == 4, "coral_face.jpg: %d faces, expected 4", n);
    for (int i = 0; i < n; i++) CHECK(landmarks_inside(&f[i]), "coral_face.jpg face %d landmarks", i);
    free(f);
}

static void test_ravdess_stills(void) {
    int bad = 0;
    for (int a = 1; a <= 24; a++) {
        char rel[128];
        snprintf(rel, sizeof rel, "data/faces/ravdess-stills/Actor_%02d.png", a);
        mtcnn_face *f;
        int n = detect(rel, &f, 10000);
        if (n != 1 || !landmarks_inside(&f[0]) || f[0].score < 0.99f) {
            CHECK(0, "%s: %d faces (score %.4f)", rel, n, n > 0 ? f[0].score : 0);
            bad++;
        }
        free(f);
    }
    CHECK(bad == 0, "%d of 24 stills wrong", bad);
}

static void test_multiface(void) {
    mtcnn_face *f;
    int n = detect("data/faces/photos/multiface.jpg", &f, 800); /* 1200x630 -> 800x420, six people */
    CHECK(n >= 6 && n <= 7, "multiface.jpg: %d faces, expected the 6 people", n);
    int confident = 0;
    for (int i = 0; i < n; i++) confident += f[i].score > 0.95f;
    CHECK(confident == 6, "multiface.jpg: %d faces above 0.95, expected 6", confident);
    free(f);
}

static void test_no_face(void) { check_no_face(model); }

/* The channel-order evidence behind mtcnn.h: O-Net is more certain of the RAVDESS faces when fed RGB than
 * BGR (the order face-api.js uses). The RGB logit saturates (float prob = 1: logit ~27.6). */
static void test_rgb_beats_bgr(void) {
    double logit_rgb = 0, logit_bgr = 0;
    int count = 0;
    float *x = malloc(sizeof(float) * 2 * 48 * 48 * 3), *tmp = malloc(sizeof(float) * 48 * 48 * 3);
    for (int a = 1; a <= 24; a += 3) {
        char rel[128];
        snprintf(rel, sizeof rel, "data/faces/ravdess-stills/Actor_%02d.png", a);
        image_rgb img;
        if (load_image(rel, &img, 10000)) continue;
        mtcnn_face *f;
        int n = 0;
        mtcnn_detect(model, img.rgb, img.h, img.w, NULL, &f, &n);
        if (n > 0) {
            int s = (int)(f[0].x1 - f[0].x0 > f[0].y1 - f[0].y0 ? f[0].x1 - f[0].x0 : f[0].y1 - f[0].y0);
            crop_resize_f32(tmp, 48, 48, img.rgb, img.h, img.w, 3, (int)f[0].x0, (int)f[0].y0, s, s);
            mtcnn_normalize_transpose_f32(x, tmp, 48, 48);
            for (int i = 0; i < 48 * 48; i++) { /* second patch: channels reversed */
                x[48 * 48 * 3 + 3 * i] = x[3 * i + 2];
                x[48 * 48 * 3 + 3 * i + 1] = x[3 * i + 1];
                x[48 * 48 * 3 + 3 * i + 2] = x[3 * i];
            }
            float prob[2], reg[8], lm[20];
            mtcnn_onet_forward(model, prob, reg, lm, x, 2);
            logit_rgb += log(prob[0] / (1 - prob[0] + 1e-12));
            logit_bgr += log(prob[1] / (1 - prob[1] + 1e-12));
            count++;
        }
        free(f);
        image_free(&img);
    }
    free(x), free(tmp);
    CHECK(count == 8, "faces found in %d of 8 stills", count);
    CHECK(logit_rgb > logit_bgr, "mean O-Net logit RGB %.2f <= BGR %.2f", logit_rgb / count, logit_bgr / count);
    printf("  mean O-Net logit on %d stills: RGB %.2f, BGR %.2f\n", count, logit_rgb / count, logit_bgr / count);
}

static void test_bad_weights(void) {
    mtcnn *m;
    char p[512];
    snprintf(p, sizeof p, "%s/nope.json", test_tmpdir());
    CHECK(mtcnn_load(p, &m) != 0 && strstr(avemo_last_error(), "nope.json"), "missing manifest: %s",
          avemo_last_error());
}

int main(void) {
    /* one thread: these are many small layer calls, and the test machine is shared (under load OpenMP
     * fork/join made this test 7x slower); the layers' threaded paths are tested in tests/nn */
    nn_set_threads(1);
    const char *mp = shared_path("weights/mtcnn/mtcnn_model-weights_manifest.json");
    if (!mp || mtcnn_load(mp, &model)) {
        fprintf(stderr, "cannot load MTCNN: %s\n", avemo_last_error());
        printf("RESULT 0 1\n");
        return 1;
    }
    RUN(test_pnet_matches_reference);
    RUN(test_rnet_matches_reference);
    RUN(test_onet_matches_reference);
    RUN(test_single_face_photos);
    RUN(test_coral_face);
    RUN(test_ravdess_stills);
    RUN(test_multiface);
    RUN(test_no_face);
    RUN(test_rgb_beats_bgr);
    RUN(test_bad_weights);
    mtcnn_free(model);
    return test_summary();
}
