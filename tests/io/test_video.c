/* Video and still-image decoding (io/video.c, io/image.c): frame sampling, clips made here with the ffmpeg
 * CLI, and the errors for truncated files, files without video, garbage; the bounds and orientation of issue 12
 * (frames over the pixel limit refused, large frames shrunk, display matrix / rotate tag / EXIF orientation
 * applied, FIFOs refused). */
#include "test.h"

#include "avemo.h"
#include "io/image.h"
#include "io/pts_order.h"
#include "io/video.h"

#include <libavutil/display.h>
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

static char mp4[512], mp4_fast[512];

/* 4 s, 30 fps, 398x224 H.264 (mpeg4 if this ffmpeg lacks libx264) made from a RAVDESS still with a zoom */
static int make_clip(char *path, size_t cap, const char *name, const char *extra) {
    const char *still = shared_path("data/faces/ravdess-stills/Actor_05.png");
    if (!still) return -1;
    snprintf(path, cap, "%s/%s", test_tmpdir(), name);
    char cmd[2048], out[4096];
    int have_x264 = run_cmd("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx264", NULL, 0) == 0;
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -loop 1 -i '%s' -vf \"scale=796:448,zoompan=z='1+0.002*on':d=1:s=398x224:fps=30\" "
             "-frames:v 120 -c:v %s -pix_fmt yuv420p %s '%s'",
             still, have_x264 ? "libx264" : "mpeg4", extra, path);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "ffmpeg failed: %s", out);
    return rc;
}

static void test_sample_indices(void) {
    long idx[15];
    const long baseline[15] = {3, 10, 17, 24, 31, 39, 46, 53, 60, 67, 75, 82, 89, 96, 103};
    CHECK(video_sample_indices(idx, 15, 200, 30, FRAME_WINDOW_FIRST) == 0, "first");
    CHECK(memcmp(idx, baseline, sizeof idx) == 0, "first window differs from the baseline's indices");
    /* 108 frames = exactly 3.6 s at 30 fps: slot k at (k + 0.5) * 7.2 frames */
    CHECK(video_sample_indices(idx, 15, 108, 30, FRAME_WINDOW_CENTER) == 0, "center");
    CHECK(idx[0] == 3 && idx[1] == 10 && idx[2] == 18 && idx[14] == 104, "center 108: %ld %ld %ld %ld", idx[0],
          idx[1], idx[2], idx[14]);
    /* 4 s clip: window starts at 0.2 s = frame 6, so indices shift by 6 */
    long idx2[15];
    video_sample_indices(idx2, 15, 120, 30, FRAME_WINDOW_CENTER);
    for (int k = 0; k < 15; k++) CHECK(idx2[k] == idx[k] + 6, "center 120 slot %d: %ld", k, idx2[k]);
    /* 2 s clip, shorter than the 3.6 s window: the 15 slots cover the clip itself (SPEC 2.2), slot k at
     * (k + 0.5) * 60 / 15 frames = 4k + 2; none outside the clip (the audio alone is zero-padded) */
    video_sample_indices(idx, 15, 60, 30, FRAME_WINDOW_CENTER);
    for (int k = 0; k < 15; k++) CHECK(idx[k] == 4 * k + 2, "short clip slot %d: %ld", k, idx[k]);
    /* a clip of 1 frame: every slot shows it */
    video_sample_indices(idx, 15, 1, 30, FRAME_WINDOW_CENTER);
    for (int k = 0; k < 15; k++) CHECK(idx[k] == 0, "1-frame clip slot %d: %ld", k, idx[k]);
    CHECK(video_sample_indices(idx, 15, 100, 0, FRAME_WINDOW_CENTER) != 0, "0 fps accepted");
    /* first window on a short clip: frames past the end are missing */
    video_sample_indices(idx, 15, 50, 30, FRAME_WINDOW_FIRST);
    CHECK(idx[6] == 46 && idx[7] == -1 && idx[14] == -1, "first window, 50 frames: %ld %ld", idx[6], idx[7]);
}

