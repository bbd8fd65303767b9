/* `avemo prep --modality av` on RAVDESS-named videos made with ffmpeg from a real RAVDESS still (with the
 * actor's real speech FLAC as the 03- audio), a face-free video and a truncated one: face crops
 * [T, 224, 224] with faces found, zero frames counted for the blank clip, the damaged clip logged while its
 * audio is still cached, and with --backbone the embeddings [T, 1280] equal MobileNetV2 on the cached crops. */
#include "test.h"

#include "avemo.h"
#include "core/rng.h"
#include "data/cache.h"
#include "io/npy.h"
#include "model/mobilenetv2.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FRAMES 5 /* fewer than the default 15 to keep the test quick */

static char tree[512];

static int ffmpeg(const char *args, const char *out_path) {
    char cmd[4096], out[4096];
    int have_x264 = run_cmd("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx264", NULL, 0) == 0;
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -y %s -c:v %s -pix_fmt yuv420p '%s'", args,
             have_x264 ? "libx264" : "mpeg4", out_path);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "ffmpeg failed: %s", out);
    return rc;
}

static int link_flac(const char *name) {
    char rel[256], real[4096], dst[1024];
    snprintf(rel, sizeof rel, "data/ravdess-speech/Actor_12/%s", name);
    const char *src = shared_path(rel);
    if (!src || !realpath(src, real)) return -1;
    snprintf(dst, sizeof dst, "%s/Actor_12/%s", tree, name);
    return symlink(real, dst);
}

static int make_tree(void) {
    const char *still = shared_path("data/faces/ravdess-stills/Actor_12.png");
    if (!still) return -1;
    snprintf(tree, sizeof tree, "%s/rav", test_tmpdir());
    char a12[600], face[700], blank[700], cut[700], args[2048], cmd[4096];
    mkdir(tree, 0777);
    snprintf(a12, sizeof a12, "%s/Actor_12", tree);
    mkdir(a12, 0777);
    snprintf(face, sizeof face, "%s/01-01-03-01-01-01-12.mp4", a12);
    snprintf(blank, sizeof blank, "%s/01-01-04-01-01-01-12.mp4", a12);
    snprintf(cut, sizeof cut, "%s/02-01-05-01-01-01-12.mp4", a12);
    snprintf(args, sizeof args,
             "-loop 1 -i '%s' -vf \"scale=796:448,zoompan=z='1.1+0.002*on':x='iw/2-(iw/zoom/2)+on':"
             "y='ih/2-(ih/zoom/2)':d=1:s=398x224:fps=30\" -frames:v 120",
             still);
    if (ffmpeg(args, face) || ffmpeg("-f lavfi -i color=c=0x4080a0:s=320x240:r=30:d=4", blank)) return -1;
    snprintf(cmd, sizeof cmd, "head -c $(( $(stat -c %%s '%s') / 2 )) '%s' > '%s'", face, face, cut);
    CHECK(run_cmd(cmd, NULL, 0) == 0, "truncate");
    if (link_flac("03-01-03-01-01-01-12.flac") || link_flac("03-01-04-01-01-01-12.flac") ||
        link_flac("03-01-05-01-01-01-12.flac"))
        return -1;
    return 0;
}

/* A random grayscale MobileNetV2 saved as safetensors (the embedding values do not matter here). */
static int make_backbone(char *path, size_t cap) {
    snprintf(path, cap, "%s/mnv2.safetensors", test_tmpdir());
    mobilenetv2 m;
    if (mobilenetv2_init(&m, 1, 0)) return -1;
    rng_t r;
    rng_seed(&r, 3);
    mobilenetv2_init_random(&m, &r);
    int rc = mobilenetv2_save(&m, path, NULL, 0);
    mobilenetv2_free(&m);
    CHECK(rc == 0, "save backbone: %s", avemo_last_error());
    return rc;
}

static long nonzero(const npy_array *a, int t, long per) {
    long n = 0;
    const unsigned char *p = (const unsigned char *)a->data + t * per;
    for (long i = 0; i < per; i++) n += p[i] != 0;
    return n;
}

