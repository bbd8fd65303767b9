#include "model/blocks.h"

#include <math.h>
#include <string.h>


/* "a.b" into buf[LAYOUT_NAME_MAX], truncated: a sub-tensor's name */
static const char *dotted(char *buf, const char *a, const char *b) {
    size_t n = 0;
    for (const char *s = a; *s && n + 1 < LAYOUT_NAME_MAX; s++) buf[n++] = *s;
    if (n + 1 < LAYOUT_NAME_MAX) buf[n++] = '.';
    for (const char *s = b; *s && n + 1 < LAYOUT_NAME_MAX; s++) buf[n++] = *s;
    buf[n] = 0;
    return buf;
}

/* ------------------------------------------------------------------ conv + BN */

void conv_bn_declare(layout *L, conv_bn_p *p, const char *name, int ci, int co, int k) {
    char full[LAYOUT_NAME_MAX];
    LAYOUT_ADD(L, &p->w, LT_WEIGHT, 1.0f / sqrtf((float)(ci * k)), dotted(full, name, "conv.weight"), co, ci, k);
    LAYOUT_ADD(L, &p->gamma, LT_ONES, 0, dotted(full, name, "bn.weight"), co);
    LAYOUT_ADD(L, &p->beta, LT_ZEROS, 0, dotted(full, name, "bn.bias"), co);
    LAYOUT_ADD(L, &p->running_mean, LT_BUF_ZEROS, 0, dotted(full, name, "bn.running_mean"), co);
    LAYOUT_ADD(L, &p->running_var, LT_BUF_ONES, 0, dotted(full, name, "bn.running_var"), co);
}

void conv_bn_declare_acts(layout *L, conv_bn_a *a, int B, const conv_bn_dims *d) {
    int to = conv_bn_out_t(d);
    LAYOUT_ADD(L, &a->c, LT_ACT, 0, "conv", B, to, d->co);
    LAYOUT_ADD(L, &a->y, LT_ACT, 0, "bn", B, to, d->co);
    LAYOUT_ADD(L, &a->mean, LT_STAT, 0, "bn.mean", d->co);
    LAYOUT_ADD(L, &a->rstd, LT_STAT, 0, "bn.rstd", d->co);
}

static conv1d_shape conv_shape(int B, const conv_bn_dims *d) {
    conv1d_shape s = {.b = B, .t = d->t, .c_in = d->ci, .c_out = d->co, .k = d->k, .stride = 1,
                      .pad_left = d->pad, .pad_right = d->pad, .groups = 1};
    return s;
}

int conv_bn_forward(const conv_bn_p *p, const conv_bn_a *a, const float *x, int B, const conv_bn_dims *d, int train) {
    conv1d_shape s = conv_shape(B, d);
    long m = (long)B * conv_bn_out_t(d);
    int st = conv1d_forward(a->c, x, p->w, NULL, &s);
    if (st) return st;
    if (train)
        batchnorm_forward_train(a->y, a->mean, a->rstd, p->running_mean, p->running_var, a->c, p->gamma, p->beta,
                                m, d->co, BN_MOMENTUM, BN_EPS);
    else
        batchnorm_forward_eval(a->y, a->c, p->gamma, p->beta, p->running_mean, p->running_var, m, d->co, BN_EPS);
    return 0;
}

int conv_bn_backward(const conv_bn_p *p, const conv_bn_p *g, const conv_bn_a *a, const conv_bn_a *da, const float *dy,
                     const float *x, float *dx, int B, const conv_bn_dims *d) {
    conv1d_shape s = conv_shape(B, d);
    long m = (long)B * conv_bn_out_t(d);
    batchnorm_backward(da->c, g->gamma, g->beta, dy, a->c, a->mean, a->rstd, p->gamma, m, d->co);
    return conv1d_backward(dx, g->w, NULL, da->c, x, p->w, &s);
}

/* ------------------------------------------------------------------ residual block (Table I) */

