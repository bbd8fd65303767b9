/* avemo faces: face crops of videos or images -> DIR/<name>.npy (uint8 [frames, size, size] or
 * [frames, size, size, 3] with --color rgb) and DIR/<name>.json (per frame: status, source frame, boxes). */
#include "avemo.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "io/npy.h"
#include "data/featurizer.h"

#include <cjson/cJSON.h>
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

static const char *status_name(face_status s) {
    switch (s) {
    case FACE_FOUND: return "found";
    case FACE_REUSED: return "reused";
    case FACE_PADDED: return "padded";
    default: return "none";
    }
}

/* "dir/Actor_01.mp4" -> "Actor_01" */
static void stem(char *dst, size_t cap, const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(dst, cap, "%s", base);
    char *dot = strrchr(dst, '.');
    if (dot && dot != dst) *dot = 0;
}

static int write_json(const char *path, const char *input, const face_frame *info, int n, int n_noface,
                      const faces_config *cfg) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "input", input);
    cJSON_AddNumberToObject(o, "frames", n);
    cJSON_AddNumberToObject(o, "size", cfg->size);
    cJSON_AddStringToObject(o, "color", cfg->color_rgb ? "rgb" : "gray");
    cJSON_AddNumberToObject(o, "frames_without_face", n_noface);
    cJSON *arr = cJSON_AddArrayToObject(o, "per_frame");
    for (int k = 0; k < n; k++) {
        const face_frame *f = &info[k];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "status", status_name(f->status));
        cJSON_AddNumberToObject(e, "source_frame", (double)f->frame_index);
        cJSON_AddNumberToObject(e, "faces_detected", f->n_detected);
        if (f->status == FACE_FOUND || f->status == FACE_REUSED)
            cJSON_AddItemToObject(e, "crop_box", cJSON_CreateFloatArray(f->box, 4));
        if (f->status == FACE_FOUND) {
            float b[4] = {f->face.x0, f->face.y0, f->face.x1, f->face.y1};
            cJSON_AddItemToObject(e, "mtcnn_box", cJSON_CreateFloatArray(b, 4));
            cJSON_AddNumberToObject(e, "score", f->face.score);
            cJSON *lm = cJSON_AddArrayToObject(e, "landmarks");
            for (int p = 0; p < 5; p++) {
                float xy[2] = {f->face.lm_x[p], f->face.lm_y[p]};
                cJSON_AddItemToArray(lm, cJSON_CreateFloatArray(xy, 2));
            }
            cJSON_AddBoolToObject(e, "refined", f->refined);
        }
        cJSON_AddItemToArray(arr, e);
    }
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    if (!s) return AVEMO_ENOMEM;
    int err = atomic_write(path, s, strlen(s));
    free(s);
    return err;
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
        if (!err) {
            char name[1024], npy_path[4096], json_path[4096];
            stem(name, sizeof name, path);
            snprintf(npy_path, sizeof npy_path, "%s/%s.npy", out_dir, name);
            snprintf(json_path, sizeof json_path, "%s/%s.json", out_dir, name);
            int64_t shape[4] = {n, cfg.size, cfg.size, 3};
            err = npy_write(npy_path, NPY_U8, cfg.color_rgb ? 4 : 3, shape, crops);
            if (!err) err = write_json(json_path, path, info, n, n_noface, &cfg);
            if (!err && n_noface > 0)
                fprintf(stderr, "avemo faces: warning: %s: no face in %d of %d frames (zero frames%s)\n", path,
                        n_noface, n, cfg.reuse_box ? " unless a previous box was reused" : "");
            if (!err) written++;
        }
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
