/* conv2d fast paths over NHWC activations and OIHW weights (semantics: nn/ref/conv2d_ref.c).
 *
 *  - pointwise (1x1, stride 1, no padding, groups 1): one GEMM  y[M, c_out] = x[M, c_in] W^T, M = n*h*w;
 *    backward dX += dY W, dW += dY^T X.
 *  - depthwise 3x3 (groups = c_in = c_out, any stride/padding): hand-written, vectorised over channels
 *    (channels are contiguous in NHWC), OpenMP over output rows; backward dx gathers (race-free per input
 *    row), dw/db reduce per thread.
 *  - everything else: im2col + GEMM in blocks of output pixels (K ordered (ky, kx, ci) so each copy is a
 *    contiguous channel run), per group.
 * Threads: OpenMP with nn_get_threads(); GEMMs go through nn_sgemm (one pool, see gemm.c).
 */
#include "nn/nn.h"

#include "core/err.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* im2col scratch cap: blocks of output pixels are sized so col stays below this many floats (32 MiB) */
#define COL_MAX_FLOATS (8L << 20)
/* channels per register block in the depthwise kernels */
#define DW_CB 32

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

/* ---------------- depthwise 3x3 ---------------- */

/* out[c] = init[c] (or 0) + sum_t a[t][c] * b[t][c] over nt taps, c < C; registers hold DW_CB channels. */
static inline void dw_taps(float *out, const float *init, const float *const *a, const float *const *b,
                           int ntap, int C) {
    int c0 = 0;
    for (; c0 + DW_CB <= C; c0 += DW_CB) {
        float acc[DW_CB];
        for (int c = 0; c < DW_CB; c++) acc[c] = init ? init[c0 + c] : 0.0f;
        for (int t = 0; t < ntap; t++) {
            const float *ap = a[t] + c0, *bp = b[t] + c0;
            for (int c = 0; c < DW_CB; c++) acc[c] += ap[c] * bp[c];
        }
        for (int c = 0; c < DW_CB; c++) out[c0 + c] = acc[c];
    }
    if (c0 < C) {
        int cn = C - c0;
        float acc[DW_CB];
        for (int c = 0; c < cn; c++) acc[c] = init ? init[c0 + c] : 0.0f;
        for (int t = 0; t < ntap; t++) {
            const float *ap = a[t] + c0, *bp = b[t] + c0;
            for (int c = 0; c < cn; c++) acc[c] += ap[c] * bp[c];
        }
        for (int c = 0; c < cn; c++) out[c0 + c] = acc[c];
    }
}

/* OIHW [C,1,3,3] -> tap-major [9][C] so a tap's weights for consecutive channels are contiguous */
static void dw_weights_tap_major(float *wt, const float *w, int C) {
    for (int c = 0; c < C; c++)
        for (int t = 0; t < 9; t++) wt[(long)t * C + c] = w[(long)c * 9 + t];
}

static void dw3x3_forward(float *y, const float *x, const float *wt, const float *b, const conv2d_shape *s, int nt) {
    int C = s->c_in, H = s->h, W = s->w, oh = conv2d_out_h(s), ow = conv2d_out_w(s);
#pragma omp parallel for collapse(2) num_threads(nt) schedule(static)
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < oh; oy++) {
            const float *xs[9], *ws[9];
            float *yr = y + ((long)n * oh + oy) * ow * C;
            int iy0 = oy * s->stride_h - s->pad_top;
            for (int ox = 0; ox < ow; ox++) {
                int ix0 = ox * s->stride_w - s->pad_left, nt9 = 0;
                for (int ky = 0; ky < 3; ky++) {
                    int iy = iy0 + ky;
                    if (iy < 0 || iy >= H) continue;
                    for (int kx = 0; kx < 3; kx++) {
                        int ix = ix0 + kx;
                        if (ix < 0 || ix >= W) continue;
                        xs[nt9] = x + (((long)n * H + iy) * W + ix) * C;
                        ws[nt9++] = wt + (long)(ky * 3 + kx) * C;
                    }
                }
                dw_taps(yr + (long)ox * C, b, xs, ws, nt9, C);
            }
        }
}

/* dx[n,iy,ix,c] += sum over the taps whose output (oy,ox) reads (iy,ix): dy[n,oy,ox,c] * w[c,ky,kx].
 * Gathered per input pixel, so threads own whole input rows. */
