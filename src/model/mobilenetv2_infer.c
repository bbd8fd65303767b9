/* MobileNetV2 inference with BN folded (mobilenetv2.h): packing, the fused blocks, threads and workspaces.
 *
 * Activations are blocked (nn/blocked.h, planes of L channels). Per image, block by block:
 *   stem + features.1: the stem's rows are produced on demand into a ring of rows, the depthwise 3x3 and the
 *     project 1x1 read them from there (the 112 x 112 x 32 stem output never goes to memory);
 *   features.2-17: over tiles of R output rows, the expand 1x1 writes only the hidden rows the tile needs
 *     (those not already in the ring) into a ring of (R - 1) * stride + 3 rows, the depthwise writes the
 *     tile's R rows into a small buffer, the project 1x1 reads it and writes the block output with the
 *     residual added: the 6x expanded tensor exists only as a few rows in L2;
 *   features.18 (1x1 to 1280, ReLU6) sums straight into the global average pool: its output is never stored.
 * Bias and ReLU6 are applied inside every kernel. R is chosen so a tile's depthwise output stays about
 * DW_TILE_BYTES (and a project GEMM has at least MIN_TILE_PIXELS rows). The project 1x1s read the depthwise's
 * ReLU6 output, about half of it exact zeros on real pictures: they skip the channels that are 0 over a whole
 * register tile of pixels (blk_pw_args.skip_zeros; same sums, 3-7 % less time, bench/RESULTS.md).
 *
 * Threads: each thread takes whole images (dynamic schedule), running all blocks of its image in its own
 * workspace; when fewer images than threads are left, those images are split by output rows instead (each
 * thread runs its band of every block with its own ring, halo rows recomputed; a barrier between blocks).
 * Workspaces (activations, ring, tile, pool, one per thread) are kept in a pool on the folded model and
 * reused by later calls, so steady-state calls neither allocate nor touch fresh pages.
 */
#include "model/mobilenetv2.h"

#include "core/bigmem.h"
#include "core/err.h"
#include "nn/nn.h"

#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DW_TILE_BYTES (64 << 10)
#define MIN_TILE_PIXELS 48
#define STEM_K 3
#define L BLK_LANES

/* a workspace (see mobilenetv2_infer) and the pool of free ones kept on the folded model */
typedef struct workspace {
    struct workspace *next;
    long floats;
    float *mem;
} workspace;

struct mnv2_workspaces {
    pthread_mutex_t lock;
    workspace *free_list;
};

/* ---- packing ---- */

static long unit_weights(const mnv2_unit *u) { return (long)u->c_out * (u->c_in / u->groups) * u->k * u->k; }

/* Floats of a packed 1x1 (fp32 or bf16 pairs) */
static long pw_packed_floats(const mnv2_folded *f, int k, int n) {
#if BLK_HAVE_BF16
    if (f->bf16) return blk_pw_bf16_packed_floats(k, n);
#endif
    (void)f;
    return blk_pw_packed_floats(k, n);
}

/* Floats of every packed tensor of the folded model (each rounded up to 16 floats: 64-byte alignment). */
static long packed_floats(const mnv2_folded *f, const mobilenetv2 *m) {
    const mnv2_unit *U = m->p.units;
    long total = (blk_stem_packed_floats(U[0].c_in, U[0].c_out, U[0].k) + 15) / 16 * 16;
    for (int i = 1; i < MNV2_UNITS; i++) {
        const mnv2_unit *u = &U[i];
        long n = u->groups > 1 ? blk_dw3x3_packed_floats(u->c_out) : pw_packed_floats(f, u->c_in, u->c_out);
        total += (n + 15) / 16 * 16;
    }
    return total;
}

/* BN of unit u folded into a copy of its weights: w [c_out * per_out], b [c_out] */
static void fold_unit(float *w, float *b, const mobilenetv2 *m, const mnv2_unit *u) {
    long per_out = (long)(u->c_in / u->groups) * u->k * u->k;
    memcpy(w, u->w, sizeof(float) * u->c_out * per_out);
    memset(b, 0, sizeof(float) * u->c_out);
    batchnorm_fold(w, b, u->c_out, per_out, u->gamma, u->beta, u->running_mean, u->running_var, m->bn_eps);
}

