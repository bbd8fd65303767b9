#include "test.h"

#include "core/progress.h"
#include "data/dataset.h"
#include "avemo.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void touch(const char *dir, const char *name, int empty) {
    char p[2200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL, "cannot create %s", p);
    if (!f) return;
    if (!empty) fputc('x', f);
    fclose(f);
}

static const char *mkdir_in(const char *parent, const char *name) {
    static char p[16][1024];
    static int k;
    char *d = p[k++ % 16];
    size_t n = strlen(parent);
    if (n + strlen(name) + 2 > sizeof p[0]) abort();
    memmove(d, parent, n);
    d[n] = '/';
    strcpy(d + n + 1, name);
    mkdir(d, 0777);
    return d;
}

static int count_skipped_with(const dataset *ds, const char *needle) {
    int n = 0;
    for (int i = 0; i < ds->n_skipped; i++) n += strstr(ds->skipped[i], needle) != NULL;
    return n;
}

static const dataset_sample *find_id(const dataset *ds, const char *id) {
    for (int i = 0; i < ds->n; i++)
        if (!strcmp(ds->samples[i].id, id)) return &ds->samples[i];
    return NULL;
}

/* A fake RAVDESS tree: every pairing case and eight kinds of bad file. */
static const char *fake_ravdess(void) {
    static char root[1024];
    if (root[0]) return root;
    snprintf(root, sizeof root, "%s/ravdess", test_tmpdir());
    mkdir(root, 0777);
    const char *a1 = mkdir_in(root, "Actor_01");
    touch(a1, "01-01-03-01-01-01-01.mp4", 0); /* A: 01 + 02 + 03 */
    touch(a1, "02-01-03-01-01-01-01.mp4", 0);
    touch(a1, "03-01-03-01-01-01-01.wav", 0);
    touch(a1, "01-01-02-02-01-01-01.mp4", 0); /* B: full AV only (calm, strong) */
    touch(a1, "02-01-04-01-01-01-01.mp4", 0); /* C: silent video only */
    touch(a1, "03-01-05-01-01-01-01.wav", 0); /* D: audio only */
    touch(a1, "01-02-03-01-01-01-01.mp4", 0); /* E: song */
    touch(a1, "03-02-03-01-01-01-01.wav", 0);
    touch(a1, "03-01-08-01-01-01-01.wav", 0); /* F: audio, with a duplicate FLAC */
    touch(a1, "03-01-08-01-01-01-01.flac", 0);
    /* bad names */
    touch(a1, "03-01-09-01-01-01-01.wav", 0); /* emotion 09 */
    touch(a1, "03-01-01-02-01-01-01.wav", 0); /* neutral strong does not exist */
    touch(a1, "01-01-03-01-01-01-02.mp4", 0); /* actor 02 inside Actor_01 */
    touch(a1, "README.txt", 0);
    touch(a1, "03-01-03-01-02-01-01.mp4", 0); /* audio-only modality with a video extension */
    touch(a1, "01-01-03-01-01-01.mp4", 0);    /* six fields */
    touch(a1, "03-01-06-01-01-01-01.wav", 1); /* empty file */
    touch(a1, "04-01-06-01-01-01-01.wav", 0); /* modality 04 */
    char link[1200];
    snprintf(link, sizeof link, "%s/03-01-07-01-01-01-01.wav", a1);
    CHECK(symlink("/nonexistent/target.wav", link) == 0, "symlink"); /* a broken link */
    const char *a2 = mkdir_in(root, "Actor_02");
    touch(a2, "01-01-01-01-01-01-02.mp4", 0);
    touch(a2, "03-01-01-01-01-01-02.wav", 0);
    return root;
}

