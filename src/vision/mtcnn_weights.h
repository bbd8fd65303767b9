/* The MTCNN networks' weights (vision/mtcnn.h) in the layouts vision/mtcnn.c runs them with: conv kernels OIHW
 * [c_out, c_in, k, k], fully connected [out, in], PReLU alpha [c]. Two loaders fill the same struct:
 *   mtcnn_weights_tfjs.c    the face-api.js TF.js export (manifest + shard; conv HWIO, dense [in, out])
 *   mtcnn_weights_tflite.c  facenet's graphs converted to TFLite (pnet/rnet/onet.tflite; conv OHWI,
 *                           dense [out, in]); the same trained weights, bit for bit
 * Both go through mtcnn_weights_fill, which names every tensor as the TF.js export does. */
#ifndef AVEMO_VISION_MTCNN_WEIGHTS_H
#define AVEMO_VISION_MTCNN_WEIGHTS_H

typedef struct {
    float *weight, *bias; /* weight [c_out, c_in, k, k] (OIHW), bias [c_out] */
    int c_out, c_in, k;
} mtcnn_conv;

typedef struct {
    float *weight, *bias; /* weight [out, in], bias [out] */
    int in, out;
} mtcnn_fc;

#define MTCNN_MAX_ALLOCS 64

typedef struct {
    mtcnn_conv conv1, conv2, conv3, conv4_1, conv4_2; /* conv4_1: face / not (2), conv4_2: box regression (4) */
    float *prelu1, *prelu2, *prelu3;
} mtcnn_pnet;

typedef struct {
    mtcnn_conv conv1, conv2, conv3;
    float *prelu1, *prelu2, *prelu3, *prelu4;
    mtcnn_fc fc1, fc2_1, fc2_2; /* fc2_1: face / not (2), fc2_2: box regression (4) */
} mtcnn_rnet;

typedef struct {
    mtcnn_conv conv1, conv2, conv3, conv4;
    float *prelu1, *prelu2, *prelu3, *prelu4, *prelu5;
    mtcnn_fc fc1, fc2_1, fc2_2, fc2_3; /* fc2_3: 5 landmarks (10) */
} mtcnn_onet;

typedef struct {
    mtcnn_pnet pnet;
    mtcnn_rnet rnet;
    mtcnn_onet onet;
    float *allocs[MTCNN_MAX_ALLOCS]; /* every buffer above */
    int n_allocs;
} mtcnn_weights;

/* From a TF.js manifest (../shared/weights/mtcnn/mtcnn_model-weights_manifest.json) and its shards. */
int mtcnn_weights_load_tfjs(const char *manifest_path, mtcnn_weights *w);
/* From a folder holding pnet.tflite, rnet.tflite, onet.tflite (see mtcnn_weights_tflite.c). */
int mtcnn_weights_load_tflite(const char *dir, mtcnn_weights *w);
void mtcnn_weights_free(mtcnn_weights *w);

/* Fill w from any weight source: get() copies the tensor `name` into out (count = product of shape) or fails
 * with avemo_error(). Names and layouts are those of the face-api.js TF.js export:
 * "<net>/<layer>/weights" conv kernels HWIO [k, k, c_in, c_out] and dense kernels [in, out],
 * "<net>/<layer>/bias", "<net>/preluN_alpha" [c]; net pnet|rnet|onet; layers pnet conv1-3, conv4_1 (2 ch),
 * conv4_2 (4); rnet conv1-3, fc1, fc2_1 (2), fc2_2 (4); onet conv1-4, fc1, fc2_1 (2), fc2_2 (4), fc2_3 (10).
 * `what` names the source in messages. On failure w holds nothing (freed). */
typedef int (*mtcnn_tensor_fn)(void *ctx, const char *name, int ndim, const int *shape, float *out);
int mtcnn_weights_fill(mtcnn_tensor_fn get, void *ctx, const char *what, mtcnn_weights *w);

#endif
