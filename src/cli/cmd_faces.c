/* avemo faces: face crops of videos or images -> DIR/<name>.npy (uint8 [frames, size, size] or
 * [frames, size, size, 3] with --color rgb) and DIR/<name>.json (per frame: status, source frame, boxes). */
#include "avemo.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "data/featurizer_jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: avemo faces [--frames N] [--size PX] [--color gray|rgb] [--frame-window center|first]\n"
            "                   [--reuse-box] [--no-refine] [--detect-size PX] [--keep-going] [--mtcnn PATH]\n"
            "                   --out DIR INPUT...\n"
            "Face crops per input (SPEC 2): N sampled frames (default %d; an image gives 1), MTCNN, the most\n"
            "confident face, second MTCNN pass on the enlarged crop (--no-refine skips it), grayscale (BT.601),\n"
            "bilinear resize to PX x PX (default %d). A frame without a face is all zeros (counted, with a warning).\n"
            "Writes DIR/<input name without extension>.npy (uint8 [N, PX, PX], or [N, PX, PX, 3] with --color rgb)\n"
            "and DIR/<name>.json (boxes). --reuse-box: a frame without a face reuses the previous box (baseline).\n"
            "--detect-size: the first MTCNN pass runs on the frame shrunk to this longer side (default %d; 0 = full\n"
            "resolution, the paper); the second pass refines the box at full resolution.\n"
            "--keep-going: an input that fails is reported and the others are still written (exit status 2).\n",
            AVEMO_FRAMES_PER_CLIP, FACES_SIZE, FACES_DETECT_MAX_SIDE);
}

int cmd_faces(int argc, char **argv) {
    faces_config cfg;
    faces_default_config(&cfg);
    const char *out_dir = NULL, *weights = NULL;
    int keep_going = 0, first_input = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--frames") && more) {
            cfg.frames = atoi(argv[++i]);
            if (cfg.frames < 1 || cfg.frames > 10000) {
                fprintf(stderr, "avemo faces: --frames must be in 1..10000\n");
                return 2;
            }
        } else if (!strcmp(a, "--size") && more) {
            cfg.size = atoi(argv[++i]);
            if (cfg.size < 8 || cfg.size > 4096) {
                fprintf(stderr, "avemo faces: --size must be in 8..4096\n");
                return 2;
            }
        } else if (!strcmp(a, "--color") && more) {
            const char *v = argv[++i];
            if (!strcmp(v, "gray")) cfg.color_rgb = 0;
            else if (!strcmp(v, "rgb")) cfg.color_rgb = 1;
            else {
                fprintf(stderr, "avemo faces: --color must be gray or rgb\n");
                return 2;
            }
        } else if (!strcmp(a, "--frame-window") && more) {
            const char *v = argv[++i];
            if (!strcmp(v, "center")) cfg.window = FRAME_WINDOW_CENTER;
            else if (!strcmp(v, "first")) cfg.window = FRAME_WINDOW_FIRST;
            else {
                fprintf(stderr, "avemo faces: --frame-window must be center or first\n");
                return 2;
            }
        } else if (!strcmp(a, "--reuse-box")) {
            cfg.reuse_box = 1;
        } else if (!strcmp(a, "--detect-size") && more) {
            cfg.detect_max_side = atoi(argv[++i]);
            if (cfg.detect_max_side < 0 || (cfg.detect_max_side > 0 && cfg.detect_max_side < 48)) {
                fprintf(stderr, "avemo faces: --detect-size must be 0 (full resolution) or at least 48\n");
                return 2;
            }
        } else if (!strcmp(a, "--no-refine")) {
            cfg.refine = 0;
        } else if (!strcmp(a, "--keep-going")) {
            keep_going = 1;
        } else if (!strcmp(a, "--out") && more) {
            out_dir = argv[++i];
        } else if (!strcmp(a, "--mtcnn") && more) {
            weights = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "avemo faces: unknown option or missing value: %s (avemo faces --help)\n", a);
            return 2;
        } else {
            first_input = i;
            break;
        }
    }
    if (!out_dir || first_input >= argc) {
        usage(stderr);
        return 2;
    }
    if (make_dirs(out_dir)) {
        fprintf(stderr, "avemo faces: %s\n", avemo_last_error());
        return 1;
    }
    featurizer_settings fs;
    featurizer_settings_default(&fs);
    fs.modality = DATASET_NEED_VIDEO;
    fs.faces = cfg;
    featurizer f;
    if (featurizer_open(&f, &fs, weights, NULL)) {
        fprintf(stderr, "avemo faces: %s\n", avemo_last_error());
        return 2;
    }
    int n_inputs = argc - first_input, failed = 0, written = 0;
    progress prog;
    progress_start(&prog, "faces", n_inputs);
    for (int i = first_input; i < argc; i++) {
        const char *path = argv[i];
        uint8_t *crops = NULL;
        face_frame *info = NULL;
        int n = 0, n_noface = 0;
        int err = featurizer_frames_file(&f, path, &crops, &info, &n, &n_noface);
        if (!err) err = faces_write_outputs(out_dir, path, crops, info, n, n_noface, &cfg);
        if (!err && n_noface > 0)
            fprintf(stderr, "avemo faces: warning: %s: no face in %d of %d frames (zero frames%s)\n", path, n_noface,
                    n, cfg.reuse_box ? " unless a previous box was reused" : "");
        if (!err) written++;
        free(crops);
        free(info);
        if (err) {
            fprintf(stderr, "avemo faces: %s\n", avemo_last_error());
            failed++;
            if (!keep_going) break;
        }
        progress_update(&prog, i - first_input + 1);
    }
    progress_finish(&prog);
    featurizer_close(&f);
    if (failed && keep_going)
        fprintf(stderr, "avemo faces: %d of %d inputs failed, %d written\n", failed, n_inputs, written);
    return failed ? 2 : 0;
}
