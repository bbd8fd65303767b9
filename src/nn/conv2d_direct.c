/* Direct conv for few input channels (the MobileNetV2 stem: c_in 1 or 3 -> 32), NHWC, forward and weight
 * gradient. Semantics: nn/ref/conv2d_ref.c.
 *
 * im2col + GEMM is a poor fit there (K = 9 or 27, so the GEMM streams col for little work). Instead each
 * output pixel's c_out values are NV vectors held in registers; every (tap, ci) multiplies a broadcast input
 * value by a row of the weights stored [K][c_out], 8 (or 4) output pixels at a time to reuse the weight
 * loads. Border pixels gather their taps through pointers (out-of-image taps point at zeros). */
#include "nn/conv2d_internal.h"

#include "core/err.h"
#include "nn/simd.h"

#include <omp.h>
#include <stdlib.h>

#define DIRECT_MAX_CIN 4

int conv2d_direct_ok(const conv2d_shape *s) {
    return s->groups == 1 && s->c_in <= DIRECT_MAX_CIN && s->c_out % VL == 0 && s->c_out <= 4 * VL &&
           s->kh * s->kw <= 49;
}

/* OIHW -> [kh, kw, c_in, c_out] */
static void weights_hwio(float *wk, const float *w, const conv2d_shape *s) {
    int khw = s->kh * s->kw;
    for (int co = 0; co < s->c_out; co++)
        for (int ci = 0; ci < s->c_in; ci++)
            for (int k = 0; k < khw; k++)
                wk[((long)k * s->c_in + ci) * s->c_out + co] = w[((long)co * s->c_in + ci) * khw + k];
}

/* pointers to the input pixel of every tap of output (n, oy, ox), or to `zero` outside the image */
static inline void direct_taps(const float **tp, const float *x, const float *zero, const conv2d_shape *s, int n,
                               int oy, int ox) {
    int k = 0;
    for (int ky = 0; ky < s->kh; ky++) {
        int iy = oy * s->stride_h - s->pad_top + ky;
        for (int kx = 0; kx < s->kw; kx++, k++) {
            int ix = ox * s->stride_w - s->pad_left + kx;
            tp[k] = iy < 0 || iy >= s->h || ix < 0 || ix >= s->w ? zero
                                                                 : x + (((long)n * s->h + iy) * s->w + ix) * s->c_in;
        }
    }
}

/* The interior output columns lo..hi of a row of ow: those whose taps all lie inside the input columns,
 * 0 <= ox*sw - pad_left and ox*sw - pad_left + kw - 1 <= w - 1. No interior: lo = ow, hi = ow - 1. */
static inline void interior_cols(const conv2d_shape *s, int ow, int *lo, int *hi) {
    int sw = s->stride_w, last = s->w - s->kw + s->pad_left;
    *lo = (s->pad_left + sw - 1) / sw;
    *hi = last < 0 ? -1 : last / sw;
    if (*hi > ow - 1) *hi = ow - 1;
    if (*lo > *hi) *lo = ow, *hi = ow - 1;
}

/* one output pixel from its tap pointers tp[khw] (border pixels; the interior takes direct_fwd_interior) */
static inline __attribute__((always_inline)) void direct_fwd_px(float *y, const float *const *tp, const float *wk,
                                                                const float *b, int khw, int cin, const int NV) {
    vf acc[4] = {{0}};
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[v] = b ? V(b + v * VL) : (vf){0};
    for (int k = 0; k < khw; k++)
        for (int ci = 0; ci < cin; ci++) {
            const float *wrow = wk + ((long)k * cin + ci) * NV * VL;
            vf xb = vbcast(tp[k][ci]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[v] = vfma(xb, V(wrow + v * VL), acc[v]);
        }
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) VS(y + v * VL) = acc[v];
}

/* NP output pixels whose taps all lie inside the image columns: pixel p, tap (ky, kx, ci) reads
 * rows[ky][off + p * pstep + kx * c_in + ci] (rows[ky] NULL: that input row is padding) */
