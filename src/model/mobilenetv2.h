/* MobileNetV2, width 1.0 (Sandler et al. 2018): the visual stream's backbone (spec 4).
 *
 *   x [n, h, w, c_in] (c_in = 1 or 3, h and w multiples of 32)
 *   features.0    conv 3x3/2 (32) + BN + ReLU6
 *   features.1-17 17 inverted residual blocks, (t, c, n, s) = (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2)
 *                 (6,96,3,1) (6,160,3,2) (6,320,1,1): [1x1 expand + BN + ReLU6] (absent when t = 1) ->
 *                 3x3 depthwise/s + BN + ReLU6 -> 1x1 project + BN; x + block(x) when s = 1 and c_in = c_out
 *   features.18   conv 1x1 (1280) + BN + ReLU6
 *   global average pool -> [n, 1280]           (optional classifier.1: Linear(1280, n_classes))
 *
 * Parameters are named and laid out as torchvision's mobilenet_v2 state_dict (conv weights OIHW), so a
 * torchvision checkpoint saved as safetensors loads unchanged; timm's mobilenetv2_100 names are accepted too.
 * The tensors are declared once, in state_dict order, with the layout registry the head uses (model/layout.h):
 * trainable ones (conv weights, BN weight/bias, classifier) in one allocation `params`, BN running statistics
 * in a second one `buffers`; `grads` mirrors `params`.
 *
 * Padding: "torch" pads k/2 on every side; "tf_same" is TensorFlow's SAME (the imported TFLite weights were
 * trained with it): total = max((ceil(in/s) - 1) s + k - in, 0), top/left = total/2, the rest bottom/right,
 * so stride-2 layers on even sizes pad only bottom/right.
 */
#ifndef AVEMO_MODEL_MOBILENETV2_H
#define AVEMO_MODEL_MOBILENETV2_H
#include "core/rng.h"
#include "io/safetensors.h"
#include "model/layout.h"
#include "nn/blocked.h"
#include "nn/shapes.h"

#define MNV2_BLOCKS 17
#define MNV2_UNITS 52        /* conv+BN units: stem, 2 + 16 * 3 in the blocks, head */
#define MNV2_FEATURES 1280
#define MNV2_BN_EPS 1e-5f    /* torchvision BatchNorm2d defaults */
#define MNV2_BN_MOMENTUM 0.1f

typedef enum { MNV2_PAD_TORCH = 0, MNV2_PAD_TF_SAME = 1 } mnv2_padding;
/* Input normalisation the weights expect (metadata "input_norm"): ImageNet mean/std (torchvision) or
 * x / 127.5 - 1 (TF/TFLite MobileNetV2). One-channel input uses the mean of the three means and stds. */
typedef enum { MNV2_NORM_IMAGENET = 0, MNV2_NORM_MINUS1_1 = 1 } mnv2_norm;

/* One conv + BN (+ ReLU6) unit. */
typedef struct {
    int c_in, c_out, k, stride, groups, relu6;
    float *w;                          /* [c_out, c_in/groups, k, k] */
    float *gamma, *beta;               /* BN weight, bias [c_out] */
    float *running_mean, *running_var; /* [c_out], in `buffers` (NULL in the gradient layout) */
} mnv2_unit;

typedef struct {
    int c_in, hidden, c_out, stride, residual;
    int n_units;                       /* 2 (t = 1: depthwise, project) or 3 (expand, depthwise, project) */
    mnv2_unit *u[3];                   /* points into mnv2_params.units */
} mnv2_block;

typedef struct {
    mnv2_unit units[MNV2_UNITS];       /* in forward order: units[0] stem, units[51] head */
    mnv2_block blocks[MNV2_BLOCKS];
    float *fc_w, *fc_b;                /* classifier.1 [n_classes, 1280], [n_classes]; NULL when n_classes = 0 */
} mnv2_params;

