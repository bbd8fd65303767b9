#include "vision/mtcnn.h"

#include "core/err.h"
#include "nn/nn.h"
#include "vision/imgops.h"
#include "vision/mtcnn_weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct mtcnn {
    mtcnn_weights weights;
};

/* A folder: the TFLite files it holds; anything else: a TF.js manifest. */
int mtcnn_load(const char *path, mtcnn **out) {
    *out = NULL;
    mtcnn *m = calloc(1, sizeof *m);
    if (!m) return avemo_error(AVEMO_ENOMEM, "MTCNN: out of memory");
    struct stat st;
    int err = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? mtcnn_weights_load_tflite(path, &m->weights)
                                                           : mtcnn_weights_load_tfjs(path, &m->weights);
    if (err) {
        free(m);
        return err;
    }
    *out = m;
    return AVEMO_OK;
}

void mtcnn_free(mtcnn *m) {
    if (!m) return;
    mtcnn_weights_free(&m->weights);
    free(m);
}

void mtcnn_default_config(mtcnn_config *cfg) {
    cfg->min_face_px = MTCNN_MIN_FACE_PX;
    cfg->scale_factor = MTCNN_SCALE_FACTOR;
    cfg->thresholds[0] = 0.6f;
    cfg->thresholds[1] = 0.7f;
    cfg->thresholds[2] = 0.7f;
    cfg->skip_below_px = 0.0f;
}

/* ---------------------------------------------------------------- layers */

/* A batch of NHWC activations. */
typedef struct {
    int n, h, w, c;
} dims;

/* valid conv, stride 1: x [d] -> y [n, h-k+1, w-k+1, c_out], then PReLU (alpha may be NULL) */
static int conv_prelu(float *y, const float *x, dims *d, const mtcnn_conv *p, const float *alpha) {
    conv2d_shape s = {.n = d->n, .h = d->h, .w = d->w, .c_in = d->c, .c_out = p->c_out, .kh = p->k, .kw = p->k,
                      .stride_h = 1, .stride_w = 1, .groups = 1};
    int err = conv2d_forward(y, x, p->weight, p->bias, &s);
    if (err) return err;
    d->h = conv2d_out_h(&s);
    d->w = conv2d_out_w(&s);
    d->c = p->c_out;
    if (alpha) prelu_forward(y, y, alpha, (long)d->n * d->h * d->w, d->c);
    return AVEMO_OK;
}

/* TF max pooling: SAME (output ceil(n / s), padding split with the extra cell at the bottom/right, padded
 * cells never win) or VALID. */
static void pool(float *y, const float *x, dims *d, int k, int s, int same) {
    pool2d_shape ps = {.n = d->n, .h = d->h, .w = d->w, .c = d->c, .kh = k, .kw = k, .stride_h = s,
                       .stride_w = s};
    if (same) {
        int oh = (d->h + s - 1) / s, ow = (d->w + s - 1) / s;
        int ph = (oh - 1) * s + k - d->h, pw = (ow - 1) * s + k - d->w;
        if (ph < 0) ph = 0;
        if (pw < 0) pw = 0;
        ps.pad_top = ph / 2;
        ps.pad_bottom = ph - ph / 2;
        ps.pad_left = pw / 2;
        ps.pad_right = pw - pw / 2;
    }
    maxpool2d_forward(y, NULL, x, &ps);
    d->h = pool2d_out_h(&ps);
    d->w = pool2d_out_w(&ps);
}

int mtcnn_pnet_out(int size) { return (size - 2 + 1) / 2 - 4; }

int mtcnn_pnet_forward(const mtcnn *m, float *prob, float *reg, const float *x, int h, int w) {
    if (h < 12 || w < 12) return avemo_error(AVEMO_EINVAL, "P-Net input %dx%d is smaller than 12x12", h, w);
    size_t cap = (size_t)h * w * 16; /* the largest activation: conv1's [h-2, w-2, 10] or conv2's 16 channels */
    float *a = malloc(sizeof(float) * cap), *b = malloc(sizeof(float) * cap);
    int err = AVEMO_OK;
    if (!a || !b) {
        err = avemo_error(AVEMO_ENOMEM, "P-Net: out of memory for a %dx%d input", h, w);
        goto done;
    }
    const mtcnn_pnet *net = &m->weights.pnet;
    dims d = {1, h, w, 3};
    if ((err = conv_prelu(a, x, &d, &net->conv1, net->prelu1))) goto done;
    pool(b, a, &d, 2, 2, 1);
    if ((err = conv_prelu(a, b, &d, &net->conv2, net->prelu2))) goto done;
    if ((err = conv_prelu(b, a, &d, &net->conv3, net->prelu3))) goto done;
    dims d1 = d, d2 = d;
    if ((err = conv_prelu(a, b, &d1, &net->conv4_1, NULL))) goto done;
    if ((err = conv_prelu(reg, b, &d2, &net->conv4_2, NULL))) goto done;
    long cells = (long)d1.h * d1.w;
    softmax_forward(a, a, cells, 2);
    for (long i = 0; i < cells; i++) prob[i] = a[2 * i + 1];
done:
    free(a);
    free(b);
    return err;
}