/* Pack unit i (folded through w, b scratch) at *dst; returns the packed pointer and advances *dst. */
static float *pack_unit(mnv2_folded *f, const mobilenetv2 *m, int i, float **dst, float *w, float *b, blk_pw *pw) {
    const mnv2_unit *u = &m->p.units[i];
    float *p = *dst;
    long n;
    fold_unit(w, b, m, u);
    if (i == 0) {
        blk_stem_pack(p, w, b, u->c_in, u->c_out, u->k);
        n = blk_stem_packed_floats(u->c_in, u->c_out, u->k);
    } else if (u->groups > 1) {
        blk_dw3x3_pack(p, w, b, u->c_out);
        n = blk_dw3x3_packed_floats(u->c_out);
    } else {
#if BLK_HAVE_BF16
        if (f->bf16)
            blk_pw_bf16_pack(pw, p, w, b, u->c_in, u->c_out);
        else
#endif
            blk_pw_pack(pw, p, w, b, u->c_in, u->c_out);
        n = pw_packed_floats(f, u->c_in, u->c_out);
    }
    *dst = p + (n + 15) / 16 * 16;
    return p;
}

int mobilenetv2_fold(mnv2_folded *f, const mobilenetv2 *m) {
    const char *bf16 = getenv("AVEMO_BF16");
    return mobilenetv2_fold_precision(f, m, bf16 && !strcmp(bf16, "1"));
}

int mobilenetv2_fold_precision(mnv2_folded *f, const mobilenetv2 *m, int bf16) {
    memset(f, 0, sizeof *f);
    const mnv2_unit *U = m->p.units;
    if (U[0].k != STEM_K || U[0].c_in > BLK_STEM_MAX_CIN)
        return avemo_error(AVEMO_EINTERNAL, "MobileNetV2: unexpected stem");
    f->bf16 = BLK_HAVE_BF16 && bf16;
    long most = 0, total = packed_floats(f, m);
    for (int i = 0; i < MNV2_UNITS; i++)
        if (unit_weights(&U[i]) + U[i].c_out > most) most = unit_weights(&U[i]) + U[i].c_out;
    f->mem = big_alloc(sizeof(float) * total); /* huge pages: fewer faults (core/bigmem.h) */
    f->workspaces = calloc(1, sizeof *f->workspaces);
    float *scratch = malloc(sizeof(float) * most);
    if (!f->mem || !f->workspaces || !scratch) {
        free(f->mem), free(f->workspaces), free(scratch);
        memset(f, 0, sizeof *f);
        return avemo_error(AVEMO_ENOMEM, "MobileNetV2: cannot allocate folded weights");
    }
    pthread_mutex_init(&f->workspaces->lock, NULL);
    f->in_channels = m->in_channels;
    f->padding = m->padding;
    for (int i = 0; i < MNV2_UNITS; i++) f->unit[i] = U[i];
    float *dst = f->mem;
    f->stem_w = pack_unit(f, m, 0, &dst, scratch, scratch + unit_weights(&U[0]), NULL);
    for (int b = 0; b < MNV2_BLOCKS; b++) {
        const mnv2_block *B = &m->p.blocks[b];
        int first = (int)(B->u[0] - U);
        f->block_first[b] = first;
        f->block_units[b] = B->n_units;
        f->block_residual[b] = B->residual;
        for (int k = 0; k < B->n_units; k++) {
            int i = first + k;
            float *w = scratch, *bias = scratch + unit_weights(&U[i]);
            if (U[i].groups > 1) f->dw_w[b] = pack_unit(f, m, i, &dst, w, bias, NULL);
            else pack_unit(f, m, i, &dst, w, bias, k == 0 ? &f->expand[b] : &f->project[b]);
        }
    }
    pack_unit(f, m, MNV2_UNITS - 1, &dst, scratch, scratch + unit_weights(&U[MNV2_UNITS - 1]), &f->head);
    free(scratch);
    return AVEMO_OK;
}

/* ---- the plan for one input size ---- */

typedef struct {
    int hi, wi, ho, wo;            /* the depthwise's input (= hidden) and output sizes */
    int stride, pad_top, pad_left;
    int c_in, hidden, c_out, residual;
    int tile_rows, ring_rows;      /* per image (blocks before group_from) */
} block_plan;

