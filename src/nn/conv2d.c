/* conv2d fast paths over NHWC activations and OIHW weights (semantics: nn/ref/conv2d_ref.c).
 *
 *  - pointwise (1x1, stride 1, no padding, groups 1): one GEMM  y[M, c_out] = x[M, c_in] W^T, M = n*h*w;
 *    backward dX += dY W, dW += dY^T X.
 *  - depthwise 3x3 (groups = c_in = c_out, any stride/padding): hand-written, vectorised over channels
 *    (channels are contiguous in NHWC), OpenMP over output rows; backward dx gathers (race-free per input
 *    row), dw/db reduce per thread.
 *  - everything else: im2col + GEMM in blocks of output pixels (K ordered (ky, kx, ci) so each copy is a
 *    contiguous channel run), per group.
 * Threads: OpenMP with nn_get_threads(); GEMMs go through nn_sgemm (one pool, see gemm.c). Loops that write
 * disjoint outputs are scheduled dynamically (a thread delayed by other processes does not hold up the rest);
 * loops that sum into per-thread partials (weight and bias gradients) are static, so for a given thread count
 * every run is bit-identical.
 */
#include "nn/nn.h"

#include "core/err.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* im2col scratch cap: blocks of output pixels are sized so col stays below this many floats (32 MiB) */
#define COL_MAX_FLOATS (8L << 20)
/* Depthwise kernels use GCC/clang vector extensions: VL floats per vector (one AVX-512 or AVX register),
 * blocks of 4 vectors of channels held in registers. vf is unaligned (aligned(4)) so loads need no
 * alignment of the channel rows. */
#if defined(__AVX512F__)
#define VL 16
#elif defined(__AVX__)
#define VL 8
#else
#define VL 4 /* SSE / NEON */
#endif
typedef float vf __attribute__((vector_size(VL * sizeof(float)), aligned(4)));
#define V(p) (*(const vf *)(p))
#define VS(p) (*(vf *)(p))

static inline vf vbcast(float x) {
#if defined(__AVX512F__)
    return (vf)_mm512_set1_ps(x);
#else
    return (vf){0} + x;
#endif
}

/* a * b + c as one fused multiply-add: -std=c11 turns off the compiler's contraction of a * b + c */
static inline vf vfma(vf a, vf b, vf c) {
#if defined(__AVX512F__)
    return (vf)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(__FMA__) && VL == 8
    return (vf)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
    return a * b + c;
#endif
}

static int check_shape(const conv2d_shape *s) {
    if (s->n < 1 || s->h < 1 || s->w < 1 || s->c_in < 1 || s->c_out < 1 || s->kh < 1 || s->kw < 1 ||
        s->stride_h < 1 || s->stride_w < 1 || s->pad_top < 0 || s->pad_left < 0 || s->pad_bottom < 0 ||
        s->pad_right < 0 || s->groups < 1)
        return avemo_error(AVEMO_EINVAL, "conv2d: bad shape (non-positive size or negative padding)");
    if (s->c_in % s->groups || s->c_out % s->groups)
        return avemo_error(AVEMO_EINVAL, "conv2d: groups %d does not divide c_in %d and c_out %d", s->groups,
                           s->c_in, s->c_out);
    if (s->h + s->pad_top + s->pad_bottom < s->kh || s->w + s->pad_left + s->pad_right < s->kw)
        return avemo_error(AVEMO_EINVAL, "conv2d: kernel %dx%d larger than the padded input %dx%d", s->kh, s->kw,
                           s->h + s->pad_top + s->pad_bottom, s->w + s->pad_left + s->pad_right);
    return AVEMO_OK;
}

static int is_pointwise(const conv2d_shape *s) {
    return s->kh == 1 && s->kw == 1 && s->stride_h == 1 && s->stride_w == 1 && s->groups == 1 && s->pad_top == 0 &&
           s->pad_left == 0 && s->pad_bottom == 0 && s->pad_right == 0;
}

static int is_depthwise3x3(const conv2d_shape *s) {
    return s->kh == 3 && s->kw == 3 && s->groups == s->c_in && s->c_out == s->c_in;
}

/* y[m, c] = b[c] (or 0) for m rows */
static void fill_bias(float *y, const float *b, long m, int c, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long i = 0; i < m; i++) {
        if (b)
            memcpy(y + i * c, b, sizeof(float) * c);
        else
            memset(y + i * c, 0, sizeof(float) * c);
    }
}

