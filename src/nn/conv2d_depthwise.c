/* Depthwise 3x3 conv over NHWC (groups = c_in = c_out), forward and backward, hand-written and vectorised
 * over channels (contiguous in NHWC). Semantics: nn/ref/conv2d_ref.c.
 *
 * Forward and the stride-1 input gradient share one row kernel: per output row and channel block the 9 tap
 * weights stay in registers and 4 output pixels are computed per step; pixels are walked in tiles whose
 * source columns fit L1. The stride-1 input gradient is that same kernel run over dy with the kernel flipped.
 * Other strides gather dx per input pixel (threads own input rows, no races). Weight and bias gradients keep
 * the 9 tap sums of a channel block in registers over a row and add them to per-thread partials, reduced in
 * a fixed order (static schedule: bit-identical runs). OpenMP over (image, row).
 */
#include "nn/conv2d_internal.h"

#include "core/err.h"
#include "nn/simd.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* out[c] = init[c] (or 0) + sum_t a[t][c] * b[t][c] over ntap taps, c < C. out may equal init. */
static inline void dw_taps(float *out, const float *init, const float *const *a, const float *const *b, int ntap,
                           int C) {
    int c0 = 0;
    for (; c0 + 4 * VL <= C; c0 += 4 * VL) {
        vf s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
        if (init) s0 = V(init + c0), s1 = V(init + c0 + VL), s2 = V(init + c0 + 2 * VL), s3 = V(init + c0 + 3 * VL);
        for (int t = 0; t < ntap; t++) {
            const float *ap = a[t] + c0, *bp = b[t] + c0;
            s0 = vfma(V(ap), V(bp), s0);
            s1 = vfma(V(ap + VL), V(bp + VL), s1);
            s2 = vfma(V(ap + 2 * VL), V(bp + 2 * VL), s2);
            s3 = vfma(V(ap + 3 * VL), V(bp + 3 * VL), s3);
        }
        VS(out + c0) = s0, VS(out + c0 + VL) = s1, VS(out + c0 + 2 * VL) = s2, VS(out + c0 + 3 * VL) = s3;
    }
    for (; c0 + VL <= C; c0 += VL) {
        vf s0 = {0};
        if (init) s0 = V(init + c0);
        for (int t = 0; t < ntap; t++) s0 = vfma(V(a[t] + c0), V(b[t] + c0), s0);
        VS(out + c0) = s0;
    }
    for (; c0 < C; c0++) {
        float s0 = init ? init[c0] : 0.0f;
        for (int t = 0; t < ntap; t++) s0 += a[t][c0] * b[t][c0];
        out[c0] = s0;
    }
}

/* OIHW [C,1,3,3] -> tap-major [9][C] so a tap's weights for consecutive channels are contiguous */
static void dw_weights_tap_major(float *wt, const float *w, int C) {
    for (int c = 0; c < C; c++)
        for (int t = 0; t < 9; t++) wt[(long)t * C + c] = w[(long)c * 9 + t];
}

/* Row kernels. One output row over channels [c0, c0 + NVB*VL): the 9 * NVB weight vectors stay in registers
 * and 4 output pixels are computed per step (8 independent FMA chains). rows[ky] is the source row read by
 * kernel row ky (a zero row where it is padding); output pixel ox, tap kx reads source column
 * ox*sw - pl + kx when 0 <= it < src_w. The output starts from the bias (b), its own values (acc), or 0. */
#define DW_NVB (VL == 16 ? 2 : 1) /* vectors per channel block: 18 (9) weight registers of 32 (16) */

static inline __attribute__((always_inline)) void dw_row_block(float *yr, const float *const *rows, const float *wt,
                                                               const float *b, int acc_out, int C, int c0, int ox0,
                                                               int ox1, int src_w, int sw, int pl, const int NVB) {
    vf wr[9][2] = {{{0}}}, init[2] = {{0}};
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++)
#pragma GCC unroll 2
        for (int v = 0; v < NVB; v++) wr[t][v] = V(wt + (long)t * C + c0 + v * VL);
    if (b)