typedef struct {
    int h, w;                      /* the image */
    int stem_pad_top, stem_pad_left;
    block_plan b[MNV2_BLOCKS];
    int head_h, head_w;
    int group_from, group;         /* blocks from group_from on run on `group` images at once (see below) */
    long act, ring, tile, zero;    /* floats per thread: each per-image activation, ring, tile, the zero row */
    long gact, gbuf;               /* floats per thread: each group activation, the group's hidden / tile */
    long bf16;                     /* floats per thread: the bf16 1x1s' input scratch (0 in fp32) */
} infer_plan;

static int plan_block(block_plan *p, const mnv2_folded *f, int b, int h, int w) {
    const mnv2_unit *dw = &f->unit[f->block_first[b] + f->block_units[b] - 2];
    const mnv2_unit *proj = &f->unit[f->block_first[b] + f->block_units[b] - 1];
    conv2d_shape s;
    mnv2_unit_shape(&s, dw, f->padding, 1, h, w);
    p->hi = h, p->wi = w, p->ho = conv2d_out_h(&s), p->wo = conv2d_out_w(&s);
    if (p->ho < 1 || p->wo < 1) return avemo_error(AVEMO_EINVAL, "MobileNetV2: input too small");
    p->stride = dw->stride, p->pad_top = s.pad_top, p->pad_left = s.pad_left;
    p->c_in = f->unit[f->block_first[b]].c_in, p->hidden = dw->c_out, p->c_out = proj->c_out;
    p->residual = f->block_residual[b];
    long row = (long)blk_blocks(p->hidden) * p->wo * L * (long)sizeof(float);
    int r = (int)(DW_TILE_BYTES / row), min_r = (MIN_TILE_PIXELS + p->wo - 1) / p->wo;
    if (r < min_r) r = min_r;
    p->tile_rows = r < 1 ? 1 : r > p->ho ? p->ho : r;
    int ring = (p->tile_rows - 1) * p->stride + 3;
    p->ring_rows = ring > p->hi ? p->hi : ring;
    return AVEMO_OK;
}

static long max_l(long a, long b) { return a > b ? a : b; }

/* Grouping: from the first block whose input has at most GROUP_MAX_PIXELS pixels on, the weights (up to 1.8 MB
 * a block there, more than L2) would be streamed again for every image while each image has few pixels to
 * apply them to; so those blocks run on a group of images at once, unfused (whole hidden tensor of the
 * group, at most GROUP_BYTES), every 1x1 one GEMM over all the group's pixels. */
#define GROUP_MAX_PIXELS 16
#define GROUP_BYTES (512L << 10)

static void plan_groups(infer_plan *p, int n) {
    p->group_from = MNV2_BLOCKS;
    for (int b = 1; b < MNV2_BLOCKS; b++)
        if ((long)p->b[b].hi * p->b[b].wi <= GROUP_MAX_PIXELS) {
            p->group_from = b;
            break;
        }
    long hidden = 1; /* the largest hidden tensor of one image in the grouped blocks */
    for (int b = p->group_from; b < MNV2_BLOCKS; b++)
        hidden = max_l(hidden, (long)blk_blocks(p->b[b].hidden) * p->b[b].hi * p->b[b].wi * L);
    long g = p->group_from == MNV2_BLOCKS ? 1 : GROUP_BYTES / (long)sizeof(float) / hidden;
    p->group = (int)(g < 1 ? 1 : g > n ? n : g);
    /* the group's activations: the output of the last per-image block (gathered), then the grouped blocks' */
    for (int b = p->group_from - 1; b < MNV2_BLOCKS; b++) {
        const block_plan *B = &p->b[b];
        p->gact = max_l(p->gact, (long)blk_blocks(B->c_out) * B->ho * B->wo * L * p->group);
        if (b >= p->group_from)
            p->gbuf = max_l(p->gbuf, (long)blk_blocks(B->hidden) * B->hi * B->wi * L * p->group);
    }
}

