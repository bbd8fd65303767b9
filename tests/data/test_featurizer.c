/* The featurizer (src/data/featurizer.c) and the weight search (src/data/weights.c): the settings survive the
 * JSON that carries them from prep to predict; PCM and file give the same audio features; a clip shorter than
 * the 3.6 s window gives frames of the clip only; the weights are found where data/weights.h says, in order. */
#include "test.h"

#include "avemo.h"
#include "data/featurizer.h"
#include "data/weights.h"
#include "dsp/deltas.h"
#include "dsp/pitch.h"
#include "io/audio.h"
#include "model/mobilenetv2.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int settings_equal(const featurizer_settings *a, const featurizer_settings *b) {
    const faces_config *fa = &a->faces, *fb = &b->faces;
    return a->modality == b->modality && a->audio_features == b->audio_features && a->n_orders == b->n_orders &&
           a->deltas == b->deltas && a->pitch == b->pitch &&
           !memcmp(a->orders, b->orders, sizeof a->orders) && !memcmp(&a->mfcc, &b->mfcc, sizeof a->mfcc) &&
           a->clip_seconds == b->clip_seconds && a->frames_kind == b->frames_kind && fa->frames == fb->frames &&
           fa->size == fb->size && fa->color_rgb == fb->color_rgb && fa->reuse_box == fb->reuse_box &&
           fa->refine == fb->refine && fa->detect_max_side == fb->detect_max_side && fa->window == fb->window &&
           fa->mtcnn.min_face_px == fb->mtcnn.min_face_px &&
           !strcmp(a->backbone_path ? a->backbone_path : "", b->backbone_path ? b->backbone_path : "");
}

static void test_settings_json_round_trip(void) {
    dataset_options d = {.kind = DATASET_RAVDESS, .n_classes = 8};
    featurizer_settings s[3];
    for (int i = 0; i < 3; i++) featurizer_settings_default(&s[i]);
    /* 1: FRFT-MFCC with two orders, reflect padding, 12 coefficients; colour frames of the first 108, a backbone */
    s[1].audio_features = AUDIO_FEATURES_FRFT_MFCC;
    s[1].n_orders = 2;
    s[1].orders[0] = 0.9;
    s[1].orders[1] = 1.1;
    s[1].mfcc.n_mfcc = 12;
    s[1].mfcc.pad_mode = MFCC_PAD_REFLECT;
    s[1].faces.frames = 8;
    s[1].faces.color_rgb = 1;
    s[1].faces.window = FRAME_WINDOW_FIRST;
    s[1].faces.reuse_box = 1;
    s[1].faces.refine = 0;
    s[1].faces.detect_max_side = 0;
    s[1].backbone_path = "/some/where/mnv2.safetensors";
    s[1].deltas = 2;
    s[1].pitch = 1;
    /* 2: video alone, whole frames */
    s[2].modality = DATASET_NEED_VIDEO;
    s[2].frames_kind = VIDEO_FRAMES_WHOLE;
    for (int i = 0; i < 3; i++) {
        char *json, backbone[512];
        featurizer_settings back;
        CHECK(featurizer_settings_to_json(&s[i], &d, &json) == 0, "to json: %s", avemo_last_error());
        CHECK(featurizer_settings_from_json(json, "test", &back, backbone, sizeof backbone) == 0, "from json: %s",
              avemo_last_error());
        if (s[i].frames_kind == VIDEO_FRAMES_WHOLE) back.faces = s[i].faces; /* whole frames record no MTCNN keys */
        CHECK(settings_equal(&s[i], &back), "settings %d changed on the way: %s", i, json);
        /* and the JSON of what came back is the same text (what a resumed prep compares) */
        char *again;
        CHECK(featurizer_settings_to_json(&back, &d, &again) == 0 && !strcmp(json, again), "%s\n%s", json, again);
        free(json);
        free(again);
    }
}

