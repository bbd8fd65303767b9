/* Dense k x k conv from few NHWC input channels into blocked planes (nn/blocked.h): a network's stem (the
 * image has 1 or 3 channels, so im2col + GEMM would spend its time packing K = 9 or 27 columns).
 *
 * Each output pixel's channels are NB (<= 4 at a time) vectors held in registers; every (tap, input channel) broadcasts one
 * input value against a row of the weights packed [k * k * c_in][NB * L], NP pixels at a time to reuse each
 * weight load. Interior pixels (all columns inside the image) read the input row at a fixed stride; border
 * pixels skip their out-of-image taps. Bias and ReLU6 fused.
 */
#include "nn/blocked.h"

#include "nn/simd.h"

#include <string.h>

long blk_stem_packed_floats(int c_in, int c_out, int k) { return (long)(k * k * c_in + 1) * blk_blocks(c_out) * VL; }

void blk_stem_pack(float *dst, const float *w, const float *b, int c_in, int c_out, int k) {
    int width = blk_blocks(c_out) * VL, khw = k * k;
    memset(dst, 0, sizeof(float) * blk_stem_packed_floats(c_in, c_out, k));
    for (int co = 0; co < c_out; co++) {
        for (int ci = 0; ci < c_in; ci++)
            for (int t = 0; t < khw; t++) dst[((long)t * c_in + ci) * width + co] = w[((long)co * c_in + ci) * khw + t];
        dst[(long)khw * c_in * width + co] = b ? b[co] : 0.0f;
    }
}

static inline vf clamp06(vf a) { return vmin(vmax(a, vbcast(0.0f)), vbcast(6.0f)); }

/* NP interior pixels from ox: pixel p, tap (ky, j = kx * c_in + ci) reads rows[ky][(ox + p) * stride * c_in
 * - pad_left * c_in + j] (rows[ky] NULL: padding) */
static inline __attribute__((always_inline)) void stem_interior(float *out, long out_ps, const float *const rows[],
                                                                const float *wp, int nbt, int k, int c_in, int stride,
                                                                int pad_left, int ox, int relu6, const int NP,
                                                                const int NB) {
    int kc = k * c_in;
    const float *bias = wp + (long)k * kc * nbt * VL;
    vf acc[8][4];
#pragma GCC unroll 4
    for (int v = 0; v < NB; v++)
#pragma GCC unroll 8
        for (int p = 0; p < NP; p++) acc[p][v] = V(bias + v * VL);
    for (int ky = 0; ky < k; ky++) {
        if (!rows[ky]) continue;
        const float *r = rows[ky] + (long)(ox * stride - pad_left) * c_in;
        const float *wrow = wp + (long)ky * kc * nbt * VL;
        for (int j = 0; j < kc; j++) {
            vf wv[4];
#pragma GCC unroll 4
            for (int v = 0; v < NB; v++) wv[v] = V(wrow + ((long)j * nbt + v) * VL);
#pragma GCC unroll 8
            for (int p = 0; p < NP; p++) {
                vf x = vbcast(r[(long)p * stride * c_in + j]);
#pragma GCC unroll 4
                for (int v = 0; v < NB; v++) acc[p][v] = vfma(x, wv[v], acc[p][v]);
            }
        }
    }
#pragma GCC unroll 4
    for (int v = 0; v < NB; v++)
#pragma GCC unroll 8
        for (int p = 0; p < NP; p++) VS(out + v * out_ps + (long)(ox + p) * VL) = relu6 ? clamp06(acc[p][v]) : acc[p][v];
}

