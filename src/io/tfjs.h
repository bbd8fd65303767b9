/* TensorFlow.js weights: a JSON manifest ([{"paths": [shard files], "weights": [{"name", "shape",
 * "dtype"}, ...]}, ...]) plus binary shards holding the tensors back to back, little-endian, in manifest
 * order (a group's shards are concatenated). float32 only, and the uint8/uint16 affine quantisation
 * ("quantization": {"dtype", "scale", "min"}: value = min + q * scale) that TF.js converters emit.
 * Used for the MTCNN weights (face-api.js). */
#ifndef AVEMO_IO_TFJS_H
#define AVEMO_IO_TFJS_H

#define TFJS_MAX_DIMS 6

typedef struct {
    char name[128];
    int ndim;
    int shape[TFJS_MAX_DIMS];
    long count;  /* product of shape */
    float *data; /* points into tfjs_weights.storage */
} tfjs_tensor;

typedef struct {
    int n_tensors;
    tfjs_tensor *tensors;
    float *storage;
} tfjs_weights;

/* Read the manifest and its shards (paths relative to the manifest's folder). Validates names, shapes,
 * dtypes, and that the shards hold exactly the bytes the manifest describes. */
int tfjs_load(const char *manifest_path, tfjs_weights *out);
/* The tensor called `name`, or NULL. */
const tfjs_tensor *tfjs_find(const tfjs_weights *w, const char *name);
void tfjs_free(tfjs_weights *w);

#endif
