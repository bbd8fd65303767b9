#include "data/protocol.h"

#include "core/err.h"
#include "core/rng.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RANDOM_TEST_FRACTION 0.2
#define RANDOM_VAL_FRACTION 0.1
#define SPLIT_VAL_FRACTION 0.1 /* image folders without a validation split */
#define HOLDOUT_FRACTION 0.1   /* holdout:SEED, per class */

/* ---------------------------------------------------------------- parsing */

static int parse_int(const char *s, const char *end, long lo, long hi, long *v, const char *what, const char *text) {
    char buf[32];
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= sizeof buf)
        return avemo_error(AVEMO_EINVAL, "protocol '%s': %s missing or too long", text, what);
    memcpy(buf, s, n);
    buf[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)buf[i]))
            return avemo_error(AVEMO_EINVAL, "protocol '%s': %s '%s' is not a non-negative integer", text, what, buf);
    errno = 0;
    unsigned long long x = strtoull(buf, NULL, 10);
    if (errno || x < (unsigned long long)lo || x > (unsigned long long)hi)
        return avemo_error(AVEMO_EINVAL, "protocol '%s': %s %s out of range %ld..%ld", text, what, buf, lo, hi);
    *v = (long)x;
    return AVEMO_OK;
}

/* "1,2,5-8" -> actors; empty allowed when allow_empty. */
static int parse_actor_list(const char *s, const char *end, int *out, int *n, int allow_empty, const char *what,
                            const char *text) {
    *n = 0;
    if (s == end) return allow_empty ? AVEMO_OK : avemo_error(AVEMO_EINVAL, "protocol '%s': no %s actors", text, what);
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        if (!comma) comma = end;
        const char *dash = memchr(s, '-', (size_t)(comma - s));
        long a, b;
        int rc = parse_int(s, dash ? dash : comma, 0, 99999, &a, what, text);
        if (rc) return rc;
        b = a;
        if (dash && (rc = parse_int(dash + 1, comma, 0, 99999, &b, what, text))) return rc;
        if (b < a) return avemo_error(AVEMO_EINVAL, "protocol '%s': empty range %ld-%ld", text, a, b);
        for (long x = a; x <= b; x++) {
            for (int i = 0; i < *n; i++)
                if (out[i] == x) return avemo_error(AVEMO_EINVAL, "protocol '%s': actor %ld listed twice", text, x);
            if (*n == PROTOCOL_MAX_ACTORS)
                return avemo_error(AVEMO_EINVAL, "protocol '%s': more than %d actors", text, PROTOCOL_MAX_ACTORS);
            out[(*n)++] = (int)x;
        }
        s = comma < end ? comma + 1 : end;
        if (comma < end && s == end) return avemo_error(AVEMO_EINVAL, "protocol '%s': trailing comma", text);
    }
    return AVEMO_OK;
}

