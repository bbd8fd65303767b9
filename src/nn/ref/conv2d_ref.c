/* Reference conv2d (plain loops; float *_ref and double *_f64 builds, see ref_decl.h).
 * x [n,h,w,c_in] (NHWC), w [c_out, c_in/groups, kh, kw] (PyTorch OIHW), b [c_out] or NULL, y [n,oh,ow,c_out]:
 *   y[n,oy,ox,co] = b[co] + sum_{ci,ky,kx} w[co,ci,ky,kx] * x[n, oy*sh - pad_top + ky, ox*sw - pad_left + kx,
 *                                                            g*cpg_in + ci],   g = co / (c_out/groups)
 * with x = 0 outside the image (zero padding; bottom/right padding only sets oh/ow). */
#include "nn/ref/real.h"

void REF(conv2d_forward)(real *y, const real *x, const real *w, const real *b, const conv2d_shape *s) {
    int oh = conv2d_out_h(s), ow = conv2d_out_w(s);
    int cpg_in = s->c_in / s->groups, cpg_out = s->c_out / s->groups;
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int co = 0; co < s->c_out; co++) {
                    int g = co / cpg_out;
                    real acc = b ? b[co] : 0;
                    for (int ci = 0; ci < cpg_in; ci++)
                        for (int ky = 0; ky < s->kh; ky++) {
                            int iy = oy * s->stride_h - s->pad_top + ky;
                            if (iy < 0 || iy >= s->h) continue;
                            for (int kx = 0; kx < s->kw; kx++) {
                                int ix = ox * s->stride_w - s->pad_left + kx;
                                if (ix < 0 || ix >= s->w) continue;
                                acc += w[((long)(co * cpg_in + ci) * s->kh + ky) * s->kw + kx] *
                                       x[(((long)n * s->h + iy) * s->w + ix) * s->c_in + g * cpg_in + ci];
                            }
                        }
                    y[(((long)n * oh + oy) * ow + ox) * s->c_out + co] = acc;
                }
}

/* dy [n,oh,ow,c_out]; accumulates dx [n,h,w,c_in], dw [c_out, c_in/groups, kh, kw], db [c_out]. */
void REF(conv2d_backward)(real *dx, real *dw, real *db, const real *dy, const real *x, const real *w,
                          const conv2d_shape *s) {
    int oh = conv2d_out_h(s), ow = conv2d_out_w(s);
    int cpg_in = s->c_in / s->groups, cpg_out = s->c_out / s->groups;
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int co = 0; co < s->c_out; co++) {
                    int g = co / cpg_out;
                    real d = dy[(((long)n * oh + oy) * ow + ox) * s->c_out + co];
                    if (db) db[co] += d;
                    for (int ci = 0; ci < cpg_in; ci++)
                        for (int ky = 0; ky < s->kh; ky++) {
                            int iy = oy * s->stride_h - s->pad_top + ky;
                            if (iy < 0 || iy >= s->h) continue;
                            for (int kx = 0; kx < s->kw; kx++) {
                                int ix = ox * s->stride_w - s->pad_left + kx;
                                if (ix < 0 || ix >= s->w) continue;
                                long wi = ((long)(co * cpg_in + ci) * s->kh + ky) * s->kw + kx;
                                long xi = (((long)n * s->h + iy) * s->w + ix) * s->c_in + g * cpg_in + ci;
                                if (dw) dw[wi] += d * x[xi];
                                if (dx) dx[xi] += d * w[wi];
                            }
                        }
                }
}
