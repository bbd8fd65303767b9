/* avemo predict --people (src/cli/predict_people.c, src/api/avemo_timeline.c): a two-person clip made from two
 * real faces gives two tracks that stay on their side (no swap, also when the right face changes half way), one
 * result per person per window in JSON, text and CSV (the documented columns), the recording's window result
 * beside them for an audio-visual model, a PNG timeline, the bundled models (face per person; with speech the bundled
 * voice per window and each person's fused result), and the usage errors. */
#include "cli/people_fixture.h"

#include <cjson/cJSON.h>

static char clip[700], speech[700], face_model[700], av_model[700], audio_model[700], out[1 << 20];

static void setup(void) {
    const char *d = test_tmpdir();
    char bb[700];
    snprintf(clip, sizeof clip, "%s/two_people.mp4", d);
    snprintf(bb, sizeof bb, "%s/backbone.safetensors", d);
    snprintf(face_model, sizeof face_model, "%s/face.safetensors", d);
    snprintf(av_model, sizeof av_model, "%s/av.safetensors", d);
    CHECK(people_clip(clip) == 0, "ffmpeg: the two-person clip");
    snprintf(speech, sizeof speech, "%s/two_people_speech.mp4", d);
    CHECK(people_speech_clip(speech) == 0, "ffmpeg: the two-person clip with speech");
    CHECK(fix_backbone(bb) == 0 && people_face_model(face_model, bb) == 0, "face model: %s", avemo_last_error());
    CHECK(fix_av_model(av_model, bb, 1, FIX_AV_FRAMES, 1) == 0, "AV model: %s", avemo_last_error());
    CHECK(fix_audio_model(d, audio_model, sizeof audio_model) == 0, "audio model: %s", avemo_last_error());
}

static int predict(const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s predict %s 2>&1", avemo_bin(), args);
    return run_cmd(cmd, out, sizeof out);
}

static int count(const char *s, const char *what) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

/* JSON: 2 tracks; every sighting of a track on one side of the middle, the two tracks on different sides;
 * 3 windows (4 s, 2 s every 1 s) with both people, probabilities summing to 1. */
static void test_two_tracks_json(void) {
    char args[4096];
    snprintf(args, sizeof args, "--model '%s' --people --window 2 --hop 1 --format json '%s'", face_model, clip);
    CHECK(predict(args) == 0, "predict --people: %s", out);
    cJSON *doc = cJSON_Parse(out);
    CHECK(doc != NULL, "JSON: %.300s", out);
    if (!doc) return;
    const cJSON *file = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "files"), 0);
    CHECK(cJSON_GetObjectItem(file, "tracks") && cJSON_GetObjectItem(file, "tracks")->valueint == 2, "2 tracks: %.2000s",
          out);
    int side[3] = {0, 0, 0}, swaps = 0, n_faces = 0; /* side[id]: -1 left, +1 right */
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(file, "faces")) {
        int id = cJSON_GetObjectItem(f, "person")->valueint;
        const cJSON *b = cJSON_GetObjectItem(f, "box");
        double cx = (cJSON_GetArrayItem(b, 0)->valuedouble + cJSON_GetArrayItem(b, 2)->valuedouble) / 2;
        int s = cx < PEOPLE_CLIP_W / 2 ? -1 : 1;
        if (id < 1 || id > 2) continue;
        if (!side[id]) side[id] = s;
        swaps += side[id] != s;
        n_faces++;
    }
    CHECK(n_faces >= 2 * 18, "faces seen: %d (20 frames x 2 expected)", n_faces);
    CHECK(swaps == 0 && side[1] && side[2] && side[1] != side[2], "tracks stay on their side: %d swaps, sides %d %d",
          swaps, side[1], side[2]);
    const cJSON *ws = cJSON_GetObjectItem(file, "windows"), *w;
    CHECK(cJSON_GetArraySize(ws) == 3, "%d windows", cJSON_GetArraySize(ws));
    cJSON_ArrayForEach(w, ws) {
        const cJSON *people = cJSON_GetObjectItem(w, "people"), *p;
        CHECK(cJSON_GetArraySize(people) == 2, "2 people per window");
        CHECK(!cJSON_GetObjectItem(w, "recording"), "no recording result for a face model");
        cJSON_ArrayForEach(p, people) {
            double sum = 0;
            const cJSON *q;
            cJSON_ArrayForEach(q, cJSON_GetObjectItem(p, "probs")) sum += q->valuedouble;
            CHECK(fabs(sum - 1) < 1e-3 && cJSON_GetObjectItem(p, "frames")->valueint >= 9 &&
                      cJSON_GetArraySize(cJSON_GetObjectItem(p, "top")) == 3,
                  "person entry: sum %g", sum);
        }
    }
    cJSON_Delete(doc);
}

