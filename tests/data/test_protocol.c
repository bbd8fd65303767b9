#include "test.h"

#include "data/protocol.h"
#include "avemo.h"

#include <stdlib.h>
#include <string.h>

/* An in-memory dataset: n_actors actors (first_actor, first_actor+1, ...) x per_actor samples. */
static void make_ds(dataset *ds, dataset_kind kind, int first_actor, int n_actors, int per_actor) {
    memset(ds, 0, sizeof *ds);
    ds->kind = kind;
    ds->n_classes = 8;
    ds->n = n_actors * per_actor;
    ds->samples = calloc(ds->n, sizeof *ds->samples);
    for (int a = 0; a < n_actors; a++)
        for (int j = 0; j < per_actor; j++) {
            dataset_sample *s = &ds->samples[a * per_actor + j];
            char id[64];
            snprintf(id, sizeof id, "a%d_%d", first_actor + a, j);
            s->id = strdup(id);
            s->actor = first_actor + a;
            s->label = j % 8;
        }
}

static void test_parse(void) {
    protocol_spec p;
    CHECK(protocol_parse("kfold", &p) == 0 && p.kind == PROTOCOL_KFOLD && p.n_folds == 0, "kfold");
    CHECK(protocol_parse("kfold:6", &p) == 0 && p.n_folds == 6 && p.n_val == 0, "kfold:6");
    CHECK(protocol_parse("kfold:5:3", &p) == 0 && p.n_folds == 5 && p.n_val == 3, "kfold:5:3");
    CHECK(protocol_parse("kfold:5:0", &p) == 0 && p.n_val == -1, "kfold:5:0 = no validation");
    CHECK(protocol_parse("kch5", &p) == 0 && p.kind == PROTOCOL_KCH5, "kch5");
    CHECK(protocol_parse("actors:1,2,3,4/5,6", &p) == 0 && p.kind == PROTOCOL_ACTORS && p.n_test_actors == 4 &&
              p.n_val_actors == 2 && p.val_actors[1] == 6,
          "actors");
    CHECK(protocol_parse("actors:1-4/21-24", &p) == 0 && p.n_test_actors == 4 && p.test_actors[3] == 4 &&
              p.val_actors[0] == 21,
          "ranges");
    CHECK(protocol_parse("actors:3", &p) == 0 && p.n_val_actors == 0, "no validation");
    CHECK(protocol_parse("random:42", &p) == 0 && p.kind == PROTOCOL_RANDOM && p.seed == 42, "random");
    CHECK(protocol_parse("split", &p) == 0 && p.kind == PROTOCOL_SPLIT, "split");
    const char *bad[] = {"", "kfold:1", "kfold:x", "kfold:6:", "kfoldx", "kch6", "actors:", "actors:/1",
                         "actors:1,,2", "actors:1,2,", "actors:1/1", "actors:4-1", "actors:a", "random:", "random:-1",
                         "random:1x", "nope", "actors:1,1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(protocol_parse(bad[i], &p) == AVEMO_EINVAL, "'%s' accepted", bad[i]);
        CHECK(strlen(avemo_last_error()) > 10, "'%s': no message", bad[i]);
    }
    protocol_parse("actors:1/1", &p);
    CHECK(strstr(avemo_last_error(), "both") != NULL, "message: %s", avemo_last_error());
}

static int count_in(const int *l, int n, int a) {
    int c = 0;
    for (int i = 0; i < n; i++) c += l[i] == a;
    return c;
}

