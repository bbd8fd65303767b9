/* The trainable dual-stream head (spec 4, the paper's Fig. 1 after the per-frame MobileNetV2 features).
 *
 *   video features [B, T, 1280] -> temporal stream (Table I)  -> [B, T, 128]  \
 *                                                                              fusion -> [B, n_classes] -> loss
 *   MFCC [B, 156, n_mfcc*orders] -> audio stream (Table II)   -> [B, 9, 64]   /
 *
 * llm.c style: model_params is a struct of named pointers into one allocation (trainable tensors contiguous:
 * the flat vector for sgd_step/adam_step; BN running statistics in a second allocation), model_acts the same
 * for activations; `grads` / `dacts` are second instances of those structs holding the gradients. The fusion
 * (Table V) is one of model/fusion_*.c, or unimodal.c for a one-stream model, picked by one table in model.c
 * (model/fusion.h says what a fusion implements); each has its own member in both structs.
 *
 * Usage (training step):
 *   model_forward(m, video, audio, labels, B, 1, &rng);   -> m->loss, m->acts.logits
 *   model_zero_grad(m); model_backward(m, NULL, NULL);     -> m->grad_mem (m->n_params floats)
 *   sgd_step(m->param_mem, m->grad_mem, momentum, m->n_params, &cfg, step);
 * Evaluation: model_forward(m, video, audio, NULL, B, 0, NULL) -> m->acts.logits [B, n_classes]. */
#ifndef AVEMO_MODEL_MODEL_H
#define AVEMO_MODEL_MODEL_H
#include "model/config.h"
#include "model/fusion.h"
#include "model/fusion_attention.h"
#include "model/fusion_ia.h"
#include "model/fusion_intermediate.h"
#include "model/fusion_it.h"
#include "model/fusion_late.h"
#include "model/fusion_lt.h"
#include "model/streams.h"
#include "model/unimodal.h"

#include <stdint.h>

typedef struct {
    temporal_stream_p video;             /* Table I */
    audio_stream_p audio;                /* Table II (or the baseline's) */
    /* the fusion and classifier: only the one of m->cfg is declared (model.c's table) */
    attention_fusion_p attention;        /* attention, concat */
    ia_fusion_p ia;
    it_fusion_p it;
    lt_fusion_p lt;
    intermediate_fusion_p intermediate;
    late_fusion_p late;
    unimodal_p unimodal;                 /* modality audio or video */
} model_params;

typedef struct {
    temporal_stream_a video;
    audio_stream_a audio;
    attention_fusion_a attention;
    ia_fusion_a ia;
    it_fusion_a it;
    lt_fusion_a lt;
    intermediate_fusion_a intermediate;
    late_fusion_a late;
    unimodal_a unimodal;
    float *logits;        /* [B, n_classes] (late: mean of the two log-probabilities) */
    float *probs;         /* [B, n_classes] softmax of logits */
} model_acts;

struct model {
    model_config cfg;
    temporal_stream_dims vdims;          /* the streams' block sizes */
    audio_stream_dims adims;
    const fusion_ops *fusion;            /* model.c's table row for cfg */
    /* parameters */
    layout param_layout;
    model_params params, grads;
    float *param_mem, *grad_mem;         /* n_params floats each: the optimizers' flat views */
    float *buffer_mem;                   /* n_buffers floats: BN running statistics */
    long n_params, n_buffers;
    /* activations for batch size act_B (grown on demand) */
    layout act_layout;
    model_acts acts, dacts;
    float *act_mem, *dact_mem;           /* activations with gradients, and those gradients */
    float *stat_mem;                     /* activations without gradients (BN batch statistics, masks) */
    int *act_int;                        /* int activations (max-pool argmax) */
    int act_B;
    /* the last forward */
    int B, train;
    const float *video, *audio;
    const int *labels;
    /* mixup / cutmix (set by the caller before a train-mode forward, or model_set_mix; NULL = off): the loss is
     * mix_lambda * CE(labels) + (1 - mix_lambda) * CE(mix_labels), its gradient the same mix */
    const int *mix_labels;
    float mix_lambda;
    stream_pair stage2_in;               /* the streams' stage-2 inputs (after ia / it's exchange) */
    float loss;
};