static int make_plan(infer_plan *p, const mnv2_folded *f, int n, int h, int w) {
    memset(p, 0, sizeof *p);
    conv2d_shape s;
    mnv2_unit_shape(&s, &f->unit[0], f->padding, 1, h, w);
    p->h = h, p->w = w, p->stem_pad_top = s.pad_top, p->stem_pad_left = s.pad_left;
    int hh = conv2d_out_h(&s), ww = conv2d_out_w(&s), rc;
    if (hh < 1 || ww < 1) return avemo_error(AVEMO_EINVAL, "MobileNetV2: input %d x %d too small", h, w);
    for (int b = 0; b < MNV2_BLOCKS; b++) {
        block_plan *B = &p->b[b];
        if ((rc = plan_block(B, f, b, hh, ww))) return rc;
        p->act = max_l(p->act, (long)blk_blocks(B->c_out) * B->ho * B->wo * L);
        p->ring = max_l(p->ring, (long)blk_blocks(B->hidden) * B->ring_rows * B->wi * L);
        p->tile = max_l(p->tile, (long)blk_blocks(B->hidden) * B->tile_rows * B->wo * L);
        p->zero = max_l(p->zero, (long)B->wi * L);
        hh = B->ho, ww = B->wo;
    }
    p->head_h = hh, p->head_w = ww;
    plan_groups(p, n);
#if BLK_HAVE_BF16
    if (f->bf16) /* a 1x1 call covers at most one image's (or a group's) whole input of its block */
        for (int b = 0; b < MNV2_BLOCKS; b++) {
            long px = (long)p->b[b].hi * p->b[b].wi * (b >= p->group_from ? p->group : 1);
            if (f->expand[b].k) p->bf16 = max_l(p->bf16, blk_pw_bf16_scratch_floats(&f->expand[b], px));
            p->bf16 = max_l(p->bf16, blk_pw_bf16_scratch_floats(&f->project[b], px));
            if (b == MNV2_BLOCKS - 1)
                p->bf16 = max_l(p->bf16, blk_pw_bf16_scratch_floats(&f->head, (long)hh * ww * p->group));
        }
#endif
    return AVEMO_OK;
}

/* ---- workspaces ---- */

/* one thread's part of a workspace */
typedef struct {
    float *act[2], *ring, *tile, *gact[2], *gbuf[2], *pool, *bf16;
    const float *zero;
} thread_ws;

static long pool_floats(const infer_plan *p) { return (long)blk_blocks(MNV2_FEATURES) * L * p->group; }

static long thread_floats(const infer_plan *p) {
    return 2 * (p->act + p->gact + p->gbuf) + p->ring + p->tile + pool_floats(p) + p->bf16 + 64;
}

static void thread_ws_at(thread_ws *t, float *mem, const infer_plan *p, int thread, const float *zero) {
    float *q = mem + (long)thread * thread_floats(p);
    for (int k = 0; k < 2; k++) {
        t->act[k] = q, q += p->act;
        t->gact[k] = q, q += p->gact;
        t->gbuf[k] = q, q += p->gbuf;
    }
    t->ring = q, q += p->ring;
    t->tile = q, q += p->tile;
    t->bf16 = q, q += p->bf16;
    t->pool = q;
    t->zero = zero;
}

static void workspace_free(workspace *w) {
    if (w) free(w->mem);
    free(w);
}

/* A workspace of at least `floats` floats (zeroed when new), from the pool when one is free. */
static workspace *workspace_take(const mnv2_folded *f, long floats) {
    mnv2_workspaces *pool = f->workspaces;
    pthread_mutex_lock(&pool->lock);
    workspace *w = pool->free_list;
    if (w) pool->free_list = w->next;
    pthread_mutex_unlock(&pool->lock);
    if (w && w->floats >= floats) return w;
    workspace_free(w);
    w = calloc(1, sizeof *w);
    size_t bytes = (sizeof(float) * (size_t)floats + 63) / 64 * 64;
    if (!w || !(w->mem = big_alloc(bytes))) {
        free(w);
        return NULL;
    }
    memset(w->mem, 0, bytes);
    w->floats = floats;
    return w;
}

static void workspace_give(const mnv2_folded *f, workspace *w) {
    mnv2_workspaces *pool = f->workspaces;
    pthread_mutex_lock(&pool->lock);
    w->next = pool->free_list;
    pool->free_list = w;
    pthread_mutex_unlock(&pool->lock);
}

