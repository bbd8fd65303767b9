/* avemo ablate on small synthetic caches: the table files with every row and the paper's numbers, "not run"
 * rows when a modality is missing, the FRFT cache joined with the MFCC cache's video features, resume;
 * --init-visual copies the visual stream's tensors; a video model trains on T = 1 (still images). */
#include "test.h"

#include "avemo.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "data/cache.h"
#include "model/model_file.h"
#include "model/model_init.h"
#include "train/ablate.h"
#include "train/plot.h"
#include "train/trainer.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define N_ACTORS 4
#define PER_ACTOR 16
#define N_CLASSES 4
#define C_COEFFS 10
#define F_FRAMES 32
#define T_FRAMES 15
#define D_VIDEO 16

enum { WITH_AUDIO = 1, WITH_VIDEO = 2 };

/* RAVDESS-like samples (actors 1..4), or with `image` an image folder (splits test/train, no actors). */
static void make_ds(dataset *ds, int image) {
    memset(ds, 0, sizeof *ds);
    ds->kind = image ? DATASET_IMAGEFOLDER : DATASET_RAVDESS;
    ds->root = strdup("/synthetic");
    ds->n_classes = N_CLASSES;
    const char *names[N_CLASSES] = {"neutral", "happy", "sad", "angry"};
    for (int i = 0; i < N_CLASSES; i++) ds->class_names[i] = strdup(names[i]);
    ds->n_splits = image ? 2 : 1;
    ds->split_names = calloc((size_t)ds->n_splits, sizeof(char *));
    ds->split_names[0] = strdup(image ? "test" : "");
    if (image) ds->split_names[1] = strdup("train");
    ds->n = N_ACTORS * PER_ACTOR;
    ds->samples = calloc((size_t)ds->n, sizeof *ds->samples);
    for (int i = 0; i < ds->n; i++) {
        char id[64];
        int actor = 1 + i / PER_ACTOR, k = i % PER_ACTOR;
        snprintf(id, sizeof id, "01-01-%02d-01-%02d-01-%02d", 1 + k % N_CLASSES, 1 + k / N_CLASSES, actor);
        ds->samples[i].id = strdup(id);
        ds->samples[i].video_path = strdup(id);
        ds->samples[i].label = k % N_CLASSES;
        ds->samples[i].actor = image ? -1 : actor;
        ds->samples[i].split = image ? (actor == 1 ? 0 : 1) : 0;
    }
}

/* Class c: a bump in audio coefficient c / video dimension c, plus noise (same seed: the same audio in
 * every cache made with the same `seed`). */
static void make_cache(const char *dir, const char *config, int what, int T, int image) {
    dataset ds;
    make_ds(&ds, image);
    feature_cache c;
    CHECK(cache_create(&c, dir, &ds, config) == 0, "cache: %s", avemo_last_error());
    rng_t r;
    rng_seed(&r, 7);
    float x[C_COEFFS * F_FRAMES], v[T_FRAMES * D_VIDEO];
    for (int i = 0; i < c.ds.n; i++) {
        int label = c.ds.samples[i].label;
        for (int j = 0; j < C_COEFFS * F_FRAMES; j++) x[j] = (float)rng_normal(&r);
        for (int f = 0; f < F_FRAMES; f++) x[label * F_FRAMES + f] += 1.5f;
        for (int j = 0; j < T * D_VIDEO; j++) v[j] = (float)rng_normal(&r);
        /* still images (T = 1) get no averaging over frames: a larger bump keeps them as easy */
        for (int t = 0; t < T; t++) v[t * D_VIDEO + label] += T == 1 ? 3.0f : 1.5f;
        if (what & WITH_AUDIO) CHECK(cache_write_audio(&c, i, x, C_COEFFS, F_FRAMES) == 0, "write: %s", avemo_last_error());
        if (what & WITH_VIDEO) CHECK(cache_write_feats(&c, i, v, T, D_VIDEO) == 0, "write: %s", avemo_last_error());
    }
    CHECK(cache_save(&c) == 0, "save: %s", avemo_last_error());
    cache_free(&c);
}

static void tiny(train_options *o) {
    train_options_default(o);
    o->protocol = "actors:1/2";
    o->epochs = 2;
    o->batch = 8;
    o->optimizer = OPT_ADAM;
    o->lr = 3e-3f;
    o->schedule = SCHED_CONSTANT;
    o->quiet = 1;
    model_config *m = &o->model;
    m->video_ch1 = m->video_ch2 = m->audio_ch = 8;
    m->baseline_ch1 = m->baseline_ch2 = m->baseline_ch3 = 8;
    m->fusion_ch = m->mlp_hidden = 8;
    m->fusion_blocks = 2;
}