static void resblock_conv_dims(const resblock_dims *d, conv_bn_dims *c1, conv_bn_dims *c2, conv_bn_dims *sc) {
    *c1 = (conv_bn_dims){d->t, d->ci, d->co, 3, 1};
    *c2 = (conv_bn_dims){d->t, d->co, d->co, 3, 1};
    *sc = (conv_bn_dims){d->t, d->ci, d->co, 1, 0};
}

void resblock_declare(layout *L, resblock_p *p, const char *name, int ci, int co) {
    char full[LAYOUT_NAME_MAX];
    conv_bn_declare(L, &p->conv1, dotted(full, name, "conv1"), ci, co, 3);
    conv_bn_declare(L, &p->conv2, dotted(full, name, "conv2"), co, co, 3);
    if (ci != co) conv_bn_declare(L, &p->shortcut, dotted(full, name, "shortcut"), ci, co, 1);
}

void resblock_declare_acts(layout *L, resblock_a *a, int B, const resblock_dims *d) {
    conv_bn_dims c1, c2, sc;
    resblock_conv_dims(d, &c1, &c2, &sc);
    conv_bn_declare_acts(L, &a->conv1, B, &c1);
    conv_bn_declare_acts(L, &a->conv2, B, &c2);
    if (d->ci != d->co) conv_bn_declare_acts(L, &a->shortcut, B, &sc);
    LAYOUT_ADD(L, &a->r1, LT_ACT, 0, "r1", B, d->t, d->co);
    LAYOUT_ADD(L, &a->sum, LT_ACT, 0, "sum", B, d->t, d->co);
    LAYOUT_ADD(L, &a->y, LT_ACT, 0, "y", B, d->t, d->co);
}

int resblock_forward(const resblock_p *p, const resblock_a *a, const float *x, int B, const resblock_dims *d,
                     int train) {
    conv_bn_dims c1, c2, sc;
    resblock_conv_dims(d, &c1, &c2, &sc);
    long n = (long)B * d->t * d->co;
    int st;
    if ((st = conv_bn_forward(&p->conv1, &a->conv1, x, B, &c1, train))) return st;
    relu_forward(a->r1, a->conv1.y, n);
    if ((st = conv_bn_forward(&p->conv2, &a->conv2, a->r1, B, &c2, train))) return st;
    if (p->shortcut.w) {
        if ((st = conv_bn_forward(&p->shortcut, &a->shortcut, x, B, &sc, train))) return st;
        add_forward(a->sum, a->conv2.y, a->shortcut.y, n);
    } else {
        add_forward(a->sum, a->conv2.y, x, n);
    }
    relu_forward(a->y, a->sum, n);
    return 0;
}

int resblock_backward(const resblock_p *p, const resblock_p *g, const resblock_a *a, const resblock_a *da,
                      const float *x, float *dx, int B, const resblock_dims *d) {
    conv_bn_dims c1, c2, sc;
    resblock_conv_dims(d, &c1, &c2, &sc);
    long n = (long)B * d->t * d->co;
    int st;
    relu_backward(da->sum, da->y, a->y, n);
    if ((st = conv_bn_backward(&p->conv2, &g->conv2, &a->conv2, &da->conv2, da->sum, a->r1, da->r1, B, &c2))) return st;
    relu_backward(da->conv1.y, da->r1, a->r1, n);
    if ((st = conv_bn_backward(&p->conv1, &g->conv1, &a->conv1, &da->conv1, da->conv1.y, x, dx, B, &c1))) return st;
    if (p->shortcut.w) {
        if ((st = conv_bn_backward(&p->shortcut, &g->shortcut, &a->shortcut, &da->shortcut, da->sum, x, dx, B, &sc)))
            return st;
    } else if (dx) {
        for (long i = 0; i < n; i++) dx[i] += da->sum[i];
    }
    return 0;
}

/* ------------------------------------------------------------------ audio block (Table II) */

