/* avemo prep: scan a dataset and write its features into a cache folder (data/cache.h), in parallel,
 * resumable, with a log of the clips that could not be used (data/prep.h). */
#include "cli/cli_args.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/featurizer_args.h"
#include "core/dist.h"
#include "core/err.h"
#include "core/progress.h"
#include "data/cache.h"
#include "data/dataset.h"
#include "data/prep.h"

#include <inttypes.h>
#include <stdio.h>

#define SHOW_SKIPPED 5 /* scan skips printed to stderr; all are in CACHE/skipped.log */

typedef struct {
    prep_options prep;
    dataset_options dataset;
    const char *input, *out;
    int modality;    /* DATASET_NEED_* bits; 0 = the dataset's (prep_options_for_dataset) */
    int frames_kind; /* video_frames_kind; -1 = the dataset's */
    double orders[AVEMO_FRFT_MFCC_MAX_ORDERS];
    int n_orders; /* 0: not given */
    int recipe;   /* prep_recipe */
} prep_args;

static int parse_dataset(const char *value, void *field) { return dataset_kind_parse(value, field); }

static const cli_choice modalities[] = {{"av", DATASET_NEED_AUDIO | DATASET_NEED_VIDEO},
                                        {"audio", DATASET_NEED_AUDIO},
                                        {"video", DATASET_NEED_VIDEO},
                                        {NULL, 0}};
static const cli_choice audio_features[] = {
    {"mfcc", AUDIO_FEATURES_MFCC}, {"frft-mfcc", AUDIO_FEATURES_FRFT_MFCC}, {NULL, 0}};
static const cli_choice recipes[] = {{"voice", PREP_RECIPE_VOICE}, {"paper", PREP_RECIPE_PAPER}, {NULL, 0}};
static const cli_choice frames_kinds[] = {{"detect", VIDEO_FRAMES_FACES}, {"whole", VIDEO_FRAMES_WHOLE}, {NULL, 0}};

static const cli_option prep_dataset_table[] = {
    {CLI_CUSTOM(prep_args, dataset.kind, "--dataset", "ravdess|cremad|imagefolder", parse_dataset), .required = 1,
     .help = "the dataset's layout"},
    {CLI_STRING(prep_args, input, "--input", "DIR"), .required = 1, .help = "the dataset's folder"},
    {CLI_STRING(prep_args, out, "--out", "CACHE"), .required = 1, .help = "the cache folder"},
    {CLI_CHOICE(prep_args, modality, "--modality", modalities),
     .help = "streams to prepare (default av; imagefolder: video)"},
    {CLI_INT(prep_args, dataset.n_classes, "--classes", "8|7", CLI_IN(2, DATASET_MAX_CLASSES)),
     .help = "RAVDESS: 7 merges calm into neutral (default 8)"},
    {CLI_FLAG(prep_args, dataset.include_song, "--song"), .help = "RAVDESS: include song clips (default speech only)"},
    {CLI_FLAG(prep_args, dataset.both_videos, "--ravdess-both-videos"),
     .help = "RAVDESS: one sample per 01- and per 02- video (the baseline's 2,880)"},
    {CLI_INT(prep_args, prep.jobs, "--jobs", "N", CLI_IN(1, 1024)), .help = "worker threads (default: all cores)"},
    {0}};