/* shared R-Net/O-Net head: fc -> PReLU -> [fc2_1 softmax -> prob, fc2_2 -> reg, fc2_3 -> landmarks] */
static int head(float *prob, float *reg, float *lm, const float *feat, int n, const mtcnn_fc *fc1,
                const float *alpha, const mtcnn_fc *f21, const mtcnn_fc *f22, const mtcnn_fc *f23) {
    float *h = malloc(sizeof(float) * (size_t)n * fc1->out), *logits = malloc(sizeof(float) * (size_t)n * 2);
    int err = AVEMO_OK;
    if (!h || !logits) {
        err = avemo_error(AVEMO_ENOMEM, "MTCNN: out of memory");
        goto done;
    }
    if ((err = linear_forward(h, feat, fc1->weight, fc1->bias, n, fc1->in, fc1->out))) goto done;
    prelu_forward(h, h, alpha, n, fc1->out);
    if ((err = linear_forward(logits, h, f21->weight, f21->bias, n, f21->in, 2))) goto done;
    softmax_forward(logits, logits, n, 2);
    for (int i = 0; i < n; i++) prob[i] = logits[2 * i + 1];
    if ((err = linear_forward(reg, h, f22->weight, f22->bias, n, f22->in, 4))) goto done;
    if (f23 && (err = linear_forward(lm, h, f23->weight, f23->bias, n, f23->in, 10))) goto done;
done:
    free(h);
    free(logits);
    return err;
}

int mtcnn_rnet_forward(const mtcnn *m, float *prob, float *reg, const float *x, int n) {
    if (n <= 0) return AVEMO_OK;
    size_t cap = (size_t)n * 22 * 22 * 28;
    float *a = malloc(sizeof(float) * cap), *b = malloc(sizeof(float) * cap);
    int err = AVEMO_OK;
    if (!a || !b) {
        err = avemo_error(AVEMO_ENOMEM, "R-Net: out of memory for %d patches", n);
        goto done;
    }
    const mtcnn_rnet *net = &m->weights.rnet;
    dims d = {n, 24, 24, 3};
    if ((err = conv_prelu(a, x, &d, &net->conv1, net->prelu1))) goto done; /* 22x22x28 */
    pool(b, a, &d, 3, 2, 1);                                               /* 11x11 */
    if ((err = conv_prelu(a, b, &d, &net->conv2, net->prelu2))) goto done; /* 9x9x48 */
    pool(b, a, &d, 3, 2, 0);                                               /* 4x4 */
    if ((err = conv_prelu(a, b, &d, &net->conv3, net->prelu3))) goto done; /* 3x3x64 = 576 */
    err = head(prob, reg, NULL, a, n, &net->fc1, net->prelu4, &net->fc2_1, &net->fc2_2, NULL);
done:
    free(a);
    free(b);
    return err;
}

int mtcnn_onet_forward(const mtcnn *m, float *prob, float *reg, float *landmarks, const float *x, int n) {
    if (n <= 0) return AVEMO_OK;
    size_t cap = (size_t)n * 46 * 46 * 32;
    float *a = malloc(sizeof(float) * cap), *b = malloc(sizeof(float) * cap);
    int err = AVEMO_OK;
    if (!a || !b) {
        err = avemo_error(AVEMO_ENOMEM, "O-Net: out of memory for %d patches", n);
        goto done;
    }
    const mtcnn_onet *net = &m->weights.onet;
    dims d = {n, 48, 48, 3};
    if ((err = conv_prelu(a, x, &d, &net->conv1, net->prelu1))) goto done; /* 46x46x32 */
    pool(b, a, &d, 3, 2, 1);                                               /* 23x23 */
    if ((err = conv_prelu(a, b, &d, &net->conv2, net->prelu2))) goto done; /* 21x21x64 */
    pool(b, a, &d, 3, 2, 0);                                               /* 10x10 */
    if ((err = conv_prelu(a, b, &d, &net->conv3, net->prelu3))) goto done; /* 8x8x64 */
    pool(b, a, &d, 2, 2, 1);                                               /* 4x4 */
    if ((err = conv_prelu(a, b, &d, &net->conv4, net->prelu4))) goto done; /* 3x3x128 = 1152 */
    err = head(prob, reg, landmarks, a, n, &net->fc1, net->prelu5, &net->fc2_1, &net->fc2_2, &net->fc2_3);
done:
    free(a);
    free(b);
    return err;
}

