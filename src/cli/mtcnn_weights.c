#include "cli/mtcnn_weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MTCNN_MANIFEST "weights/mtcnn/mtcnn_model-weights_manifest.json"
#define MTCNN_TFLITE "weights/mtcnn-tflite" /* scripts/fetch-mtcnn-tflite.sh */

/* `dir`/weights/mtcnn-tflite into buf when it holds pnet.tflite */
static int tflite_in(const char *dir, char *buf, size_t cap) {
    char probe[4096];
    if (snprintf(probe, sizeof probe, "%s%s" MTCNN_TFLITE "/pnet.tflite", dir, *dir ? "/" : "") >= (int)sizeof probe ||
        access(probe, R_OK) != 0)
        return 0;
    return snprintf(buf, cap, "%s%s" MTCNN_TFLITE, dir, *dir ? "/" : "") < (int)cap;
}

const char *cli_mtcnn_path(const char *flag_value, char *buf, size_t cap) {
    if (flag_value) return flag_value;
    const char *env = getenv("AVEMO_MTCNN");
    if (env && *env) return env;
    const char *shared = getenv("AVEMO_SHARED");
    snprintf(buf, cap, "%s/%s", shared && *shared ? shared : "../shared", MTCNN_MANIFEST);
    if (access(buf, R_OK) == 0) return buf;
    /* no shared manifest: the fetched TFLite files, in the working directory or next to the executable */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = 0, strrchr(exe, '/')) : NULL;
    if (slash) *slash = 0;
    char found[4096];
    if (tflite_in("", found, sizeof found) || (slash && tflite_in(exe, found, sizeof found))) {
        snprintf(buf, cap, "%s", found);
        return buf;
    }
    return buf; /* the manifest path, for the error message */
}
