/* Scaled dot-product attention with Q/K/V projections, the paper's eq. (4)-(7):
 *   Q = xq Wq^T + bq,  K = xkv Wk^T + bk,  V = xkv Wv^T + bv,  att = softmax(Q K^T / sqrt(d_k)),  out = att V.
 * Shapes: see attention_shape in nn/shapes.h. No scratch memory: the backward pushes each score gradient
 * straight through the (linear) projections. */
#include "nn/ref/real.h"

#include <stddef.h>

static void project(real *y, const real *x, const real *w, const real *bias, long rows, int in, int out) {
    for (long i = 0; i < rows; i++)
        for (int o = 0; o < out; o++) {
            double s = bias ? bias[o] : 0;
            for (int p = 0; p < in; p++) s += (double)x[i * in + p] * w[(long)o * in + p];
            y[i * out + o] = (real)s;
        }
}

/* out [b,tq,d_v]; saves q [b,tq,d_k], k [b,tk,d_k], v [b,tk,d_v], att [b,tq,tk] */
void REF(attention_forward)(real *out, real *q, real *k, real *v, real *att, const real *xq, const real *xkv,
                            const real *wq, const real *bq, const real *wk, const real *bk, const real *wv,
                            const real *bv, const attention_shape *s) {
    int tq = s->tq, tk = s->tk, dk = s->d_k, dv = s->d_v;
    project(q, xq, wq, bq, (long)s->b * tq, s->d_q_in, dk);
    project(k, xkv, wk, bk, (long)s->b * tk, s->d_kv_in, dk);
    project(v, xkv, wv, bv, (long)s->b * tk, s->d_kv_in, dv);
    double scale = 1.0 / sqrt((double)dk);
    for (int n = 0; n < s->b; n++)
        for (int i = 0; i < tq; i++) {
            const real *qi = q + ((long)n * tq + i) * dk;
            real *ai = att + ((long)n * tq + i) * tk;
            for (int j = 0; j < tk; j++) {
                const real *kj = k + ((long)n * tk + j) * dk;
                double d = 0;
                for (int e = 0; e < dk; e++) d += (double)qi[e] * kj[e];
                ai[j] = (real)(d * scale);
            }
            real mx = ai[0];
            for (int j = 1; j < tk; j++) mx = ai[j] > mx ? ai[j] : mx;
            double z = 0;
            for (int j = 0; j < tk; j++) z += R_EXP(ai[j] - mx);
            for (int j = 0; j < tk; j++) ai[j] = (real)(R_EXP(ai[j] - mx) / z);
            for (int e = 0; e < dv; e++) {
                double o = 0;
                for (int j = 0; j < tk; j++) o += (double)ai[j] * v[((long)n * tk + j) * dv + e];
                out[((long)n * tq + i) * dv + e] = (real)o;
            }
        }
}

/* dy += c * w_row (one projection output's contribution to the input gradient), dw_row += c * x_row */
static void push(real *dx_row, real *dw_row, real *db_o, const real *x_row, const real *w_row, int in, double c) {
    if (dx_row)
        for (int p = 0; p < in; p++) dx_row[p] += (real)(c * w_row[p]);
    if (dw_row)
        for (int p = 0; p < in; p++) dw_row[p] += (real)(c * x_row[p]);
    if (db_o) *db_o += (real)c;
}

/* With datt_ij = dout_i . v_j and r_i = sum_j att_ij datt_ij:
 *   dS_ij = att_ij (datt_ij - r_i) / sqrt(d_k),  dQ_i = sum_j dS_ij k_j,  dK_j = sum_i dS_ij q_i,
 *   dV_j = sum_i att_ij dout_i; each then goes through its projection (dx += dQ W, dW += dQ^T x, db += dQ). */
void REF(attention_backward)(real *dxq, real *dxkv, real *dwq, real *dbq, real *dwk, real *dbk, real *dwv,
                             real *dbv, const real *dout, const real *q, const real *k, const real *v,
                             const real *att, const real *xq, const real *xkv, const real *wq, const real *wk,
                             const real *wv, const attention_shape *s) {
    int tq = s->tq, tk = s->tk, dk = s->d_k, dv = s->d_v, dqi = s->d_q_in, dki = s->d_kv_in;
    double scale = 1.0 / sqrt((double)dk);
    for (int n = 0; n < s->b; n++)
        for (int i = 0; i < tq; i++) {
            long ri = (long)n * tq + i;
            const real *doi = dout + ri * dv, *ai = att + ri * tk, *qi = q + ri * dk, *xqi = xq + ri * dqi;
            real *dxqi = dxq ? dxq + ri * dqi : NULL;
            double r = 0;
            for (int j = 0; j < tk; j++) {
                const real *vj = v + ((long)n * tk + j) * dv;
                double da = 0;
                for (int e = 0; e < dv; e++) da += (double)doi[e] * vj[e];
                r += ai[j] * da;
            }
            for (int j = 0; j < tk; j++) {
                long rj = (long)n * tk + j;
                const real *vj = v + rj * dv, *kj = k + rj * dk, *xj = xkv + rj * dki;
                real *dxj = dxkv ? dxkv + rj * dki : NULL;
                double da = 0;
                for (int e = 0; e < dv; e++) da += (double)doi[e] * vj[e];
                double ds = ai[j] * (da - r) * scale;
                for (int e = 0; e < dv; e++)
                    push(dxj, dwv ? dwv + (long)e * dki : NULL, dbv ? dbv + e : NULL, xj, wv + (long)e * dki, dki,
                         (double)ai[j] * doi[e]);
                for (int e = 0; e < dk; e++) {
                    push(dxj, dwk ? dwk + (long)e * dki : NULL, dbk ? dbk + e : NULL, xj, wk + (long)e * dki, dki,
                         ds * qi[e]);
                    push(dxqi, dwq ? dwq + (long)e * dqi : NULL, dbq ? dbq + e : NULL, xqi, wq + (long)e * dqi, dqi,
                         ds * kj[e]);
                }
            }
        }
}