int protocol_parse(const char *text, protocol_spec *p) {
    memset(p, 0, sizeof *p);
    if (!text || !*text)
        return avemo_error(AVEMO_EINVAL,
                           "empty protocol (kfold[:K[:V]], kch5, lnso:N, all, actors:T/V, random:SEED, split, holdout:SEED)");
    if (strlen(text) >= sizeof p->text) return avemo_error(AVEMO_EINVAL, "protocol text too long");
    snprintf(p->text, sizeof p->text, "%s", text);
    const char *end = text + strlen(text);
    if (!strncmp(text, "kfold", 5) && (text[5] == 0 || text[5] == ':')) {
        p->kind = PROTOCOL_KFOLD;
        if (text[5] == ':') {
            const char *s = text + 6, *c = strchr(s, ':');
            long k, v;
            int rc = parse_int(s, c ? c : end, 2, 1000, &k, "number of folds K", text);
            if (rc) return rc;
            p->n_folds = (int)k;
            if (c) {
                if ((rc = parse_int(c + 1, end, 0, 10000, &v, "number of validation actors V", text))) return rc;
                p->n_val = v ? (int)v : -1;
            }
        }
        return AVEMO_OK;
    }
    if (!strcmp(text, "kch5")) {
        p->kind = PROTOCOL_KCH5;
        return AVEMO_OK;
    }
    if (!strcmp(text, "all")) {
        p->kind = PROTOCOL_ALL;
        return AVEMO_OK;
    }
    if (!strncmp(text, "lnso:", 5)) {
        long n;
        int rc = parse_int(text + 5, end, 1, 10000, &n, "actors per block N", text);
        if (rc) return rc;
        p->kind = PROTOCOL_LNSO;
        p->block = (int)n;
        return AVEMO_OK;
    }
    if (!strcmp(text, "split")) {
        p->kind = PROTOCOL_SPLIT;
        return AVEMO_OK;
    }
    if (!strncmp(text, "actors:", 7)) {
        p->kind = PROTOCOL_ACTORS;
        const char *s = text + 7, *slash = strchr(s, '/');
        int rc = parse_actor_list(s, slash ? slash : end, p->test_actors, &p->n_test_actors, 0, "test", text);
        if (!rc && slash) rc = parse_actor_list(slash + 1, end, p->val_actors, &p->n_val_actors, 1, "validation", text);
        if (rc) return rc;
        for (int i = 0; i < p->n_test_actors; i++)
            for (int j = 0; j < p->n_val_actors; j++)
                if (p->test_actors[i] == p->val_actors[j])
                    return avemo_error(AVEMO_EINVAL, "protocol '%s': actor %d is both a test and a validation actor",
                                       text, p->test_actors[i]);
        return AVEMO_OK;
    }
    int holdout = !strncmp(text, "holdout:", 8);
    if (holdout || !strncmp(text, "random:", 7)) { /* holdout:SEED, random:SEED */
        p->kind = holdout ? PROTOCOL_HOLDOUT : PROTOCOL_RANDOM;
        long seed;
        int rc = parse_int(strchr(text, ':') + 1, end, 0, 2147483647L, &seed, "seed", text);
        if (rc) return rc;
        p->seed = (uint64_t)seed;
        return AVEMO_OK;
    }
    return avemo_error(AVEMO_EINVAL,
                       "unknown protocol '%s' (kfold[:K[:V]], kch5, lnso:N, all, actors:T/V, random:SEED, split, holdout:SEED)",
                       text);
}

const char *protocol_default(dataset_kind kind) {
    return kind == DATASET_RAVDESS ? "kfold:6" : kind == DATASET_CREMAD ? "kfold:5" : "split";
}

/* ---------------------------------------------------------------- folds */

void fold_set_free(fold_set *fs) {
    for (int i = 0; i < fs->n_folds; i++) {
        free(fs->folds[i].train);
        free(fs->folds[i].val);
        free(fs->folds[i].test);
    }
    free(fs->folds);
    memset(fs, 0, sizeof *fs);
}

static int in_list(int a, const int *l, int n) {
    for (int i = 0; i < n; i++)
        if (l[i] == a) return 1;
    return 0;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int alloc_fold(fold *f, int n) {
    f->train = malloc((n ? n : 1) * sizeof(int));
    f->val = malloc((n ? n : 1) * sizeof(int));
    f->test = malloc((n ? n : 1) * sizeof(int));
    if (!f->train || !f->val || !f->test) return avemo_error(AVEMO_ENOMEM, "out of memory");
    return AVEMO_OK;
}

/* Assign each sample by its actor: test actors -> test, val actors -> val, others -> train. */
static int fold_by_actors(fold *f, const dataset *ds) {
    int rc = alloc_fold(f, ds->n);
    if (rc) return rc;
    for (int i = 0; i < ds->n; i++) {
        int a = ds->samples[i].actor;
        if (in_list(a, f->test_actors, f->n_test_actors)) f->test[f->n_test++] = i;
        else if (in_list(a, f->val_actors, f->n_val_actors)) f->val[f->n_val++] = i;
        else f->train[f->n_train++] = i;
    }
    return AVEMO_OK;
}

static void fmt_actors(char *buf, size_t cap, const int *a, int n) {
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len + 8 < cap; i++) len += snprintf(buf + len, cap - len, i ? ",%d" : "%d", a[i]);
}

