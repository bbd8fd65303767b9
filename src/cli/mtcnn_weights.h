/* Where the CLI finds the MTCNN weights: --mtcnn PATH, else $AVEMO_MTCNN, else
 * $AVEMO_SHARED/weights/mtcnn/mtcnn_model-weights_manifest.json, else ../shared/weights/mtcnn/... */
#ifndef AVEMO_CLI_MTCNN_WEIGHTS_H
#define AVEMO_CLI_MTCNN_WEIGHTS_H
#include <stddef.h>

const char *cli_mtcnn_path(const char *flag_value, char *buf, size_t cap);

#endif