#pragma GCC unroll 2
        for (int v = 0; v < NVB; v++) init[v] = V(b + c0 + v * VL);
    /* interior: 0 <= ox*sw - pl and ox*sw - pl + 2 <= src_w - 1 */
    int lo = (pl + sw - 1) / sw, last = src_w - 3 + pl;
    int hi = last < 0 ? -1 : last / sw;
    if (lo < ox0) lo = ox0;
    if (hi > ox1 - 1) hi = ox1 - 1;
    if (lo > hi) lo = ox1, hi = ox1 - 1;
    for (int ox = ox0; ox < ox1; ox++) {
        if (ox == lo) {
            for (; ox + 3 <= hi; ox += 4) {
                vf a[4][2];
#pragma GCC unroll 4
                for (int p = 0; p < 4; p++)
#pragma GCC unroll 2
                    for (int v = 0; v < NVB; v++)
                        a[p][v] = acc_out ? V(yr + (long)(ox + p) * C + c0 + v * VL) : init[v];
#pragma GCC unroll 3
                for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
                    for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 4
                        for (int p = 0; p < 4; p++) {
                            const float *xp = rows[ky] + (long)((ox + p) * sw - pl + kx) * C + c0;
#pragma GCC unroll 2
                            for (int v = 0; v < NVB; v++) a[p][v] = vfma(V(xp + v * VL), wr[ky * 3 + kx][v], a[p][v]);
                        }
#pragma GCC unroll 4
                for (int p = 0; p < 4; p++)
#pragma GCC unroll 2
                    for (int v = 0; v < NVB; v++) VS(yr + (long)(ox + p) * C + c0 + v * VL) = a[p][v];
            }
            if (ox >= ox1) break;
        }
        /* one pixel: the interior remainder or a border pixel (taps outside the source skipped) */
        vf a[2];
#pragma GCC unroll 2
        for (int v = 0; v < NVB; v++) a[v] = acc_out ? V(yr + (long)ox * C + c0 + v * VL) : init[v];
        for (int kx = 0; kx < 3; kx++) {
            int ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= src_w) continue;
#pragma GCC unroll 3
            for (int ky = 0; ky < 3; ky++) {
                const float *xp = rows[ky] + (long)ix * C + c0;
#pragma GCC unroll 2
                for (int v = 0; v < NVB; v++) a[v] = vfma(V(xp + v * VL), wr[ky * 3 + kx][v], a[v]);
            }
        }
#pragma GCC unroll 2
        for (int v = 0; v < NVB; v++) VS(yr + (long)ox * C + c0 + v * VL) = a[v];
    }
}

/* A whole output row, all channels: tiles of output pixels whose source columns (3 rows of tile * stride
 * pixels) stay in L1 while every channel block passes over them; per tile register blocks, then single
 * vectors, then scalar channels. */
#define DW_TILE_BYTES (20 << 10)

static int dw_tile(int C, int sw) {
    int t = DW_TILE_BYTES / (3 * C * (int)sizeof(float) * sw) / 4 * 4;
    return t < 4 ? 4 : t > 32 ? 32 : t;
}

static void dw_row(float *yr, const float *const *rows, const float *wt, const float *b, int acc_out, int C, int ow,
                   int src_w, int sw, int pl) {
    int tile = dw_tile(C, sw);
    for (int ox0 = 0; ox0 < ow; ox0 += tile) {
        int ox1 = ox0 + tile < ow ? ox0 + tile : ow, c0 = 0;
        for (; c0 + DW_NVB * VL <= C; c0 += DW_NVB * VL)
            dw_row_block(yr, rows, wt, b, acc_out, C, c0, ox0, ox1, src_w, sw, pl, DW_NVB);
        for (; c0 + VL <= C; c0 += VL) dw_row_block(yr, rows, wt, b, acc_out, C, c0, ox0, ox1, src_w, sw, pl, 1);
        if (c0 < C)
            for (int ox = ox0; ox < ox1; ox++)
                for (int c = c0; c < C; c++) {
                    float a = acc_out ? yr[(long)ox * C + c] : b ? b[c] : 0.0f;
                    for (int kx = 0; kx < 3; kx++) {
                        int ix = ox * sw - pl + kx;
                        if (ix < 0 || ix >= src_w) continue;
                        for (int ky = 0; ky < 3; ky++) a += rows[ky][(long)ix * C + c] * wt[(long)(ky * 3 + kx) * C + c];
                    }
                    yr[(long)ox * C + c] = a;
                }
    }
}

