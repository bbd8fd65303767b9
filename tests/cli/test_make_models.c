/* scripts/make_models.sh (make models) in its TINY=1 version on a small copy of ../shared (symlinks: 16 RAVDESS
 * clips of actors 1-2, 10 FER2013 images per class (holdout:1 needs 10), the MobileNetV2 weights): it runs every step of the recipe,
 * and the files it writes record the same settings as the bundled models of models/ (tools/model_recipe.py:
 * the train reports against models/recipe.json and the model files' metadata against models/{voice,face}.safetensors),
 * except the fields TINY shrinks (epochs, statistics images, the epoch kept, BN batch counts). */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char out[1 << 16];

/* snprintf that fails the test on truncation */
#define FMT(buf, ...) CHECK(snprintf(buf, sizeof buf, __VA_ARGS__) < (int)sizeof buf, "command too long")

static void test_tiny_retrain(void) {
    const char *speech = shared_path("data/ravdess-speech"), *fer = shared_path("data/fer2013/train");
    const char *mnv2 = shared_path("weights/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite");
    if (!speech || !fer || !mnv2) return;
    char real_speech[4096], real_fer[4096], real_mnv2[4096], cmd[16384];
    CHECK(realpath(speech, real_speech) && realpath(fer, real_fer) && realpath(mnv2, real_mnv2), "realpath");
    const char *d = test_tmpdir();
    FMT(cmd,
        "set -e; s='%s/shared'; mkdir -p \"$s/data/fer2013/train\" \"$s/weights/mobilenet_v2\"; "
        "ln -s '%s' \"$s/weights/mobilenet_v2/\"; "
        "for a in 01 02; do mkdir -p \"$s/data/ravdess-speech/Actor_$a\"; "
        "  for f in $(ls '%s'/Actor_$a/*.flac | head -8); do ln -s \"$f\" \"$s/data/ravdess-speech/Actor_$a/\"; done; done; "
        "for c in $(ls '%s'); do mkdir -p \"$s/data/fer2013/train/$c\"; "
        "  for f in $(ls '%s'/$c/*.jpg | head -10); do ln -s \"$f\" \"$s/data/fer2013/train/$c/\"; done; done",
        d, real_mnv2, real_speech, real_fer, real_fer);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "small shared tree: %s", out);
    FMT(cmd, "OMP_NUM_THREADS=1 TINY=1 AVEMO='%s' SHARED='%s/shared' WORK='%s/work' DEST='%s/models' "
        "scripts/make_models.sh", avemo_bin(), d, d, d);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "make_models: voice: ") && strstr(out, "make_models: face stage 2 in "),
          "make_models.sh TINY=1: rc %d: %s", rc, out);
    if (rc) return;
    FMT(cmd, "/usr/bin/python3 tools/model_recipe.py check '%s/work' '%s/models' --shrunk", d, d);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "the retrained models' settings differ from the bundled ones: %s", out);
    /* the check sees a change: the full comparison finds the shrunk epoch counts */
    FMT(cmd, "/usr/bin/python3 tools/model_recipe.py check '%s/work' '%s/models'", d, d);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "epochs"), "the unshrunk comparison should find the epochs: rc %d: %s", rc, out);
}

int main(void) {
    test_run(test_tiny_retrain, "make_models.sh TINY=1 records the bundled models' settings");
    return test_summary();
}
