/* MobileNetV2 fine-tuning helpers (train --finetune, train/finetune.c) beside the network of mobilenetv2.h.
 *
 * Statistics initialisation of BN from data. Weights imported from a TFLite file have BN folded into the
 * convolutions: each BN is stored as the identity (weight 1, running mean 0, running var 1 - eps) around the
 * folded bias. In eval mode that is exact; in train mode the batch statistics replace the identity ones and the
 * network no longer computes the pretrained function. mobilenetv2_bn_from_data re-expresses every BN with the
 * statistics of its conv output measured on images while keeping the eval-mode function unchanged:
 *     eval BN: y = A x + B,  A = w / sqrt(var + eps),  B = b - mean A
 *     new: mean' = E[x], var' = Var[x] (population, over the images and positions), w' = A sqrt(var' + eps),
 *          b' = B + mean' A  ->  y = A x + B again, and in train mode y ~ the same (batch ~ population stats).
 * One eval-mode forward gives every unit's conv output (the function is unchanged unit by unit, so the inputs
 * of later units are the pretrained ones). */
#ifndef AVEMO_MODEL_MOBILENETV2_TRAIN_H
#define AVEMO_MODEL_MOBILENETV2_TRAIN_H
#include "model/mobilenetv2.h"

/* x [n, h, w, in_channels] (normalised), processed `chunk` images at a time (0 = 32). */
int mobilenetv2_bn_from_data(mobilenetv2 *m, const float *x, int n, int h, int w, int chunk);

/* The conv unit (0..MNV2_UNITS-1) a trainable tensor of m->param_layout belongs to (entry index e), or -1 (the
 * classifier): the layer depth layer-wise learning rates scale by. */
int mobilenetv2_tensor_unit(const mobilenetv2 *m, int e);

#endif