static const cli_option prep_audio_table[] = {
    {CLI_CHOICE(prep_args, recipe, "--recipe", recipes),
     .help = "voice: the features the voice recipe of train was measured with (the\n"
             "coefficients + the 2 --pitch rows; default for --modality audio);\n"
             "paper: the paper's features alone (default for av and video)"},
    {CLI_CHOICE(prep_args, prep.features.audio_features, "--features", audio_features),
     .help = "audio features (default mfcc)"},
    {CLI_DOUBLES(prep_args, orders, n_orders, AVEMO_FRFT_MFCC_MAX_ORDERS, "--frft-order", "A", CLI_ANY),
     .help = "FRFT order for frft-mfcc (default " CLI_STR(AVEMO_FRFT_ORDER_DEFAULT) ")"},
    {CLI_DOUBLES(prep_args, orders, n_orders, AVEMO_FRFT_MFCC_MAX_ORDERS, "--frft-orders", "A,B,...", CLI_ANY),
     .help = "several orders stacked as channels"},
    {CLI_INT(prep_args, prep.features.deltas, "--deltas", "N", CLI_IN(0, 2)),
     .help = "append the coefficients' librosa deltas (1) and delta-deltas (2) as\n"
             "more channels (default 0)"},
    {CLI_FLAG(prep_args, prep.features.pitch, "--pitch"),
     .help = "append 2 pitch channels: YIN log2(f0 / 100 Hz) where voiced, and the\n"
             "periodicity (on with --recipe voice)"},
    {CLI_DOUBLE(prep_args, prep.features.speed, "--speed", "F", CLI_IN(FEATURIZER_SPEED_MIN, FEATURIZER_SPEED_MAX)),
     .help = "--modality audio: the audio played F times faster (tempo and pitch, as\n"
             "sox's speed; default 1): extra training copies for train --train-extra"},
    {0}};

static const cli_option prep_video_table[] = {
    {CLI_INT(prep_args, prep.features.faces.frames, "--frames", "N", CLI_IN(1, 1000)),
     .help = "video frames per clip (default " CLI_STR(AVEMO_FRAMES_PER_CLIP) ")"},
    {CLI_INT(prep_args, prep.features.faces.size, "--size", "PX", CLI_IN(8, 4096)),
     .help = "side of the stored frames (default 224; FER2013 for train --finetune: 48,\n"
             "its native size)"},
    {CLI_CHOICE(prep_args, frames_kind, "--faces", frames_kinds),
     .help = "MTCNN face crops (default for videos), or the whole frame resized\n"
             "(default for image folders, which hold face crops already, e.g. FER2013)"},
    {CLI_INT(prep_args, prep.features.faces.detect_max_side, "--detect-size", "PX", CLI_IN(0, 100000)),
     .help = "first MTCNN pass on frames shrunk to this longer side (0 = full size)"},
    {CLI_STRING(prep_args, prep.mtcnn_path, "--mtcnn", "PATH"), .help = MTCNN_PATH_HELP},
    {CLI_STRING(prep_args, prep.features.backbone_path, "--backbone", "W.safetensors"),
     .help = "also store frozen MobileNetV2 embeddings [T, 1280] (what train reads)"},
    {0}};

static const cli_command prep_command = {
    .name = "prep",
    .about = "  Scans DIR, computes the features of every sample and writes them to the cache folder CACHE\n"
             "  (CACHE/index.json, CACHE/audio/<id>.npy [C, 156], CACHE/faces/<id>.npy uint8 [T, 224, 224],\n"
             "  CACHE/feats/<id>.npy [T, 1280] with --backbone, CACHE/skipped.log). Rerunning with the same\n"
             "  settings resumes: samples already in the cache are skipped. Damaged clips are logged and skipped.\n"
             "  Under mpirun / srun (a build with MPI=1) the samples are shared out over the ranks.\n",
    .groups = {{NULL, prep_dataset_table, 0},
               {"audio:", prep_audio_table, 0},
               {"MFCC:", mfcc_cli_options, offsetof(prep_args, prep.features.mfcc)},
               {"video:", prep_video_table, 0},
               {"face crops:", face_crop_cli_options, offsetof(prep_args, prep.features.faces)}},
};