static int require_actors(const dataset *ds, const char *text) {
    for (int i = 0; i < ds->n; i++)
        if (ds->samples[i].actor < 0)
            return avemo_error(AVEMO_EINVAL,
                               "protocol '%s' splits by actor, but %s samples have no actor ids (use split or random:SEED)",
                               text, dataset_kind_name(ds->kind));
    return AVEMO_OK;
}

/* Draw n_val validation actors from `pool` (the fold's training actors). RAVDESS actors alternate gender
 * (odd male, even female), so the draw takes n_val/2 even and the rest odd, each by a seeded shuffle. */
static void draw_val_actors(int *pool, int n_pool, int n_val, int balance_parity, uint64_t seed, int fold_index,
                            int *val) {
    rng_t r;
    rng_seed(&r, seed * 0x9E3779B97F4A7C15ULL + (uint64_t)fold_index + 1);
    rng_shuffle_int(&r, pool, n_pool);
    if (!balance_parity) {
        memcpy(val, pool, n_val * sizeof *val);
    } else {
        int want_even = n_val / 2, want_odd = n_val - want_even, k = 0;
        for (int i = 0; i < n_pool && k < n_val; i++) { /* first pass: respect the quota of each parity */
            int even = pool[i] % 2 == 0;
            if (even && want_even > 0) { val[k++] = pool[i]; want_even--; pool[i] = -1; }
            else if (!even && want_odd > 0) { val[k++] = pool[i]; want_odd--; pool[i] = -1; }
        }
        for (int i = 0; i < n_pool && k < n_val; i++) /* one parity ran short: fill from the other */
            if (pool[i] >= 0) val[k++] = pool[i];
    }
    qsort(val, n_val, sizeof *val, cmp_int);
}

static int make_kfold(const protocol_spec *p, const dataset *ds, uint64_t seed, fold_set *fs) {
    int rc = require_actors(ds, p->text);
    if (rc) return rc;
    int actors[PROTOCOL_MAX_ACTORS];
    int n_actors = dataset_actors(ds, actors, PROTOCOL_MAX_ACTORS);
    int n_folds = p->n_folds ? p->n_folds : ds->kind == DATASET_CREMAD ? 5 : 6;
    if (n_actors > PROTOCOL_MAX_ACTORS) return avemo_error(AVEMO_EINVAL, "more than %d actors", PROTOCOL_MAX_ACTORS);
    if (n_folds > n_actors)
        return avemo_error(AVEMO_EINVAL, "protocol '%s': %d folds but only %d actors in the dataset", p->text,
                           n_folds, n_actors);
    fs->folds = calloc(n_folds, sizeof *fs->folds);
    if (!fs->folds) return avemo_error(AVEMO_ENOMEM, "out of memory");
    fs->n_folds = n_folds;
    int start = 0, n_val_used = 0;
    for (int k = 0; k < n_folds; k++) {
        fold *f = &fs->folds[k];
        int size = n_actors / n_folds + (k < n_actors % n_folds);
        memcpy(f->test_actors, actors + start, size * sizeof *actors);
        f->n_test_actors = size;
        int pool[PROTOCOL_MAX_ACTORS], n_pool = 0;
        for (int i = 0; i < n_actors; i++)
            if (i < start || i >= start + size) pool[n_pool++] = actors[i];
        start += size;
        int n_val = p->n_val < 0 ? 0 : p->n_val ? p->n_val : size;
        if (n_val >= n_pool)
            return avemo_error(AVEMO_EINVAL, "protocol '%s': %d validation actors leave no training actor in fold %d",
                               p->text, n_val, k + 1);
        draw_val_actors(pool, n_pool, n_val, ds->kind == DATASET_RAVDESS, seed, k, f->val_actors);
        f->n_val_actors = n_val;
        n_val_used = n_val;
        if ((rc = fold_by_actors(f, ds))) return rc;
    }
    snprintf(fs->desc, sizeof fs->desc,
             "speaker-independent %d-fold by actor over %d actors (contiguous blocks of the sorted actors, each "
             "tested once); %d validation actors per fold drawn from the training actors with seed %llu%s",
             n_folds, n_actors, n_val_used, (unsigned long long)seed,
             ds->kind == DATASET_RAVDESS ? " (half male, half female)" : "");
    return AVEMO_OK;
}