static void test_ravdess_parse_name(void) {
    int f[7];
    char why[256];
    CHECK(ravdess_parse_name("03-01-05-02-01-02-12.wav", f, why, sizeof why) == 0, "%s", why);
    CHECK(f[0] == 3 && f[1] == 1 && f[2] == 5 && f[3] == 2 && f[4] == 1 && f[5] == 2 && f[6] == 12, "fields");
    CHECK(ravdess_parse_name("03-01-05-02-01-02-25.wav", f, why, sizeof why) != 0, "actor 25 accepted");
    CHECK(strstr(why, "actor") != NULL, "reason: %s", why);
    CHECK(ravdess_parse_name("01-02-07-01-01-01-01.mp4", f, why, sizeof why) != 0, "song disgust accepted");
    CHECK(ravdess_parse_name("0a-01-05-02-01-02-12.wav", f, why, sizeof why) != 0, "letters accepted");
    CHECK(ravdess_parse_name("01-01-05-02-01-02-12.wav", f, why, sizeof why) != 0, "video modality with .wav");
    CHECK(ravdess_parse_name("01-01-05-02-01-02-12.MP4", f, why, sizeof why) == 0, "upper-case ext: %s", why);
}

static void test_ravdess_fake_default(void) {
    dataset ds;
    dataset_options o = {.kind = DATASET_RAVDESS};
    CHECK(dataset_scan(fake_ravdess(), &o, &ds) == 0, "scan: %s", avemo_last_error());
    CHECK(ds.n == 6, "samples %d (want A B C D F + actor 2)", ds.n);
    CHECK(ds.n_classes == 8, "classes %d", ds.n_classes);
    CHECK(ds.n_skipped == 10, "skipped %d", ds.n_skipped);
    CHECK(count_skipped_with(&ds, "broken link") == 1, "broken link not logged");
    for (int i = 0; i < ds.n_skipped; i++) printf("  skipped: %s\n", ds.skipped[i]);
    CHECK(count_skipped_with(&ds, "duplicate") == 1, "duplicate flac not logged");
    CHECK(count_skipped_with(&ds, "empty file") == 1, "empty file not logged");
    CHECK(count_skipped_with(&ds, "README.txt") == 1, "README not logged");
    if (ds.n == 6) {
        /* sorted by (actor, id) */
        CHECK(!strcmp(ds.samples[0].id, "01-01-02-02-01-01-01"), "first %s", ds.samples[0].id);
        CHECK(ds.samples[5].actor == 2, "last actor %d", ds.samples[5].actor);
        for (int i = 1; i < ds.n; i++)
            CHECK(ds.samples[i - 1].actor < ds.samples[i].actor || strcmp(ds.samples[i - 1].id, ds.samples[i].id) < 0,
                  "not sorted at %d", i);
    }
    const dataset_sample *a = find_id(&ds, "01-01-03-01-01-01-01");
    CHECK(a && a->video_path && strstr(a->video_path, "/Actor_01/01-01-03") && a->audio_path &&
              strstr(a->audio_path, "03-01-03-01-01-01-01.wav") && a->label == 2 && a->actor == 1,
          "utterance A pairing");
    const dataset_sample *b = find_id(&ds, "01-01-02-02-01-01-01");
    CHECK(b && b->audio_path == NULL && b->audio_from_video && b->label == 1 && b->intensity == 2, "utterance B");
    const dataset_sample *c = find_id(&ds, "02-01-04-01-01-01-01");
    CHECK(c && !c->audio_path && !c->audio_from_video, "utterance C");
    const dataset_sample *d = find_id(&ds, "03-01-05-01-01-01-01");
    CHECK(d && !d->video_path && d->audio_path && d->label == 4, "utterance D");
    const dataset_sample *f = find_id(&ds, "03-01-08-01-01-01-01");
    CHECK(f && strstr(f->audio_path, ".wav"), "F prefers the WAV");
    dataset_free(&ds);
}

