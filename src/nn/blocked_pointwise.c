/* 1x1 conv over blocked activations (nn/blocked.h): out = act(in W^T + b) (+ res), or its pooled sums.
 *
 * A GEMM [m pixels, k] x [k, n] with a register tile of MR pixels x NV output vectors (NV * L channels):
 * per input channel, NV weight vectors are loaded and each of the MR pixels' input value is broadcast (an
 * FMA with a memory broadcast operand) into MR * NV accumulators that stay in registers for the whole k.
 * With AVX-512 (32 registers) NV = 4, 3, 2, 1 take MR = 5, 7, 11, 16: 20-22 accumulators (16 for NV = 1),
 * which leaves GCC registers for the weights and broadcasts (with 24 accumulators it spilled some to the
 * stack inside the loop: 150 against 200 GFLOP/s measured on these shapes). The MR pixels of a plane lie at p * L from one pointer, so every load address is a
 * constant offset (what the blocked layout is for). Weights are packed per panel of NV vectors, [k][NV * L]
 * after the panel's bias, so a panel streams contiguously. Pixels are the outer loop and panels the inner
 * one: the MR x k input tile stays in L1 while all the panels pass over it.
 * Bias, ReLU6 and the residual are applied to the accumulators before the one store of each output vector.
 */
#include "nn/blocked.h"

#include "nn/simd.h"

#include <string.h>

_Static_assert(BLK_LANES == VL, "nn/blocked.h and nn/simd.h disagree on the vector width");

#if VL == 16
#define MR_FOR(nv) ((nv) == 1 ? 16 : (nv) == 2 ? 11 : (nv) == 3 ? 7 : 5)
#else /* 16 registers */
#define MR_FOR(nv) ((nv) == 1 ? 8 : (nv) == 2 ? 6 : (nv) == 3 ? 4 : 3)
#endif

static int panel_vecs_for(int nb) {
    if (nb <= 4) return nb;
    return nb % 4 == 0 ? 4 : nb % 3 == 0 ? 3 : 4;
}

long blk_pw_packed_floats(int k, int n) {
    int nb = blk_blocks(n), pv = panel_vecs_for(nb), panels = (nb + pv - 1) / pv;
    return (long)panels * pv * VL * (k + 1);
}

void blk_pw_pack(blk_pw *p, float *dst, const float *w, const float *b, int k, int n) {
    int nb = blk_blocks(n), pv = panel_vecs_for(nb);
    memset(dst, 0, sizeof(float) * blk_pw_packed_floats(k, n));
    for (int v0 = 0; v0 < nb; v0 += pv) {
        int nv = nb - v0 < pv ? nb - v0 : pv, width = nv * VL;
        float *panel = dst + (long)v0 * VL * (k + 1);
        for (int j = 0; j < width; j++) {
            int o = v0 * VL + j;
            if (o >= n) continue;
            panel[j] = b ? b[o] : 0.0f;
            for (int i = 0; i < k; i++) panel[(long)(i + 1) * width + j] = w[(long)o * k + i];
        }
    }
    p->k = k;
    p->n = n;
    p->panel_vecs = pv;
    p->w = dst;
}

/* MR pixels x NV vectors of one panel: in points at the tile's first pixel in plane 0, wp at the panel, out /
 * res at the tile's first output vector; pool (pooling) at the panel's first vector of pool row 0, q the
 * tile's first pixel (index within the call). */
static inline __attribute__((always_inline)) void pw_tile(const float *in, long in_ps, const float *wp, int k,
                                                          float *out, long out_ps, const float *res, long res_ps,
                                                          int relu6, float *pool, long q, long pool_px,
                                                          long pool_stride, const int MR, const int NV) {
    vf acc[16][4];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
        vf b = V(wp + v * VL);
#pragma GCC unroll 16
        for (int p = 0; p < MR; p++) acc[p][v] = b;
    }
    const float *w = wp + NV * VL;
    int kfull = k / VL * VL;
    for (int k0 = 0; k0 < kfull; k0 += VL, in += in_ps, w += NV * VL * VL) {
#pragma GCC unroll 16
        for (int c = 0; c < VL; c++) {
            vf wv[4];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) wv[v] = V(w + (c * NV + v) * VL);
#pragma GCC unroll 16
            for (int p = 0; p < MR; p++) {
                vf x = vbcast(in[p * VL + c]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) acc[p][v] = vfma(x, wv[v], acc[p][v]);
            }
        }
    }
    for (int c = 0; c < k - kfull; c++) { /* the last, partial plane */
        vf wv[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) wv[v] = V(w + (c * NV + v) * VL);
#pragma GCC unroll 16
        for (int p = 0; p < MR; p++) {
            vf x = vbcast(in[p * VL + c]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[p][v] = vfma(x, wv[v], acc[p][v]);
        }
    }
    if (relu6) {
        vf zero = vbcast(0.0f), six = vbcast(6.0f);
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
#pragma GCC unroll 16
            for (int p = 0; p < MR; p++) acc[p][v] = vmin(vmax(acc[p][v], zero), six);
    }
    if (pool) {
        long row = q / pool_px, left = (row + 1) * pool_px - q; /* pixels before the next pool row */
        if (left >= MR) { /* the common case: the whole tile in one pool row */
            float *d = pool + row * pool_stride;
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) {
                vf s = acc[0][v];
#pragma GCC unroll 16
                for (int p = 1; p < MR; p++) s += acc[p][v];
                VS(d + v * VL) = V(d + v * VL) + s;
            }
            return;
        }
#pragma GCC unroll 16
        for (int p = 0; p < MR; p++) {
            float *d = pool + (q + p) / pool_px * pool_stride;
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) VS(d + v * VL) = V(d + v * VL) + acc[p][v];
        }
        return;
    }
    if (res)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
