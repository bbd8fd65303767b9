/* Evaluation protocols: which samples train, select (validation) and test each fold (spec section 1).
 *
 *   kfold[:K[:V]]   speaker-independent K-fold by actor (default: RAVDESS K = 6, CREMA-D K = 5). The sorted
 *                   actors are cut into K contiguous blocks (RAVDESS 6 folds: 1-4, 5-8, ..., 21-24, each
 *                   2 male + 2 female); fold k tests block k, so every actor is tested exactly once.
 *                   Validation: V actors drawn from that fold's training actors by a seeded shuffle
 *                   (default V = the test block's size; RAVDESS: half odd = male, half even = female),
 *                   the rest train. Deterministic from the seed.
 *   kch5            the baseline's 5 RAVDESS folds: test 1-4/val 5-8, test 5-8/val 9-12, ...,
 *                   test 17-20/val 21-24 (actors 21-24 never tested); the other actors train.
 *   lnso:N          leave-N-actors-out with the baseline's fold layout: the sorted actors cut into blocks of N,
 *                   fold k tests block k and validates on the next block (the last fold on the first), the
 *                   other actors train; every actor is tested once (12 actors, lnso:2: 6 folds, test 1,2 /
 *                   val 3,4, ..., test 11,12 / val 1,2). Nothing is drawn.
 *   all             one fold: every actor trains, none validates or tests (a final model for deployment; the
 *                   last epoch is kept)
 *   actors:T/V      one split: test actors T, validation actors V (comma lists, ranges a-b allowed),
 *                   e.g. actors:1,2,3,4/5,6 ; the other actors train.
 *   random:SEED     one utterance-level split (20 % test, 10 % validation), leaks speakers: comparison only.
 *   split           image folders: folders named test/PrivateTest test, val/valid/validation/PublicTest
 *                   validate (or 10 % of train by seed if none), the rest train.
 *   holdout:SEED    a class-stratified 10 % of all samples held out (per class, round(10 % of its samples),
 *                   drawn by a seeded shuffle of that class), the rest train; no validation, so the final
 *                   epoch's model is scored on the held-out part (the fold's "test"): a validation split for
 *                   choosing settings when a dataset ships no test split (FER2013's train/ alone).
 */
#ifndef AVEMO_DATA_PROTOCOL_H
#define AVEMO_DATA_PROTOCOL_H
#include "data/dataset.h"

#include <stdint.h>

typedef enum {
    PROTOCOL_KFOLD,
    PROTOCOL_KCH5,
    PROTOCOL_ACTORS,
    PROTOCOL_RANDOM,
    PROTOCOL_SPLIT,
    PROTOCOL_LNSO,
    PROTOCOL_ALL,
    PROTOCOL_HOLDOUT
} protocol_kind;

#define PROTOCOL_MAX_ACTORS 128

typedef struct {
    protocol_kind kind;
    int n_folds;    /* kfold: folds K (0 = dataset default) */
    int n_val;      /* kfold: validation actors per fold (0 = default, -1 = given as 0: no validation) */
    int block;      /* lnso:N: actors per test (and validation) block */
    uint64_t seed;  /* random:SEED, holdout:SEED */
    int n_test_actors, n_val_actors;                    /* actors:T/V */
    int test_actors[PROTOCOL_MAX_ACTORS], val_actors[PROTOCOL_MAX_ACTORS];
    char text[256]; /* canonical spelling, for reports */
} protocol_spec;

typedef struct {
    int n_train, n_val, n_test;
    int *train, *val, *test; /* sample indices into the dataset, ascending */
    int n_test_actors, n_val_actors;
    int test_actors[PROTOCOL_MAX_ACTORS], val_actors[PROTOCOL_MAX_ACTORS];
} fold;

typedef struct {
    int n_folds;
    fold *folds;
    int speaker_independent; /* 1 when no actor is in two of train/val/test of a fold */
    char desc[512];          /* one line: what the protocol did (for logs and reports) */
} fold_set;

/* Parse "kfold", "kfold:6", "kfold:6:4", "kch5", "lnso:2", "all", "actors:1,2,3,4/5,6", "random:7", "split",
 * "holdout:1".
 * AVEMO_EINVAL with a message naming the problem on bad text. */
int protocol_parse(const char *text, protocol_spec *out);
/* The dataset's default protocol text: RAVDESS "kfold:6", CREMA-D "kfold:5", image folders "split". */
const char *protocol_default(dataset_kind kind);

/* Build the folds. `seed` drives the validation-actor draw of kfold (and the split protocol's fallback). */
int protocol_make_folds(const protocol_spec *p, const dataset *ds, uint64_t seed, fold_set *out);
void fold_set_free(fold_set *fs);

/* Check that no actor appears in two of train/val/test in any fold (AVEMO_EINTERNAL naming the actor). */
int fold_set_check_disjoint(const fold_set *fs, const dataset *ds);

#endif
