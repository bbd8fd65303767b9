/* The data-parallel hooks of nn/ (nn.h: batchnorm_set_sync, dropout_set_rows), without MPI: two threads play
 * two ranks, each with its slice of a batch's rows, and sum their BN statistics through a barrier. The slices'
 * results must be the whole batch's:
 *   - batch normalisation: y, mean, rstd, the running statistics and dx of each slice equal the whole batch's
 *     within 2e-6 relative (float sums in another order and about another reference; the data has |mean| =
 *     100 std, where a sum about 0 would lose digits), dgamma and dbeta summed over the slices likewise;
 *   - dropout: the slices' masks put together are the whole batch's mask, bit for bit, and each slice's stream
 *     ends where the whole batch's does. */
#include "test.h"

#include "core/rng.h"
#include "nn/nn.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define C 5
#define ROWS0 30 /* rank 0's rows; rank 1 has the rest: uneven on purpose */
#define ROWS 74

/* ---- a sum over two threads through a barrier: each puts its v, both add slot 0 + slot 1 (same order) */
typedef struct {
    pthread_barrier_t barrier;
    double *slot[2];
} two_ranks;

typedef struct {
    two_ranks *shared;
    int rank;
} rank_ctx;

static int sum_two(double *v, long n, void *ctx) {
    rank_ctx *r = ctx;
    r->shared->slot[r->rank] = v;
    pthread_barrier_wait(&r->shared->barrier);
    double *s = malloc((size_t)n * sizeof *s);
    for (long i = 0; i < n; i++) s[i] = r->shared->slot[0][i] + r->shared->slot[1][i];
    pthread_barrier_wait(&r->shared->barrier); /* both have read both slots */
    memcpy(v, s, (size_t)n * sizeof *s);
    free(s);
    return 0;
}

/* One batch and the results of a forward + backward over rows [row0, row0 + rows) */
typedef struct {
    const float *x, *dy, *gamma, *beta;
    long row0, rows;
    float *y, *dx, mean[C], rstd[C], rmean[C], rvar[C], dgamma[C], dbeta[C];
    rank_ctx rank;
    int sync;
} bn_run;

static void *bn_slice(void *arg) {
    bn_run *b = arg;
    const float *x = b->x + b->row0 * C, *dy = b->dy + b->row0 * C;
    if (b->sync) batchnorm_set_sync(sum_two, &b->rank);
    batchnorm_forward_train(b->y, b->mean, b->rstd, b->rmean, b->rvar, x, b->gamma, b->beta, b->rows, C, 0.1f, 1e-5f);
    batchnorm_backward(b->dx, b->dgamma, b->dbeta, dy, x, b->mean, b->rstd, b->gamma, b->rows, C);
    batchnorm_set_sync(NULL, NULL);
    return NULL;
}

static void bn_init(bn_run *b, const float *x, const float *dy, const float *gamma, const float *beta, long row0,
                    long rows) {
    memset(b, 0, sizeof *b);
    b->x = x, b->dy = dy, b->gamma = gamma, b->beta = beta, b->row0 = row0, b->rows = rows;
    b->y = calloc((size_t)rows * C, sizeof(float));
    b->dx = calloc((size_t)rows * C, sizeof(float));
    for (int j = 0; j < C; j++) b->rmean[j] = 90.0f + j, b->rvar[j] = 2.0f;
}