static int make_kch5(const protocol_spec *p, const dataset *ds, fold_set *fs) {
    int rc = require_actors(ds, p->text);
    if (rc) return rc;
    if (ds->kind != DATASET_RAVDESS)
        return avemo_error(AVEMO_EINVAL, "protocol kch5 is defined for RAVDESS actors 1-24 only");
    fs->folds = calloc(5, sizeof *fs->folds);
    if (!fs->folds) return avemo_error(AVEMO_ENOMEM, "out of memory");
    fs->n_folds = 5;
    for (int k = 0; k < 5; k++) {
        fold *f = &fs->folds[k];
        for (int i = 0; i < 4; i++) {
            f->test_actors[i] = 4 * k + 1 + i;
            f->val_actors[i] = 4 * k + 5 + i;
        }
        f->n_test_actors = f->n_val_actors = 4;
        if ((rc = fold_by_actors(f, ds))) return rc;
        if (f->n_test == 0)
            return avemo_error(AVEMO_EINVAL, "protocol kch5 fold %d: none of its test actors %d-%d is in the dataset",
                               k + 1, 4 * k + 1, 4 * k + 4);
    }
    snprintf(fs->desc, sizeof fs->desc,
             "the baseline's 5 folds (kch5): test 1-4/val 5-8, test 5-8/val 9-12, ..., test 17-20/val 21-24; "
             "other actors train; actors 21-24 are never tested");
    return AVEMO_OK;
}

static int make_lnso(const protocol_spec *p, const dataset *ds, fold_set *fs) {
    int rc = require_actors(ds, p->text);
    if (rc) return rc;
    int actors[PROTOCOL_MAX_ACTORS];
    int n_actors = dataset_actors(ds, actors, PROTOCOL_MAX_ACTORS), N = p->block;
    if (n_actors > PROTOCOL_MAX_ACTORS) return avemo_error(AVEMO_EINVAL, "more than %d actors", PROTOCOL_MAX_ACTORS);
    if (n_actors % N || n_actors / N < 3)
        return avemo_error(AVEMO_EINVAL, "protocol '%s': %d actors do not make 3 or more blocks of %d", p->text,
                           n_actors, N);
    int n_folds = n_actors / N;
    fs->folds = calloc(n_folds, sizeof *fs->folds);
    if (!fs->folds) return avemo_error(AVEMO_ENOMEM, "out of memory");
    fs->n_folds = n_folds;
    for (int k = 0; k < n_folds; k++) {
        fold *f = &fs->folds[k];
        memcpy(f->test_actors, actors + k * N, N * sizeof *actors);
        memcpy(f->val_actors, actors + (k + 1) % n_folds * N, N * sizeof *actors);
        f->n_test_actors = f->n_val_actors = N;
        if ((rc = fold_by_actors(f, ds))) return rc;
    }
    snprintf(fs->desc, sizeof fs->desc,
             "leave-%d-actors-out over %d actors (the baseline's fold layout: fold k tests the k-th block of %d sorted "
             "actors and validates on the next block, the last on the first); %d folds, the other actors train",
             N, n_actors, N, n_folds);
    return AVEMO_OK;
}

static int make_all(const dataset *ds, fold_set *fs) {
    fs->folds = calloc(1, sizeof *fs->folds);
    if (!fs->folds) return avemo_error(AVEMO_ENOMEM, "out of memory");
    fs->n_folds = 1;
    fold *f = &fs->folds[0];
    int rc = alloc_fold(f, ds->n);
    if (rc) return rc;
    for (int i = 0; i < ds->n; i++) f->train[f->n_train++] = i;
    snprintf(fs->desc, sizeof fs->desc, "every sample trains (no validation, no test: the last epoch is kept)");
    return AVEMO_OK;
}

