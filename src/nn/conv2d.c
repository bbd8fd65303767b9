/* conv2d over NHWC activations and OIHW weights (semantics: nn/ref/conv2d_ref.c): dispatch and the GEMM paths.
 *
 *  - pointwise (1x1, stride 1, no padding, groups 1): GEMMs  y[M, c_out] = x[M, c_in] W^T, M = n*h*w, over
 *    L2-sized blocks of rows; backward dX += dY W, dW += dY^T X (here).
 *  - depthwise 3x3 (groups = c_in = c_out, any stride/padding): hand-written (conv2d_depthwise.c).
 *  - few input channels (the stem, c_in <= 4): direct, vectorised over c_out (conv2d_direct.c).
 *  - everything else: im2col + GEMM (here), K ordered (ky, kx, ci) so each copy is a contiguous channel run,
 *    per group; whole images per thread when there are enough images.
 * Threads: OpenMP with nn_get_threads(); GEMMs go through nn_sgemm (one pool, see gemm.c). Loops that write
 * disjoint outputs are scheduled dynamically (a thread delayed by other processes does not hold up the rest);
 * loops that sum into per-thread partials (weight and bias gradients) are static, so for a given thread count
 * every run is bit-identical.
 */
#include "nn/nn.h"

#include "core/err.h"
#include "nn/conv2d_internal.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* im2col scratch cap: blocks of output pixels are sized so col stays below this many floats (32 MiB) */
#define COL_MAX_FLOATS (8L << 20)
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
    if (is_depthwise3x3(s)) return conv2d_dw3x3_forward(y, x, w, b, s, nt);
    if (conv2d_direct_ok(s)) return conv2d_direct_forward(y, x, w, b, s, nt);
    if (s->n >= nt) return generic_forward_images(y, x, w, b, s, nt);
    return generic_forward(y, x, w, b, s, nt);
}

int conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                    const conv2d_shape *s) {
    int st = check_shape(s);
    if (st) return st;
    int nt = nn_get_threads();
    long M = (long)s->n * conv2d_out_h(s) * conv2d_out_w(s);
    if (is_depthwise3x3(s)) return conv2d_dw3x3_backward(dx, dw, db, dy, x, w, s, nt);
    if (conv2d_direct_ok(s)) { /* dw and db directly; dx (rarely wanted: the stem's input is the image) by im2col */
        if ((dw || db) && (st = conv2d_direct_backward_dw(dw, db, dy, x, s, nt))) return st;
        return dx ? generic_backward(dx, NULL, dy, x, w, s, nt) : AVEMO_OK;
    }
    if (is_pointwise(s)) return pw_backward(dx, dw, db, dy, x, w, s, M, nt);
    if (s->n >= nt) return generic_backward_images(dx, dw, db, dy, x, w, s, nt);
    if (db && (st = bias_grad(db, dy, M, s->c_out, nt))) return st;
    if (!dx && !dw) return AVEMO_OK;
    return generic_backward(dx, dw, dy, x, w, s, nt);
}
