/* The public inference API (src/api/avemo_api.c, include/avemo.h): predictions equal the training pipeline's
 * (prep features -> standardise -> head) bit for bit, from files and from memory, from two threads sharing one
 * model, in window mode; missing streams and bad files give clear errors. */
#include "api/predict_fixture.h"

#include "data/loader.h"
#include "io/audio.h"
#include "io/npy.h"
#include "vision/faces.h"

#include <omp.h>
#include <pthread.h>

static char audio_model[700], tone_a[700], tone_b[700], tone_long[700], tone_exact[700];

static void setup(void) {
    const char *d = test_tmpdir();
    CHECK(fix_audio_model(d, audio_model, sizeof audio_model) == 0, "audio model fixture: %s", avemo_last_error());
    snprintf(tone_a, sizeof tone_a, "%s/held_out_sad.wav", d);
    snprintf(tone_b, sizeof tone_b, "%s/held_out_angry.wav", d);
    snprintf(tone_long, sizeof tone_long, "%s/long_10s.wav", d);
    snprintf(tone_exact, sizeof tone_exact, "%s/exact_3.6s.wav", d);
    CHECK(fix_tone_wav(tone_a, 2, 3.3, 101) == 0 && fix_tone_wav(tone_b, 3, 3.9, 102) == 0 &&
              fix_tone_wav(tone_long, 1, 10.0, 103) == 0 && fix_tone_wav(tone_exact, 0, 3.6, 104) == 0,
          "tone files");
}

/* Audio features as `avemo prep` stores them: the featurizer on the default settings, *feat [C, F] malloc'd. */
static int prep_features(const char *path, float **feat, int *C, int *F) {
    featurizer_settings s;
    featurizer_settings_default(&s);
    s.modality = DATASET_NEED_AUDIO;
    featurizer_audio_shape(&s, C, F);
    featurizer f;
    *feat = malloc((size_t)*C * *F * sizeof **feat);
    int rc = featurizer_open(&f, &s, NULL, NULL);
    if (!rc) rc = featurizer_audio_file(&f, path, *feat);
    featurizer_close(&f);
    return rc;
}

/* The training pipeline by hand: the features prep stores -> [F, C] -> standardise with the model's statistics
 * -> head forward, B = 1, evaluation mode. */
static void reference_probs(const char *model_path, const char *wav, float *probs) {
    model_file mf;
    CHECK(model_file_load(model_path, &mf) == 0, "load: %s", avemo_last_error());
    float *feat;
    int C, F;
    CHECK(prep_features(wav, &feat, &C, &F) == 0, "features: %s", avemo_last_error());
    float *x = malloc((size_t)C * F * sizeof *x);
    for (int c = 0; c < C; c++)
        for (int f = 0; f < F; f++) x[(long)f * C + c] = feat[(long)c * F + f];
    feature_standardize(x, F, C, mf.audio_mean, mf.audio_std);
    CHECK(model_forward(mf.m, NULL, x, NULL, 1, 0, NULL) == 0, "forward: %s", avemo_last_error());
    memcpy(probs, mf.m->acts.probs, (size_t)mf.n_classes * sizeof(float));
    free(feat);
    free(x);
    model_file_free(&mf);
}

static void test_open_and_query(void) {
    avemo_model *m;
    CHECK(avemo_model_open(audio_model, &m) == AVEMO_OK, "open: %s", avemo_last_error());
    if (!m) return;
    CHECK(avemo_class_count(m) == 8, "classes %d", avemo_class_count(m));
    CHECK(!strcmp(avemo_class_name(m, 3), "sad") && avemo_class_name(m, 8) == NULL && avemo_class_name(m, -1) == NULL,
          "class names");
    CHECK(avemo_model_needs(m) == AVEMO_NEEDS_AUDIO && !avemo_model_tolerates_missing(m), "needs");
    int sr;
    double secs;
    avemo_model_audio_shape(m, &sr, &secs);
    CHECK(sr == 22050 && secs == 3.6, "audio shape %d %g", sr, secs);
    avemo_model_close(m);
    avemo_model_close(NULL);
}