void mobilenetv2_folded_free(mnv2_folded *f) {
    if (!f) return;
    if (f->workspaces) {
        for (workspace *w = f->workspaces->free_list, *next; w; w = next) {
            next = w->next;
            workspace_free(w);
        }
        pthread_mutex_destroy(&f->workspaces->lock);
        free(f->workspaces);
    }
    free(f->mem);
    memset(f, 0, sizeof *f);
}

/* ---- one block over output rows [oy0, oy1) of one image ---- */

/* a 1x1 conv in the folded model's precision */
static void pointwise(const mnv2_folded *f, const blk_pw *pw, const blk_pw_args *a, const thread_ws *t) {
#if BLK_HAVE_BF16
    if (f->bf16) {
        blk_pointwise_bf16(pw, a, t->bf16);
        return;
    }
#endif
    (void)f, (void)t;
    blk_pointwise(pw, a);
}

/* The hidden rows [r0, r1) into the ring: the stem from the image (block 0), else the expand 1x1 from the block
 * input (plane stride in_ps), in runs that do not wrap around the ring. */
static void produce_hidden(const mnv2_folded *f, const infer_plan *p, int b, const float *image, const float *in,
                           long in_ps, const thread_ws *t, int r0, int r1) {
    const block_plan *B = &p->b[b];
    long row = (long)B->wi * L, ring_ps = (long)B->ring_rows * row;
    if (b == 0) {
        const mnv2_unit *u = &f->unit[0];
        for (int r = r0; r < r1; r++)
            blk_stem_row(t->ring + (r % B->ring_rows) * row, ring_ps, image, p->h, p->w, u->c_in, f->stem_w, u->c_out,
                         u->k, u->stride, p->stem_pad_top, p->stem_pad_left, r, B->wi, 1);
        return;
    }
    while (r0 < r1) {
        int slot = r0 % B->ring_rows, count = r1 - r0 < B->ring_rows - slot ? r1 - r0 : B->ring_rows - slot;
        blk_pw_args a = {in + r0 * row, in_ps, (long)count * B->wi, t->ring + slot * row, ring_ps, 1, NULL, 0,
                         NULL, 0, 0};
        pointwise(f, &f->expand[b], &a, t);
        r0 += count;
    }
}

/* Depthwise output row oy of one image: its hidden rows from `hidden` (row iy at hidden + iy * row_step, plane
 * stride hidden_ps; rows outside [0, hi) are the zero row), written at dst (plane stride dst_ps). */
static void dw_row(const mnv2_folded *f, const block_plan *B, int b, const float *hidden, long row_step,
                   long hidden_ps, int ring_rows, const thread_ws *t, int oy, float *dst, long dst_ps) {
    const float *rows[3];
    long rows_ps[3];
    for (int ky = 0; ky < 3; ky++) {
        int iy = oy * B->stride - B->pad_top + ky, inside = iy >= 0 && iy < B->hi;
        rows[ky] = inside ? hidden + (ring_rows ? iy % ring_rows : iy) * row_step : t->zero;
        rows_ps[ky] = inside ? hidden_ps : 0;
    }
    blk_dw3x3_row(dst, dst_ps, rows, rows_ps, f->dw_w[b], B->hidden, B->wi, B->wo, B->stride, B->pad_left, 1);
}

/* in: the block input (plane stride in_ps; the image for block 0); out: plane stride out_ps */
static void block_rows(const mnv2_folded *f, const infer_plan *p, int b, const float *image, const float *in,
                       long in_ps, float *out, long out_ps, const thread_ws *t, int oy0, int oy1) {
    const block_plan *B = &p->b[b];
    long row = (long)B->wi * L, ring_ps = (long)B->ring_rows * row, tile_ps = (long)B->tile_rows * B->wo * L;
    int have = 0; /* hidden rows below `have` were produced (the ring holds the last ring_rows of them) */
    for (int t0 = oy0; t0 < oy1; t0 += B->tile_rows) {
        int t1 = t0 + B->tile_rows < oy1 ? t0 + B->tile_rows : oy1;
        int need_lo = t0 * B->stride - B->pad_top, need_hi = (t1 - 1) * B->stride - B->pad_top + 3;
        if (need_lo < 0) need_lo = 0;
        if (need_hi > B->hi) need_hi = B->hi;
        int from = have > need_lo ? have : need_lo;
        if (from < need_hi) produce_hidden(f, p, b, image, in, in_ps, t, from, need_hi);
        if (need_hi > have) have = need_hi;
        for (int oy = t0; oy < t1; oy++)
            dw_row(f, B, b, t->ring, row, ring_ps, B->ring_rows, t, oy, t->tile + (long)(oy - t0) * B->wo * L, tile_ps);
        long at = (long)t0 * B->wo * L;
        blk_pw_args a = {t->tile, tile_ps, (long)(t1 - t0) * B->wo, out + at, out_ps, 0,
                         B->residual ? in + at : NULL, in_ps, NULL, 0, .skip_zeros = 1};
        pointwise(f, &f->project[b], &a, t);
    }
}