static void test_decode_clip(void) {
    if (!mp4[0]) return;
    video_clip c;
    CHECK(video_read_clip(mp4, 15, FRAME_WINDOW_CENTER, &c) == 0, "%s", avemo_last_error());
    CHECK(c.n == 15 && c.total_frames == 120 && c.fps > 29.9 && c.fps < 30.1 && c.w == 398 && c.h == 224,
          "n %d total %ld fps %.2f %dx%d", c.n, c.total_frames, c.fps, c.w, c.h);
    for (int k = 0; k < c.n && c.rgb; k++) {
        const uint8_t *f = c.rgb + (size_t)k * c.h * c.w * 3;
        double mean = 0;
        for (long i = 0; i < (long)c.h * c.w * 3; i++) mean += f[i];
        mean /= (double)c.h * c.w * 3;
        CHECK(c.index[k] >= 0 && mean > 30 && mean < 230, "frame %d (source %ld): mean %.1f", k, c.index[k], mean);
    }
    /* consecutive sampled frames differ (the zoom moves), so we did not decode one frame 15 times */
    if (c.rgb) CHECK(memcmp(c.rgb, c.rgb + (size_t)c.h * c.w * 3, (size_t)c.h * c.w * 3) != 0, "frames 0 and 1 equal");
    video_clip_free(&c);
}

static void test_decode_matches_ffmpeg(void) {
    /* frame 50 as RGB from the ffmpeg CLI vs ours: same decoder, so equal up to the RGB conversion's
     * rounding (both use swscale; flags differ): mean abs difference below 2 levels */
    if (!mp4[0]) return;
    char raw[600], cmd[2048], out[1024];
    snprintf(raw, sizeof raw, "%s/f50.rgb", test_tmpdir());
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -i '%s' -vf 'select=eq(n\\,50)' -frames:v 1 -f rawvideo -pix_fmt rgb24 '%s'",
             mp4, raw);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "ffmpeg: %s", out);
    long idx = 50;
    uint8_t *rgb;
    int h, w;
    CHECK(video_decode_indices(mp4, &idx, 1, 0, &rgb, &h, &w) == 0, "%s", avemo_last_error());
    FILE *f = fopen(raw, "rb");
    uint8_t *ref = malloc((size_t)h * w * 3);
    if (f && fread(ref, 1, (size_t)h * w * 3, f) == (size_t)h * w * 3) {
        double d = 0;
        for (long i = 0; i < (long)h * w * 3; i++) d += abs((int)rgb[i] - (int)ref[i]);
        d /= (double)h * w * 3;
        printf("  frame 50: mean |diff| %.3f to the ffmpeg CLI's rgb24\n", d);
        CHECK(d < 2.0, "mean abs difference to ffmpeg's frame 50: %.3f", d);
    } else {
        CHECK(0, "cannot read %s", raw);
    }
    if (f) fclose(f);
    free(ref);
    free(rgb);
}

static void test_containers(void) {
    /* the same 120-frame clip as FLV (CREMA-D's container, FLV1 codec), AVI (MPEG-4 part 2), MKV (H.264 copy) */
    if (!mp4[0]) return;
    const char *fmt[3][2] = {{"flv", "-c:v flv1"}, {"avi", "-c:v mpeg4"}, {"mkv", "-c:v copy"}};
    for (int i = 0; i < 3; i++) {
        char p[600], cmd[2048], out[2048];
        snprintf(p, sizeof p, "%s/clip.%s", test_tmpdir(), fmt[i][0]);
        snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -i '%s' %s '%s'", mp4, fmt[i][1], p);
        CHECK(run_cmd(cmd, out, sizeof out) == 0, "ffmpeg %s: %s", fmt[i][0], out);
        video_clip c;
        CHECK(video_read_clip(p, 15, FRAME_WINDOW_CENTER, &c) == 0, "%s", avemo_last_error());
        CHECK(c.total_frames == 120 && c.fps > 29.9 && c.fps < 30.1 && c.index[0] == 9 && c.index[14] == 110,
              "%s: %ld frames, %.2f fps, first %ld last %ld", fmt[i][0], c.total_frames, c.fps, c.n ? c.index[0] : -9,
              c.n ? c.index[14] : -9);
        video_clip_free(&c);
    }
}

/* A real 1.5 s clip (45 frames at 30 fps) made here: every one of the 15 sampled frames is a frame of the clip,
 * spread over all of it, none a zero padding frame (SPEC 2.2's short-clip rule). */