static void test_matches_training_pipeline(void) {
    avemo_model *m;
    if (avemo_model_open(audio_model, &m)) {
        CHECK(0, "open: %s", avemo_last_error());
        return;
    }
    const char *files[] = {tone_a, tone_b};
    int want[] = {3, 4}; /* sad, angry: class indices of the RAVDESS codes 04, 05 */
    for (int i = 0; i < 2; i++) {
        avemo_result r;
        CHECK(avemo_predict_file(m, files[i], &r) == AVEMO_OK, "predict: %s", avemo_last_error());
        float ref[AVEMO_MAX_CLASSES];
        reference_probs(audio_model, files[i], ref);
        /* same functions on the same data in the same order: bit-identical */
        CHECK(memcmp(ref, r.probs, 8 * sizeof(float)) == 0, "%s: probs differ from the training pipeline's (max %g)",
              files[i], max_abs_diff_f(ref, r.probs, 8));
        CHECK(r.top_class == want[i], "%s: predicted %s, want %s", files[i], avemo_class_name(m, r.top_class),
              avemo_class_name(m, want[i]));
        double sum = 0;
        for (int k = 0; k < 8; k++) sum += r.probs[k];
        CHECK(fabs(sum - 1) < 1e-5, "probabilities sum to %g", sum);
        CHECK(r.used_audio && !r.used_video && r.decode_ms > 0 && r.features_ms > 0 && r.model_ms > 0 &&
                  r.total_ms >= r.decode_ms + r.features_ms + r.model_ms - 1e-6,
              "timing %g %g %g %g", r.decode_ms, r.features_ms, r.model_ms, r.total_ms);
    }
    avemo_model_close(m);
}

static void test_pcm_equals_file(void) {
    avemo_model *m;
    if (avemo_model_open(audio_model, &m)) {
        CHECK(0, "open: %s", avemo_last_error());
        return;
    }
    audio_clip c;
    CHECK(audio_decode_mono(tone_b, &c) == 0, "decode: %s", avemo_last_error());
    avemo_result a, b;
    CHECK(avemo_predict_pcm(m, c.samples, c.n, c.sample_rate_hz, NULL, 0, 0, 0, &a) == 0, "pcm: %s", avemo_last_error());
    CHECK(avemo_predict_file(m, tone_b, &b) == 0, "file: %s", avemo_last_error());
    CHECK(memcmp(a.probs, b.probs, sizeof a.probs) == 0, "pcm and file differ (max %g)", max_abs_diff_f(a.probs, b.probs, 8));
    CHECK(avemo_predict_pcm(m, NULL, 0, 16000, NULL, 0, 0, 0, &a) == AVEMO_EDECODE, "no input accepted");
    CHECK(strstr(avemo_last_error(), "no audio"), "message: %s", avemo_last_error());
    CHECK(avemo_predict_pcm(m, c.samples, c.n, 0, NULL, 0, 0, 0, &a) == AVEMO_EINVAL, "rate 0 accepted");
    audio_clip_free(&c);
    avemo_model_close(m);
}

/* ---- two threads on one model ---- */

#define N_THREAD_FILES 4
typedef struct {
    avemo_model *m;
    const char *files[N_THREAD_FILES];
    avemo_result r[N_THREAD_FILES];
    int rc;
} thread_job;

static void *thread_main(void *arg) {
    thread_job *j = arg;
    for (int rep = 0; rep < 3 && !j->rc; rep++)
        for (int i = 0; i < N_THREAD_FILES && !j->rc; i++) j->rc = avemo_predict_file(j->m, j->files[i], &j->r[i]);
    return NULL;
}