static void test_batchnorm_sync(void) {
    float x[ROWS * C], dy[ROWS * C], gamma[C], beta[C];
    fill_uniform_f(x, ROWS * C, 1, -3, 3);
    for (int i = 0; i < ROWS * C; i++) x[i] += 100.0f; /* |mean| >> std */
    fill_uniform_f(dy, ROWS * C, 2, -1, 1);
    fill_uniform_f(gamma, C, 3, 0.5f, 1.5f);
    fill_uniform_f(beta, C, 4, -1, 1);
    bn_run whole, part[2];
    bn_init(&whole, x, dy, gamma, beta, 0, ROWS);
    bn_slice(&whole);
    two_ranks shared;
    pthread_barrier_init(&shared.barrier, NULL, 2);
    bn_init(&part[0], x, dy, gamma, beta, 0, ROWS0);
    bn_init(&part[1], x, dy, gamma, beta, ROWS0, ROWS - ROWS0);
    pthread_t t[2];
    for (int r = 0; r < 2; r++) {
        part[r].sync = 1;
        part[r].rank = (rank_ctx){&shared, r};
        pthread_create(&t[r], NULL, bn_slice, &part[r]);
    }
    for (int r = 0; r < 2; r++) pthread_join(t[r], NULL);
    pthread_barrier_destroy(&shared.barrier);
    double tol = 2e-6;
    for (int r = 0; r < 2; r++) {
        bn_run *p = &part[r];
        double ey = rel_err_f(p->y, whole.y + p->row0 * C, p->rows * C);
        double edx = rel_err_f(p->dx, whole.dx + p->row0 * C, p->rows * C);
        CHECK(ey < tol && edx < tol, "rank %d: y %.2g, dx %.2g relative to the whole batch's", r, ey, edx);
        CHECK(rel_err_f(p->mean, whole.mean, C) < tol && rel_err_f(p->rstd, whole.rstd, C) < tol, "rank %d: stats", r);
        CHECK(rel_err_f(p->rmean, whole.rmean, C) < tol && rel_err_f(p->rvar, whole.rvar, C) < tol,
              "rank %d: running statistics", r);
    }
    printf("  2 slices vs the whole batch: y %.2g, dx %.2g, mean %.2g, running var %.2g (relative)\n",
           rel_err_f(part[1].y, whole.y + ROWS0 * C, (ROWS - ROWS0) * C),
           rel_err_f(part[1].dx, whole.dx + ROWS0 * C, (ROWS - ROWS0) * C), rel_err_f(part[1].mean, whole.mean, C),
           rel_err_f(part[1].rvar, whole.rvar, C));
    float dg[C], db[C];
    for (int j = 0; j < C; j++) dg[j] = part[0].dgamma[j] + part[1].dgamma[j], db[j] = part[0].dbeta[j] + part[1].dbeta[j];
    CHECK(rel_err_f(dg, whole.dgamma, C) < tol && rel_err_f(db, whole.dbeta, C) < tol, "dgamma %.2g dbeta %.2g",
          rel_err_f(dg, whole.dgamma, C), rel_err_f(db, whole.dbeta, C));
    /* without the hook a slice has its own statistics (the hook is what makes them the batch's) */
    bn_run alone;
    bn_init(&alone, x, dy, gamma, beta, 0, ROWS0);
    bn_slice(&alone);
    CHECK(rel_err_f(alone.mean, whole.mean, C) > 1e-4, "a slice alone has the batch's mean?");
    free(alone.y), free(alone.dx), free(whole.y), free(whole.dx);
    for (int r = 0; r < 2; r++) free(part[r].y), free(part[r].dx);
}

static void test_dropout_rows(void) {
    enum { B = 10, K = 6 };
    float whole[B * K], part[B * K];
    rng_t a, b;
    rng_seed(&a, 77);
    dropout_mask(whole, B * K, 0.5f, &a);
    long cut[3] = {0, 3, B};
    for (int r = 0; r < 2; r++) {
        rng_seed(&b, 77);
        dropout_set_rows(cut[r], cut[r + 1] - cut[r], B);
        dropout_mask(part + cut[r] * K, (cut[r + 1] - cut[r]) * K, 0.5f, &b);
        dropout_set_rows(0, 0, 0);
        CHECK(!memcmp(&a, &b, sizeof a), "rank %d: the stream does not end where the whole batch's does", r);
    }
    CHECK(!memcmp(whole, part, sizeof whole), "the slices' masks differ from the whole batch's");
    /* off again: a plain mask of the first rows is not the one of a later slice */
    rng_seed(&b, 77);
    dropout_mask(part, 4 * K, 0.5f, &b);
    CHECK(!memcmp(part, whole, 4 * K * sizeof(float)), "dropout_set_rows(0, 0, 0) left a slice set");
}

int main(void) {
    RUN(test_batchnorm_sync);
    RUN(test_dropout_rows);
    return test_summary();
}