/* deltas: rows [10, 20) of the features are feature_deltas of rows [0, 10) (dsp/deltas.h); the shape says 20 */
static void test_delta_rows(void) {
    featurizer_settings s;
    featurizer_settings_default(&s);
    s.modality = DATASET_NEED_AUDIO;
    s.deltas = 1;
    featurizer f;
    CHECK(featurizer_open(&f, &s, NULL, NULL) == 0, "%s", avemo_last_error());
    int C, F;
    featurizer_audio_shape(&s, &C, &F);
    CHECK(C == 20 && F == 156, "shape [%d, %d]", C, F);
    long n = f.clip_samples;
    float *x = malloc((size_t)n * sizeof *x), *out = malloc((size_t)C * F * sizeof *out), *d = malloc(10 * F * sizeof *d);
    for (long i = 0; i < n; i++) x[i] = (float)(0.3 * sin(0.01 * i + 1e-7 * i * i));
    CHECK(featurizer_audio(&f, x, n, out) == 0, "%s", avemo_last_error());
    CHECK(feature_deltas(out, 10, F, 1, d) == 0 && !memcmp(d, out + 10 * F, 10 * F * sizeof *d), "delta rows differ");
    free(x), free(out), free(d);
    featurizer_close(&f);
    /* pitch: 2 more rows after the deltas, yin_pitch_rows of the clip */
    s.pitch = 1;
    CHECK(featurizer_open(&f, &s, NULL, NULL) == 0, "%s", avemo_last_error());
    featurizer_audio_shape(&s, &C, &F);
    CHECK(C == 22, "%d channels with pitch", C);
    x = malloc((size_t)n * sizeof *x), out = malloc((size_t)C * F * sizeof *out);
    float *track = malloc(4 * (size_t)F * sizeof *track);
    for (long i = 0; i < n; i++) x[i] = (float)(0.3 * sin(2 * M_PI * 150.0 * i / 22050));
    yin_config yc;
    yin_config_default(&yc);
    CHECK(featurizer_audio(&f, x, n, out) == 0 && yin_track(&yc, x, n, track, track + F) == 0, "%s",
          avemo_last_error());
    yin_pitch_rows(&yc, track, track + F, F, track + 2 * F);
    CHECK(!memcmp(out + 20 * F, track + 2 * F, 2 * (size_t)F * sizeof *out), "pitch rows differ");
    CHECK(fabsf(out[20 * F + 80] - (float)log2(1.5)) < 0.01f, "150 Hz read as 2^%g x 100 Hz", out[20 * F + 80]);
    free(x), free(out), free(track);
    featurizer_close(&f);
    s.deltas = 3;
    CHECK(featurizer_open(&f, &s, NULL, NULL) == AVEMO_EINVAL, "deltas 3 accepted");
}

static void test_settings_json_errors(void) {
    featurizer_settings s;
    char bb[64];
    const char *bad[] = {"[1, 2]", "not json", "{\"audio\":{\"features\":\"wavelets\"}}",
                         "{\"audio\":{\"n_fft\":-4}}", "{\"video\":{\"frames\":0}}", "{\"video\":{\"size\":5000}}",
                         "{\"audio\":{\"features\":\"frft-mfcc\",\"frft_orders\":[]}}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(featurizer_settings_from_json(bad[i], "m.safetensors", &s, bb, sizeof bb) != 0, "accepted %s", bad[i]);
        CHECK(strstr(avemo_last_error(), "m.safetensors"), "message does not name the file: %s", avemo_last_error());
    }
    CHECK(featurizer_settings_from_json("{\"video\":{\"backbone\":\"a-very-long-path-that-does-not-fit\"}}", "m", &s,
                                        bb, 8) != 0, "long path accepted");
    /* absent keys keep the defaults; the streams are the sections present */
    CHECK(featurizer_settings_from_json("{\"audio\":{}}", "m", &s, bb, sizeof bb) == 0 &&
              s.modality == DATASET_NEED_AUDIO && s.mfcc.n_mfcc == 10 && s.clip_seconds == 3.6 && !s.backbone_path,
          "defaults: %s", avemo_last_error());
    int C, F;
    featurizer_audio_shape(&s, &C, &F);
    CHECK(C == 10 && F == 156, "shape [%d, %d]", C, F);
}

