/* core/dist.h with one rank: what every build does when the program is not started by an MPI launcher (the
 * default build always; an MPI=1 build run alone). The queue hands out the items in order, results stay where
 * they were written, sums and broadcasts change nothing, a failure's status and message pass through.
 * tests/mpi/ runs the same functions over two ranks (make test MPI=1). */
#include "test.h"

#include "core/dist.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static void test_one_rank(void) {
    CHECK(dist_init(NULL, NULL) == AVEMO_OK, "dist_init alone: %s", avemo_last_error());
    CHECK(dist_rank() == 0 && dist_size() == 1, "rank %d of %d", dist_rank(), dist_size());
    float f[3] = {1, 2, 3};
    double d[2] = {0.5, -1};
    int64_t i64[2] = {7, -7};
    int mn[2] = {4, 5};
    CHECK(dist_allreduce_sum_f32(f, 3) == 0 && f[0] == 1 && f[2] == 3, "float sum changed the values");
    CHECK(dist_allreduce_sum_f64(d, 2) == 0 && d[0] == 0.5 && d[1] == -1, "double sum changed the values");
    CHECK(dist_allreduce_sum_i64(i64, 2) == 0 && i64[0] == 7, "int64 sum changed the values");
    CHECK(dist_allreduce_min_int(mn, 2) == 0 && dist_allreduce_max_int(mn, 2) == 0 && mn[1] == 5, "min/max");
    CHECK(dist_bcast(f, sizeof f, 0) == 0 && f[1] == 2 && dist_barrier() == 0, "bcast / barrier");
    unsigned char *all = NULL;
    size_t n_all = 0;
    CHECK(dist_gather_bytes("abc", 3, &all, &n_all) == 0 && n_all == 3 && all && !memcmp(all, "abc", 3), "gather");
    free(all);
    char *s = strdup("fingerprint");
    CHECK(dist_bcast_string(&s, 0) == 0 && !strcmp(s, "fingerprint"), "bcast_string");
    free(s);
    dist_finalize();
}

static void test_queue_in_order(void) {
    dist_queue *q;
    CHECK(dist_queue_open(&q, 3) == 0, "open");
    int a = dist_queue_next(q), b = dist_queue_next(q), c = dist_queue_next(q), d = dist_queue_next(q);
    CHECK(a == 0 && b == 1 && c == 2 && d == -1 && dist_queue_next(q) == -1, "items %d %d %d %d", a, b, c, d);
    CHECK(dist_queue_close(q) == 0, "close");
}

typedef struct {
    int order[8], n, fail_at;
} items_ctx;

static int square_item(void *arg, int k) {
    items_ctx *c = arg;
    c->order[c->n++] = k;
    if (k == c->fail_at) return avemo_error(AVEMO_EINVAL, "item %d failed", k);
    return AVEMO_OK;
}

static int results[8];
static int square_result(void *arg, int k) {
    results[k] = k * k;
    return square_item(arg, k);
}

static void test_run_items(void) {
    items_ctx c = {.fail_at = -1};
    int owner[5];
    CHECK(dist_run_items(5, square_result, &c, results, sizeof *results, owner) == 0, "%s", avemo_last_error());
    CHECK(c.n == 5, "%d items run", c.n);
    for (int k = 0; k < 5; k++) CHECK(c.order[k] == k && results[k] == k * k && owner[k] == 0, "item %d", k);
    /* a failure stops the queue and its status and message come back unchanged (one rank) */
    items_ctx f = {.fail_at = 2};
    int rc = dist_run_items(5, square_result, &f, results, sizeof *results, NULL);
    CHECK(rc == AVEMO_EINVAL && f.n == 3 && strstr(avemo_last_error(), "item 2 failed"), "rc %d after %d items: %s",
          rc, f.n, avemo_last_error());
    CHECK(dist_agree(AVEMO_EIO) == AVEMO_EIO && dist_agree(AVEMO_OK) == AVEMO_OK, "agree with one rank");
}

/* The default build started by mpirun as one of 2 ranks refuses (each copy would run the whole job into the
 * same files); a job of one rank is fine. The MPI=1 build would start MPI here: not tested in it. */
static void test_default_build_under_launcher(void) {
    if (dist_with_mpi()) return;
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    int rc = dist_init(NULL, NULL);
    CHECK(rc == AVEMO_EINVAL && strstr(avemo_last_error(), "make MPI=1"), "rc %d: %s", rc, avemo_last_error());
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
    CHECK(dist_init(NULL, NULL) == AVEMO_OK && dist_size() == 1, "one rank: %s", avemo_last_error());
    unsetenv("OMPI_COMM_WORLD_SIZE");
    dist_finalize();
}

int main(void) {
    RUN(test_one_rank);
    RUN(test_default_build_under_launcher);
    RUN(test_queue_in_order);
    RUN(test_run_items);
    return test_summary();
}