/* db[c] += sum over m rows of dy[m, c]; per-thread partial sums, c floats each */
static int bias_grad(float *db, const float *dy, long m, int c, int nt) {
    float *part = calloc((size_t)nt * c, sizeof(float));
    if (!part) return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory (bias gradient)");
#pragma omp parallel num_threads(nt)
    {
        float *p = part + (long)omp_get_thread_num() * c;
#pragma omp for schedule(static)
        for (long i = 0; i < m; i++) {
            const float *r = dy + i * c;
#pragma omp simd
            for (int j = 0; j < c; j++) p[j] += r[j];
        }
    }
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < c; j++) db[j] += part[(long)t * c + j];
    free(part);
    return AVEMO_OK;
}

/* ---------------- pointwise 1x1: GEMMs over blocks of rows ----------------
 * The M = n*h*w rows are cut into blocks of PW_BLOCK_FLOATS / (c_in + c_out) rows (a block of x, y, dy and dx
 * stays in L2); OpenMP threads take blocks, each block is one single-threaded GEMM. The bias is written into
 * the block just before its GEMM accumulates onto it, so y goes to memory once; in backward the same dy and x
 * blocks feed dX, the per-thread dW partial and db while they are in cache. */
#define PW_BLOCK_FLOATS (96L << 10)

static long pw_block_rows(const conv2d_shape *s, long M) {
    long r = PW_BLOCK_FLOATS / (s->c_in + s->c_out);
    r = r < 16 ? 16 : (r + 15) / 16 * 16;
    return r > M ? M : r;
}

static void pw_forward(float *y, const float *x, const float *w, const float *b, const conv2d_shape *s, long M,
                       int nt) {
    long R = pw_block_rows(s, M), nblk = (M + R - 1) / R;
    int ci = s->c_in, co = s->c_out;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (long k = 0; k < nblk; k++) {
        long r0 = k * R, rows = M - r0 < R ? M - r0 : R;
        fill_bias(y + r0 * co, b, rows, co, 1);
        /* y[rows, c_out] += x[rows, c_in] W[c_out, c_in]^T */
        nn_sgemm(0, 1, (int)rows, co, ci, 1.0f, x + r0 * ci, ci, w, ci, 1.0f, y + r0 * co, co);
    }
}

static int pw_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                       const conv2d_shape *s, long M, int nt) {
    long R = pw_block_rows(s, M), nblk = (M + R - 1) / R;
    int ci = s->c_in, co = s->c_out;
    if (nblk < nt) nt = (int)nblk;
    long per = (dw ? (long)co * ci : 0) + (db ? co : 0); /* per-thread dW and db partials */
    float *part = per ? calloc((size_t)nt * per, sizeof(float)) : NULL;
    if (per && !part) return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory (pointwise backward)");
#pragma omp parallel num_threads(nt)
    {
        float *pw = part ? part + (long)omp_get_thread_num() * per : NULL;
        float *pb = pw ? pw + (dw ? (long)co * ci : 0) : NULL;
#pragma omp for schedule(static) /* static: per-thread partials, deterministic sums */
        for (long k = 0; k < nblk; k++) {
            long r0 = k * R, rows = M - r0 < R ? M - r0 : R;
            const float *dyb = dy + r0 * co;
            /* dX[rows, c_in] += dY[rows, c_out] W[c_out, c_in];  dW[c_out, c_in] += dY^T X */
            if (dx) nn_sgemm(0, 0, (int)rows, ci, co, 1.0f, dyb, co, w, ci, 1.0f, dx + r0 * ci, ci);
            if (dw) nn_sgemm(1, 0, co, ci, (int)rows, 1.0f, dyb, co, x + r0 * ci, ci, 1.0f, pw, ci);
            if (db)
                for (long r = 0; r < rows; r++) {
                    const float *d = dyb + r * co;
#pragma omp simd
                    for (int j = 0; j < co; j++) pb[j] += d[j];
                }
        }
    }
    for (int t = 0; t < nt && part; t++) {
        const float *p = part + (long)t * per;
        if (dw)
            for (long i = 0; i < (long)co * ci; i++) dw[i] += p[i];
        if (db)
            for (int j = 0; j < co; j++) db[j] += p[(dw ? (long)co * ci : 0) + j];
    }
    free(part);
    return AVEMO_OK;
}

