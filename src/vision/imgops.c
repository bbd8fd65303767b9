#include "vision/imgops.h"

#include "core/err.h"

#include <math.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

void rgb_to_gray(uint8_t *gray, const uint8_t *rgb, long n) {
    /* fixed point: 0.299, 0.587, 0.114 scaled by 2^16 (sum exactly 65536), + half for rounding */
    for (long i = 0; i < n; i++) {
        const uint8_t *p = rgb + 3 * i;
        gray[i] = (uint8_t)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 32768u) >> 16);
    }
}

void crop_u8(uint8_t *dst, const uint8_t *src, int h, int w, int c, int x0, int y0, int out_w, int out_h) {
    for (int y = 0; y < out_h; y++) {
        uint8_t *d = dst + (long)y * out_w * c;
        int sy = y0 + y;
        if (sy < 0 || sy >= h) {
            memset(d, 0, (size_t)out_w * c);
            continue;
        }
        int xa = x0 < 0 ? -x0 : 0;                           /* first dst column inside the image */
        int xb = x0 + out_w > w ? w - x0 : out_w;             /* one past the last */
        if (xb < xa) xb = xa;
        if (xa > out_w) xa = out_w;
        if (xb > out_w) xb = out_w;
        memset(d, 0, (size_t)xa * c);
        if (xb > xa) memcpy(d + (size_t)xa * c, src + ((long)sy * w + x0 + xa) * c, (size_t)(xb - xa) * c);
        memset(d + (size_t)xb * c, 0, (size_t)(out_w - xb) * c);
    }
}

/* One axis of a separable resampler: output i = sum_k weight[i][k] * input[first[i] + k], k < ntaps. */
typedef struct {
    int ntaps;
    int *first;
    float *weight; /* [out, ntaps] */
} taps;

static int taps_build(taps *t, int in, int out) {
    double scale = (double)in / out;
    t->ntaps = scale > 1.0 ? (int)ceil(scale) + 1 : 2;
    t->first = malloc(sizeof(int) * (size_t)out);
    t->weight = calloc((size_t)out * t->ntaps, sizeof(float));
    if (!t->first || !t->weight) {
        free(t->first);
        free(t->weight);
        return avemo_error(AVEMO_ENOMEM, "resize: out of memory");
    }
    for (int i = 0; i < out; i++) {
        float *wt = t->weight + (long)i * t->ntaps;
        if (scale > 1.0) { /* area: footprint [i*scale, (i+1)*scale) */
            double a = i * scale, b = (i + 1) * scale;
            int j0 = (int)floor(a);
            t->first[i] = j0;
            for (int k = 0; k < t->ntaps; k++) {
                int j = j0 + k;
                if (j >= in) break;
                double lo = fmax(a, j), hi = fmin(b, j + 1.0);
                if (hi > lo) wt[k] = (float)((hi - lo) / scale);
            }
        } else { /* bilinear, half-pixel centres, edge clamp */
            double sx = (i + 0.5) * scale - 0.5;
            if (sx < 0) sx = 0;
            int j0 = (int)floor(sx);
            if (j0 > in - 1) j0 = in - 1;
            double f = sx - j0;
            if (j0 == in - 1) f = 0;
            t->first[i] = j0;
            wt[0] = (float)(1.0 - f);
            wt[1] = (float)f;
        }
        /* keep every tap inside [0, in): shift the window left where it would run past the end */
        if (t->first[i] + t->ntaps > in) {
            int shift = t->first[i] + t->ntaps - in;
            if (shift > t->first[i]) shift = t->first[i];
            for (int k = t->ntaps - 1; k >= shift; k--) wt[k] = wt[k - shift];
            for (int k = 0; k < shift; k++) wt[k] = 0;
            t->first[i] -= shift;
        }
    }
    return AVEMO_OK;
}

static void taps_free(taps *t) {
    free(t->first);
    free(t->weight);
}

/* Source of a separable resample: a float image [h, w, c], or the window (x0, y0, w, h) of a uint8 image
 * [img_h, img_w, c] read in place (pixels outside the image are 0, as crop_u8 gives them). */
typedef struct {
    const float *f32;
    const uint8_t *u8;
    int img_h, img_w, x0, y0;
    int h, w, c;
} resample_src;