/* y = depthwise conv of x (or, acc_out: y += ...) with tap-major weights wt, source [n, src_h, src_w, C] and
 * output [n, out_h, out_w, C], strides and top/left padding given; `zero` is a zero row of src_w * C floats. */
static void dw3x3_rows(float *y, const float *x, const float *wt, const float *b, int acc_out, int n_img, int C,
                       int src_h, int src_w, int out_h, int out_w, int sh, int sw, int pt, int pl, const float *zero,
                       int nt) {
#pragma omp parallel for collapse(2) num_threads(nt) schedule(dynamic, 2)
    for (int n = 0; n < n_img; n++)
        for (int oy = 0; oy < out_h; oy++) {
            const float *rows[3];
            for (int ky = 0; ky < 3; ky++) {
                int iy = oy * sh - pt + ky;
                rows[ky] = iy < 0 || iy >= src_h ? zero : x + ((long)n * src_h + iy) * src_w * C;
            }
            dw_row(y + ((long)n * out_h + oy) * out_w * C, rows, wt, b, acc_out, C, out_w, src_w, sw, pl);
        }
}

static int dw3x3_forward(float *y, const float *x, const float *wt, const float *b, const conv2d_shape *s, int nt) {
    float *zero = calloc((size_t)s->w * s->c_in, sizeof(float));
    if (!zero) return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory");
    dw3x3_rows(y, x, wt, b, 0, s->n, s->c_in, s->h, s->w, conv2d_out_h(s), conv2d_out_w(s), s->stride_h, s->stride_w,
               s->pad_top, s->pad_left, zero, nt);
    free(zero);
    return AVEMO_OK;
}

/* stride 1: dx[iy, ix] += sum dy[iy + pt - ky, ix + pl - kx] w[ky, kx] is the same row kernel run over dy with
 * the kernel flipped (tap t -> 8 - t) and padding 2 - pt, 2 - pl, accumulating into dx */
static int dw3x3_backward_dx_s1(float *dx, const float *dy, const float *wt, const conv2d_shape *s, int nt) {
    int C = s->c_in, oh = conv2d_out_h(s), ow = conv2d_out_w(s);
    float *wf = malloc(sizeof(float) * 9 * C), *zero = calloc((size_t)ow * C, sizeof(float));
    if (!wf || !zero) {
        free(wf), free(zero);
        return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory");
    }
    for (int t = 0; t < 9; t++) memcpy(wf + (long)t * C, wt + (long)(8 - t) * C, sizeof(float) * C);
    dw3x3_rows(dx, dy, wf, NULL, 1, s->n, C, oh, ow, s->h, s->w, 1, 1, 2 - s->pad_top, 2 - s->pad_left, zero, nt);
    free(wf), free(zero);
    return AVEMO_OK;
}

/* dx[n,iy,ix,c] += sum over the taps whose output (oy,ox) reads (iy,ix): dy[n,oy,ox,c] * w[c,ky,kx].
 * Gathered per input pixel, so threads own whole input rows. */
