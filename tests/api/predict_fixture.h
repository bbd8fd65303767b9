/* Fixtures for the predict tests (tests/api/test_api.c, tests/cli/test_predict.c), made in the test's tmpdir:
 *
 *   tone WAVs      16-bit mono 16 kHz: class c is a tone at TONE_HZ[c] with two harmonics plus noise, so an
 *                  MFCC model separates the classes easily (predict is checked to get held-out tones right)
 *   audio model    a RAVDESS-named tree of such WAVs (4 actors x 4 emotions x 4 takes), prepared with the real
 *                  `avemo prep` library code (data/prep.c) and trained in-process with train_run (~2 s)
 *   AV model       the dual-stream head with random weights (small widths), its prep settings written as the
 *                  video prep records them, and a random-weight MobileNetV2 saved as safetensors: exercises the
 *                  video path (MTCNN crops + backbone) without a trained video model
 */
#ifndef AVEMO_TESTS_PREDICT_FIXTURE_H
#define AVEMO_TESTS_PREDICT_FIXTURE_H
#include "test.h"

#include "avemo.h"
#include "core/rng.h"
#include "data/cache.h"
#include "data/dataset.h"
#include "data/prep.h"
#include "model/mobilenetv2.h"
#include "model/model_file.h"
#include "train/plot.h"
#include "train/trainer.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FIX_RATE 16000
#define FIX_N_EMOTIONS 4
#define FIX_AV_FRAMES 4 /* frames per clip of the AV fixture model (the paper's 15 works the same, slower) */
static const int FIX_EMOTION_CODE[FIX_N_EMOTIONS] = {1, 3, 4, 5}; /* neutral, happy, sad, angry */
static const double TONE_HZ[FIX_N_EMOTIONS] = {180, 400, 900, 2000};

/* 16-bit PCM mono WAV */
static inline int fix_write_wav(const char *path, const float *x, long n, int rate) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint32_t data = (uint32_t)n * 2, riff = 36 + data, fmt_len = 16, byte_rate = (uint32_t)rate * 2, sr = (uint32_t)rate;
    uint16_t pcm = 1, ch = 1, align = 2, bits = 16;
    fwrite("RIFF", 1, 4, f);
    fwrite(&riff, 4, 1, f);
    fwrite("WAVEfmt ", 1, 8, f);
    fwrite(&fmt_len, 4, 1, f);
    fwrite(&pcm, 2, 1, f);
    fwrite(&ch, 2, 1, f);
    fwrite(&sr, 4, 1, f);
    fwrite(&byte_rate, 4, 1, f);
    fwrite(&align, 2, 1, f);
    fwrite(&bits, 2, 1, f);
    fwrite("data", 1, 4, f);
    fwrite(&data, 4, 1, f);
    for (long i = 0; i < n; i++) {
        float v = x[i] > 1 ? 1 : x[i] < -1 ? -1 : x[i];
        int16_t s = (int16_t)lrintf(v * 32767.0f);
        fwrite(&s, 2, 1, f);
    }
    return fclose(f);
}

/* Tone of class c, `seconds` long, variant v (phase, level, noise seed). */
static inline int fix_tone_wav(const char *path, int c, double seconds, int v) {
    long n = (long)(seconds * FIX_RATE);
    float *x = malloc((size_t)n * sizeof *x);
    if (!x) return -1;
    rng_t r;
    rng_seed(&r, 1000 + 17 * v + c);
    double f0 = TONE_HZ[c] * (1 + 0.02 * (v % 5 - 2)), amp = 0.2 + 0.05 * (v % 3);
    for (long i = 0; i < n; i++) {
        double t = (double)i / FIX_RATE, ph = 0.3 * v;
        x[i] = (float)(amp * (sin(2 * M_PI * f0 * t + ph) + 0.4 * sin(4 * M_PI * f0 * t) + 0.2 * sin(6 * M_PI * f0 * t)) +
                       0.01 * rng_normal(&r));
    }
    int rc = fix_write_wav(path, x, n, FIX_RATE);
    free(x);
    return rc;
}

