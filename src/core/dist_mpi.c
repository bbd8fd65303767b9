/* core/dist.h over MPI (`make MPI=1`; Open MPI, or any MPI-3 library): MPI_COMM_WORLD is the job. MPI starts
 * only when a launcher started the process (its environment names a rank), so the one binary run alone never
 * touches MPI and behaves as the default build. Errors return (MPI_ERRORS_RETURN) as AVEMO_EINTERNAL with
 * MPI's message; a rank that dies makes the launcher end the job. */
#include "core/dist.h"

#include "core/err.h"

#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DIST_CHUNK (1L << 28) /* elements per MPI call: MPI counts are int */
#define TAG_ASK 7301          /* worker -> rank 0: 1 = give me an item, 0 = I leave the queue */
#define TAG_ITEM 7302         /* rank 0 -> worker: the item, or -1 */
#define SERVE_POLL_NS 500000  /* the queue server's sleep between polls (0.5 ms: folds take minutes) */

static int mpi_started;
static int world_rank, world_size = 1;
static int thread_level;

/* The variables that mpirun (Open MPI), PMIx launchers (srun --mpi=pmix, Open MPI 5) and PMI-2 launchers
 * (srun --mpi=pmi2, MPICH's hydra) give each rank. */
static int launched_by_mpi(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

static int mpi_check(int err, const char *what) {
    if (err == MPI_SUCCESS) return AVEMO_OK;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(err, msg, &len);
    msg[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = 0;
    return avemo_error(AVEMO_EINTERNAL, "%s failed on rank %d: %s", what, world_rank, msg);
}

int dist_init(int *argc, char ***argv) {
    if (mpi_started || !launched_by_mpi()) return AVEMO_OK;
    int rc = mpi_check(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &thread_level), "MPI_Init_thread");
    if (rc) return rc;
    mpi_started = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    return AVEMO_OK;
}

void dist_finalize(void) {
    if (mpi_started) MPI_Finalize();
    mpi_started = 0;
    world_rank = 0;
    world_size = 1;
}

int dist_rank(void) { return world_rank; }
int dist_size(void) { return world_size; }
int dist_with_mpi(void) { return 1; }

int dist_barrier(void) { return world_size > 1 ? mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier") : AVEMO_OK; }

static int allreduce(void *v, long n, MPI_Datatype type, size_t elem_size, MPI_Op op) {
    for (long i = 0; world_size > 1 && i < n; i += DIST_CHUNK) {
        int count = (int)(n - i < DIST_CHUNK ? n - i : DIST_CHUNK);
        int rc = mpi_check(MPI_Allreduce(MPI_IN_PLACE, (char *)v + (size_t)i * elem_size, count, type, op,
                                         MPI_COMM_WORLD), "MPI_Allreduce");
        if (rc) return rc;
    }
    return AVEMO_OK;
}

int dist_allreduce_sum_f32(float *v, long n) { return allreduce(v, n, MPI_FLOAT, sizeof *v, MPI_SUM); }
int dist_allreduce_sum_f64(double *v, long n) { return allreduce(v, n, MPI_DOUBLE, sizeof *v, MPI_SUM); }
int dist_allreduce_sum_i64(int64_t *v, long n) { return allreduce(v, n, MPI_INT64_T, sizeof *v, MPI_SUM); }
int dist_allreduce_min_int(int *v, long n) { return allreduce(v, n, MPI_INT, sizeof *v, MPI_MIN); }
int dist_allreduce_max_int(int *v, long n) { return allreduce(v, n, MPI_INT, sizeof *v, MPI_MAX); }

int dist_bcast(void *buf, size_t bytes, int root) {
    for (size_t i = 0; world_size > 1 && i < bytes; i += DIST_CHUNK) {
        int count = (int)(bytes - i < (size_t)DIST_CHUNK ? bytes - i : (size_t)DIST_CHUNK);
        int rc = mpi_check(MPI_Bcast((char *)buf + i, count, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
        if (rc) return rc;
    }
    return AVEMO_OK;
}

int dist_gather_bytes(const void *mine, size_t n, unsigned char **all, size_t *all_bytes) {
    *all = NULL;
    *all_bytes = 0;
    if (n > (size_t)INT32_MAX) return avemo_error(AVEMO_EINVAL, "dist_gather_bytes: %zu bytes from one rank", n);
    if (world_size == 1) {
        if (!(*all = malloc(n ? n : 1))) return avemo_error(AVEMO_ENOMEM, "out of memory");
        if (n) memcpy(*all, mine, n);
        *all_bytes = n;
        return AVEMO_OK;
    }
    int count = (int)n, *counts = NULL, *offsets = NULL, rc = AVEMO_OK;
    if (world_rank == 0) {
        counts = calloc((size_t)world_size, sizeof *counts);
        offsets = calloc((size_t)world_size, sizeof *offsets);
        if (!counts || !offsets) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    }
    if (!rc) rc = mpi_check(MPI_Gather(&count, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
    size_t total = 0;
    for (int r = 0; !rc && world_rank == 0 && r < world_size; r++) {
        if (total + (size_t)counts[r] > (size_t)INT32_MAX)
            rc = avemo_error(AVEMO_EINVAL, "dist_gather_bytes: more than 2 GiB in all");
        offsets[r] = (int)total;
        total += (size_t)counts[r];
    }
    if (!rc && world_rank == 0 && !(*all = malloc(total ? total : 1))) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!rc)
        rc = mpi_check(MPI_Gatherv(mine, count, MPI_BYTE, *all, counts, offsets, MPI_BYTE, 0, MPI_COMM_WORLD),
                       "MPI_Gatherv");
    if (!rc) *all_bytes = total;
    free(counts);
    free(offsets);
    return rc;
}

/* ---------------------------------------------------------------- the work queue */

struct dist_queue {
    int n_items;
    atomic_int next;   /* rank 0: the next item not yet handed out */
    pthread_t server;  /* rank 0: answers the other ranks' requests */
    int serving;
    int server_rc;
    int done;          /* ranks > 0: had -1, or left */
    int fixed;         /* the MPI library lacks MPI_THREAD_SERIALIZED: items k = rank + i * size, no server */
    int fixed_next;
};

static void sleep_ns(long ns) {
    struct timespec t = {0, ns};
    nanosleep(&t, NULL);
}

/* Rank 0's helper thread: one item per request until every other rank has had its -1 or left. It polls
 * (MPI_Test and a short sleep) rather than blocking in MPI_Recv, which spins a core in Open MPI. */
static void *queue_serve(void *arg) {
    dist_queue *q = arg;
    int finished = 0;
    while (finished < world_size - 1 && !q->server_rc) {
        int want = 0, flag = 0;
        MPI_Request req;
        MPI_Status st;
        q->server_rc = mpi_check(MPI_Irecv(&want, 1, MPI_INT, MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &req), "MPI_Irecv");
        while (!q->server_rc && !flag) {
            q->server_rc = mpi_check(MPI_Test(&req, &flag, &st), "MPI_Test");
            if (!flag) sleep_ns(SERVE_POLL_NS);
        }
        if (q->server_rc) break;
        if (!want) {
            finished++;
            continue;
        }
        int item = atomic_fetch_add(&q->next, 1);
        if (item >= q->n_items) {
            item = -1;
            finished++;
        }
        q->server_rc = mpi_check(MPI_Send(&item, 1, MPI_INT, st.MPI_SOURCE, TAG_ITEM, MPI_COMM_WORLD), "MPI_Send");
    }
    return NULL;
}

int dist_queue_open(dist_queue **q, int n_items) {
    *q = calloc(1, sizeof **q);
    if (!*q) return avemo_error(AVEMO_ENOMEM, "out of memory");
    (*q)->n_items = n_items;
    atomic_init(&(*q)->next, 0);
    (*q)->fixed = world_size > 1 && thread_level < MPI_THREAD_SERIALIZED;
    (*q)->fixed_next = world_rank;
    if (world_size > 1 && world_rank == 0 && !(*q)->fixed) {
        if (pthread_create(&(*q)->server, NULL, queue_serve, *q) != 0) {
            free(*q);
            *q = NULL;
            return avemo_error(AVEMO_EINTERNAL, "cannot start the work queue's thread");
        }
        (*q)->serving = 1;
    }
    return AVEMO_OK;
}

int dist_queue_next(dist_queue *q) {
    if (q->fixed) {
        int item = q->fixed_next < q->n_items ? q->fixed_next : -1;
        q->fixed_next += world_size;
        return item;
    }
    if (world_rank == 0 || world_size == 1) {
        int item = atomic_fetch_add(&q->next, 1);
        return item < q->n_items ? item : -1;
    }
    if (q->done) return -1;
    int want = 1, item = -1;
    if (mpi_check(MPI_Send(&want, 1, MPI_INT, 0, TAG_ASK, MPI_COMM_WORLD), "MPI_Send") ||
        mpi_check(MPI_Recv(&item, 1, MPI_INT, 0, TAG_ITEM, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv"))
        item = -1;
    if (item < 0) q->done = 1;
    return item;
}

int dist_queue_close(dist_queue *q) {
    int rc = AVEMO_OK;
    if (!q) return rc;
    if (world_size > 1 && world_rank > 0 && !q->fixed && !q->done) {
        int leave = 0;
        rc = mpi_check(MPI_Send(&leave, 1, MPI_INT, 0, TAG_ASK, MPI_COMM_WORLD), "MPI_Send");
    }
    if (q->serving) {
        pthread_join(q->server, NULL);
        if (!rc && q->server_rc) rc = avemo_error(q->server_rc, "the work queue's thread failed (an MPI call)");
    }
    free(q);
    int brc = dist_barrier();
    return rc ? rc : brc;
}
