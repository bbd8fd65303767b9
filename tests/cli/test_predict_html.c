/* avemo predict --html (src/cli/predict_html.c) in a real browser: Debian's chromium, headless, loads the page
 * made for the two-person clip (tests/cli/people_fixture.h) opened at #t=2.5 and dumps the DOM after its scripts
 * ran: no console message (an error would be one), the chart drawn (data-ready: 2 people x 7 classes curves),
 * the video decoded and sought to 2.5 s (data-time), the two face boxes drawn over it (data-boxes), each panel's
 * cursor at x(2.5 s); the same with the bundled models on a clip with speech (the voice panel and each person's fused
 * panel). The page itself is checked to be self-contained: the video embedded as a data: URI, no
 * external script, style, font or image. A missing chromium fails the test (scripts/install-deps.sh installs it). */
#include "cli/people_fixture.h"

#include <stdlib.h>

static char clip[700], face_model[700], page[700], speech[700], voice_page[700], out[1 << 20];

static long file_text(const char *path, char **text) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    *text = malloc((size_t)n + 1);
    if (!*text || fread(*text, 1, (size_t)n, f) != (size_t)n) n = -1;
    else (*text)[n] = 0;
    fclose(f);
    return n;
}

static void setup(void) {
    const char *d = test_tmpdir();
    char bb[700], cmd[4096];
    snprintf(clip, sizeof clip, "%s/two_people.mp4", d);
    snprintf(bb, sizeof bb, "%s/backbone.safetensors", d);
    snprintf(face_model, sizeof face_model, "%s/face.safetensors", d);
    snprintf(page, sizeof page, "%s/report.html", d);
    CHECK(people_clip(clip) == 0, "ffmpeg: the two-person clip");
    CHECK(fix_backbone(bb) == 0 && people_face_model(face_model, bb) == 0, "face model: %s", avemo_last_error());
    snprintf(cmd, sizeof cmd, "%s predict --model '%s' --html '%s' '%s' 2>&1", avemo_bin(), face_model, page, clip);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "predict --html: %s", out);
    snprintf(speech, sizeof speech, "%s/two_people_speech.mp4", d);
    snprintf(voice_page, sizeof voice_page, "%s/voice.html", d);
    CHECK(people_speech_clip(speech) == 0, "ffmpeg: the two-person clip with speech");
    snprintf(cmd, sizeof cmd, "%s predict --sample-fps 2 --html '%s' '%s' 2>&1", avemo_bin(), voice_page, speech);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "predict --html (bundled models): %s", out);
}

/* Headless chromium's DOM of `html` opened at #t=2.5 into out; 0 when it ran without a console message. */
static int chromium_dom(const char *html) {
    char cmd[8192], errf[700], *err = NULL;
    snprintf(errf, sizeof errf, "%s/chromium.log", test_tmpdir());
    /* no D-Bus in CI containers: DBUS_SESSION_BUS_ADDRESS=disabled: avoids chromium's retries */
    snprintf(cmd, sizeof cmd,
             "HOME='%s' DBUS_SESSION_BUS_ADDRESS=disabled: timeout 120 chromium --headless --no-sandbox --disable-gpu "
             "--disable-extensions --no-first-run --disable-dev-shm-usage --user-data-dir='%s/chromium-profile' "
             "--enable-logging=stderr --v=0 --virtual-time-budget=3000 --dump-dom 'file://%s#t=2.5' 2>'%s'",
             test_tmpdir(), test_tmpdir(), html, errf);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "chromium exit %d", rc);
    CHECK(file_text(errf, &err) >= 0, "chromium's log");
    const char *console = err ? strstr(err, ":CONSOLE") : NULL;
    CHECK(!console, "console message: %.300s", console);
    free(err);
    return rc || console ? -1 : 0;
}

static void test_self_contained(void) {
    char *html = NULL;
    long n = file_text(page, &html);
    CHECK(n > 0, "%s: not written", page);
    if (n <= 0) return;
    CHECK(strstr(html, "src=\"data:video/mp4;base64,") != NULL, "video embedded as a data: URI");
    CHECK(!strstr(html, "<link") && !strstr(html, "src=\"http") && !strstr(html, "url(") && !strstr(html, "@import") &&
              !strstr(html, "<img"),
          "no external resource");
    CHECK(strstr(html, "\"faces\":[[") && strstr(html, "\"people\":[{"), "inline data");
    free(html);
}

static void test_chromium(void) {
    CHECK(run_cmd("command -v chromium", out, sizeof out) == 0,
          "chromium is not installed: the --html page test needs Debian's chromium (scripts/install-deps.sh)");
    chromium_dom(page);
    CHECK(strstr(out, "data-ready=\"14\"") != NULL, "chart: 2 people x 7 classes curves: %.300s", strstr(out, "<body"));
    CHECK(strstr(out, "data-time=\"2.50\"") != NULL, "video sought to 2.5 s: %.300s", strstr(out, "<body"));
    CHECK(strstr(out, "data-boxes=\"2\"") != NULL, "two face boxes over the video: %.300s", strstr(out, "<body"));
    /* the cursor at x(2.5 s) = 60 + 890 * 2.5 / 4 = 616.25 in both panels */
    int cursors = 0;
    for (const char *p = out; (p = strstr(p, "<line x1=\"616.25\"")); p++) cursors++;
    CHECK(cursors == 2, "%d cursors at 2.5 s", cursors);
}

/* The bundled models on a clip with speech: five panels (2 faces, the recording's voice, 2 faces fused with it),
 * 7 common classes each; the voice panel named as the recording's, not a person's. */
static void test_chromium_voice(void) {
    chromium_dom(voice_page);
    CHECK(strstr(out, "data-ready=\"35\"") != NULL, "chart: 5 panels x 7 classes curves: %.300s", strstr(out, "<body"));
    CHECK(strstr(out, ">voice (the recording's, not a person's)<") && strstr(out, ">person 2: face + voice<"),
          "panel names: %.300s", strstr(out, "<svg"));
    int cursors = 0;
    for (const char *p = out; (p = strstr(p, "<line x1=\"616.25\"")); p++) cursors++;
    CHECK(cursors == 5, "%d cursors at 2.5 s", cursors);
}

int main(void) {
    setup();
    RUN(test_self_contained);
    RUN(test_chromium);
    RUN(test_chromium_voice);
    return test_summary();
}