static int make_actors(const protocol_spec *p, const dataset *ds, fold_set *fs) {
    int rc = require_actors(ds, p->text);
    if (rc) return rc;
    int actors[PROTOCOL_MAX_ACTORS];
    int n_actors = dataset_actors(ds, actors, PROTOCOL_MAX_ACTORS);
    for (int i = 0; i < p->n_test_actors; i++)
        if (!in_list(p->test_actors[i], actors, n_actors))
            return avemo_error(AVEMO_EINVAL, "protocol '%s': test actor %d is not in the dataset", p->text, p->test_actors[i]);
    for (int i = 0; i < p->n_val_actors; i++)
        if (!in_list(p->val_actors[i], actors, n_actors))
            return avemo_error(AVEMO_EINVAL, "protocol '%s': validation actor %d is not in the dataset", p->text,
                               p->val_actors[i]);
    fs->folds = calloc(1, sizeof *fs->folds);
    if (!fs->folds) return avemo_error(AVEMO_ENOMEM, "out of memory");
    fs->n_folds = 1;
    fold *f = &fs->folds[0];
    memcpy(f->test_actors, p->test_actors, sizeof f->test_actors);
    memcpy(f->val_actors, p->val_actors, sizeof f->val_actors);
    f->n_test_actors = p->n_test_actors;
    f->n_val_actors = p->n_val_actors;
    qsort(f->test_actors, f->n_test_actors, sizeof(int), cmp_int);
    qsort(f->val_actors, f->n_val_actors, sizeof(int), cmp_int);
    if ((rc = fold_by_actors(f, ds))) return rc;
    if (f->n_train == 0) return avemo_error(AVEMO_EINVAL, "protocol '%s' leaves no training actor", p->text);
    char t[200], v[200];
    fmt_actors(t, sizeof t, f->test_actors, f->n_test_actors);
    fmt_actors(v, sizeof v, f->val_actors, f->n_val_actors);
    snprintf(fs->desc, sizeof fs->desc, "one speaker-independent split: test actors %s, validation actors %s%s", t,
             f->n_val_actors ? v : "(none)", "; the other actors train");
    return AVEMO_OK;
}

/* Shuffle `idx` (n) with `seed`; first n_test -> test, next n_val -> val, rest -> train; each sorted. */
static int split_indices(fold *f, const int *idx, int n, int n_test, int n_val, uint64_t seed) {
    int *perm = malloc((n ? n : 1) * sizeof *perm);
    if (!perm) return avemo_error(AVEMO_ENOMEM, "out of memory");
    memcpy(perm, idx, n * sizeof *perm);
    rng_t r;
    rng_seed(&r, seed);
    rng_shuffle_int(&r, perm, n);
    for (int i = 0; i < n; i++) {
        if (i < n_test) f->test[f->n_test++] = perm[i];
        else if (i < n_test + n_val) f->val[f->n_val++] = perm[i];
        else f->train[f->n_train++] = perm[i];
    }
    free(perm);
    qsort(f->test, f->n_test, sizeof(int), cmp_int);
    qsort(f->val, f->n_val, sizeof(int), cmp_int);
    qsort(f->train, f->n_train, sizeof(int), cmp_int);
    return AVEMO_OK;
}

static int make_random(const protocol_spec *p, const dataset *ds, fold_set *fs) {
    fs->folds = calloc(1, sizeof *fs->folds);
    if (!fs->folds) return avemo_error(AVEMO_ENOMEM, "out of memory");
    fs->n_folds = 1;
    fold *f = &fs->folds[0];
    int rc = alloc_fold(f, ds->n);
    int *all = malloc((ds->n ? ds->n : 1) * sizeof *all);
    if (rc || !all) { free(all); return rc ? rc : avemo_error(AVEMO_ENOMEM, "out of memory"); }
    for (int i = 0; i < ds->n; i++) all[i] = i;
    int n_test = (int)(ds->n * RANDOM_TEST_FRACTION + 0.5), n_val = (int)(ds->n * RANDOM_VAL_FRACTION + 0.5);
    rc = split_indices(f, all, ds->n, n_test, n_val, p->seed);
    free(all);
    if (!rc && (f->n_train == 0 || f->n_test == 0))
        rc = avemo_error(AVEMO_EINVAL, "protocol '%s': %d samples are too few to split", p->text, ds->n);
    snprintf(fs->desc, sizeof fs->desc,
             "utterance-level random split with seed %llu (%.0f%% test, %.0f%% validation): speakers appear in "
             "train and test, so the numbers are NOT speaker-independent",
             (unsigned long long)p->seed, 100 * RANDOM_TEST_FRACTION, 100 * RANDOM_VAL_FRACTION);
    return rc;
}

