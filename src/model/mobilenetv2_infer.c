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
 * DW_TILE_BYTES (and a project GEMM has at least MIN_TILE_PIXELS rows).
 *
 * Threads: each thread takes whole images (dynamic schedule), running all blocks of its image in its own
 * workspace; when fewer images than threads are left, those images are split by output rows instead (each
 * thread runs its band of every block with its own ring, halo rows recomputed; a barrier between blocks).
 * Workspaces (activations, ring, tile, pool, one per thread) are kept in a pool on the folded model and
 * reused by later calls, so steady-state calls neither allocate nor touch fresh pages.
 */
#include "model/mobilenetv2.h"

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

/* Floats of every packed tensor of the folded model (each rounded up to 16 floats: 64-byte alignment). */
static long packed_floats(const mobilenetv2 *m) {
    const mnv2_unit *U = m->p.units;
    long total = (blk_stem_packed_floats(U[0].c_in, U[0].c_out, U[0].k) + 15) / 16 * 16;
    for (int i = 1; i < MNV2_UNITS; i++) {
        const mnv2_unit *u = &U[i];
        long n = u->groups > 1 ? blk_dw3x3_packed_floats(u->c_out) : blk_pw_packed_floats(u->c_in, u->c_out);
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
        blk_pw_pack(pw, p, w, b, u->c_in, u->c_out);
        n = blk_pw_packed_floats(u->c_in, u->c_out);
    }
    *dst = p + (n + 15) / 16 * 16;
    (void)f;
    return p;
}

int mobilenetv2_fold(mnv2_folded *f, const mobilenetv2 *m) {
    memset(f, 0, sizeof *f);
    const mnv2_unit *U = m->p.units;
    if (U[0].k != STEM_K || U[0].c_in > BLK_STEM_MAX_CIN || blk_blocks(U[0].c_out) > 4)
        return avemo_error(AVEMO_EINTERNAL, "MobileNetV2: unexpected stem");
    long most = 0, total = packed_floats(m);
    for (int i = 0; i < MNV2_UNITS; i++)
        if (unit_weights(&U[i]) + U[i].c_out > most) most = unit_weights(&U[i]) + U[i].c_out;
    f->mem = aligned_alloc(64, sizeof(float) * total);
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
    int tile_rows, ring_rows;
} block_plan;

typedef struct {
    int h, w;                      /* the image */
    int stem_pad_top, stem_pad_left;
    block_plan b[MNV2_BLOCKS];
    int head_h, head_w;
    long act, ring, tile, zero;    /* floats per thread workspace: each activation, ring, tile, zero row */
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

static int make_plan(infer_plan *p, const mnv2_folded *f, int h, int w) {
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
    return AVEMO_OK;
}

/* ---- workspaces ---- */


/* one thread's part of a workspace */
typedef struct {
    float *act[2], *ring, *tile, *pool;
    const float *zero;
} thread_ws;

static long pool_floats(void) { return (long)blk_blocks(MNV2_FEATURES) * L; }

static long thread_floats(const infer_plan *p) { return 2 * p->act + p->ring + p->tile + pool_floats() + 64; }

static void thread_ws_at(thread_ws *t, float *mem, const infer_plan *p, int thread, const float *zero) {
    float *q = mem + (long)thread * thread_floats(p);
    t->act[0] = q, q += p->act;
    t->act[1] = q, q += p->act;
    t->ring = q, q += p->ring;
    t->tile = q, q += p->tile;
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
    if (!w || !(w->mem = aligned_alloc(64, bytes))) {
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

/* ---- one block over output rows [oy0, oy1) ---- */

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
        blk_pointwise(&f->expand[b], t->ring + slot * row, ring_ps, in + r0 * row, in_ps, (long)count * B->wi, 1, NULL,
                      0, NULL);
        r0 += count;
    }
}

static void block_rows(const mnv2_folded *f, const infer_plan *p, int b, const float *image, const float *in,
                       float *out, const thread_ws *t, int oy0, int oy1) {
    const block_plan *B = &p->b[b];
    long in_ps = (long)B->hi * B->wi * L, out_ps = (long)B->ho * B->wo * L;
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
        for (int oy = t0; oy < t1; oy++) {
            const float *rows[3];
            long rows_ps[3];
            for (int ky = 0; ky < 3; ky++) {
                int iy = oy * B->stride - B->pad_top + ky;
                int inside = iy >= 0 && iy < B->hi;
                rows[ky] = inside ? t->ring + (iy % B->ring_rows) * row : t->zero;
                rows_ps[ky] = inside ? ring_ps : 0;
            }
            blk_dw3x3_row(t->tile + (long)(oy - t0) * B->wo * L, tile_ps, rows, rows_ps, f->dw_w[b], B->hidden, B->wi,
                          B->wo, B->stride, B->pad_left, 1);
        }
        long at = (long)t0 * B->wo * L;
        blk_pointwise(&f->project[b], out + at, out_ps, t->tile, tile_ps, (long)(t1 - t0) * B->wo, 0,
                      B->residual ? in + at : NULL, in_ps, NULL);
    }
}