static char dir_mfcc_a[512], dir_mfcc_av[512], dir_frft_a[512], dir_img[512];

static char *slurp(const char *path) {
    unsigned char *buf;
    size_t n;
    if (file_read_all(path, 1 << 24, &buf, &n)) return NULL;
    char *s = realloc(buf, n + 1);
    s[n] = 0;
    return s;
}

static int rows_logged;
static void count_rows(void *ctx, int i, int n, const ablate_result *r, int finished) { rows_logged += finished; }

static int run_table(int table, const char *data, const char *frft, const char *out, int resume, ablate_result *res,
                     int *n, int *failed) {
    ablate_options o;
    memset(&o, 0, sizeof o);
    tiny(&o.train);
    o.table = table;
    o.cache_dir = data;
    o.frft_cache_dir = frft;
    o.out_dir = out;
    o.resume = resume;
    o.on_row = count_rows;
    rows_logged = 0;
    return ablate_run(&o, res, n, failed);
}

/* Table III on an audio-only cache: the audio row runs, the others are "not run" with the reason. */
static void test_table3_missing_video(void) {
    char out[600], path[700];
    snprintf(out, sizeof out, "%s/t3", test_tmpdir());
    ablate_result res[ABLATE_MAX_ROWS];
    int n, failed;
    CHECK(run_table(3, dir_mfcc_a, NULL, out, 0, res, &n, &failed) == 0, "ablate: %s", avemo_last_error());
    CHECK(n == 3 && failed == 0 && rows_logged == 3, "rows %d failed %d logged %d", n, failed, rows_logged);
    CHECK(res[0].status == ABLATE_DONE && isfinite(res[0].top1) && res[0].n_folds == 1, "audio row: %s", res[0].reason);
    CHECK(res[1].status == ABLATE_NOT_RUN && strstr(res[1].reason, "no video features"), "video row: %s", res[1].reason);
    CHECK(res[2].status == ABLATE_NOT_RUN, "av row");
    snprintf(path, sizeof path, "%s/table3.md", out);
    char *md = slurp(path);
    CHECK(md != NULL, "no %s", path);
    if (md) {
        CHECK(strstr(md, "Table III") && strstr(md, "Audio only (MFCC)") && strstr(md, "Audio-visual"), "rows:\n%s", md);
        CHECK(strstr(md, "62.50") && strstr(md, "79.79") && strstr(md, "90.62"), "paper numbers:\n%s", md);
        CHECK(strstr(md, "not run: cache has no video features") && strstr(md, "actors:1/2"), "not run / protocol:\n%s", md);
        free(md);
    }
    snprintf(path, sizeof path, "%s/table3.json", out);
    char *js = slurp(path);
    cJSON *j = js ? cJSON_Parse(js) : NULL;
    const cJSON *rows = cJSON_GetObjectItem(j, "rows");
    CHECK(cJSON_GetArraySize(rows) == 3, "json rows");
    const cJSON *r0 = cJSON_GetArrayItem(rows, 0), *r1 = cJSON_GetArrayItem(rows, 1);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r0, "status")), "done") &&
              fabs(cJSON_GetObjectItem(r0, "top1_mean")->valuedouble - 100 * res[0].top1) < 1e-9 &&
              cJSON_GetObjectItem(r0, "paper")->valuedouble == 62.5,
          "json audio row");
    CHECK(r1 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r1, "status")), "not run") &&
              cJSON_IsNull(cJSON_GetObjectItem(r1, "top1_mean")),
          "json video row");
    cJSON_Delete(j);
    free(js);
    /* the row's own run folder is a normal train run */
    snprintf(path, sizeof path, "%s/audio/report.json", out);
    struct stat st;
    CHECK(stat(path, &st) == 0, "missing %s", path);
    /* a second run into the same folder needs --resume */
    CHECK(run_table(3, dir_mfcc_a, NULL, out, 0, res, &n, &failed) == AVEMO_EINVAL, "rerun without resume accepted");
}

/* Table V with an MFCC audio-visual cache and an audio-only FRFT cache: every row runs, the FRFT rows on
 * the joined cache; a resumed call re-reads the same numbers without training. */