/* ---------------- depthwise 3x3 ---------------- */

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

/* acc[c] += sum_{i < cnt} d[i*C + c] * xv[i*xstep + c] for c < C: one tap of the depthwise weight gradient
 * over a row of outputs, 4-vector channel blocks accumulated in registers. */
static inline void dw_row_dot(float *acc, const float *d, const float *xv, int cnt, long xstep, int C) {
    int c0 = 0;
    for (; c0 + 4 * VL <= C; c0 += 4 * VL) {
        vf s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
        for (int i = 0; i < cnt; i++) {
            const float *dp = d + (long)i * C + c0, *xp = xv + i * xstep + c0;
            s0 = vfma(V(dp), V(xp), s0);
            s1 = vfma(V(dp + VL), V(xp + VL), s1);
            s2 = vfma(V(dp + 2 * VL), V(xp + 2 * VL), s2);
            s3 = vfma(V(dp + 3 * VL), V(xp + 3 * VL), s3);
        }
        VS(acc + c0) = V(acc + c0) + s0;
        VS(acc + c0 + VL) = V(acc + c0 + VL) + s1;
        VS(acc + c0 + 2 * VL) = V(acc + c0 + 2 * VL) + s2;
        VS(acc + c0 + 3 * VL) = V(acc + c0 + 3 * VL) + s3;
    }
    for (; c0 + VL <= C; c0 += VL) {
        vf s0 = {0};
        for (int i = 0; i < cnt; i++) s0 = vfma(V(d + (long)i * C + c0), V(xv + i * xstep + c0), s0);
        VS(acc + c0) = V(acc + c0) + s0;
    }
    for (; c0 < C; c0++) {
        float s0 = 0;
        for (int i = 0; i < cnt; i++) s0 += d[(long)i * C + c0] * xv[i * xstep + c0];
        acc[c0] += s0;
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

/* ---------------- direct conv for few input channels (the stem: c_in 1 or 3 -> 32) ----------------
 * im2col + GEMM is a poor fit there (K = 9 or 27, so the GEMM streams col for little work). Instead each
 * output pixel's c_out values are NV vectors held in registers; every (tap, ci) multiplies a broadcast input
 * value by a row of the weights stored [K][c_out], 8 (or 4) output pixels at a time to reuse the weight
 * loads. Border pixels gather their taps through pointers (out-of-image taps point at zeros). */
#define DIRECT_MAX_CIN 4

static int is_direct(const conv2d_shape *s) {
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
    /* interior columns: 0 <= ox*sw - pad_left and ox*sw - pad_left + kw - 1 <= w - 1 */
    int lo = (s->pad_left + sw - 1) / sw, last = s->w - s->kw + s->pad_left;
    int hi = last < 0 ? -1 : last / sw;
    if (hi > ow - 1) hi = ow - 1;
    if (lo > hi) lo = ow, hi = ow - 1; /* no interior */
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

static int direct_forward(float *y, const float *x, const float *w, const float *b, const conv2d_shape *s, int nt) {
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
    int lo = (s->pad_left + sw - 1) / sw, last = s->w - s->kw + s->pad_left;
    int hi = last < 0 ? -1 : last / sw;
    if (hi > ow - 1) hi = ow - 1;
    if (lo > hi) lo = ow, hi = ow - 1; /* no interior */
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

static int direct_backward_dw(float *dw, float *db, const float *dy, const float *x, const conv2d_shape *s, int nt) {
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

/* ---------------- generic: im2col + GEMM ---------------- */

/* col[r, (ky,kx,ci)] for output pixels r = r0 .. r0+rows-1 (flattened n,oy,ox) and channels of group g */
static void im2col(float *col, const float *x, const conv2d_shape *s, int g, long r0, long rows, int nt) {
    int oh = conv2d_out_h(s), ow = conv2d_out_w(s), cg = s->c_in / s->groups;
    long K = (long)s->kh * s->kw * cg;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long r = 0; r < rows; r++) {
        long p = r0 + r;
        int ox = (int)(p % ow), oy = (int)(p / ow % oh), n = (int)(p / ((long)ow * oh));
        float *dst = col + r * K;
        for (int ky = 0; ky < s->kh; ky++) {
            int iy = oy * s->stride_h - s->pad_top + ky;
            for (int kx = 0; kx < s->kw; kx++, dst += cg) {
                int ix = ox * s->stride_w - s->pad_left + kx;
                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                    memset(dst, 0, sizeof(float) * cg);
                else
                    memcpy(dst, x + (((long)n * s->h + iy) * s->w + ix) * s->c_in + (long)g * cg,
                           sizeof(float) * cg);
            }
        }
    }
}

/* dx += col2im(dcol) for the same block; threads split the group's channels (no two write one element) */
static void col2im_add(float *dx, const float *dcol, const conv2d_shape *s, int g, long r0, long rows, int nt) {
    int oh = conv2d_out_h(s), ow = conv2d_out_w(s), cg = s->c_in / s->groups;
    long K = (long)s->kh * s->kw * cg;
    if (cg < 16 * nt) nt = 1;
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), tn = omp_get_num_threads();
        int c_lo = (int)((long)cg * t / tn), c_hi = (int)((long)cg * (t + 1) / tn);
        for (long r = 0; r < rows; r++) {
            long p = r0 + r;
            int ox = (int)(p % ow), oy = (int)(p / ow % oh), n = (int)(p / ((long)ow * oh));
            const float *src = dcol + r * K;
            for (int ky = 0; ky < s->kh; ky++) {
                int iy = oy * s->stride_h - s->pad_top + ky;
                for (int kx = 0; kx < s->kw; kx++, src += cg) {
                    int ix = ox * s->stride_w - s->pad_left + kx;
                    if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                    float *d = dx + (((long)n * s->h + iy) * s->w + ix) * s->c_in + (long)g * cg;
#pragma omp simd
                    for (int c = c_lo; c < c_hi; c++) d[c] += src[c];
                }
            }
        }
    }
}

/* OIHW [c_out, cg, kh, kw] -> [c_out, kh, kw, cg] (rows of the GEMM's B^T match im2col's K order) */
static void weights_ohwi(float *wr, const float *w, const conv2d_shape *s) {
    int cg = s->c_in / s->groups;
    for (int co = 0; co < s->c_out; co++)
        for (int ci = 0; ci < cg; ci++)
            for (int k = 0; k < s->kh * s->kw; k++)
                wr[((long)co * s->kh * s->kw + k) * cg + ci] = w[((long)co * cg + ci) * s->kh * s->kw + k];
}

static long block_rows(long M, long K) {
    long r = COL_MAX_FLOATS / K;
    return r < 1 ? 1 : r > M ? M : r;
}

/* With at least as many images as threads, each thread takes whole images (blocks of IMG_COL_FLOATS of
 * im2col at a time, in L2) with its own scratch: im2col, GEMM, and in backward the dW/db partials and the
 * col2im scatter, which cannot collide across images. Otherwise the blocks run one after another, each
 * step parallel inside. */
#define IMG_COL_FLOATS (64L << 10)

static int generic_forward_images(float *y, const float *x, const float *w, const float *b, const conv2d_shape *s,
                                  int nt) {
    long P = (long)conv2d_out_h(s) * conv2d_out_w(s); /* output pixels per image */
    int cg = s->c_in / s->groups, og = s->c_out / s->groups;
    long K = (long)s->kh * s->kw * cg, R = IMG_COL_FLOATS / K;
    R = R < 16 ? 16 : R > P ? P : R;
    float *wr = malloc(sizeof(float) * s->c_out * K), *cols = malloc(sizeof(float) * nt * R * K);
    if (!wr || !cols) {
        free(wr), free(cols);
        return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory (im2col)");
    }
    weights_ohwi(wr, w, s);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int n = 0; n < s->n; n++) {
        float *col = cols + (long)omp_get_thread_num() * R * K;
        for (long p0 = 0; p0 < P; p0 += R) {
            long r0 = (long)n * P + p0, rows = P - p0 < R ? P - p0 : R;
            fill_bias(y + r0 * s->c_out, b, rows, s->c_out, 1);
            for (int g = 0; g < s->groups; g++) {
                im2col(col, x, s, g, r0, rows, 1);
                nn_sgemm(0, 1, (int)rows, og, (int)K, 1.0f, col, (int)K, wr + (long)g * og * K, (int)K, 1.0f,
                         y + r0 * s->c_out + (long)g * og, s->c_out);
            }
        }
    }
    free(wr), free(cols);
    return AVEMO_OK;
}

static int generic_backward_images(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                   const conv2d_shape *s, int nt) {
    long P = (long)conv2d_out_h(s) * conv2d_out_w(s);
    int cg = s->c_in / s->groups, og = s->c_out / s->groups, khw = s->kh * s->kw, co = s->c_out;
    long K = (long)khw * cg, R = IMG_COL_FLOATS / K;
    R = R < 16 ? 16 : R > P ? P : R;
    long per = (dw ? co * K : 0) + (db ? co : 0); /* per-thread dW (OHWI order) and db partials */
    float *wr = malloc(sizeof(float) * co * K), *cols = malloc(sizeof(float) * nt * R * K);
    float *part = per ? calloc((size_t)nt * per, sizeof(float)) : NULL;
    if (!wr || !cols || (per && !part)) {
        free(wr), free(cols), free(part);
        return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory (im2col backward)");
    }
    weights_ohwi(wr, w, s);
#pragma omp parallel for num_threads(nt) schedule(static) /* static: per-thread partials, deterministic sums */
    for (int n = 0; n < s->n; n++) {
        int t = omp_get_thread_num();
        float *col = cols + (long)t * R * K;
        float *pw = part ? part + (long)t * per : NULL, *pb = pw ? pw + (dw ? co * K : 0) : NULL;
        for (long p0 = 0; p0 < P; p0 += R) {
            long r0 = (long)n * P + p0, rows = P - p0 < R ? P - p0 : R;
            if (db)
                for (long r = 0; r < rows; r++) {
                    const float *d = dy + (r0 + r) * co;
#pragma omp simd
                    for (int j = 0; j < co; j++) pb[j] += d[j];
                }
            for (int g = 0; g < s->groups; g++) {
                const float *dyg = dy + r0 * co + (long)g * og;
                if (dw) { /* pw_g[og, K] += dy_g[rows, og]^T col[rows, K] */
                    im2col(col, x, s, g, r0, rows, 1);
                    nn_sgemm(1, 0, og, (int)K, (int)rows, 1.0f, dyg, co, col, (int)K, 1.0f, pw + (long)g * og * K,
                             (int)K);
                }
                if (dx) { /* dcol[rows, K] = dy_g wr_g, scattered onto this image of dx */
                    nn_sgemm(0, 0, (int)rows, (int)K, og, 1.0f, dyg, co, wr + (long)g * og * K, (int)K, 0.0f, col,
                             (int)K);
                    col2im_add(dx, col, s, g, r0, rows, 1);
                }
            }
        }
    }
    for (int t = 0; t < nt && part; t++) {
        const float *p = part + (long)t * per;
        if (dw)
            for (int o = 0; o < co; o++)
                for (int ci = 0; ci < cg; ci++)
                    for (int k = 0; k < khw; k++)
                        dw[((long)o * cg + ci) * khw + k] += p[((long)o * khw + k) * cg + ci];
        if (db)
            for (int o = 0; o < co; o++) db[o] += p[(dw ? co * K : 0) + o];
    }
    free(wr), free(cols), free(part);
    return AVEMO_OK;
}

static int generic_forward(float *y, const float *x, const float *w, const float *b, const conv2d_shape *s,
                           int nt) {
    long M = (long)s->n * conv2d_out_h(s) * conv2d_out_w(s);
    int cg = s->c_in / s->groups, og = s->c_out / s->groups;
    long K = (long)s->kh * s->kw * cg, R = block_rows(M, K);
    float *wr = malloc(sizeof(float) * s->c_out * K), *col = malloc(sizeof(float) * R * K);
    if (!wr || !col) {
        free(wr), free(col);
        return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory (im2col)");
    }
    weights_ohwi(wr, w, s);
    fill_bias(y, b, M, s->c_out, nt);
    for (long r0 = 0; r0 < M; r0 += R) {
        long rows = M - r0 < R ? M - r0 : R;
        for (int g = 0; g < s->groups; g++) {
            im2col(col, x, s, g, r0, rows, nt);
            /* y[rows, og] += col[rows, K] wr_g[og, K]^T */
            nn_sgemm(0, 1, (int)rows, og, (int)K, 1.0f, col, (int)K, wr + (long)g * og * K, (int)K, 1.0f,
                     y + r0 * s->c_out + (long)g * og, s->c_out);
        }
    }
    free(wr), free(col);
    return AVEMO_OK;
}

static int generic_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                            const conv2d_shape *s, int nt) {
    long M = (long)s->n * conv2d_out_h(s) * conv2d_out_w(s);
    int cg = s->c_in / s->groups, og = s->c_out / s->groups, khw = s->kh * s->kw;
    long K = (long)khw * cg, R = block_rows(M, K);
    float *wr = malloc(sizeof(float) * s->c_out * K), *col = malloc(sizeof(float) * R * K);
    float *dwr = dw ? calloc((size_t)s->c_out * K, sizeof(float)) : NULL;
    if (!wr || !col || (dw && !dwr)) {
        free(wr), free(col), free(dwr);
        return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory (im2col backward)");
    }
    weights_ohwi(wr, w, s);
    for (long r0 = 0; r0 < M; r0 += R) {
        long rows = M - r0 < R ? M - r0 : R;
        for (int g = 0; g < s->groups; g++) {
            const float *dyg = dy + r0 * s->c_out + (long)g * og;
            if (dwr) {
                /* dwr_g[og, K] += dy_g[rows, og]^T col[rows, K] */
                im2col(col, x, s, g, r0, rows, nt);
                nn_sgemm(1, 0, og, (int)K, (int)rows, 1.0f, dyg, s->c_out, col, (int)K, 1.0f, dwr + (long)g * og * K,
                         (int)K);
            }
            if (dx) {
                /* dcol[rows, K] = dy_g[rows, og] wr_g[og, K], scattered back onto dx */
                nn_sgemm(0, 0, (int)rows, (int)K, og, 1.0f, dyg, s->c_out, wr + (long)g * og * K, (int)K, 0.0f, col,
                         (int)K);
                col2im_add(dx, col, s, g, r0, rows, nt);
            }
        }
    }
    if (dwr)
        for (int co = 0; co < s->c_out; co++)
            for (int ci = 0; ci < cg; ci++)
                for (int k = 0; k < khw; k++)
                    dw[((long)co * cg + ci) * khw + k] += dwr[((long)co * khw + k) * cg + ci];
    free(wr), free(col), free(dwr);
    return AVEMO_OK;
}

