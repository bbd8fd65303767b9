/* core/dist.h without MPI (the default build): one rank; sums and broadcasts leave their buffers as they are,
 * the queue hands out 0, 1, 2, ... in order. core/dist_mpi.c replaces this file in `make MPI=1`. Started by a
 * launcher as one of several ranks, dist_init fails: each copy would run the whole job into the same files. */
#include "core/dist.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

/* The job's size that Open MPI's mpirun (OMPI_COMM_WORLD_SIZE) or a PMI launcher (PMI_SIZE: srun --mpi=pmi2,
 * MPICH's hydra) gives each rank; 1 when none did. */
static long launcher_size(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && atol(v) > 1) return atol(v);
    }
    return 1;
}

int dist_init(int *argc, char ***argv) {
    long size = launcher_size();
    if (size > 1)
        return avemo_error(AVEMO_EINVAL, "started as one of %ld MPI ranks, but this avemo was built without MPI: "
                                         "build it with `make MPI=1`, or run it alone", size);
    return AVEMO_OK;
}
void dist_finalize(void) {}
int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }
int dist_with_mpi(void) { return 0; }
int dist_barrier(void) { return AVEMO_OK; }
int dist_allreduce_sum_f32(float *v, long n) { return AVEMO_OK; }
int dist_allreduce_sum_f64(double *v, long n) { return AVEMO_OK; }
int dist_allreduce_sum_i64(int64_t *v, long n) { return AVEMO_OK; }
int dist_allreduce_min_int(int *v, long n) { return AVEMO_OK; }
int dist_allreduce_max_int(int *v, long n) { return AVEMO_OK; }
int dist_bcast(void *buf, size_t bytes, int root) { return AVEMO_OK; }

int dist_gather_bytes(const void *mine, size_t n, unsigned char **all, size_t *all_bytes) {
    *all = malloc(n ? n : 1);
    *all_bytes = 0;
    if (!*all) return avemo_error(AVEMO_ENOMEM, "out of memory");
    if (n) memcpy(*all, mine, n);
    *all_bytes = n;
    return AVEMO_OK;
}

struct dist_queue {
    int next, n_items;
};

int dist_queue_open(dist_queue **q, int n_items) {
    *q = calloc(1, sizeof **q);
    if (!*q) return avemo_error(AVEMO_ENOMEM, "out of memory");
    (*q)->n_items = n_items;
    return AVEMO_OK;
}

int dist_queue_next(dist_queue *q) { return q->next < q->n_items ? q->next++ : -1; }

int dist_queue_close(dist_queue *q) {
    free(q);
    return AVEMO_OK;
}
