/* avemo prep: scan a dataset and write its features into a cache folder (data/cache.h), in parallel,
 * resumable, with a log of the clips that could not be used.
 *
 *   avemo prep --dataset ravdess|cremad|imagefolder --input DIR --out CACHE [--modality av|audio|video]
 *              [--features mfcc|frft-mfcc] [--frft-order A | --frft-orders A,B,..] [--n-mfcc N]
 *              [--pad-mode constant|reflect] [--classes 7|8] [--song] [--ravdess-both-videos]
 *              [--frames 15] [--faces detect|whole] [--color gray|rgb] [--frame-window center|first]
 *              [--reuse-box] [--no-refine] [--detect-size PX] [--mtcnn PATH] [--backbone W.safetensors]
 *              [--jobs N]
 */
#include "avemo.h"
#include "cli/cli_util.h"
#include "core/progress.h"
#include "data/cache.h"
#include "data/dataset.h"
#include "data/prep.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_SKIPPED 5 /* scan skips printed to stderr; all are in CACHE/skipped.log */

static void usage(FILE *f) {
    fprintf(f,
            "usage: avemo prep --dataset ravdess|cremad|imagefolder --input DIR --out CACHE [options]\n"
            "  Scans DIR, computes the features of every sample and writes them to the cache folder CACHE\n"
            "  (CACHE/index.json, CACHE/audio/<id>.npy [C, 156], CACHE/faces/<id>.npy uint8 [T, 224, 224],\n"
            "  CACHE/feats/<id>.npy [T, 1280] with --backbone, CACHE/skipped.log). Rerunning with the same\n"
            "  settings resumes: samples already in the cache are skipped. Damaged clips are logged and skipped.\n"
            "options:\n"
            "  --modality av|audio|video  streams to prepare (default av; imagefolder: video)\n"
            "  --features mfcc|frft-mfcc  audio features (default mfcc)\n"
            "  --frft-order A             FRFT order for frft-mfcc (default 0.95)\n"
            "  --frft-orders A,B,...      several orders stacked as channels\n"
            "  --n-mfcc N                 coefficients per order (default 10)\n"
            "  --pad-mode constant|reflect  STFT edge padding (constant: librosa 0.10; reflect: the baseline)\n"
            "  --classes 8|7              RAVDESS: 7 merges calm into neutral (default 8)\n"
            "  --song                     RAVDESS: include song clips (default speech only)\n"
            "  --ravdess-both-videos      RAVDESS: one sample per 01- and per 02- video (the baseline's 2,880)\n"
            "  --frames N                 video frames per clip (default 15)\n"
            "  --faces detect|whole       MTCNN face crops (default for videos), or the whole frame resized\n"
            "                             (default for image folders, which hold face crops already, e.g. FER2013)\n"
            "  --color gray|rgb           crops in grayscale (default, the paper) or colour\n"
            "  --frame-window center|first  frames over the central 3.6 s (default) or the baseline's first 108\n"
            "  --reuse-box                a frame without a face reuses the previous box (the baseline)\n"
            "  --no-refine                skip the second MTCNN pass on the enlarged crop\n"
            "  --detect-size PX           first MTCNN pass on frames shrunk to this longer side (0 = full size)\n"
            "  --mtcnn PATH               MTCNN weights: TF.js manifest or folder with pnet/rnet/onet.tflite\n"
            "                             (default $AVEMO_MTCNN, ../shared/weights/mtcnn, weights/mtcnn-tflite)\n"
            "  --backbone W.safetensors   also store frozen MobileNetV2 embeddings [T, 1280] (what train reads)\n"
            "  --jobs N                   worker threads (default: all cores)\n");
}

static int parse_orders(const char *s, featurizer_settings *o) {
    o->n_orders = 0;
    while (*s) {
        char *end;
        double a = strtod(s, &end);
        if (end == s || !isfinite(a) || o->n_orders == AVEMO_FRFT_MFCC_MAX_ORDERS) return 0;
        o->orders[o->n_orders++] = a;
        if (*end == ',') end++;
        else if (*end) return 0;
        s = end;
    }
    return o->n_orders > 0;
}

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