static void dw3x3_backward_dx(float *dx, const float *dy, const float *wt, const conv2d_shape *s, int nt) {
    int C = s->c_in, H = s->h, W = s->w, oh = conv2d_out_h(s), ow = conv2d_out_w(s);
    int sh = s->stride_h, sw = s->stride_w;
#pragma omp parallel for collapse(2) num_threads(nt) schedule(dynamic, 2)
    for (int n = 0; n < s->n; n++)
        for (int iy = 0; iy < H; iy++) {
            const float *ds[9], *ws[9];
            for (int ix = 0; ix < W; ix++) {
                int nt9 = 0;
                for (int ky = 0; ky < 3; ky++) {
                    int ty = iy + s->pad_top - ky; /* = oy * sh */
                    if (ty < 0 || ty % sh || ty / sh >= oh) continue;
                    int oy = ty / sh;
                    for (int kx = 0; kx < 3; kx++) {
                        int tx = ix + s->pad_left - kx;
                        if (tx < 0 || tx % sw || tx / sw >= ow) continue;
                        ds[nt9] = dy + (((long)n * oh + oy) * ow + tx / sw) * C;
                        ws[nt9++] = wt + (long)(ky * 3 + kx) * C;
                    }
                }
                float *p = dx + (((long)n * H + iy) * W + ix) * C;
                dw_taps(p, p, ds, ws, nt9, C);
            }
        }
}

/* Weight (and bias) gradient over one output row for channels [c0, c0 + NVB*VL): the 9 tap sums (and the dy
 * sum) stay in registers across the row and are added to the thread's partials p[10][C] at the end. */
static inline __attribute__((always_inline)) void dw_grad_block(float *p, const float *dyr, const float *const *rows,
                                                                int want_dw, int want_db, int C, int c0, int ox0,
                                                                int ox1, int W, int sw, int pl, const int NVB) {
    vf a[9][2] = {{{0}}}, ab[2] = {{0}};
    for (int ox = ox0; ox < ox1; ox++) {
        vf d[2];
#pragma GCC unroll 2
        for (int v = 0; v < NVB; v++) d[v] = V(dyr + (long)ox * C + c0 + v * VL);
        if (want_db)
#pragma GCC unroll 2
            for (int v = 0; v < NVB; v++) ab[v] += d[v];
        if (!want_dw) continue;
        int ix0 = ox * sw - pl;
        if (ix0 >= 0 && ix0 + 2 < W) {
#pragma GCC unroll 3
            for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
                for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 2
                    for (int v = 0; v < NVB; v++)
                        a[ky * 3 + kx][v] = vfma(V(rows[ky] + (long)(ix0 + kx) * C + c0 + v * VL), d[v], a[ky * 3 + kx][v]);
        } else {
            for (int kx = 0; kx < 3; kx++) {
                if (ix0 + kx < 0 || ix0 + kx >= W) continue;
#pragma GCC unroll 3
                for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 2
                    for (int v = 0; v < NVB; v++)
                        a[ky * 3 + kx][v] = vfma(V(rows[ky] + (long)(ix0 + kx) * C + c0 + v * VL), d[v], a[ky * 3 + kx][v]);
            }
        }
    }
    if (want_dw)
#pragma GCC unroll 9
        for (int t = 0; t < 9; t++)
#pragma GCC unroll 2
            for (int v = 0; v < NVB; v++) VS(p + (long)t * C + c0 + v * VL) = V(p + (long)t * C + c0 + v * VL) + a[t][v];
    if (want_db)
#pragma GCC unroll 2
        for (int v = 0; v < NVB; v++) VS(p + 9L * C + c0 + v * VL) = V(p + 9L * C + c0 + v * VL) + ab[v];
}

/* dw[c,0,ky,kx] += sum dy[n,oy,ox,c] x[n,iy,ix,c]; db[c] += sum dy. Per-thread [10][C] partials (9 taps and
 * the bias), reduced at the end. */
