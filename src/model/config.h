/* The trainable head's configuration (spec 4): which streams, which fusion, layer widths, regularisation.
 * The head reads per-frame MobileNetV2 features (video [B, T, video_dim]) and MFCC features
 * (audio [B, audio_frames, audio_channels], channels-last). Stored as JSON in checkpoint metadata. */
#ifndef AVEMO_MODEL_CONFIG_H
#define AVEMO_MODEL_CONFIG_H

#define AVEMO_FRAMES_PER_CLIP 15   /* video frames T (spec 2) */
#define AVEMO_VIDEO_FEATURE_DIM 1280 /* MobileNetV2 width 1.0 pooled features */
#define AVEMO_MFCC_FRAMES 156      /* 3.6 s at 22,050 Hz, hop 512, center=True (spec 3) */
#define AVEMO_N_MFCC 10

#define MODEL_MAX_AUDIO_BLOCKS 8    /* audio_blocks: 2..8 */
#define MODEL_MAX_FUSION_BLOCKS 8   /* fusion_blocks: 1..8 */

typedef enum { MODALITY_AV = 0, MODALITY_AUDIO, MODALITY_VIDEO } model_modality;

/* Table V's variants (spec 4). */
typedef enum {
    FUSION_ATTENTION = 0, /* the paper's feature-level fusion (default) */
    FUSION_IA,            /* baseline: intermediate attention (attention weights scale the other stream) */
    FUSION_IT,            /* baseline: intermediate transformer block after stage 1 */
    FUSION_LT,            /* baseline: late transformer block after stage 2 */
    FUSION_INTERMEDIATE,  /* pooled streams concatenated + MLP */
    FUSION_LATE,          /* mean of the two streams' log-probabilities */
    FUSION_CONCAT         /* `attention` without the self-attention and the gate */
} model_fusion;

typedef enum { AUDIO_STREAM_PAPER = 0, AUDIO_STREAM_BASELINE } audio_stream_variant;

typedef struct {
    model_modality modality;
    model_fusion fusion;                /* used when modality == MODALITY_AV */
    audio_stream_variant audio_stream;
    int n_classes;
    int audio_channels;                 /* n_mfcc * number of FRFT orders (10) */
    int audio_frames;                   /* 156 */
    int video_frames;                   /* T = 15 */
    int video_dim;                      /* 1280 */
    /* widths (the paper's values by default; smaller ones make fast tests) */
    int video_ch1, video_ch2;           /* Table I stages: 64, 128 */
    int audio_ch;                       /* Table II: 64 */
    int audio_blocks;                   /* Table II: 4 (paper variant only), at most MODEL_MAX_AUDIO_BLOCKS */
    int baseline_ch1, baseline_ch2, baseline_ch3; /* baseline audio: 10->64->128, 128->256->128 */
    int baseline_pool_stride;           /* baseline audio: MaxPool1d(2, stride): 1 the baseline's, 2 (ours) a
                                           quarter of the work at the same parameters */
    int fusion_ch;                      /* 128: audio projection and fusion residual blocks */
    int fusion_blocks;                  /* 4, at most MODEL_MAX_FUSION_BLOCKS */
    int mlp_hidden;                     /* `intermediate` fusion's hidden layer: 128 (ours) */
    float dropout;                      /* 0.5 before every classifier (ours) */
    int modality_dropout;               /* 1 = softhard (spec 4); applied by the training loop */
    float label_smoothing;              /* 0 */
} model_config;

/* The defaults of spec 4 for `n_classes` classes (8 for RAVDESS, 6 for CREMA-D). */
void model_config_default(model_config *c, int n_classes);
/* Check sizes are positive and consistent (e.g. the audio stream does not pool time below 1). */
int model_config_validate(const model_config *c);

const char *model_modality_name(model_modality m);
const char *model_fusion_name(model_fusion f);
const char *audio_stream_name(audio_stream_variant v);
int model_modality_parse(const char *s, model_modality *out);  /* "av", "audio", "video" */
int model_fusion_parse(const char *s, model_fusion *out);      /* "attention", "ia", ... */
int audio_stream_parse(const char *s, audio_stream_variant *out); /* "paper", "baseline" */

/* JSON round trip (checkpoint metadata). to_json returns a malloc'd string (NULL on ENOMEM). from_json
 * starts from the defaults, so keys absent from older files keep their default; unknown keys are ignored,
 * wrong types and invalid values fail with AVEMO_EFORMAT. */
char *model_config_to_json(const model_config *c);
int model_config_from_json(const char *json, model_config *c);

#endif