static void test_table5_join_and_resume(void) {
    char out[600], path[700];
    snprintf(out, sizeof out, "%s/t5", test_tmpdir());
    ablate_result res[ABLATE_MAX_ROWS], res2[ABLATE_MAX_ROWS];
    int n, failed;
    CHECK(run_table(5, dir_mfcc_av, dir_frft_a, out, 0, res, &n, &failed) == 0, "ablate: %s", avemo_last_error());
    CHECK(n == 5 && failed == 0, "rows %d failed %d", n, failed);
    for (int i = 0; i < n; i++)
        CHECK(res[i].status == ABLATE_DONE && isfinite(res[i].top1), "row %s: %s", res[i].spec->key, res[i].reason);
    CHECK(strstr(res[0].settings, "--fusion intermediate") && strstr(res[0].settings, "baseline"), "row 1: %s",
          res[0].settings);
    CHECK(strstr(res[2].settings, "(1 fusion residual block)") && strstr(res[4].settings, "(2 fusion residual blocks)"),
          "rows 3/5: %s | %s", res[2].settings, res[4].settings);
    CHECK(!strcmp(res[1].cache, dir_mfcc_av), "MFCC row reads %s", res[1].cache);
    CHECK(strstr(res[3].cache, "cache_frft_av") && strstr(res[4].cache, "cache_frft_av"), "FRFT row reads %s",
          res[3].cache);
    /* the joined cache: the FRFT audio (different from the MFCC cache's? same synthetic values, but its own
       settings) plus the video features */
    feature_cache c;
    CHECK(cache_open(&c, res[3].cache) == 0, "joined cache: %s", avemo_last_error());
    int done_a, done_v, failed_a;
    cache_count(&c, CACHE_AUDIO, &done_a, &failed_a);
    cache_count(&c, CACHE_FEATS, &done_v, &failed_a);
    CHECK(done_a == N_ACTORS * PER_ACTOR && done_v == N_ACTORS * PER_ACTOR, "joined: audio %d video %d", done_a, done_v);
    CHECK(strstr(c.config_json, "frft-mfcc") && strstr(c.config_json, "joined_from"), "joined config %s", c.config_json);
    cache_free(&c);
    snprintf(path, sizeof path, "%s/table5.md", out);
    char *md = slurp(path);
    CHECK(md != NULL, "no %s", path);
    if (md) {
        const char *want[] = {"80.00", "82.29", "84.37", "87.91", "90.62", "MFCC + intermediate fusion",
                              "FRFT-MFCC + MobileNetV2, feature-level fusion + Conv1D residual blocks",
                              "`mfcc_intermediate`: --modality av --fusion intermediate", "EfficientFace"};
        for (size_t k = 0; k < sizeof want / sizeof *want; k++) CHECK(strstr(md, want[k]), "missing '%s':\n%s", want[k], md);
        CHECK(!strstr(md, "not run"), "a row not run:\n%s", md);
        free(md);
    }
    /* resume: finished rows are re-read (checked against their state), same numbers */
    CHECK(run_table(5, dir_mfcc_av, dir_frft_a, out, 1, res2, &n, &failed) == 0, "resume: %s", avemo_last_error());
    for (int i = 0; i < n; i++)
        CHECK(res2[i].status == ABLATE_DONE && res2[i].resumed && res2[i].top1 == res[i].top1, "resumed row %d", i);
}

/* Without an FRFT cache the FRFT rows are "not run"; table 7 needs a CREMA-D cache. */
static void test_table5_without_frft(void) {
    char out[600];
    snprintf(out, sizeof out, "%s/t5b", test_tmpdir());
    ablate_options o;
    memset(&o, 0, sizeof o);
    tiny(&o.train);
    o.train.epochs = 1;
    o.table = 5;
    o.cache_dir = dir_mfcc_av;
    o.out_dir = out;
    ablate_result res[ABLATE_MAX_ROWS];
    int n, failed;
    CHECK(ablate_run(&o, res, &n, &failed) == 0, "ablate: %s", avemo_last_error());
    CHECK(res[0].status == ABLATE_DONE && res[2].status == ABLATE_DONE, "MFCC rows");
    CHECK(res[3].status == ABLATE_NOT_RUN && res[4].status == ABLATE_NOT_RUN && strstr(res[3].reason, "FRFT"),
          "FRFT rows: %s", res[3].reason);
    o.table = 7;
    snprintf(out, sizeof out, "%s/t7", test_tmpdir());
    CHECK(ablate_run(&o, res, &n, &failed) == AVEMO_EINVAL && strstr(avemo_last_error(), "cremad"),
          "table 7 on RAVDESS: %s", avemo_last_error());
}