/* The same samples from memory at another rate and from a file: the same features, bit for bit. */
static void test_audio_pcm_equals_file(void) {
    const char *flac = shared_path("data/ravdess-speech/Actor_02/03-01-03-01-01-01-02.flac");
    if (!flac) return;
    featurizer_settings s;
    featurizer_settings_default(&s);
    s.modality = DATASET_NEED_AUDIO;
    featurizer f;
    if (featurizer_open(&f, &s, NULL, NULL)) {
        CHECK(0, "open: %s", avemo_last_error());
        return;
    }
    float a[1560], b[1560], *y;
    long ny;
    audio_clip c;
    CHECK(featurizer_audio_file(&f, flac, a) == 0, "file: %s", avemo_last_error());
    CHECK(audio_decode_mono(flac, &c) == 0, "decode: %s", avemo_last_error());
    CHECK(featurizer_resample(&f, c.samples, c.n, c.sample_rate_hz, &y, &ny) == 0 && featurizer_audio(&f, y, ny, b) == 0,
          "pcm: %s", avemo_last_error());
    CHECK(!memcmp(a, b, sizeof a), "file and PCM differ (max %g)", max_abs_diff_f(a, b, 1560));
    /* a missing file names itself */
    CHECK(featurizer_audio_file(&f, "/nonexistent/x.wav", a) == AVEMO_EIO && strstr(avemo_last_error(), "/nonexistent"),
          "missing: %s", avemo_last_error());
    free(y);
    audio_clip_free(&c);
    featurizer_close(&f);
}

/* A 1.2 s clip through the featurizer's frames (whole frames: no detector needed): all 15 are frames of the
 * clip, none a black padding frame, and they are in time order over all of it. */
static void test_short_clip_frames(void) {
    const char *still = shared_path("data/faces/ravdess-stills/Actor_04.png");
    if (!still) return;
    char mp4[600], cmd[2048], log[2048];
    snprintf(mp4, sizeof mp4, "%s/short.mp4", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 25 -i '%s' -t 1.2 -vf scale=398:224 -c:v libx264 "
             "-pix_fmt yuv420p '%s'", still, mp4);
    CHECK(run_cmd(cmd, log, sizeof log) == 0, "ffmpeg: %s", log);
    featurizer_settings s;
    featurizer_settings_default(&s);
    s.modality = DATASET_NEED_VIDEO;
    s.frames_kind = VIDEO_FRAMES_WHOLE;
    featurizer f;
    CHECK(featurizer_open(&f, &s, NULL, NULL) == 0, "open: %s", avemo_last_error());
    video_clip clip;
    if (featurizer_read_frames(&f, mp4, &clip)) {
        CHECK(0, "read: %s", avemo_last_error());
        featurizer_close(&f);
        return;
    }
    CHECK(clip.n == 15 && clip.total_frames == 30, "%d frames of %ld", clip.n, clip.total_frames);
    for (int k = 0; k < clip.n; k++)
        CHECK(clip.index[k] >= 0 && clip.index[k] < clip.total_frames && (k == 0 || clip.index[k] >= clip.index[k - 1]),
              "slot %d: frame %ld", k, clip.index[k]);
    CHECK(clip.index[0] <= 1 && clip.index[14] >= 28, "frames %ld..%ld do not span the clip", clip.index[0],
          clip.index[14]);
    long fb = featurizer_frame_bytes(&s);
    uint8_t *frames = malloc((size_t)clip.n * fb);
    int noface = -1;
    CHECK(featurizer_frames(&f, &clip, frames, NULL, &noface) == 0 && noface == 0, "frames: %s", avemo_last_error());
    for (int k = 0; k < clip.n; k++) {
        long sum = 0;
        for (long i = 0; i < fb; i++) sum += frames[(size_t)k * fb + i];
        CHECK(sum > 30 * fb, "frame %d is dark (mean %.1f)", k, (double)sum / fb);
    }
    free(frames);
    video_clip_free(&clip);
    featurizer_close(&f);
}

