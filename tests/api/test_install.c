/* `make install` into a DESTDIR stage, then programs built against the staged tree with pkg-config only
 * (PKG_CONFIG_PATH at the staged avemo.pc, PKG_CONFIG_SYSROOT_DIR = the stage, as for any DESTDIR tree) and
 * run, each printing what the library computes in-process:
 *   - examples/predict_example.c with the flags avemo.pc gives (the linker picks libavemo.so), and again with
 *     the static libavemo.a in place of -lavemo;
 *   - tests/api/clash_example.c, which defines its own model_create and rng_seed, against libavemo.a and
 *     libavemo.so: it must link without a clash, and the library must not call the program's functions.
 * Under `make test SAN=1` the stage holds the sanitizer build. */
#include "api/predict_fixture.h"

#include <unistd.h>

static char cmd[8192], out[1 << 16];

static int exists(const char *dir, const char *rel) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    struct stat sb;
    return stat(p, &sb) == 0 && sb.st_size > 0;
}

static char stage[600], prefix[700], model_path[700], wav[700], want[1024];
static int san;

/* Build `src` against the stage into `exe` with avemo.pc's flags; static: libavemo.a instead of -lavemo. */
static int build_against_stage(const char *src, const char *exe, int static_lib) {
    snprintf(cmd, sizeof cmd,
             "export PKG_CONFIG_PATH='%s/lib/pkgconfig' PKG_CONFIG_SYSROOT_DIR='%s'; "
             "cc -std=c11 -Wall -Wextra -Werror %s %s $(pkg-config --cflags avemo) "
             "$(pkg-config --libs avemo | sed 's/-lavemo\\b/%s/') -o '%s' 2>&1",
             prefix, stage, san ? "-fsanitize=address,undefined" : "", src, static_lib ? "-l:libavemo.a" : "-lavemo",
             exe);
    return run_cmd(cmd, out, sizeof out);
}

/* Run `exe` on the model, the tone and the `extra` arguments; it loads the staged libavemo.so, if any. */
static int run_staged(const char *exe, const char *extra) {
    snprintf(cmd, sizeof cmd, "LD_LIBRARY_PATH='%s/lib' '%s' '%s' '%s' %s 2>&1", prefix, exe, model_path, wav, extra);
    return run_cmd(cmd, out, sizeof out);
}

/* 1 when `exe` loads libavemo.so (a NEEDED entry), 0 when it has the library linked in. */
static int needs_shared_avemo(const char *exe) {
    snprintf(cmd, sizeof cmd, "readelf -d '%s' 2>&1", exe);
    return run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "[libavemo.so.") != NULL;
}

static void test_install(void) {
    const char *d = test_tmpdir(), *build = getenv("BUILD");
    if (!build || !*build) build = "build";
    san = strstr(build, "san") != NULL;
    snprintf(stage, sizeof stage, "%s/stage", d);
    snprintf(prefix, sizeof prefix, "%s/usr/local", stage);
    /* the sanitizer build has no top-level ./avemo: install the one under test */
    snprintf(cmd, sizeof cmd, "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory install DESTDIR='%s' PREFIX=/usr/local BUILD=%s%s%s 2>&1", stage,
             build, san ? " SAN=1 BIN=" : "", san ? avemo_bin() : "");
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "make install: %s", out);
    CHECK(exists(prefix, "bin/avemo") && exists(prefix, "lib/libavemo.a") && exists(prefix, "lib/libavemo.so") &&
              exists(prefix, "lib/libavemo.so.0") && exists(prefix, "include/avemo.h") &&
              exists(prefix, "lib/pkgconfig/avemo.pc"),
          "installed files missing under %s", prefix);
    /* programs must use the staged header, not the source tree's */
    snprintf(cmd, sizeof cmd, "PKG_CONFIG_PATH='%s/lib/pkgconfig' PKG_CONFIG_SYSROOT_DIR='%s' pkg-config --cflags avemo",
             prefix, stage);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, prefix), "cflags: %s", out);

    /* what the programs must print: the library's answer in this process */
    snprintf(model_path, sizeof model_path, "%s/m.safetensors", d);
    snprintf(wav, sizeof wav, "%s/tone.wav", d);
    CHECK(fix_random_audio_model(model_path) == 0 && fix_tone_wav(wav, 1, 3.6, 7) == 0, "fixtures: %s", avemo_last_error());
    avemo_model *m;
    avemo_result r;
    CHECK(avemo_model_open(model_path, &m) == 0 && avemo_predict_file(m, wav, &r) == 0, "in-process: %s", avemo_last_error());
    snprintf(want, sizeof want, "%s\t%s\t%.9g\t", wav, avemo_class_name(m, r.top_class), r.probs[r.top_class]);
    avemo_model_close(m);
}

static void test_example(void) {
    for (int static_lib = 0; static_lib < 2; static_lib++) {
        char exe[700];
        snprintf(exe, sizeof exe, "%s/predict_example_%s", test_tmpdir(), static_lib ? "static" : "shared");
        CHECK(build_against_stage("examples/predict_example.c", exe, static_lib) == 0,
              "build the example with pkg-config (%s): %s", static_lib ? "libavemo.a" : "libavemo.so", out);
        CHECK(needs_shared_avemo(exe) == !static_lib, "%s: libavemo.so %s: %s", exe,
              static_lib ? "loaded by the static build" : "not loaded by the shared build", out);
        int rc = run_staged(exe, "/nonexistent.wav");
        CHECK(rc == 2, "%s: a missing file must give exit 2 (got %d): %s", exe, rc, out);
        CHECK(strstr(out, "/nonexistent.wav: no such file"), "%s: error line: %s", exe, out);
        CHECK(strstr(out, want), "%s: output '%s' lacks '%s'", exe, out, want);
    }
}

/* A program with its own model_create and rng_seed links against either library and runs unharmed. */
static void test_no_symbol_clash(void) {
    for (int static_lib = 0; static_lib < 2; static_lib++) {
        char exe[700];
        snprintf(exe, sizeof exe, "%s/clash_example_%s", test_tmpdir(), static_lib ? "static" : "shared");
        CHECK(build_against_stage("tests/api/clash_example.c", exe, static_lib) == 0,
              "a program defining model_create and rng_seed must link against %s: %s",
              static_lib ? "libavemo.a" : "libavemo.so", out);
        CHECK(needs_shared_avemo(exe) == !static_lib, "%s: wrong link: %s", exe, out);
        int rc = run_staged(exe, "");
        CHECK(rc == 0, "%s: exit %d: %s", exe, rc, out);
        CHECK(strstr(out, want) && strstr(out, "own calls 0\n"), "%s: output '%s' lacks '%s...own calls 0'", exe,
              out, want);
    }
}

int main(void) {
    RUN(test_install);
    RUN(test_example);
    RUN(test_no_symbol_clash);
    return test_summary();
}