/* One output pixel's C channels (C = 1 or 3 fixed: the channel loop unrolled, or c) from the ntx taps at p
 * (pixel stride c) weighted by wt, each channel summed in k order; pixels whose column (sx0 + k) lies outside
 * [0, img_w) read 0 when clip is set. */
static inline __attribute__((always_inline)) void tap_sum_u8(float *d, const uint8_t *row, int sx0, int img_w,
                                                            const float *wt, int ntx, int c, int clip, const int C) {
    int nc = C ? C : c;
    float acc[3] = {0, 0, 0};
    if (C) {
        for (int k = 0; k < ntx; k++) {
            int sx = sx0 + k;
            if (clip && (sx < 0 || sx >= img_w)) {
                for (int ch = 0; ch < C; ch++) acc[ch] += wt[k] * 0.0f;
                continue;
            }
            const uint8_t *p = row + (long)sx * C;
            for (int ch = 0; ch < C; ch++) acc[ch] += wt[k] * (float)p[ch];
        }
        for (int ch = 0; ch < C; ch++) d[ch] = acc[ch];
        return;
    }
    for (int ch = 0; ch < nc; ch++) {
        float a = 0;
        for (int k = 0; k < ntx; k++) {
            int sx = sx0 + k;
            a += wt[k] * (clip && (sx < 0 || sx >= img_w) ? 0.0f : (float)row[(long)sx * c + ch]);
        }
        d[ch] = a;
    }
}

static inline __attribute__((always_inline)) void row_u8(float *d, const uint8_t *s, const taps *tx, int ow,
                                                        int ntx, int x0, int img_w, int c, const int C) {
    for (int x = 0; x < ow; x++) {
        const float *wt = tx->weight + (long)x * tx->ntaps;
        int sx0 = x0 + tx->first[x];
        if (sx0 >= 0 && sx0 + ntx <= img_w) tap_sum_u8(d + (long)x * c, s, sx0, img_w, wt, ntx, c, 0, C);
        else tap_sum_u8(d + (long)x * c, s, sx0, img_w, wt, ntx, c, 1, C);
    }
}

#ifdef __AVX512F__
/* The RGB row of row_u8 16 output pixels at a time (AVX-512): lane i sums pixel x + i's taps as tap_sum_u8 does
 * (acc = acc + wt[k] * p, a multiply then an add, k in order: the same float operations, so the same bits), for
 * blocks whose taps all lie inside the row with one byte to spare (each tap's 3 bytes are read as 4); the other
 * pixels (the row's ends, a clipped window) go through tap_sum_u8. */
static void row_u8_rgb(float *d, const uint8_t *s, const taps *tx, int ow, int ntx, int x0, int img_w) {
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i byte = _mm512_set1_epi32(0xff);
    int x = 0;
    for (; x + 16 <= ow; x += 16) {
        __m512i sx0 = _mm512_add_epi32(_mm512_loadu_si512(tx->first + x), _mm512_set1_epi32(x0));
        if (_mm512_reduce_min_epi32(sx0) < 0 || _mm512_reduce_max_epi32(sx0) + ntx >= img_w) {
            for (int i = x; i < x + 16; i++)
                tap_sum_u8(d + (long)i * 3, s, x0 + tx->first[i], img_w, tx->weight + (long)i * tx->ntaps, ntx, 3,
                           x0 + tx->first[i] < 0 || x0 + tx->first[i] + ntx > img_w, 3);
            continue;
        }
        __m512i at = _mm512_mullo_epi32(sx0, _mm512_set1_epi32(3));
        __m512i wat = _mm512_mullo_epi32(_mm512_add_epi32(lanes, _mm512_set1_epi32(x)), _mm512_set1_epi32(tx->ntaps));
        __m512 r = _mm512_setzero_ps(), g = _mm512_setzero_ps(), b = _mm512_setzero_ps();
        for (int k = 0; k < ntx; k++) {
            __m512i px = _mm512_i32gather_epi32(_mm512_add_epi32(at, _mm512_set1_epi32(3 * k)), s, 1);
            __m512 wk = _mm512_i32gather_ps(_mm512_add_epi32(wat, _mm512_set1_epi32(k)), tx->weight, 4);
            r = _mm512_add_ps(r, _mm512_mul_ps(wk, _mm512_cvtepi32_ps(_mm512_and_si512(px, byte))));
            __m512 pg = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(px, 8), byte));
            __m512 pb = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(px, 16), byte));
            g = _mm512_add_ps(g, _mm512_mul_ps(wk, pg));
            b = _mm512_add_ps(b, _mm512_mul_ps(wk, pb));
        }
        float rr[16], gg[16], bb[16];
        _mm512_storeu_ps(rr, r);
        _mm512_storeu_ps(gg, g);
        _mm512_storeu_ps(bb, b);
        for (int i = 0; i < 16; i++) {
            float *o = d + (long)(x + i) * 3;
            o[0] = rr[i], o[1] = gg[i], o[2] = bb[i];
        }
    }
    if (x < ow) row_u8(d + (long)x * 3, s, &(taps){tx->ntaps, tx->first + x, tx->weight + (long)x * tx->ntaps},
                       ow - x, ntx, x0, img_w, 3, 3);
}
#endif