/* features.18 + ReLU6 over output rows [oy0, oy1) of the last block's output, summed into t->pool */
static void head_rows(const mnv2_folded *f, const infer_plan *p, const float *in, const thread_ws *t, int oy0,
                      int oy1) {
    long in_ps = (long)p->head_h * p->head_w * L;
    memset(t->pool, 0, sizeof(float) * pool_floats());
    blk_pointwise(&f->head, NULL, 0, in + (long)oy0 * p->head_w * L, in_ps, (long)(oy1 - oy0) * p->head_w, 1, NULL, 0,
                  t->pool);
}

/* ---- whole images, or one image split by rows ---- */

static void infer_image(const mnv2_folded *f, const infer_plan *p, float *features, const float *image,
                        const thread_ws *t) {
    const float *in = NULL;
    for (int b = 0; b < MNV2_BLOCKS; b++) {
        float *out = t->act[b % 2];
        block_rows(f, p, b, image, in, out, t, 0, p->b[b].ho);
        in = out;
    }
    head_rows(f, p, in, t, 0, p->head_h);
    float scale = 1.0f / ((float)p->head_h * p->head_w);
    for (int c = 0; c < MNV2_FEATURES; c++) features[c] = t->pool[c] * scale;
}

/* One image by all nt threads of the enclosing parallel region (thread `me`): bands of rows in every block,
 * the activations in shared[0..1] (thread 0's), a barrier after each block. */
static void infer_image_split(const mnv2_folded *f, const infer_plan *p, float *features, const float *image,
                              const thread_ws *t, float *const shared[2], const thread_ws *all, int me, int nt) {
    const float *in = NULL;
    for (int b = 0; b < MNV2_BLOCKS; b++) {
        int ho = p->b[b].ho;
        block_rows(f, p, b, image, in, shared[b % 2], t, (int)((long)ho * me / nt), (int)((long)ho * (me + 1) / nt));
        in = shared[b % 2];
#pragma omp barrier
    }
    head_rows(f, p, in, t, (int)((long)p->head_h * me / nt), (int)((long)p->head_h * (me + 1) / nt));
#pragma omp barrier
#pragma omp single
    {
        float scale = 1.0f / ((float)p->head_h * p->head_w);
        for (int c = 0; c < MNV2_FEATURES; c++) {
            float s = 0;
            for (int k = 0; k < nt; k++) s += all[k].pool[c];
            features[c] = s * scale;
        }
    }
}

static void run_images(const mnv2_folded *f, const infer_plan *p, float *features, const float *x, int n,
                       float *mem, const float *zero, int nt) {
    long image_floats = (long)p->h * p->w * f->in_channels;
    int whole = n - n % nt; /* images taken whole by one thread each; the rest split by rows */
    thread_ws ws[64];
    for (int k = 0; k < nt; k++) thread_ws_at(&ws[k], mem, p, k, zero);
#pragma omp parallel num_threads(nt)
    {
        int me = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < whole; i++)
            infer_image(f, p, features + (long)i * MNV2_FEATURES, x + i * image_floats, &ws[me]);
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
    infer_plan p;
    int rc = make_plan(&p, f, h, w);
    if (rc) return rc;
    int nt = omp_in_parallel() ? 1 : nn_get_threads();
    if (nt > 64) nt = 64;
    workspace *ws = workspace_take(f, thread_floats(&p) * nt + p.zero);
    if (!ws) return avemo_error(AVEMO_ENOMEM, "MobileNetV2: cannot allocate inference workspaces");
    float *zero = ws->mem + thread_floats(&p) * nt; /* a zero row, read as the padding rows */
    memset(zero, 0, sizeof(float) * p.zero);
    run_images(f, &p, features, x, n, ws->mem, zero, nt);
    workspace_give(f, ws);
    return AVEMO_OK;
}