static void test_short_clip(void) {
    const char *still = shared_path("data/faces/ravdess-stills/Actor_05.png");
    if (!still) return;
    char p[600], cmd[2048], out[2048];
    snprintf(p, sizeof p, "%s/short.mp4", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -loop 1 -framerate 30 -i '%s' -vf \"scale=398:224,zoompan=z='1+0.004*on':d=1:s=398x224\" "
             "-frames:v 45 -c:v libx264 -pix_fmt yuv420p '%s'", still, p);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "ffmpeg: %s", out);
    video_clip c;
    if (video_read_clip(p, 15, FRAME_WINDOW_CENTER, &c)) {
        CHECK(0, "%s", avemo_last_error());
        return;
    }
    CHECK(c.total_frames == 45 && c.n == 15, "%ld frames, %d sampled", c.total_frames, c.n);
    long frame_px = (long)c.h * c.w * 3;
    for (int k = 0; k < c.n; k++) {
        CHECK(c.index[k] >= 0 && c.index[k] < c.total_frames, "slot %d outside the clip: %ld", k, c.index[k]);
        CHECK(k == 0 || c.index[k] > c.index[k - 1], "slot %d not after slot %d", k, k - 1);
        double mean = 0;
        for (long i = 0; i < frame_px; i++) mean += c.rgb[(size_t)k * frame_px + i];
        mean /= frame_px;
        CHECK(mean > 30, "slot %d (frame %ld) is dark (mean %.1f): padding?", k, c.index[k], mean);
    }
    CHECK(c.index[0] <= 2 && c.index[14] >= 42, "slots cover frames %ld..%ld of 0..44", c.index[0], c.index[14]);
    video_clip_free(&c);
}