/* ---- one block over a group of g images, unfused: in, out [blocks][g][h][w][L] ---- */

static void block_group(const mnv2_folded *f, const infer_plan *p, int b, const float *in, float *out, int g,
                        const thread_ws *t) {
    const block_plan *B = &p->b[b];
    long in_px = (long)B->hi * B->wi, out_px = (long)B->ho * B->wo;
    long in_ps = g * in_px * L, hid_ps = g * in_px * L, dw_ps = g * out_px * L, out_ps = g * out_px * L;
    blk_pw_args e = {in, in_ps, g * in_px, t->gbuf[0], hid_ps, 1, NULL, 0, NULL, 0, 0};
    pointwise(f, &f->expand[b], &e, t);
    for (int i = 0; i < g; i++)
        for (int oy = 0; oy < B->ho; oy++)
            dw_row(f, B, b, t->gbuf[0] + i * in_px * L, (long)B->wi * L, hid_ps, 0, t, oy,
                   t->gbuf[1] + (i * out_px + (long)oy * B->wo) * L, dw_ps);
    blk_pw_args a = {t->gbuf[1], dw_ps, g * out_px, out, out_ps, 0, B->residual ? in : NULL, in_ps, NULL, 0,
                     .skip_zeros = 1};
    pointwise(f, &f->project[b], &a, t);
}

/* features.18 + ReLU6 over rows [oy0, oy1) of g images' last block output (plane stride for g images), each
 * image's sum into its row of t->pool */
static void head_rows(const mnv2_folded *f, const infer_plan *p, const float *in, int g, const thread_ws *t, int oy0,
                      int oy1) {
    long px = (long)p->head_h * p->head_w;
    memset(t->pool, 0, sizeof(float) * pool_floats(p));
    blk_pw_args a = {in + (long)oy0 * p->head_w * L, g * px * L, (long)g * (oy1 - oy0) * p->head_w, NULL, 0, 1,
                     NULL, 0, t->pool, (long)(oy1 - oy0) * p->head_w, 0};
    pointwise(f, &f->head, &a, t);
}

static void pool_to_features(const infer_plan *p, float *features, const float *const *pools, int n_pools, int g) {
    float scale = 1.0f / ((float)p->head_h * p->head_w);
    long stride = (long)blk_blocks(MNV2_FEATURES) * L;
    for (int i = 0; i < g; i++)
        for (int c = 0; c < MNV2_FEATURES; c++) {
            float s = 0;
            for (int k = 0; k < n_pools; k++) s += pools[k][i * stride + c];
            features[(long)i * MNV2_FEATURES + c] = s * scale;
        }
}

/* ---- a group of images in one thread, or one image split by rows ---- */

/* g images: blocks before group_from one image at a time (fused), the output of the last of them gathered into
 * the group tensor, then the grouped blocks and the head on the whole group */
static void infer_group(const mnv2_folded *f, const infer_plan *p, float *features, const float *x, int g,
                        const thread_ws *t) {
    long image_floats = (long)p->h * p->w * f->in_channels;
    int gf = p->group_from;
    for (int i = 0; i < g; i++) {
        const float *in = NULL;
        for (int b = 0; b < gf; b++) {
            const block_plan *B = &p->b[b];
            long in_ps = (long)B->hi * B->wi * L, px = (long)B->ho * B->wo;
            float *out = b == gf - 1 ? t->gact[0] + i * px * L : t->act[b % 2];
            block_rows(f, p, b, x + i * image_floats, in, in_ps, out, b == gf - 1 ? g * px * L : px * L, t, 0, B->ho);
            in = out;
        }
    }
    const float *in = t->gact[0];
    for (int b = gf; b < MNV2_BLOCKS; b++) {
        float *out = t->gact[(b - gf + 1) % 2];
        block_group(f, p, b, in, out, g, t);
        in = out;
    }
    head_rows(f, p, in, g, t, 0, p->head_h);
    pool_to_features(p, features, (const float *const *)&t->pool, 1, g);
}