static inline __attribute__((always_inline)) void direct_fwd_interior(float *y, const float *const *rows, long off,
                                                                      int pstep, const float *wk, const float *b,
                                                                      int kh, int kwc, const int NP, const int NV) {
    vf acc[8][4] = {{{0}}};
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[p][v] = b ? V(b + v * VL) : (vf){0};
    for (int ky = 0; ky < kh; ky++) {
        if (!rows[ky]) continue;
        const float *r = rows[ky] + off, *wrow = wk + (long)ky * kwc * NV * VL;
        for (int j = 0; j < kwc; j++) {
            vf wv[4] = {{0}};
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) wv[v] = V(wrow + ((long)j * NV + v) * VL);
#pragma GCC unroll 8
            for (int p = 0; p < NP; p++) {
                vf xb = vbcast(r[(long)p * pstep + j]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) acc[p][v] = vfma(xb, wv[v], acc[p][v]);
            }
        }
    }
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) VS(y + ((long)p * NV + v) * VL) = acc[p][v];
}

/* one output row (n, oy); NV is a literal at every call so the kernel is specialised per c_out */
static inline __attribute__((always_inline)) void direct_fwd_row(float *yr, const float *x, const float *wk,
                                                                 const float *b, const conv2d_shape *s, int n, int oy,
                                                                 const int NV, const int NP) {
    int ow = conv2d_out_w(s), khw = s->kh * s->kw, cin = s->c_in, co = s->c_out, sw = s->stride_w;
    const float zero[DIRECT_MAX_CIN] = {0};
    const float *tp[49], *rows[7];
    for (int ky = 0; ky < s->kh; ky++) {
        int iy = oy * s->stride_h - s->pad_top + ky;
        rows[ky] = iy < 0 || iy >= s->h ? NULL : x + ((long)n * s->h + iy) * s->w * cin;
    }
    int lo, hi;
    interior_cols(s, ow, &lo, &hi);
    for (int ox = 0; ox < ow; ox++) {
        if (ox == lo) { /* the interior, NP pixels at a time */
            for (; ox + NP - 1 <= hi; ox += NP)
                direct_fwd_interior(yr + (long)ox * co, rows, (long)(ox * sw - s->pad_left) * cin, sw * cin, wk, b,
                                    s->kh, s->kw * cin, NP, NV);
            for (; ox <= hi; ox++)
                direct_fwd_interior(yr + (long)ox * co, rows, (long)(ox * sw - s->pad_left) * cin, sw * cin, wk, b,
                                    s->kh, s->kw * cin, 1, NV);
            if (ox >= ow) break;
        }
        direct_taps(tp, x, zero, s, n, oy, ox); /* border pixel */
        direct_fwd_px(yr + (long)ox * co, tp, wk, b, khw, cin, NV);
    }
}

static void direct_fwd_rows(float *y, const float *x, const float *wk, const float *b, const conv2d_shape *s,
                            int nt) {
    int oh = conv2d_out_h(s), ow = conv2d_out_w(s), nv = s->c_out / VL;
#pragma omp parallel for collapse(2) num_threads(nt) schedule(dynamic, 2)
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < oh; oy++) {
            float *yr = y + ((long)n * oh + oy) * ow * s->c_out;
            switch (nv) {
            /* NP pixels per step: NP * NV accumulators + NV weights fit the vector registers (32 / 16) */
#if VL == 16
            case 1: direct_fwd_row(yr, x, wk, b, s, n, oy, 1, 8); break;
            case 2: direct_fwd_row(yr, x, wk, b, s, n, oy, 2, 8); break;
            case 3: direct_fwd_row(yr, x, wk, b, s, n, oy, 3, 4); break;
            default: direct_fwd_row(yr, x, wk, b, s, n, oy, 4, 4); break;
#else
            case 1: direct_fwd_row(yr, x, wk, b, s, n, oy, 1, 8); break;
            case 2: direct_fwd_row(yr, x, wk, b, s, n, oy, 2, 4); break;
            case 3: direct_fwd_row(yr, x, wk, b, s, n, oy, 3, 2); break;
            default: direct_fwd_row(yr, x, wk, b, s, n, oy, 4, 2); break;
#endif
            }
        }
}