static void truncate_copy(const char *src, const char *dst, double keep) {
    FILE *f = fopen(src, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    long k = (long)(n * keep);
    char *buf = malloc(k);
    CHECK(fread(buf, 1, k, f) == (size_t)k, "read");
    fclose(f);
    FILE *g = fopen(dst, "wb");
    fwrite(buf, 1, k, g);
    fclose(g);
    free(buf);
}

static void test_truncated(void) {
    char p[600];
    video_clip c;
    if (mp4[0]) { /* moov at the end: the index is lost */
        snprintf(p, sizeof p, "%s/trunc.mp4", test_tmpdir());
        truncate_copy(mp4, p, 0.5);
        int err = video_read_clip(p, 15, FRAME_WINDOW_CENTER, &c);
        CHECK(err != 0 && strstr(avemo_last_error(), "trunc.mp4") && !strchr(avemo_last_error(), '\n'),
              "truncated (moov at end): %d %s", err, avemo_last_error());
        printf("  %s\n", avemo_last_error());
    }
    if (mp4_fast[0]) { /* moov first: index intact, media data cut */
        snprintf(p, sizeof p, "%s/trunc_fast.mp4", test_tmpdir());
        truncate_copy(mp4_fast, p, 0.5);
        int err = video_read_clip(p, 15, FRAME_WINDOW_CENTER, &c);
        CHECK(err != 0 && strstr(avemo_last_error(), "trunc_fast.mp4"), "truncated (faststart): %d %s", err,
              avemo_last_error());
        printf("  %s\n", avemo_last_error());
    }
}

static void test_bad_inputs(void) {
    char p[600], cmd[1024], out[1024];
    video_clip c;
    snprintf(p, sizeof p, "%s/tone.wav", test_tmpdir());
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -f lavfi -i sine=d=1 '%s'", p);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "ffmpeg: %s", out);
    CHECK(video_read_clip(p, 15, FRAME_WINDOW_CENTER, &c) == AVEMO_EDECODE &&
              strstr(avemo_last_error(), "no video stream") && strstr(avemo_last_error(), "tone.wav"),
          "audio-only: %s", avemo_last_error());
    snprintf(p, sizeof p, "%s/garbage.mp4", test_tmpdir());
    FILE *f = fopen(p, "wb");
    for (int i = 0; i < 5000; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
    CHECK(video_read_clip(p, 15, FRAME_WINDOW_CENTER, &c) != 0 && strstr(avemo_last_error(), "garbage.mp4"),
          "garbage: %s", avemo_last_error());
    CHECK(video_read_clip("/nonexistent/x.mp4", 15, FRAME_WINDOW_CENTER, &c) == AVEMO_EIO, "missing: %s",
          avemo_last_error());
    snprintf(p, sizeof p, "%s/empty.mp4", test_tmpdir());
    fclose(fopen(p, "wb"));
    CHECK(video_read_clip(p, 15, FRAME_WINDOW_CENTER, &c) != 0 && strstr(avemo_last_error(), "empty.mp4"),
          "empty: %s", avemo_last_error());
}

static void test_stills(void) {
    struct { const char *rel; int w, h; } s[] = {{"data/faces/photos/astronaut.png", 512, 512},
                                                 {"data/faces/photos/coral_face.jpg", 512, 355},
                                                 {"data/faces/photos/grace_hopper.bmp", 512, 600},
                                                 {"data/faces/ravdess-stills/Actor_01.png", 398, 224}};
    for (int i = 0; i < 4; i++) {
        const char *p = shared_path(s[i].rel);
        if (!p) continue;
        image_rgb img;
        CHECK(image_is_image_path(p), "%s not seen as an image", p);
        CHECK(image_load_rgb(p, &img) == 0, "%s", avemo_last_error());
        CHECK(img.w == s[i].w && img.h == s[i].h, "%s: %dx%d", s[i].rel, img.w, img.h);
        long sum = 0;
        for (long k = 0; k < (long)img.w * img.h * 3; k++) sum += img.rgb[k];
        CHECK(sum > 0, "%s all black", s[i].rel);
        image_free(&img);
        video_clip c;
        CHECK(image_read_clip(p, &c) == 0 && c.n == 1 && c.index[0] == 0, "clip of %s", s[i].rel);
        video_clip_free(&c);
    }
    /* BMP decoded by FFmpeg equals the raw pixels: grace_hopper.bmp is 24-bit bottom-up BGR, 138-byte header */
    const char *p = shared_path("data/faces/photos/grace_hopper.bmp");
    FILE *f = p ? fopen(p, "rb") : NULL;
    if (f) {
        image_rgb img;
        image_load_rgb(p, &img);
        uint8_t row[512 * 3];
        fseek(f, 138, SEEK_SET);
        CHECK(fread(row, 1, sizeof row, f) == sizeof row, "read bmp");
        fclose(f);
        const uint8_t *last = img.rgb + (size_t)599 * 512 * 3; /* first stored row = bottom row */
        int same = 1;
        for (int x = 0; x < 512; x++)
            same &= last[3 * x] == row[3 * x + 2] && last[3 * x + 1] == row[3 * x + 1] && last[3 * x + 2] == row[3 * x];
        CHECK(same, "BMP bottom row differs from the file's pixels");
        image_free(&img);
    }
    char bad[600];
    snprintf(bad, sizeof bad, "%s/broken.png", test_tmpdir());
    FILE *g = fopen(bad, "wb");
    fputs("\x89PNG\r\n\x1a\n this is not a png", g);
    fclose(g);
    image_rgb img;
    CHECK(image_load_rgb(bad, &img) != 0 && strstr(avemo_last_error(), "broken.png"), "broken png: %s",
          avemo_last_error());
}


static void test_orientation_transforms(void) {
    /* a 2 x 3 image whose pixel (y, x) holds 10y + x: each transform against its definition (EXIF numbering) */
    uint8_t src[2 * 3 * 3], dst[2 * 3 * 3];
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++) memset(src + (y * 3 + x) * 3, 10 * y + x, 3);
    /* what the display shows at (row, col) for each orientation: the source (y, x) */
    const int shown[8][6] = {{0, 1, 2, 10, 11, 12},  {2, 1, 0, 12, 11, 10},  {12, 11, 10, 2, 1, 0},
                             {10, 11, 12, 0, 1, 2},  {0, 10, 1, 11, 2, 12},  {10, 0, 11, 1, 12, 2},
                             {12, 2, 11, 1, 10, 0},  {2, 12, 1, 11, 0, 10}};
    for (int o = VIDEO_ORIENT_NONE; o <= VIDEO_ORIENT_ROT270; o++) {
        video_orient_rgb(dst, src, 2, 3, (video_orientation)o);
        int bad = 0;
        for (int k = 0; k < 6; k++) bad += dst[3 * k] != shown[o - 1][k];
        CHECK(bad == 0, "orientation %d: %d pixels misplaced", o, bad);
    }
    /* display matrices as FFmpeg writes them: `ccw` is what av_display_rotation_get returns (counter-clockwise
     * degrees, ffprobe's "rotation"); av_display_rotation_set takes the opposite sign (clockwise, FFmpeg 5.1) */
    int32_t m[9];
    const struct { double ccw; int hflip; video_orientation want; } cases[] = {
        {0, 0, VIDEO_ORIENT_NONE},   {-90, 0, VIDEO_ORIENT_ROT90},   {90, 0, VIDEO_ORIENT_ROT270},
        {180, 0, VIDEO_ORIENT_ROT180}, {0, 1, VIDEO_ORIENT_HFLIP},  {-90, 1, VIDEO_ORIENT_TRANSPOSE},
        {90, 1, VIDEO_ORIENT_TRANSVERSE}, {45, 0, VIDEO_ORIENT_NONE}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        av_display_rotation_set(m, -cases[i].ccw);
        if (cases[i].hflip) av_display_matrix_flip(m, 1, 0);
        video_orientation got = video_orientation_from_matrix(m);
        CHECK(got == cases[i].want, "matrix %g deg%s: orientation %d, expected %d", cases[i].ccw,
              cases[i].hflip ? " + hflip" : "", got, cases[i].want);
    }
}

/* Mean absolute difference of two RGB frames of the same size. */
static double mean_abs(const uint8_t *a, const uint8_t *b, long n) {
    double d = 0;
    for (long i = 0; i < n; i++) d += abs((int)a[i] - (int)b[i]);
    return d / n;
}

static void test_rotation_metadata(void) {
    /* A phone-style clip: frames stored sideways (transposed counter-clockwise) with rotate=270 in the MP4 track
     * matrix, as the ffmpeg CLI shows it upright; decoded upright, it matches the same still encoded upright. */
    const char *rel = shared_path("data/faces/ravdess-stills/Actor_05.png");
    if (!rel) return;
    char up[600], side[600], rot[600], cmd[4096], out[2048];
    snprintf(up, sizeof up, "%s/upright.mp4", test_tmpdir());
    snprintf(side, sizeof side, "%s/sideways.mp4", test_tmpdir());
    snprintf(rot, sizeof rot, "%s/rotated.mp4", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -loop 1 -framerate 10 -i '%s' -vf format=yuv444p -frames:v 10 -c:v libx264 -qp 0 '%s' && "
             "ffmpeg -v error -y -loop 1 -framerate 10 -i '%s' -vf transpose=cclock,format=yuv444p -frames:v 10 "
             "-c:v libx264 -qp 0 '%s' && ffmpeg -v error -y -i '%s' -c copy -metadata:s:v:0 rotate=270 '%s'",
             rel, up, rel, side, side, rot);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "ffmpeg: %s", out);
    video_clip a, b;
    CHECK(video_read_clip(up, 3, FRAME_WINDOW_CENTER, &a) == 0, "%s", avemo_last_error());
    CHECK(video_read_clip(rot, 3, FRAME_WINDOW_CENTER, &b) == 0, "%s", avemo_last_error());
    if (test_failed_now) return;
    int h, w;
    long total;
    double fps;
    CHECK(video_probe(rot, &total, &fps, &h, &w) == 0 && w == 398 && h == 224, "probe of the rotated clip: %dx%d", w, h);
    CHECK(a.w == 398 && a.h == 224 && b.w == a.w && b.h == a.h, "upright %dx%d, rotated clip decoded %dx%d", a.w, a.h,
          b.w, b.h);
    if (b.w == a.w && b.h == a.h) {
        double d = mean_abs(a.rgb, b.rgb, (long)a.h * a.w * 3);
        CHECK(d < 1.0, "rotated clip vs upright: mean abs difference %.2f", d);
        printf("  rotate=270 clip decoded upright: mean |diff| %.3f to the upright encode\n", d);
    }
    video_clip_free(&a);
    video_clip_free(&b);
}