/* One image by all nt threads of the enclosing parallel region (thread `me`), every block fused and split in
 * bands of rows, the activations in shared[0..1] (thread 0's), a barrier after each block. */
static void infer_image_split(const mnv2_folded *f, const infer_plan *p, float *features, const float *image,
                              const thread_ws *t, float *const shared[2], const thread_ws *all, int me, int nt) {
    const float *in = NULL;
    for (int b = 0; b < MNV2_BLOCKS; b++) {
        const block_plan *B = &p->b[b];
        block_rows(f, p, b, image, in, (long)B->hi * B->wi * L, shared[b % 2], (long)B->ho * B->wo * L, t,
                   (int)((long)B->ho * me / nt), (int)((long)B->ho * (me + 1) / nt));
        in = shared[b % 2];
#pragma omp barrier
    }
    head_rows(f, p, in, 1, t, (int)((long)p->head_h * me / nt), (int)((long)p->head_h * (me + 1) / nt));
#pragma omp barrier
#pragma omp single
    {
        const float *pools[64];
        for (int k = 0; k < nt; k++) pools[k] = all[k].pool;
        pool_to_features(p, features, pools, nt, 1);
    }
}

/* Groups: the first n - n % nt images in groups of at most p->group, their count a multiple of nt so that the
 * threads get equal work; the images left over split by rows. */
static void run_images(const mnv2_folded *f, const infer_plan *p, float *features, const float *x, int n,
                       float *mem, const float *zero, int nt) {
    long image_floats = (long)p->h * p->w * f->in_channels;
    int whole = n - n % nt, groups = (whole + p->group - 1) / p->group;
    groups = (groups + nt - 1) / nt * nt;
    thread_ws ws[64];
    for (int k = 0; k < nt; k++) thread_ws_at(&ws[k], mem, p, k, zero);
#pragma omp parallel num_threads(nt)
    {
        int me = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < groups; i++) {
            int i0 = (int)((long)whole * i / groups), i1 = (int)((long)whole * (i + 1) / groups);
            if (i1 > i0)
                infer_group(f, p, features + (long)i0 * MNV2_FEATURES, x + i0 * image_floats, i1 - i0, &ws[me]);
        }
        float *const shared[2] = {ws[0].act[0], ws[0].act[1]};
        for (int i = whole; i < n; i++) /* the implicit barrier of the loop above keeps ws[0] free */
            infer_image_split(f, p, features + (long)i * MNV2_FEATURES, x + i * image_floats, &ws[me], shared, ws, me,
                              nt);
    }
}

int mobilenetv2_infer(const mnv2_folded *f, float *features, const float *x, int n, int h, int w, int chunk) {
    (void)chunk;
    if (n < 1 || h < 1 || w < 1) return avemo_error(AVEMO_EINVAL, "MobileNetV2: bad input size");
    if (!f->mem) return avemo_error(AVEMO_EINVAL, "MobileNetV2: not folded");
    int nt = omp_in_parallel() ? 1 : nn_get_threads();
    if (nt > 64) nt = 64;
    infer_plan p;
    int rc = make_plan(&p, f, (n - n % nt) / nt > 0 ? (n - n % nt) / nt : 1, h, w);
    if (rc) return rc;
    workspace *ws = workspace_take(f, thread_floats(&p) * nt + p.zero);
    if (!ws) return avemo_error(AVEMO_ENOMEM, "MobileNetV2: cannot allocate inference workspaces");
    float *zero = ws->mem + thread_floats(&p) * nt; /* a zero row, read as the padding rows */
    memset(zero, 0, sizeof(float) * p.zero);
    run_images(f, &p, features, x, n, ws->mem, zero, nt);
    workspace_give(f, ws);
    return AVEMO_OK;
}