int conv2d_direct_forward(float *y, const float *x, const float *w, const float *b, const conv2d_shape *s, int nt) {
    long K = (long)s->kh * s->kw * s->c_in;
    float *wk = malloc(sizeof(float) * K * s->c_out);
    if (!wk) return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory");
    weights_hwio(wk, w, s);
    direct_fwd_rows(y, x, wk, b, s, nt);
    free(wk);
    return AVEMO_OK;
}

/* dW rows j0 .. j0+JC-1 of one kernel row ky over npx interior pixels: a[j][co] += sum_p r[p*pstep + j] *
 * dy_p[co]. The JC * NV accumulators stay in registers for the whole pixel run. */
static inline __attribute__((always_inline)) void direct_dw_chunk(float *a, const float *dyp, int co, const float *r,
                                                                  int pstep, int npx, const int JC, const int NV) {
    vf acc[9][4] = {{{0}}};
    for (int p = 0; p < npx; p++) {
        vf d[4] = {{0}};
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) d[v] = V(dyp + (long)p * co + v * VL);
        const float *xp = r + (long)p * pstep;
#pragma GCC unroll 9
        for (int j = 0; j < JC; j++) {
            vf xb = vbcast(xp[j]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[j][v] = vfma(xb, d[v], acc[j][v]);
        }
    }
#pragma GCC unroll 9
    for (int j = 0; j < JC; j++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) VS(a + ((long)j * NV + v) * VL) = V(a + ((long)j * NV + v) * VL) + acc[j][v];
}

/* dW[(k, ci), co] += sum over the outputs of row (n, oy) of x_tap[ci] * dy[co] (and db) into acc [K + 1][c_out]
 * (one thread's partials). Interior pixels: per kernel row, chunks of JMAX or fewer (ky, kx, ci) rows in
 * registers; border pixels: one at a time through tap pointers. */
static inline __attribute__((always_inline)) void direct_dw_row(float *acc, const float *dyr, const float *x,
                                                                const conv2d_shape *s, int n, int oy, int want_db,
                                                                const int NV, const int JMAX) {
    int ow = conv2d_out_w(s), khw = s->kh * s->kw, cin = s->c_in, co = s->c_out, sw = s->stride_w;
    int kwc = s->kw * cin;
    long K = (long)khw * cin;
    const float zero[DIRECT_MAX_CIN] = {0};
    const float *tp[49];
    float *adb = acc + K * NV * VL;
    int lo, hi;
    interior_cols(s, ow, &lo, &hi);
    if (lo <= hi)
        for (int ky = 0; ky < s->kh; ky++) {
            int iy = oy * s->stride_h - s->pad_top + ky;
            if (iy < 0 || iy >= s->h) continue;
            const float *r = x + ((long)n * s->h + iy) * s->w * cin + (long)(lo * sw - s->pad_left) * cin;
            const float *dyp = dyr + (long)lo * co;
            float *a = acc + (long)ky * kwc * NV * VL;
            int npx = hi - lo + 1;
            for (int j = 0; j < kwc;) {
                int rem = kwc - j;
                if (JMAX >= 9 && rem >= 9)
                    direct_dw_chunk(a + (long)j * NV * VL, dyp, co, r + j, sw * cin, npx, 9, NV), j += 9;
                else if (JMAX >= 3 && rem >= 3)
                    direct_dw_chunk(a + (long)j * NV * VL, dyp, co, r + j, sw * cin, npx, 3, NV), j += 3;
                else if (rem >= 2)
                    direct_dw_chunk(a + (long)j * NV * VL, dyp, co, r + j, sw * cin, npx, 2, NV), j += 2;
                else
                    direct_dw_chunk(a + (long)j * NV * VL, dyp, co, r + j, sw * cin, npx, 1, NV), j += 1;
            }
        }
    for (int ox = 0; ox < ow; ox++) {
        if (ox == lo) ox = hi + 1;
        if (ox >= ow) break;
        direct_taps(tp, x, zero, s, n, oy, ox);
        vf d0[4] = {{0}};
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) d0[v] = V(dyr + (long)ox * co + v * VL);
        for (int k = 0; k < khw; k++)
            for (int ci = 0; ci < cin; ci++) {
                float *a = acc + ((long)k * cin + ci) * NV * VL;
                vf x0 = vbcast(tp[k][ci]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) VS(a + v * VL) = vfma(x0, d0[v], V(a + v * VL));
            }
    }
    if (want_db)
        for (int ox = 0; ox < ow; ox++)
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) VS(adb + v * VL) = V(adb + v * VL) + V(dyr + (long)ox * co + v * VL);
}

