/* Sharded prep over the ranks of an MPI job (see data/prep_shard.h). */
#include "data/prep_shard.h"

#include "core/dist.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define NO_REASON 0xffffffffu /* a reason's length when the kind has none */

int prep_shard_create_cache(feature_cache *c, const char *dir, dataset *ds, const char *config_json) {
    if (dist_size() == 1) return cache_create(c, dir, ds, config_json);
    int rc = dist_agree(dist_rank() == 0 ? cache_create(c, dir, ds, config_json) : AVEMO_OK);
    if (dist_rank() > 0) {
        dataset_free(ds);
        memset(ds, 0, sizeof *ds);
        memset(c, 0, sizeof *c);
        if (!rc) rc = cache_open(c, dir); /* what rank 0 has just written */
    }
    int all = dist_agree(rc);
    if (all && !rc) cache_free(c); /* another rank failed: this one's cache is freed as on a failure */
    return all;
}

int prep_shard_select(int *todo, int n_todo) {
    int rank = dist_rank(), size = dist_size(), n = 0;
    for (int j = rank; j < n_todo; j += size) todo[n++] = todo[j];
    return n;
}

/* ---------------------------------------------------------------- one rank's results as bytes
 * per sample: int32 index, uint8 done bits, uint64 hash[CACHE_N_KINDS], then per kind uint32 length + reason. */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} bytes;

static int put(bytes *b, const void *data, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) return avemo_error(AVEMO_ENOMEM, "out of memory");
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    return AVEMO_OK;
}

static int pack_samples(const feature_cache *c, const int *mine, int n_mine, bytes *b) {
    int rc = AVEMO_OK;
    for (int j = 0; j < n_mine && !rc; j++) {
        int32_t i = mine[j];
        rc = put(b, &i, sizeof i) || put(b, &c->done[i], 1) || put(b, c->hash[i], sizeof c->hash[i]);
        for (int k = 0; k < CACHE_N_KINDS && !rc; k++) {
            const char *why = c->error[i][k];
            uint32_t len = why ? (uint32_t)strlen(why) : NO_REASON;
            rc = put(b, &len, sizeof len) || (why && put(b, why, len));
        }
    }
    return rc ? AVEMO_ENOMEM : AVEMO_OK;
}

/* Reads n bytes at *at of p[end]; 0 when they are not there. */
static int take(const unsigned char *p, size_t end, size_t *at, void *out, size_t n) {
    if (end - *at < n) return 0;
    memcpy(out, p + *at, n);
    *at += n;
    return 1;
}

/* The samples of every rank into c (rank 0). */
static int unpack_samples(feature_cache *c, const unsigned char *p, size_t end) {
    size_t at = 0;
    while (at < end) {
        int32_t i;
        unsigned char done;
        uint64_t hash[CACHE_N_KINDS];
        if (!take(p, end, &at, &i, sizeof i) || i < 0 || i >= c->ds.n || !take(p, end, &at, &done, 1) ||
            !take(p, end, &at, hash, sizeof hash))
            return avemo_error(AVEMO_EINTERNAL, "prep: a rank's results are malformed");
        c->done[i] = done;
        memcpy(c->hash[i], hash, sizeof hash);
        for (int k = 0; k < CACHE_N_KINDS; k++) {
            uint32_t len;
            if (!take(p, end, &at, &len, sizeof len) || (len != NO_REASON && end - at < len))
                return avemo_error(AVEMO_EINTERNAL, "prep: a rank's results are malformed");
            free(c->error[i][k]);
            c->error[i][k] = NULL;
            if (len == NO_REASON) continue;
            if (!(c->error[i][k] = strndup((const char *)p + at, len))) return avemo_error(AVEMO_ENOMEM, "out of memory");
            at += len;
        }
    }
    return AVEMO_OK;
}

int prep_shard_finish(feature_cache *c, const int *mine, int n_mine, int status) {
    if (dist_size() == 1) return status ? status : cache_save(c);
    int rc = dist_agree(status);
    if (rc) return rc;
    bytes b = {0};
    cache_sync(c); /* this rank's files are durable before rank 0 lists them */
    rc = dist_agree(pack_samples(c, mine, n_mine, &b));
    unsigned char *all = NULL;
    size_t all_bytes = 0;
    if (!rc) rc = dist_agree(dist_gather_bytes(b.p, b.n, &all, &all_bytes));
    free(b.p);
    if (!rc && dist_rank() == 0) {
        rc = unpack_samples(c, all, all_bytes);
        if (!rc) rc = cache_save(c);
    }
    free(all);
    return dist_agree(rc);
}