static void test_weights_search(void) {
    char path[4096], cwd[4096];
    const char *d = test_tmpdir();
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "cwd");
    /* given beats everything, taken as is */
    setenv("AVEMO_MTCNN", "/env/mtcnn", 1);
    CHECK(weights_find(WEIGHTS_MTCNN, "/given/m.json", NULL, path, sizeof path) == 0 && !strcmp(path, "/given/m.json"),
          "given: %s", path);
    CHECK(weights_find(WEIGHTS_MTCNN, NULL, NULL, path, sizeof path) == 0 && !strcmp(path, "/env/mtcnn"), "env: %s", path);
    unsetenv("AVEMO_MTCNN");
    /* $AVEMO_SHARED's manifest when it is there */
    char shared[700], manifest[900];
    snprintf(shared, sizeof shared, "%s/shared", d);
    snprintf(manifest, sizeof manifest, "%s/" WEIGHTS_MTCNN_MANIFEST, shared);
    snprintf(path, sizeof path, "mkdir -p '%s/weights/mtcnn' && touch '%s'", shared, manifest);
    CHECK(system(path) == 0, "mkdir");
    setenv("AVEMO_SHARED", shared, 1);
    CHECK(weights_find(WEIGHTS_MTCNN, NULL, NULL, path, sizeof path) == 0 && !strcmp(path, manifest), "shared: %s", path);
    /* else the fetched TFLite folder in the working directory */
    unlink(manifest);
    char work[700], tfl[2048];
    snprintf(work, sizeof work, "%s/work", d);
    snprintf(tfl, sizeof tfl, "mkdir -p '%s/" WEIGHTS_MTCNN_TFLITE "' && touch '%s/" WEIGHTS_MTCNN_TFLITE "/pnet.tflite'",
             work, work);
    CHECK(system(tfl) == 0, "mkdir");
    CHECK(chdir(work) == 0, "chdir");
    CHECK(weights_find(WEIGHTS_MTCNN, NULL, NULL, path, sizeof path) == 0 && !strcmp(path, WEIGHTS_MTCNN_TFLITE),
          "tflite folder: %s", path);
    /* nowhere: the message says where it looked and how to give them */
    CHECK(chdir(d) == 0, "chdir");
    CHECK(weights_find(WEIGHTS_MTCNN, NULL, NULL, path, sizeof path) == AVEMO_EINVAL &&
              strstr(avemo_last_error(), manifest) && strstr(avemo_last_error(), "--mtcnn"),
          "not found: %s", avemo_last_error());
    CHECK(chdir(cwd) == 0, "chdir back");
    unsetenv("AVEMO_SHARED");
    /* the backbone: given, else recorded, else an error */
    CHECK(weights_find(WEIGHTS_BACKBONE, "/g.safetensors", "/r.safetensors", path, sizeof path) == 0 &&
              !strcmp(path, "/g.safetensors"), "backbone given: %s", path);
    CHECK(weights_find(WEIGHTS_BACKBONE, NULL, "/r.safetensors", path, sizeof path) == 0 && !strcmp(path, "/r.safetensors"),
          "backbone recorded: %s", path);
    CHECK(weights_find(WEIGHTS_BACKBONE, NULL, NULL, path, sizeof path) == AVEMO_EINVAL &&
              strstr(avemo_last_error(), "--backbone"), "no backbone: %s", avemo_last_error());
}

/* MTCNN and the backbone read side by side on 2 threads (featurizer_open): both loaded; a missing file on either side
 * fails the open with that side's message (the detector's when both fail), on the caller's thread. */