/* Horizontal pass of row y of the source into d [ow, c]: d[x][ch] = sum_k wt[k] * src[first[x] + k][ch], the
 * sum in k order (the same float operations for both source kinds: a uint8 is converted exactly, a pixel
 * outside the image adds wt * 0 as the zero-filled copy did). */
static void resample_row(float *d, const resample_src *S, int y, const taps *tx, int ow) {
    int c = S->c, ntx = tx->ntaps < S->w ? tx->ntaps : S->w;
    if (S->f32) {
        const float *s = S->f32 + (long)y * S->w * c;
        for (int x = 0; x < ow; x++) {
            const float *wt = tx->weight + (long)x * tx->ntaps;
            for (int ch = 0; ch < c; ch++) {
                float acc = 0;
                for (int k = 0; k < ntx; k++) acc += wt[k] * s[(long)(tx->first[x] + k) * c + ch];
                d[(long)x * c + ch] = acc;
            }
        }
        return;
    }
    int sy = S->y0 + y;
    if (sy < 0 || sy >= S->img_h) { /* a row of zeros: every sum is 0 */
        memset(d, 0, sizeof(float) * (size_t)ow * c);
        return;
    }
    const uint8_t *s = S->u8 + (long)sy * S->img_w * c;
#ifdef __AVX512F__
    if (c == 3) row_u8_rgb(d, s, tx, ow, ntx, S->x0, S->img_w);
#else
    if (c == 3) row_u8(d, s, tx, ow, ntx, S->x0, S->img_w, 3, 3);
#endif
    else if (c == 1) row_u8(d, s, tx, ow, ntx, S->x0, S->img_w, 1, 1);
    else row_u8(d, s, tx, ow, ntx, S->x0, S->img_w, c, 0);
}

/* Separable resample: source [h, w, c] -> dst [oh, ow, c] (horizontal pass into [h, ow, c], then vertical) */
static int resample(float *dst, int oh, int ow, const resample_src *S) {
    int h = S->h, c = S->c;
    taps tx, ty;
    int err = taps_build(&tx, S->w, ow);
    if (err) return err;
    err = taps_build(&ty, h, oh);
    if (err) {
        taps_free(&tx);
        return err;
    }
    float *tmp = malloc(sizeof(float) * (size_t)h * ow * c); /* [h, ow, c] after the horizontal pass */
    if (!tmp) {
        taps_free(&tx);
        taps_free(&ty);
        return avemo_error(AVEMO_ENOMEM, "resize: out of memory");
    }
    int nty = ty.ntaps < h ? ty.ntaps : h;
    for (int y = 0; y < h; y++) resample_row(tmp + (long)y * ow * c, S, y, &tx, ow);
    long row = (long)ow * c;
    for (int y = 0; y < oh; y++) {
        const float *wt = ty.weight + (long)y * ty.ntaps;
        float *d = dst + (long)y * row;
        for (long i = 0; i < row; i++) d[i] = 0;
        for (int k = 0; k < nty; k++) {
            const float *s = tmp + (long)(ty.first[y] + k) * row;
            float wk = wt[k];
            if (wk == 0) continue;
            for (long i = 0; i < row; i++) d[i] += wk * s[i];
        }
    }
    free(tmp);
    taps_free(&tx);
    taps_free(&ty);
    return AVEMO_OK;
}