/* holdout:SEED: per class, its samples shuffled with the seed (mixed with the class index), the first
 * round(HOLDOUT_FRACTION n_c) held out (test), the rest train. */
static int make_holdout(const protocol_spec *p, const dataset *ds, fold_set *fs) {
    fs->folds = calloc(1, sizeof *fs->folds);
    if (!fs->folds) return avemo_error(AVEMO_ENOMEM, "out of memory");
    fs->n_folds = 1;
    fold *f = &fs->folds[0];
    int rc = alloc_fold(f, ds->n);
    int *cls = malloc((ds->n ? ds->n : 1) * sizeof *cls);
    if (rc || !cls) {
        free(cls);
        return rc ? rc : avemo_error(AVEMO_ENOMEM, "out of memory");
    }
    for (int k = 0; k < ds->n_classes && !rc; k++) {
        int n = 0;
        for (int i = 0; i < ds->n; i++)
            if (ds->samples[i].label == k) cls[n++] = i;
        fold part = {0};
        part.train = f->train + f->n_train; /* append after what earlier classes put there */
        part.test = f->test + f->n_test;
        part.val = f->val;
        rc = split_indices(&part, cls, n, (int)(n * HOLDOUT_FRACTION + 0.5), 0, p->seed * 1000003ull + (uint64_t)k);
        f->n_train += part.n_train;
        f->n_test += part.n_test;
    }
    free(cls);
    qsort(f->test, f->n_test, sizeof(int), cmp_int);
    qsort(f->train, f->n_train, sizeof(int), cmp_int);
    if (!rc && (f->n_train == 0 || f->n_test == 0))
        rc = avemo_error(AVEMO_EINVAL, "protocol '%s': %d samples are too few to hold out 10%% per class", p->text,
                         ds->n);
    snprintf(fs->desc, sizeof fs->desc,
             "class-stratified hold-out with seed %llu: %.0f%% of each class held out and scored with the final "
             "epoch's model (no epoch selection), the rest train; not speaker-independent",
             (unsigned long long)p->seed, 100 * HOLDOUT_FRACTION);
    return rc;
}

static int split_role(const char *name) { /* 0 train, 1 val, 2 test */
    if (!strcasecmp(name, "test") || !strcasecmp(name, "privatetest")) return 2;
    if (!strcasecmp(name, "val") || !strcasecmp(name, "valid") || !strcasecmp(name, "validation") ||
        !strcasecmp(name, "publictest"))
        return 1;
    return 0;
}

