/* avemo detect: MTCNN faces per frame of images or videos (box, score, 5 landmarks), text or JSON. */
#include "avemo.h"
#include "data/featurizer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: avemo detect [--json] [--frames N] [--frame-window center|first] [--min-face PX]\n"
               "                    [--mtcnn PATH] IMAGE_OR_VIDEO...\n"
               "MTCNN face detection. Images give one frame; videos give N sampled frames (default %d, over the\n"
               "central %.1f s, or the baseline's first 108 frames with --frame-window first). Per face: box x0 y0\n"
               "x1 y1 (pixels), score, landmarks (left eye, right eye, nose, mouth left, mouth right).\n"
               "--mtcnn: TF.js manifest or folder with pnet/rnet/onet.tflite (default $AVEMO_MTCNN,\n"
               "         $AVEMO_SHARED/weights/mtcnn/..., ../shared/..., weights/mtcnn-tflite).\n",
            AVEMO_FRAMES_PER_CLIP, AVEMO_CLIP_SECONDS);
}

static cJSON *face_json(const mtcnn_face *f) {
    cJSON *o = cJSON_CreateObject();
    float box[4] = {f->x0, f->y0, f->x1, f->y1};
    cJSON_AddItemToObject(o, "box", cJSON_CreateFloatArray(box, 4));
    cJSON_AddNumberToObject(o, "score", f->score);
    cJSON *lm = cJSON_AddArrayToObject(o, "landmarks");
    for (int k = 0; k < 5; k++) {
        float p[2] = {f->lm_x[k], f->lm_y[k]};
        cJSON_AddItemToArray(lm, cJSON_CreateFloatArray(p, 2));
    }
    return o;
}

/* One frame's faces: a JSON entry in jframes, or text lines. */
static void frame_faces_out(cJSON *jframes, int k, long source, const mtcnn_face *faces, int n) {
    if (jframes) {
        cJSON *fr = cJSON_CreateObject();
        cJSON_AddNumberToObject(fr, "frame", k);
        cJSON_AddNumberToObject(fr, "source_frame", (double)source);
        cJSON *jf = cJSON_AddArrayToObject(fr, "faces");
        for (int j = 0; j < n; j++) cJSON_AddItemToArray(jf, face_json(&faces[j]));
        cJSON_AddItemToArray(jframes, fr);
        return;
    }
    printf("  frame %d (source %ld): %d face%s\n", k, source, n, n == 1 ? "" : "s");
    for (int j = 0; j < n; j++) {
        const mtcnn_face *f = &faces[j];
        printf("    box %.1f %.1f %.1f %.1f  score %.5f  landmarks", f->x0, f->y0, f->x1, f->y1, f->score);
        for (int p = 0; p < 5; p++) printf(" %.1f,%.1f", f->lm_x[p], f->lm_y[p]);
        printf("\n");
    }
}

/* The faces of every sampled frame of one input, into root (JSON) or as text; 1 when it failed. */
static int detect_file(const featurizer *f, const mtcnn_config *cfg, const char *path, cJSON *root) {
    video_clip clip;
    if (featurizer_read_frames(f, path, &clip)) {
        fprintf(stderr, "avemo detect: %s\n", avemo_last_error());
        return 1;
    }
    cJSON *jframes = NULL;
    if (root) {
        cJSON *file = cJSON_CreateObject();
        cJSON_AddStringToObject(file, "file", path);
        cJSON_AddNumberToObject(file, "width", clip.w);
        cJSON_AddNumberToObject(file, "height", clip.h);
        cJSON_AddNumberToObject(file, "total_frames", (double)clip.total_frames);
        if (clip.fps > 0) cJSON_AddNumberToObject(file, "fps", clip.fps);
        jframes = cJSON_AddArrayToObject(file, "frames");
        cJSON_AddItemToArray(root, file);
    } else {
        printf("%s: %dx%d, %d frame%s\n", path, clip.w, clip.h, clip.n, clip.n == 1 ? "" : "s");
    }
    int failed = 0;
    for (int k = 0; k < clip.n; k++) {
        mtcnn_face *faces = NULL;
        int n = 0;
        if (clip.index[k] >= 0 &&
            mtcnn_detect(f->detector, clip.rgb + (size_t)k * clip.h * clip.w * 3, clip.h, clip.w, cfg, &faces, &n)) {
            fprintf(stderr, "avemo detect: %s: %s\n", path, avemo_last_error());
            failed = 1;
            break;
        }
        frame_faces_out(jframes, k, clip.index[k], faces, n);
        free(faces);
    }
    video_clip_free(&clip);
    return failed;
}

int cmd_detect(int argc, char **argv) {
    int json = 0, frames = AVEMO_FRAMES_PER_CLIP;
    frame_window win = FRAME_WINDOW_CENTER;
    const char *weights = NULL;
    mtcnn_config cfg;
    mtcnn_default_config(&cfg);
    int first_input = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--frames") && i + 1 < argc) {
            frames = atoi(argv[++i]);
            if (frames < 1 || frames > 10000) {
                fprintf(stderr, "avemo detect: --frames must be in 1..10000\n");
                return 2;
            }
        } else if (!strcmp(a, "--frame-window") && i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(v, "center")) win = FRAME_WINDOW_CENTER;
            else if (!strcmp(v, "first")) win = FRAME_WINDOW_FIRST;
            else {
                fprintf(stderr, "avemo detect: --frame-window must be center or first\n");
                return 2;
            }
        } else if (!strcmp(a, "--min-face") && i + 1 < argc) {
            cfg.min_face_px = (float)atof(argv[++i]);
            if (!(cfg.min_face_px >= 12)) {
                fprintf(stderr, "avemo detect: --min-face must be at least 12 pixels\n");
                return 2;
            }
        } else if (!strcmp(a, "--mtcnn") && i + 1 < argc) {
            weights = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "avemo detect: unknown option %s (avemo detect --help)\n", a);
            return 2;
        } else {
            first_input = i;
            break;
        }
    }
    if (first_input >= argc) {
        usage(stderr);
        return 2;
    }
    featurizer_settings fs; /* the featurizer's frame sampling and weights; detection of every face below */
    featurizer_settings_default(&fs);
    fs.modality = DATASET_NEED_VIDEO;
    fs.faces.frames = frames;
    fs.faces.window = win;
    featurizer f;
    if (featurizer_open(&f, &fs, weights, NULL)) {
        fprintf(stderr, "avemo detect: %s\n", avemo_last_error());
        return 2;
    }
    cJSON *root = json ? cJSON_CreateArray() : NULL;
    int failed = 0;
    for (int i = first_input; i < argc; i++) failed |= detect_file(&f, &cfg, argv[i], root);
    if (json) {
        char *s = cJSON_Print(root);
        if (s) printf("%s\n", s);
        free(s);
        cJSON_Delete(root);
    }
    featurizer_close(&f);
    return failed ? 2 : 0;
}