static void test_exif_orientation(void) {
    /* A JPEG stored sideways with EXIF Orientation 6 (rotate 90 degrees clockwise to view): decoded upright. The
     * EXIF block (one IFD entry, tag 0x0112 = 6) is spliced after the SOI marker of a JPEG made by ffmpeg. */
    const char *rel = shared_path("data/faces/ravdess-stills/Actor_05.png");
    if (!rel) return;
    char plain[600], side[600], exif[600], cmd[2048], out[2048];
    snprintf(plain, sizeof plain, "%s/upright.png", test_tmpdir());
    snprintf(side, sizeof side, "%s/side.jpg", test_tmpdir());
    snprintf(exif, sizeof exif, "%s/exif6.jpg", test_tmpdir());
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -i '%s' -vf transpose=cclock -q:v 1 '%s'", rel, side);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "ffmpeg: %s", out);
    static const uint8_t app1[] = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,
                                   'I', 'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00,            /* TIFF, IFD at 8 */
                                   0x01, 0x00,                                              /* 1 entry */
                                   0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x00};                                 /* no next IFD */
    FILE *f = fopen(side, "rb"), *g = fopen(exif, "wb");
    uint8_t buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    CHECK(n > 2 && n < sizeof buf && buf[0] == 0xFF && buf[1] == 0xD8, "side.jpg: %zu bytes", n);
    if (g && n > 2) {
        fwrite(buf, 1, 2, g);
        fwrite(app1, 1, sizeof app1, g);
        fwrite(buf + 2, 1, n - 2, g);
    }
    if (f) fclose(f);
    if (g) fclose(g);
    image_rgb up, turned;
    CHECK(image_load_rgb(rel, &up) == 0 && image_load_rgb(exif, &turned) == 0, "%s", avemo_last_error());
    if (test_failed_now) return;
    CHECK(turned.w == up.w && turned.h == up.h, "EXIF 6 JPEG decoded %dx%d, the still is %dx%d", turned.w, turned.h,
          up.w, up.h);
    if (turned.w == up.w && turned.h == up.h) {
        double d = mean_abs(up.rgb, turned.rgb, (long)up.h * up.w * 3);
        CHECK(d < 3.0, "EXIF-rotated JPEG vs the still: mean abs difference %.2f", d);
        printf("  EXIF orientation 6 applied: mean |diff| %.2f to the PNG still (JPEG loss)\n", d);
    }
    image_free(&up);
    image_free(&turned);
}

