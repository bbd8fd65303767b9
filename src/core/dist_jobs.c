/* What core/dist.h builds on its primitives, the same in both builds: agreement about success, a queue of
 * items with shared results, a string broadcast. */
#include "core/dist.h"

#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGREE_MSG_MAX 1024

int dist_agree(int status) {
    int size = dist_size();
    if (size == 1) return status;
    int first = status ? dist_rank() : size;
    int rc = dist_allreduce_min_int(&first, 1);
    if (rc) return rc;
    if (first == size) return AVEMO_OK;
    struct {
        int status;
        char msg[AGREE_MSG_MAX];
    } e;
    memset(&e, 0, sizeof e);
    if (dist_rank() == first) {
        e.status = status;
        snprintf(e.msg, sizeof e.msg, "%s", avemo_last_error());
    }
    if ((rc = dist_bcast(&e, sizeof e, first))) return rc;
    e.msg[AGREE_MSG_MAX - 1] = 0;
    return first > 0 ? avemo_error(e.status, "rank %d: %s", first, e.msg) : avemo_error(e.status, "%s", e.msg);
}

int dist_run_items(int n_items, int (*run)(void *ctx, int item), void *ctx, void *results, size_t result_size,
                   int *owner) {
    int *own = malloc(((size_t)n_items + 1) * sizeof *own);
    if (!own) return dist_agree(avemo_error(AVEMO_ENOMEM, "out of memory"));
    for (int k = 0; k < n_items; k++) own[k] = -1;
    dist_queue *q = NULL;
    int rc = dist_queue_open(&q, n_items);
    for (int k; !rc && (k = dist_queue_next(q)) >= 0;) {
        own[k] = dist_rank();
        rc = run(ctx, k);
    }
    if (q) {
        int crc = dist_queue_close(q);
        if (!rc) rc = crc;
    }
    rc = dist_agree(rc);
    if (!rc && dist_size() > 1) rc = dist_agree(dist_allreduce_max_int(own, n_items));
    for (int k = 0; !rc && dist_size() > 1 && k < n_items; k++)
        if (own[k] >= 0) rc = dist_bcast((char *)results + (size_t)k * result_size, result_size, own[k]);
    if (!rc && owner) memcpy(owner, own, (size_t)n_items * sizeof *own);
    free(own);
    return rc;
}

int dist_bcast_string(char **s, int root) {
    if (dist_size() == 1) return AVEMO_OK;
    int64_t len = dist_rank() == root ? (*s ? (int64_t)strlen(*s) : -1) : 0;
    int rc = dist_bcast(&len, sizeof len, root);
    if (rc) return rc;
    if (dist_rank() != root) {
        free(*s);
        *s = NULL;
        if (len >= 0 && !(*s = malloc((size_t)len + 1))) return avemo_error(AVEMO_ENOMEM, "out of memory");
    }
    if (len < 0) return AVEMO_OK;
    rc = dist_bcast(*s, (size_t)len, root);
    (*s)[len] = 0;
    return rc;
}