/* Saved activations of one forward pass (sized for n x h x w, reallocated when that changes). */
typedef struct {
    int n, h, w, padding;
    conv2d_shape shape[MNV2_UNITS];
    float *in[MNV2_UNITS];             /* input of unit i (the input image or an earlier y) */
    float *conv[MNV2_UNITS];           /* conv output, pre-BN [n, oh, ow, c_out] */
    float *y[MNV2_UNITS];              /* BN (+ ReLU6) output; a residual block's last y holds the sum */
    float *mean, *rstd;                /* per unit, c_out each (train mode) */
    float *pooled;                     /* [n, 1280] */
    float *mem;
    long max_act;                      /* largest activation (floats), sizes the backward scratch */
    float *scratch;                    /* backward: 5 x max_act */
    int train;                         /* the last forward ran in train mode */
} mnv2_acts;

typedef struct {
    int in_channels, n_classes;
    mnv2_padding padding;
    mnv2_norm norm;
    float bn_eps, bn_momentum;
    int64_t num_batches_tracked;
    mnv2_params p;                     /* the parameters; the running statistics in `buffers` */
    mnv2_params g;                     /* gradients of the trainable tensors (after mobilenetv2_alloc_grads) */
    float *params, *grads, *buffers;   /* n_params, n_params, n_buffers floats */
    long n_params, n_buffers;
    layout param_layout;               /* the state_dict in order: torchvision names (timm's as aliases), shapes,
                                          offsets into params (trainable) or buffers (model/layout.h) */
    mnv2_acts acts;
} mobilenetv2;

/* Allocate a model (conv weights 0, BN identity: gamma 1, beta 0, mean 0, var 1); n_classes 0 = no classifier. */
int mobilenetv2_init(mobilenetv2 *m, int in_channels, int n_classes);
void mobilenetv2_free(mobilenetv2 *m);
/* torchvision's initialisation: conv kaiming_normal(fan_out), BN (1, 0), linear N(0, 0.01), bias 0. */
void mobilenetv2_init_random(mobilenetv2 *m, rng_t *rng);
/* Allocate (and zero) m->grads. */
int mobilenetv2_alloc_grads(mobilenetv2 *m);
void mobilenetv2_zero_grads(mobilenetv2 *m);

/* Read a file and create the model from it: n_classes from classifier.1.weight (0 if absent);
 * in_channels = 0 takes the file's. */
int mobilenetv2_from_file(mobilenetv2 *m, const char *path, int in_channels);
/* Save with torchvision names, num_batches_tracked as I64, metadata arch/padding/input_norm/in_channels plus
 * the extra (key, value) pairs given (may be NULL). */
int mobilenetv2_save(const mobilenetv2 *m, const char *path, const char *const *meta_kv, int n_meta);

/* Import a TFLite MobileNetV2 v1.0 (e.g. mobilenet_v2_1.0_224_quant.tflite: BN folded into the convs, ReLU6,
 * TF "SAME" padding): its 52 CONV_2D / DEPTHWISE_CONV_2D are matched in order to the torchvision units (shapes,
 * strides and activations checked), weights dequantised and transposed (OHWI -> OIHW, depthwise 1HWC ->
 * C1HW). The folded bias becomes the BN bias with weight 1, running mean 0 and running var 1 - eps (chosen so
 * that var + eps == 1.0f exactly, so eval BN is the identity plus bias, bit for bit). A final 1x1 logits conv
 * becomes classifier.1 ([1001, 1280], class 0 = background). Sets padding tf_same and input_norm minus1_1.
 * in_channels 1 sums the stem's RGB filters. */
int mobilenetv2_from_tflite(mobilenetv2 *m, const char *path, int in_channels);

/* Forward x [n, h, w, in_channels] -> features [n, 1280]. train = 1 uses batch statistics (and updates the
 * running ones), 0 the running statistics. Saves the activations for mobilenetv2_backward. */