/* A cache with the voice recipe's pitch rows (prep's default for audio alone) is refused, naming it and the fix:
 * its rows would not be the paper's. */
static void test_refuses_voice_features(void) {
    char dir[600], out[600];
    snprintf(dir, sizeof dir, "%s/frft_pitch", test_tmpdir());
    snprintf(out, sizeof out, "%s/t5p", test_tmpdir());
    make_cache(dir, "{\"modality\":\"audio\",\"audio\":{\"features\":\"frft-mfcc\",\"pitch\":true}}", WITH_AUDIO,
               T_FRAMES, 0);
    ablate_options o;
    memset(&o, 0, sizeof o);
    tiny(&o.train);
    o.table = 5;
    o.cache_dir = dir_mfcc_av;
    o.frft_cache_dir = dir;
    o.out_dir = out;
    ablate_result res[ABLATE_MAX_ROWS];
    int n, failed;
    CHECK(ablate_run(&o, res, &n, &failed) == AVEMO_EINVAL && strstr(avemo_last_error(), dir) &&
              strstr(avemo_last_error(), "--recipe paper"),
          "pitch cache: %s", avemo_last_error());
}

/* A video model on still images (T = 1), then its visual stream copied into an audio-visual model. */
static void test_video_t1_and_init_visual(void) {
    char run[600], path[700];
    snprintf(run, sizeof run, "%s/img_run", test_tmpdir());
    train_options o;
    tiny(&o);
    o.cache_dir = dir_img;
    o.run_dir = run;
    o.protocol = NULL; /* image folders: the split folders */
    o.epochs = 5;
    o.lr = 3e-2f;           /* tiny widths, 43 training images: a high rate and no dropout learn in 5 epochs */
    o.model.dropout = 0;
    o.model.modality = MODALITY_VIDEO;
    CHECK(train_run(&o) == 0, "train T = 1: %s", avemo_last_error());
    eval_options eo = {0};
    snprintf(path, sizeof path, "%s/model.safetensors", run);
    eo.model_path = path;
    eo.cache_dir = dir_img;
    eval_metrics m;
    CHECK(eval_run(&eo, &m) == 0, "eval: %s", avemo_last_error());
    /* a strong per-class bump in one of 16 dimensions: far above chance (25 %) after 5 epochs (0.8 seen) */
    CHECK(m.n == N_ACTORS * PER_ACTOR && m.top1 > 0.6, "T = 1 video model top-1 %.3f", m.top1);

    /* copy into a fresh audio-visual model: every video.* tensor equals the file's, the others untouched */
    model_file mf;
    CHECK(model_file_load(path, &mf) == 0, "load: %s", avemo_last_error());
    CHECK(mf.m->cfg.video_frames == 1, "T = %d", mf.m->cfg.video_frames);
    model_config cfg = o.model;
    cfg.modality = MODALITY_AV;
    cfg.n_classes = N_CLASSES;
    cfg.audio_channels = C_COEFFS, cfg.audio_frames = F_FRAMES, cfg.video_frames = T_FRAMES, cfg.video_dim = D_VIDEO;
    model *av = NULL, *ref = NULL;
    CHECK(model_create(&av, &cfg, 5) == 0 && model_create(&ref, &cfg, 5) == 0, "create: %s", avemo_last_error());
    int copied = 0, n_video = 0, same_other = 1, equal_video = 1;
    CHECK(model_init_from_file(av, path, MODEL_VISUAL_PREFIX, &copied) == 0, "init: %s", avemo_last_error());
    for (int i = 0; i < model_n_tensors(av); i++) {
        const layout_entry *e = model_tensor(av, i);
        const float *x = model_tensor_data(av, i), *y = model_tensor_data(ref, i);
        if (strncmp(e->name, "video.", 6) == 0) {
            n_video++;
            int k = 0;
            for (; k < model_n_tensors(mf.m) && strcmp(model_tensor(mf.m, k)->name, e->name); k++) {}
            CHECK(k < model_n_tensors(mf.m), "%s not in the file's model", e->name);
            if (k < model_n_tensors(mf.m)) equal_video &= !memcmp(x, model_tensor_data(mf.m, k), e->count * sizeof(float));
            int differs_from_init = memcmp(x, y, e->count * sizeof(float)) != 0;
            /* trained weights differ from a fresh init (BN running means too: they moved off 0) */
            if (e->kind == LT_WEIGHT) CHECK(differs_from_init, "%s still the random init", e->name);
        } else {
            same_other &= !memcmp(x, y, e->count * sizeof(float));
        }
    }
    CHECK(copied == n_video && n_video >= 12, "copied %d of %d video tensors", copied, n_video);
    CHECK(equal_video, "copied tensors differ from the file's");
    CHECK(same_other, "non-visual tensors changed");
    model_free(av);
    model_free(ref);
    model_file_free(&mf);

    /* a model with another feature size is refused with the tensor named */
    cfg.video_dim = 2 * D_VIDEO;
    CHECK(model_create(&av, &cfg, 5) == 0, "create");
    CHECK(model_init_from_file(av, path, MODEL_VISUAL_PREFIX, &copied) == AVEMO_EINVAL &&
              strstr(avemo_last_error(), "video.stage1"),
          "shape mismatch: %s", avemo_last_error());
    model_free(av);

    /* through train_run: an audio-visual run starts from the image model's visual stream */
    char run2[600];
    snprintf(run2, sizeof run2, "%s/av_init", test_tmpdir());
    train_options t;
    tiny(&t);
    t.cache_dir = dir_mfcc_av;
    t.run_dir = run2;
    t.epochs = 1;
    t.model.modality = MODALITY_AV;
    t.init_visual = path;
    CHECK(train_run(&t) == 0, "train --init-visual: %s", avemo_last_error());
    snprintf(path, sizeof path, "%s/report.json", run2);
    char *js = slurp(path);
    CHECK(js && strstr(js, "init_visual"), "report config lacks init_visual");
    free(js);
    /* audio-only with --init-visual is refused */
    snprintf(run2, sizeof run2, "%s/a_init", test_tmpdir());
    t.run_dir = run2;
    t.model.modality = MODALITY_AUDIO;
    CHECK(train_run(&t) == AVEMO_EINVAL, "audio model with --init-visual accepted");
}