static conv_bn_dims audio_conv_dims(const audio_block_dims *d) { return (conv_bn_dims){d->t, d->ci, d->co, 3, d->pad}; }
static int audio_conv_t(const audio_block_dims *d) { return d->t + 2 * d->pad - 2; }

int audio_block_out_t(const audio_block_dims *d) { return maxpool1d_out_t(audio_conv_t(d), 2, d->pool_stride); }

void audio_block_declare(layout *L, audio_block_p *p, const char *name, const audio_block_dims *d) {
    char full[LAYOUT_NAME_MAX];
    conv_bn_declare(L, &p->conv, dotted(full, name, "conv"), d->ci, d->co, 3);
    if (d->residual && d->ci != d->co)
        conv_bn_declare(L, &p->shortcut, dotted(full, name, "shortcut"), d->ci, d->co, 1);
}

void audio_block_declare_acts(layout *L, audio_block_a *a, int B, const audio_block_dims *d) {
    conv_bn_dims cd = audio_conv_dims(d), sd = {d->t, d->ci, d->co, 1, 0};
    int tc = audio_conv_t(d);
    conv_bn_declare_acts(L, &a->conv, B, &cd);
    if (d->residual) {
        if (d->ci != d->co) conv_bn_declare_acts(L, &a->shortcut, B, &sd);
        LAYOUT_ADD(L, &a->sum, LT_ACT, 0, "sum", B, tc, d->co);
    }
    LAYOUT_ADD(L, &a->r, LT_ACT, 0, "relu", B, tc, d->co);
    LAYOUT_ADD(L, &a->y, LT_ACT, 0, "pool", B, audio_block_out_t(d), d->co);
    LAYOUT_ADD(L, (float **)&a->argmax, LT_INT, 0, "pool.argmax", B, audio_block_out_t(d), d->co);
}

int audio_block_forward(const audio_block_p *p, const audio_block_a *a, const float *x, int B,
                        const audio_block_dims *d, int train) {
    conv_bn_dims cd = audio_conv_dims(d), sd = {d->t, d->ci, d->co, 1, 0};
    int tc = audio_conv_t(d), st;
    long n = (long)B * tc * d->co;
    if ((st = conv_bn_forward(&p->conv, &a->conv, x, B, &cd, train))) return st;
    if (d->residual) { /* same padding, so tc == t and the shortcut lines up */
        if (p->shortcut.w) {
            if ((st = conv_bn_forward(&p->shortcut, &a->shortcut, x, B, &sd, train))) return st;
            add_forward(a->sum, a->conv.y, a->shortcut.y, n);
        } else {
            add_forward(a->sum, a->conv.y, x, n);
        }
        relu_forward(a->r, a->sum, n);
    } else {
        relu_forward(a->r, a->conv.y, n);
    }
    maxpool1d_forward(a->y, a->argmax, a->r, B, tc, d->co, 2, d->pool_stride);
    return 0;
}

int audio_block_backward(const audio_block_p *p, const audio_block_p *g, const audio_block_a *a,
                         const audio_block_a *da, const float *x, float *dx, int B, const audio_block_dims *d) {
    conv_bn_dims cd = audio_conv_dims(d), sd = {d->t, d->ci, d->co, 1, 0};
    int tc = audio_conv_t(d), st;
    long n = (long)B * tc * d->co;
    maxpool1d_backward(da->r, da->y, a->argmax, B, tc, d->co, 2, d->pool_stride);
    if (!d->residual) {
        relu_backward(da->conv.y, da->r, a->r, n);
        return conv_bn_backward(&p->conv, &g->conv, &a->conv, &da->conv, da->conv.y, x, dx, B, &cd);
    }
    relu_backward(da->sum, da->r, a->r, n);
    if ((st = conv_bn_backward(&p->conv, &g->conv, &a->conv, &da->conv, da->sum, x, dx, B, &cd))) return st;
    if (p->shortcut.w)
        return conv_bn_backward(&p->shortcut, &g->shortcut, &a->shortcut, &da->shortcut, da->sum, x, dx, B, &sd);
    if (dx)
        for (long i = 0; i < n; i++) dx[i] += da->sum[i];
    return 0;
}

