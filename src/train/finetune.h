/* End-to-end fine-tuning of the visual stream (train --finetune): MobileNetV2 and the head trained together
 * on the cache's face frames (still images, T = 1, e.g. FER2013 prepared with --size 48; or clips, T frames
 * per sample), starting from imported ImageNet weights.
 *
 * One step on a batch of B samples (B T frames):
 *   frames uint8 -> a random view each (vision/augment.h: crop/scale/aspect, rotation, shift, flip,
 *   brightness/contrast; one view per sample, shared by its T frames) rendered at S x S and normalised
 *   (data/featurizer.h's featurizer_frame_input, the function predict uses with the identity view)
 *   -> [mixup / cutmix] -> MobileNetV2 (BN train, frozen or fixed) -> features [B T, 1280]
 *   -> (f - mean) / std (fixed: measured once on training images with the starting weights)
 *   -> the head (model/model.h, the video-only model: temporal stream + classifier) -> cross-entropy
 *   -> backward through the head into the features, through MobileNetV2 to every weight
 *   -> per-tensor optimizer steps: the head at lr, the backbone at lr x backbone_lr x layer_decay^(51 - unit);
 *      weight decay on conv/linear weights only (not on BN weights/biases nor biases); warm-up then the
 *      schedule, per step.
 * The fold, protocol, seeds, resume state (after every epoch; the backbone, its BN statistics and moments as
 * extra tensors), model selection, reports and plots are train/trainer.c's. The fold's model file holds the
 * head, the feature statistics and the fine-tuned backbone with its input size (model/model_file.h), so that
 * eval, predict and prep (--backbone MODEL) run that backbone at that size.
 *
 * Evaluation (validation epochs, the test / held-out samples, avemo eval): BN folded (mobilenetv2_fold), the
 * frames rendered with the test-time views 0..tta-1 of augment_tta_view, the head's probabilities averaged.
 */
#ifndef AVEMO_TRAIN_FINETUNE_H
#define AVEMO_TRAIN_FINETUNE_H
#include "data/cache.h"
#include "data/frame_set.h"
#include "model/model_file.h"
#include "train/trainer_run.h"

#include <cjson/cJSON.h>

/* Input 96, BN train with the data init, backbone lr x1, no layer decay, no warm-up, augmentation on (its
 * defaults), no mixing, TTA 1, 2048 statistics images. */
void finetune_options_default(finetune_options *o);
/* The options as a JSON object (for the run's fingerprint and report). */
cJSON *finetune_options_json(const finetune_options *o);
const char *finetune_bn_name(finetune_bn b);
int finetune_bn_parse(const char *s, finetune_bn *out); /* "train", "frozen", "fixed" */

/* The networks and optimizer state one fine-tuning step works on. */
typedef struct {
    mobilenetv2 *backbone;            /* gradients allocated */
    model *head;                      /* video-only, video_frames T, video_dim 1280 */
    const float *mean, *std;          /* [1280] the features' standardisation */
    float *bb_m, *bb_v, *head_m, *head_v; /* optimizer moments [n_params] (v: Adam/AdamW only, else NULL) */
    float *feat, *dfeat;              /* scratch [n T, 1280] */
} finetune_net;

/* One step on rendered frames x [n T, S, S, c] (normalised) with labels [n] (and, mixed, labels_b [n] with
 * weight 1 - lambda; labels_b NULL: plain): backbone forward (BN per o->finetune.bn), standardised features, the
 * head's loss (net->head->loss), backward through both, then the per-tensor optimizer steps of o (lr at this
 * step; `step` 1-based, Adam's bias correction and SGD's first momentum). drop_rng: the head's dropout. */
int finetune_net_step(finetune_net *net, const train_options *o, const float *x, int n, int S, const int *labels,
                      const int *labels_b, float lambda, float lr, long step, rng_t *drop_rng);

/* Train fold k of the run (train_run calls it in place of its feature trainer when finetune.enabled). */
int finetune_fold(run_ctx *run, int k, int n_folds, const fold *f, fold_report *fr, float *val_best);

/* Scores of a fine-tuned model file (mf->backbone set) on cache samples idx[0..n): metrics into *out, views
 * 0..tta-1 averaged (tta 0 = 1). */
int finetune_eval(const model_file *mf, const feature_cache *c, const int *idx, int n, int tta, eval_metrics *out);
/* finetune_eval's probabilities [*n_out, classes] and labels [*n_out] (malloc'd) instead of its metrics; with
 * index not NULL, the cache index of each row too (malloc'd; the samples of idx that have face frames). */
int finetune_eval_probs(const model_file *mf, const feature_cache *c, const int *idx, int n, int tta, float **probs,
                        int **labels, int **index, int *n_out);

/* Probabilities [set->n, classes] of the head on the backbone's features of every sample of `set`, views
 * 0..tta-1 averaged (backbone folded; the features standardised with mean/std [1280]). */
int finetune_predict_set(const mobilenetv2 *backbone, int input_size, model *head, const float *mean,
                         const float *std, const frame_set *set, int tta, float *probs);

#endif
