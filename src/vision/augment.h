/* Views of an image for training-time augmentation and test-time augmentation (TTA): one geometric map from
 * the output square to the source image (scale, aspect, rotation, shift, horizontal flip) sampled bilinearly,
 * then brightness and contrast. The fine-tuning trainer (train/finetune.c) draws a random view per image and
 * epoch; evaluation and predict render the fixed views of augment_tta_view through the same function, the
 * identity view being a plain resize (data/featurizer.c), so training, eval and predict see the same pixels.
 *
 * Geometry, in normalised coordinates (the image spans [0, 1) x [0, 1)): output pixel (x, y) of an S x S view
 * has u = ((x + 0.5) / S - 0.5, (y + 0.5) / S - 0.5); its source point is
 *     p = (0.5 + shift_x, 0.5 + shift_y) + R(angle) [flip ? -u.x : u.x] * (crop_w, crop_h)
 * i.e. a crop of crop_w x crop_h of the image (1 = the whole side) centred at 0.5 + shift, rotated by angle,
 * resampled to S x S. Source pixel coordinates: sx = p.x w - 0.5 (half-pixel centres, as imgops.h), read
 * bilinearly with edge replication. The identity view (crop 1, no rotation, shift or flip) is exactly
 * resize_area_f32 (bilinear when enlarging, area when shrinking).
 * Photometric: v' = contrast (brightness v - m) + m, m = the image's mean of brightness v; clamped to [0, 255].
 */
#ifndef AVEMO_VISION_AUGMENT_H
#define AVEMO_VISION_AUGMENT_H
#include "core/rng.h"

#include <stdint.h>

typedef struct {
    float crop_w, crop_h;     /* crop size as a fraction of the source side (1 = whole) */
    float angle_deg;          /* rotation, counter-clockwise */
    float shift_x, shift_y;   /* crop centre offset, fraction of the side */
    int flip;                 /* mirror left-right */
    float brightness, contrast; /* multipliers (1 = unchanged) */
} augment_view;

/* What augment_draw draws from (the defaults: augment_config_default). Scale is the crop's AREA fraction,
 * uniform in [scale_min, scale_max]; aspect w/h log-uniform in [1/aspect_max, aspect_max]; the crop centre
 * uniform within `translate` of the middle; angle uniform in +-rotate_deg; flip with probability flip_p;
 * brightness and contrast uniform in 1 +- brightness, 1 +- contrast. enabled = 0: every view is the identity. */
typedef struct {
    int enabled;
    float scale_min, scale_max, aspect_max, translate, rotate_deg, flip_p, brightness, contrast;
} augment_config;

/* Defaults for 48 x 48 face crops (FER2013-style): scale [0.70, 1.0], aspect 1.1, translate 0.08, rotation
 * +-10 degrees, flip 0.5, brightness and contrast +-0.25. */
void augment_config_default(augment_config *c);

void augment_view_identity(augment_view *v);
int augment_view_is_identity(const augment_view *v);
/* A random view (c->enabled = 0: the identity). */
void augment_draw(augment_view *v, const augment_config *c, rng_t *rng);

/* Test-time views: index 0 the identity, 1 its mirror, 2..9 four crops of 0.9 x 0.9 at the corners-ish
 * (shift +-0.05) and their mirrors. AUGMENT_TTA_MAX views in all. */
#define AUGMENT_TTA_MAX 10
void augment_tta_view(augment_view *v, int index);

/* Render view v of src (uint8 [h, w, c]) into dst float [S, S, c] in pixel units (0..255).
 * Returns AVEMO_ENOMEM (identity view's area filter) on allocation failure. */
int augment_render(float *dst, int S, const uint8_t *src, int h, int w, int c, const augment_view *v);

#endif