/* The failures, the frames without a face and the counts of a finished run. */
static void print_summary(const feature_cache *c, const prep_options *o, const prep_stats *st, const char *out,
                          int n_scanned) {
    if (st->n_failed) {
        fprintf(stderr, "avemo prep: %d clip%s failed (reasons in %s/skipped.log), e.g.:\n", st->n_failed,
                st->n_failed == 1 ? "" : "s", out);
        int shown = 0;
        for (int i = 0; i < c->ds.n && shown < SHOW_SKIPPED; i++)
            for (int k = 0; k < CACHE_N_KINDS && shown < SHOW_SKIPPED; k++)
                if (c->error[i][k]) {
                    fprintf(stderr, "  %s: %s\n", cache_kind_name(k), c->error[i][k]);
                    shown++;
                }
    }
    if (st->n_noface)
        fprintf(stderr, "avemo prep: %ld of %ld frames had no face (zero frames) in %d clip%s\n", st->n_noface,
                st->n_frames, st->n_clips_noface, st->n_clips_noface == 1 ? "" : "s");
    printf("prep: %d samples (%d scanned), %d already cached, %d processed in %.1f s, %d failed; ready:", c->ds.n,
           n_scanned, st->n_already, st->n_processed, st->seconds, st->n_failed);
    unsigned want = prep_kinds(o);
    for (int k = 0; k < CACHE_N_KINDS; k++) {
        int done, failed;
        cache_count(c, k, &done, &failed);
        if (want & CACHE_BIT(k)) printf(" %s %d", cache_kind_name(k), done);
    }
    printf("; cache %s, data hash %016" PRIx64 "\n", out, c->data_hash);
}

static void print_scan_skips(const dataset *ds, const char *input, const char *out) {
    if (!ds->n_skipped) return;
    fprintf(stderr, "avemo prep: %d file%s of %s not used (all listed in %s/skipped.log):\n", ds->n_skipped,
            ds->n_skipped == 1 ? "" : "s", input, out);
    for (int k = 0; k < ds->n_skipped && k < SHOW_SKIPPED; k++) {
        char line[2048]; /* a file name's newline or escape sequence is shown escaped */
        text_escape_control(line, sizeof line, ds->skipped[k]);
        fprintf(stderr, "  %s\n", line);
    }
    if (ds->n_skipped > SHOW_SKIPPED) fprintf(stderr, "  ...\n");
}

/* The library calls once the options are complete, and the summary on stdout. */
static int prep_run_command(prep_args *a) {
    prep_dataset_options(&a->dataset, &a->prep);
    int st = prep_check_weights(&a->prep);
    if (st) return cli_fail("prep", st);
    dataset ds;
    if ((st = dataset_scan(a->input, &a->dataset, &ds))) return cli_fail("prep", st);
    if (dist_rank() == 0) print_scan_skips(&ds, a->input, a->out); /* under MPI every rank scanned the same */
    int n_scanned = ds.n;
    feature_cache c;
    if ((st = prep_create_cache(&c, a->out, &ds, &a->dataset, &a->prep))) return cli_fail("prep", st);
    progress bar;
    progress_start(&bar, "prep", c.ds.n);
    prep_stats stats;
    if ((st = prep_run(&c, &a->prep, &bar, &stats))) {
        cache_free(&c);
        return cli_fail("prep", st);
    }
    if (dist_rank() == 0) print_summary(&c, &a->prep, &stats, a->out, n_scanned); /* rank 0 holds every rank's samples */
    cache_free(&c);
    return stats.n_ready > 0 ? 0 : 2; /* no sample could be prepared: every one failed as bad input */
}

int cmd_prep(int argc, char **argv) {
    prep_args a = {.frames_kind = -1};
    prep_options_default(&a.prep);
    int status = cli_parse(&prep_command, argc, argv, &a, NULL);
    if (status != CLI_RUN) return status;
    int st = prep_options_for_dataset(&a.prep, a.dataset.kind, a.modality, a.frames_kind, a.input);
    if (st) return cli_fail("prep", st);
    prep_options_recipe(&a.prep, (prep_recipe)a.recipe);
    if (a.prep.features.speed != 1 && a.prep.features.modality != DATASET_NEED_AUDIO)
        return cli_usage_error("prep", "--speed is for audio caches (--modality audio): the video would not follow");
    if (a.n_orders && a.prep.features.audio_features != AUDIO_FEATURES_FRFT_MFCC)
        return cli_usage_error("prep", "--frft-order needs --features frft-mfcc");
    if (a.n_orders) {
        a.prep.features.n_orders = a.n_orders;
        for (int i = 0; i < a.n_orders; i++) a.prep.features.orders[i] = a.orders[i];
    }
    return prep_run_command(&a);
}