static void test_text_and_csv(void) {
    char args[4096];
    snprintf(args, sizeof args, "--model '%s' --people --window 2 --hop 1 '%s'", face_model, clip);
    CHECK(predict(args) == 0 && count(out, " person 1 [") == 3 && count(out, " person 2 [") == 3 &&
              count(out, "\n") == 6,
          "text: %s", out);
    snprintf(args, sizeof args, "--model '%s' --people --window 2 --hop 1 --format csv --top 2 '%s'", face_model, clip);
    CHECK(predict(args) == 0 && count(out, "\n") == 7, "csv: %s", out);
    CHECK(!strncmp(out, "file,start_s,end_s,person,x0,y0,x1,y1,frames,emotion,p,top,p_angry,p_disgust,p_fear,p_happy,"
                        "p_neutral,p_sad,p_surprise\n", 100),
          "csv header: %.200s", out);
    const char *row = strchr(out, '\n') + 1;
    const char *eol = strchr(row, '\n');
    int commas = 0;
    for (const char *p = row; p < eol; p++) commas += *p == ',';
    CHECK(commas == 11 + PEOPLE_FACE_CLASSES && strstr(row, ",0.000,2.000,1,"), "csv row: %.*s", (int)(eol - row), row);
    /* --format csv without --people: one row per file, person empty */
    snprintf(args, sizeof args, "--model '%s' --format csv '%s'", audio_model, clip);
    CHECK(predict(args) == 0 && count(out, "\n") == 2 && strstr(out, ",,,,,"), "csv of a file: %s", out);
}

/* An audio-visual model (modality dropout): the recording's window result beside each person's. */
static void test_av_recording(void) {
    char args[4096];
    snprintf(args, sizeof args, "--model '%s' --people --window 2 --hop 1 --format csv '%s'", av_model, clip);
    CHECK(predict(args) == 0 && count(out, ",recording,") == 3 && count(out, "\n") == 1 + 3 + 6, "AV csv: %s", out);
}

static void test_plot(void) {
    char args[4096], png[700];
    snprintf(png, sizeof png, "%s/timeline.png", test_tmpdir());
    snprintf(args, sizeof args, "--model '%s' --plot '%s' --sample-fps 4 '%s'", face_model, png, clip);
    CHECK(predict(args) == 0, "--plot: %s", out);
    FILE *f = fopen(png, "rb");
    unsigned char sig[8] = {0};
    long size = 0;
    if (f) {
        size_t got = fread(sig, 1, 8, f);
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fclose(f);
        CHECK(got == 8, "PNG header");
    }
    CHECK(f && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8) && size > 10000, "PNG written (%ld bytes)", size);
}

/* --people without --model: the bundled face model (models/face.safetensors, 7 FER2013 classes) per person,
 * the same two tracks. */
static void test_bundled_face(void) {
    char args[4096];
    snprintf(args, sizeof args, "--people --window 2 --hop 1 --format json '%s'", clip);
    CHECK(predict(args) == 0, "predict --people without --model: %s", out);
    cJSON *doc = cJSON_Parse(out);
    const cJSON *file = doc ? cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "files"), 0) : NULL;
    const cJSON *tracks = cJSON_GetObjectItem(file, "tracks");
    CHECK(tracks && tracks->valueint == 2, "2 tracks with the bundled face model: %.1000s", out);
    CHECK(strstr(out, "surprise") && strstr(out, "disgust"), "the FER2013 classes: %.500s", out);
    cJSON_Delete(doc);
}

/* --people without --model on a clip with speech: the bundled voice model's row per window (the recording's, not a
 * person's) and each person's face fused with it, all in the 7 common classes; text, CSV, JSON and the PNG. */