int resize_area_f32(float *dst, int oh, int ow, const float *src, int h, int w, int c) {
    resample_src S = {.f32 = src, .h = h, .w = w, .c = c};
    return resample(dst, oh, ow, &S);
}

/* Source neighbours of output index i when n inputs are resized to n_out (half-pixel centres, clamped to the
 * edges): i0 <= i1 and the weight f of i1. */
static inline void bilinear_coord(int i, int n, int n_out, int *i0, int *i1, float *f) {
    float s = (i + 0.5f) * n / n_out - 0.5f;
    if (s < 0) s = 0;
    int a = (int)s;
    if (a > n - 1) a = n - 1;
    *i0 = a;
    *i1 = a + 1 < n ? a + 1 : n - 1;
    *f = s - a;
}

void resize_bilinear_f32(float *dst, int oh, int ow, const float *src, int h, int w, int c) {
    for (int y = 0; y < oh; y++) {
        int y0, y1;
        float fy;
        bilinear_coord(y, h, oh, &y0, &y1, &fy);
        for (int x = 0; x < ow; x++) {
            int x0, x1;
            float fx;
            bilinear_coord(x, w, ow, &x0, &x1, &fx);
            const float *p00 = src + ((long)y0 * w + x0) * c, *p01 = src + ((long)y0 * w + x1) * c;
            const float *p10 = src + ((long)y1 * w + x0) * c, *p11 = src + ((long)y1 * w + x1) * c;
            float *d = dst + ((long)y * ow + x) * c;
            for (int ch = 0; ch < c; ch++) {
                float top = p00[ch] + fx * (p01[ch] - p00[ch]);
                float bot = p10[ch] + fx * (p11[ch] - p10[ch]);
                d[ch] = top + fy * (bot - top);
            }
        }
    }
}

void resize_bilinear_u8(uint8_t *dst, int oh, int ow, const uint8_t *src, int h, int w, int c) {
    for (int y = 0; y < oh; y++) {
        int y0, y1;
        float fy;
        bilinear_coord(y, h, oh, &y0, &y1, &fy);
        for (int x = 0; x < ow; x++) {
            int x0, x1;
            float fx;
            bilinear_coord(x, w, ow, &x0, &x1, &fx);
            const uint8_t *p00 = src + ((long)y0 * w + x0) * c, *p01 = src + ((long)y0 * w + x1) * c;
            const uint8_t *p10 = src + ((long)y1 * w + x0) * c, *p11 = src + ((long)y1 * w + x1) * c;
            uint8_t *d = dst + ((long)y * ow + x) * c;
            for (int ch = 0; ch < c; ch++) {
                float top = p00[ch] + fx * (float)(p01[ch] - p00[ch]);
                float bot = p10[ch] + fx * (float)(p11[ch] - p10[ch]);
                float v = top + fy * (bot - top) + 0.5f;
                d[ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
}

int crop_resize_f32(float *dst, int oh, int ow, const uint8_t *src, int h, int w, int c, int x0, int y0,
                    int cw, int ch) {
    if (cw <= 0 || ch <= 0) return avemo_error(AVEMO_EINVAL, "crop_resize: empty crop %dx%d", cw, ch);
    /* read in place: the same sums as resampling crop_u8's copy converted to float, without the two copies */
    resample_src S = {.u8 = src, .img_h = h, .img_w = w, .x0 = x0, .y0 = y0, .h = ch, .w = cw, .c = c};
    return resample(dst, oh, ow, &S);
}

void mtcnn_normalize_transpose_f32(float *dst, const float *rgb, int h, int w) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const float *s = rgb + ((long)y * w + x) * 3;
            float *d = dst + ((long)x * h + y) * 3;
            d[0] = (s[0] - 127.5f) * 0.0078125f;
            d[1] = (s[1] - 127.5f) * 0.0078125f;
            d[2] = (s[2] - 127.5f) * 0.0078125f;
        }
}