/* The library calls of `avemo prep` once its options are parsed, and the summary on stdout. */
static int prep_command(const char *input, const char *out, dataset_options *d, const prep_options *o) {
    prep_dataset_options(d, o);
    if (prep_check_weights(o)) {
        fprintf(stderr, "avemo prep: %s\n", avemo_last_error());
        return 2;
    }
    dataset ds;
    if (dataset_scan(input, d, &ds)) {
        fprintf(stderr, "avemo prep: %s\n", avemo_last_error());
        return 2;
    }
    if (ds.n_skipped) {
        fprintf(stderr, "avemo prep: %d file%s of %s not used (all listed in %s/skipped.log):\n", ds.n_skipped,
                ds.n_skipped == 1 ? "" : "s", input, out);
        for (int k = 0; k < ds.n_skipped && k < SHOW_SKIPPED; k++) fprintf(stderr, "  %s\n", ds.skipped[k]);
        if (ds.n_skipped > SHOW_SKIPPED) fprintf(stderr, "  ...\n");
    }
    int n_scanned = ds.n;
    feature_cache c;
    int rc = prep_create_cache(&c, out, &ds, d, o);
    if (rc) {
        fprintf(stderr, "avemo prep: %s\n", avemo_last_error());
        return rc == AVEMO_EINVAL ? 2 : 1;
    }
    progress p;
    progress_start(&p, "prep", c.ds.n);
    prep_stats st;
    rc = prep_run(&c, o, &p, &st);
    if (rc) {
        fprintf(stderr, "avemo prep: %s\n", avemo_last_error());
        cache_free(&c);
        return rc == AVEMO_EINVAL || rc == AVEMO_EUNSUP ? 2 : 1;
    }
    print_summary(&c, o, &st, out, n_scanned);
    cache_free(&c);
    return st.n_ready > 0 ? 0 : 1;
}

/* The audio features and video frames asked for (--features, --frft-order(s), --faces, --backbone) into fs;
 * 1 after a message when they are unknown or do not fit the modality. */
static int feature_choices(featurizer_settings *fs, dataset_kind kind, const char *features_s, int orders_given,
                               const char *faces_s) {
    if (!strcmp(features_s, "mfcc")) fs->audio_features = AUDIO_FEATURES_MFCC;
    else if (!strcmp(features_s, "frft-mfcc")) fs->audio_features = AUDIO_FEATURES_FRFT_MFCC;
    else {
        fprintf(stderr, "avemo prep: --features '%s' unknown (mfcc or frft-mfcc)\n", features_s);
        return 1;
    }
    if (orders_given && fs->audio_features != AUDIO_FEATURES_FRFT_MFCC) {
        fprintf(stderr, "avemo prep: --frft-order needs --features frft-mfcc\n");
        return 1;
    }
    if (!faces_s) faces_s = kind == DATASET_IMAGEFOLDER ? "whole" : "detect";
    if (!strcmp(faces_s, "detect")) fs->frames_kind = VIDEO_FRAMES_FACES;
    else if (!strcmp(faces_s, "whole")) fs->frames_kind = VIDEO_FRAMES_WHOLE;
    else {
        fprintf(stderr, "avemo prep: --faces '%s' unknown (detect or whole)\n", faces_s);
        return 1;
    }
    if (!(fs->modality & DATASET_NEED_VIDEO) && fs->backbone_path) {
        fprintf(stderr, "avemo prep: --backbone needs --modality av or video\n");
        return 1;
    }
    return 0;
}

