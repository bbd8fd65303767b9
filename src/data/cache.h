/* The on-disk feature cache that `avemo prep` writes and `avemo train` / `eval` read.
 *
 *   CACHE/index.json         what the cache holds: format/version, dataset kind and root, class and split
 *                            names, the prep settings ("config", any JSON object), one record per sample
 *                            (id, actor, label, emotion code, split, vocal, intensity, source paths, a content
 *                            hash per modality once written, the failure reason per modality when it failed)
 *                            and "data_hash", a 64-bit FNV-1a over the settings and every sample's id, label,
 *                            actor and content hashes (reports quote it, so two runs on the same data agree).
 *   CACHE/audio/<id>.npy     float32 [C, F]: audio features, C = n_mfcc x FRFT orders coefficients, F frames
 *   CACHE/faces/<id>.npy     uint8 [T, 224, 224] (grayscale) or [T, 224, 224, 3] (--color rgb): face crops
 *   CACHE/feats/<id>.npy     float32 [T, D]: frozen-backbone embeddings (MobileNetV2: D = 1280)
 *   CACHE/skipped.log        one line per file or clip not in the cache: "<path or id>\t<modality>\t<reason>", with
 *                            backslash, tab, newline and other control characters of the fields escaped (\\, \t, \n,
 *                            \xNN), so that a file name cannot forge or split a row
 *   CACHE/.lock              the writer's lock (below)
 *
 * Every .npy is written atomically (io/npy.h), so a sample file either exists whole or not at all: a rerun
 * of prep skips the samples whose file exists (resume) and recomputes only the rest. index.json is rewritten
 * atomically by cache_save(). Per-sample files rather than packed arrays: resumable, parallel writes without
 * locks, and a user opens one clip's features with numpy.load; loading 1,440 small files takes well under a
 * second (the loader packs them into [N, F, C] / [N, T, D] buffers).
 *
 * One writer at a time: cache_create (prep) and cache_join hold an exclusive flock(2) on CACHE/.lock from before
 * they read anything until cache_free (or the end of the join); a second writer is refused at once with a message
 * quoting the holder's pid and start time (AVEMO_EINVAL). Readers (train, eval) take no lock: index.json is only
 * ever replaced whole (rename), so they see the old index or the new one, and every array they load is checked
 * against the hash the index records for it (data/loader.h).
 */
#ifndef AVEMO_DATA_CACHE_H
#define AVEMO_DATA_CACHE_H
#include "data/dataset.h"
#include "io/npy.h"

#include <stddef.h>
#include <stdint.h>

#define CACHE_FORMAT "avemo-cache"
#define CACHE_LOCK_NAME ".lock"
#define CACHE_VERSION 1

typedef enum { CACHE_AUDIO = 0, CACHE_FACES = 1, CACHE_FEATS = 2, CACHE_N_KINDS = 3 } cache_kind;
#define CACHE_BIT(kind) (1u << (kind))

typedef struct {
    char *dir;
    dataset ds;       /* the samples (ds.n), class and split names; ds.root = the dataset folder prep read */
    char *config_json; /* the prep settings, a JSON object (unformatted) */
    uint64_t (*hash)[CACHE_N_KINDS]; /* [ds.n]: FNV-1a of each written array (shape + data); valid when done */
    unsigned char *done;              /* [ds.n]: CACHE_BIT(kind) set when the sample's file is complete */
    char *(*error)[CACHE_N_KINDS];    /* [ds.n]: failure reason (malloc'd) or NULL */
    int n_scan_skipped;               /* files the dataset scan skipped (reasons in ds.skipped) */
    uint64_t data_hash;               /* set by cache_save / cache_open */
    int locked, lock_fd;              /* cache_create: the writer's lock is held on lock_fd */
} feature_cache;

const char *cache_kind_name(cache_kind k); /* "audio", "faces", "feats" */

/* Create CACHE for the scanned dataset `ds` (taken over: the cache frees it) with prep settings
 * `config_json`, or resume it: when CACHE/index.json exists it must have the same dataset kind and the same
 * config (else AVEMO_EINVAL naming the difference; use a new folder); samples whose file exists are marked
 * done (hash taken from the old index, or recomputed from the file). Writes index.json. */
int cache_create(feature_cache *c, const char *dir, dataset *ds, const char *config_json);
/* Open an existing cache for reading (train / eval). Checks format and version; marks done from the index. */
int cache_open(feature_cache *c, const char *dir);
void cache_free(feature_cache *c);

/* "<dir>/<kind>/<id>.npy" */
int cache_path(const feature_cache *c, int i, cache_kind kind, char *buf, size_t cap);

/* An array read back from sample i's file `path` of `kind`: its content hash is the one index.json records for it,
 * and a float array holds no NaN or Inf; else AVEMO_EFORMAT naming the file. */
int cache_verify_array(const feature_cache *c, int i, cache_kind kind, const npy_array *a, const char *path);

/* Write one sample's arrays (atomic; safe to call from several threads for different samples). */
int cache_write_audio(feature_cache *c, int i, const float *feat, int n_coeffs, int n_frames); /* [C, F] */
int cache_write_faces(feature_cache *c, int i, const uint8_t *faces, int frames, int height, int width,
                      int channels); /* [T, H, W] (channels 1) or [T, H, W, 3] */
int cache_write_feats(feature_cache *c, int i, const float *feats, int frames, int dim); /* [T, D] */
/* Record a failure (reason copied); the sample stays not-done for that kind. Thread-safe per sample. */
int cache_mark_error(feature_cache *c, int i, cache_kind kind, const char *reason);

/* Rewrite index.json and skipped.log atomically and update data_hash. Not concurrently with writes. */
int cache_save(feature_cache *c);
/* Make the sample files written so far durable (syncfs of the cache's file system): what cache_save does before
 * it lists them; a prep rank that hands its samples to another does it first. */
void cache_sync(const feature_cache *c);

/* Keep the indices of samples that have every kind in `kinds_mask` done; returns the new count. */
int cache_filter_indices(const feature_cache *c, unsigned kinds_mask, int *idx, int n);
/* Counts of done and failed samples for one kind. */
void cache_count(const feature_cache *c, cache_kind kind, int *done, int *failed);

/* Join two caches of one dataset whose audio and video features were prepared apart (avemo ablate: the
 * FRFT-MFCC rows on an audio-only cache, the video features from the MFCC cache): OUT/index.json holds the
 * audio cache's index, its samples given the video features (feats hash, video path) of the video cache's
 * sample with the same id, its settings given the video cache's "video" settings, "modality": "av" and
 * "joined_from": {"audio", "video"} (the two folders' real paths). OUT/audio and OUT/feats are links to the
 * two caches' folders (re-pointed when OUT was joined before; anything else there is refused), OUT/faces an
 * empty folder. *n_joined = samples with both. Fails when no sample has both. */
int cache_join(const char *audio_dir, const char *video_dir, const char *out_dir, int *n_joined);

/* 64-bit FNV-1a, chainable: h = fnv1a64(h, data, n), start from FNV1A64_INIT. */
#define FNV1A64_INIT 0xcbf29ce484222325ULL
uint64_t fnv1a64(uint64_t h, const void *data, size_t n);

#endif
