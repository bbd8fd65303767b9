/* `make install` into a DESTDIR stage, then examples/predict_example.c built against the staged tree with
 * pkg-config only (PKG_CONFIG_PATH at the staged avemo.pc, PKG_CONFIG_SYSROOT_DIR = the stage, as for any
 * DESTDIR tree) and run: it links the static libavemo.a with the flags avemo.pc gives, and prints what the
 * library computes in-process. Under `make test SAN=1` the stage holds the sanitizer build. */
#include "api/predict_fixture.h"

#include <unistd.h>

static char cmd[8192], out[1 << 16];

static int exists(const char *dir, const char *rel) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    struct stat sb;
    return stat(p, &sb) == 0 && sb.st_size > 0;
}

static void test_install_and_example(void) {
    const char *d = test_tmpdir(), *build = getenv("BUILD");
    if (!build || !*build) build = "build";
    int san = strstr(build, "san") != NULL;
    char stage[600], prefix[700], model[700], wav[700], exe[700];
    snprintf(stage, sizeof stage, "%s/stage", d);
    snprintf(prefix, sizeof prefix, "%s/usr/local", stage);
    /* the sanitizer build has no top-level ./avemo: install the one under test */
    snprintf(cmd, sizeof cmd, "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory install DESTDIR='%s' PREFIX=/usr/local BUILD=%s%s%s 2>&1", stage,
             build, san ? " SAN=1 BIN=" : "", san ? avemo_bin() : "");
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "make install: %s", out);
    CHECK(exists(prefix, "bin/avemo") && exists(prefix, "lib/libavemo.a") && exists(prefix, "include/avemo.h") &&
              exists(prefix, "lib/pkgconfig/avemo.pc"),
          "installed files missing under %s", prefix);
    snprintf(exe, sizeof exe, "%s/predict_example", d);
    snprintf(cmd, sizeof cmd,
             "export PKG_CONFIG_PATH='%s/lib/pkgconfig' PKG_CONFIG_SYSROOT_DIR='%s'; "
             "cc -std=c11 -Wall -Wextra -Werror %s examples/predict_example.c $(pkg-config --cflags --libs avemo) -o '%s' 2>&1",
             prefix, stage, san ? "-fsanitize=address,undefined" : "", exe);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "build the example with pkg-config: %s", out);
    /* it must have used the staged header, not the source tree's */
    snprintf(cmd, sizeof cmd, "PKG_CONFIG_PATH='%s/lib/pkgconfig' PKG_CONFIG_SYSROOT_DIR='%s' pkg-config --cflags avemo",
             prefix, stage);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, prefix), "cflags: %s", out);

    snprintf(model, sizeof model, "%s/m.safetensors", d);
    snprintf(wav, sizeof wav, "%s/tone.wav", d);
    CHECK(fix_random_audio_model(model) == 0 && fix_tone_wav(wav, 1, 3.6, 7) == 0, "fixtures: %s", avemo_last_error());
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' /nonexistent.wav 2>&1", exe, model, wav);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2, "a missing file must give exit 2 (got %d): %s", rc, out);
    CHECK(strstr(out, "/nonexistent.wav: no such file"), "error line: %s", out);
    avemo_model *m;
    avemo_result r;
    CHECK(avemo_model_open(model, &m) == 0 && avemo_predict_file(m, wav, &r) == 0, "in-process: %s", avemo_last_error());
    char want[1024];
    snprintf(want, sizeof want, "%s\t%s\t%.9g\t", wav, avemo_class_name(m, r.top_class), r.probs[r.top_class]);
    CHECK(strstr(out, want), "example output '%s' lacks '%s'", out, want);
    avemo_model_close(m);
}

int main(void) {
    RUN(test_install_and_example);
    return test_summary();
}