static void test_open_side_by_side(void) {
    const char *manifest = shared_path("weights/mtcnn/mtcnn_model-weights_manifest.json");
    if (!manifest) return;
    char mtcnn[600], bb[600];
    snprintf(mtcnn, sizeof mtcnn, "%s", manifest);
    snprintf(bb, sizeof bb, "%s/side_backbone.safetensors", test_tmpdir());
    mobilenetv2 net;
    CHECK(mobilenetv2_init(&net, 1, 0) == 0, "init: %s", avemo_last_error());
    CHECK(mobilenetv2_save(&net, bb, NULL, 0) == 0, "save: %s", avemo_last_error());
    mobilenetv2_free(&net);
    featurizer_settings s;
    featurizer_settings_default(&s);
    s.modality = DATASET_NEED_VIDEO;
    s.frames_kind = VIDEO_FRAMES_FACES;
    int threads = omp_get_max_threads();
    omp_set_num_threads(2);
    featurizer f;
    CHECK(featurizer_open(&f, &s, mtcnn, bb) == 0, "open: %s", avemo_last_error());
    CHECK(f.detector && f.have_backbone, "detector %p, backbone %d", (void *)f.detector, f.have_backbone);
    featurizer_close(&f);
    CHECK(featurizer_open(&f, &s, "/nonexistent/mtcnn.json", bb) != 0 && strstr(avemo_last_error(), "MTCNN") &&
              strstr(avemo_last_error(), "/nonexistent/mtcnn.json"), "missing MTCNN: %s", avemo_last_error());
    CHECK(featurizer_open(&f, &s, mtcnn, "/nonexistent/bb.safetensors") != 0 &&
              strstr(avemo_last_error(), "/nonexistent/bb.safetensors"), "missing backbone: %s", avemo_last_error());
    CHECK(featurizer_open(&f, &s, "/nonexistent/mtcnn.json", "/nonexistent/bb.safetensors") != 0 &&
              strstr(avemo_last_error(), "/nonexistent/mtcnn.json"), "both missing: %s", avemo_last_error());
    omp_set_num_threads(threads);
}

/* The same frame records: what the follower found and where it cropped. */
static int same_face_frames(const face_frame *a, const face_frame *b, int n) {
    for (int k = 0; k < n; k++)
        if (a[k].status != b[k].status || a[k].frame_index != b[k].frame_index || a[k].n_detected != b[k].n_detected ||
            a[k].refined != b[k].refined || a[k].tracked != b[k].tracked || memcmp(a[k].box, b[k].box, sizeof a[k].box))
            return 0;
    return 1;
}

/* Decode and face following overlapped (featurizer_overlap: 2 threads, frame k's face while k + 1.. decode) give the
 * crops and records of the sequential path (featurizer_read_frames then featurizer_frames) bit for bit: a face moving
 * across the frame and gone for a stretch (the track lost, the full search again, a reused box), with the centre
 * window and with the first-frames window past the clip's end (padded slots); and the two stages run one after the
 * other on one thread give them too. A missing file fails with its message on the caller's thread. */
