/* The training loop end to end on a small synthetic cache: it learns a separable problem, writes its
 * reports, and a run interrupted after an epoch and resumed ends bit-identical to an uninterrupted one. */
#include "test.h"

#include "avemo.h"
#include "core/fileio.h"
#include "data/cache.h"
#include "model/model_file.h"
#include "train/trainer.h"
#include "synth_cache.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PER_ACTOR 24

static void options(train_options *o, const char *cache, const char *run) {
    train_options_default(o);
    o->cache_dir = cache;
    o->run_dir = run;
    o->protocol = "actors:1/2";
    o->epochs = 4;
    o->batch = 8;
    o->optimizer = OPT_ADAM;
    o->lr = 3e-3f;
    o->schedule = SCHED_CONSTANT;
    o->quiet = 1;
    o->model.modality = MODALITY_AUDIO;
    o->model.audio_ch = 16;
}

static char cache_dir[512];

static void test_learns_and_reports(void) {
    char run[600], path[700];
    snprintf(run, sizeof run, "%s/run_a", test_tmpdir());
    train_options o;
    options(&o, cache_dir, run);
    CHECK(train_run(&o) == 0, "train: %s", avemo_last_error());
    const char *files[] = {"report.json", "report.md", "confusion.png", "model.safetensors", "fold_1/learning_curves.png",
                           "fold_1/confusion.png", "fold_1/state.safetensors"};
    struct stat st;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", run, files[i]);
        CHECK(stat(path, &st) == 0 && st.st_size > 0, "missing %s", path);
    }
    eval_options eo = {0};
    snprintf(path, sizeof path, "%s/model.safetensors", run);
    eo.model_path = path;
    eo.cache_dir = cache_dir;
    int test_actor = 1;
    eo.actors = &test_actor;
    eo.n_actors = 1;
    eval_metrics m;
    CHECK(eval_run(&eo, &m) == 0, "eval: %s", avemo_last_error());
    /* 4 classes (chance 25 %), a strong signal: a working loop is far above chance after 4 epochs */
    CHECK(m.n == PER_ACTOR && m.top1 > 0.6, "test top-1 %.3f on %d samples", m.top1, m.n);
    /* the same model run twice from scratch with the same seed gives the same file */
    char run2[600], p2[700];
    snprintf(run2, sizeof run2, "%s/run_a2", test_tmpdir());
    options(&o, cache_dir, run2);
    CHECK(train_run(&o) == 0, "train again: %s", avemo_last_error());
    snprintf(p2, sizeof p2, "%s/model.safetensors", run2);
    CHECK(test_same_file(path, p2), "two runs with one seed differ");
}

static void test_resume_identical(void) {
    char run[600], a[700], b[700];
    snprintf(run, sizeof run, "%s/run_b", test_tmpdir());
    train_options o;
    options(&o, cache_dir, run);
    o.stop_after_epochs = 2;
    CHECK(train_run(&o) == AVEMO_EINTERNAL, "stop after 2 epochs");
    o.stop_after_epochs = 0;
    CHECK(train_run(&o) == AVEMO_EINVAL, "rerun without --resume must refuse to overwrite");
    o.resume = 1;
    CHECK(train_run(&o) == 0, "resume: %s", avemo_last_error());
    snprintf(a, sizeof a, "%s/run_a/model.safetensors", test_tmpdir());
    snprintf(b, sizeof b, "%s/model.safetensors", run);
    CHECK(test_same_file(a, b), "resumed run differs from the uninterrupted one");
    snprintf(a, sizeof a, "%s/run_a/report.json", test_tmpdir());
    snprintf(b, sizeof b, "%s/report.json", run);
    CHECK(test_same_file(a, b), "resumed report differs");
    /* other options on resume are refused */
    o.lr = 1e-2f;
    CHECK(train_run(&o) == AVEMO_EINVAL, "resume with another lr accepted");
}

/* Issue 13's options together on the synthetic cache: a 2-member ensemble, refit on train + validation, per-speaker
 * statistics, augmentations, mixup, one-cycle AdamW. The model file holds both members and the speaker_norm flag;
 * the report counts the clips behind each actor's statistics; eval reads the file both ways. */