/* ---------------------------------------------------------------- the cascade */

typedef struct {
    double x1, y1, x2, y2, score;
    double reg[4];
    double pts[10];
} cand;

typedef struct {
    cand *items;
    int n, cap;
} cand_list;

static int push(cand_list *l, const cand *c) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        cand *items = realloc(l->items, sizeof(cand) * cap);
        if (!items) return avemo_error(AVEMO_ENOMEM, "MTCNN: out of memory");
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = *c;
    return AVEMO_OK;
}

typedef struct {
    double score;
    int index;
} scored;

static int by_score(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return x->index < y->index ? 1 : x->index > y->index ? -1 : 0; /* ties: the earlier candidate first */
}

/* Greedy NMS as facenet's nms(): areas with +1 (inclusive corners); use_min: overlap / min(area) else IoU.
 * Keeps the survivors in pick order (descending score). */
static int nms(cand_list *l, double thresh, int use_min) {
    int n = l->n;
    if (n <= 1) return AVEMO_OK;
    scored *order = malloc(sizeof(scored) * n);
    int *alive = malloc(sizeof(int) * n);
    cand *out = malloc(sizeof(cand) * n);
    if (!order || !alive || !out) {
        free(order);
        free(alive);
        free(out);
        return avemo_error(AVEMO_ENOMEM, "MTCNN: out of memory");
    }
    for (int i = 0; i < n; i++) order[i] = (scored){l->items[i].score, i}, alive[i] = 1;
    qsort(order, n, sizeof(scored), by_score);
    int kept = 0;
    for (int a = n - 1; a >= 0; a--) {
        int i = order[a].index;
        if (!alive[i]) continue;
        const cand *ci = &l->items[i];
        out[kept++] = *ci;
        double area_i = (ci->x2 - ci->x1 + 1) * (ci->y2 - ci->y1 + 1);
        for (int b = a - 1; b >= 0; b--) {
            int j = order[b].index;
            if (!alive[j]) continue;
            const cand *cj = &l->items[j];
            double xx1 = fmax(ci->x1, cj->x1), yy1 = fmax(ci->y1, cj->y1);
            double xx2 = fmin(ci->x2, cj->x2), yy2 = fmin(ci->y2, cj->y2);
            double iw = fmax(0.0, xx2 - xx1 + 1), ih = fmax(0.0, yy2 - yy1 + 1), inter = iw * ih;
            double area_j = (cj->x2 - cj->x1 + 1) * (cj->y2 - cj->y1 + 1);
            double o = use_min ? inter / fmin(area_i, area_j) : inter / (area_i + area_j - inter);
            if (o > thresh) alive[j] = 0;
        }
    }
    memcpy(l->items, out, sizeof(cand) * kept);
    l->n = kept;
    free(order);
    free(alive);
    free(out);
    return AVEMO_OK;
}

/* bbreg: corners moved by reg * size; size = x2 - x1 (+1 when inclusive) */
static void regress(cand *c, int plus_one) {
    double w = c->x2 - c->x1 + plus_one, h = c->y2 - c->y1 + plus_one;
    c->x1 += c->reg[0] * w;
    c->y1 += c->reg[1] * h;
    c->x2 += c->reg[2] * w;
    c->y2 += c->reg[3] * h;
}

/* rerec: square around the centre with side max(w, h) */
static void square(cand *c) {
    double w = c->x2 - c->x1, h = c->y2 - c->y1, l = fmax(w, h);
    c->x1 = c->x1 + w * 0.5 - l * 0.5;
    c->y1 = c->y1 + h * 0.5 - l * 0.5;
    c->x2 = c->x1 + l;
    c->y2 = c->y1 + l;
}

static void fix_box(cand *c) {
    c->x1 = trunc(c->x1);
    c->y1 = trunc(c->y1);
    c->x2 = trunc(c->x2);
    c->y2 = trunc(c->y2);
}

/* Patches [n, size, size, 3] in network layout for the candidates' boxes (inclusive 1-based corners as the
 * original: pixels x1-1 .. x2-1), zero outside the image. */
