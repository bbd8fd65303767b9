/* Inference kernels over channel-blocked activations (the fast path of the BN-folded MobileNetV2, also usable
 * by other inference-only networks). Forward only, bias and activation fused into each kernel.
 *
 * Layout "blocked" (NCHWc, c = BLK_LANES, one vector register of floats): a tensor of C channels over P
 * pixels is ceil(C / BLK_LANES) planes of [P][BLK_LANES] floats, plane stride `ps` floats (>= P * BLK_LANES);
 * channel c of pixel p is at (c / L) * ps + p * L + c % L. Pixels are in row-major order, so a run of rows of
 * an image (or a run of whole images) is one contiguous run of pixels in every plane. Lanes past C hold 0
 * (the packed weights and biases are 0 there, so every kernel keeps them 0).
 * Why blocked and not NHWC: the 1x1 kernel's input pixels then sit at fixed offsets (p * L) from one pointer
 * in every plane, the depthwise kernel reads one contiguous row of vectors per plane, and every store is one
 * aligned-size vector.
 *
 * Semantics: nn/ref/conv2d_ref.c (a 1x1 conv, a depthwise 3x3, a dense kxk conv from few channels), then
 * ReLU6 (min(max(y, 0), 6)) where asked, then + residual where given (MobileNetV2 never combines the two).
 * Packed weights are written once (blk_*_pack) from PyTorch's OIHW weights and a bias (NULL = 0).
 */
#ifndef AVEMO_NN_BLOCKED_H
#define AVEMO_NN_BLOCKED_H

#if defined(__AVX512F__)
#define BLK_LANES 16
#elif defined(__AVX__)
#define BLK_LANES 8
#else
#define BLK_LANES 4
#endif

static inline int blk_blocks(int channels) { return (channels + BLK_LANES - 1) / BLK_LANES; }

/* ---- 1x1 conv: out[p, n] = act(sum_k in[p, k] w[n, k] + b[n]) (+ res[p, n]) ---- */
typedef struct {
    int k, n;          /* input, output channels */
    int panel_vecs;    /* output vectors per panel (the last panel may hold fewer) */
    const float *w;    /* packed: per panel of output vectors, the bias then k rows of panel_vecs vectors */
} blk_pw;

/* Floats of packed weights for k -> n channels. */
long blk_pw_packed_floats(int k, int n);
/* Pack w [n, k] (OIHW of a 1x1 conv) and b [n] (or NULL) into dst (blk_pw_packed_floats); p->w = dst. */
void blk_pw_pack(blk_pw *p, float *dst, const float *w, const float *b, int k, int n);
/* The operands of one blk_pointwise call. */
typedef struct {
    const float *in;   /* blocked [k] x m pixels, plane stride in_ps */
    long in_ps, m;
    float *out;        /* blocked [n] x m pixels, plane stride out_ps (unused when pooling) */
    long out_ps;
    int relu6;         /* clamp to [0, 6] */
    const float *res;  /* NULL, or blocked [n] x m pixels (plane stride res_ps) added at the end */
    long res_ps;
    float *pool;       /* NULL, or instead of writing out: pixel i adds its outputs into pool row i / pool_px
                          (rows of blocks(n) * L floats): the global average pool of a head, per image */
    long pool_px;
    int skip_zeros;    /* the input has many exact zeros (it comes from a ReLU): per tile of pixels, skip the input
                          channels that are 0 in all of them (fp32 with AVX-512; the sums are the same but for the
                          sign of an exact zero) */
} blk_pw_args;

/* Single-threaded. */
void blk_pointwise(const blk_pw *p, const blk_pw_args *a);

/* bf16 variant (AVX512_BF16 builds only): the same operands and result, with the weights packed once as
 * bf16 pairs and the input rounded to bf16 per call (into scratch); products summed in fp32 (VDPBF16PS).
 * Each product carries bf16's relative rounding (2^-9) on both factors. */
#if defined(__AVX512BF16__) && defined(__AVX512F__)
#define BLK_HAVE_BF16 1
/* Floats of packed weights: per panel, the fp32 bias then ceil(k / 2) rows of panel_vecs * L bf16 pairs. */
long blk_pw_bf16_packed_floats(int k, int n);
void blk_pw_bf16_pack(blk_pw *p, float *dst, const float *w, const float *b, int k, int n);
/* Floats of scratch that blk_pointwise_bf16 needs for any call of at most m pixels through p. */
long blk_pw_bf16_scratch_floats(const blk_pw *p, long m);
void blk_pointwise_bf16(const blk_pw *p, const blk_pw_args *a, float *scratch);
#else
#define BLK_HAVE_BF16 0
#endif

/* ---- depthwise 3x3 over one output row ---- */
/* Packed: per plane of c channels, 9 tap vectors then the bias vector: blocks(c) * 10 * L floats. */
long blk_dw3x3_packed_floats(int c);
void blk_dw3x3_pack(float *dst, const float *w, const float *b, int c);
/* One output row of out_w pixels, all blocks(c) planes: out (plane stride out_ps) = act(dw3x3(rows) + b).
 * rows[ky] is input row oy * stride - pad_top + ky, plane stride rows_ps[ky]: a zero row (stride 0 is fine)
 * where that row is padding. Output pixel ox, tap kx reads input column ox * stride - pad_left + kx, taken as 0
 * outside [0, in_w). */
void blk_dw3x3_row(float *out, long out_ps, const float *const rows[3], const long rows_ps[3], const float *wp,
                   int c, int in_w, int out_w, int stride, int pad_left, int relu6);

/* ---- dense kxk conv from few NHWC channels (a stem), one output row into blocked planes ---- */
#define BLK_STEM_MAX_CIN 4
#define BLK_STEM_MAX_K 7
/* Packed: [kh * kw * c_in][blocks(c_out) * L] then the bias [blocks(c_out) * L]. */
long blk_stem_packed_floats(int c_in, int c_out, int k);
void blk_stem_pack(float *dst, const float *w, const float *b, int c_in, int c_out, int k);
/* Output row oy of x (one image NHWC [h, w, c_in]) convolved with the k x k kernel (stride, top/left padding,
 * out-of-image taps 0), bias, ReLU6 if asked, into out (blocked, plane stride out_ps, out_w pixels).
 * c_in <= BLK_STEM_MAX_CIN, k <= BLK_STEM_MAX_K. */
void blk_stem_row(float *out, long out_ps, const float *x, int h, int w, int c_in, const float *wp, int c_out, int k,
                  int stride, int pad_top, int pad_left, int oy, int out_w, int relu6);

/* ---- layout conversions ---- */
/* NHWC [m, c] <-> blocked (plane stride ps) */
void blk_from_nhwc(float *dst, long ps, const float *src, long m, int c);
void blk_to_nhwc(float *dst, const float *src, long ps, long m, int c);

#endif
