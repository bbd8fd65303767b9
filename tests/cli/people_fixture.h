/* Fixtures of the per-person timeline tests (test_predict_people.c, test_predict_html.c), made in the test's
 * tmpdir at test time:
 *   two-person clip  two real RAVDESS stills (../shared/data/faces/ravdess-stills) side by side with ffmpeg's
 *                    hstack, 796 x 448, 4 s at 25 fps with a tone; the right one switches from Actor_04 to
 *                    Actor_07 at 2 s (another face at the same place). Left face: x < 398, right: x > 398.
 *   speech clip      the same two faces (Actor_01 left, Actor_04 right, no switch) with a RAVDESS speech recording
 *                    (Actor_01, happy, strong) padded with silence to 4 s: the bundled voice model's windows.
 *   face model       a video model reading one 48 x 48 gray frame (as the FER2013 face model: whole frames,
 *                    7 classes), random head weights and a random-weight MobileNetV2: track identity and the
 *                    output formats do not depend on the model's accuracy. */
#ifndef AVEMO_TESTS_PEOPLE_FIXTURE_H
#define AVEMO_TESTS_PEOPLE_FIXTURE_H
#include "api/predict_fixture.h"

#define PEOPLE_CLIP_W 796
#define PEOPLE_FACE_CLASSES 7

/* ffmpeg with `args` (inputs, filters, maps), 4 s of H.264 video and AAC audio into out; 0 on success. */
static inline int people_ffmpeg(const char *args, const char *out) {
    char cmd[9000], log[4096];
    if (snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -loglevel error -y %s -t 4 -c:v libx264 -c:a aac '%s'", args, out) >=
        (int)sizeof cmd)
        return -1;
    return run_cmd(cmd, log, sizeof log);
}

static inline int people_clip(const char *out) {
    const char *a = shared_path("data/faces/ravdess-stills/Actor_01.png");
    const char *b = shared_path("data/faces/ravdess-stills/Actor_04.png");
    const char *c = shared_path("data/faces/ravdess-stills/Actor_07.png");
    if (!a || !b || !c) return -1;
    char args[4096];
    snprintf(args, sizeof args,
             "-loop 1 -framerate 25 -t 4 -i '%s' -loop 1 -framerate 25 -t 2 -i '%s' "
             "-loop 1 -framerate 25 -t 2 -i '%s' -f lavfi -i sine=frequency=440:sample_rate=48000 -filter_complex "
             "'[1:v][2:v]concat=n=2:v=1[r];[0:v][r]hstack=inputs=2,scale=796:448,format=yuv420p[v]' -map '[v]' -map 3:a",
             a, b, c);
    return people_ffmpeg(args, out);
}

static inline int people_speech_clip(const char *out) {
    const char *a = shared_path("data/faces/ravdess-stills/Actor_01.png");
    const char *b = shared_path("data/faces/ravdess-stills/Actor_04.png");
    const char *f = shared_path("data/ravdess-speech/Actor_01/03-01-03-02-01-01-01.flac");
    if (!a || !b || !f) return -1;
    char args[4096];
    snprintf(args, sizeof args,
             "-loop 1 -framerate 25 -t 4 -i '%s' -loop 1 -framerate 25 -t 4 -i '%s' "
             "-i '%s' -filter_complex '[0:v][1:v]hstack=inputs=2,scale=796:448,format=yuv420p[v];[2:a]apad[a]' "
             "-map '[v]' -map '[a]'",
             a, b, f);
    return people_ffmpeg(args, out);
}

/* The face model at path, reading `backbone` (fix_backbone). */
static inline int people_face_model(const char *path, const char *backbone) {
    model_config cfg;
    model_config_default(&cfg, PEOPLE_FACE_CLASSES);
    cfg.modality = MODALITY_VIDEO;
    cfg.video_frames = 1;
    cfg.video_ch1 = cfg.video_ch2 = 16;
    model_file mf;
    memset(&mf, 0, sizeof mf);
    if (model_create(&mf.m, &cfg, 13)) return -1;
    const char *names[PEOPLE_FACE_CLASSES] = {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"};
    mf.n_classes = PEOPLE_FACE_CLASSES;
    for (int k = 0; k < PEOPLE_FACE_CLASSES; k++) mf.class_names[k] = strdup(names[k]);
    mf.video_mean = calloc(cfg.video_dim, sizeof(float));
    mf.video_std = malloc(cfg.video_dim * sizeof(float));
    for (int c = 0; c < cfg.video_dim; c++) mf.video_std[c] = 0.5f;
    char prep[1024];
    snprintf(prep, sizeof prep,
             "{\"modality\":\"video\",\"dataset\":\"imagefolder\",\"classes\":0,\"song\":false,\"both_videos\":false,"
             "\"video\":{\"frames\":1,\"size\":48,\"color\":\"gray\",\"frame_window\":\"center\",\"faces\":\"whole\","
             "\"backbone\":\"%s\"}}",
             backbone);
    mf.prep_json = strdup(prep);
    int rc = model_file_save(path, &mf);
    model_file_free(&mf);
    return rc;
}

#endif