static void test_size_bounds(void) {
    /* 8192 x 8192 (over the limit) is refused before decoding, naming the size; 4096 x 2048 is shrunk to
     * 2048 x 1024 while converting; a FIFO is refused instead of blocking the probe */
    char big[600], wide[600], fifo[600], cmd[2048], out[2048];
    snprintf(big, sizeof big, "%s/big.mkv", test_tmpdir());
    snprintf(wide, sizeof wide, "%s/wide.png", test_tmpdir());
    snprintf(fifo, sizeof fifo, "%s/pipe.mp4", test_tmpdir());
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -f lavfi -i color=gray:s=8192x8192 -frames:v 1 -c:v png -f image2pipe - "
             "| ffmpeg -v error -y -f png_pipe -i - -c copy '%s' && "
             "ffmpeg -v error -y -f lavfi -i testsrc=s=4096x2048 -frames:v 1 '%s'", big, wide);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "ffmpeg: %s", out);
    video_clip c;
    CHECK(video_read_clip(big, 15, FRAME_WINDOW_CENTER, &c) == AVEMO_EFORMAT && strstr(avemo_last_error(), "8192x8192") &&
              strstr(avemo_last_error(), "big.mkv"), "8192^2: %s", avemo_last_error());
    image_rgb img;
    CHECK(image_load_rgb(wide, &img) == 0 && img.w == 2048 && img.h == 1024, "4096x2048 delivered as %dx%d: %s", img.w,
          img.h, avemo_last_error());
    if (img.rgb) image_free(&img);
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
    CHECK(video_read_clip(fifo, 15, FRAME_WINDOW_CENTER, &c) == AVEMO_EIO && strstr(avemo_last_error(), "not a regular"),
          "FIFO: %s", avemo_last_error());
}

/* Frame numbers by timestamp (io/pts_order.c): ranks of decode-order timestamps, and the two refusals. */
static void test_pts_order(void) {
    pts_order o = {0};
    const int64_t decode_order[] = {0, 4, 2, 1, 3, 8, 6, 5, 7}; /* I P B B B with a B-pyramid */
    for (int i = 0; i < 9; i++) CHECK(pts_order_add(&o, decode_order[i]) == PTS_ORDER_OK, "add %d", i);
    CHECK(pts_order_add(&o, 6) == PTS_ORDER_DUPLICATE, "duplicate accepted");
    for (int i = 0; i < 9; i++) CHECK(pts_order_rank(&o, i) == i, "rank of %d: %ld", i, pts_order_rank(&o, i));
    CHECK(pts_order_rank(&o, 100) == -1, "an absent timestamp has a rank");
    CHECK(pts_order_add(&o, -1) == PTS_ORDER_BELOW_RANKED, "a timestamp below ranked ones accepted");
    CHECK(pts_order_add(&o, 9) == PTS_ORDER_OK && o.n == 10, "add after the refusals");
    pts_order_free(&o);
}

