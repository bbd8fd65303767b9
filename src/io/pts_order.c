#include "io/pts_order.h"

#include <stdlib.h>
#include <string.h>

int pts_order_add(pts_order *o, int64_t pts) {
    if (o->ranked && pts < o->max_ranked) return PTS_ORDER_BELOW_RANKED;
    long at = o->n;
    while (at > 0 && o->pts[at - 1] > pts) at--;
    if (at > 0 && o->pts[at - 1] == pts) return PTS_ORDER_DUPLICATE;
    if (o->n == o->cap) {
        long cap = o->cap ? 2 * o->cap : 256;
        int64_t *p = realloc(o->pts, sizeof *p * (size_t)cap);
        if (!p) return PTS_ORDER_NOMEM;
        o->pts = p, o->cap = cap;
    }
    memmove(o->pts + at + 1, o->pts + at, sizeof *o->pts * (size_t)(o->n - at));
    o->pts[at] = pts;
    o->n++;
    return PTS_ORDER_OK;
}

long pts_order_rank(pts_order *o, int64_t pts) {
    long lo = 0, hi = o->n; /* first index with pts[i] >= pts */
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (o->pts[mid] < pts) lo = mid + 1;
        else hi = mid;
    }
    if (lo == o->n || o->pts[lo] != pts) return -1;
    if (!o->ranked || pts > o->max_ranked) o->max_ranked = pts;
    o->ranked = 1;
    return lo;
}

void pts_order_free(pts_order *o) {
    free(o->pts);
    memset(o, 0, sizeof *o);
}
