/* Where avemo finds the pretrained weights it does not train itself: the MTCNN face detector and the frozen
 * MobileNetV2 backbone. One search, used by prep, the C API's predict, and the faces and detect commands.
 *
 * MTCNN (a TF.js manifest, or a folder holding pnet/rnet/onet.tflite), the first place that applies:
 *   1. the path given (--mtcnn, avemo_open_options.mtcnn_manifest), taken as is
 *   2. $AVEMO_MTCNN, taken as is
 *   3. $AVEMO_SHARED/weights/mtcnn/mtcnn_model-weights_manifest.json (default ../shared/...) when readable
 *   4. weights/mtcnn-tflite (scripts/fetch-mtcnn-tflite.sh) in the working directory, then next to the
 *      executable, when it holds pnet.tflite
 * MobileNetV2 backbone (safetensors):
 *   1. the path given (--backbone, avemo_open_options.backbone), taken as is
 *   2. the path `avemo prep --backbone` recorded in the feature settings, taken as is
 * A path "taken as is" is not checked here: loading it fails with a message naming it.
 *
 * Adding a place means adding one entry to the list of its kind in weights.c (weights_places).
 */
#ifndef AVEMO_DATA_WEIGHTS_H
#define AVEMO_DATA_WEIGHTS_H
#include <stddef.h>

#define WEIGHTS_MTCNN_MANIFEST "weights/mtcnn/mtcnn_model-weights_manifest.json" /* under $AVEMO_SHARED */
#define WEIGHTS_MTCNN_TFLITE "weights/mtcnn-tflite" /* scripts/fetch-mtcnn-tflite.sh */

typedef enum { WEIGHTS_MTCNN = 0, WEIGHTS_BACKBONE = 1 } weights_kind;

/* The weights of `kind` into path [cap]. `given`: an explicit path or NULL; `recorded`: the path the feature
 * settings name (WEIGHTS_BACKBONE) or NULL. Not found: AVEMO_EINVAL, with a message saying where it looked and
 * how to give them. */
int weights_find(weights_kind kind, const char *given, const char *recorded, char *path, size_t cap);

#endif