/* one border pixel: taps outside the image skipped */
static void stem_border(float *out, long out_ps, const float *const rows[], const float *wp, int nbt, int k, int c_in,
                        int w, int stride, int pad_left, int ox, int relu6, int nb) {
    int kc = k * c_in;
    const float *bias = wp + (long)k * kc * nbt * VL;
    for (int v = 0; v < nb; v++) {
        vf acc = V(bias + v * VL);
        for (int ky = 0; ky < k; ky++) {
            if (!rows[ky]) continue;
            for (int kx = 0; kx < k; kx++) {
                int ix = ox * stride - pad_left + kx;
                if (ix < 0 || ix >= w) continue;
                for (int ci = 0; ci < c_in; ci++) {
                    long j = (long)ky * kc + kx * c_in + ci;
                    acc = vfma(vbcast(rows[ky][(long)ix * c_in + ci]), V(wp + (j * nbt + v) * VL), acc);
                }
            }
        }
        VS(out + v * out_ps + (long)ox * VL) = relu6 ? clamp06(acc) : acc;
    }
}

/* output vectors [v0, v0 + NB) of the nbt per pixel (wp and out already offset to vector v0) */
static inline __attribute__((always_inline)) void stem_row(float *out, long out_ps, const float *const rows[],
                                                           const float *wp, int nbt, int w, int c_in, int k, int stride,
                                                           int pad_left, int out_w, int relu6, const int NP,
                                                           const int NB) {
    /* interior: 0 <= ox * stride - pad_left and ox * stride - pad_left + k - 1 <= w - 1 */
    int lo = (pad_left + stride - 1) / stride, last = w - k + pad_left;
    int hi = last < 0 ? -1 : last / stride;
    if (hi > out_w - 1) hi = out_w - 1;
    if (lo > hi) lo = out_w, hi = out_w - 1;
    int ox = 0;
    for (; ox < lo; ox++) stem_border(out, out_ps, rows, wp, nbt, k, c_in, w, stride, pad_left, ox, relu6, NB);
    for (; ox + NP - 1 <= hi; ox += NP)
        stem_interior(out, out_ps, rows, wp, nbt, k, c_in, stride, pad_left, ox, relu6, NP, NB);
    for (; ox <= hi; ox++) stem_interior(out, out_ps, rows, wp, nbt, k, c_in, stride, pad_left, ox, relu6, 1, NB);
    for (; ox < out_w; ox++) stem_border(out, out_ps, rows, wp, nbt, k, c_in, w, stride, pad_left, ox, relu6, NB);
}

void blk_stem_row(float *out, long out_ps, const float *x, int h, int w, int c_in, const float *wp, int c_out, int k,
                  int stride, int pad_top, int pad_left, int oy, int out_w, int relu6) {
    const float *rows[BLK_STEM_MAX_K];
    for (int ky = 0; ky < k; ky++) {
        int iy = oy * stride - pad_top + ky;
        rows[ky] = iy < 0 || iy >= h ? NULL : x + (long)iy * w * c_in;
    }
    int nbt = blk_blocks(c_out);
    for (int v0 = 0; v0 < nbt; v0 += 4) { /* at most 4 output vectors at a time */
        float *o = out + v0 * out_ps;
        const float *wv = wp + v0 * VL;
        switch (nbt - v0 < 4 ? nbt - v0 : 4) {
#if VL == 16
        case 1: stem_row(o, out_ps, rows, wv, nbt, w, c_in, k, stride, pad_left, out_w, relu6, 8, 1); break;
        case 2: stem_row(o, out_ps, rows, wv, nbt, w, c_in, k, stride, pad_left, out_w, relu6, 8, 2); break;
        case 3: stem_row(o, out_ps, rows, wv, nbt, w, c_in, k, stride, pad_left, out_w, relu6, 4, 3); break;
        default: stem_row(o, out_ps, rows, wv, nbt, w, c_in, k, stride, pad_left, out_w, relu6, 4, 4); break;
#else
        case 1: stem_row(o, out_ps, rows, wv, nbt, w, c_in, k, stride, pad_left, out_w, relu6, 8, 1); break;
        case 2: stem_row(o, out_ps, rows, wv, nbt, w, c_in, k, stride, pad_left, out_w, relu6, 4, 2); break;
        case 3: stem_row(o, out_ps, rows, wv, nbt, w, c_in, k, stride, pad_left, out_w, relu6, 2, 3); break;
        default: stem_row(o, out_ps, rows, wv, nbt, w, c_in, k, stride, pad_left, out_w, relu6, 2, 4); break;
#endif
        }
    }
}