static void dw3x3_backward_dx(float *dx, const float *dy, const float *wt, const conv2d_shape *s, int nt) {
    int C = s->c_in, H = s->h, W = s->w, oh = conv2d_out_h(s), ow = conv2d_out_w(s);
    int sh = s->stride_h, sw = s->stride_w;
#pragma omp parallel for collapse(2) num_threads(nt) schedule(static)
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

/* dw[c,0,ky,kx] += sum dy[n,oy,ox,c] x[n,iy,ix,c]; db[c] += sum dy. Per-thread [10][C] partials (9 taps and
 * the bias), each accumulated over a whole output row in registers. */
static int dw3x3_backward_dw(float *dw, float *db, const float *dy, const float *x, const conv2d_shape *s, int nt) {
    int C = s->c_in, H = s->h, W = s->w, oh = conv2d_out_h(s), ow = conv2d_out_w(s);
    int sw = s->stride_w;
    float *part = calloc((size_t)nt * 10 * C, sizeof(float));
    if (!part) return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory (depthwise weight gradient)");
#pragma omp parallel num_threads(nt)
    {
        float *p = part + (long)omp_get_thread_num() * 10 * C;
#pragma omp for collapse(2) schedule(static)
        for (int n = 0; n < s->n; n++)
            for (int oy = 0; oy < oh; oy++) {
                const float *dyr = dy + ((long)n * oh + oy) * ow * C;
                for (int ky = 0; ky < 3 && dw; ky++) {
                    int iy = oy * s->stride_h - s->pad_top + ky;
                    if (iy < 0 || iy >= H) continue;
                    const float *xr = x + ((long)n * H + iy) * W * C;
                    for (int kx = 0; kx < 3; kx++) {
                        /* outputs ox with 0 <= ox*sw - pad_left + kx < W */
                        int lo = s->pad_left - kx > 0 ? (s->pad_left - kx + sw - 1) / sw : 0;
                        int last = W - 1 + s->pad_left - kx;
                        int hi = last < 0 ? -1 : last / sw; /* inclusive */
                        if (hi > ow - 1) hi = ow - 1;
                        float *pt = p + (long)(ky * 3 + kx) * C;
                        for (int c0 = 0; c0 < C; c0 += DW_CB) {
                            int cn = C - c0 < DW_CB ? C - c0 : DW_CB;
                            float acc[DW_CB] = {0};
                            for (int ox = lo; ox <= hi; ox++) {
                                const float *d = dyr + (long)ox * C + c0;
                                const float *xv = xr + (long)(ox * sw - s->pad_left + kx) * C + c0;
                                if (cn == DW_CB)
                                    for (int c = 0; c < DW_CB; c++) acc[c] += d[c] * xv[c];
                                else
                                    for (int c = 0; c < cn; c++) acc[c] += d[c] * xv[c];
                            }
                            for (int c = 0; c < cn; c++) pt[c0 + c] += acc[c];
                        }
                    }
                }
                if (db) {
                    float *pb = p + 9L * C;
                    for (int ox = 0; ox < ow; ox++) {
                        const float *d = dyr + (long)ox * C;
#pragma omp simd
                        for (int c = 0; c < C; c++) pb[c] += d[c];
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
        fill_bias(y, b, M, s->c_out, nt);
        nn_sgemm(0, 1, (int)M, s->c_out, s->c_in, 1.0f, x, s->c_in, w, s->c_in, 1.0f, y, s->c_out);
        return AVEMO_OK;
    }
    if (is_depthwise3x3(s)) {
        float *wt = malloc(sizeof(float) * 9 * s->c_in);
        if (!wt) return avemo_error(AVEMO_ENOMEM, "conv2d: out of memory");
        dw_weights_tap_major(wt, w, s->c_in);
        dw3x3_forward(y, x, wt, b, s, nt);
        free(wt);
        return AVEMO_OK;
    }
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
            dw3x3_backward_dx(dx, dy, wt, s, nt);
            free(wt);
        }
        return dw || db ? dw3x3_backward_dw(dw, db, dy, x, s, nt) : AVEMO_OK;
    }
    if (db && (st = bias_grad(db, dy, M, s->c_out, nt))) return st;
    if (is_pointwise(s)) {
        /* dX[M, c_in] += dY[M, c_out] W[c_out, c_in];  dW[c_out, c_in] += dY^T X */
        if (dx) nn_sgemm(0, 0, (int)M, s->c_in, s->c_out, 1.0f, dy, s->c_out, w, s->c_in, 1.0f, dx, s->c_in);
        if (dw) nn_sgemm(1, 0, s->c_out, s->c_in, (int)M, 1.0f, dy, s->c_out, x, s->c_in, 1.0f, dw, s->c_in);
        return AVEMO_OK;
    }
    if (!dx && !dw) return AVEMO_OK;
    return generic_backward(dx, dw, dy, x, w, s, nt);
}