static int patches(float *x, const cand_list *l, int first, int n, int size, const uint8_t *rgb, int h, int w) {
    float *tmp = malloc(sizeof(float) * size * size * 3);
    if (!tmp) return avemo_error(AVEMO_ENOMEM, "MTCNN: out of memory");
    for (int i = 0; i < n; i++) {
        const cand *c = &l->items[first + i];
        int bw = (int)(c->x2 - c->x1 + 1), bh = (int)(c->y2 - c->y1 + 1);
        float *dst = x + (size_t)i * size * size * 3;
        if (bw <= 0 || bh <= 0 || bw > 8 * (w + h) || bh > 8 * (w + h)) {
            memset(dst, 0, sizeof(float) * size * size * 3); /* degenerate box: scores as background */
            continue;
        }
        int err = crop_resize_f32(tmp, size, size, rgb, h, w, 3, (int)c->x1 - 1, (int)c->y1 - 1, bw, bh);
        if (err) {
            free(tmp);
            return err;
        }
        mtcnn_normalize_transpose_f32(dst, tmp, size, size);
    }
    free(tmp);
    return AVEMO_OK;
}

#define MTCNN_BATCH 128

static int stage1(const mtcnn *m, const uint8_t *rgb, int h, int w, const mtcnn_config *cfg, cand_list *all) {
    double mscale = 12.0 / cfg->min_face_px;
    double minl = fmin(h, w) * mscale;
    int err = AVEMO_OK;
    cand_list lvl = {0};
    float *img = NULL, *net = NULL, *prob = NULL, *reg = NULL;
    for (int k = 0; minl >= 12; k++, minl *= cfg->scale_factor) {
        double scale = mscale * pow(cfg->scale_factor, k);
        if (cfg->skip_below_px > 0 && 12.0 / scale < cfg->skip_below_px) continue; /* level finds faces of 12 / scale px */
        int hs = (int)ceil(h * scale), ws = (int)ceil(w * scale);
        if (hs < 12 || ws < 12) break;
        int oh = mtcnn_pnet_out(ws), ow = mtcnn_pnet_out(hs); /* net layout is transposed: [ws, hs] */
        free(img);
        free(net);
        free(prob);
        free(reg);
        img = malloc(sizeof(float) * (size_t)hs * ws * 3);
        net = malloc(sizeof(float) * (size_t)hs * ws * 3);
        prob = malloc(sizeof(float) * (size_t)oh * ow);
        reg = malloc(sizeof(float) * (size_t)oh * ow * 4);
        if (!img || !net || !prob || !reg) {
            err = avemo_error(AVEMO_ENOMEM, "MTCNN: out of memory for a %dx%d pyramid level", ws, hs);
            goto done;
        }
        if ((err = crop_resize_f32(img, hs, ws, rgb, h, w, 3, 0, 0, w, h))) goto done;
        mtcnn_normalize_transpose_f32(net, img, hs, ws);
        if ((err = mtcnn_pnet_forward(m, prob, reg, net, ws, hs))) goto done;
        lvl.n = 0;
        for (int a = 0; a < oh; a++)     /* a: image x */
            for (int b = 0; b < ow; b++) { /* b: image y */
                float p = prob[(long)a * ow + b];
                if (p < cfg->thresholds[0]) continue;
                const float *r = reg + ((long)a * ow + b) * 4;
                cand c = {.x1 = trunc((2.0 * a + 1) / scale), .y1 = trunc((2.0 * b + 1) / scale),
                          .x2 = trunc((2.0 * a + 12) / scale), .y2 = trunc((2.0 * b + 12) / scale), .score = p,
                          .reg = {r[0], r[1], r[2], r[3]}};
                if ((err = push(&lvl, &c))) goto done;
            }
        if ((err = nms(&lvl, 0.5, 0))) goto done;
        for (int i = 0; i < lvl.n; i++)
            if ((err = push(all, &lvl.items[i]))) goto done;
    }
    if ((err = nms(all, 0.7, 0))) goto done;
    for (int i = 0; i < all->n; i++) {
        regress(&all->items[i], 0);
        square(&all->items[i]);
        fix_box(&all->items[i]);
    }
done:
    free(lvl.items);
    free(img);
    free(net);
    free(prob);
    free(reg);
    return err;
}

/* R-Net (size 24) or O-Net (size 48) over the candidates, in batches; keeps those above the threshold,
 * storing score, regression and (O-Net) landmarks. */