/* The frames of the full decode, as the ffmpeg CLI gives them (all n frames, rgb24). */
static uint8_t *ffmpeg_frames(const char *path, long frame_bytes, long n) {
    char raw[600], cmd[2048], out[1024];
    snprintf(raw, sizeof raw, "%s/all.rgb", test_tmpdir());
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -i '%s' -f rawvideo -pix_fmt rgb24 '%s'", path, raw);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "ffmpeg: %s", out);
    uint8_t *all = malloc((size_t)frame_bytes * n);
    FILE *f = fopen(raw, "rb");
    size_t got = f && all ? fread(all, 1, (size_t)frame_bytes * n, f) : 0;
    if (f) fclose(f);
    CHECK(got == (size_t)frame_bytes * n, "%s: %zu of %ld bytes", raw, got, frame_bytes * n);
    if (got != (size_t)frame_bytes * n) {
        free(all);
        return NULL;
    }
    return all;
}

/* Issue 15: frames that fill no slot and that no frame refers to are skipped (numbered by timestamp, not by
 * count). The sampled frames keep their indices and pixels: against every frame of the full decode (the ffmpeg
 * CLI's, which the same-size conversion matches bit for bit), on x264 clips with B-frames (a B-pyramid, and
 * plain non-reference B-frames), and on a raw H.264 stream (no timestamps: numbered by count). */
static void test_skip_matches_full_decode(void) {
    if (!mp4[0]) return;
    char plain_b[600], raw264[600], cmd[2048], out[2048];
    snprintf(plain_b, sizeof plain_b, "%s/bplain.mp4", test_tmpdir());
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -i '%s' -c:v libx264 -x264-params bframes=3:b-pyramid=none '%s'", mp4,
             plain_b);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "ffmpeg: %s", out);
    snprintf(raw264, sizeof raw264, "%s/raw.h264", test_tmpdir());
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -i '%s' -c:v copy -bsf:v h264_mp4toannexb -f h264 '%s'", mp4, raw264);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "ffmpeg: %s", out);
    const char *clips[3] = {mp4, plain_b, raw264};
    for (int i = 0; i < 3 && !test_failed_now; i++) {
        video_clip c;
        CHECK(video_read_clip(clips[i], 15, FRAME_WINDOW_CENTER, &c) == 0, "%s", avemo_last_error());
        if (test_failed_now) return;
        long frame_bytes = (long)c.h * c.w * 3;
        CHECK(c.total_frames == 120 && (i == 2 || (c.index[0] == 9 && c.index[14] == 110)), "%s: %ld frames, %ld..%ld",
              clips[i], c.total_frames, c.index[0], c.index[14]);
        uint8_t *all = ffmpeg_frames(clips[i], frame_bytes, c.total_frames);
        for (int k = 0; all && k < c.n; k++)
            CHECK(c.index[k] >= 0 && memcmp(c.rgb + k * frame_bytes, all + c.index[k] * frame_bytes, frame_bytes) == 0,
                  "%s: slot %d is not frame %ld of the full decode", clips[i], k, c.index[k]);
        free(all);
        video_clip_free(&c);
    }
}

int main(void) {
    if (make_clip(mp4, sizeof mp4, "zoom.mp4", "") != 0) mp4[0] = 0;
    if (make_clip(mp4_fast, sizeof mp4_fast, "zoom_fast.mp4", "-movflags +faststart") != 0) mp4_fast[0] = 0;
    RUN(test_sample_indices);
    RUN(test_decode_clip);
    RUN(test_decode_matches_ffmpeg);
    RUN(test_pts_order);
    RUN(test_skip_matches_full_decode);
    RUN(test_containers);
    RUN(test_short_clip);
    RUN(test_truncated);
    RUN(test_bad_inputs);
    RUN(test_stills);
    RUN(test_orientation_transforms);
    RUN(test_rotation_metadata);
    RUN(test_exif_orientation);
    RUN(test_size_bounds);
    return test_summary();
}
