/* What the dataset scanners share (data/dataset.c) and each dataset's scanner (data/dataset_<name>.c).
 * Internal to data/dataset*.c: callers use data/dataset.h. */
#ifndef AVEMO_DATA_DATASET_INTERNAL_H
#define AVEMO_DATA_DATASET_INTERNAL_H
#include "data/dataset.h"

#define SCAN_MAX_DEPTH 4 /* RAVDESS zips extract as [Video_Speech_Actor_01/]Actor_01/...: a few levels suffice */

/* NULL-terminated extension lists (case-insensitive, without the dot). */
extern const char *const dataset_video_exts[], *const dataset_audio_exts[], *const dataset_image_exts[];

/* Index of `ext` in `list`, or -1. */
int dataset_ext_index(const char *ext, const char *const *list);
/* The extension of a file name without the dot ("" when none; a leading dot is not one). */
const char *dataset_file_ext(const char *name);
char *dataset_strdup(const char *s);
/* "a/b", malloc'd (NULL when out of memory). */
char *dataset_path_join(const char *a, const char *b);
/* The file name of `path` without its extension, malloc'd. */
char *dataset_stem_of(const char *path);
int dataset_cmp_str(const void *a, const void *b); /* qsort over char * */
/* NULL when `path` is a readable, non-empty regular file, else the reason. */
const char *dataset_file_problem(const char *path);

/* Sorted names in a folder (no "." entries or hidden files). is_dir[i]: 1 directory, 2 unreadable (broken
 * link), 0 other. */
typedef struct {
    int n;
    char **names;
    unsigned char *is_dir;
} dir_list;
int dataset_list_dir(const char *dir, dir_list *out);
void dataset_dir_list_free(dir_list *l);

/* Record "path: reason" in ds->skipped. */
int dataset_add_skipped(dataset *ds, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Append a zeroed sample (actor -1) to ds->samples (capacity *cap); NULL when out of memory. */
dataset_sample *dataset_new_sample(dataset *ds, int *cap);

/* The scanners: ds->root set; fill class names, samples, skipped (and split names for image folders). */
int dataset_scan_ravdess(dataset *ds, const dataset_options *opt);
int dataset_scan_cremad(dataset *ds, const dataset_options *opt);
int dataset_scan_imagefolder(dataset *ds, const dataset_options *opt);

#endif