static void test_ravdess_fake_options(void) {
    dataset ds;
    dataset_options o = {.kind = DATASET_RAVDESS, .need = DATASET_NEED_AUDIO};
    CHECK(dataset_scan(fake_ravdess(), &o, &ds) == 0, "scan: %s", avemo_last_error());
    CHECK(ds.n == 5 && !find_id(&ds, "02-01-04-01-01-01-01"), "audio: %d samples", ds.n);
    CHECK(count_skipped_with(&ds, "no audio track") == 1, "silent video not logged");
    dataset_free(&ds);

    o.need = DATASET_NEED_VIDEO;
    CHECK(dataset_scan(fake_ravdess(), &o, &ds) == 0, "scan: %s", avemo_last_error());
    CHECK(ds.n == 4, "video: %d samples", ds.n);
    dataset_free(&ds);

    o.need = DATASET_NEED_AUDIO | DATASET_NEED_VIDEO;
    o.both_videos = 1;
    CHECK(dataset_scan(fake_ravdess(), &o, &ds) == 0, "scan: %s", avemo_last_error());
    /* A gives two samples (01 and 02 with the same 03 audio), B one, actor 2 one; C has no audio */
    CHECK(ds.n == 4, "both videos: %d samples", ds.n);
    const dataset_sample *a1 = find_id(&ds, "01-01-03-01-01-01-01"), *a2 = find_id(&ds, "02-01-03-01-01-01-01");
    CHECK(a1 && a2 && a1->audio_path && a2->audio_path && !strcmp(a1->audio_path, a2->audio_path), "pairing");
    dataset_free(&ds);

    dataset_options s = {.kind = DATASET_RAVDESS, .include_song = 1, .n_classes = 7};
    CHECK(dataset_scan(fake_ravdess(), &s, &ds) == 0, "scan: %s", avemo_last_error());
    CHECK(ds.n == 7 && ds.n_classes == 7, "song: %d samples", ds.n);
    const dataset_sample *b = find_id(&ds, "01-01-02-02-01-01-01"), *e = find_id(&ds, "01-02-03-01-01-01-01");
    CHECK(b && b->label == 0, "calm merged into neutral");
    CHECK(e && e->vocal == 2 && e->label == 1, "song sample (happy = 1 with 7 classes)");
    CHECK(!strcmp(ds.class_names[0], "neutral") && !strcmp(ds.class_names[6], "surprised"), "7 class names");
    dataset_free(&ds);

    dataset_options bad = {.kind = DATASET_RAVDESS, .n_classes = 6};
    CHECK(dataset_scan(fake_ravdess(), &bad, &ds) == AVEMO_EINVAL, "6 classes accepted");
    char missing[1100];
    snprintf(missing, sizeof missing, "%s/nope", test_tmpdir());
    CHECK(dataset_scan(missing, &o, &ds) == AVEMO_EIO, "missing root accepted");
}

/* ../shared: RAVDESS speech audio of actors 1-12 (03- FLAC files only). */
static void test_ravdess_shared_audio(void) {
    const char *root = shared_path("data/ravdess-speech");
    if (!root) return;
    dataset ds;
    dataset_options o = {.kind = DATASET_RAVDESS, .need = DATASET_NEED_AUDIO};
    double t0 = now_seconds();
    CHECK(dataset_scan(root, &o, &ds) == 0, "scan: %s", avemo_last_error());
    printf("  scanned %d clips in %.3f s\n", ds.n, now_seconds() - t0);
    CHECK(ds.n == 720 && ds.n_skipped == 0, "%d clips, %d skipped", ds.n, ds.n_skipped);
    int actors[64];
    CHECK(dataset_actors(&ds, actors, 64) == 12 && actors[0] == 1 && actors[11] == 12, "12 actors");
    int counts[8];
    dataset_class_counts(&ds, counts);
    /* 60 clips per actor: neutral has no strong intensity, so 4 clips per actor, the others 8 */
    CHECK(counts[0] == 48, "neutral %d", counts[0]);
    for (int c = 1; c < 8; c++) CHECK(counts[c] == 96, "class %d: %d", c, counts[c]);
    CHECK(ds.samples[0].video_path == NULL && ds.samples[0].audio_path, "audio only");
    dataset_free(&ds);

    o.need = DATASET_NEED_AUDIO | DATASET_NEED_VIDEO; /* av on an audio-only tree: nothing usable */
    CHECK(dataset_scan(root, &o, &ds) == AVEMO_EFORMAT, "av on audio-only tree");
    CHECK(strstr(avemo_last_error(), "no usable") != NULL, "message: %s", avemo_last_error());
}

