/* The training recipes (src/train/recipe.c) and how `avemo train` applies them: the modality's default (voice for
 * audio only, paper otherwise), --recipe, and explicit options over the preset. */
#include "test.h"

#include "avemo.h"
#include "core/fileio.h"
#include "synth_cache.h"
#include "train/recipe.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void test_presets(void) {
    train_options o, paper;
    train_options_default(&paper);
    train_options_default(&o);
    o.cache_dir = "c", o.run_dir = "r", o.model.modality = MODALITY_AUDIO, o.epochs = 3, o.ensemble = 5;
    CHECK(train_recipe_apply(&o, "voice") == 0, "%s", avemo_last_error());
    CHECK(o.optimizer == OPT_ADAMW && o.schedule == SCHED_ONECYCLE && o.model.audio_stream == AUDIO_STREAM_BASELINE &&
              o.model.baseline_pool_stride == 2 && o.batch == 32 && o.ensemble == 3 && !strcmp(o.recipe, "voice"),
          "voice preset");
    CHECK(!strcmp(o.cache_dir, "c") && !strcmp(o.run_dir, "r") && o.model.modality == MODALITY_AUDIO,
          "the run's own fields kept");
    CHECK(train_recipe_apply(&o, "paper") == 0 && o.optimizer == OPT_SGD && o.lr == paper.lr && o.epochs == 100 &&
              o.batch == 8 && o.ensemble == paper.ensemble && o.model.baseline_pool_stride == 1 &&
              o.model.audio_stream == AUDIO_STREAM_PAPER && o.model.dropout == paper.model.dropout,
          "paper preset is spec 5's defaults");
    CHECK(train_recipe_apply(&o, "fast") == AVEMO_EINVAL && strstr(avemo_last_error(), "paper, voice"), "unknown: %s",
          avemo_last_error());
    CHECK(!strcmp(train_recipe_default(MODALITY_AUDIO), "voice") && !strcmp(train_recipe_default(MODALITY_AV), "paper"),
          "defaults per modality");
}

/* The report's config of `avemo train ARGS` on the synthetic cache (1 epoch), or NULL. */
static cJSON *train_config(const char *cache, const char *name, const char *args) {
    char cmd[2048], out[4096], path[700];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "%s train --data %s --out %s --protocol actors:1/2 --epochs 1 --quiet %s 2>&1", avemo_bin(),
             cache, path, args);
    int st = run_cmd(cmd, out, sizeof out);
    CHECK(st == 0, "%s: exit %d: %s", cmd, st, out);
    if (st) return NULL;
    strcat(path, "/report.json");
    unsigned char *buf;
    size_t n;
    if (file_read_all(path, 1 << 24, &buf, &n)) return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)buf, n);
    free(buf);
    cJSON *cfg = cJSON_DetachItemFromObject(j, "config");
    cJSON_Delete(j);
    return cfg;
}

static const char *str(const cJSON *o, const char *key) { return cJSON_GetStringValue(cJSON_GetObjectItem(o, key)); }
static const char *model_str(const cJSON *o, const char *key) { return str(cJSON_GetObjectItem(o, "model"), key); }

static void test_cli(void) {
    char cache[600], out[2048], cmd[1024];
    snprintf(cache, sizeof cache, "%s/cache", test_tmpdir());
    CHECK(synth_audio_cache(cache, 8, 2.0f) == 0, "cache: %s", avemo_last_error());
    /* audio only: the voice recipe by default; --audio-stream paper overrides its stream (32 frames are too few for
     * the baseline stream) */
    cJSON *c = train_config(cache, "r1", "--modality audio --audio-stream paper");
    CHECK(c && !strcmp(str(c, "recipe"), "voice") && !strcmp(str(c, "optimizer"), "adamw") &&
              !strcmp(str(c, "schedule"), "onecycle") && !strcmp(model_str(c, "audio_stream"), "paper") &&
              cJSON_GetNumberValue(cJSON_GetObjectItem(c, "ensemble")) == 3,
          "default audio recipe");
    cJSON_Delete(c);
    /* --recipe paper; an option given explicitly wins over the preset whatever its place */
    c = train_config(cache, "r2", "--batch 4 --modality audio --recipe paper");
    CHECK(c && !cJSON_GetObjectItem(c, "recipe") && !strcmp(str(c, "optimizer"), "sgd") &&
              cJSON_GetNumberValue(cJSON_GetObjectItem(c, "batch")) == 4,
          "paper recipe with --batch 4");
    cJSON_Delete(c);
    c = train_config(cache, "r3", "--modality audio --audio-stream paper --optimizer sgd --recipe voice");
    CHECK(c && !strcmp(str(c, "optimizer"), "sgd") && !strcmp(str(c, "schedule"), "onecycle"), "voice with sgd");
    cJSON_Delete(c);
    snprintf(cmd, sizeof cmd, "%s train --data %s --out %s/r4 --recipe fast 2>&1", avemo_bin(), cache, test_tmpdir());
    CHECK(run_cmd(cmd, out, sizeof out) == 2 && strstr(out, "unknown recipe 'fast'"), "bad recipe: %s", out);
}