static void test_kfold_ravdess(void) {
    dataset ds;
    make_ds(&ds, DATASET_RAVDESS, 1, 24, 10);
    protocol_spec p;
    fold_set fs, fs2, fs3;
    CHECK(protocol_parse("kfold", &p) == 0, "parse");
    CHECK(protocol_make_folds(&p, &ds, 1, &fs) == 0, "folds: %s", avemo_last_error());
    CHECK(fs.n_folds == 6 && fs.speaker_independent, "%d folds", fs.n_folds);
    int tested[25] = {0};
    for (int k = 0; k < fs.n_folds; k++) {
        fold *f = &fs.folds[k];
        CHECK(f->n_test_actors == 4 && f->n_val_actors == 4, "fold %d sizes", k);
        CHECK(f->test_actors[0] == 4 * k + 1 && f->test_actors[3] == 4 * k + 4, "fold %d blocks", k);
        int odd = 0;
        for (int i = 0; i < 4; i++) {
            tested[f->test_actors[i]]++;
            odd += f->val_actors[i] % 2;
            CHECK(!count_in(f->test_actors, 4, f->val_actors[i]), "val actor is a test actor");
        }
        CHECK(odd == 2, "fold %d: %d male validation actors (want 2)", k, odd);
        CHECK(f->n_test == 40 && f->n_val == 40 && f->n_train == 160, "fold %d: %d/%d/%d", k, f->n_train, f->n_val,
              f->n_test);
        for (int i = 1; i < f->n_train; i++) CHECK(f->train[i - 1] < f->train[i], "train sorted");
    }
    for (int a = 1; a <= 24; a++) CHECK(tested[a] == 1, "actor %d tested %d times", a, tested[a]);
    CHECK(fold_set_check_disjoint(&fs, &ds) == 0, "disjoint: %s", avemo_last_error());
    /* deterministic from the seed */
    CHECK(protocol_make_folds(&p, &ds, 1, &fs2) == 0, "again");
    int same = 1;
    for (int k = 0; k < 6; k++) same &= !memcmp(fs.folds[k].val_actors, fs2.folds[k].val_actors, 4 * sizeof(int));
    CHECK(same, "same seed, different validation actors");
    CHECK(protocol_make_folds(&p, &ds, 2, &fs3) == 0, "seed 2");
    int differ = 0;
    for (int k = 0; k < 6; k++) differ |= memcmp(fs.folds[k].val_actors, fs3.folds[k].val_actors, 4 * sizeof(int)) != 0;
    CHECK(differ, "seed has no effect on validation actors");
    printf("  %s\n", fs.desc);
    fold_set_free(&fs);
    fold_set_free(&fs2);
    fold_set_free(&fs3);

    /* a leak is detected: move one test sample's actor into train by hand */
    CHECK(protocol_parse("kfold:6:2", &p) == 0 && protocol_make_folds(&p, &ds, 1, &fs) == 0, "kfold:6:2");
    CHECK(fs.folds[0].n_val_actors == 2, "V = 2");
    fs.folds[0].train[0] = fs.folds[0].test[0];
    CHECK(fold_set_check_disjoint(&fs, &ds) == AVEMO_EINTERNAL, "leak not detected");
    fold_set_free(&fs);

    CHECK(protocol_parse("kfold:30", &p) == 0 && protocol_make_folds(&p, &ds, 1, &fs) == AVEMO_EINVAL, "30 folds");
    CHECK(protocol_parse("kfold:6:20", &p) == 0 && protocol_make_folds(&p, &ds, 1, &fs) == AVEMO_EINVAL, "V too big");
    dataset_free(&ds);
}

static void test_kfold_cremad(void) {
    dataset ds;
    make_ds(&ds, DATASET_CREMAD, 1001, 91, 3);
    protocol_spec p;
    fold_set fs;
    CHECK(protocol_parse("kfold", &p) == 0 && protocol_make_folds(&p, &ds, 7, &fs) == 0, "%s", avemo_last_error());
    CHECK(fs.n_folds == 5 && fs.speaker_independent, "5 folds");
    int total = 0;
    for (int k = 0; k < fs.n_folds; k++) {
        total += fs.folds[k].n_test_actors;
        CHECK(fs.folds[k].n_test_actors == (k == 0 ? 19 : 18), "fold %d: %d test actors", k, fs.folds[k].n_test_actors);
        CHECK(fs.folds[k].n_train + fs.folds[k].n_val + fs.folds[k].n_test == ds.n, "fold %d covers all", k);
    }
    CHECK(total == 91, "every actor tested once");
    fold_set_free(&fs);
    dataset_free(&ds);
}

