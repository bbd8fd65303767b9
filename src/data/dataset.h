/* Datasets: scan a folder into a sorted list of samples (spec section 1).
 *
 *   RAVDESS      Actor_XX/MM-VV-EE-II-SS-RR-AA.ext  (MM 01 full AV, 02 video only, 03 audio only; VV 01 speech,
 *                02 song; EE emotion 01..08; II intensity; SS statement; RR repetition; AA actor 01..24)
 *   CREMA-D      VideoFlash/AAAA_SSS_EEE_LL.flv + AudioWAV/AAAA_SSS_EEE_LL.wav
 *   image folder <root>/<split>/<emotion>/IMAGE.{jpg,jpeg,png,bmp}  (or <root>/<emotion>/IMAGE: one split)
 *
 * A sample is one utterance (or one image). Files whose names do not parse or validate are skipped and
 * listed in `skipped` with the reason; the scan never fails because of one bad file name.
 * Order is deterministic: samples sorted by (actor, id) for RAVDESS / CREMA-D, (split, class, file) for
 * image folders.
 */
#ifndef AVEMO_DATA_DATASET_H
#define AVEMO_DATA_DATASET_H

typedef enum { DATASET_RAVDESS, DATASET_CREMAD, DATASET_IMAGEFOLDER } dataset_kind;

#define DATASET_MAX_CLASSES 64
#define RAVDESS_N_ACTORS 24

/* Which modalities a sample must have to be kept (avemo prep --modality). */
enum { DATASET_NEED_AUDIO = 1, DATASET_NEED_VIDEO = 2 };

typedef struct {
    dataset_kind kind;
    int n_classes;   /* RAVDESS: 8 (default) or 7 (calm merged into neutral); 0 = the dataset's default */
    int include_song; /* RAVDESS: keep song (VV=02) as well as speech; default speech only */
    int both_videos;  /* RAVDESS --ravdess-both-videos: one sample per 01- and per 02- video (the baseline) */
    int need;         /* DATASET_NEED_* bits; 0 = keep every sample that has any usable input */
} dataset_options;

typedef struct {
    char *id;         /* unique and file-name safe: RAVDESS/CREMA-D the primary file's stem
                         (the video's when there is one, else the audio's); image folders split__class__stem */
    char *video_path; /* video (or image, for image folders); NULL when none */
    char *audio_path; /* separate audio file; NULL = use the video's own audio track (if it has one) */
    int audio_from_video; /* 1 when the audio is the video's own track (RAVDESS 01- without a 03- file) */
    int label;        /* class index in [0, n_classes) */
    int emotion_code; /* the dataset's raw emotion code (RAVDESS 1..8, CREMA-D index of ANG..SAD, image: label) */
    int actor;        /* RAVDESS 1..24, CREMA-D 1001..1091, image folders -1 (unknown) */
    int vocal;        /* RAVDESS 1 speech / 2 song; 0 otherwise */
    int intensity;    /* RAVDESS 1 normal / 2 strong; CREMA-D 0 XX, 1 LO, 2 MD, 3 HI; 0 otherwise */
    int split;        /* index into dataset.split_names (image folders); 0 otherwise */
} dataset_sample;

typedef struct {
    dataset_kind kind;
    char *root;
    int n_classes;
    char *class_names[DATASET_MAX_CLASSES];
    int n_splits;
    char **split_names; /* image folders: the split folder names, sorted; else {""} */
    int n;
    dataset_sample *samples;
    int n_skipped;
    char **skipped; /* "path: reason" per file that was not used */
    int *skipped_path_len; /* [n_skipped]: length of the path that starts skipped[k] (NULL when the list was read
                              back from an index: cache_open) */
} dataset;

/* Scan `root`. Errors only for an unreadable root, an empty result, or bad options. */
int dataset_scan(const char *root, const dataset_options *opt, dataset *ds);
void dataset_free(dataset *ds);

/* "ravdess" | "cremad" (also "crema-d") | "imagefolder" -> kind; returns AVEMO_EINVAL if unknown. */
int dataset_kind_parse(const char *name, dataset_kind *kind);
const char *dataset_kind_name(dataset_kind kind);

/* Number of samples per class in counts[n_classes]. */
void dataset_class_counts(const dataset *ds, int *counts);
/* Sorted distinct actors (ascending) into actors[cap]; returns how many (image folders: 0). */
int dataset_actors(const dataset *ds, int *actors, int cap);

/* Parse a RAVDESS file name ("03-01-05-02-01-02-12.wav"): fields[7] = MM VV EE II SS RR AA.
 * Validates every field and the extension (video for 01/02, audio for 03). On failure returns
 * AVEMO_EFORMAT with the reason in `why`. */
int ravdess_parse_name(const char *name, int fields[7], char *why, int why_cap);
/* Parse a CREMA-D stem "1001_DFA_ANG_XX": actor, emotion index (ANG DIS FEA HAP NEU SAD), level 0..3. */
int cremad_parse_name(const char *stem, int *actor, int *emotion, int *level, char *why, int why_cap);
/* The speaker of a file by its dataset's naming: the actor of a RAVDESS name (any folder) or of a CREMA-D stem;
 * returns 1 and *actor, or 0 when the name follows neither. */
int dataset_speaker_of_name(const char *path, int *actor);

#endif