/* Prepare and train the audio model under dir; writes its path into model_path. Returns 0 on success. */
static inline int fix_audio_model(const char *dir, char *model_path, size_t cap) {
    char root[600], p[800], cache[600], run[600];
    snprintf(root, sizeof root, "%s/ravdess", dir);
    mkdir(root, 0755);
    for (int a = 1; a <= 4; a++) {
        snprintf(p, sizeof p, "%s/Actor_%02d", root, a);
        mkdir(p, 0755);
        for (int c = 0; c < FIX_N_EMOTIONS; c++)
            for (int k = 0; k < 4; k++) {
                snprintf(p, sizeof p, "%s/Actor_%02d/03-01-%02d-01-%02d-%02d-%02d.wav", root, a, FIX_EMOTION_CODE[c],
                         1 + k / 2, 1 + k % 2, a);
                /* lengths 3.0 .. 4.2 s: both zero padding and centre cropping to 3.6 s occur */
                if (fix_tone_wav(p, c, 3.0 + 0.4 * k, 4 * a + k)) return -1;
            }
    }
    dataset_options d = {.kind = DATASET_RAVDESS, .need = DATASET_NEED_AUDIO};
    prep_options o;
    prep_options_default(&o);
    o.features.modality = DATASET_NEED_AUDIO;
    o.jobs = 2;
    dataset ds;
    char *cfg = NULL;
    if (dataset_scan(root, &d, &ds) || featurizer_settings_to_json(&o.features, &d, &cfg)) return -1;
    snprintf(cache, sizeof cache, "%s/cache", dir);
    feature_cache c;
    int rc = cache_create(&c, cache, &ds, cfg);
    free(cfg);
    if (rc) return -1;
    prep_stats st;
    rc = prep_run(&c, &o, NULL, &st);
    cache_free(&c);
    if (rc || st.n_failed) return -1;
    train_options t;
    train_options_default(&t);
    snprintf(run, sizeof run, "%s/run", dir);
    t.cache_dir = cache;
    t.run_dir = run;
    t.protocol = "actors:1/2";
    t.epochs = 6;
    t.batch = 8;
    t.optimizer = OPT_ADAM;
    t.lr = 3e-3f;
    t.schedule = SCHED_CONSTANT;
    t.quiet = 1;
    t.model.modality = MODALITY_AUDIO;
    t.model.audio_ch = 16;
    if (train_run(&t)) return -1;
    snprintf(model_path, cap, "%s/model.safetensors", run);
    return 0;
}

/* An audio-only head with random weights and the real prep settings of `avemo prep --modality audio`: a valid
 * model file in milliseconds, for tests that need one but not a trained one. */
static inline int fix_random_audio_model(const char *path) {
    model_config cfg;
    model_config_default(&cfg, 8);
    cfg.modality = MODALITY_AUDIO;
    cfg.audio_ch = 16;
    model_file mf;
    memset(&mf, 0, sizeof mf);
    if (model_create(&mf.m, &cfg, 21)) return -1;
    const char *names[8] = {"neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"};
    mf.n_classes = 8;
    for (int k = 0; k < 8; k++) mf.class_names[k] = strdup(names[k]);
    mf.audio_mean = calloc(cfg.audio_channels, sizeof(float));
    mf.audio_std = malloc(cfg.audio_channels * sizeof(float));
    for (int c = 0; c < cfg.audio_channels; c++) mf.audio_std[c] = 50.0f;
    featurizer_settings s;
    featurizer_settings_default(&s);
    s.modality = DATASET_NEED_AUDIO;
    dataset_options d = {.kind = DATASET_RAVDESS};
    if (featurizer_settings_to_json(&s, &d, &mf.prep_json)) return -1;
    int rc = model_file_save(path, &mf);
    model_file_free(&mf);
    return rc;
}

/* Random-weight MobileNetV2 (grayscale stem) at path. */
static inline int fix_backbone(const char *path) {
    mobilenetv2 net;
    if (mobilenetv2_init(&net, 1, 0)) return -1;
    rng_t r;
    rng_seed(&r, 5);
    mobilenetv2_init_random(&net, &r);
    int rc = mobilenetv2_save(&net, path, NULL, 0);
    mobilenetv2_free(&net);
    return rc;
}