static int refine(const mtcnn *m, cand_list *l, int onet, float thresh, const uint8_t *rgb, int h, int w) {
    int size = onet ? 48 : 24;
    float *x = malloc(sizeof(float) * MTCNN_BATCH * size * size * 3);
    float *prob = malloc(sizeof(float) * MTCNN_BATCH), *reg = malloc(sizeof(float) * MTCNN_BATCH * 4);
    float *lm = malloc(sizeof(float) * MTCNN_BATCH * 10);
    int err = AVEMO_OK, kept = 0;
    if (!x || !prob || !reg || !lm) {
        err = avemo_error(AVEMO_ENOMEM, "MTCNN: out of memory");
        goto done;
    }
    for (int first = 0; first < l->n; first += MTCNN_BATCH) {
        int n = l->n - first < MTCNN_BATCH ? l->n - first : MTCNN_BATCH;
        if ((err = patches(x, l, first, n, size, rgb, h, w))) goto done;
        err = onet ? mtcnn_onet_forward(m, prob, reg, lm, x, n) : mtcnn_rnet_forward(m, prob, reg, x, n);
        if (err) goto done;
        for (int i = 0; i < n; i++) {
            if (!(prob[i] > thresh)) continue;
            cand c = l->items[first + i];
            c.score = prob[i];
            for (int k = 0; k < 4; k++) c.reg[k] = reg[4 * i + k];
            if (onet)
                for (int k = 0; k < 10; k++) c.pts[k] = lm[10 * i + k];
            l->items[kept++] = c; /* kept <= first + i: in-place compaction is safe */
        }
    }
    l->n = kept;
done:
    free(x);
    free(prob);
    free(reg);
    free(lm);
    return err;
}

int mtcnn_detect(const mtcnn *m, const uint8_t *rgb, int h, int w, const mtcnn_config *cfg_in,
                 mtcnn_face **faces, int *n_faces) {
    *faces = NULL;
    *n_faces = 0;
    mtcnn_config cfg;
    if (cfg_in) cfg = *cfg_in;
    else mtcnn_default_config(&cfg);
    if (h <= 0 || w <= 0) return avemo_error(AVEMO_EINVAL, "MTCNN: empty image");
    if (!(cfg.min_face_px >= 12) || !(cfg.scale_factor > 0.1f && cfg.scale_factor < 0.99f))
        return avemo_error(AVEMO_EINVAL, "MTCNN: min face must be >= 12 px and the scale factor in (0.1, 0.99)");
    cand_list l = {0};
    int err = stage1(m, rgb, h, w, &cfg, &l);
    if (err || l.n == 0) goto done;
    /* stage 2: R-Net */
    if ((err = refine(m, &l, 0, cfg.thresholds[1], rgb, h, w))) goto done;
    if ((err = nms(&l, 0.7, 0))) goto done;
    for (int i = 0; i < l.n; i++) {
        regress(&l.items[i], 1);
        square(&l.items[i]);
        fix_box(&l.items[i]);
    }
    if (l.n == 0) goto done;
    /* stage 3: O-Net, landmarks relative to the (pre-regression) box */
    if ((err = refine(m, &l, 1, cfg.thresholds[2], rgb, h, w))) goto done;
    for (int i = 0; i < l.n; i++) {
        cand *c = &l.items[i];
        double bw = c->x2 - c->x1 + 1, bh = c->y2 - c->y1 + 1;
        for (int k = 0; k < 5; k++) {
            c->pts[k] = bw * c->pts[k] + c->x1 - 1;
            c->pts[5 + k] = bh * c->pts[5 + k] + c->y1 - 1;
        }
        regress(c, 1);
    }
    if ((err = nms(&l, 0.7, 1))) goto done;
    if (l.n == 0) goto done;
    *faces = malloc(sizeof(mtcnn_face) * l.n);
    if (!*faces) {
        err = avemo_error(AVEMO_ENOMEM, "MTCNN: out of memory");
        goto done;
    }
    for (int i = 0; i < l.n; i++) { /* nms leaves them in descending score order */
        const cand *c = &l.items[i];
        mtcnn_face *f = &(*faces)[i];
        f->x0 = (float)c->x1;
        f->y0 = (float)c->y1;
        f->x1 = (float)c->x2;
        f->y1 = (float)c->y2;
        f->score = (float)c->score;
        for (int k = 0; k < 5; k++) {
            f->lm_x[k] = (float)c->pts[k];
            f->lm_y[k] = (float)c->pts[5 + k];
        }
    }
    *n_faces = l.n;
done:
    free(l.items);
    return err;
}