#pragma GCC unroll 16
            for (int p = 0; p < MR; p++) acc[p][v] += V(res + v * res_ps + p * VL);
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++)
#pragma GCC unroll 16
        for (int p = 0; p < MR; p++) VS(out + v * out_ps + p * VL) = acc[p][v];
}

/* Pixels [p0, p1) through the panel at output vector v0 of width NV: tiles of MR, then MR / 2, then single
 * pixels. */
static inline __attribute__((always_inline)) void pw_rows(const blk_pw *p, const blk_pw_args *a, long p0, long p1,
                                                          int v0, const int NV) {
    const int MR = MR_FOR(NV), MH = MR / 2;
    const float *wp = p->w + (long)v0 * VL * (p->k + 1);
    float *o = a->pool ? NULL : a->out + v0 * a->out_ps;
    const float *r = a->res ? a->res + v0 * a->res_ps : NULL;
    long pool_stride = (long)blk_blocks(p->n) * VL;
    float *pl = a->pool ? a->pool + v0 * VL : NULL;
    long q = p0, ips = a->in_ps, ops = a->out_ps, rps = a->res_ps, ppx = a->pool_px;
    int relu6 = a->relu6;
    for (; q + MR <= p1; q += MR)
        pw_tile(a->in + q * VL, ips, wp, p->k, o ? o + q * VL : NULL, ops, r ? r + q * VL : NULL, rps, relu6, pl, q, ppx,
                pool_stride, MR, NV);
    for (; q + MH <= p1; q += MH)
        pw_tile(a->in + q * VL, ips, wp, p->k, o ? o + q * VL : NULL, ops, r ? r + q * VL : NULL, rps, relu6, pl, q, ppx,
                pool_stride, MH, NV);
    for (; q < p1; q++)
        pw_tile(a->in + q * VL, ips, wp, p->k, o ? o + q * VL : NULL, ops, r ? r + q * VL : NULL, rps, relu6, pl, q, ppx,
                pool_stride, 1, NV);
}

/* Loop order. When the whole input (m x k) fits L2 (PW_A_FLOATS), panels are the outer loop: each panel's
 * weights are read once and reused over all m pixels, which matters where the weights are larger than the
 * activations (the 7 x 7 and smaller layers). Otherwise pixels go in chunks of 8 tiles (of the full panels' MR)
 * with the panels inside: a chunk's input stays in L1/L2 while every panel passes over it. */
#define PW_A_FLOATS (64L << 10)

void blk_pointwise(const blk_pw *p, const blk_pw_args *a) {
    int nb = blk_blocks(p->n), pv = p->panel_vecs;
    long m = a->m, chunk = m * (long)blk_blocks(p->k) * VL <= PW_A_FLOATS ? m : MR_FOR(pv) * 8;
    for (long c0 = 0; c0 < m; c0 += chunk) {
        long c1 = c0 + chunk < m ? c0 + chunk : m;
        for (int v0 = 0; v0 < nb; v0 += pv) {
            switch (nb - v0 < pv ? nb - v0 : pv) {
            case 1: pw_rows(p, a, c0, c1, v0, 1); break;
            case 2: pw_rows(p, a, c0, c1, v0, 2); break;
            case 3: pw_rows(p, a, c0, c1, v0, 3); break;
            default: pw_rows(p, a, c0, c1, v0, 4); break;
            }
        }
    }
}

void blk_from_nhwc(float *dst, long ps, const float *src, long m, int c) {
    int nb = blk_blocks(c);
    for (int b = 0; b < nb; b++) {
        int c0 = b * VL, cn = c - c0 < VL ? c - c0 : VL;
        float *d = dst + b * ps;
        for (long i = 0; i < m; i++) {
            for (int j = 0; j < cn; j++) d[i * VL + j] = src[i * c + c0 + j];
            for (int j = cn; j < VL; j++) d[i * VL + j] = 0.0f;
        }
    }
}

void blk_to_nhwc(float *dst, const float *src, long ps, long m, int c) {
    for (long i = 0; i < m; i++)
        for (int j = 0; j < c; j++) dst[i * c + j] = src[(j / VL) * ps + i * VL + j % VL];
}