/* AV head with random weights at path, reading `backbone`, `frames` per clip; modality dropout on or off;
 * small = 1: narrow layers (fast tests), 0: the paper's widths (benchmarks). prep_json: the feature settings
 * to store (a real cache's config), or NULL for the settings written here as `avemo prep` records them. */
static inline int fix_av_model_prep(const char *path, const char *backbone, int modality_dropout, int frames, int small,
                                    const char *prep_json) {
    model_config cfg;
    model_config_default(&cfg, 8);
    cfg.modality = MODALITY_AV;
    if (small) {
        cfg.video_ch1 = cfg.video_ch2 = 16;
        cfg.audio_ch = 16;
        cfg.fusion_ch = 16;
        cfg.fusion_blocks = 1;
    }
    cfg.modality_dropout = modality_dropout;
    cfg.video_frames = frames;
    model_file mf;
    memset(&mf, 0, sizeof mf);
    if (model_create(&mf.m, &cfg, 11)) return -1;
    const char *names[8] = {"neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"};
    mf.n_classes = 8;
    for (int k = 0; k < 8; k++) mf.class_names[k] = strdup(names[k]);
    mf.audio_mean = calloc(cfg.audio_channels, sizeof(float));
    mf.audio_std = malloc(cfg.audio_channels * sizeof(float));
    mf.video_mean = calloc(cfg.video_dim, sizeof(float));
    mf.video_std = malloc(cfg.video_dim * sizeof(float));
    for (int c = 0; c < cfg.audio_channels; c++) {
        mf.audio_mean[c] = c == 0 ? -300.0f : 0.0f; /* roughly the MFCC scale */
        mf.audio_std[c] = c == 0 ? 100.0f : 20.0f;
    }
    for (int c = 0; c < cfg.video_dim; c++) {
        mf.video_mean[c] = 0.1f;
        mf.video_std[c] = 0.5f;
    }
    char prep[2048];
    snprintf(prep, sizeof prep,
             "{\"modality\":\"av\",\"dataset\":\"ravdess\",\"classes\":8,\"song\":false,\"both_videos\":false,"
             "\"audio\":{\"features\":\"mfcc\",\"sample_rate_hz\":22050,\"clip_seconds\":3.6,\"n_mfcc\":10,"
             "\"n_fft\":2048,\"hop_samples\":512,\"n_mels\":128,\"fmin_hz\":0,\"fmax_hz\":0,\"top_db\":80,"
             "\"pad_mode\":\"constant\"},\"video\":{\"frames\":%d,\"size\":224,\"color\":\"gray\","
             "\"frame_window\":\"center\",\"faces\":\"detect\",\"refine\":true,\"reuse_box\":false,"
             "\"detect_max_side\":640,\"min_face_px\":20,\"track\":true,\"min_face_frac\":0.1,\"backbone\":\"%s\"}}",
             frames, backbone);
    mf.prep_json = strdup(prep_json ? prep_json : prep);
    int rc = model_file_save(path, &mf);
    model_file_free(&mf);
    return rc;
}

static inline int fix_av_model(const char *path, const char *backbone, int modality_dropout, int frames, int small) {
    return fix_av_model_prep(path, backbone, modality_dropout, frames, small, NULL);
}

/* ffmpeg CLI: a video of `seconds` at 30 fps from a still image, with a 440 Hz tone unless silent. */
static inline int fix_video(const char *out, const char *still, double seconds, int silent) {
    char cmd[2048], log[4096];
    if (silent)
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 30 -i '%s' -t %.3f -c:v libx264 "
                 "-pix_fmt yuv420p -an '%s'", still, seconds, out);
    else
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 30 -i '%s' -f lavfi -i "
                 "sine=frequency=440:sample_rate=48000 -t %.3f -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest '%s'",
                 still, seconds, out);
    return run_cmd(cmd, log, sizeof log);
}

#endif
