/* The paper's ablation tables, one command each (spec 5; the paper's numbers: spec 7, train/report.h).
 *
 *   Table III (RAVDESS): audio only, video only, audio-visual (attention fusion), all from one cache.
 *   Tables V (RAVDESS) and VII (CREMA-D), five cumulative rows mapped onto model_config (ours: the paper
 *   gives no code; the mapping is written into every table):
 *     1 MFCC + intermediate fusion                 --fusion intermediate --audio-stream baseline, MFCC
 *       (the paper's starting point is the baseline system, whose visual backbone (EfficientFace) avemo
 *        does not have: the visual features are the cache's MobileNetV2 ones in every row, so row 1 -> 2
 *        measures the audio stream (the baseline's -> Table II), not the backbone)
 *     2 MFCC + MobileNetV2, intermediate fusion     --fusion intermediate, MFCC
 *     3 MFCC + MobileNetV2, feature-level fusion    --fusion attention with ONE fusion Conv1D residual block
 *       (the fewest the head has: it maps the joined audio+visual channels to fusion_ch), MFCC
 *     4 FRFT-MFCC + MobileNetV2, feature-level      row 3 on FRFT-MFCC features
 *     5 ... + Conv1D residual blocks                --fusion attention with all fusion blocks (4): the full
 *                                                    model, FRFT-MFCC
 *   A cache holds one kind of audio features, so the MFCC rows and the FRFT-MFCC rows read different
 *   caches: each row uses whichever of the given caches (--data, --data-frft) holds its features (read
 *   from the cache's prep settings). When the FRFT-MFCC cache has audio only and the MFCC cache has the
 *   video features, OUT/cache_frft_av/ is made (data/cache.h: cache_join): an index joining the two (same
 *   sample ids) with links to the FRFT cache's audio/ and the MFCC cache's feats/, so video is prepared once.
 *
 * Every row trains with train_run into OUT/<row key>/ (resumable with resume = 1: finished rows are only
 * checked against their saved state and re-read). A row whose modality the cache lacks is "not run" with
 * the reason; a row whose training fails is "failed" with the message, and the others still run. Then
 * OUT/table<N>.md (report_write_ablation_md) and OUT/table<N>.json. */
#ifndef AVEMO_TRAIN_ABLATE_H
#define AVEMO_TRAIN_ABLATE_H
#include "train/report.h"
#include "train/trainer.h"

typedef struct {
    const char *key;   /* the paper row's key (train/report.h) and the run folder's name */
    const char *label; /* the paper's row label */
    model_modality modality;
    model_fusion fusion;
    audio_stream_variant audio_stream;
    int fusion_blocks; /* > 0: use this many fusion residual blocks; 0: the base options' (default 4) */
    int frft;          /* 0: MFCC audio features, 1: FRFT-MFCC, -1: whatever the cache holds (Table III) */
} ablation_spec;


typedef enum { ABLATE_PENDING = 0, ABLATE_DONE, ABLATE_NOT_RUN, ABLATE_FAILED } ablate_status;

typedef struct {
    const ablation_spec *spec;
    ablate_status status;
    char reason[512];          /* not run / failed: why */
    char settings[256];        /* the model settings in CLI words, with the audio features */
    char cache[4096];          /* the cache the row read ("" when not run for want of one) */
    char run_dir[4096];
    int resumed;               /* the row had a finished report before this call */
    double top1, top1_std;     /* fractions, NaN when not run */
    double macro_f1, macro_f1_std;
    int n_folds;
    char protocol[128];
    double paper;              /* percent, NaN when the paper has no number */
    double seconds;            /* training time in this call */
} ablate_result;

typedef struct {
    int table;                  /* 3, 5 or 7 */
    const char *cache_dir;      /* --data */
    const char *frft_cache_dir; /* --data-frft, or NULL */
    const char *out_dir;
    train_options train;        /* base options; per row: cache_dir, run_dir, modality, fusion, audio_stream,
                                   fusion_blocks and resume are set (init_visual cleared for audio-only rows) */
    int resume;                 /* continue OUT: finished rows are re-read, unfinished ones resumed */
    /* called before (finished = 0) and after (finished = 1) each row; may be NULL */
    void (*on_row)(void *ctx, int i, int n, const ablate_result *r, int finished);
    void *ctx;
} ablate_options;

/* Run the table. Returns AVEMO_OK when the table was written (*n_failed = rows that failed; rows "not run"
 * for want of a modality are not failures), or an error for bad options / unreadable caches / unwritable
 * OUT. results (may be NULL) receives the rows (at most ABLATE_MAX_ROWS). */
#define ABLATE_MAX_ROWS 8
int ablate_run(const ablate_options *o, ablate_result *results, int *n_rows, int *n_failed);

#endif
