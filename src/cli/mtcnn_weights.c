#include "cli/mtcnn_weights.h"

#include <stdio.h>
#include <stdlib.h>

#define MTCNN_MANIFEST "weights/mtcnn/mtcnn_model-weights_manifest.json"

const char *cli_mtcnn_path(const char *flag_value, char *buf, size_t cap) {
    if (flag_value) return flag_value;
    const char *env = getenv("AVEMO_MTCNN");
    if (env && *env) return env;
    const char *shared = getenv("AVEMO_SHARED");
    snprintf(buf, cap, "%s/%s", shared && *shared ? shared : "../shared", MTCNN_MANIFEST);
    return buf;
}
