#include "data/weights.h"

#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WEIGHTS_MAX_PLACES 8
#define WEIGHTS_PATH_MAX 4096

/* One place to look: `path` is taken when `probe`, a file, is readable, or always when `probe` is "". */
typedef struct {
    char path[WEIGHTS_PATH_MAX];
    char probe[WEIGHTS_PATH_MAX];
} weights_place;

typedef struct {
    weights_place place[WEIGHTS_MAX_PLACES];
    int n;
} weights_places;

/* Appends dir/rel (rel alone when dir is ""). probe_rel: NULL takes the place as is; "" takes it when the path
 * itself is readable; else when path/probe_rel is. A path too long to hold is left out. */
static void add_place(weights_places *l, const char *dir, const char *rel, const char *probe_rel) {
    if (l->n == WEIGHTS_MAX_PLACES) return;
    weights_place *p = &l->place[l->n];
    const char *sep = *dir ? "/" : "";
    if (snprintf(p->path, sizeof p->path, "%s%s%s", dir, sep, rel) >= (int)sizeof p->path) return;
    int len = 0;
    p->probe[0] = 0;
    if (probe_rel) len = snprintf(p->probe, sizeof p->probe, "%s%s%s%s%s", dir, sep, rel, *probe_rel ? "/" : "", probe_rel);
    if (len < (int)sizeof p->probe) l->n++;
}

/* The folder of the running executable into dir (cap bytes); 0 when unknown. */
static int exe_dir(char *dir, size_t cap) {
    ssize_t n = readlink("/proc/self/exe", dir, cap - 1);
    if (n <= 0) return 0;
    dir[n] = 0;
    char *slash = strrchr(dir, '/');
    if (!slash) return 0;
    *slash = 0;
    return 1;
}

static void mtcnn_places(weights_places *l, const char *given) {
    if (given) add_place(l, "", given, NULL);
    const char *env = getenv("AVEMO_MTCNN");
    if (env && *env) add_place(l, "", env, NULL);
    const char *shared = getenv("AVEMO_SHARED");
    add_place(l, shared && *shared ? shared : "../shared", WEIGHTS_MTCNN_MANIFEST, "");
    add_place(l, "", WEIGHTS_MTCNN_TFLITE, "pnet.tflite");
    char exe[WEIGHTS_PATH_MAX];
    if (exe_dir(exe, sizeof exe)) add_place(l, exe, WEIGHTS_MTCNN_TFLITE, "pnet.tflite");
}

static void backbone_places(weights_places *l, const char *given, const char *recorded) {
    if (given) add_place(l, "", given, NULL);
    if (recorded) add_place(l, "", recorded, NULL);
}

int weights_find(weights_kind kind, const char *given, const char *recorded, char *path, size_t cap) {
    weights_places *l = calloc(1, sizeof *l);
    if (!l) return avemo_error(AVEMO_ENOMEM, "out of memory");
    if (kind == WEIGHTS_MTCNN) mtcnn_places(l, given);
    else backbone_places(l, given, recorded);
    char looked[1024] = "";
    const weights_place *found = NULL;
    for (int k = 0; k < l->n && !found; k++) {
        const weights_place *p = &l->place[k];
        if (!p->probe[0] || access(p->probe, R_OK) == 0) {
            found = p;
        } else {
            size_t len = strlen(looked);
            snprintf(looked + len, sizeof looked - len, "%s%s", len ? ", " : "", p->path);
        }
    }
    int too_long = found && snprintf(path, cap, "%s", found->path) >= (int)cap;
    free(l);
    if (too_long) return avemo_error(AVEMO_EINVAL, "weights path too long (over %zu bytes)", cap);
    if (found) return AVEMO_OK;
    if (kind == WEIGHTS_MTCNN)
        return avemo_error(AVEMO_EINVAL, "MTCNN weights not found (looked in %s); give --mtcnn PATH or set $AVEMO_MTCNN",
                           looked);
    return avemo_error(AVEMO_EINVAL, "no MobileNetV2 backbone: the feature settings name none; give its weights "
                                     "(--backbone W.safetensors)");
}