/* ---------------- entry points ---------------- */

int conv2d_forward(float *y, const float *x, const float *w, const float *b, const conv2d_shape *s) {
    int st = check_shape(s);
    if (st) return st;
    int nt = nn_get_threads();
    long M = (long)s->n * conv2d_out_h(s) * conv2d_out_w(s);
    if (is_pointwise(s)) {
        pw_forward(y, x, w, b, s, M, nt);
        return AVEMO_OK;
    }
    if (is_depthwise3x3(s)) {
        float *wt = malloc(sizeof(float) * 9 * s->c_in);
        if (!wt) return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory");
        dw_weights_tap_major(wt, w, s->c_in);
        st = dw3x3_forward(y, x, wt, b, s, nt);
        free(wt);
        return st;
    }
    if (is_direct(s)) return direct_forward(y, x, w, b, s, nt);
    if (s->n >= nt) return generic_forward_images(y, x, w, b, s, nt);
    return generic_forward(y, x, w, b, s, nt);
}

int conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                    const conv2d_shape *s) {
    int st = check_shape(s);
    if (st) return st;
    int nt = nn_get_threads();
    long M = (long)s->n * conv2d_out_h(s) * conv2d_out_w(s);
    if (is_depthwise3x3(s)) {
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
    if (is_direct(s)) { /* dw and db directly; dx (rarely wanted: the stem's input is the image) by im2col */
        if ((dw || db) && (st = direct_backward_dw(dw, db, dy, x, s, nt))) return st;
        return dx ? generic_backward(dx, NULL, dy, x, w, s, nt) : AVEMO_OK;
    }
    if (is_pointwise(s)) return pw_backward(dx, dw, db, dy, x, w, s, M, nt);
    if (s->n >= nt) return generic_backward_images(dx, dw, db, dy, x, w, s, nt);
    if (db && (st = bias_grad(db, dy, M, s->c_out, nt))) return st;
    if (!dx && !dw) return AVEMO_OK;
    return generic_backward(dx, dw, dy, x, w, s, nt);
}