static void test_kch5(void) {
    dataset ds;
    make_ds(&ds, DATASET_RAVDESS, 1, 24, 5);
    protocol_spec p;
    fold_set fs;
    CHECK(protocol_parse("kch5", &p) == 0 && protocol_make_folds(&p, &ds, 0, &fs) == 0, "%s", avemo_last_error());
    CHECK(fs.n_folds == 5 && fs.speaker_independent, "5 folds");
    for (int k = 0; k < 5; k++) {
        fold *f = &fs.folds[k];
        CHECK(f->test_actors[0] == 4 * k + 1 && f->val_actors[0] == 4 * k + 5 && f->val_actors[3] == 4 * k + 8,
              "fold %d", k);
        CHECK(f->n_test == 20 && f->n_val == 20 && f->n_train == 80, "fold %d sizes", k);
    }
    /* the last fold tests 17-20 and validates on 21-24 */
    CHECK(ds.samples[fs.folds[4].val[0]].actor == 21, "fold 5 val");
    fold_set_free(&fs);
    dataset_free(&ds);
    /* actors 1-12 only (the shared audio): fold 3 has no validation actors, fold 4 no test actors -> error */
    make_ds(&ds, DATASET_RAVDESS, 1, 12, 5);
    CHECK(protocol_make_folds(&p, &ds, 0, &fs) == AVEMO_EINVAL, "kch5 on 12 actors");
    CHECK(strstr(avemo_last_error(), "fold 4") != NULL, "message: %s", avemo_last_error());
    dataset_free(&ds);
}

/* lnso:2 on the 12 shared actors: 6 folds, test block k, validation the next block (the last fold wraps),
 * deterministic (no seed); all: one fold where every sample trains. */
static void test_lnso_and_all(void) {
    dataset ds;
    make_ds(&ds, DATASET_RAVDESS, 1, 12, 5);
    protocol_spec p;
    fold_set fs;
    CHECK(protocol_parse("lnso:2", &p) == 0 && p.kind == PROTOCOL_LNSO && p.block == 2, "parse lnso:2");
    CHECK(protocol_make_folds(&p, &ds, 7, &fs) == 0, "%s", avemo_last_error());
    CHECK(fs.n_folds == 6 && fs.speaker_independent, "%d folds", fs.n_folds);
    for (int k = 0; k < fs.n_folds; k++) {
        fold *f = &fs.folds[k];
        int v = (2 * k + 2) % 12 + 1;
        CHECK(f->n_test_actors == 2 && f->test_actors[0] == 2 * k + 1 && f->test_actors[1] == 2 * k + 2, "fold %d test", k);
        CHECK(f->n_val_actors == 2 && f->val_actors[0] == v && f->val_actors[1] == v + 1, "fold %d val %d,%d", k,
              f->val_actors[0], f->val_actors[1]);
        CHECK(f->n_test == 10 && f->n_val == 10 && f->n_train == 40, "fold %d sizes", k);
    }
    fold_set_free(&fs);
    CHECK(protocol_parse("lnso:5", &p) == 0 && protocol_make_folds(&p, &ds, 0, &fs) == AVEMO_EINVAL,
          "12 actors in blocks of 5 accepted");
    CHECK(protocol_parse("lnso:0", &p) == AVEMO_EINVAL && protocol_parse("lnso:", &p) == AVEMO_EINVAL, "lnso:0");
    CHECK(protocol_parse("all", &p) == 0 && p.kind == PROTOCOL_ALL && protocol_make_folds(&p, &ds, 0, &fs) == 0,
          "all: %s", avemo_last_error());
    CHECK(fs.n_folds == 1 && fs.folds[0].n_train == 60 && fs.folds[0].n_val == 0 && fs.folds[0].n_test == 0, "all");
    fold_set_free(&fs);
    dataset_free(&ds);
}