static void direct_dw_rows(float *part, const float *dy, const float *x, const conv2d_shape *s, int nt,
                           int want_db) {
    int oh = conv2d_out_h(s), ow = conv2d_out_w(s), nv = s->c_out / VL;
    long K = (long)s->kh * s->kw * s->c_in;
#pragma omp parallel num_threads(nt)
    {
        float *acc = part + (long)omp_get_thread_num() * (K + 1) * s->c_out;
#pragma omp for collapse(2) schedule(static) /* static: per-thread partials, deterministic sums */
        for (int n = 0; n < s->n; n++)
            for (int oy = 0; oy < oh; oy++) {
                const float *dyr = dy + ((long)n * oh + oy) * ow * s->c_out;
                switch (nv) {
                /* JMAX * NV accumulators + NV dy vectors fit the vector registers (32 / 16) */
#if VL == 16
                case 1: direct_dw_row(acc, dyr, x, s, n, oy, want_db, 1, 9); break;
                case 2: direct_dw_row(acc, dyr, x, s, n, oy, want_db, 2, 9); break;
                case 3: direct_dw_row(acc, dyr, x, s, n, oy, want_db, 3, 3); break;
                default: direct_dw_row(acc, dyr, x, s, n, oy, want_db, 4, 3); break;
#else
                case 1: direct_dw_row(acc, dyr, x, s, n, oy, want_db, 1, 9); break;
                case 2: direct_dw_row(acc, dyr, x, s, n, oy, want_db, 2, 3); break;
                case 3: direct_dw_row(acc, dyr, x, s, n, oy, want_db, 3, 2); break;
                default: direct_dw_row(acc, dyr, x, s, n, oy, want_db, 4, 2); break;
#endif
                }
            }
    }
}

int conv2d_direct_backward_dw(float *dw, float *db, const float *dy, const float *x, const conv2d_shape *s, int nt) {
    int khw = s->kh * s->kw, co_n = s->c_out, cin = s->c_in;
    long K = (long)khw * cin;
    float *part = calloc((size_t)nt * (K + 1) * co_n, sizeof(float));
    if (!part) return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory");
    direct_dw_rows(part, dy, x, s, nt, db != NULL);
    for (int t = 0; t < nt; t++) {
        const float *p = part + (long)t * (K + 1) * co_n;
        if (dw)
            for (int co = 0; co < co_n; co++)
                for (int ci = 0; ci < cin; ci++)
                    for (int k = 0; k < khw; k++)
                        dw[((long)co * cin + ci) * khw + k] += p[((long)k * cin + ci) * co_n + co];
        if (db)
            for (int co = 0; co < co_n; co++) db[co] += p[K * co_n + co];
    }
    free(part);
    return AVEMO_OK;
}