static void test_two_threads(void) {
    avemo_model *m;
    if (avemo_model_open(audio_model, &m)) {
        CHECK(0, "open: %s", avemo_last_error());
        return;
    }
    thread_job a = {.m = m, .files = {tone_a, tone_b, tone_exact, tone_long}};
    thread_job b = {.m = m, .files = {tone_long, tone_exact, tone_b, tone_a}};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, thread_main, &a);
    pthread_create(&tb, NULL, thread_main, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.rc == 0 && b.rc == 0, "thread failed: %d %d", a.rc, b.rc);
    for (int i = 0; i < N_THREAD_FILES; i++) {
        avemo_result s;
        CHECK(avemo_predict_file(m, a.files[i], &s) == 0, "sequential: %s", avemo_last_error());
        CHECK(memcmp(s.probs, a.r[i].probs, sizeof s.probs) == 0, "thread A differs on %s", a.files[i]);
        CHECK(memcmp(s.probs, b.r[N_THREAD_FILES - 1 - i].probs, sizeof s.probs) == 0, "thread B differs on %s",
              a.files[i]);
    }
    avemo_model_close(m);
}

static void test_windows(void) {
    avemo_model *m;
    if (avemo_model_open(audio_model, &m)) {
        CHECK(0, "open: %s", avemo_last_error());
        return;
    }
    int n = -1;
    /* 10 s, windows of 3.6 s every 1 s: floor((10 - 3.6) / 1) + 1 = 7 */
    CHECK(avemo_predict_file_windows(m, tone_long, 3.6, 1.0, NULL, 0, &n) == 0 && n == 7, "count %d: %s", n,
          avemo_last_error());
    avemo_result r[8];
    CHECK(avemo_predict_file_windows(m, tone_long, 3.6, 1.0, r, 8, &n) == 0 && n == 7, "windows %d: %s", n,
          avemo_last_error());
    for (int w = 0; w < 7 && n == 7; w++) {
        CHECK(fabs(r[w].start_s - w) < 1e-9 && fabs(r[w].end_s - (w + 3.6)) < 1e-9, "window %d at %g..%g", w, r[w].start_s,
              r[w].end_s);
        CHECK(r[w].top_class == 2, "window %d: %s (a 'happy' tone)", w, avemo_class_name(m, r[w].top_class));
    }
    /* max_results smaller than the count: the first ones, full count reported */
    CHECK(avemo_predict_file_windows(m, tone_long, 3.6, 1.0, r, 2, &n) == 0 && n == 7, "truncated list");
    /* a clip of exactly the model's length: one window, identical to the whole-file prediction */
    avemo_result whole;
    CHECK(avemo_predict_file(m, tone_exact, &whole) == 0, "whole: %s", avemo_last_error());
    CHECK(avemo_predict_file_windows(m, tone_exact, 3.6, 1.0, r, 8, &n) == 0 && n == 1, "exact: %d windows", n);
    CHECK(memcmp(whole.probs, r[0].probs, sizeof whole.probs) == 0, "3.6 s window differs from the whole clip");
    /* shorter than the window: one (padded) window */
    CHECK(avemo_predict_file_windows(m, tone_a, 5.0, 1.0, r, 8, &n) == 0 && n == 1, "short: %d", n);
    CHECK(avemo_predict_file_windows(m, tone_a, 0, 1.0, r, 8, &n) == AVEMO_EINVAL, "window 0 accepted");
    avemo_model_close(m);
}