static void test_ensemble_refit_speaker_norm(void) {
    char run[600], path[700];
    snprintf(run, sizeof run, "%s/run_voice", test_tmpdir());
    train_options o;
    options(&o, cache_dir, run);
    o.optimizer = OPT_ADAMW, o.schedule = SCHED_ONECYCLE, o.weight_decay = 1e-2f, o.epochs = 3;
    o.ensemble = 2, o.refit = 1, o.speaker_norm = 1;
    o.augment = (audio_augment){.time_shift = 2, .time_mask = 4, .freq_mask = 2, .noise = 0.05f, .speed = 0.1f,
                                .mixup = 0.4f};
    CHECK(train_run(&o) == 0, "train: %s", avemo_last_error());
    const char *files[] = {"fold_1/state_m2.safetensors", "fold_1/state_refit.safetensors",
                           "fold_1/state_refit_m2.safetensors", "fold_1/learning_curves_m2.png"};
    struct stat st;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", run, files[i]);
        CHECK(stat(path, &st) == 0, "missing %s", path);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", run);
    model_file mf;
    CHECK(model_file_load(path, &mf) == 0, "load: %s", avemo_last_error());
    CHECK(mf.n_members == 2 && mf.speaker_norm == 1, "members %d speaker_norm %d", mf.n_members, mf.speaker_norm);
    CHECK(mf.selected && strstr(mf.selected, "refit"), "selected: %s", mf.selected ? mf.selected : "(none)");
    model_file_free(&mf);
    unsigned char *report;
    size_t n;
    snprintf(path, sizeof path, "%s/report.json", run);
    CHECK(file_read_all(path, 1 << 24, &report, &n) == 0, "report");
    cJSON *j = cJSON_ParseWithLength((const char *)report, n);
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
    const cJSON *fold = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "folds"), 0);
    const cJSON *clips = cJSON_GetObjectItemCaseSensitive(fold, "speaker_stats_clips");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cfg, "ensemble")) == 2 &&
              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "refit")) &&
              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "speaker_norm")),
          "report's config lacks the options");
    CHECK(cJSON_GetArraySize(clips) == SYNTH_ACTORS &&
              cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(clips, "2")) == PER_ACTOR,
          "speaker statistics' clips per actor");
    cJSON_Delete(j);
    free(report);
    eval_options eo = {0};
    snprintf(path, sizeof path, "%s/model.safetensors", run);
    eo.model_path = path, eo.cache_dir = cache_dir;
    eval_metrics with, without;
    eo.speaker_norm = 1;
    CHECK(eval_run(&eo, &with) == 0 && with.n == SYNTH_ACTORS * PER_ACTOR, "eval per speaker: %s", avemo_last_error());
    eo.speaker_norm = 0;
    CHECK(eval_run(&eo, &without) == 0, "eval with the fallback: %s", avemo_last_error());
    /* refit without validation actors is refused */
    options(&o, cache_dir, run);
    o.protocol = "actors:1", o.refit = 1;
    CHECK(train_run(&o) == AVEMO_EINVAL && strstr(avemo_last_error(), "validation"), "refit without validation: %s",
          avemo_last_error());
}

static void test_bad_inputs(void) {
    train_options o;
    char run[600];
    snprintf(run, sizeof run, "%s/run_c", test_tmpdir());
    options(&o, "/nonexistent/cache", run);
    CHECK(train_run(&o) != 0 && strstr(avemo_last_error(), "/nonexistent/cache"), "error names the cache: %s",
          avemo_last_error());
    options(&o, cache_dir, run);
    o.protocol = "kfold:x";
    CHECK(train_run(&o) == AVEMO_EINVAL, "bad protocol accepted");
    options(&o, cache_dir, run);
    o.model.modality = MODALITY_VIDEO; /* the cache has no video features */
    CHECK(train_run(&o) != 0, "video model on an audio-only cache accepted");
}

int main(void) {
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", test_tmpdir());
    /* class c: a +2 bump on coefficient c, plus noise */
    CHECK(synth_audio_cache(cache_dir, PER_ACTOR, 2.0f) == 0, "cache: %s", avemo_last_error());
    RUN(test_learns_and_reports);
    RUN(test_resume_identical);
    RUN(test_ensemble_refit_speaker_norm);
    RUN(test_bad_inputs);
    return test_summary();
}
