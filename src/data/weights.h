/* Where avemo finds the weights it does not train in the call: the MTCNN face detector, the frozen MobileNetV2
 * backbone and the bundled face and voice models (models/ of the repository). One search, used by prep, the C
 * API, and the faces, detect and predict commands.
 *
 * A data folder holds face.safetensors, voice.safetensors and mtcnn/ (what `make install` puts in
 * $(PREFIX)/share/avemo). The data folders, in order: $AVEMO_DATA; $(PREFIX)/share/avemo as compiled in by the
 * Makefile (AVEMO_DATADIR); ../share/avemo beside the executable's folder, then beside libavemo.so's (an
 * installed tree moved elsewhere, or installed with DESTDIR).
 *
 * MTCNN (a TF.js manifest, or a folder holding pnet/rnet/onet.tflite), the first place that applies:
 *   1. the path given (--mtcnn, avemo_open_options.mtcnn_manifest), taken as is
 *   2. $AVEMO_MTCNN, taken as is
 *   3. $AVEMO_SHARED/weights/mtcnn/mtcnn_model-weights_manifest.json when $AVEMO_SHARED is set and it is readable
 *   4. mtcnn/mtcnn_model-weights_manifest.json in the data folders, when readable
 *   5. the source tree, when $AVEMO_SHARED is unset: ../shared/weights/mtcnn/... from the working directory,
 *      then ../shared and ../../shared beside the executable (./avemo and build/avemo of a checkout)
 *   6. weights/mtcnn-tflite (scripts/fetch-mtcnn-tflite.sh) in the working directory, then next to the
 *      executable, when it holds pnet.tflite
 * Bundled models (face.safetensors, voice.safetensors), the first readable of:
 *   1. the path given; 2. the data folders; 3. models/ beside the executable, then 1, 2 and 3 folders above it
 *   (a checkout's ./avemo, build/avemo, test binaries); 4. models/ in the working directory
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
#define WEIGHTS_DATA_MTCNN "mtcnn/mtcnn_model-weights_manifest.json" /* in a data folder */
#define WEIGHTS_FACE_FILE "face.safetensors"
#define WEIGHTS_VOICE_FILE "voice.safetensors"

typedef enum { WEIGHTS_MTCNN = 0, WEIGHTS_BACKBONE = 1, WEIGHTS_FACE_MODEL = 2, WEIGHTS_VOICE_MODEL = 3 } weights_kind;

/* The weights of `kind` into path [cap]. `given`: an explicit path or NULL; `recorded`: the path the feature
 * settings name (WEIGHTS_BACKBONE) or NULL (unused for the other kinds). Not found: AVEMO_EINVAL, with a message saying where it looked and
 * how to give them. */
int weights_find(weights_kind kind, const char *given, const char *recorded, char *path, size_t cap);

#endif
