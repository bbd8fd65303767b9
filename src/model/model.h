/* The trainable dual-stream head (spec 4, the paper's Fig. 1 after the per-frame MobileNetV2 features).
 *
 *   video features [B, T, 1280] -> temporal stream (Table I)  -> [B, T, 128]  \
 *                                                                              fusion -> [B, n_classes] -> loss
 *   MFCC [B, 156, n_mfcc*orders] -> audio stream (Table II)   -> [B, 9, 64]   /
 *
 * llm.c style: model_params is a struct of named pointers into one allocation (trainable tensors contiguous:
 * the flat vector for sgd_step/adam_step; BN running statistics in a second allocation), model_acts the same
 * for activations; `grads` / `dacts` are second instances of those structs holding the gradients.
 *
 * Usage (training step):
 *   model_forward(m, video, audio, labels, B, 1, &rng);   -> m->loss, m->acts.logits
 *   model_zero_grad(m); model_backward(m, NULL, NULL);     -> m->grad_mem (m->n_params floats)
 *   sgd_step(m->param_mem, m->grad_mem, momentum, m->n_params, &cfg, step);
 * Evaluation: model_forward(m, video, audio, NULL, B, 0, NULL) -> m->acts.logits [B, n_classes]. */
#ifndef AVEMO_MODEL_MODEL_H
#define AVEMO_MODEL_MODEL_H
#include "model/blocks.h"
#include "model/config.h"
#include "model/streams.h"

#include <stdint.h>

#define FUSION_MAX_BLOCKS 8

typedef struct {
    temporal_stream_p video;             /* Table I */
    audio_stream_p audio;                /* Table II (or the baseline's) */
    /* attention, concat */
    linear_p audio_proj;                 /* audio channels -> fusion_ch, per time step */
    resblock_p fusion[FUSION_MAX_BLOCKS];/* Conv1D residual blocks over the joint sequence */
    attention_p self_attn;               /* eq. (4)-(7) (attention only) */
    linear_p gate;                       /* modality gate: pooled joint vector -> 2 scores (attention only) */
    /* the baseline's fusions */
    attention_p ia_av, ia_va;            /* ia: audio queries over video keys (weights video), and vice versa */
    attn_block_p av, va;                 /* it, lt: audio queries over video / video queries over audio */
    /* classifiers */
    linear_p hidden;                     /* intermediate: the MLP's hidden layer */
    linear_p audio_cls, video_cls;       /* late: each stream's own classifier */
    linear_p classifier;                 /* every other case */
} model_params;

typedef struct {
    temporal_stream_a video;
    audio_stream_a audio;
    /* attention, concat */
    float *audio_proj;    /* [B, Ta, fc] */
    float *audio_interp;  /* [B, T, fc] */
    float *joint_in;      /* [B, T, fc + v2] */
    resblock_a fusion[FUSION_MAX_BLOCKS];
    attention_a self_attn;
    float *joint;         /* [B, T, fc]  fused sequence + self-attention (residual) */
    float *pooled_joint;  /* [B, fc] */
    float *gate_scores, *gate; /* [B, 2] */
    /* ia, it: stage-2 inputs after the exchange between the streams */
    ia_a ia_av, ia_va;
    attn_block_a av, va;
    float *audio_mid, *video_mid;
    /* pooled stream vectors [B, a2] / [B, v2] (attention: the projected audio [B, fc]) */
    float *pooled_audio, *pooled_video;
    float *features;      /* [B, n_features] classifier input before dropout (intermediate: MLP input) */
    float *hidden_pre, *hidden; /* intermediate [B, mlp_hidden] */
    float *dropped, *drop_mask;
    float *audio_dropped, *audio_mask, *video_dropped, *video_mask; /* late */
    float *audio_logits, *video_logits, *audio_logp, *video_logp;   /* late */
    float *logits;        /* [B, n_classes] (late: mean of the two log-probabilities) */
    float *probs;         /* [B, n_classes] softmax of logits */
} model_acts;

typedef struct {
    model_config cfg;
    temporal_stream_dims vdims;
    audio_stream_dims adims;
    int n_features;                      /* classifier input width */
    /* parameters */
    layout P;
    model_params params, grads;
    float *param_mem, *grad_mem;         /* n_params floats each: the optimizers' flat views */
    float *buffer_mem;                   /* n_buffers floats: BN running statistics */
    int *param_int;
    long n_params, n_buffers;
    /* activations for batch size act_B (grown on demand) */
    layout A;
    model_acts acts, dacts;
    float *act_mem, *dact_mem, *stat_mem;
    int *act_int;
    int act_B;
    /* the last forward */
    int B, train;
    const float *video, *audio;
    const int *labels;
    const float *a_mid, *v_mid;         /* stage-2 inputs (after ia / it) */
    float loss;
} model;

/* Build the head for `cfg` with PyTorch-default initialisation (Kaiming-uniform weights, U(+-1/sqrt(fan_in))
 * biases, BN/LN scale 1 shift 0) drawn from `seed`. */
int model_create(model **out, const model_config *cfg, uint64_t seed);
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
