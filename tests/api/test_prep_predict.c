/* Train-time features equal predict-time features (issue 18): one real clip, an AV MP4 made here with the ffmpeg
 * CLI from a RAVDESS still and a RAVDESS speech recording (../shared), goes
 *   - through `avemo prep` (data/prep.c: MTCNN crops, the ImageNet MobileNetV2 imported from the TFLite file,
 *     MFCC) and the training loader (cache_load_set, the fold's statistics, feature_standardize), and
 *   - through avemo_predict_file on a model created on that cache (its prep settings and statistics),
 * and the model's inputs, audio [F, C] and video [T, 1280] standardised, are bit-identical. */
#include "api/predict_fixture.h"
#include "api/predict_inputs.h"

#include "data/loader.h"

static char mp4[900], tree[700], cache[700], backbone[700], model_path[700];

/* The clip: RAVDESS actor 1's still (slow zoom) with its real utterance, named as a RAVDESS full-AV file. */
static int make_clip(void) {
    const char *d = test_tmpdir();
    const char *still = shared_path("data/faces/ravdess-stills/Actor_01.png");
    const char *speech = shared_path("data/ravdess-speech/Actor_01/03-01-05-01-01-01-01.flac");
    if (!still || !speech) return -1;
    char actor[800], cmd[4096], log[4096];
    snprintf(tree, sizeof tree, "%s/ravdess", d);
    snprintf(actor, sizeof actor, "%s/Actor_01", tree);
    mkdir(tree, 0755);
    mkdir(actor, 0755);
    snprintf(mp4, sizeof mp4, "%s/01-01-05-01-01-01-01.mp4", actor);
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 30 -i '%s' -i '%s' -vf "
             "\"scale=398:224,zoompan=z='1+0.001*on':d=1:s=398x224,format=yuv420p\" -c:v libx264 -preset ultrafast "
             "-c:a aac -shortest '%s'", still, speech, mp4);
    int rc = run_cmd(cmd, log, sizeof log);
    CHECK(rc == 0, "ffmpeg: %s", log);
    return rc;
}

/* The ImageNet MobileNetV2 from ../shared's TFLite file, as `avemo import --from tflite` writes it. */
static int import_backbone(void) {
    const char *tfl = shared_path("weights/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite");
    if (!tfl) return -1;
    snprintf(backbone, sizeof backbone, "%s/mnv2.safetensors", test_tmpdir());
    mobilenetv2 net;
    int rc = mobilenetv2_from_tflite(&net, tfl, 3);
    if (!rc) {
        rc = mobilenetv2_save(&net, backbone, NULL, 0);
        mobilenetv2_free(&net);
    }
    CHECK(rc == 0, "import: %s", avemo_last_error());
    return rc;
}

/* `avemo prep --dataset ravdess --backbone mnv2.safetensors` on the tree (the spec's defaults: 15 frames, MTCNN
 * crops 224 px grayscale, MFCC), the MTCNN weights found by the library's own search. */
static int prep_tree(feature_cache *c) {
    snprintf(cache, sizeof cache, "%s/cache", test_tmpdir());
    prep_options o;
    prep_options_default(&o);
    o.features.backbone_path = backbone;
    o.jobs = 1;
    dataset_options d = {.kind = DATASET_RAVDESS};
    prep_dataset_options(&d, &o);
    dataset ds;
    prep_stats st;
    int rc = prep_check_weights(&o);
    if (!rc) rc = dataset_scan(tree, &d, &ds);
    if (!rc) rc = prep_create_cache(c, cache, &ds, &d, &o);
    if (!rc && (rc = prep_run(c, &o, NULL, &st))) cache_free(c);
    CHECK(rc == 0 && st.n_ready == 1 && st.n_noface == 0, "prep: %s", rc ? avemo_last_error() : "not ready");
    return rc || st.n_ready != 1;
}

/* A model created on the cache: the dual-stream head (random weights), the cache's settings as its "prep"
 * metadata and the statistics of the cache's features (the training fold's, in training). */