/* ------------------------------------------------------------------ linear, attention */

void linear_declare(layout *L, linear_p *p, const char *name, int in, int out, int bias) {
    char full[LAYOUT_NAME_MAX];
    float bound = 1.0f / sqrtf((float)in);
    LAYOUT_ADD(L, &p->w, LT_WEIGHT, bound, dotted(full, name, "weight"), out, in);
    if (bias) LAYOUT_ADD(L, &p->b, LT_BIAS, bound, dotted(full, name, "bias"), out);
}

void attention_declare(layout *L, attention_p *p, const char *name, const attention_shape *s, int bias, int with_v) {
    char full[LAYOUT_NAME_MAX];
    linear_declare(L, &p->q, dotted(full, name, "q"), s->d_q_in, s->d_k, bias);
    linear_declare(L, &p->k, dotted(full, name, "k"), s->d_kv_in, s->d_k, bias);
    if (with_v) linear_declare(L, &p->v, dotted(full, name, "v"), s->d_kv_in, s->d_v, bias);
}

void attention_declare_acts(layout *L, attention_a *a, const attention_shape *s, int with_v) {
    /* q, k, v, att are saved for attention_backward, which computes their gradients internally */
    LAYOUT_ADD(L, &a->q, LT_STAT, 0, "q", s->b, s->tq, s->d_k);
    LAYOUT_ADD(L, &a->k, LT_STAT, 0, "k", s->b, s->tk, s->d_k);
    LAYOUT_ADD(L, &a->v, LT_STAT, 0, "v", s->b, s->tk, s->d_v);
    LAYOUT_ADD(L, &a->att, LT_STAT, 0, "att", s->b, s->tq, s->tk);
    LAYOUT_ADD(L, &a->out, LT_ACT, 0, "out", s->b, s->tq, s->d_v);
}

/* ------------------------------------------------------------------ the baseline's AttentionBlock */

static void layernorm_declare(layout *L, layernorm_p *p, const char *name, int c) {
    char full[LAYOUT_NAME_MAX];
    LAYOUT_ADD(L, &p->gamma, LT_ONES, 0, dotted(full, name, "weight"), c);
    LAYOUT_ADD(L, &p->beta, LT_ZEROS, 0, dotted(full, name, "bias"), c);
}

static attention_shape attn_block_shape(int B, int tq, int tk, int dq, int dk) {
    attention_shape s = {.b = B, .tq = tq, .tk = tk, .d_q_in = dq, .d_kv_in = dk, .d_k = dq, .d_v = dq};
    return s;
}

void attn_block_declare(layout *L, attn_block_p *p, const char *name, int dq, int dk) {
    char full[LAYOUT_NAME_MAX];
    attention_shape s = attn_block_shape(1, 1, 1, dq, dk);
    layernorm_declare(L, &p->norm_q, dotted(full, name, "norm1_q"), dq);
    layernorm_declare(L, &p->norm_k, dotted(full, name, "norm1_k"), dk);
    attention_declare(L, &p->attn, dotted(full, name, "attn"), &s, 0, 1);
    linear_declare(L, &p->proj, dotted(full, name, "attn.proj"), dq, dq, 1);
    layernorm_declare(L, &p->norm2, dotted(full, name, "norm2"), dq);
    linear_declare(L, &p->fc1, dotted(full, name, "mlp.fc1"), dq, 2 * dq, 1);
    linear_declare(L, &p->fc2, dotted(full, name, "mlp.fc2"), 2 * dq, dq, 1);
}

