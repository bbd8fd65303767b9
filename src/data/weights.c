#include "data/weights.h"

#include "core/err.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* $(PREFIX)/share/avemo, compiled in by the Makefile */
#ifndef AVEMO_DATADIR
#define AVEMO_DATADIR "/usr/local/share/avemo"
#endif

#define WEIGHTS_MAX_PLACES 24
#define WEIGHTS_PATH_MAX 4096
#define WEIGHTS_LOOKED_MAX 8192

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

/* The folder holding the file `path` into dir (cap bytes); 0 when it names none. */
static int parent_dir(const char *path, char *dir, size_t cap) {
    if (snprintf(dir, cap, "%s", path) >= (int)cap) return 0;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = 0;
    return 1;
}

/* The folder of the running executable into dir (cap bytes); 0 when unknown. */
static int exe_dir(char *dir, size_t cap) {
    char exe[WEIGHTS_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 0;
    exe[n] = 0;
    return parent_dir(exe, dir, cap);
}

/* The folder of the shared library this code is in (libavemo.so; the program itself when linked statically)
 * into dir; 0 when unknown or the same as the executable's. */
static int lib_dir(char *dir, size_t cap) {
    Dl_info info;
    char exe[WEIGHTS_PATH_MAX];
    if (!dladdr((void *)&lib_dir, &info) || !info.dli_fname || info.dli_fname[0] != '/') return 0;
    if (!parent_dir(info.dli_fname, dir, cap)) return 0;
    return !exe_dir(exe, sizeof exe) || strcmp(exe, dir) != 0;
}

/* dir/../share/avemo/rel, the folder resolved (no "..") when it exists. */
static void add_share_place(weights_places *l, const char *dir, const char *rel, const char *probe_rel) {
    char share[WEIGHTS_PATH_MAX + 32];
    if (snprintf(share, sizeof share, "%s/../share/avemo", dir) >= (int)sizeof share) return;
    char *resolved = realpath(share, NULL);
    add_place(l, resolved ? resolved : share, rel, probe_rel);
    free(resolved);
}

/* The installed data folders with `rel` (probed as add_place does): $AVEMO_DATA, $(PREFIX)/share/avemo (compiled
 * in), then share/avemo beside the program's and the library's folder (bin/../share/avemo, lib/../share/avemo:
 * an installed tree moved to another prefix, or `make install DESTDIR=`). */
static void data_places(weights_places *l, const char *rel, const char *probe_rel) {
    const char *data = getenv("AVEMO_DATA");
    if (data && *data) add_place(l, data, rel, probe_rel);
    add_place(l, AVEMO_DATADIR, rel, probe_rel);
    char dir[WEIGHTS_PATH_MAX];
    if (exe_dir(dir, sizeof dir)) add_share_place(l, dir, rel, probe_rel);
    if (lib_dir(dir, sizeof dir)) add_share_place(l, dir, rel, probe_rel);
}

static void mtcnn_places(weights_places *l, const char *given) {
    if (given) add_place(l, "", given, NULL);
    const char *env = getenv("AVEMO_MTCNN");
    if (env && *env) add_place(l, "", env, NULL);
    const char *shared = getenv("AVEMO_SHARED");
    if (shared && *shared) add_place(l, shared, WEIGHTS_MTCNN_MANIFEST, "");
    data_places(l, WEIGHTS_DATA_MTCNN, "");
    char exe[WEIGHTS_PATH_MAX];
    int have_exe = exe_dir(exe, sizeof exe);
    if (!(shared && *shared)) { /* the source tree: ../shared from here, then beside the program's checkout */
        add_place(l, "../shared", WEIGHTS_MTCNN_MANIFEST, "");
        if (have_exe) add_place(l, exe, "../shared/" WEIGHTS_MTCNN_MANIFEST, "");
        if (have_exe) add_place(l, exe, "../../shared/" WEIGHTS_MTCNN_MANIFEST, ""); /* build/avemo */
    }
    add_place(l, "", WEIGHTS_MTCNN_TFLITE, "pnet.tflite");
    if (have_exe) add_place(l, exe, WEIGHTS_MTCNN_TFLITE, "pnet.tflite");
}

/* A bundled model file (models/NAME in the repository, NAME in a data folder). */
static void bundled_places(weights_places *l, const char *given, const char *name) {
    if (given) add_place(l, "", given, NULL);
    data_places(l, name, "");
    char exe[WEIGHTS_PATH_MAX], rel[256];
    snprintf(rel, sizeof rel, "models/%s", name);
    if (exe_dir(exe, sizeof exe)) {
        add_place(l, exe, rel, "");              /* ./avemo of a checkout */
        snprintf(rel, sizeof rel, "../models/%s", name);
        add_place(l, exe, rel, "");              /* build/avemo, build/tests/... */
        snprintf(rel, sizeof rel, "../../models/%s", name);
        add_place(l, exe, rel, "");
        snprintf(rel, sizeof rel, "../../../models/%s", name);
        add_place(l, exe, rel, "");
    }
    snprintf(rel, sizeof rel, "models/%s", name);
    add_place(l, "", rel, "");
}

static void backbone_places(weights_places *l, const char *given, const char *recorded) {
    if (given) add_place(l, "", given, NULL);
    if (recorded) add_place(l, "", recorded, NULL);
}

static void not_found_error(weights_kind kind, const char *looked) {
    if (kind == WEIGHTS_MTCNN)
        avemo_error(AVEMO_EINVAL, "MTCNN weights not found (looked in %s); give --mtcnn PATH, set $AVEMO_MTCNN or "
                    "$AVEMO_DATA, or `make install`", looked);
    else if (kind == WEIGHTS_BACKBONE)
        avemo_error(AVEMO_EINVAL, "no MobileNetV2 backbone: the feature settings name none; give its weights "
                    "(--backbone W.safetensors)");
    else
        avemo_error(AVEMO_EINVAL, "bundled %s model not found (looked in %s); set $AVEMO_DATA to a folder holding %s, "
                    "or `make install`", kind == WEIGHTS_FACE_MODEL ? "face" : "voice", looked,
                    kind == WEIGHTS_FACE_MODEL ? WEIGHTS_FACE_FILE : WEIGHTS_VOICE_FILE);
}

int weights_find(weights_kind kind, const char *given, const char *recorded, char *path, size_t cap) {
    weights_places *l = calloc(1, sizeof *l);
    char *looked = calloc(1, WEIGHTS_LOOKED_MAX);
    if (!l || !looked) {
        free(l);
        free(looked);
        return avemo_error(AVEMO_ENOMEM, "out of memory");
    }
    if (kind == WEIGHTS_MTCNN) mtcnn_places(l, given);
    else if (kind == WEIGHTS_FACE_MODEL) bundled_places(l, given, WEIGHTS_FACE_FILE);
    else if (kind == WEIGHTS_VOICE_MODEL) bundled_places(l, given, WEIGHTS_VOICE_FILE);
    else backbone_places(l, given, recorded);
    const weights_place *found = NULL;
    for (int k = 0; k < l->n && !found; k++) {
        const weights_place *p = &l->place[k];
        if (!p->probe[0] || access(p->probe, R_OK) == 0) {
            found = p;
        } else {
            size_t len = strlen(looked);
            snprintf(looked + len, WEIGHTS_LOOKED_MAX - len, "%s%s", len ? ", " : "", p->path);
        }
    }
    int too_long = found && snprintf(path, cap, "%s", found->path) >= (int)cap;
    int rc = AVEMO_OK;
    if (too_long) rc = avemo_error(AVEMO_EINVAL, "weights path too long (over %zu bytes)", cap);
    else if (!found) not_found_error(kind, looked), rc = AVEMO_EINVAL;
    free(l);
    free(looked);
    return rc;
}
