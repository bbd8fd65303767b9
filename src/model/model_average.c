/* The uniform weight average of models of one recipe (model/model_average.h). */
#include "model/model_average.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static int same_string(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

/* AVEMO_OK when b can be averaged with a (see the header), else an error naming b's path and the difference. */
static int check_compatible(const model_file *a, const model_file *b, const char *path_a, const char *path_b) {
    const char *what = NULL;
    if (a->n_members != 1 || b->n_members != 1) what = "a seed ensemble (average single models)";
    else if (memcmp(&a->m->cfg, &b->m->cfg, sizeof a->m->cfg)) what = "another model config";
    else if (a->n_classes != b->n_classes) what = "another number of classes";
    else if (a->speaker_norm != b->speaker_norm) what = "another per-speaker standardisation setting";
    else if (!same_string(a->prep_json, b->prep_json)) what = "other prep settings";
    else if (!a->backbone != !b->backbone) what = "a fine-tuned backbone where the other has none, or the reverse";
    else if (!a->audio_mean != !b->audio_mean || !a->video_mean != !b->video_mean) what = "other feature statistics";
    for (int k = 0; !what && k < a->n_classes; k++)
        if (strcmp(a->class_names[k], b->class_names[k])) what = "other class names";
    if (!what && a->backbone) {
        const mobilenetv2 *x = a->backbone, *y = b->backbone;
        if (a->input_size != b->input_size || x->in_channels != y->in_channels || x->n_classes != y->n_classes ||
            x->padding != y->padding || x->norm != y->norm || x->bn_eps != y->bn_eps || x->n_params != y->n_params ||
            x->n_buffers != y->n_buffers)
            what = "another backbone (input size, channels, padding, input normalisation or BN eps)";
    }
    if (what) {
        if (a->n_members != 1) path_b = path_a;
        return avemo_error(AVEMO_EINVAL, "%s: cannot be averaged with %s: %s", path_b, path_a, what);
    }
    return AVEMO_OK;
}

/* dst[i] += src[i] */
static void sum_into(float *dst, long n, const float *src) {
    for (long i = 0; i < n; i++) dst[i] += src[i];
}

static void scale(float *x, long n, float s) {
    for (long i = 0; i < n; i++) x[i] *= s;
}

int model_average(model_file *mf, const char *const *paths, int n) {
    if (n < 2) return avemo_error(AVEMO_EINVAL, "model average: %d model%s (at least 2)", n, n == 1 ? "" : "s");
    for (int j = 1; j < n; j++) {
        int rc = check_compatible(&mf[0], &mf[j], paths[0], paths[j]);
        if (rc) return rc;
    }
    model_file *a = &mf[0];
    int n_tensors = model_n_tensors(a->m);
    long nv = a->video_mean ? a->m->cfg.video_dim : 0, na = a->audio_mean ? a->m->cfg.audio_channels : 0;
    for (int j = 1; j < n; j++) {
        const model_file *b = &mf[j];
        for (int i = 0; i < n_tensors; i++)
            sum_into(model_tensor_data(a->m, i), model_tensor(a->m, i)->count, model_tensor_data(b->m, i));
        sum_into(a->video_mean, nv, b->video_mean);
        sum_into(a->video_std, nv, b->video_std);
        sum_into(a->audio_mean, na, b->audio_mean);
        sum_into(a->audio_std, na, b->audio_std);
        if (a->backbone) {
            sum_into(a->backbone->params, a->backbone->n_params, b->backbone->params);
            sum_into(a->backbone->buffers, a->backbone->n_buffers, b->backbone->buffers);
            if (b->backbone->num_batches_tracked > a->backbone->num_batches_tracked)
                a->backbone->num_batches_tracked = b->backbone->num_batches_tracked;
        }
    }
    float s = 1.0f / (float)n;
    for (int i = 0; i < n_tensors; i++) scale(model_tensor_data(a->m, i), model_tensor(a->m, i)->count, s);
    scale(a->video_mean, nv, s);
    scale(a->video_std, nv, s);
    scale(a->audio_mean, na, s);
    scale(a->audio_std, na, s);
    if (a->backbone) {
        scale(a->backbone->params, a->backbone->n_params, s);
        scale(a->backbone->buffers, a->backbone->n_buffers, s);
    }
    a->temperature = 1.0f;
    free(a->calibration);
    a->calibration = NULL;
    return AVEMO_OK;
}