static void test_bundled_voice(void) {
    char args[4096], png[700];
    snprintf(args, sizeof args, "--people --window 2 --hop 1 --top 2 --format csv '%s'", speech);
    CHECK(predict(args) == 0, "predict --people (bundled, speech) csv: %s", out);
    CHECK(!strncmp(out, "file,start_s,end_s,person,x0,y0,x1,y1,frames,emotion,p,top,p_neutral,p_happy,p_sad,p_angry,"
                        "p_fearful,p_disgust,p_surprised\n", 110),
          "common-class csv header: %.200s", out);
    CHECK(count(out, ",voice,") == 3 && count(out, ",1+voice,") == 3 && count(out, ",2+voice,") == 3 &&
              count(out, ",1,") == 3 && count(out, "\n") == 1 + 3 * 5,
          "csv: a voice row, two face rows and two fused rows per window: %s", out);
    CHECK(count(out, ",voice,,,,,0,happy,") >= 2, "the voice of a happy RAVDESS recording: %s", out);
    snprintf(args, sizeof args, "--people --window 2 --hop 1 '%s'", speech);
    CHECK(predict(args) == 0 && count(out, " voice (the recording's, not a person's): ") == 3 &&
              count(out, " person 1 face + voice: ") == 3 && count(out, " person 2 face + voice: ") == 3,
          "text: %s", out);
    snprintf(args, sizeof args, "--people --window 2 --hop 1 --format json '%s'", speech);
    CHECK(predict(args) == 0, "json: %s", out);
    cJSON *doc = cJSON_Parse(out);
    const cJSON *file = doc ? cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "files"), 0) : NULL, *w;
    CHECK(file && cJSON_GetObjectItem(file, "voice_note"), "voice_note: %.500s", out);
    int voiced = 0, fused = 0;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(file, "windows")) {
        const cJSON *v = cJSON_GetObjectItem(w, "voice"), *p;
        voiced += v && cJSON_GetArraySize(cJSON_GetObjectItem(v, "probs")) == 7;
        cJSON_ArrayForEach(p, cJSON_GetObjectItem(w, "people")) {
            const cJSON *f = cJSON_GetObjectItem(p, "fused"), *fp = cJSON_GetObjectItem(f, "probs");
            const cJSON *face = cJSON_GetObjectItem(p, "probs");
            if (!fp || !v) continue;
            double worst = 0; /* fused = (face + voice) / 2, class by class */
            for (int k = 0; k < 7; k++) {
                double want = 0.5 * (cJSON_GetArrayItem(face, k)->valuedouble +
                                     cJSON_GetArrayItem(cJSON_GetObjectItem(v, "probs"), k)->valuedouble);
                worst = fmax(worst, fabs(cJSON_GetArrayItem(fp, k)->valuedouble - want));
            }
            fused += worst < 1e-5;
        }
    }
    CHECK(voiced == 3 && fused == 6, "json: %d windows with a voice, %d fused people (3, 6)", voiced, fused);
    cJSON_Delete(doc);
    snprintf(png, sizeof png, "%s/voice.png", test_tmpdir());
    snprintf(args, sizeof args, "--plot '%s' --sample-fps 2 '%s'", png, speech);
    CHECK(predict(args) == 0, "--plot with the voice: %s", out);
}

static void test_usage_errors(void) {
    char args[4096];
    snprintf(args, sizeof args, "--model '%s' --format xml '%s'", face_model, clip);
    CHECK(predict(args) == 2 && strstr(out, "--format"), "bad format: %s", out);
    snprintf(args, sizeof args, "--model '%s' --plot x.png '%s' '%s'", face_model, clip, clip);
    CHECK(predict(args) == 2 && strstr(out, "one FILE"), "plot with 2 files: %s", out);
    snprintf(args, sizeof args, "--model '%s' --json --format csv '%s'", face_model, clip);
    CHECK(predict(args) == 2 && strstr(out, "--json"), "json vs csv: %s", out);
    snprintf(args, sizeof args, "--model '%s' --people '%s'", audio_model, clip);
    CHECK(predict(args) == 2 && strstr(out, "reads video") && strstr(out, clip), "audio model: %s", out);
}

int main(void) {
    setup();
    RUN(test_two_tracks_json);
    RUN(test_text_and_csv);
    RUN(test_av_recording);
    RUN(test_plot);
    RUN(test_bundled_face);
    RUN(test_bundled_voice);
    RUN(test_usage_errors);
    return test_summary();
}
