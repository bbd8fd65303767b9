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
 * With skip_zeros (AVX-512, fp32), the input channels that are 0 in every pixel of a tile are left out of its k loop.
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

/* float -> bf16 bits, rounded to nearest even (as VCVTNEPS2BF16 does; no NaNs in packed weights) */
static unsigned bf16_bits(float x) {
    unsigned u;
    memcpy(&u, &x, sizeof u);
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

/* Weight rows of a panel: k in fp32, ceil(k / 2) bf16 pairs in bf16. */
static int pw_rows_of(int k, int bf16) { return bf16 ? (k + 1) / 2 : k; }

static long pw_packed_floats(int k, int n, int bf16) {
    int nb = blk_blocks(n), pv = panel_vecs_for(nb), panels = (nb + pv - 1) / pv;
    return (long)panels * pv * VL * (pw_rows_of(k, bf16) + 1);
}

/* Per panel of pv vectors: the bias, then a row per input channel (fp32) or channel pair (bf16: the 32-bit slot
 * of output j in row i holds bf16 w[j][2i] low, w[j][2i + 1] high). */
static void pw_pack(blk_pw *p, float *dst, const float *w, const float *b, int k, int n, int bf16) {
    int nb = blk_blocks(n), pv = panel_vecs_for(nb), rows = pw_rows_of(k, bf16);
    memset(dst, 0, sizeof(float) * pw_packed_floats(k, n, bf16));
    for (int v0 = 0; v0 < nb; v0 += pv) {
        int nv = nb - v0 < pv ? nb - v0 : pv, width = nv * VL;
        float *panel = dst + (long)v0 * VL * (rows + 1);
        for (int j = 0; j < width; j++) {
            int o = v0 * VL + j;
            if (o >= n) continue;
            panel[j] = b ? b[o] : 0.0f;
            const float *wo = w + (long)o * k;
            for (int i = 0; i < rows; i++) {
                float *slot = panel + (long)(i + 1) * width + j;
                if (!bf16) {
                    *slot = wo[i];
                    continue;
                }
                unsigned pair = bf16_bits(wo[2 * i]) | (2 * i + 1 < k ? bf16_bits(wo[2 * i + 1]) << 16 : 0u);
                memcpy(slot, &pair, sizeof pair);
            }
        }
    }
    p->k = k;
    p->n = n;
    p->panel_vecs = pv;
    p->w = dst;
}

long blk_pw_packed_floats(int k, int n) { return pw_packed_floats(k, n, 0); }

void blk_pw_pack(blk_pw *p, float *dst, const float *w, const float *b, int k, int n) { pw_pack(p, dst, w, b, k, n, 0); }

/* Input channel c of the plane at in: acc[p][v] += in[p][c] x the weight row at w (NV vectors). */
static inline __attribute__((always_inline)) void pw_step_f32(vf acc[16][4], const float *in, const float *w, int c,
                                                              const int MR, const int NV) {
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

/* acc[p][v] += sum over the k input channels of pixel p times the weight row: MR pixels at in + p * VL of
 * every plane (in_ps apart), w at the panel's first weight row ([k][NV * L]). */
static inline __attribute__((always_inline)) void pw_dot_f32(vf acc[16][4], const float *in, long in_ps,
                                                             const float *w, int k, const int MR, const int NV) {
    int kfull = k / VL * VL;
    for (int k0 = 0; k0 < kfull; k0 += VL, in += in_ps, w += NV * VL * VL)
#pragma GCC unroll 16
        for (int c = 0; c < VL; c++) pw_step_f32(acc, in, w, c, MR, NV);
    for (int c = 0; c < k - kfull; c++) pw_step_f32(acc, in, w, c, MR, NV); /* the last, partial plane */
}

#if VL == 16
/* pw_dot_f32 for inputs with many exact zeros (after a ReLU): per plane, the channels that are 0 in all MR pixels
 * of the tile are skipped (their products add +-0 to every sum, so every sum is the same except, at most, the
 * sign of an exact zero). A plane with no such channel takes the unrolled steps of pw_dot_f32. Lanes past k are 0
 * (nn/blocked.h), so the last, partial plane never reaches a weight row past k. */
static inline __attribute__((always_inline)) void pw_dot_f32_skip(vf acc[16][4], const float *in, long in_ps,
                                                                  const float *w, int k, const int MR, const int NV) {
    const __m512 zero = _mm512_setzero_ps();
    for (int k0 = 0; k0 < k; k0 += VL, in += in_ps, w += NV * VL * VL) {
        __mmask16 live = 0;
#pragma GCC unroll 16
        for (int p = 0; p < MR; p++) live |= _mm512_cmp_ps_mask(_mm512_loadu_ps(in + p * VL), zero, _CMP_NEQ_UQ);
        if (live == 0xffff) {
#pragma GCC unroll 16
            for (int c = 0; c < VL; c++) pw_step_f32(acc, in, w, c, MR, NV);
            continue;
        }
        for (unsigned m = live; m; m &= m - 1) pw_step_f32(acc, in, w, __builtin_ctz(m), MR, NV);
    }
}
#endif

#if BLK_HAVE_BF16
/* Channel pair c of the plane at in (bf16 pairs, VL / 2 slots a pixel): one VDPBF16PS per output vector,
 * acc += x0 w0 + x1 w1 (products exact in fp32, summed in fp32); the pixel's pair is broadcast once (a
 * VBROADCASTSS load) for its NV vectors. */
static inline __attribute__((always_inline)) void pw_step_bf16(vf acc[16][4], const float *in, const float *w, int c,
                                                               const int MR, const int NV) {
    __m512bh wv[4];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) wv[v] = (__m512bh)_mm512_loadu_ps(w + (c * NV + v) * VL);
#pragma GCC unroll 16
    for (int p = 0; p < MR; p++) {
        __m512bh x = (__m512bh)_mm512_set1_ps(in[p * (VL / 2) + c]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[p][v] = (vf)_mm512_dpbf16_ps((__m512)acc[p][v], x, wv[v]);
    }
}

/* The same as pw_dot_f32 over bf16 pairs (blk_pointwise_bf16): in holds per plane and pixel VL / 2 32-bit
 * slots, each the bf16 pair of channels (2i, 2i + 1); w holds ceil(k / 2) rows of NV * L slots, slot j of row i
 * the pair (w[j][2i], w[j][2i + 1]). */
static inline __attribute__((always_inline)) void pw_dot_bf16(vf acc[16][4], const float *in, long in_ps,
                                                              const float *w, int k, const int MR, const int NV) {
    const int PV = VL / 2; /* pairs per plane */
    int pairs = (k + 1) / 2, pfull = pairs / PV * PV;
    for (int i0 = 0; i0 < pfull; i0 += PV, in += in_ps, w += NV * VL * PV)
#pragma GCC unroll 8
        for (int c = 0; c < PV; c++) pw_step_bf16(acc, in, w, c, MR, NV);
    for (int c = 0; c < pairs - pfull; c++) pw_step_bf16(acc, in, w, c, MR, NV); /* the last, partial plane */
}
#endif

/* MR pixels x NV vectors of one panel: in points at the tile's first pixel in plane 0 (pixels PX floats
 * apart: VL for fp32, VL / 2 for bf16 pairs), wp at the panel, out / res at the tile's first output vector;
 * pool (pooling) at the panel's first vector of pool row 0, q the tile's first pixel (index within the call). */
static inline __attribute__((always_inline)) void pw_tile(const float *in, long in_ps, const float *wp, int k,
                                                          float *out, long out_ps, const float *res, long res_ps,
                                                          int relu6, float *pool, long q, long pool_px,
                                                          long pool_stride, const int MR, const int NV,
                                                          const int BF16, const int SKIP) {
    vf acc[16][4];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
        vf b = V(wp + v * VL);
#pragma GCC unroll 16
        for (int p = 0; p < MR; p++) acc[p][v] = b;
    }
#if BLK_HAVE_BF16
    if (BF16)
        pw_dot_bf16(acc, in, in_ps, wp + NV * VL, k, MR, NV);
    else
#endif
#if VL == 16
        if (SKIP)
            pw_dot_f32_skip(acc, in, in_ps, wp + NV * VL, k, MR, NV);
        else
#endif
            pw_dot_f32(acc, in, in_ps, wp + NV * VL, k, MR, NV);
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
 * pixels. The input is a->in, or for bf16 the pairs in `in` (plane stride in_ps) whose pixel 0 is pixel
 * `in_p0` of the call. */
static inline __attribute__((always_inline)) void pw_rows(const blk_pw *p, const blk_pw_args *a, const float *in,
                                                          long in_ps, long in_p0, long p0, long p1, int v0,
                                                          const int NV, const int BF16, const int SKIP) {
    const int MR = MR_FOR(NV), MH = MR / 2, PX = BF16 ? VL / 2 : VL;
    const float *wp = p->w + (long)v0 * VL * (pw_rows_of(p->k, BF16) + 1);
    float *o = a->pool ? NULL : a->out + v0 * a->out_ps;
    const float *r = a->res ? a->res + v0 * a->res_ps : NULL;
    long pool_stride = (long)blk_blocks(p->n) * VL;
    float *pl = a->pool ? a->pool + v0 * VL : NULL;
    long q = p0, ops = a->out_ps, rps = a->res_ps, ppx = a->pool_px;
    int relu6 = a->relu6;
    for (; q + MR <= p1; q += MR)
        pw_tile(in + (q - in_p0) * PX, in_ps, wp, p->k, o ? o + q * VL : NULL, ops, r ? r + q * VL : NULL, rps, relu6,
                pl, q, ppx, pool_stride, MR, NV, BF16, SKIP);
    for (; q + MH <= p1; q += MH)
        pw_tile(in + (q - in_p0) * PX, in_ps, wp, p->k, o ? o + q * VL : NULL, ops, r ? r + q * VL : NULL, rps, relu6,
                pl, q, ppx, pool_stride, MH, NV, BF16, SKIP);
    for (; q < p1; q++)
        pw_tile(in + (q - in_p0) * PX, in_ps, wp, p->k, o ? o + q * VL : NULL, ops, r ? r + q * VL : NULL, rps, relu6,
                pl, q, ppx, pool_stride, 1, NV, BF16, SKIP);
}

/* Loop order. When the whole input (m x k) fits L2 (PW_A_FLOATS), panels are the outer loop: each panel's
 * weights are read once and reused over all m pixels, which matters where the weights are larger than the
 * activations (the 7 x 7 and smaller layers). Otherwise pixels go in chunks of 8 tiles (of the full panels' MR)
 * with the panels inside: a chunk's input stays in L1/L2 while every panel passes over it. */
#define PW_A_FLOATS (64L << 10)

/* Pixels a chunk (see above) for k input channels over m pixels with panels of pv vectors. */
static long pw_chunk(int k, int pv, long m) { return m * (long)blk_blocks(k) * VL <= PW_A_FLOATS ? m : MR_FOR(pv) * 8; }

/* Pixels [c0, c1) through every panel (input as pw_rows takes it). */
static inline __attribute__((always_inline)) void pw_panels(const blk_pw *p, const blk_pw_args *a, const float *in,
                                                            long in_ps, long in_p0, long c0, long c1, const int BF16,
                                                            const int SKIP) {
    int nb = blk_blocks(p->n), pv = p->panel_vecs;
    for (int v0 = 0; v0 < nb; v0 += pv) {
        switch (nb - v0 < pv ? nb - v0 : pv) {
        case 1: pw_rows(p, a, in, in_ps, in_p0, c0, c1, v0, 1, BF16, SKIP); break;
        case 2: pw_rows(p, a, in, in_ps, in_p0, c0, c1, v0, 2, BF16, SKIP); break;
        case 3: pw_rows(p, a, in, in_ps, in_p0, c0, c1, v0, 3, BF16, SKIP); break;
        default: pw_rows(p, a, in, in_ps, in_p0, c0, c1, v0, 4, BF16, SKIP); break;
        }
    }
}

void blk_pointwise(const blk_pw *p, const blk_pw_args *a) {
    long m = a->m, chunk = pw_chunk(p->k, p->panel_vecs, m);
    for (long c0 = 0; c0 < m; c0 += chunk) {
        long c1 = c0 + chunk < m ? c0 + chunk : m;
        if (VL == 16 && a->skip_zeros) /* the skip exists for AVX-512 only (pw_dot_f32_skip) */
            pw_panels(p, a, a->in, a->in_ps, 0, c0, c1, 0, 1);
        else
            pw_panels(p, a, a->in, a->in_ps, 0, c0, c1, 0, 0);
    }
}

#if BLK_HAVE_BF16
long blk_pw_bf16_packed_floats(int k, int n) { return pw_packed_floats(k, n, 1); }

void blk_pw_bf16_pack(blk_pw *p, float *dst, const float *w, const float *b, int k, int n) {
    pw_pack(p, dst, w, b, k, n, 1);
}

long blk_pw_bf16_scratch_floats(const blk_pw *p, long m) {
    /* the largest chunk of any m' <= m: m' itself up to the L2 rule's limit, else the chunk of 8 tiles */
    long whole = PW_A_FLOATS / ((long)blk_blocks(p->k) * VL), tiles = MR_FOR(p->panel_vecs) * 8;
    long most = whole > tiles ? whole : tiles;
    return (m < most ? m : most) * blk_blocks(p->k) * (VL / 2);
}

/* Pixels [c0, c1) of every input plane as bf16 pairs into dst (plane stride ps, VL / 2 slots a pixel). */
static void pw_to_bf16(float *dst, long ps, const float *in, long in_ps, int planes, long c0, long c1) {
    for (int b = 0; b < planes; b++, in += in_ps, dst += ps) {
        long i = c0;
        for (; i + 2 <= c1; i += 2) /* two pixels: the second one's channels in the upper half */
            _mm512_storeu_ps(dst + (i - c0) * (VL / 2),
                             (__m512)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(in + (i + 1) * VL), _mm512_loadu_ps(in + i * VL)));
        if (i < c1) _mm256_storeu_ps(dst + (i - c0) * (VL / 2), (__m256)_mm512_cvtneps_pbh(_mm512_loadu_ps(in + i * VL)));
    }
}

void blk_pointwise_bf16(const blk_pw *p, const blk_pw_args *a, float *scratch) {
    long m = a->m, chunk = pw_chunk(p->k, p->panel_vecs, m), ps = chunk * (VL / 2);
    for (long c0 = 0; c0 < m; c0 += chunk) {
        long c1 = c0 + chunk < m ? c0 + chunk : m;
        pw_to_bf16(scratch, ps, a->in, a->in_ps, blk_blocks(p->k), c0, c1);
        pw_panels(p, a, scratch, ps, c0, c0, c1, 1, 0);
    }
}
#endif

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
