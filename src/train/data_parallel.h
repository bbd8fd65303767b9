/* Data-parallel training of one model over the ranks of an MPI job (core/dist.h): `avemo train --distribute
 * batch` under mpirun / srun.
 *
 * Every rank holds the model, the optimizer state and the training set, and draws the same batches (the
 * trainer's seeds). Each step a rank takes its slice of the batch's rows, runs forward and backward on it with
 * the loss scaled by rows / batch rows, then the gradients are summed over the ranks (one MPI_Allreduce over
 * the flat gradient vector: the head's parameters are one allocation, model.h grad_mem; a fine-tuned backbone's
 * gradients are another flat buffer, passed the same way) and every rank takes the same optimizer step. So
 * the ranks' weights stay identical, and equal to one process's with the same global batch up to float
 * rounding (sums in another order; tests/mpi/test_mpi_train.c: within 1e-5 relative after several steps):
 *   - dropout: each rank draws, from the common stream, the values one process draws for its rows
 *     (nn.h dropout_set_rows); modality dropout is applied to the whole batch on every rank, then sliced;
 *   - batch normalisation: synchronised (default): the per-channel sums of forward and backward are summed over
 *     the ranks (nn.h batchnorm_set_sync), so the statistics are the whole batch's; local (--local-bn): each
 *     rank normalises with its own rows' statistics (no communication inside the step, not equal to one
 *     process), and the running statistics are averaged over the ranks after each step;
 *   - a batch with fewer rows than there are ranks (an epoch's last) runs whole on every rank.
 * Rank 0 writes the checkpoints and reports; every rank reads the checkpoint to resume (train/trainer.c).
 *
 * Per step: dp_take_slice (before the forward), model_backward_scaled(..., dp_loss_scale(dp)), then
 * dp_step_end (after the backward, before the optimizer step). */
#ifndef AVEMO_TRAIN_DATA_PARALLEL_H
#define AVEMO_TRAIN_DATA_PARALLEL_H

typedef struct {
    int rank, size;
    int local_bn;       /* 1: each rank's own BN statistics */
    int row0, rows;     /* this step: this rank's rows [row0, row0 + rows) */
    int batch_rows;     /* this step: the batch's rows */
    int whole;          /* this step: the batch runs whole on every rank */
    int status;         /* this step: the first failed sum of synchronised BN */
} data_parallel;

/* Over the job's ranks (core/dist.h). */
void dp_init(data_parallel *dp, int local_bn);

/* Start a step on a batch of *rows rows (video [rows, video_per], audio [rows, audio_per], labels; a NULL
 * pointer stays NULL): they become this rank's slice; sets this thread's dropout slice and synchronised BN. */
void dp_take_slice(data_parallel *dp, const float **video, long video_per, const float **audio, long audio_per,
                   const int **labels, int *rows);

/* The scale of this rank's loss for model_backward_scaled: rows / batch rows (1 when whole). */
float dp_loss_scale(const data_parallel *dp);

/* End the step after the backward (status: this rank's so far): turns the thread's hooks off, sums grad[n_grad]
 * over the ranks (local BN: averages buffers[n_buffers]), and sums stats[3] = (loss x rows, correct, rows) of
 * this rank's rows into the batch's. Returns the status agreed by the ranks (core/dist.h dist_agree). */
int dp_step_end(data_parallel *dp, int status, float *grad, long n_grad, float *buffers, long n_buffers,
                double stats[3]);

/* 1 on the rank that writes files (rank 0); 1 when dp is NULL (training alone). */
int dp_is_writer(const data_parallel *dp);
/* The status agreed by the ranks (dist_agree); `status` itself when dp is NULL. */
int dp_agree(const data_parallel *dp, int status);

#endif