/* n_train of the first fold in RUN/report.json, or -1 */
static int fold1_n_train(const char *name) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s/report.json", test_tmpdir(), name);
    unsigned char *buf;
    size_t n;
    if (file_read_all(path, 1 << 24, &buf, &n)) return -1;
    cJSON *j = cJSON_ParseWithLength((const char *)buf, n);
    free(buf);
    cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "folds"), 0);
    int k = cJSON_IsNumber(cJSON_GetObjectItem(f, "n_train")) ? cJSON_GetObjectItem(f, "n_train")->valueint : -1;
    cJSON_Delete(j);
    return k;
}

/* --train-extra: copies of the same clips join each fold's training set (training actors only); the caches are
 * checked to hold the same samples, recorded in the config, and refused with the options they do not combine with */
static void test_train_extra(void) {
    char cache[600], extra[600], small[600], out[2048], cmd[2048];
    snprintf(cache, sizeof cache, "%s/cache", test_tmpdir());
    snprintf(extra, sizeof extra, "%s/cache_extra", test_tmpdir());
    snprintf(small, sizeof small, "%s/cache_small", test_tmpdir());
    CHECK(synth_audio_cache(extra, 8, 1.0f) == 0 && synth_audio_cache(small, 4, 2.0f) == 0, "caches: %s",
          avemo_last_error());
    char args[1400];
    cJSON *c = train_config(cache, "x0", "--modality audio --audio-stream paper --ensemble 1");
    cJSON_Delete(c);
    snprintf(args, sizeof args, "--modality audio --audio-stream paper --ensemble 1 --train-extra %s,%s", extra, extra);
    c = train_config(cache, "x1", args);
    const cJSON *x = cJSON_GetObjectItem(c, "train_extra");
    CHECK(cJSON_GetArraySize(x) == 2 && !strcmp(str(cJSON_GetArrayItem(x, 0), "cache"), extra) &&
              strlen(str(cJSON_GetArrayItem(x, 1), "data_hash")) == 16,
          "config records the extra caches");
    cJSON_Delete(c);
    /* actors:1/2 trains actors 3 and 4: 16 clips, and 16 more from each extra cache */
    CHECK(fold1_n_train("x0") == 16 && fold1_n_train("x1") == 48, "n_train %d and %d", fold1_n_train("x0"),
          fold1_n_train("x1"));
    snprintf(cmd, sizeof cmd, "%s train --data %s --out %s/x2 --modality audio --train-extra %s 2>&1", avemo_bin(),
             cache, test_tmpdir(), small);
    CHECK(run_cmd(cmd, out, sizeof out) == 2 && strstr(out, "16 samples where") && strstr(out, small),
          "other clips: %s", out);
    snprintf(cmd, sizeof cmd, "%s train --data %s --out %s/x3 --modality audio --speaker-norm --train-extra %s 2>&1",
             avemo_bin(), cache, test_tmpdir(), extra);
    CHECK(run_cmd(cmd, out, sizeof out) == 2 && strstr(out, "without --speaker-norm"), "speaker-norm: %s", out);
    snprintf(cmd, sizeof cmd, "%s train --data %s --out %s/x4 --modality av --train-extra %s 2>&1", avemo_bin(), cache,
             test_tmpdir(), extra);
    CHECK(run_cmd(cmd, out, sizeof out) == 2 && strstr(out, "--train-extra is for --modality audio"), "av: %s", out);
    snprintf(cmd, sizeof cmd, "%s train --data %s --out %s/x5 --train-extra a,b,c,d,e 2>&1", avemo_bin(), cache,
             test_tmpdir());
    CHECK(run_cmd(cmd, out, sizeof out) == 2 && strstr(out, "more than 4 caches"), "five: %s", out);
}

int main(void) {
    RUN(test_presets);
    RUN(test_cli);
    RUN(test_train_extra);
    return test_summary();
}