static void test_cremad_fake(void) {
    char root[1024];
    snprintf(root, sizeof root, "%s/cremad", test_tmpdir());
    mkdir(root, 0777);
    const char *aw = mkdir_in(root, "AudioWAV");
    touch(aw, "1001_DFA_ANG_XX.wav", 0);
    touch(aw, "1001_DFA_HAP_HI.wav", 0);
    touch(aw, "1002_IEO_SAD_LO.wav", 0);
    touch(aw, "1001_XXX_ANG_XX.wav", 0); /* unknown sentence */
    touch(aw, "0999_DFA_ANG_XX.wav", 0); /* actor out of range */
    touch(aw, "1001_DFA_BOR_XX.wav", 0); /* unknown emotion */
    touch(aw, "1076_MTI_SAD_XX.wav", 1); /* empty (CREMA-D really has such a file) */
    const char *vf = mkdir_in(root, "VideoFlash");
    touch(vf, "1001_DFA_ANG_XX.flv", 0);
    touch(vf, "1002_IEO_SAD_LO.flv", 0);
    touch(vf, "1003_ITS_NEU_MD.flv", 0);
    touch(vf, "1003_ITS_NEU_MD.wav", 0); /* audio extension in the video folder */
    dataset ds;
    dataset_options o = {.kind = DATASET_CREMAD};
    CHECK(dataset_scan(root, &o, &ds) == 0, "scan: %s", avemo_last_error());
    CHECK(ds.n == 4 && ds.n_classes == 6, "%d samples", ds.n);
    CHECK(ds.n_skipped == 5, "%d skipped", ds.n_skipped);
    const dataset_sample *s = find_id(&ds, "1001_DFA_ANG_XX");
    CHECK(s && s->video_path && s->audio_path && s->label == 0 && s->actor == 1001 && s->intensity == 0, "pair");
    s = find_id(&ds, "1003_ITS_NEU_MD");
    CHECK(s && s->audio_from_video && s->label == 4 && s->intensity == 2, "video only");
    s = find_id(&ds, "1001_DFA_HAP_HI");
    CHECK(s && !s->video_path && s->label == 3 && s->intensity == 3, "audio only");
    CHECK(ds.n == 4 && ds.samples[3].actor == 1003, "sorted");
    dataset_free(&ds);
    o.need = DATASET_NEED_VIDEO;
    CHECK(dataset_scan(root, &o, &ds) == 0 && ds.n == 3, "video: %d", ds.n);
    dataset_free(&ds);
    int a, e, l;
    char why[128];
    CHECK(cremad_parse_name("1091_WSI_FEA_MD", &a, &e, &l, why, sizeof why) == 0 && a == 1091 && e == 2 && l == 2,
          "parse");
}

static void test_imagefolder_fake(void) {
    char root[1024];
    snprintf(root, sizeof root, "%s/images", test_tmpdir());
    mkdir(root, 0777);
    const char *tr = mkdir_in(root, "train");
    const char *te = mkdir_in(root, "test");
    const char *trh = mkdir_in(tr, "happy"), *trs = mkdir_in(tr, "sad"), *teh = mkdir_in(te, "happy");
    touch(trh, "b.png", 0);
    touch(trh, "a.jpg", 0);
    touch(trh, "notes.txt", 0);
    touch(trs, "c.JPEG", 0);
    touch(teh, "d.jpg", 0);
    dataset ds;
    dataset_options o = {.kind = DATASET_IMAGEFOLDER};
    CHECK(dataset_scan(root, &o, &ds) == 0, "scan: %s", avemo_last_error());
    CHECK(ds.n == 4 && ds.n_classes == 2 && ds.n_splits == 2 && ds.n_skipped == 1, "%d samples %d classes %d splits",
          ds.n, ds.n_classes, ds.n_splits);
    if (ds.n == 4) {
        /* splits sorted: test, train */
        CHECK(!strcmp(ds.samples[0].id, "test__happy__d") && ds.samples[0].split == 0, "%s", ds.samples[0].id);
        CHECK(!strcmp(ds.samples[1].id, "train__happy__a") && ds.samples[3].label == 1, "%s", ds.samples[1].id);
        CHECK(ds.samples[0].actor == -1, "no actor");
    }
    dataset_free(&ds);
}