int mobilenetv2_forward(mobilenetv2 *m, float *features, const float *x, int n, int h, int w, int train);
/* Backward of the last forward: dfeatures [n, 1280] -> accumulates into m->grads (must be allocated) and
 * dx [n, h, w, in_channels] (may be NULL). */
int mobilenetv2_backward(mobilenetv2 *m, float *dx, const float *dfeatures);
/* classifier: features [n, 1280] -> logits [n, n_classes] */
int mobilenetv2_classify(const mobilenetv2 *m, float *logits, const float *features, int n);

/* Inference with BN folded into the convs (eval mode; mobilenetv2_infer.c). The folded weights are packed for
 * the blocked kernels of nn/blocked.h; each inverted residual block runs fused (expand 1x1 -> depthwise 3x3 ->
 * project 1x1 over tiles of rows, so the expanded tensor lives only in a ring of rows in cache), one image
 * at a time per thread, out of workspaces that are kept across calls (no allocation in steady state). */
typedef struct mnv2_workspaces mnv2_workspaces; /* opaque: the pool of workspaces */

typedef struct {
    int in_channels;
    mnv2_padding padding;
    mnv2_unit unit[MNV2_UNITS];        /* shapes (pointer fields unused) */
    int block_first[MNV2_BLOCKS], block_units[MNV2_BLOCKS], block_residual[MNV2_BLOCKS];
    const float *stem_w;               /* units[0], packed for blk_stem_row */
    const float *dw_w[MNV2_BLOCKS];    /* each block's depthwise unit, packed for blk_dw3x3_row */
    blk_pw expand[MNV2_BLOCKS];        /* expand 1x1 (k = 0 where the block has none: features.1) */
    blk_pw project[MNV2_BLOCKS];       /* project 1x1 */
    blk_pw head;                       /* features.18 */
    int bf16;                          /* the 1x1s in bf16 (blk_pointwise_bf16): mobilenetv2_fold with
                                          AVEMO_BF16=1, AVX512_BF16 builds only; fp32 is the default */
    float *mem;                        /* every packed tensor */
    mnv2_workspaces *workspaces;
} mnv2_folded;

/* The inference fold: fp32, or the 1x1 convolutions in bf16 when the environment says AVEMO_BF16=1 (an opt-in of
 * every inference path at once: predict, eval, prep, the C API; ignored by builds without AVX512_BF16). */
int mobilenetv2_fold(mnv2_folded *f, const mobilenetv2 *m);
/* The fold in fp32 (bf16 = 0) or bf16 (1: where BLK_HAVE_BF16), whatever the environment says (training's own
 * feature statistics stay fp32). */
int mobilenetv2_fold_precision(mnv2_folded *f, const mobilenetv2 *m, int bf16);
void mobilenetv2_folded_free(mnv2_folded *f);
/* x [n, h, w, in_channels] -> features [n, 1280]. Threads: nn_get_threads() (1 inside a parallel region): whole
 * images per thread, the images left over (fewer than the threads) split by rows. May be called from several
 * threads at once on one folded model. `chunk` is kept for the callers and ignored: memory no longer grows
 * with the batch. */
int mobilenetv2_infer(const mnv2_folded *f, float *features, const float *x, int n, int h, int w, int chunk);

/* Normalise uint8 pixels [pixels, channels] to floats as the weights expect. */
void mobilenetv2_normalize_u8(float *dst, const unsigned char *src, long pixels, int channels, mnv2_norm norm);
/* The same for float pixels in 0..255 (augmented views), in place. */
void mobilenetv2_normalize_f32(float *x, long pixels, int channels, mnv2_norm norm);
const char *mnv2_padding_name(mnv2_padding p);
const char *mnv2_norm_name(mnv2_norm n);

/* Fill conv2d_shape for unit u on an input of n x h x w. */
void mnv2_unit_shape(conv2d_shape *s, const mnv2_unit *u, mnv2_padding pad, int n, int h, int w);

#endif
