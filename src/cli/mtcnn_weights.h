/* Where the CLI finds the MTCNN weights (a TF.js manifest, or a folder with pnet/rnet/onet.tflite): --mtcnn PATH,
 * else $AVEMO_MTCNN, else $AVEMO_SHARED/weights/mtcnn/mtcnn_model-weights_manifest.json (default
 * ../shared/weights/mtcnn/...) when it exists, else weights/mtcnn-tflite (scripts/fetch-mtcnn-tflite.sh) in the
 * working directory or next to the executable when it holds pnet.tflite, else the manifest path (which then
 * fails to load with a message naming it). */
#ifndef AVEMO_CLI_MTCNN_WEIGHTS_H
#define AVEMO_CLI_MTCNN_WEIGHTS_H
#include <stddef.h>

const char *cli_mtcnn_path(const char *flag_value, char *buf, size_t cap);

#endif
