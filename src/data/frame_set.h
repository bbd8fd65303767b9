/* The cached face frames of a set of samples, packed in memory for the fine-tuning trainer
 * (train/finetune.c), which renders a new augmented view of every frame at every epoch:
 *   pixels uint8 [n, T, H, W, C] (C = 1 gray, 3 RGB), labels [n]
 * FER2013 at its native 48 x 48: 28,709 images = 66 MB. */
#ifndef AVEMO_DATA_FRAME_SET_H
#define AVEMO_DATA_FRAME_SET_H
#include "data/cache.h"

#include <stdint.h>

typedef struct {
    int n, frames, height, width, channels;
    uint8_t *pixels;
    int *labels;   /* [n] */
    int *index;    /* [n] cache sample index of each row */
} frame_set;

/* Load the face frames of samples idx[0..n) (every one must have them, with one shape; else an error naming
 * the file). Parallel over samples (OpenMP). n = 0 gives an empty set. */
int frame_set_load(const feature_cache *c, const int *idx, int n, frame_set *out);
void frame_set_free(frame_set *s);
/* Bytes of one sample (T H W C). */
static inline long frame_set_sample_bytes(const frame_set *s) {
    return (long)s->frames * s->height * s->width * s->channels;
}

#endif