/* The CLI: usage, bad table, one line per row on stderr. */
static void test_cli(void) {
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s ablate --help", avemo_bin());
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "--data-frft"), "help: %s", out);
    snprintf(cmd, sizeof cmd, "%s ablate --data %s --table 4 --out %s/x 2>&1", avemo_bin(), dir_mfcc_a, test_tmpdir());
    CHECK(run_cmd(cmd, out, sizeof out) == 2 && strstr(out, "--table"), "bad table: %s", out);
    snprintf(cmd, sizeof cmd,
             "%s ablate --data %s --table 3 --out %s/cli --protocol actors:1/2 --epochs 1 --optimizer adam --lr 1e-3 2>&1",
             avemo_bin(), dir_mfcc_a, test_tmpdir());
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "row 1/3 audio: top-1") && strstr(out, "row 2/3 video: not run: cache has no video"),
          "rc %d: %s", rc, out);
}

int main(void) {
    snprintf(dir_mfcc_a, sizeof dir_mfcc_a, "%s/mfcc_a", test_tmpdir());
    snprintf(dir_mfcc_av, sizeof dir_mfcc_av, "%s/mfcc_av", test_tmpdir());
    snprintf(dir_frft_a, sizeof dir_frft_a, "%s/frft_a", test_tmpdir());
    snprintf(dir_img, sizeof dir_img, "%s/img", test_tmpdir());
    make_cache(dir_mfcc_a, "{\"modality\":\"audio\",\"audio\":{\"features\":\"mfcc\"}}", WITH_AUDIO, T_FRAMES, 0);
    make_cache(dir_mfcc_av, "{\"modality\":\"av\",\"audio\":{\"features\":\"mfcc\"},\"video\":{\"frames\":15}}",
               WITH_AUDIO | WITH_VIDEO, T_FRAMES, 0);
    make_cache(dir_frft_a, "{\"modality\":\"audio\",\"audio\":{\"features\":\"frft-mfcc\",\"frft_orders\":[0.95]}}",
               WITH_AUDIO, T_FRAMES, 0);
    make_cache(dir_img, "{\"modality\":\"video\",\"video\":{\"frames\":1}}", WITH_VIDEO, 1, 1);
    RUN(test_table3_missing_video);
    RUN(test_table5_join_and_resume);
    RUN(test_table5_without_frft);
    RUN(test_refuses_voice_features);
    RUN(test_video_t1_and_init_visual);
    RUN(test_cli);
    plot_cleanup();
    return test_summary();
}