/* Build the head for `cfg` with PyTorch-default initialisation (Kaiming-uniform weights, U(+-1/sqrt(fan_in))
 * biases, BN/LN scale 1 shift 0) drawn from `seed`. */
int model_create(model **out, const model_config *cfg, uint64_t seed);
/* The same allocation without the initialisation (values unspecified): for a loader or a copy that writes every
 * parameter and buffer before use (model files, the API's per-thread copies); saves drawing them at start-up. */
int model_create_unset(model **out, const model_config *cfg);
void model_free(model *m);
/* Number of floats (parameters and buffers) model_create would allocate for `cfg`, without allocating them:
 * lets a loader check a file's claims before trusting them. */
int model_config_n_values(const model_config *cfg, int64_t *n_values);

/* video [B, T, video_dim] (ignored for MODALITY_AUDIO, may be NULL), audio [B, audio_frames, audio_channels]
 * (ignored for MODALITY_VIDEO). train = 1: batch-statistics BN (running statistics updated) and dropout drawn
 * from rng; train = 0: running statistics, no dropout (rng may be NULL). labels [B] (0..n_classes-1) or NULL:
 * with labels, m->loss is the mean cross-entropy (with cfg.label_smoothing). Results: m->acts.logits,
 * m->acts.probs [B, n_classes]. The inputs must stay valid until model_backward. */
int model_forward(model *m, const float *video, const float *audio, const int *labels, int B, int train, rng_t *rng);
/* Zero the parameter gradients. */
void model_zero_grad(model *m);
/* Gradients of m->loss: ACCUMULATED into m->grad_mem; requires the previous call to be a train-mode forward
 * with labels. dvideo [B, T, video_dim] and daudio [B, audio_frames, audio_channels] receive the gradients
 * w.r.t. the inputs when not NULL (overwritten): the hook for fine-tuning MobileNetV2 end to end. */
int model_backward(model *m, float *dvideo, float *daudio);
/* The same for loss_scale x m->loss: data-parallel ranks (train/data_parallel.h) each hold `rows` of a batch of
 * `batch_rows` and pass rows / batch_rows, so that the gradients summed over the ranks are the batch's. */
int model_backward_scaled(model *m, float *dvideo, float *daudio, float loss_scale);

/* Mixed targets for the next forwards with labels (mixup / cutmix): the loss becomes
 * lambda CE(labels) + (1 - lambda) CE(labels_b) (each with cfg.label_smoothing), and model_backward its
 * gradient. labels_b [B] must stay valid until model_backward; NULL returns to plain labels. */
void model_set_mix(model *m, const int *labels_b, float lambda);

/* Predicted class per sample from the last forward (argmax of logits). */
void model_predict(const model *m, int *pred);

/* Named tensors (parameters and BN buffers) for checkpoints: name, shape, data. */
int model_n_tensors(const model *m);
const layout_entry *model_tensor(const model *m, int i);
float *model_tensor_data(const model *m, int i);

/* Modality dropout `softhard` (spec 4, the baseline's training-time transform): the batch of B samples is
 * expanded to 4B and shuffled: the original; audio x c and video x (1 - c), c ~ U[0, 1) per sample; audio
 * zeroed; video zeroed. video_out [4B, video_per], audio_out [4B, audio_per], labels_out [4B]. On the cached
 * feature path it acts on the features (the baseline acts on the pixels). */
int modality_dropout_softhard(float *video_out, float *audio_out, int *labels_out, const float *video,
                              const float *audio, const int *labels, int B, long video_per, long audio_per,
                              rng_t *rng);

#endif