static int dw3x3_backward_dw(float *dw, float *db, const float *dy, const float *x, const conv2d_shape *s, int nt) {
    int C = s->c_in, H = s->h, W = s->w, oh = conv2d_out_h(s), ow = conv2d_out_w(s);
    int sw = s->stride_w, pl = s->pad_left;
    float *part = calloc((size_t)nt * 10 * C + (size_t)W * C, sizeof(float));
    if (!part) return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory (depthwise weight gradient)");
    const float *zero = part + (long)nt * 10 * C; /* a zero row for padding rows */
    int want_dw = dw != NULL, want_db = db != NULL, tile = dw_tile(C, sw);
#pragma omp parallel num_threads(nt)
    {
        float *p = part + (long)omp_get_thread_num() * 10 * C;
#pragma omp for collapse(2) schedule(static) /* static: per-thread partials, deterministic sums */
        for (int n = 0; n < s->n; n++)
            for (int oy = 0; oy < oh; oy++) {
                const float *dyr = dy + ((long)n * oh + oy) * ow * C;
                const float *rows[3];
                for (int ky = 0; ky < 3; ky++) {
                    int iy = oy * s->stride_h - s->pad_top + ky;
                    rows[ky] = iy < 0 || iy >= H ? zero : x + ((long)n * H + iy) * W * C;
                }
                for (int ox0 = 0; ox0 < ow; ox0 += tile) { /* tiles: see dw_row */
                    int ox1 = ox0 + tile < ow ? ox0 + tile : ow, c0 = 0;
                    for (; c0 + DW_NVB * VL <= C; c0 += DW_NVB * VL)
                        dw_grad_block(p, dyr, rows, want_dw, want_db, C, c0, ox0, ox1, W, sw, pl, DW_NVB);
                    for (; c0 + VL <= C; c0 += VL)
                        dw_grad_block(p, dyr, rows, want_dw, want_db, C, c0, ox0, ox1, W, sw, pl, 1);
                    for (int c = c0; c < C; c++) /* scalar channels */
                        for (int ox = ox0; ox < ox1; ox++) {
                            float d = dyr[(long)ox * C + c];
                            p[9L * C + c] += d;
                            for (int kx = 0; kx < 3; kx++) {
                                int ix = ox * sw - pl + kx;
                                if (ix < 0 || ix >= W) continue;
                                for (int ky = 0; ky < 3; ky++)
                                    p[(long)(ky * 3 + kx) * C + c] += d * rows[ky][(long)ix * C + c];
                            }
                        }
                }
            }
    }
    for (int t = 0; t < nt; t++) {
        const float *p = part + (long)t * 10 * C;
        if (dw)
            for (int c = 0; c < C; c++)
                for (int k = 0; k < 9; k++) dw[(long)c * 9 + k] += p[(long)k * C + c];
        if (db)
            for (int c = 0; c < C; c++) db[c] += p[9L * C + c];
    }
    free(part);
    return AVEMO_OK;
}

int conv2d_dw3x3_forward(float *y, const float *x, const float *w, const float *b, const conv2d_shape *s, int nt) {
    float *wt = malloc(sizeof(float) * 9 * s->c_in);
    if (!wt) return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory");
    dw_weights_tap_major(wt, w, s->c_in);
    int st = dw3x3_forward(y, x, wt, b, s, nt);
    free(wt);
    return st;
}

int conv2d_dw3x3_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                          const conv2d_shape *s, int nt) {
    int st = AVEMO_OK;
    if (dx) {
        float *wt = malloc(sizeof(float) * 9 * s->c_in);
        if (!wt) return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory");
        dw_weights_tap_major(wt, w, s->c_in);
        /* pad <= 2 keeps the flipped padding 2 - pad non-negative */
        if (s->stride_h == 1 && s->stride_w == 1 && s->pad_top <= 2 && s->pad_left <= 2)
            st = dw3x3_backward_dx_s1(dx, dy, wt, s, nt);
        else
            dw3x3_backward_dx(dx, dy, wt, s, nt);
        free(wt);
        if (st) return st;
    }
    return dw || db ? dw3x3_backward_dw(dw, db, dy, x, s, nt) : AVEMO_OK;
}
