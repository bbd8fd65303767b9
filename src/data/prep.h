/* Preprocessing a dataset into the feature cache (what `avemo prep` runs): per sample, decode, compute the
 * features of the chosen modalities and write them with data/cache.h. Parallel over clips (OpenMP),
 * resumable (samples already in the cache are skipped), a damaged clip is recorded with its reason and the
 * run goes on.
 *
 * Audio (spec 3): decode (the 03- file, or the video's own track), mono, 22,050 Hz soxr HQ, centre-crop /
 * zero-pad to 3.6 s, then MFCC [n_mfcc, 156] or FRFT-MFCC [orders x n_mfcc, 156].
 * Video (spec 2): sampled frames -> MTCNN face crops uint8 [T, 224, 224] (vision/faces.h; or, with
 * PREP_FACES_WHOLE, the whole frame resized: for image sets that are already face crops, like FER2013), and
 * with a backbone file the frozen MobileNetV2 embeddings float32 [T, 1280] of those crops (what the trainer's
 * video stream reads).
 */
#ifndef AVEMO_DATA_PREP_H
#define AVEMO_DATA_PREP_H
#include "core/progress.h"
#include "data/cache.h"
#include "dsp/frft_mfcc.h"
#include "dsp/mfcc.h"
#include "vision/faces.h"

typedef enum { PREP_FEATURES_MFCC = 0, PREP_FEATURES_FRFT_MFCC = 1 } prep_features;
typedef enum { PREP_FACES_DETECT = 0, PREP_FACES_WHOLE = 1 } prep_faces_mode;

typedef struct {
    int modality;           /* DATASET_NEED_AUDIO | DATASET_NEED_VIDEO bits */
    prep_features features;
    int n_orders;           /* FRFT-MFCC: orders stacked as channels */
    double orders[AVEMO_FRFT_MFCC_MAX_ORDERS];
    mfcc_config mfcc;
    int sample_rate_hz;     /* 22050 */
    double clip_seconds;    /* 3.6 */
    faces_config faces;     /* video: frames per clip (15), crop size, colour, window, MTCNN settings */
    prep_faces_mode faces_mode;
    const char *mtcnn_path;    /* MTCNN TF.js manifest (video with PREP_FACES_DETECT) */
    const char *backbone_path; /* MobileNetV2 safetensors: also write feats [T, 1280]; NULL = crops only */
    int jobs;               /* worker threads; 0 = OpenMP's default */
} prep_options;

/* Defaults of the spec: audio+video, MFCC (n_mfcc 10), FRFT order 0.95 when FRFT-MFCC is chosen, 15 frames,
 * MTCNN crops 224 px grayscale. */
void prep_options_default(prep_options *o);

/* The settings as a JSON object (malloc'd string) for the cache's "config": everything that changes the
 * cached arrays or the sample list (dataset options included), so a resumed run with other settings is
 * refused. */
int prep_config_json(const prep_options *o, const dataset_options *d, char **json);

/* Audio features of one file: *out malloc'd [*n_coeffs, *n_frames]. `f` is the FRFT-MFCC context (NULL
 * for MFCC). Thread-safe. */
int prep_audio_features(const char *path, const prep_options *o, const frft_mfcc *f, float **out, int *n_coeffs,
                        int *n_frames);

typedef struct {
    int n_samples;     /* in the cache */
    int n_already;     /* complete before this run (resume) */
    int n_processed;   /* attempted in this run */
    int n_failed;      /* of those, failed (reasons in the cache / skipped.log) */
    long n_frames;       /* video frames cropped in this run */
    long n_noface;       /* of those, frames without a face (all zeros) */
    int n_clips_noface;  /* clips with at least one such frame */
    double seconds;
} prep_stats;

/* Process every sample of `c` that lacks a modality of o->modality; saves the index periodically and at the
 * end. Errors only for problems that stop the whole run (bad options, cache unwritable); a clip that fails
 * is counted in st->n_failed. `p` may be NULL (no progress display). */
int prep_run(feature_cache *c, const prep_options *o, progress *p, prep_stats *st);

#endif