static void test_overlap_matches_sequential(void) {
    const char *still = shared_path("data/faces/ravdess-stills/Actor_01.png");
    const char *manifest = shared_path("weights/mtcnn/mtcnn_model-weights_manifest.json");
    if (!still || !manifest) return;
    char mp4[600], cmd[2048], log[2048];
    snprintf(mp4, sizeof mp4, "%s/moving.mp4", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=gray:s=640x360:r=25 -loop 1 -i '%s' "
             "-filter_complex \"[1]scale=400:225[f];[0][f]overlay=x='20+80*t':y='40+30*sin(3*t)':"
             "enable='not(between(t,1.1,1.5))'\" -t 2.4 -c:v libx264 -pix_fmt yuv420p '%s'", still, mp4);
    CHECK(run_cmd(cmd, log, sizeof log) == 0, "ffmpeg: %s", log);
    int threads = omp_get_max_threads();
    for (int variant = 0; variant < 2; variant++) {
        featurizer_settings s;
        featurizer_settings_default(&s); /* following the face */
        s.modality = DATASET_NEED_VIDEO;
        s.faces.size = 64;
        s.faces.reuse_box = variant == 1;
        s.faces.window = variant == 1 ? FRAME_WINDOW_FIRST : FRAME_WINDOW_CENTER;
        featurizer f;
        if (featurizer_open(&f, &s, manifest, NULL)) {
            CHECK(0, "open: %s", avemo_last_error());
            return;
        }
        int T = s.faces.frames;
        long fb = featurizer_frame_bytes(&s);
        /* sequential */
        omp_set_num_threads(1);
        video_clip clip;
        uint8_t *seq = malloc((size_t)T * fb);
        face_frame seq_info[AVEMO_FRAMES_PER_CLIP];
        int seq_noface = -1, n_padded = 0, n_tracked = 0, n_searched = 0;
        CHECK(!featurizer_overlap_usable(&f, mp4), "overlapped on 1 thread");
        CHECK(featurizer_read_frames(&f, mp4, &clip) == 0 && featurizer_frames(&f, &clip, seq, seq_info, &seq_noface) == 0,
              "sequential: %s", avemo_last_error());
        video_clip_free(&clip);
        for (int k = 0; k < T; k++) {
            n_padded += seq_info[k].status == FACE_PADDED;
            n_tracked += seq_info[k].tracked;
            n_searched += seq_info[k].status == FACE_FOUND && !seq_info[k].tracked;
        }
        /* the clip does what the test is about: followed frames, frames without a face, a search after one */
        CHECK(n_tracked >= 3 && seq_noface >= 1 && n_searched >= 2 && (variant == 0 || n_padded >= 3),
              "variant %d: %d followed, %d without a face, %d full searches, %d padded", variant, n_tracked, seq_noface,
              n_searched, n_padded);
        /* overlapped on 2 threads (featurizer_frames_file takes that path) */
        omp_set_num_threads(2);
        CHECK(featurizer_overlap_usable(&f, mp4), "not overlapped on 2 threads");
        uint8_t *ov = NULL;
        face_frame *ov_info = NULL;
        int n = 0, ov_noface = -1;
        CHECK(featurizer_frames_file(&f, mp4, &ov, &ov_info, &n, &ov_noface) == 0, "overlapped: %s",
              avemo_last_error());
        CHECK(n == T && ov_noface == seq_noface && ov && !memcmp(ov, seq, (size_t)T * fb) &&
                  same_face_frames(ov_info, seq_info, T),
              "variant %d: the overlapped crops differ from the sequential ones (%d frames, %d / %d without a face)",
              variant, n, ov_noface, seq_noface);
        /* the two stages one after the other on one thread (a team of one) */
        featurizer_overlap o;
        memset(ov, 0xff, (size_t)T * fb);
        CHECK(featurizer_overlap_init(&o, &f, mp4, ov, ov_info) == 0, "init");
        CHECK(featurizer_overlap_decode(&o) == 0 && featurizer_overlap_faces(&o) == 0 && featurizer_overlap_end(&o) == 0,
              "stages in turn: %s", avemo_last_error());
        CHECK(o.n_noface == seq_noface && !memcmp(ov, seq, (size_t)T * fb) && same_face_frames(ov_info, seq_info, T),
              "variant %d: the stages in turn differ", variant);
        featurizer_overlap_free(&o);
        free(ov);
        free(ov_info);
        free(seq);
        if (variant == 0) { /* errors: the decoder's, named, on the caller's thread; the follower does not wait */
            CHECK(featurizer_frames_file(&f, "/nonexistent/clip.mp4", &ov, &ov_info, &n, &ov_noface) != 0 &&
                      strstr(avemo_last_error(), "/nonexistent/clip.mp4") && !ov && !ov_info && n == 0,
                  "missing file: %s", avemo_last_error());
        }
        featurizer_close(&f);
    }
    omp_set_num_threads(threads);
}

int main(void) {
    RUN(test_settings_json_round_trip);
    RUN(test_settings_json_errors);
    RUN(test_delta_rows);
    RUN(test_audio_pcm_equals_file);
    RUN(test_short_clip_frames);
    RUN(test_weights_search);
    RUN(test_open_side_by_side);
    RUN(test_overlap_matches_sequential);
    return test_summary();
}