static int make_split(const dataset *ds, uint64_t seed, fold_set *fs) {
    fs->folds = calloc(1, sizeof *fs->folds);
    if (!fs->folds) return avemo_error(AVEMO_ENOMEM, "out of memory");
    fs->n_folds = 1;
    fold *f = &fs->folds[0];
    int rc = alloc_fold(f, ds->n);
    if (rc) return rc;
    int has_val = 0;
    for (int i = 0; i < ds->n_splits; i++) has_val |= split_role(ds->split_names[i]) == 1;
    int n_train = 0;
    for (int i = 0; i < ds->n; i++) {
        int role = split_role(ds->split_names[ds->samples[i].split]);
        if (role == 2) f->test[f->n_test++] = i;
        else if (role == 1) f->val[f->n_val++] = i;
        else f->train[n_train++] = i;
    }
    if (f->n_test == 0)
        return avemo_error(AVEMO_EINVAL,
                           "protocol split: %s has no test split folder (test or PrivateTest); use random:SEED",
                           ds->root);
    if (!has_val) { /* take SPLIT_VAL_FRACTION of train as validation */
        int *tr = malloc((n_train ? n_train : 1) * sizeof *tr);
        if (!tr) return avemo_error(AVEMO_ENOMEM, "out of memory");
        memcpy(tr, f->train, n_train * sizeof *tr);
        rc = split_indices(f, tr, n_train, 0, (int)(n_train * SPLIT_VAL_FRACTION + 0.5), seed);
        free(tr);
    } else {
        f->n_train = n_train;
    }
    snprintf(fs->desc, sizeof fs->desc, "the dataset's split folders (test: test/PrivateTest; validation: %s)",
             has_val ? "val/valid/validation/PublicTest" : "10% of train drawn with the seed");
    return rc;
}

int fold_set_check_disjoint(const fold_set *fs, const dataset *ds) {
    for (int k = 0; k < fs->n_folds; k++) {
        const fold *f = &fs->folds[k];
        const int *lists[3] = {f->train, f->val, f->test};
        const int ns[3] = {f->n_train, f->n_val, f->n_test};
        static const char *const names[3] = {"train", "validation", "test"};
        /* role of each actor seen so far: bit per list */
        int seen_cap = 0, *seen_actor = NULL, *seen_role = NULL, n_seen = 0, rc = AVEMO_OK;
        for (int l = 0; l < 3 && !rc; l++)
            for (int i = 0; i < ns[l] && !rc; i++) {
                int a = ds->samples[lists[l][i]].actor, j;
                for (j = 0; j < n_seen && seen_actor[j] != a; j++) {}
                if (j < n_seen) {
                    if (seen_role[j] != l)
                        rc = avemo_error(AVEMO_EINTERNAL, "fold %d: actor %d is in both %s and %s", k + 1, a,
                                         names[seen_role[j]], names[l]);
                    continue;
                }
                if (n_seen == seen_cap) {
                    seen_cap = seen_cap ? 2 * seen_cap : 64;
                    int *na = realloc(seen_actor, seen_cap * sizeof *na);
                    if (na) seen_actor = na;
                    int *nr = realloc(seen_role, seen_cap * sizeof *nr);
                    if (nr) seen_role = nr;
                    if (!na || !nr) { rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
                }
                seen_actor[n_seen] = a;
                seen_role[n_seen++] = l;
            }
        free(seen_actor);
        free(seen_role);
        if (rc) return rc;
    }
    return AVEMO_OK;
}

int protocol_make_folds(const protocol_spec *p, const dataset *ds, uint64_t seed, fold_set *out) {
    memset(out, 0, sizeof *out);
    int rc;
    switch (p->kind) {
    case PROTOCOL_KFOLD: rc = make_kfold(p, ds, seed, out); break;
    case PROTOCOL_KCH5: rc = make_kch5(p, ds, out); break;
    case PROTOCOL_ACTORS: rc = make_actors(p, ds, out); break;
    case PROTOCOL_RANDOM: rc = make_random(p, ds, out); break;
    case PROTOCOL_SPLIT: rc = make_split(ds, seed, out); break;
    case PROTOCOL_HOLDOUT: rc = make_holdout(p, ds, out); break;
    case PROTOCOL_LNSO: rc = make_lnso(p, ds, out); break;
    case PROTOCOL_ALL: rc = make_all(ds, out); break;
    default: rc = avemo_error(AVEMO_EINVAL, "unknown protocol kind %d", (int)p->kind);
    }
    if (!rc && (p->kind == PROTOCOL_KFOLD || p->kind == PROTOCOL_KCH5 || p->kind == PROTOCOL_ACTORS ||
                p->kind == PROTOCOL_LNSO)) {
        rc = fold_set_check_disjoint(out, ds);
        out->speaker_independent = rc == AVEMO_OK;
    }
    if (rc) fold_set_free(out);
    return rc;
}