void attn_block_declare_acts(layout *L, attn_block_a *a, int B, int tq, int tk, int dq, int dk) {
    attention_shape s = attn_block_shape(B, tq, tk, dq, dk);
    LAYOUT_ADD(L, &a->nq, LT_ACT, 0, "nq", B, tq, dq);
    LAYOUT_ADD(L, &a->nq_mean, LT_STAT, 0, "nq.mean", B, tq);
    LAYOUT_ADD(L, &a->nq_rstd, LT_STAT, 0, "nq.rstd", B, tq);
    LAYOUT_ADD(L, &a->nk, LT_ACT, 0, "nk", B, tk, dk);
    LAYOUT_ADD(L, &a->nk_mean, LT_STAT, 0, "nk.mean", B, tk);
    LAYOUT_ADD(L, &a->nk_rstd, LT_STAT, 0, "nk.rstd", B, tk);
    attention_declare_acts(L, &a->attn, &s, 1);
    LAYOUT_ADD(L, &a->x, LT_ACT, 0, "x", B, tq, dq);
    LAYOUT_ADD(L, &a->h, LT_ACT, 0, "h", B, tq, dq);
    LAYOUT_ADD(L, &a->h_mean, LT_STAT, 0, "h.mean", B, tq);
    LAYOUT_ADD(L, &a->h_rstd, LT_STAT, 0, "h.rstd", B, tq);
    LAYOUT_ADD(L, &a->f1, LT_ACT, 0, "f1", B, tq, 2 * dq);
    LAYOUT_ADD(L, &a->gelu, LT_ACT, 0, "gelu", B, tq, 2 * dq);
    LAYOUT_ADD(L, &a->f2, LT_ACT, 0, "f2", B, tq, dq);
    LAYOUT_ADD(L, &a->y, LT_ACT, 0, "y", B, tq, dq);
}

int attn_block_forward(const attn_block_p *p, const attn_block_a *a, const float *xq, const float *xk, int B,
                       int tq, int tk, int dq, int dk) {
    attention_shape s = attn_block_shape(B, tq, tk, dq, dk);
    long nq = (long)B * tq;
    int st;
    layernorm_forward(a->nq, a->nq_mean, a->nq_rstd, xq, p->norm_q.gamma, p->norm_q.beta, nq, dq, LN_EPS);
    layernorm_forward(a->nk, a->nk_mean, a->nk_rstd, xk, p->norm_k.gamma, p->norm_k.beta, (long)B * tk, dk, LN_EPS);
    if ((st = attention_forward(a->attn.out, a->attn.q, a->attn.k, a->attn.v, a->attn.att, a->nq, a->nk,
                                p->attn.q.w, NULL, p->attn.k.w, NULL, p->attn.v.w, NULL, &s)))
        return st;
    if ((st = linear_forward(a->x, a->attn.out, p->proj.w, p->proj.b, nq, dq, dq))) return st;
    layernorm_forward(a->h, a->h_mean, a->h_rstd, a->x, p->norm2.gamma, p->norm2.beta, nq, dq, LN_EPS);
    if ((st = linear_forward(a->f1, a->h, p->fc1.w, p->fc1.b, nq, dq, 2 * dq))) return st;
    gelu_forward(a->gelu, a->f1, nq * 2 * dq);
    if ((st = linear_forward(a->f2, a->gelu, p->fc2.w, p->fc2.b, nq, 2 * dq, dq))) return st;
    add_forward(a->y, a->x, a->f2, nq * dq); /* x + MLP(LN(x)) */
    return 0;
}

