/* Depthwise 3x3 over blocked activations (nn/blocked.h), one output row at a time, bias and ReLU6 fused.
 *
 * Per plane (L channels) the 9 tap vectors and the bias stay in registers while the row is walked, DW_PX
 * output pixels per step (independent FMA chains; each input vector loaded once per step).
 * Interior pixels (all three columns inside the row) take the unrolled path; the one or two border pixels
 * at each end skip their out-of-row taps.
 */
#include "nn/blocked.h"

#include "nn/simd.h"

#include <string.h>

#define DW_PX (VL == 16 ? 8 : 4) /* 8 accumulators + 9 weights + bias fit 32 registers (4 for 16) */

long blk_dw3x3_packed_floats(int c) { return (long)blk_blocks(c) * 10 * VL; }

void blk_dw3x3_pack(float *dst, const float *w, const float *b, int c) {
    memset(dst, 0, sizeof(float) * blk_dw3x3_packed_floats(c));
    for (int ch = 0; ch < c; ch++) {
        float *plane = dst + (long)(ch / VL) * 10 * VL;
        for (int t = 0; t < 9; t++) plane[t * VL + ch % VL] = w[(long)ch * 9 + t];
        plane[9 * VL + ch % VL] = b ? b[ch] : 0.0f;
    }
}

static inline vf clamp06(vf a) { return vmin(vmax(a, vbcast(0.0f)), vbcast(6.0f)); }

/* NP interior pixels from ox: tap (ky, kx) of pixel p reads column (ox + p) * stride - pad_left + kx. Each
 * input vector of the (NP - 1) * stride + 3 columns is loaded once per row and fed to every tap that reads
 * it (3 per column at stride 1), so the loop is bound by the FMAs rather than the loads. */
static inline __attribute__((always_inline)) void dw_interior(float *o, const float *const r[3], const vf wt[9],
                                                              vf bias, int ox, int stride, int pad_left, int relu6,
                                                              const int NP) {
    vf acc[8];
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++) acc[p] = bias;
    const int NC = (NP - 1) * stride + 3;
    long c0 = (long)ox * stride - pad_left;
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 17
        for (int j = 0; j < NC; j++) {
            vf xv = V(r[ky] + (c0 + j) * VL);
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++)
                if (j >= kx && (j - kx) % stride == 0 && (j - kx) / stride < NP)
                    acc[(j - kx) / stride] = vfma(xv, wt[ky * 3 + kx], acc[(j - kx) / stride]);
        }
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++) VS(o + (long)(ox + p) * VL) = relu6 ? clamp06(acc[p]) : acc[p];
}

/* one pixel with its out-of-row taps skipped */
static inline void dw_border(float *o, const float *const r[3], const vf wt[9], vf bias, int ox, int in_w, int stride,
                             int pad_left, int relu6) {
    vf acc = bias;
    for (int kx = 0; kx < 3; kx++) {
        int ix = ox * stride - pad_left + kx;
        if (ix < 0 || ix >= in_w) continue;
        for (int ky = 0; ky < 3; ky++) acc = vfma(V(r[ky] + (long)ix * VL), wt[ky * 3 + kx], acc);
    }
    VS(o + (long)ox * VL) = relu6 ? clamp06(acc) : acc;
}

static inline __attribute__((always_inline)) void dw_plane(float *o, const float *const r[3], const float *wp,
                                                           int in_w, int out_w, int stride, int pad_left, int relu6) {
    vf wt[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) wt[t] = V(wp + t * VL);
    vf bias = V(wp + 9 * VL);
    /* interior: 0 <= ox * stride - pad_left and ox * stride - pad_left + 2 <= in_w - 1 */
    int lo = (pad_left + stride - 1) / stride, last = in_w - 3 + pad_left;
    int hi = last < 0 ? -1 : last / stride;
    if (hi > out_w - 1) hi = out_w - 1;
    if (lo > hi) lo = out_w, hi = out_w - 1;
    int ox = 0;
    for (; ox < lo; ox++) dw_border(o, r, wt, bias, ox, in_w, stride, pad_left, relu6);
    for (; ox + DW_PX - 1 <= hi; ox += DW_PX) dw_interior(o, r, wt, bias, ox, stride, pad_left, relu6, DW_PX);
    for (; ox + 1 <= hi; ox += 2) dw_interior(o, r, wt, bias, ox, stride, pad_left, relu6, 2);
    for (; ox <= hi; ox++) dw_interior(o, r, wt, bias, ox, stride, pad_left, relu6, 1);
    for (; ox < out_w; ox++) dw_border(o, r, wt, bias, ox, in_w, stride, pad_left, relu6);
}

void blk_dw3x3_row(float *out, long out_ps, const float *const rows[3], const long rows_ps[3], const float *wp,
                   int c, int in_w, int out_w, int stride, int pad_left, int relu6) {
    int nb = blk_blocks(c);
    for (int b = 0; b < nb; b++) {
        const float *r[3] = {rows[0] + b * rows_ps[0], rows[1] + b * rows_ps[1], rows[2] + b * rows_ps[2]};
        float *o = out + b * out_ps;
        const float *w = wp + (long)b * 10 * VL;
        if (stride == 1)
            dw_plane(o, r, w, in_w, out_w, 1, pad_left, relu6);
        else if (stride == 2)
            dw_plane(o, r, w, in_w, out_w, 2, pad_left, relu6);
        else
            dw_plane(o, r, w, in_w, out_w, stride, pad_left, relu6);
    }
}