static int create_model(const feature_cache *c, const cache_set *set) {
    model_config cfg;
    model_config_default(&cfg, 8);
    cfg.modality = MODALITY_AV;
    cfg.video_ch1 = cfg.video_ch2 = cfg.audio_ch = cfg.fusion_ch = 16;
    cfg.fusion_blocks = 1;
    cfg.video_frames = set->video_frames;
    model_file mf;
    memset(&mf, 0, sizeof mf);
    if (model_create(&mf.m, &cfg, 7)) return -1;
    mf.n_classes = c->ds.n_classes;
    for (int k = 0; k < mf.n_classes; k++) mf.class_names[k] = strdup(c->ds.class_names[k]);
    mf.audio_mean = malloc(set->audio_coeffs * sizeof(float));
    mf.audio_std = malloc(set->audio_coeffs * sizeof(float));
    mf.video_mean = malloc(set->video_dim * sizeof(float));
    mf.video_std = malloc(set->video_dim * sizeof(float));
    feature_stats(set->audio, (long)set->audio_frames, set->audio_coeffs, mf.audio_mean, mf.audio_std);
    feature_stats(set->video, (long)set->video_frames, set->video_dim, mf.video_mean, mf.video_std);
    mf.prep_json = strdup(c->config_json);
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", test_tmpdir());
    int rc = model_file_save(model_path, &mf);
    model_file_free(&mf);
    CHECK(rc == 0, "model: %s", avemo_last_error());
    return rc;
}

static void test_prep_equals_predict(void) {
    feature_cache c;
    if (make_clip() || import_backbone() || prep_tree(&c)) return;
    /* the training side: the loader's packed [1, F, C] and [1, T, D], standardised as the trainer does */
    int idx = 0;
    cache_set set;
    if (cache_load_set(&c, &idx, 1, CACHE_BIT(CACHE_AUDIO) | CACHE_BIT(CACHE_FEATS), &set)) {
        CHECK(0, "load: %s", avemo_last_error());
        cache_free(&c);
        return;
    }
    CHECK(set.audio_coeffs == 10 && set.audio_frames == 156 && set.video_frames == 15 && set.video_dim == 1280,
          "cached shapes [%d, %d] [%d, %d]", set.audio_frames, set.audio_coeffs, set.video_frames, set.video_dim);
    if (create_model(&c, &set)) goto done;
    model_file mf;
    CHECK(model_file_load(model_path, &mf) == 0, "load model: %s", avemo_last_error());
    feature_standardize(set.audio, set.audio_frames, set.audio_coeffs, mf.audio_mean, mf.audio_std);
    feature_standardize(set.video, set.video_frames, set.video_dim, mf.video_mean, mf.video_std);
    /* the inference side: avemo_predict_file's inputs to the head (the backbone path the cache recorded, MTCNN
     * found by the same search) */
    avemo_model *m;
    avemo_result r;
    float *audio = NULL, *video = NULL;
    CHECK(avemo_model_open(model_path, &m) == 0, "open: %s", avemo_last_error());
    CHECK(m && predict_file_inputs(m, mp4, &r, &audio, &video) == 0, "predict: %s", avemo_last_error());
    if (audio && video) {
        long na = (long)set.audio_frames * set.audio_coeffs, nv = (long)set.video_frames * set.video_dim;
        CHECK(memcmp(audio, set.audio, na * sizeof(float)) == 0, "audio inputs differ (max %g)",
              max_abs_diff_f(audio, set.audio, na));
        CHECK(memcmp(video, set.video, nv * sizeof(float)) == 0, "video inputs differ (max %g)",
              max_abs_diff_f(video, set.video, nv));
        CHECK(r.frames_without_face == 0 && r.video_frames == 15, "%d of %d frames without a face", r.frames_without_face,
              r.video_frames);
        /* and the prediction is the head on exactly these inputs */
        avemo_result p;
        CHECK(avemo_predict_file(m, mp4, &p) == 0, "predict: %s", avemo_last_error());
        CHECK(model_forward(mf.m, set.video, set.audio, NULL, 1, 0, NULL) == 0, "forward");
        CHECK(memcmp(mf.m->acts.probs, p.probs, (size_t)mf.n_classes * sizeof(float)) == 0, "probabilities differ");
    }
    free(audio);
    free(video);
    avemo_model_close(m);
    model_file_free(&mf);
done:
    cache_set_free(&set);
    cache_free(&c);
}

int main(void) {
    RUN(test_prep_equals_predict);
    return test_summary();
}