int attn_block_backward(const attn_block_p *p, const attn_block_p *g, const attn_block_a *a, const attn_block_a *da,
                        const float *xq, const float *xk, float *dxq, float *dxk, int B, int tq, int tk, int dq,
                        int dk) {
    attention_shape s = attn_block_shape(B, tq, tk, dq, dk);
    long nq = (long)B * tq;
    int st;
    for (long i = 0; i < nq * dq; i++) {
        da->x[i] += da->y[i];
        da->f2[i] += da->y[i];
    }
    if ((st = linear_backward(da->gelu, g->fc2.w, g->fc2.b, da->f2, a->gelu, p->fc2.w, nq, 2 * dq, dq))) return st;
    gelu_backward(da->f1, da->gelu, a->f1, nq * 2 * dq);
    if ((st = linear_backward(da->h, g->fc1.w, g->fc1.b, da->f1, a->h, p->fc1.w, nq, dq, 2 * dq))) return st;
    layernorm_backward(da->x, g->norm2.gamma, g->norm2.beta, da->h, a->x, a->h_mean, a->h_rstd, p->norm2.gamma, nq,
                       dq);
    if ((st = linear_backward(da->attn.out, g->proj.w, g->proj.b, da->x, a->attn.out, p->proj.w, nq, dq, dq)))
        return st;
    if ((st = attention_backward(da->nq, da->nk, g->attn.q.w, NULL, g->attn.k.w, NULL, g->attn.v.w, NULL, da->attn.out,
                                 a->attn.q, a->attn.k, a->attn.v, a->attn.att, a->nq, a->nk, p->attn.q.w, p->attn.k.w,
                                 p->attn.v.w, &s)))
        return st;
    layernorm_backward(dxq, g->norm_q.gamma, g->norm_q.beta, da->nq, xq, a->nq_mean, a->nq_rstd, p->norm_q.gamma, nq,
                       dq);
    layernorm_backward(dxk, g->norm_k.gamma, g->norm_k.beta, da->nk, xk, a->nk_mean, a->nk_rstd, p->norm_k.gamma,
                       (long)B * tk, dk);
    return 0;
}

/* ------------------------------------------------------------------ the baseline's cross-modal pair */

void cross_attn_declare(layout *L, cross_attn_p *p, const char *name, int ca, int cv) {
    char full[LAYOUT_NAME_MAX];
    attn_block_declare(L, &p->av, dotted(full, name, "av"), ca, cv);
    attn_block_declare(L, &p->va, dotted(full, name, "va"), cv, ca);
}

void cross_attn_declare_acts(layout *L, cross_attn_a *a, int B, const cross_attn_dims *d) {
    attn_block_declare_acts(L, &a->av, B, d->ta, d->tv, d->ca, d->cv);
    attn_block_declare_acts(L, &a->va, B, d->tv, d->ta, d->cv, d->ca);
}

int cross_attn_forward(const cross_attn_p *p, const cross_attn_a *a, const float *audio, const float *video, int B,
                       const cross_attn_dims *d) {
    int st = attn_block_forward(&p->av, &a->av, audio, video, B, d->ta, d->tv, d->ca, d->cv);
    if (st) return st;
    return attn_block_forward(&p->va, &a->va, video, audio, B, d->tv, d->ta, d->cv, d->ca);
}

int cross_attn_backward(const cross_attn_p *p, const cross_attn_p *g, const cross_attn_a *a, const cross_attn_a *da,
                        const float *audio, const float *video, float *daudio, float *dvideo, int B,
                        const cross_attn_dims *d) {
    int st = attn_block_backward(&p->va, &g->va, &a->va, &da->va, video, audio, dvideo, daudio, B, d->tv, d->ta,
                                 d->cv, d->ca);
    if (st) return st;
    return attn_block_backward(&p->av, &g->av, &a->av, &da->av, audio, video, daudio, dvideo, B, d->ta, d->tv, d->ca,
                               d->cv);
}

/* ------------------------------------------------------------------ the baseline's `ia` weights */

void ia_declare_acts(layout *L, ia_a *a, int B, int tq, int tk, int d, int dk) {
    LAYOUT_ADD(L, &a->q, LT_ACT, 0, "q", B, tq, d);
    LAYOUT_ADD(L, &a->k, LT_ACT, 0, "k", B, tk, d);
    LAYOUT_ADD(L, &a->s, LT_ACT, 0, "scores", B, tq, tk);
    LAYOUT_ADD(L, &a->att, LT_ACT, 0, "att", B, tq, tk);
    LAYOUT_ADD(L, &a->w, LT_ACT, 0, "w", B, tk);
    LAYOUT_ADD(L, &a->y, LT_ACT, 0, "y", B, tk, dk);
}

