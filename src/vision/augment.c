/* Augmentation views (vision/augment.h). */
#include "vision/augment.h"

#include "core/err.h"
#include "vision/imgops.h"

#include <math.h>
#include <stdlib.h>

void augment_config_default(augment_config *c) {
    c->enabled = 1;
    c->scale_min = 0.70f;
    c->scale_max = 1.0f;
    c->aspect_max = 1.1f;
    c->translate = 0.08f;
    c->rotate_deg = 10.0f;
    c->flip_p = 0.5f;
    c->brightness = 0.25f;
    c->contrast = 0.25f;
}

void augment_view_identity(augment_view *v) {
    v->crop_w = v->crop_h = 1.0f;
    v->angle_deg = v->shift_x = v->shift_y = 0.0f;
    v->flip = 0;
    v->brightness = v->contrast = 1.0f;
}

int augment_view_is_identity(const augment_view *v) {
    return v->crop_w == 1.0f && v->crop_h == 1.0f && v->angle_deg == 0.0f && v->shift_x == 0.0f &&
           v->shift_y == 0.0f && !v->flip && v->brightness == 1.0f && v->contrast == 1.0f;
}

static float uniform(rng_t *rng, float lo, float hi) { return lo + (hi - lo) * (float)rng_uniform(rng); }

void augment_draw(augment_view *v, const augment_config *c, rng_t *rng) {
    augment_view_identity(v);
    if (!c->enabled) return;
    /* the draws always happen in this order, so one config gives one sequence whatever the values */
    float area = uniform(rng, c->scale_min, c->scale_max);
    float log_aspect = uniform(rng, -logf(c->aspect_max), logf(c->aspect_max));
    float aspect = expf(log_aspect), side = sqrtf(area);
    v->crop_w = side * sqrtf(aspect);
    v->crop_h = side / sqrtf(aspect);
    v->shift_x = uniform(rng, -c->translate, c->translate);
    v->shift_y = uniform(rng, -c->translate, c->translate);
    v->angle_deg = uniform(rng, -c->rotate_deg, c->rotate_deg);
    v->flip = rng_uniform(rng) < c->flip_p;
    v->brightness = uniform(rng, 1 - c->brightness, 1 + c->brightness);
    v->contrast = uniform(rng, 1 - c->contrast, 1 + c->contrast);
}

void augment_tta_view(augment_view *v, int index) {
    augment_view_identity(v);
    if (index < 0 || index >= AUGMENT_TTA_MAX) return;
    v->flip = index % 2;
    if (index < 2) return;
    int corner = (index - 2) / 2; /* 0..3: top-left, top-right, bottom-left, bottom-right */
    v->crop_w = v->crop_h = 0.9f;
    v->shift_x = corner % 2 ? 0.05f : -0.05f;
    v->shift_y = corner / 2 ? 0.05f : -0.05f;
}

/* Bilinear read of channel ch at source pixel coordinates (sx, sy), edges replicated. */
static inline float sample_bilinear(const uint8_t *src, int h, int w, int c, int ch, float sx, float sy) {
    if (sx < 0) sx = 0;
    if (sy < 0) sy = 0;
    if (sx > w - 1) sx = (float)(w - 1);
    if (sy > h - 1) sy = (float)(h - 1);
    int x0 = (int)sx, y0 = (int)sy;
    int x1 = x0 + 1 < w ? x0 + 1 : w - 1, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
    float fx = sx - x0, fy = sy - y0;
    float p00 = src[((long)y0 * w + x0) * c + ch], p01 = src[((long)y0 * w + x1) * c + ch];
    float p10 = src[((long)y1 * w + x0) * c + ch], p11 = src[((long)y1 * w + x1) * c + ch];
    float top = p00 + fx * (p01 - p00), bot = p10 + fx * (p11 - p10);
    return top + fy * (bot - top);
}

/* The geometric map of v (see the header). */
static void render_geometry(float *dst, int S, const uint8_t *src, int h, int w, int c, const augment_view *v) {
    float a = v->angle_deg * (float)M_PI / 180.0f, ca = cosf(a), sa = sinf(a);
    float cx = 0.5f + v->shift_x, cy = 0.5f + v->shift_y;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float ux = ((x + 0.5f) / S - 0.5f) * v->crop_w, uy = ((y + 0.5f) / S - 0.5f) * v->crop_h;
            if (v->flip) ux = -ux;
            /* counter-clockwise rotation of the image = the sampling grid rotated clockwise */
            float px = cx + ca * ux + sa * uy, py = cy - sa * ux + ca * uy;
            float sx = px * w - 0.5f, sy = py * h - 0.5f;
            for (int ch = 0; ch < c; ch++) dst[((long)y * S + x) * c + ch] = sample_bilinear(src, h, w, c, ch, sx, sy);
        }
}

static void render_photometric(float *dst, long n, const augment_view *v) {
    if (v->brightness == 1.0f && v->contrast == 1.0f) return;
    double sum = 0;
    for (long i = 0; i < n; i++) sum += dst[i];
    float mean = (float)(sum / (double)n) * v->brightness;
    for (long i = 0; i < n; i++) {
        float t = v->contrast * (v->brightness * dst[i] - mean) + mean;
        dst[i] = t < 0 ? 0 : t > 255 ? 255 : t;
    }
}

int augment_render(float *dst, int S, const uint8_t *src, int h, int w, int c, const augment_view *v) {
    if (S < 1 || h < 1 || w < 1 || c < 1) return avemo_error(AVEMO_EINVAL, "augment: bad sizes");
    if (v->crop_w == 1.0f && v->crop_h == 1.0f && v->angle_deg == 0.0f && v->shift_x == 0.0f &&
        v->shift_y == 0.0f && !v->flip) {
        long n = (long)h * w * c;
        if (h == S && w == S) {
            for (long i = 0; i < n; i++) dst[i] = src[i];
        } else {
            float *f = malloc((size_t)n * sizeof *f);
            if (!f) return avemo_error(AVEMO_ENOMEM, "augment: out of memory");
            for (long i = 0; i < n; i++) f[i] = src[i];
            int rc = resize_area_f32(dst, S, S, f, h, w, c);
            free(f);
            if (rc) return rc;
        }
    } else {
        render_geometry(dst, S, src, h, w, c, v);
    }
    render_photometric(dst, (long)S * S * c, v);
    return AVEMO_OK;
}
