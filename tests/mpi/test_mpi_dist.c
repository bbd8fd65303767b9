/* core/dist.h over 2 MPI ranks: this binary starts itself under mpirun (tests/mpi/mpi_launch.h); each rank
 * checks sums, min / max, broadcasts, the gather, the dynamic queue (every item handed out exactly once, the
 * busy rank taking fewer), dist_run_items (results shared with every rank), dist_agree (the failing rank's
 * status and message, "rank 1: ...", on both) and the string broadcast; the test reads their verdicts. */
#include "mpi_launch.h"

#include "core/dist.h"
#include "core/err.h"

#define N_ITEMS 24

static int rank_failures;

#define RCHECK(cond, ...)                                                                                      \
    do {                                                                                                       \
        if (!(cond)) {                                                                                         \
            fprintf(stderr, "rank %d: FAIL line %d: ", dist_rank(), __LINE__);                                 \
            fprintf(stderr, __VA_ARGS__);                                                                      \
            fputc('\n', stderr);                                                                               \
            rank_failures++;                                                                                   \
        }                                                                                                      \
    } while (0)

static void rank_collectives(int r) {
    float f[2] = {(float)(r + 1), 10.0f * (float)(r + 1)};
    double d[1] = {0.25 * (r + 1)};
    int64_t i64[1] = {(int64_t)1 << (40 + r)};
    int mn[1] = {5 - r}, mx[1] = {5 - r};
    RCHECK(dist_allreduce_sum_f32(f, 2) == 0 && f[0] == 3 && f[1] == 30, "f32 sum %g %g", f[0], f[1]);
    RCHECK(dist_allreduce_sum_f64(d, 1) == 0 && d[0] == 0.75, "f64 sum %g", d[0]);
    RCHECK(dist_allreduce_sum_i64(i64, 1) == 0 && i64[0] == ((int64_t)3 << 40), "i64 sum");
    RCHECK(dist_allreduce_min_int(mn, 1) == 0 && dist_allreduce_max_int(mx, 1) == 0 && mn[0] == 4 && mx[0] == 5,
           "min %d max %d", mn[0], mx[0]);
    char word[8] = "";
    if (r == 1) snprintf(word, sizeof word, "from1");
    RCHECK(dist_bcast(word, sizeof word, 1) == 0 && !strcmp(word, "from1"), "bcast: '%s'", word);
    unsigned char mine[2] = {(unsigned char)('a' + r), (unsigned char)('a' + r)}, *all = NULL;
    size_t n_all = 0;
    RCHECK(dist_gather_bytes(mine, (size_t)r + 1, &all, &n_all) == 0, "gather: %s", avemo_last_error());
    if (r == 0) RCHECK(n_all == 3 && all && !memcmp(all, "abb", 3), "gather: %zu bytes", n_all);
    else RCHECK(!all && n_all == 0, "gather: rank 1 got bytes");
    free(all);
    char *s = r == 1 ? strdup("a fingerprint") : NULL;
    RCHECK(dist_bcast_string(&s, 1) == 0 && s && !strcmp(s, "a fingerprint"), "bcast_string");
    free(s);
}

static void rank_queue(int r) {
    int got[N_ITEMS] = {0}, mine = 0;
    dist_queue *q;
    RCHECK(dist_queue_open(&q, N_ITEMS) == 0, "queue open");
    for (int k; (k = dist_queue_next(q)) >= 0; mine++) {
        RCHECK(k < N_ITEMS, "item %d", k);
        if (k >= 0 && k < N_ITEMS) got[k]++;
        mt_sleep_ms(r == 0 ? 12 : 2); /* rank 0 is the slow one: rank 1 must take more */
    }
    RCHECK(dist_queue_next(q) == -1 && dist_queue_close(q) == 0, "queue close");
    int64_t times[N_ITEMS + 2] = {0};
    for (int k = 0; k < N_ITEMS; k++) times[k] = got[k];
    times[N_ITEMS + r] = mine;
    RCHECK(dist_allreduce_sum_i64(times, N_ITEMS + 2) == 0, "sum");
    for (int k = 0; k < N_ITEMS; k++) RCHECK(times[k] == 1, "item %d handed out %lld times", k, (long long)times[k]);
    RCHECK(times[N_ITEMS + 1] > times[N_ITEMS], "the fast rank took %lld items, the slow one %lld",
           (long long)times[N_ITEMS + 1], (long long)times[N_ITEMS]);
    if (r == 0)
        printf("queue: rank 0 (12 ms per item) took %lld of %d items, rank 1 (2 ms) %lld\n", (long long)times[N_ITEMS],
               N_ITEMS, (long long)times[N_ITEMS + 1]);
}

static int item_squared(void *ctx, int k) {
    int *res = ctx;
    res[k] = k * k;
    return AVEMO_OK;
}

static void rank_items(int r) {
    int res[N_ITEMS] = {0}, owner[N_ITEMS];
    RCHECK(dist_run_items(N_ITEMS, item_squared, res, res, sizeof *res, owner) == 0, "%s", avemo_last_error());
    for (int k = 0; k < N_ITEMS; k++)
        RCHECK(res[k] == k * k && (owner[k] == 0 || owner[k] == 1), "item %d: %d from rank %d", k, res[k], owner[k]);
    /* agreement: rank 1 fails, both return its status and message */
    int rc = dist_agree(r == 1 ? avemo_error(AVEMO_EIO, "disk full") : AVEMO_OK);
    RCHECK(rc == AVEMO_EIO && !strcmp(avemo_last_error(), "rank 1: disk full"), "agree: %d '%s'", rc,
           avemo_last_error());
    RCHECK(dist_agree(AVEMO_OK) == AVEMO_OK, "agree ok");
}

static int rank_main(void) {
    int r = dist_rank();
    RCHECK(dist_size() == 2, "size %d", dist_size());
    if (dist_size() == 2) {
        rank_collectives(r);
        rank_queue(r);
        rank_items(r);
    }
    printf("rank %d: %s\n", r, rank_failures ? "FAILED" : "all checks passed");
    return rank_failures ? 1 : 0;
}

static void test_two_ranks(void) {
    char log[700], self[600], *cmd[2] = {self, NULL}, *argv[32];
    snprintf(log, sizeof log, "%s/ranks.log", test_tmpdir());
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    mt_mpirun_argv(argv, 2, cmd);
    int rc = mt_run(argv, log);
    unsigned char *text = NULL;
    size_t len = 0;
    file_read_all(log, 1 << 20, &text, &len);
    CHECK(rc == 0, "mpirun exited %d; the ranks said:\n%s", rc, text ? (char *)text : "(no log)");
    CHECK(text && strstr((char *)text, "rank 0: all checks passed") && strstr((char *)text, "rank 1: all checks passed"),
          "a rank did not pass: %s", text ? (char *)text : "");
    const char *q = text ? strstr((char *)text, "queue:") : NULL;
    if (q) printf("  %.*s\n", (int)strcspn(q, "\n"), q);
    free(text);
}

int main(int argc, char **argv) {
    if (dist_init(&argc, &argv)) {
        fprintf(stderr, "dist_init: %s\n", avemo_last_error());
        return 1;
    }
    if (dist_size() > 1) { /* started by the test below, under mpirun */
        int rc = rank_main();
        dist_finalize();
        return rc;
    }
    mt_single_threads();
    RUN(test_two_ranks);
    return test_summary();
}
