/* Data-parallel steps over the ranks of an MPI job (see train/data_parallel.h). */
#include "train/data_parallel.h"

#include "core/dist.h"
#include "core/err.h"
#include "nn/nn.h"

#include <string.h>

void dp_init(data_parallel *dp, int local_bn) {
    memset(dp, 0, sizeof *dp);
    dp->rank = dist_rank();
    dp->size = dist_size();
    dp->local_bn = local_bn;
}

/* nn.h batchnorm_sum_fn: the BN sums of every rank; a failure is kept for dp_step_end. */
static int bn_sum(double *v, long n, void *ctx) {
    data_parallel *dp = ctx;
    int rc = dist_allreduce_sum_f64(v, n);
    if (rc && !dp->status) dp->status = rc;
    return rc;
}

void dp_take_slice(data_parallel *dp, const float **video, long video_per, const float **audio, long audio_per,
                   const int **labels, int *rows) {
    int n = *rows;
    dp->batch_rows = n;
    dp->status = AVEMO_OK;
    dp->whole = n < dp->size;
    /* rows split as evenly as they go: rank r takes [n r / size, n (r + 1) / size) */
    dp->row0 = dp->whole ? 0 : (int)((long)n * dp->rank / dp->size);
    dp->rows = dp->whole ? n : (int)((long)n * (dp->rank + 1) / dp->size) - dp->row0;
    if (dp->whole) return;
    if (*video) *video += (long)dp->row0 * video_per;
    if (*audio) *audio += (long)dp->row0 * audio_per;
    if (*labels) *labels += dp->row0;
    *rows = dp->rows;
    dropout_set_rows(dp->row0, dp->rows, n);
    if (!dp->local_bn) batchnorm_set_sync(bn_sum, dp);
}

float dp_loss_scale(const data_parallel *dp) { return dp->whole ? 1.0f : (float)dp->rows / (float)dp->batch_rows; }

int dp_step_end(data_parallel *dp, int status, float *grad, long n_grad, float *buffers, long n_buffers,
                double stats[3]) {
    dropout_set_rows(0, 0, 0);
    batchnorm_set_sync(NULL, NULL);
    if (!status) status = dp->status;
    int rc = AVEMO_OK;
    if (!dp->whole) {
        rc = dist_allreduce_sum_f32(grad, n_grad);
        if (!rc && dp->local_bn && n_buffers > 0 && !(rc = dist_allreduce_sum_f32(buffers, n_buffers)))
            for (long i = 0; i < n_buffers; i++) buffers[i] /= (float)dp->size;
    }
    /* the batch's loss, correct predictions and rows; a whole batch counts once (rank 0's) */
    double sums[4] = {stats[0], stats[1], stats[2], status || rc ? 1.0 : 0.0};
    if (dp->whole && dp->rank > 0) sums[0] = sums[1] = sums[2] = 0.0;
    int src = dist_allreduce_sum_f64(sums, 4);
    if (src) return src;
    memcpy(stats, sums, 3 * sizeof *stats);
    return sums[3] > 0 ? dist_agree(status ? status : rc) : AVEMO_OK;
}

int dp_is_writer(const data_parallel *dp) { return !dp || dp->rank == 0; }

int dp_agree(const data_parallel *dp, int status) { return dp ? dist_agree(status) : status; }
