/* Frame numbers from presentation timestamps (issue 15): the decoder may skip frames that no other frame refers
 * to (AVDISCARD_NONREF), and skipped frames are not output, so a frame's number (its place in presentation order,
 * what video_sample_indices counts) is no longer the count of frames output before it. It is the count of the
 * stream's frames with a smaller timestamp: this set holds the timestamps of the packets read so far, sorted;
 * a frame's rank in it is its number as long as no packet still to be read has a smaller timestamp (the reader
 * keeps a lookahead longer than any codec's reordering, and checks it: pts_order_add's `below_ranked`). */
#ifndef AVEMO_IO_PTS_ORDER_H
#define AVEMO_IO_PTS_ORDER_H
#include <stdint.h>

typedef struct {
    int64_t *pts;       /* [n] ascending */
    long n, cap;
    int64_t max_ranked; /* the largest timestamp whose rank was taken (pts_order_rank) */
    int ranked;         /* whether any rank was taken */
} pts_order;

enum { PTS_ORDER_OK = 0, PTS_ORDER_DUPLICATE = 1, PTS_ORDER_BELOW_RANKED = 2, PTS_ORDER_NOMEM = -1 };

/* Adds one packet's timestamp. DUPLICATE: it was there already; BELOW_RANKED: it is smaller than a timestamp
 * already ranked (that rank was wrong); both leave the set unchanged. Inserts from the end: near-sorted input
 * (decode order) costs the reordering depth per call. */
int pts_order_add(pts_order *o, int64_t pts);
/* The rank of pts in the set (its frame number), -1 if it is not in the set; records it as ranked. */
long pts_order_rank(pts_order *o, int64_t pts);
void pts_order_free(pts_order *o);

#endif
