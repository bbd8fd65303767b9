/* Scaled dot-product attention with projections (eq. 4-7), fast path: the projections are linear layers
 * (one GEMM each over all b*t rows), the scores and the weighted sum one GEMM per batch item. */
#include "nn/nn.h"

#include "core/err.h"

#include <math.h>
#include <stdlib.h>

int attention_forward(float *out, float *q, float *k, float *v, float *att, const float *xq, const float *xkv,
                      const float *wq, const float *bq, const float *wk, const float *bk, const float *wv,
                      const float *bv, const attention_shape *s) {
    int tq = s->tq, tk = s->tk, dk = s->d_k, dv = s->d_v;
    int rc;
    if ((rc = linear_forward(q, xq, wq, bq, (long)s->b * tq, s->d_q_in, dk)) != 0) return rc;
    if ((rc = linear_forward(k, xkv, wk, bk, (long)s->b * tk, s->d_kv_in, dk)) != 0) return rc;
    if ((rc = linear_forward(v, xkv, wv, bv, (long)s->b * tk, s->d_kv_in, dv)) != 0) return rc;
    float scale = (float)(1.0 / sqrt((double)dk));
    for (int n = 0; n < s->b; n++) {
        float *an = att + (long)n * tq * tk;
        /* att_n [tq, tk] = softmax(q_n k_n^T / sqrt(d_k)) */
        nn_sgemm(0, 1, tq, tk, dk, scale, q + (long)n * tq * dk, dk, k + (long)n * tk * dk, dk, 0.0f, an, tk);
        softmax_forward(an, an, tq, tk);
        /* out_n [tq, dv] = att_n v_n */
        nn_sgemm(0, 0, tq, dv, tk, 1.0f, an, tk, v + (long)n * tk * dv, dv, 0.0f, out + (long)n * tq * dv, dv);
    }
    return 0;
}

/* dV = att^T dout, datt = dout V^T, dS = att (datt - rowsum(datt att)), dQ = dS K / sqrt(d_k),
 * dK = dS^T Q / sqrt(d_k); then the projections' backward (accumulating, so dxq == dxkv is fine). */
int attention_backward(float *dxq, float *dxkv, float *dwq, float *dbq, float *dwk, float *dbk, float *dwv,
                       float *dbv, const float *dout, const float *q, const float *k, const float *v,
                       const float *att, const float *xq, const float *xkv, const float *wq, const float *wk,
                       const float *wv, const attention_shape *s) {
    int tq = s->tq, tk = s->tk, dk = s->d_k, dv = s->d_v;
    long nq = (long)s->b * tq * dk, nk = (long)s->b * tk * dk, nv = (long)s->b * tk * dv, ns = (long)tq * tk;
    float *dq = malloc(sizeof(float) * (size_t)(nq + nk + nv + ns + 1));
    if (!dq) return avemo_error(AVEMO_ENOMEM, "attention backward: out of memory");
    float *dkk = dq + nq, *dvv = dkk + nk, *ds = dvv + nv;
    float scale = (float)(1.0 / sqrt((double)dk));
    for (int n = 0; n < s->b; n++) {
        const float *an = att + (long)n * ns, *dn = dout + (long)n * tq * dv;
        nn_sgemm(1, 0, tk, dv, tq, 1.0f, an, tk, dn, dv, 0.0f, dvv + (long)n * tk * dv, dv);
        nn_sgemm(0, 1, tq, tk, dv, 1.0f, dn, dv, v + (long)n * tk * dv, dv, 0.0f, ds, tk);
        for (int i = 0; i < tq; i++) {
            const float *ai = an + (long)i * tk;
            float *di = ds + (long)i * tk;
            float r = 0;
            for (int j = 0; j < tk; j++) r += ai[j] * di[j];
            for (int j = 0; j < tk; j++) di[j] = ai[j] * (di[j] - r);
        }
        nn_sgemm(0, 0, tq, dk, tk, scale, ds, tk, k + (long)n * tk * dk, dk, 0.0f, dq + (long)n * tq * dk, dk);
        nn_sgemm(1, 0, tk, dk, tq, scale, ds, tk, q + (long)n * tq * dk, dk, 0.0f, dkk + (long)n * tk * dk, dk);
    }
    int rc = linear_backward(dxq, dwq, dbq, dq, xq, wq, (long)s->b * tq, s->d_q_in, dk);
    if (!rc) rc = linear_backward(dxkv, dwk, dbk, dkk, xkv, wk, (long)s->b * tk, s->d_kv_in, dk);
    if (!rc) rc = linear_backward(dxkv, dwv, dbv, dvv, xkv, wv, (long)s->b * tk, s->d_kv_in, dv);
    free(dq);
    return rc;
}