static void test_actors_and_random(void) {
    dataset ds;
    make_ds(&ds, DATASET_RAVDESS, 1, 24, 10);
    protocol_spec p;
    fold_set fs;
    CHECK(protocol_parse("actors:1,2,3,4/5,6", &p) == 0 && protocol_make_folds(&p, &ds, 0, &fs) == 0, "%s",
          avemo_last_error());
    CHECK(fs.n_folds == 1 && fs.folds[0].n_test == 40 && fs.folds[0].n_val == 20 && fs.folds[0].n_train == 180,
          "sizes");
    CHECK(fs.speaker_independent, "speaker independent");
    fold_set_free(&fs);
    CHECK(protocol_parse("actors:1/30", &p) == 0 && protocol_make_folds(&p, &ds, 0, &fs) == AVEMO_EINVAL, "actor 30");

    CHECK(protocol_parse("random:3", &p) == 0 && protocol_make_folds(&p, &ds, 0, &fs) == 0, "random");
    fold *f = &fs.folds[0];
    CHECK(f->n_test == 48 && f->n_val == 24 && f->n_train == 168, "random sizes %d/%d/%d", f->n_train, f->n_val,
          f->n_test);
    CHECK(!fs.speaker_independent, "random claims speaker independence");
    int *seen = calloc(ds.n, sizeof *seen);
    for (int i = 0; i < f->n_train; i++) seen[f->train[i]]++;
    for (int i = 0; i < f->n_val; i++) seen[f->val[i]]++;
    for (int i = 0; i < f->n_test; i++) seen[f->test[i]]++;
    int ok = 1;
    for (int i = 0; i < ds.n; i++) ok &= seen[i] == 1;
    CHECK(ok, "random split is not a partition");
    free(seen);
    fold_set_free(&fs);
    dataset_free(&ds);
}

static void test_split_imagefolder(void) {
    dataset ds;
    make_ds(&ds, DATASET_IMAGEFOLDER, -1, 1, 100);
    for (int i = 0; i < ds.n; i++) {
        ds.samples[i].actor = -1;
        ds.samples[i].split = i < 20 ? 0 : 1; /* 20 test, 80 train */
    }
    ds.n_splits = 2;
    ds.split_names = calloc(2, sizeof(char *));
    ds.split_names[0] = strdup("test");
    ds.split_names[1] = strdup("train");
    protocol_spec p;
    fold_set fs;
    CHECK(protocol_parse("split", &p) == 0 && protocol_make_folds(&p, &ds, 5, &fs) == 0, "%s", avemo_last_error());
    CHECK(fs.folds[0].n_test == 20 && fs.folds[0].n_val == 8 && fs.folds[0].n_train == 72, "sizes %d/%d/%d",
          fs.folds[0].n_train, fs.folds[0].n_val, fs.folds[0].n_test);
    fold_set_free(&fs);
    CHECK(protocol_parse("kfold", &p) == 0 && protocol_make_folds(&p, &ds, 5, &fs) == AVEMO_EINVAL, "kfold, no actors");
    CHECK(strstr(avemo_last_error(), "actor") != NULL, "message: %s", avemo_last_error());
    dataset_free(&ds);
}

/* The real shared audio tree (actors 1-12): default protocol, 6 folds of 2 test actors, no leak. */
static void test_shared_ravdess(void) {
    const char *root = shared_path("data/ravdess-speech");
    if (!root) return;
    dataset ds;
    dataset_options o = {.kind = DATASET_RAVDESS, .need = DATASET_NEED_AUDIO};
    if (dataset_scan(root, &o, &ds)) {
        CHECK(0, "scan: %s", avemo_last_error());
        return;
    }
    protocol_spec p;
    fold_set fs;
    CHECK(protocol_parse(protocol_default(ds.kind), &p) == 0 && protocol_make_folds(&p, &ds, 1, &fs) == 0, "%s",
          avemo_last_error());
    CHECK(fs.n_folds == 6 && fs.speaker_independent, "6 folds");
    for (int k = 0; k < fs.n_folds; k++) {
        fold *f = &fs.folds[k];
        CHECK(f->n_test == 120 && f->n_val == 120 && f->n_train == 480, "fold %d: %d/%d/%d", k, f->n_train, f->n_val,
              f->n_test);
        CHECK(f->val_actors[0] % 2 != f->val_actors[1] % 2, "fold %d: one male, one female validation actor", k);
    }
    CHECK(fold_set_check_disjoint(&fs, &ds) == 0, "%s", avemo_last_error());
    fold_set_free(&fs);
    dataset_free(&ds);
}

int main(void) {
    RUN(test_parse);
    RUN(test_kfold_ravdess);
    RUN(test_kfold_cremad);
    RUN(test_kch5);
    RUN(test_lnso_and_all);
    RUN(test_actors_and_random);
    RUN(test_split_imagefolder);
    RUN(test_shared_ravdess);
    return test_summary();
}
