/* Preprocessing a dataset into the feature cache (what `avemo prep` runs): per sample, the featurizer
 * (data/featurizer.h) computes the features of the chosen modalities and data/cache.h writes them. Parallel
 * over clips (OpenMP), resumable (samples already in the cache are skipped), a damaged clip is recorded with
 * its reason and the run goes on.
 *
 * Per sample: audio features [C, F] (cache audio/) from the 03- file or the video's own track; video frames
 * uint8 [T, S, S(, 3)] (faces/: MTCNN crops, or whole frames for image sets); with a backbone, the frozen
 * MobileNetV2 embeddings float32 [T, 1280] of those frames (feats/: what the trainer's video stream reads).
 */
#ifndef AVEMO_DATA_PREP_H
#define AVEMO_DATA_PREP_H
#include "core/progress.h"
#include "data/cache.h"
#include "data/featurizer.h"

typedef struct {
    featurizer_settings features; /* what the cache holds (its "config"); features.backbone_path: also write feats */
    const char *mtcnn_path;       /* MTCNN weights; NULL: data/weights.h's search */
    int jobs;                     /* worker threads; 0 = OpenMP's default */
} prep_options;

/* The spec's defaults (featurizer_settings_default), no backbone, all cores. */
void prep_options_default(prep_options *o);

/* The cache kinds these options fill: CACHE_BIT(CACHE_AUDIO) | CACHE_BIT(CACHE_FACES) | CACHE_BIT(CACHE_FEATS). */
unsigned prep_kinds(const prep_options *o);

/* The choices the options left to the dataset, then the checks of what they ask together. modality 0 (not
 * chosen): audio and video, video alone for image folders; frames_kind < 0: MTCNN face crops, whole frames for
 * image folders (they hold face crops already). Errors (AVEMO_EINVAL, naming the option or `input`): audio from
 * an image folder, a backbone without video. */
int prep_options_for_dataset(prep_options *o, dataset_kind kind, int modality, int frames_kind, const char *input);

/* The audio features of a recipe (train/recipe.h has its training side). PREP_RECIPE_VOICE adds the 2 pitch rows
 * (dsp/pitch.h) that the voice recipe was measured with (bench/RESULTS.md, "Pitch rows": +3.5 points of
 * validation top-1 on the 12 shared RAVDESS actors); PREP_RECIPE_PAPER leaves the paper's features as they are
 * (pitch only if asked); PREP_RECIPE_AUTO is voice for an audio-only cache (what the voice stream trains on)
 * and paper for av and video caches (the paper's models and tables). Call after prep_options_for_dataset. */
typedef enum { PREP_RECIPE_AUTO, PREP_RECIPE_PAPER, PREP_RECIPE_VOICE } prep_recipe;
void prep_options_recipe(prep_options *o, prep_recipe r);

/* d->need from the options' modality, and a RAVDESS / CREMA-D class count of 0 made the dataset's own (8, 6),
 * so that "--classes 8" and the default give the same cache settings. Call before dataset_scan. */
void prep_dataset_options(dataset_options *d, const prep_options *o);

/* Checks that the weights the options need are readable (MTCNN for face crops, the backbone for embeddings),
 * before the long run: AVEMO_EINVAL naming what is missing. */
int prep_check_weights(const prep_options *o);

/* Create the cache folder `dir` for the scanned dataset `ds` (taken over: the cache frees it) with the options'
 * settings as its "config", or resume it (cache_create; AVEMO_EINVAL when it holds other settings). */
int prep_create_cache(feature_cache *c, const char *dir, dataset *ds, const dataset_options *d, const prep_options *o);

typedef struct {
    int n_samples;     /* in the cache */
    int n_already;     /* complete before this run (resume) */
    int n_processed;   /* attempted in this run */
    int n_failed;      /* of those, failed (reasons in the cache / skipped.log) */
    long n_frames;       /* video frames cropped in this run */
    long n_noface;       /* of those, frames without a face (all zeros) */
    int n_clips_noface;  /* clips with at least one such frame */
    int n_ready;         /* samples with every kind of prep_kinds done */
    double seconds;
} prep_stats;

/* Process every sample of `c` that lacks a kind of prep_kinds(o); saves the index periodically and at the
 * end. Errors only for problems that stop the whole run (bad options, weights, cache unwritable, and a runtime
 * failure in any sample: out of memory, disk full; the index is saved first, so a rerun resumes); a clip that
 * fails as bad input is counted in st->n_failed. `p` may be NULL (no progress display). */
int prep_run(feature_cache *c, const prep_options *o, progress *p, prep_stats *st);

#endif
