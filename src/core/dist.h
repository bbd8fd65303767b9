/* Ranks of a job started several times by an MPI launcher (mpirun -np N, srun --mpi=pmix), behind one small
 * interface: the rest of avemo calls dist_rank(), dist_allreduce_sum_f32(), ... and never includes mpi.h.
 *
 * Two implementations of these functions, one per build: core/dist.c (the default build: one rank, no MPI
 * anywhere) and core/dist_mpi.c (`make MPI=1`). The MPI build uses MPI only when a launcher started it
 * (its environment names a rank: OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK); run alone it is one rank
 * and behaves exactly as the default build. Every function returns AVEMO_OK or an avemo status with its
 * message (core/err.h). Collective calls (barrier, allreduce, bcast, gather, queue open and close, agree)
 * must be made by every rank in the same order.
 *
 * Built on top (core/dist_jobs.c, one implementation for both builds): dist_agree (one decision about
 * success for all ranks, with the failing rank's message) and dist_run_items (a dynamic queue of N items
 * over the ranks, each item's result shared with every rank). */
#ifndef AVEMO_CORE_DIST_H
#define AVEMO_CORE_DIST_H
#include <stddef.h>
#include <stdint.h>

/* Call once at the start of main (before threads): MPI_Init_thread when a launcher started the process.
 * argc/argv may be NULL. */
int dist_init(int *argc, char ***argv);
/* Call once at the end of main (a no-op when dist_init did not start MPI). */
void dist_finalize(void);
int dist_rank(void);     /* 0 .. dist_size() - 1; 0 alone */
int dist_size(void);     /* 1 alone */
int dist_with_mpi(void); /* 1 when built with MPI=1 */

int dist_barrier(void);
/* In-place sums over the ranks of v[n] (every rank ends with the same values). */
int dist_allreduce_sum_f32(float *v, long n);
int dist_allreduce_sum_f64(double *v, long n);
int dist_allreduce_sum_i64(int64_t *v, long n);
/* In-place minimum / maximum over the ranks of v[n]. */
int dist_allreduce_min_int(int *v, long n);
int dist_allreduce_max_int(int *v, long n);
/* buf[bytes] of rank `root` to every rank. */
int dist_bcast(void *buf, size_t bytes, int root);
/* Rank 0 receives every rank's `mine[n]` bytes, concatenated in rank order: *all (malloc'd) and *all_bytes;
 * on the other ranks *all = NULL, *all_bytes = 0. */
int dist_gather_bytes(const void *mine, size_t n, unsigned char **all, size_t *all_bytes);

/* A dynamic queue of items 0 .. n_items-1 shared by the ranks: each call of dist_queue_next hands out the
 * next item not yet taken by any rank (rank 0 serves the queue from a helper thread, so it works too), or -1
 * when none is left. Between open and close a rank may make no other dist_* call (MPI_THREAD_SERIALIZED):
 * the items' work must be local to the rank. */
typedef struct dist_queue dist_queue;
int dist_queue_open(dist_queue **q, int n_items); /* collective */
int dist_queue_next(dist_queue *q);
int dist_queue_close(dist_queue *q); /* collective: after every rank has had its -1 */

/* ---- core/dist_jobs.c */

/* Every rank calls it with its own status; all return the same: AVEMO_OK when every rank succeeded, else the
 * status and message of the lowest failing rank (prefixed "rank R: " on every rank when R > 0). */
int dist_agree(int status);

/* Runs run(ctx, k) for the items k = 0 .. n_items-1 handed out by a dist_queue (alone: in order), writing item
 * k's result into results[k] (result_size bytes each); then every rank gets every item's result, and owner[k]
 * (may be NULL) the rank that ran it. A rank whose item fails takes no more items; the status is agreed
 * (dist_agree). */
int dist_run_items(int n_items, int (*run)(void *ctx, int item), void *ctx, void *results, size_t result_size,
                   int *owner);

/* *s (malloc'd string, may be NULL) of rank `root` to every rank (replacing theirs). */
int dist_bcast_string(char **s, int root);

#endif
