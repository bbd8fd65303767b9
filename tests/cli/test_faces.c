/* avemo faces / avemo detect end to end: an MP4 made from a RAVDESS still with motion gives 15 face frames,
 * a face-free video 15 zero frames and a warning, a truncated MP4 a one-line error naming it (and
 * --keep-going still writes the other inputs). */
#include "test.h"

#include "avemo.h"
#include "io/npy.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char face_mp4[512], blank_mp4[512], trunc_mp4[512];

static int ffmpeg(const char *args, const char *out_path) {
    char cmd[4096], out[4096];
    int have_x264 = run_cmd("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx264", NULL, 0) == 0;
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -y %s -c:v %s -pix_fmt yuv420p '%s'", args,
             have_x264 ? "libx264" : "mpeg4", out_path);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "ffmpeg failed: %s", out);
    return rc;
}

static int make_inputs(void) {
    const char *still = shared_path("data/faces/ravdess-stills/Actor_12.png");
    if (!still) return -1;
    const char *t = test_tmpdir();
    snprintf(face_mp4, sizeof face_mp4, "%s/face.mp4", t);
    snprintf(blank_mp4, sizeof blank_mp4, "%s/blank.mp4", t);
    snprintf(trunc_mp4, sizeof trunc_mp4, "%s/cut.mp4", t);
    char args[2048];
    /* 4 s at 30 fps: slow zoom and pan over the still */
    snprintf(args, sizeof args,
             "-loop 1 -i '%s' -vf \"scale=796:448,zoompan=z='1.1+0.002*on':x='iw/2-(iw/zoom/2)+on':"
             "y='ih/2-(ih/zoom/2)':d=1:s=398x224:fps=30\" -frames:v 120",
             still);
    if (ffmpeg(args, face_mp4)) return -1;
    if (ffmpeg("-f lavfi -i color=c=0x4080a0:s=320x240:r=30:d=4", blank_mp4)) return -1;
    /* the face clip cut in half (moov atom at the end: lost) */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "head -c $(( $(stat -c %%s '%s') / 2 )) '%s' > '%s'", face_mp4, face_mp4, trunc_mp4);
    CHECK(run_cmd(cmd, NULL, 0) == 0, "truncate");
    return 0;
}

static npy_array load(const char *dir, const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    npy_array a = {0};
    if (npy_read(p, &a)) CHECK(0, "%s", avemo_last_error());
    return a;
}

static void test_face_video(void) {
    char out_dir[600], cmd[4096], out[16384];
    snprintf(out_dir, sizeof out_dir, "%s/out1", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s faces --out '%s' '%s'", avemo_bin(), out_dir, face_mp4);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(!strstr(out, "warning"), "unexpected warning: %s", out);
    npy_array a = load(out_dir, "face.npy");
    CHECK(a.dtype == NPY_U8 && a.ndim == 3 && a.shape[0] == 15 && a.shape[1] == 224 && a.shape[2] == 224,
          "shape [%lld, %lld, %lld]", (long long)a.shape[0], (long long)a.shape[1], (long long)a.shape[2]);
    for (int k = 0; k < 15 && a.data; k++) {
        const uint8_t *f = (const uint8_t *)a.data + (size_t)k * 224 * 224;
        long zeros = 0;
        double mean = 0;
        for (int i = 0; i < 224 * 224; i++) zeros += f[i] == 0, mean += f[i];
        mean /= 224 * 224;
        /* a face crop: almost no black pixels, mid-grey mean */
        CHECK(zeros < 224 * 224 / 20 && mean > 40 && mean < 220, "frame %d: %ld zero pixels, mean %.1f", k, zeros, mean);
    }
    npy_free(&a);
    char jp[700];
    snprintf(jp, sizeof jp, "%s/face.json", out_dir);
    FILE *f = fopen(jp, "r");
    CHECK(f != NULL, "no %s", jp);
    if (f) {
        char buf[65536];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        int found = 0;
        for (char *p = buf; (p = strstr(p, "\"found\"")); p++) found++;
        CHECK(found == 15 && strstr(buf, "\"frames_without_face\":\t0"), "json: %d frames found", found);
    }
}

static void test_rgb_and_first_window(void) {
    char out_dir[600], cmd[4096], out[16384];
    snprintf(out_dir, sizeof out_dir, "%s/out_rgb", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s faces --color rgb --frames 4 --size 112 --frame-window first --out '%s' '%s'",
             avemo_bin(), out_dir, face_mp4);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    npy_array a = load(out_dir, "face.npy");
    CHECK(a.ndim == 4 && a.shape[0] == 4 && a.shape[1] == 112 && a.shape[2] == 112 && a.shape[3] == 3, "rgb shape");
    npy_free(&a);
}

static void test_blank_video(void) {
    char out_dir[600], cmd[4096], out[16384];
    snprintf(out_dir, sizeof out_dir, "%s/out2", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s faces --out '%s' '%s'", avemo_bin(), out_dir, blank_mp4);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "warning") && strstr(out, "blank.mp4") && strstr(out, "15 of 15"), "no warning: %s", out);
    npy_array a = load(out_dir, "blank.npy");
    CHECK(a.count == 15L * 224 * 224, "count %lld", (long long)a.count);
    long nonzero = 0;
    for (long i = 0; i < a.count; i++) nonzero += ((uint8_t *)a.data)[i] != 0;
    CHECK(nonzero == 0, "%ld non-zero pixels in a face-free clip", nonzero);
    npy_free(&a);
}

static void test_truncated(void) {
    char out_dir[600], cmd[4096], out[16384];
    snprintf(out_dir, sizeof out_dir, "%s/out3", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s faces --out '%s' '%s' '%s' 2>&1", avemo_bin(), out_dir, trunc_mp4, blank_mp4);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "cut.mp4"), "truncated: exit %d: %s", rc, out);
    char *nl = strchr(out, '\n');
    CHECK(nl && nl[1] == 0, "error is not one line: %s", out);
    char p[700];
    snprintf(p, sizeof p, "%s/blank.npy", out_dir);
    CHECK(access(p, F_OK) != 0, "without --keep-going, later inputs are not processed");
    snprintf(cmd, sizeof cmd, "%s faces --keep-going --out '%s' '%s' '%s'", avemo_bin(), out_dir, trunc_mp4, blank_mp4);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "cut.mp4"), "keep-going: exit %d: %s", rc, out);
    CHECK(access(p, F_OK) == 0, "--keep-going did not write blank.npy: %s", out);
}

static void test_detect(void) {
    const char *img = shared_path("data/faces/photos/astronaut.png");
    if (!img) return;
    char cmd[4096], out[16384];
    snprintf(cmd, sizeof cmd, "%s detect --json '%s'", avemo_bin(), img);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"landmarks\"") && strstr(out, "\"score\""), "detect --json: %d %s", rc, out);
    snprintf(cmd, sizeof cmd, "%s detect '%s' /nonexistent.mp4", avemo_bin(), img);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "1 face\n") && strstr(out, "/nonexistent.mp4"), "detect text: %d %s", rc, out);
    snprintf(cmd, sizeof cmd, "%s faces --help", avemo_bin());
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "usage"), "faces --help");
}

int main(void) {
    if (make_inputs()) {
        printf("RESULT 0 1\n");
        return 1;
    }
    RUN(test_face_video);
    RUN(test_rgb_and_first_window);
    RUN(test_blank_video);
    RUN(test_truncated);
    RUN(test_detect);
    return test_summary();
}