int ia_forward(const attention_p *p, const ia_a *a, const float *xq, const float *xk, int B, int tq, int tk,
               int dq, int dk, int d) {
    int st;
    float scale = 1.0f / sqrtf((float)d);
    if ((st = linear_forward(a->q, xq, p->q.w, NULL, (long)B * tq, dq, d))) return st;
    if ((st = linear_forward(a->k, xk, p->k.w, NULL, (long)B * tk, dk, d))) return st;
    for (int b = 0; b < B; b++) /* scores [tq, tk] = Q K^T / sqrt(d) */
        nn_sgemm(0, 1, tq, tk, d, scale, a->q + (long)b * tq * d, d, a->k + (long)b * tk * d, d, 0.0f,
                 a->s + (long)b * tq * tk, tk);
    softmax_forward(a->att, a->s, (long)B * tq, tk);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < tk; j++) {
            float w = 0;
            for (int i = 0; i < tq; i++) w += a->att[((long)b * tq + i) * tk + j];
            a->w[(long)b * tk + j] = w;
            const float *x = xk + ((long)b * tk + j) * dk;
            float *y = a->y + ((long)b * tk + j) * dk;
            for (int c = 0; c < dk; c++) y[c] = w * x[c];
        }
    return 0;
}

int ia_backward(const attention_p *p, const attention_p *g, const ia_a *a, const ia_a *da, const float *xq,
                const float *xk, float *dxq, float *dxk, int B, int tq, int tk, int dq, int dk, int d) {
    int st;
    float scale = 1.0f / sqrtf((float)d);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < tk; j++) {
            long r = (long)b * tk + j;
            const float *x = xk + r * dk, *dy = da->y + r * dk;
            float dw = 0, w = a->w[r];
            for (int c = 0; c < dk; c++) dw += dy[c] * x[c];
            if (dxk)
                for (int c = 0; c < dk; c++) dxk[r * dk + c] += w * dy[c];
            da->w[r] += dw;
            for (int i = 0; i < tq; i++) da->att[((long)b * tq + i) * tk + j] += dw; /* w = column sums of A */
        }
    softmax_backward(da->s, da->att, a->att, (long)B * tq, tk);
    for (int b = 0; b < B; b++) {
        const float *ds = da->s + (long)b * tq * tk;
        /* dQ = dS K / sqrt(d), dK = dS^T Q / sqrt(d) */
        nn_sgemm(0, 0, tq, d, tk, scale, ds, tk, a->k + (long)b * tk * d, d, 1.0f, da->q + (long)b * tq * d, d);
        nn_sgemm(1, 0, tk, d, tq, scale, ds, tk, a->q + (long)b * tq * d, d, 1.0f, da->k + (long)b * tk * d, d);
    }
    if ((st = linear_backward(dxq, g->q.w, NULL, da->q, xq, p->q.w, (long)B * tq, dq, d))) return st;
    return linear_backward(dxk, g->k.w, NULL, da->k, xk, p->k.w, (long)B * tk, dk, d);
}

/* ------------------------------------------------------------------ small tensor ops */

void concat_channels_forward(float *y, const float *a, const float *b, long n, int ca, int cb) {
    for (long i = 0; i < n; i++) {
        memcpy(y + i * (ca + cb), a + i * ca, (size_t)ca * sizeof(float));
        memcpy(y + i * (ca + cb) + ca, b + i * cb, (size_t)cb * sizeof(float));
    }
}

void concat_channels_backward(float *da, float *db, const float *dy, long n, int ca, int cb) {
    for (long i = 0; i < n; i++) {
        const float *g = dy + i * (ca + cb);
        if (da)
            for (int c = 0; c < ca; c++) da[i * ca + c] += g[c];
        if (db)
            for (int c = 0; c < cb; c++) db[i * cb + c] += g[ca + c];
    }
}

void add_forward(float *y, const float *a, const float *b, long n) {
    for (long i = 0; i < n; i++) y[i] = a[i] + b[i];
}