static void test_bad_files(void) {
    avemo_model *m;
    if (avemo_model_open(audio_model, &m)) {
        CHECK(0, "open: %s", avemo_last_error());
        return;
    }
    const char *d = test_tmpdir();
    char empty[700], garbage[700], trunc[700], silent[700];
    snprintf(empty, sizeof empty, "%s/empty.wav", d);
    snprintf(garbage, sizeof garbage, "%s/garbage.mp4", d);
    snprintf(trunc, sizeof trunc, "%s/truncated.wav", d);
    snprintf(silent, sizeof silent, "%s/silent.mp4", d);
    FILE *f = fopen(empty, "wb");
    fclose(f);
    f = fopen(garbage, "wb");
    for (int i = 0; i < 5000; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
    /* the first 3000 bytes of a WAV whose header declares 3.3 s */
    unsigned char buf[3000];
    f = fopen(tone_a, "rb");
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen(trunc, "wb");
    fwrite(buf, 1, got, f);
    fclose(f);
    const char *still = shared_path("data/faces/ravdess-stills/Actor_01.png");
    CHECK(still && fix_video(silent, still, 1.0, 1) == 0, "ffmpeg silent video");
    struct {
        const char *path, *what;
        int status;
    } cases[] = {
        {"/nonexistent/x.wav", "no such file", AVEMO_EIO},
        {empty, "empty", AVEMO_EFORMAT},
        {garbage, "not a readable media file", AVEMO_EFORMAT},
        {trunc, "truncated", AVEMO_EFORMAT},
        {silent, "no audio stream; the model needs audio", AVEMO_EDECODE},
        {still, "no audio stream", AVEMO_EDECODE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        avemo_result r;
        int rc = avemo_predict_file(m, cases[i].path, &r);
        CHECK(rc == cases[i].status, "%s: status %d (%s), want %d", cases[i].path, rc, avemo_last_error(), cases[i].status);
        CHECK(strstr(avemo_last_error(), cases[i].path) && strstr(avemo_last_error(), cases[i].what),
              "%s: message '%s' should name the file and say '%s'", cases[i].path, avemo_last_error(), cases[i].what);
        CHECK(!strchr(avemo_last_error(), '\n'), "multi-line message");
    }
    avemo_model_close(m);
    /* not a model */
    avemo_model *bad = (avemo_model *)1;
    CHECK(avemo_model_open(tone_a, &bad) != AVEMO_OK && bad == NULL, "a WAV opened as a model");
    CHECK(strstr(avemo_last_error(), tone_a), "message: %s", avemo_last_error());
    CHECK(avemo_model_open("/nonexistent/m.safetensors", &bad) == AVEMO_EIO, "missing model: %s", avemo_last_error());
}

/* ---- the video path (AV model, random weights) ---- */

static void test_audio_visual(void) {
    const char *d = test_tmpdir();
    char bb[700], av[700], av_md[700], mp4[700], silent[700];
    snprintf(bb, sizeof bb, "%s/mnv2.safetensors", d);
    snprintf(av, sizeof av, "%s/av.safetensors", d);
    snprintf(av_md, sizeof av_md, "%s/av_dropout.safetensors", d);
    snprintf(mp4, sizeof mp4, "%s/actor01.mp4", d);
    snprintf(silent, sizeof silent, "%s/actor01_silent.mp4", d);
    const char *still = shared_path("data/faces/ravdess-stills/Actor_01.png");
    const char *manifest = shared_path("weights/mtcnn/mtcnn_model-weights_manifest.json");
    if (!still || !manifest) return;
    /* 2 threads, on any machine: the whole file then takes the overlapped path (decode beside the face follower,
     * the crops embedded as they come: data/featurizer.h, api/avemo_api.c), pinned below to the pipeline by hand */
    int threads = omp_get_max_threads();
    omp_set_num_threads(2);
    CHECK(fix_backbone(bb) == 0 && fix_av_model(av, bb, 0, FIX_AV_FRAMES, 1) == 0 &&
              fix_av_model(av_md, bb, 1, FIX_AV_FRAMES, 1) == 0, "AV fixtures: %s",
          avemo_last_error());
    CHECK(fix_video(mp4, still, 4.0, 0) == 0 && fix_video(silent, still, 4.6, 1) == 0, "ffmpeg videos");
    avemo_open_options oo = {.mtcnn_manifest = manifest};
    avemo_model *m, *md;
    if (avemo_model_open_ex(av, &oo, &m)) {
        CHECK(0, "open AV: %s", avemo_last_error());
        return;
    }
    CHECK(avemo_model_needs(m) == (AVEMO_NEEDS_AUDIO | AVEMO_NEEDS_VIDEO) && !avemo_model_tolerates_missing(m), "needs");
    int T, S, ch;
    avemo_model_video_shape(m, &T, &S, &ch);
    CHECK(T == FIX_AV_FRAMES && S == 224 && ch == 1, "video shape %d %d %d", T, S, ch);
    avemo_result r;
    CHECK(avemo_predict_file(m, mp4, &r) == 0, "AV predict: %s", avemo_last_error());
    CHECK(r.used_audio && r.used_video && r.video_frames == FIX_AV_FRAMES && r.frames_without_face == 0,
          "used %d %d, %d frames, %d without a face", r.used_audio, r.used_video, r.video_frames, r.frames_without_face);
    CHECK(r.faces_ms > 0 && r.features_ms > 0, "timing");

    /* reference: frames + faces_from_clip + backbone + prep audio + standardise + head, by hand */
    model_file mf;
    CHECK(model_file_load(av, &mf) == 0, "load: %s", avemo_last_error());
    mtcnn *det;
    CHECK(mtcnn_load(manifest, &det) == 0, "mtcnn: %s", avemo_last_error());
    faces_config fc;
    faces_default_config(&fc);
    fc.frames = FIX_AV_FRAMES;
    video_clip clip;
    CHECK(video_read_clip(mp4, fc.frames, fc.window, &clip) == 0 && clip.n == FIX_AV_FRAMES, "frames: %s",
          avemo_last_error());
    uint8_t *crops = malloc((size_t)FIX_AV_FRAMES * faces_frame_bytes(&fc));
    face_frame info[FIX_AV_FRAMES];
    int noface;
    CHECK(faces_from_clip(det, &clip, &fc, crops, info, &noface) == 0, "faces: %s", avemo_last_error());
    video_clip_free(&clip);
    mobilenetv2 net;
    mnv2_folded fold;
    CHECK(mobilenetv2_from_file(&net, bb, 1) == 0 && mobilenetv2_fold(&fold, &net) == 0, "backbone");
    float *x = malloc((size_t)FIX_AV_FRAMES * 224 * 224 * sizeof *x), *video = malloc((size_t)FIX_AV_FRAMES * 1280 * sizeof *video);
    mobilenetv2_normalize_u8(x, crops, FIX_AV_FRAMES * 224L * 224, 1, net.norm);
    CHECK(mobilenetv2_infer(&fold, video, x, FIX_AV_FRAMES, 224, 224, 0) == 0, "infer");
    feature_standardize(video, FIX_AV_FRAMES, 1280, mf.video_mean, mf.video_std);
    float *feat, audio[156 * 10];
    int C, F;
    CHECK(prep_features(mp4, &feat, &C, &F) == 0 && C == 10 && F == 156, "audio features");
    for (int c = 0; c < C; c++)
        for (int f = 0; f < F; f++) audio[f * C + c] = feat[c * F + f];
    feature_standardize(audio, F, C, mf.audio_mean, mf.audio_std);
    CHECK(model_forward(mf.m, video, audio, NULL, 1, 0, NULL) == 0, "forward");
    CHECK(memcmp(mf.m->acts.probs, r.probs, 8 * sizeof(float)) == 0, "AV probs differ from the pipeline by hand (max %g)",
          max_abs_diff_f(mf.m->acts.probs, r.probs, 8));
    /* in memory: the decoded audio and these crops give the file's result */
    audio_clip ac;
    avemo_result rp;
    CHECK(audio_decode_mono(mp4, &ac) == 0, "decode: %s", avemo_last_error());
    CHECK(avemo_predict_pcm(m, ac.samples, ac.n, ac.sample_rate_hz, crops, FIX_AV_FRAMES, 224, 224, &rp) == 0, "pcm AV: %s",
          avemo_last_error());
    CHECK(memcmp(rp.probs, r.probs, sizeof r.probs) == 0, "AV pcm differs from the file");
    CHECK(avemo_predict_pcm(m, ac.samples, ac.n, ac.sample_rate_hz, crops, FIX_AV_FRAMES - 1, 224, 224, &rp) == AVEMO_EINVAL,
          "wrong frame count accepted");
    audio_clip_free(&ac);
    free(feat);
    free(x);
    free(video);
    free(crops);
    mobilenetv2_folded_free(&fold);
    mobilenetv2_free(&net);
    mtcnn_free(det);
    model_file_free(&mf);

    /* a missing stream: refused without modality dropout, zeros with it */
    CHECK(avemo_predict_file(m, silent, &r) == AVEMO_EDECODE && strstr(avemo_last_error(), "modality dropout"),
          "silent video on a plain AV model: %s", avemo_last_error());
    CHECK(avemo_predict_file(m, tone_a, &r) == AVEMO_EDECODE && strstr(avemo_last_error(), "no video"),
          "audio file on a plain AV model: %s", avemo_last_error());
    if (avemo_model_open_ex(av_md, &oo, &md)) {
        CHECK(0, "open AV dropout: %s", avemo_last_error());
        avemo_model_close(m);
        return;
    }
    CHECK(avemo_model_tolerates_missing(md), "tolerates");
    CHECK(avemo_predict_file(md, tone_a, &r) == 0 && r.used_audio && !r.used_video, "audio only: %s", avemo_last_error());
    avemo_result whole;
    CHECK(avemo_predict_file(md, silent, &whole) == 0 && !whole.used_audio && whole.used_video, "video only: %s",
          avemo_last_error());
    /* windows over the silent 4.6 s video: 3.6 s every 0.5 s -> floor(1.0 / 0.5) + 1 = 3; the middle window
     * [0.5, 4.1) is the clip's central 3.6 s, i.e. the frames the whole-file prediction samples */
    avemo_result w[4];
    int n = 0;
    CHECK(avemo_predict_file_windows(md, silent, 3.6, 0.5, w, 4, &n) == 0 && n == 3, "video windows %d: %s", n,
          avemo_last_error());
    CHECK(n == 3 && memcmp(w[1].probs, whole.probs, sizeof whole.probs) == 0, "central window differs from the whole clip");
    CHECK(n == 3 && w[0].used_video && w[2].frames_without_face == 0, "window results");
    avemo_model_close(md);
    /* a 2 s clip, shorter than the 3.6 s window: its one window samples its frames over the clip itself, as the
     * whole-file prediction does (SPEC 2.2), and fits its audio as the whole file's: the same result */
    char short_mp4[700];
    snprintf(short_mp4, sizeof short_mp4, "%s/actor01_short.mp4", d);
    CHECK(fix_video(short_mp4, still, 2.0, 0) == 0, "ffmpeg short video");
    CHECK(avemo_predict_file(m, short_mp4, &whole) == 0, "short clip: %s", avemo_last_error());
    CHECK(avemo_predict_file_windows(m, short_mp4, 3.6, 1.0, w, 4, &n) == 0 && n == 1, "short clip windows %d: %s", n,
          avemo_last_error());
    CHECK(n == 1 && memcmp(w[0].probs, whole.probs, sizeof whole.probs) == 0, "short clip: window differs from the file");
    avemo_model_close(m);
    omp_set_num_threads(threads);
}


/* The video path against the real `avemo prep` code: a RAVDESS-named AV clip prepared with prep_run (MTCNN
 * crops + MobileNetV2 embeddings + MFCC), a head whose prep settings are that cache's own; predicting the
 * clip must give exactly the head's output on the cached (standardised) features. */
static void test_av_matches_prep_cache(void) {
    const char *d = test_tmpdir();
    char root[700], actor[800], mp4[900], cache[700], bb[700], model[700], path[900];
    snprintf(root, sizeof root, "%s/avtree", d);
    snprintf(actor, sizeof actor, "%s/Actor_01", root);
    snprintf(mp4, sizeof mp4, "%s/01-01-03-01-01-01-01.mp4", actor);
    snprintf(cache, sizeof cache, "%s/avcache", d);
    snprintf(bb, sizeof bb, "%s/mnv2_prep.safetensors", d);
    snprintf(model, sizeof model, "%s/av_prep.safetensors", d);
    const char *still = shared_path("data/faces/ravdess-stills/Actor_02.png");
    const char *manifest = shared_path("weights/mtcnn/mtcnn_model-weights_manifest.json");
    if (!still || !manifest) return;
    mkdir(root, 0755);
    mkdir(actor, 0755);
    CHECK(fix_video(mp4, still, 3.2, 0) == 0 && fix_backbone(bb) == 0, "fixtures");
    dataset_options dopt = {.kind = DATASET_RAVDESS, .need = DATASET_NEED_AUDIO | DATASET_NEED_VIDEO};
    prep_options po;
    prep_options_default(&po);
    po.features.faces.frames = FIX_AV_FRAMES;
    po.mtcnn_path = manifest;
    po.features.backbone_path = bb;
    po.jobs = 1;
    dataset ds;
    char *cfg = NULL;
    feature_cache c;
    CHECK(dataset_scan(root, &dopt, &ds) == 0 && ds.n == 1, "scan: %s", avemo_last_error());
    CHECK(featurizer_settings_to_json(&po.features, &dopt, &cfg) == 0, "config");
    CHECK(cache_create(&c, cache, &ds, cfg) == 0, "cache: %s", avemo_last_error());
    prep_stats st;
    CHECK(prep_run(&c, &po, NULL, &st) == 0 && st.n_failed == 0, "prep: %s", avemo_last_error());
    CHECK(fix_av_model_prep(model, bb, 0, FIX_AV_FRAMES, 1, cfg) == 0, "model: %s", avemo_last_error());
    free(cfg);
    /* the cached features through the head, as eval does */
    npy_array fa, fv;
    CHECK(cache_path(&c, 0, CACHE_AUDIO, path, sizeof path) == 0 && npy_read(path, &fa) == 0, "audio npy");
    CHECK(cache_path(&c, 0, CACHE_FEATS, path, sizeof path) == 0 && npy_read(path, &fv) == 0, "feats npy");
    cache_free(&c);
    CHECK(fa.count == 10 * 156 && fv.count == FIX_AV_FRAMES * 1280, "shapes %ld %ld", (long)fa.count, (long)fv.count);
    model_file mf;
    CHECK(model_file_load(model, &mf) == 0, "load: %s", avemo_last_error());
    float audio[156 * 10];
    const float *ca = fa.data;
    for (int ch = 0; ch < 10; ch++)
        for (int f = 0; f < 156; f++) audio[f * 10 + ch] = ca[ch * 156 + f];
    feature_standardize(audio, 156, 10, mf.audio_mean, mf.audio_std);
    feature_standardize(fv.data, FIX_AV_FRAMES, 1280, mf.video_mean, mf.video_std);
    CHECK(model_forward(mf.m, fv.data, audio, NULL, 1, 0, NULL) == 0, "forward");
    avemo_open_options oo = {.mtcnn_manifest = manifest}; /* the backbone path comes from the prep settings */
    avemo_model *m;
    avemo_result r;
    CHECK(avemo_model_open_ex(model, &oo, &m) == 0, "open: %s", avemo_last_error());
    CHECK(m && avemo_predict_file(m, mp4, &r) == 0, "predict: %s", avemo_last_error());
    CHECK(memcmp(mf.m->acts.probs, r.probs, 8 * sizeof(float)) == 0,
          "predict differs from the head on the prep cache's features (max %g)", max_abs_diff_f(mf.m->acts.probs, r.probs, 8));
    CHECK(r.frames_without_face == 0 && r.used_audio && r.used_video, "streams");
    avemo_model_close(m);
    model_file_free(&mf);
    npy_free(&fa);
    npy_free(&fv);
}

int main(void) {
    setup();
    RUN(test_open_and_query);
    RUN(test_matches_training_pipeline);
    RUN(test_pcm_equals_file);
    RUN(test_two_threads);
    RUN(test_windows);
    RUN(test_bad_files);
    RUN(test_audio_visual);
    RUN(test_av_matches_prep_cache);
    plot_cleanup(); /* fontconfig state of the in-process training's plots (LeakSanitizer) */
    return test_summary();
}