/* ../shared FER2013 train split: 28,709 images, 7 classes; scanning must be quick. */
static void test_fer2013_shared(void) {
    const char *root = shared_path("data/fer2013");
    if (!root) return;
    dataset ds;
    dataset_options o = {.kind = DATASET_IMAGEFOLDER};
    double t0 = now_seconds();
    CHECK(dataset_scan(root, &o, &ds) == 0, "scan: %s", avemo_last_error());
    double dt = now_seconds() - t0;
    printf("  fer2013: %d images in %.3f s\n", ds.n, dt);
    CHECK(ds.n == 28709 && ds.n_classes == 7 && ds.n_skipped == 0, "%d images, %d classes", ds.n, ds.n_classes);
    CHECK(dt < 10, "scan took %.1f s", dt); /* generous: the machine is shared; typically well under 1 s */
    int counts[7];
    if (ds.n_classes == 7) {
        dataset_class_counts(&ds, counts);
        static const int want[7] = {3995, 436, 4097, 7215, 4965, 4830, 3171}; /* angry .. surprise */
        for (int c = 0; c < 7; c++) CHECK(counts[c] == want[c], "%s: %d", ds.class_names[c], counts[c]);
        CHECK(!strcmp(ds.class_names[0], "angry") && !strcmp(ds.split_names[0], "train"), "names");
    }
    dataset_free(&ds);
    /* the split folder itself works as a root too */
    const char *tr = shared_path("data/fer2013/train");
    if (tr && dataset_scan(tr, &o, &ds) == 0) {
        CHECK(ds.n == 28709 && ds.n_splits == 1, "train root: %d", ds.n);
        dataset_free(&ds);
    } else {
        CHECK(0, "train root: %s", avemo_last_error());
    }
}

/* An empty folder: a clear error for every kind, no undefined behaviour (UBSan caught qsort(NULL, 0)). */
static void test_empty_folder(void) {
    char root[600];
    snprintf(root, sizeof root, "%s/empty", test_tmpdir());
    mkdir(root, 0777);
    dataset_kind kinds[3] = {DATASET_RAVDESS, DATASET_CREMAD, DATASET_IMAGEFOLDER};
    for (int k = 0; k < 3; k++) {
        dataset ds;
        dataset_options o = {.kind = kinds[k], .need = DATASET_NEED_AUDIO};
        CHECK(dataset_scan(root, &o, &ds) == AVEMO_EFORMAT, "%s: empty folder accepted", dataset_kind_name(kinds[k]));
    }
}

/* Empty folders (an empty Actor_XX, an empty dataset root, an empty CREMA-D AudioWAV) and one usable file:
 * the scan used to qsort a NULL list (UBSan: "null pointer passed as argument 1, which is declared to never
 * be null", seen by test_cmd_prep under SAN=1 when /tmp held an empty folder). */
static void test_empty_folders(void) {
    char root[1100];
    snprintf(root, sizeof root, "%s/empty_folders", test_tmpdir());
    mkdir(root, 0777);
    dataset_options o = {.kind = DATASET_RAVDESS};
    dataset ds;
    CHECK(dataset_scan(root, &o, &ds) != 0, "an empty root gave samples");
    mkdir_in(root, "Actor_02");
    touch(mkdir_in(root, "Actor_01"), "03-01-03-01-01-01-01.wav", 0);
    CHECK(dataset_scan(root, &o, &ds) == 0 && ds.n == 1, "scan with an empty actor folder: %s", avemo_last_error());
    if (!test_failed_now) dataset_free(&ds);
    char croot[1100];
    snprintf(croot, sizeof croot, "%s/empty_cremad", test_tmpdir());
    mkdir(croot, 0777);
    mkdir_in(croot, "AudioWAV");
    mkdir_in(croot, "VideoFlash");
    dataset_options c = {.kind = DATASET_CREMAD};
    CHECK(dataset_scan(croot, &c, &ds) != 0, "an empty CREMA-D tree gave samples");
}

int main(void) {
    RUN(test_empty_folder);
    RUN(test_empty_folders);
    RUN(test_ravdess_parse_name);
    RUN(test_ravdess_fake_default);
    RUN(test_ravdess_fake_options);
    RUN(test_ravdess_shared_audio);
    RUN(test_cremad_fake);
    RUN(test_imagefolder_fake);
    RUN(test_fer2013_shared);
    return test_summary();
}