static void test_prep_av(void) {
    if (make_tree()) return;
    char bb[600], cache[600], cmd[4096], out[16384], p[1024];
    if (make_backbone(bb, sizeof bb)) return;
    snprintf(cache, sizeof cache, "%s/cache", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s prep --dataset ravdess --modality av --frames %d --backbone '%s' --input '%s' --out '%s'",
             avemo_bin(), FRAMES, bb, tree, cache);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    /* 3 utterances; the truncated 02- video fails for faces and feats, its 03- audio is fine */
    CHECK(strstr(out, "3 samples") && strstr(out, "ready: audio 3 faces 2 feats 2;"), "summary: %s", out);
    CHECK(strstr(out, "5 of 10 frames had no face (zero frames) in 1 clip\n") != NULL, "no-face count: %s", out);
    snprintf(p, sizeof p, "%s/skipped.log", cache);
    FILE *f = fopen(p, "r");
    char log[4096] = "";
    if (f) {
        size_t n = fread(log, 1, sizeof log - 1, f);
        log[n] = 0;
        fclose(f);
    }
    CHECK(strstr(log, "02-01-05-01-01-01-12.mp4\tfaces\t") && strstr(log, "\tfeats\t"), "skipped.log: %s", log);

    /* face clip: every frame has a face; blank clip: all zero */
    npy_array fa, fb, ft;
    const long per = 224L * 224;
    snprintf(p, sizeof p, "%s/faces/01-01-03-01-01-01-12.npy", cache);
    if (npy_read(p, &fa) == 0) {
        CHECK(fa.dtype == NPY_U8 && fa.ndim == 3 && fa.shape[0] == FRAMES && fa.shape[1] == 224 && fa.shape[2] == 224,
              "faces shape");
        for (int t = 0; t < FRAMES; t++) CHECK(nonzero(&fa, t, per) > per / 2, "frame %d has no face crop", t);
        /* the embeddings are MobileNetV2 of exactly these crops */
        snprintf(p, sizeof p, "%s/feats/01-01-03-01-01-01-12.npy", cache);
        mobilenetv2 m;
        mnv2_folded fold;
        if (npy_read(p, &ft) == 0 && mobilenetv2_from_file(&m, bb, 1) == 0 && mobilenetv2_fold(&fold, &m) == 0) {
            CHECK(ft.dtype == NPY_F32 && ft.ndim == 2 && ft.shape[0] == FRAMES && ft.shape[1] == 1280, "feats shape");
            float *x = malloc(sizeof(float) * FRAMES * per), *y = malloc(sizeof(float) * FRAMES * 1280);
            mobilenetv2_normalize_u8(x, fa.data, FRAMES * per, 1, m.norm);
            CHECK(mobilenetv2_infer(&fold, y, x, FRAMES, 224, 224, 0) == 0, "infer");
            /* same code, possibly another thread count inside the GEMMs: summation order may differ */
            double e = rel_err_f(ft.data, y, FRAMES * 1280);
            CHECK(e < 1e-4, "feats differ from MobileNetV2 on the crops: rel err %g", e);
            free(x);
            free(y);
            mobilenetv2_folded_free(&fold);
            mobilenetv2_free(&m);
            npy_free(&ft);
        } else {
            CHECK(0, "feats / backbone: %s", avemo_last_error());
        }
        npy_free(&fa);
    } else {
        CHECK(0, "%s", avemo_last_error());
    }
    snprintf(p, sizeof p, "%s/faces/01-01-04-01-01-01-12.npy", cache);
    if (npy_read(p, &fb) == 0) {
        for (int t = 0; t < FRAMES; t++) CHECK(nonzero(&fb, t, per) == 0, "blank frame %d not zero", t);
        npy_free(&fb);
    } else {
        CHECK(0, "%s", avemo_last_error());
    }

    /* resume: nothing left but the damaged clip */
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "2 already cached, 1 processed"), "resume: %s", out);
}

/* An image folder of face crops (FER2013 images, 48x48 gray): whole images resized, T = 1. */
static void test_prep_imagefolder(void) {
    static const char *const imgs[3] = {"happy/Training_10019449.jpg", "happy/Training_10046809.jpg",
                                        "sad/Training_10022789.jpg"};
    char root[600], d[700], p[1024], real[4096], cache[600], cmd[4096], out[8192];
    snprintf(root, sizeof root, "%s/fer", test_tmpdir());
    mkdir(root, 0777);
    snprintf(d, sizeof d, "%s/train", root);
    mkdir(d, 0777);
    snprintf(d, sizeof d, "%s/train/happy", root);
    mkdir(d, 0777);
    snprintf(d, sizeof d, "%s/train/sad", root);
    mkdir(d, 0777);
    for (int i = 0; i < 3; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "data/fer2013/train/%s", imgs[i]);
        const char *src = shared_path(rel);
        if (!src || !realpath(src, real)) return;
        snprintf(p, sizeof p, "%s/train/%s", root, imgs[i]);
        CHECK(symlink(real, p) == 0, "symlink %s", p);
    }
    snprintf(cache, sizeof cache, "%s/cache_fer", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s prep --dataset imagefolder --input '%s' --out '%s'", avemo_bin(), root, cache);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "3 samples") && strstr(out, "ready: faces 3;"), "exit %d: %s", rc, out);
    npy_array a;
    snprintf(p, sizeof p, "%s/faces/train__sad__Training_10022789.npy", cache);
    if (npy_read(p, &a) == 0) {
        CHECK(a.dtype == NPY_U8 && a.ndim == 3 && a.shape[0] == 1 && a.shape[1] == 224 && a.shape[2] == 224 &&
                  nonzero(&a, 0, 224L * 224) > 224L * 224 / 2,
              "image crop");
        npy_free(&a);
    } else {
        CHECK(0, "%s", avemo_last_error());
    }
}

int main(void) {
    RUN(test_prep_av);
    RUN(test_prep_imagefolder);
    return test_summary();
}