int cmd_prep(int argc, char **argv) {
    const char *dataset_s = NULL, *input = NULL, *out = NULL, *modality_s = NULL, *features_s = "mfcc";
    prep_options o;
    prep_options_default(&o);
    dataset_options d = {0};
    int orders_given = 0;
    const char *faces_s = NULL, *mtcnn_flag = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if ((v = cli_opt_value(argc, argv, &i, "--dataset", &missing))) dataset_s = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--input", &missing))) input = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--out", &missing))) out = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--modality", &missing))) modality_s = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--features", &missing))) features_s = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--frft-orders", &missing)) ||
                 (v = cli_opt_value(argc, argv, &i, "--frft-order", &missing))) {
            if (!parse_orders(v, &o.features)) {
                fprintf(stderr, "avemo prep: FRFT order(s) '%s' are not finite numbers separated by commas\n", v);
                return 2;
            }
            orders_given = 1;
        } else if ((v = cli_opt_value(argc, argv, &i, "--n-mfcc", &missing))) {
            if (!cli_parse_int(v, 1, 128, &o.features.mfcc.n_mfcc)) {
                fprintf(stderr, "avemo prep: --n-mfcc '%s' is not an integer in 1..128\n", v);
                return 2;
            }
        } else if ((v = cli_opt_value(argc, argv, &i, "--pad-mode", &missing))) {
            if (!strcmp(v, "constant")) o.features.mfcc.pad_mode = MFCC_PAD_CONSTANT;
            else if (!strcmp(v, "reflect")) o.features.mfcc.pad_mode = MFCC_PAD_REFLECT;
            else {
                fprintf(stderr, "avemo prep: --pad-mode '%s' unknown (constant or reflect)\n", v);
                return 2;
            }
        } else if ((v = cli_opt_value(argc, argv, &i, "--classes", &missing))) {
            if (!cli_parse_int(v, 2, DATASET_MAX_CLASSES, &d.n_classes)) {
                fprintf(stderr, "avemo prep: --classes '%s' is not a class count\n", v);
                return 2;
            }
        } else if ((v = cli_opt_value(argc, argv, &i, "--frames", &missing))) {
            if (!cli_parse_int(v, 1, 1000, &o.features.faces.frames)) {
                fprintf(stderr, "avemo prep: --frames '%s' is not an integer in 1..1000\n", v);
                return 2;
            }
        } else if ((v = cli_opt_value(argc, argv, &i, "--jobs", &missing))) {
            if (!cli_parse_int(v, 1, 1024, &o.jobs)) {
                fprintf(stderr, "avemo prep: --jobs '%s' is not an integer in 1..1024\n", v);
                return 2;
            }
        } else if ((v = cli_opt_value(argc, argv, &i, "--detect-size", &missing))) {
            if (!cli_parse_int(v, 0, 100000, &o.features.faces.detect_max_side)) {
                fprintf(stderr, "avemo prep: --detect-size '%s' is not a non-negative integer\n", v);
                return 2;
            }
        } else if ((v = cli_opt_value(argc, argv, &i, "--faces", &missing))) faces_s = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--color", &missing))) {
            if (!strcmp(v, "gray") || !strcmp(v, "rgb")) o.features.faces.color_rgb = !strcmp(v, "rgb");
            else {
                fprintf(stderr, "avemo prep: --color '%s' unknown (gray or rgb)\n", v);
                return 2;
            }
        } else if ((v = cli_opt_value(argc, argv, &i, "--frame-window", &missing))) {
            if (!strcmp(v, "center")) o.features.faces.window = FRAME_WINDOW_CENTER;
            else if (!strcmp(v, "first")) o.features.faces.window = FRAME_WINDOW_FIRST;
            else {
                fprintf(stderr, "avemo prep: --frame-window '%s' unknown (center or first)\n", v);
                return 2;
            }
        } else if ((v = cli_opt_value(argc, argv, &i, "--mtcnn", &missing))) mtcnn_flag = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--backbone", &missing))) o.features.backbone_path = v;
        else if (!strcmp(argv[i], "--reuse-box")) o.features.faces.reuse_box = 1;
        else if (!strcmp(argv[i], "--no-refine")) o.features.faces.refine = 0;
        else if (!strcmp(argv[i], "--song")) d.include_song = 1;
        else if (!strcmp(argv[i], "--ravdess-both-videos")) d.both_videos = 1;
        else return cli_bad_arg("prep", argv[i], missing);
    }
    if (!dataset_s || !input || !out) {
        fprintf(stderr, "avemo prep: --dataset, --input and --out are required (avemo prep --help)\n");
        return 2;
    }
    if (dataset_kind_parse(dataset_s, &d.kind)) {
        fprintf(stderr, "avemo prep: %s\n", avemo_last_error());
        return 2;
    }
    if (!modality_s) modality_s = d.kind == DATASET_IMAGEFOLDER ? "video" : "av";
    if (!strcmp(modality_s, "av")) o.features.modality = DATASET_NEED_AUDIO | DATASET_NEED_VIDEO;
    else if (!strcmp(modality_s, "audio")) o.features.modality = DATASET_NEED_AUDIO;
    else if (!strcmp(modality_s, "video")) o.features.modality = DATASET_NEED_VIDEO;
    else {
        fprintf(stderr, "avemo prep: --modality '%s' unknown (av, audio or video)\n", modality_s);
        return 2;
    }
    if (d.kind == DATASET_IMAGEFOLDER && (o.features.modality & DATASET_NEED_AUDIO)) {
        fprintf(stderr, "avemo prep: %s: image folders have no audio; use --modality video\n", input);
        return 2;
    }
    if (feature_choices(&o.features, d.kind, features_s, orders_given, faces_s)) return 2;
    o.mtcnn_path = mtcnn_flag;
    return prep_command(input, out, &d, &o);
}
