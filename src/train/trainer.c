#include "train/trainer.h"

#include "core/err.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "core/rng.h"
#include "data/cache.h"
#include "data/loader.h"
#include "data/protocol.h"
#include "model/model.h"
#include "model/model_file.h"
#include "model/model_init.h"
#include "nn/nn.h"
#include "train/plot.h"
#include "train/report.h"
#include "train/train_dist.h"
#include "train/train_state.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EVAL_BATCH 64

void train_options_default(train_options *o) {
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->epochs = 100;
    o->batch = 8;
    o->optimizer = OPT_SGD;
    o->lr = 0.04f;
    o->momentum = 0.9f;
    o->dampening = 0.9f;
    o->weight_decay = 1e-3f;
    o->schedule = SCHED_MULTISTEP;
    const int ms[] = {40, 55, 65, 70};
    o->n_milestones = 4;
    memcpy(o->milestones, ms, sizeof ms);
    o->gamma = 0.1f;
    model_config_default(&o->model, 8);
}

/* One progress line to the caller's log function (none when quiet or when there is no function). */
static void tlog(const train_options *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tlog(const train_options *o, const char *fmt, ...) {
    if (o->quiet || !o->log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->log(line, o->log_ctx);
}

/* Independent seeds for (fold, epoch, purpose): splitmix64 of a mix, so no two streams share draws. */
static uint64_t derive_seed(uint64_t seed, int fold, int epoch, int purpose) {
    uint64_t z = seed ^ ((uint64_t)fold << 40) ^ ((uint64_t)epoch << 16) ^ (uint64_t)purpose;
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned kinds_for(model_modality m) {
    if (m == MODALITY_AUDIO) return CACHE_BIT(CACHE_AUDIO);
    if (m == MODALITY_VIDEO) return CACHE_BIT(CACHE_FEATS);
    return CACHE_BIT(CACHE_AUDIO) | CACHE_BIT(CACHE_FEATS);
}

/* ---- one fold's data, standardised with the training samples' statistics ---- */

typedef struct {
    cache_set train, val, test;
    float *audio_mean, *audio_std, *video_mean, *video_std;
} fold_data;

static void fold_data_free(fold_data *d) {
    cache_set_free(&d->train);
    cache_set_free(&d->val);
    cache_set_free(&d->test);
    free(d->audio_mean);
    free(d->audio_std);
    free(d->video_mean);
    free(d->video_std);
    memset(d, 0, sizeof *d);
}

static int load_subset(const feature_cache *c, const int *idx, int n, unsigned kinds, cache_set *out) {
    memset(out, 0, sizeof *out);
    int *keep = malloc(((size_t)n + 1) * sizeof(int));
    if (!keep) return avemo_error(AVEMO_ENOMEM, "out of memory");
    memcpy(keep, idx, (size_t)n * sizeof(int));
    int k = cache_filter_indices(c, kinds, keep, n);
    int rc = k > 0 ? cache_load_set(c, keep, k, kinds, out) : AVEMO_OK;
    free(keep);
    return rc;
}

static void standardize_set(cache_set *s, const fold_data *d) {
    if (s->n == 0) return;
    if (s->audio) feature_standardize(s->audio, (long)s->n * s->audio_frames, s->audio_coeffs, d->audio_mean, d->audio_std);
    if (s->video) feature_standardize(s->video, (long)s->n * s->video_frames, s->video_dim, d->video_mean, d->video_std);
}

static int load_fold(const feature_cache *c, const fold *f, unsigned kinds, fold_data *d) {
    memset(d, 0, sizeof *d);
    int rc;
    if ((rc = load_subset(c, f->train, f->n_train, kinds, &d->train)) ||
        (rc = load_subset(c, f->val, f->n_val, kinds, &d->val)) ||
        (rc = load_subset(c, f->test, f->n_test, kinds, &d->test)))
        goto fail;
    if (d->train.n == 0) {
        rc = avemo_error(AVEMO_EINVAL, "%s: no training sample has the features this model needs (run prep)", c->dir);
        goto fail;
    }
    cache_set *t = &d->train;
    if (t->audio) {
        d->audio_mean = malloc((size_t)t->audio_coeffs * sizeof(float));
        d->audio_std = malloc((size_t)t->audio_coeffs * sizeof(float));
        if (!d->audio_mean || !d->audio_std) goto nomem;
        feature_stats(t->audio, (long)t->n * t->audio_frames, t->audio_coeffs, d->audio_mean, d->audio_std);
    }
    if (t->video) {
        d->video_mean = malloc((size_t)t->video_dim * sizeof(float));
        d->video_std = malloc((size_t)t->video_dim * sizeof(float));
        if (!d->video_mean || !d->video_std) goto nomem;
        feature_stats(t->video, (long)t->n * t->video_frames, t->video_dim, d->video_mean, d->video_std);
    }
    standardize_set(&d->train, d);
    standardize_set(&d->val, d);
    standardize_set(&d->test, d);
    return AVEMO_OK;
nomem:
    rc = avemo_error(AVEMO_ENOMEM, "out of memory");
fail:
    fold_data_free(d);
    return rc;
}

/* ---- batches ---- */

typedef struct {
    float *video, *audio;
    int *labels;
    long video_per, audio_per; /* floats per sample */
} batch_buf;

static int batch_alloc(batch_buf *b, const cache_set *s, int rows) {
    memset(b, 0, sizeof *b);
    b->video_per = s->video ? (long)s->video_frames * s->video_dim : 0;
    b->audio_per = s->audio ? (long)s->audio_frames * s->audio_coeffs : 0;
    b->labels = malloc((size_t)rows * sizeof(int));
    if (b->video_per) b->video = malloc((size_t)rows * b->video_per * sizeof(float));
    if (b->audio_per) b->audio = malloc((size_t)rows * b->audio_per * sizeof(float));
    if (!b->labels || (b->video_per && !b->video) || (b->audio_per && !b->audio))
        return avemo_error(AVEMO_ENOMEM, "out of memory for a batch of %d", rows);
    return AVEMO_OK;
}

static void batch_free(batch_buf *b) {
    free(b->video);
    free(b->audio);
    free(b->labels);
}

static void batch_gather(batch_buf *b, const cache_set *s, const int *rows, int n) {
    for (int i = 0; i < n; i++) {
        int r = rows[i];
        b->labels[i] = s->labels[r];
        if (b->video) memcpy(b->video + i * b->video_per, s->video + r * b->video_per, b->video_per * sizeof(float));
        if (b->audio) memcpy(b->audio + i * b->audio_per, s->audio + r * b->audio_per, b->audio_per * sizeof(float));
    }
}

/* Evaluation-mode forward over a whole set: probs [n, classes], mean loss. */
static int evaluate_set(model *m, const cache_set *s, float *probs, double *loss) {
    batch_buf b;
    int rc = batch_alloc(&b, s, EVAL_BATCH), n_classes = m->cfg.n_classes;
    int *rows = malloc(EVAL_BATCH * sizeof(int));
    double sum = 0;
    if (!rc && !rows) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int i0 = 0; !rc && i0 < s->n; i0 += EVAL_BATCH) {
        int n = s->n - i0 < EVAL_BATCH ? s->n - i0 : EVAL_BATCH;
        for (int i = 0; i < n; i++) rows[i] = i0 + i;
        batch_gather(&b, s, rows, n);
        if ((rc = model_forward(m, b.video, b.audio, b.labels, n, 0, NULL))) break;
        memcpy(probs + (size_t)i0 * n_classes, m->acts.probs, (size_t)n * n_classes * sizeof(float));
        sum += (double)m->loss * n;
    }
    if (loss) *loss = s->n ? sum / s->n : NAN;
    free(rows);
    batch_free(&b);
    return rc;
}

static double top1_of(const float *probs, const int *labels, int n, int n_classes) {
    return n ? metrics_topk(probs, labels, n, n_classes, 1) : NAN;
}

/* ---- training ---- */

static float lr_at(const train_options *o, int epoch) {
    switch (o->schedule) {
    case SCHED_COSINE: return lr_cosine(o->lr, epoch, o->epochs, o->min_lr);
    case SCHED_CONSTANT: return o->lr;
    default: return lr_multistep(o->lr, epoch, o->milestones, o->n_milestones, o->gamma);
    }
}

static double round7(float x) { /* float -> the shortest decimal that reads back the same (for readable JSON) */
    char buf[32];
    snprintf(buf, sizeof buf, "%.7g", x);
    return strtod(buf, NULL);
}

static char *options_fingerprint(const train_options *o, const model_config *cfg, uint64_t data_hash, const char *protocol) {
    char *mc = model_config_to_json(cfg);
    cJSON *j = cJSON_CreateObject();
    char buf[32];
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)data_hash);
    cJSON_AddStringToObject(j, "data_hash", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)o->seed);
    cJSON_AddStringToObject(j, "seed", buf);
    cJSON_AddStringToObject(j, "protocol", protocol);
    cJSON_AddNumberToObject(j, "epochs", o->epochs);
    cJSON_AddNumberToObject(j, "batch", o->batch);
    static const char *opt_names[] = {"sgd", "adam", "adamw"}, *sched_names[] = {"multistep", "cosine", "constant"};
    cJSON_AddStringToObject(j, "optimizer", opt_names[o->optimizer]);
    cJSON_AddNumberToObject(j, "lr", round7(o->lr));
    cJSON_AddNumberToObject(j, "momentum", round7(o->momentum));
    cJSON_AddNumberToObject(j, "dampening", round7(o->dampening));
    cJSON_AddNumberToObject(j, "weight_decay", round7(o->weight_decay));
    cJSON_AddNumberToObject(j, "nesterov", o->nesterov);
    cJSON_AddStringToObject(j, "schedule", sched_names[o->schedule]);
    cJSON *ms = cJSON_CreateArray();
    for (int i = 0; i < o->n_milestones; i++) cJSON_AddItemToArray(ms, cJSON_CreateNumber(o->milestones[i]));
    cJSON_AddItemToObject(j, "milestones", ms);
    cJSON_AddNumberToObject(j, "gamma", round7(o->gamma));
    cJSON_AddNumberToObject(j, "min_lr", round7(o->min_lr));
    if (mc) cJSON_AddItemToObject(j, "model", cJSON_Parse(mc));
    if (o->init_visual) cJSON_AddStringToObject(j, "init_visual", o->init_visual);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    free(mc);
    return s;
}

typedef struct {
    const train_options *options;
    const feature_cache *cache;
    const char *protocol;
    char *fingerprint; /* the current fold's options_fingerprint (the same for every fold of a run) */
    data_parallel *dp; /* under MPI, data-parallel (train/data_parallel.h); NULL: this process alone */
} run_ctx;

/* One fold's training state: the model, optimizer moments, the weights of the selected epoch, history and
 * scratch buffers. */
typedef struct {
    model *model;
    float *opt_m, *opt_v;   /* optimizer moments [n_params] (opt_v: Adam and AdamW only) */
    float *best;            /* [n_params + n_buffers]: parameters and BN statistics of the selected epoch */
    int have_best;
    train_history history;
    float *probs;           /* [max(train, val, test samples), classes]: evaluation output */
    int *perm, *rows;       /* [train samples] the epoch's order, [batch] one batch's rows */
    int *pred_labels;       /* [batch rows] */
    batch_buf batch, dropout_batch; /* a batch; the modality-dropout batch made from it (4 x the rows) */
} fold_state;

static void fold_state_free(fold_state *s) {
    batch_free(&s->batch);
    batch_free(&s->dropout_batch);
    free(s->opt_m);
    free(s->opt_v);
    free(s->best);
    free(s->probs);
    free(s->perm);
    free(s->rows);
    free(s->pred_labels);
    free(s->history.train_loss);
    free(s->history.train_acc);
    free(s->history.val_loss);
    free(s->history.val_acc);
    if (s->model) model_free(s->model);
    memset(s, 0, sizeof *s);
}

/* The model for fold k (initialised from the fold's seed) and every buffer its training needs. */
static int fold_state_alloc(fold_state *s, const train_options *o, const model_config *cfg, const fold_data *d,
                            int k) {
    memset(s, 0, sizeof *s);
    s->history.best_val = NAN;
    int epochs = o->epochs, n_classes = cfg->n_classes, batch = o->batch;
    int rows_max = batch * (cfg->modality_dropout ? 4 : 1);
    int rc = model_create(&s->model, cfg, derive_seed(o->seed, k, 0, 0));
    if (rc) return rc;
    long n_state = s->model->n_params + s->model->n_buffers;
    s->opt_m = calloc((size_t)s->model->n_params, sizeof(float));
    if (o->optimizer != OPT_SGD) s->opt_v = calloc((size_t)s->model->n_params, sizeof(float));
    s->best = malloc((size_t)n_state * sizeof(float));
    train_history *h = &s->history;
    h->train_loss = calloc((size_t)epochs, sizeof(float));
    h->train_acc = calloc((size_t)epochs, sizeof(float));
    h->val_loss = calloc((size_t)epochs, sizeof(float));
    h->val_acc = calloc((size_t)epochs, sizeof(float));
    int n_eval_max = d->train.n > d->val.n ? d->train.n : d->val.n;
    if (d->test.n > n_eval_max) n_eval_max = d->test.n;
    s->probs = malloc((size_t)n_eval_max * n_classes * sizeof(float));
    s->perm = malloc((size_t)d->train.n * sizeof(int));
    s->rows = malloc((size_t)batch * sizeof(int));
    s->pred_labels = malloc((size_t)rows_max * sizeof(int));
    if (!s->opt_m || (o->optimizer != OPT_SGD && !s->opt_v) || !s->best || !h->train_loss || !h->train_acc ||
        !h->val_loss || !h->val_acc || !s->probs || !s->perm || !s->rows || !s->pred_labels)
        return avemo_error(AVEMO_ENOMEM, "out of memory");
    if ((rc = batch_alloc(&s->batch, &d->train, batch)) || (rc = batch_alloc(&s->dropout_batch, &d->train, rows_max)))
        return rc;
    return AVEMO_OK;
}

/* Before the first epoch of this call: resume from state_path (--resume), refuse to overwrite it, or
 * initialise the visual stream from --init-visual. */
static int fold_start(const run_ctx *run, int k, int n_folds, const char *state_path, const model_config *cfg,
                      fold_state *s) {
    const train_options *o = run->options;
    struct stat st;
    int have_state = stat(state_path, &st) == 0;
    if (o->resume && have_state) {
        int rc = train_state_load(state_path, s->model, s->opt_m, s->opt_v, s->best, &s->have_best, &s->history,
                                  run->fingerprint, o->epochs);
        if (rc) return rc;
        tlog(o, "fold %d/%d: resuming after epoch %d", k + 1, n_folds, s->history.epoch);
    } else if (!o->resume && have_state) {
        return avemo_error(AVEMO_EINVAL, "%s exists: pass --resume to continue that run, or use a new RUN folder",
                           state_path);
    } else if (o->init_visual) {
        int n_copied;
        if (cfg->modality == MODALITY_AUDIO)
            return avemo_error(AVEMO_EINVAL,
                               "--init-visual needs a model with the visual stream (--modality av or video)");
        int rc = model_init_from_file(s->model, o->init_visual, MODEL_VISUAL_PREFIX, &n_copied);
        if (rc) return rc;
        tlog(o, "fold %d/%d: visual stream initialised from %s (%d tensors)", k + 1, n_folds, o->init_visual,
             n_copied);
    }
    return AVEMO_OK;
}

/* Every gradient finite (a NaN there would make every weight NaN while the loss still looks sane): else an error
 * naming the fold, epoch, step and the first tensor with a non-finite gradient. */
static int check_gradients(const model *m, int k, int epoch, long step) {
    for (long g = 0; g < m->n_params; g++) {
        if (isfinite(m->grad_mem[g])) continue;
        const char *name = "?";
        for (int i = 0; i < model_n_tensors(m); i++) {
            const float *t = model_tensor_data(m, i);
            if (t >= m->param_mem && t <= m->param_mem + g && g < (t - m->param_mem) + model_tensor(m, i)->count)
                name = model_tensor(m, i)->name;
        }
        return avemo_error(AVEMO_EINVAL, "fold %d epoch %d step %ld: the gradient of '%s' is %g (the loss is %g); "
                           "training diverged: lower --lr", k + 1, epoch + 1, step, name, m->grad_mem[g], m->loss);
    }
    return AVEMO_OK;
}

/* One optimizer step on the rows of s->batch (after modality dropout when the model uses it); adds the
 * batch's loss sum, correct predictions and rows. */
static int train_step(const run_ctx *run, int k, int epoch, const model_config *cfg, float lr, int n, rng_t *drop_rng,
                      fold_state *s, double *loss_sum, long *correct, long *seen) {
    const train_options *o = run->options;
    const batch_buf *b = &s->batch;
    const float *bv = b->video, *ba = b->audio;
    const int *bl = b->labels;
    int bn = n, rc;
    if (cfg->modality_dropout && cfg->modality == MODALITY_AV) {
        batch_buf *db = &s->dropout_batch;
        if ((rc = modality_dropout_softhard(db->video, db->audio, db->labels, b->video, b->audio, b->labels, n,
                                            b->video_per, b->audio_per, drop_rng)))
            return rc;
        bv = db->video, ba = db->audio, bl = db->labels, bn = 4 * n;
    }
    model *m = s->model;
    data_parallel *dp = run->dp;
    if (dp) dp_take_slice(dp, &bv, b->video_per, &ba, b->audio_per, &bl, &bn); /* this rank's rows */
    rc = model_forward(m, bv, ba, bl, bn, 1, drop_rng);
    if (!rc) {
        model_zero_grad(m);
        rc = model_backward_scaled(m, NULL, NULL, dp ? dp_loss_scale(dp) : 1.0f);
    }
    if (!rc) rc = check_gradients(m, k, epoch, s->history.step + 1); /* this rank's; agreed in dp_step_end */
    if (!rc) model_predict(m, s->pred_labels);
    double step[3] = {rc ? 0.0 : (double)m->loss * bn, 0.0, bn}; /* loss x rows, correct, rows */
    for (int i = 0; !rc && i < bn; i++) step[1] += s->pred_labels[i] == bl[i];
    if (dp) rc = dp_step_end(dp, rc, m->grad_mem, m->n_params, m->buffer_mem, m->n_buffers, step); /* the batch's */
    if (rc) return rc;
    s->history.step++;
    if (o->optimizer == OPT_SGD) {
        sgd_config sc = {lr, o->momentum, o->dampening, o->weight_decay, o->nesterov};
        sgd_step(m->param_mem, m->grad_mem, s->opt_m, m->n_params, &sc, s->history.step);
    } else {
        adam_config ac = {lr, 0.9f, 0.999f, 1e-8f, o->weight_decay, o->optimizer == OPT_ADAMW};
        adam_step(m->param_mem, m->grad_mem, s->opt_m, s->opt_v, m->n_params, &ac, s->history.step);
    }
    if (!isfinite(step[0]))
        return avemo_error(AVEMO_EINVAL, "fold %d epoch %d: the loss diverged (%g); lower --lr", k + 1, epoch + 1,
                           (float)(step[0] / step[2]));
    *correct += (long)step[1];
    *loss_sum += step[0];
    *seen += (long)step[2];
    return AVEMO_OK;
}

/* One epoch over the training samples in a shuffled order: history's train loss and accuracy. */
static int train_epoch(const run_ctx *run, int k, int n_folds, int epoch, const model_config *cfg,
                       const fold_data *d, fold_state *s) {
    const train_options *o = run->options;
    int n_train = d->train.n, batch = o->batch, rc = AVEMO_OK;
    float lr = lr_at(o, epoch);
    rng_t order_rng, drop_rng;
    rng_seed(&order_rng, derive_seed(o->seed, k, epoch + 1, 1));
    rng_seed(&drop_rng, derive_seed(o->seed, k, epoch + 1, 2));
    for (int i = 0; i < n_train; i++) s->perm[i] = i;
    rng_shuffle_int(&order_rng, s->perm, n_train);
    double loss_sum = 0;
    long seen = 0, correct = 0;
    progress pg;
    char label[64];
    snprintf(label, sizeof label, "fold %d/%d epoch %d/%d", k + 1, n_folds, epoch + 1, o->epochs);
    progress_start(&pg, label, n_train);
    for (int i0 = 0; i0 < n_train && !rc; i0 += batch) {
        int n = n_train - i0 < batch ? n_train - i0 : batch;
        memcpy(s->rows, s->perm + i0, (size_t)n * sizeof(int));
        batch_gather(&s->batch, &d->train, s->rows, n);
        if ((rc = train_step(run, k, epoch, cfg, lr, n, &drop_rng, s, &loss_sum, &correct, &seen))) break;
        progress_set_extra(&pg, "lr %.4g loss %.4f acc %.3f", lr, loss_sum / seen, (double)correct / seen);
        progress_update(&pg, i0 + n);
    }
    if (rc) return rc; /* as before: a failed step leaves the progress line unfinished */
    progress_finish(&pg);
    s->history.train_loss[epoch] = (float)(loss_sum / seen);
    s->history.train_acc[epoch] = (float)correct / (float)seen;
    return AVEMO_OK;
}

/* Validation after an epoch: *vloss, *vacc (NaN without validation samples) into the history; keeps the
 * weights when they are the best so far (or, without validation actors, always: the last epoch's). */
static int validate_epoch(int epoch, const fold_data *d, fold_state *s, double *vloss_out, double *vacc_out,
                          int *improved) {
    model *m = s->model;
    double vloss = NAN, vacc = NAN;
    if (d->val.n) {
        int rc = evaluate_set(m, &d->val, s->probs, &vloss);
        if (rc) return rc;
        vacc = top1_of(s->probs, d->val.labels, d->val.n, m->cfg.n_classes);
    }
    *vloss_out = vloss;
    *vacc_out = vacc;
    train_history *h = &s->history;
    h->val_loss[epoch] = (float)vloss;
    h->val_acc[epoch] = (float)vacc;
    *improved = d->val.n ? (!isfinite(h->best_val) || vacc > h->best_val) : 1; /* no validation: last epoch */
    if (*improved) {
        h->best_val = vacc;
        h->best_epoch = epoch + 1;
        memcpy(s->best, m->param_mem, (size_t)m->n_params * sizeof(float));
        memcpy(s->best + m->n_params, m->buffer_mem, (size_t)m->n_buffers * sizeof(float));
        s->have_best = 1;
    }
    return AVEMO_OK;
}

/* The selected weights on the fold's test samples: *fr. */
static int test_selected(const fold *f, const fold_data *d, fold_state *s, fold_report *fr) {
    model *m = s->model;
    if (s->have_best) {
        memcpy(m->param_mem, s->best, (size_t)m->n_params * sizeof(float));
        memcpy(m->buffer_mem, s->best + m->n_params, (size_t)m->n_buffers * sizeof(float));
    }
    memset(fr, 0, sizeof *fr);
    fr->n_train = d->train.n;
    fr->n_val = d->val.n;
    fr->best_epoch = s->history.best_epoch;
    fr->best_val_top1 = s->history.best_val;
    fr->n_test_actors = f->n_test_actors < REPORT_MAX_ACTORS ? f->n_test_actors : REPORT_MAX_ACTORS;
    fr->n_val_actors = f->n_val_actors < REPORT_MAX_ACTORS ? f->n_val_actors : REPORT_MAX_ACTORS;
    memcpy(fr->test_actors, f->test_actors, (size_t)fr->n_test_actors * sizeof(int));
    memcpy(fr->val_actors, f->val_actors, (size_t)fr->n_val_actors * sizeof(int));
    int n_classes = m->cfg.n_classes;
    if (!d->test.n) {
        fr->test.n_classes = n_classes;
        return AVEMO_OK;
    }
    int rc = evaluate_set(m, &d->test, s->probs, NULL);
    return rc ? rc : metrics_compute(s->probs, d->test.labels, d->test.n, n_classes, &fr->test);
}

/* RUN/fold_K/model.safetensors (the selected model with the fold's feature statistics) and the fold's
 * learning curves and test confusion matrix. */
static int save_fold(const run_ctx *run, int k, const char *dir, const fold_data *d, const fold_state *s,
                     const fold_report *fr) {
    const feature_cache *cache = run->cache;
    int n_classes = s->model->cfg.n_classes, epochs = run->options->epochs;
    const train_history *h = &s->history;
    char path[4200], sel[128], title[160];
    model_file mf = {0};
    mf.m = s->model;
    mf.n_classes = n_classes;
    for (int i = 0; i < n_classes; i++) mf.class_names[i] = cache->ds.class_names[i];
    mf.audio_mean = d->audio_mean, mf.audio_std = d->audio_std;
    mf.video_mean = d->video_mean, mf.video_std = d->video_std;
    mf.prep_json = cache->config_json;
    mf.dataset = (char *)dataset_kind_name(cache->ds.kind);
    mf.protocol = (char *)run->protocol;
    mf.fold = k + 1;
    if (d->val.n)
        snprintf(sel, sizeof sel, "best validation top-1 %.4f at epoch %d of %d", h->best_val, h->best_epoch, epochs);
    else snprintf(sel, sizeof sel, "final epoch %d (no validation actors)", epochs);
    mf.selected = sel;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = model_file_save(path, &mf);
    if (rc) return rc;
    learning_curves lc = {epochs, h->train_loss, d->val.n ? h->val_loss : NULL, h->train_acc,
                          d->val.n ? h->val_acc : NULL, d->val.n ? h->best_epoch : 0};
    snprintf(title, sizeof title, "fold %d: %s", k + 1, run->protocol);
    snprintf(path, sizeof path, "%s/learning_curves.png", dir);
    if ((rc = plot_learning_curves_png(path, &lc, title))) return rc;
    if (!d->test.n) return AVEMO_OK;
    snprintf(path, sizeof path, "%s/confusion.png", dir);
    snprintf(title, sizeof title, "fold %d test (%d samples), top-1 %.2f%%", k + 1, d->test.n, 100 * fr->test.top1);
    return plot_confusion_png(path, fr->test.confusion, n_classes, (const char *const *)cache->ds.class_names, title);
}

/* The model's data dimensions and classes, from the fold's training set. */
static model_config fold_model_config(const train_options *o, const feature_cache *cache, const fold_data *d) {
    model_config cfg = o->model;
    cfg.n_classes = cache->ds.n_classes;
    if (d->train.audio) {
        cfg.audio_frames = d->train.audio_frames;
        cfg.audio_channels = d->train.audio_coeffs;
    }
    if (d->train.video) {
        cfg.video_frames = d->train.video_frames;
        cfg.video_dim = d->train.video_dim;
    }
    return cfg;
}

/* Train one fold; on success fills *fr and writes RUN/fold_K/{model.safetensors,*.png}. */
static int train_fold(run_ctx *run, int k, int n_folds, const fold *f, fold_report *fr, float *val_best_out) {
    const train_options *o = run->options;
    char dir[4096], state_path[4200];
    snprintf(dir, sizeof dir, "%s/fold_%d", o->run_dir, k + 1);
    int rc = make_dirs(dir);
    if (rc) return rc;
    fold_data d;
    if ((rc = load_fold(run->cache, f, kinds_for(o->model.modality), &d))) return rc;
    model_config cfg = fold_model_config(o, run->cache, &d);
    free(run->fingerprint);
    run->fingerprint = options_fingerprint(o, &cfg, run->cache->data_hash, run->protocol);
    fold_state s;
    snprintf(state_path, sizeof state_path, "%s/state.safetensors", dir);
    if ((rc = fold_state_alloc(&s, o, &cfg, &d, k)) || (rc = fold_start(run, k, n_folds, state_path, &cfg, &s)))
        goto done;
    int epochs = o->epochs, stop_at = o->stop_after_epochs > 0 ? s.history.epoch + o->stop_after_epochs : epochs;
    for (int epoch = s.history.epoch; epoch < epochs; epoch++) {
        if (epoch == stop_at) {
            rc = avemo_error(AVEMO_EINTERNAL, "stopped after epoch %d as asked (--stop-after-epochs)", epoch);
            goto done;
        }
        int improved;
        double vloss, vacc;
        if ((rc = train_epoch(run, k, n_folds, epoch, &cfg, &d, &s)) ||
            (rc = validate_epoch(epoch, &d, &s, &vloss, &vacc, &improved)))
            goto done;
        s.history.epoch = epoch + 1;
        const float *best = s.have_best ? s.best : NULL;
        if (dp_is_writer(run->dp)) /* data-parallel: rank 0 */
            rc = train_state_save(state_path, s.model, s.opt_m, s.opt_v, best, &s.history, run->fingerprint);
        if ((rc = dp_agree(run->dp, rc))) goto done;
        tlog(o, "fold %d/%d epoch %3d/%d  lr %.4g  train loss %.4f acc %.3f  val loss %.4f acc %.3f%s", k + 1,
             n_folds, epoch + 1, epochs, lr_at(o, epoch), s.history.train_loss[epoch], s.history.train_acc[epoch],
             vloss, vacc, improved && d.val.n ? "  (best)" : "");
    }
    if ((rc = test_selected(f, &d, &s, fr))) goto done;
    *val_best_out = (float)s.history.best_val;
    if (dp_is_writer(run->dp)) rc = save_fold(run, k, dir, &d, &s, fr);
    rc = dp_agree(run->dp, rc);
done:
    fold_state_free(&s);
    fold_data_free(&d);
    return rc;
}

static int copy_file(const char *src, const char *dst) {
    unsigned char *buf;
    size_t n;
    int rc = file_read_all(src, (size_t)1 << 34, &buf, &n);
    if (rc) return rc;
    rc = atomic_write(dst, buf, n);
    free(buf);
    return rc;
}

/* One fold of train_run (train_dist_folds calls it for the folds this rank trains). */
typedef struct {
    run_ctx *run;
    const fold_set *fs;
    int n_folds;
    fold_report *frs;
    float *val_best;
} fold_jobs;

static int train_fold_job(void *ctx, int k) {
    fold_jobs *j = ctx;
    const train_options *o = j->run->options;
    int rc = train_fold(j->run, k, j->n_folds, &j->fs->folds[k], &j->frs[k], &j->val_best[k]);
    if (rc) return rc;
    tlog(o, "fold %d/%d: test top-1 %.2f%% top-2 %.2f%% macro-F1 %.2f%% (%d test samples, selected epoch %d)",
         k + 1, j->n_folds, 100 * j->frs[k].test.top1, 100 * j->frs[k].test.top2, 100 * j->frs[k].test.macro_f1,
         j->frs[k].test.n, j->frs[k].best_epoch);
    return AVEMO_OK;
}

int train_run(const train_options *options) {
    train_options opts = *options; /* under MPI, data-parallel: ranks > 0 keep quiet (train_dist_logs) */
    const train_options *o = &opts;
    if (o->epochs < 1 || o->batch < 1 || !(o->lr > 0))
        return avemo_error(AVEMO_EINVAL, "train: --epochs, --batch and --lr must be positive");
    feature_cache cache;
    int rc = cache_open(&cache, o->cache_dir);
    if (rc) return rc;
    fold_set fs = {0};
    fold_report *frs = NULL;
    float *val_best = NULL;
    train_dist dist = {.mode = TRAIN_DIST_NONE};
    run_ctx run = {o, &cache, o->protocol ? o->protocol : protocol_default(cache.ds.kind), NULL, NULL};
    protocol_spec ps;
    if ((rc = protocol_parse(run.protocol, &ps)) || (rc = protocol_make_folds(&ps, &cache.ds, o->seed, &fs))) goto done;
    if ((rc = make_dirs(o->run_dir))) goto done;
    int nf = o->max_folds > 0 && o->max_folds < fs.n_folds ? o->max_folds : fs.n_folds;
    frs = calloc((size_t)nf, sizeof *frs);
    val_best = calloc((size_t)nf, sizeof *val_best);
    if (!frs || !val_best) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    train_dist_plan(&dist, o, nf); /* under MPI: folds over the ranks, or data-parallel */
    run.dp = train_dist_dp(&dist);
    opts.quiet |= !train_dist_logs(&dist);
    tlog(o, "train: %s; %d of %d folds", fs.desc, nf, fs.n_folds);
    fold_jobs jobs = {&run, &fs, nf, frs, val_best};
    if ((rc = train_dist_folds(&dist, nf, train_fold_job, &jobs, frs, val_best, &run.fingerprint))) goto done;
    int best_fold = 0;
    for (int k = 0; k < nf; k++)
        if (val_best[k] > val_best[best_fold]) best_fold = k;
    if (!train_dist_writes(&dist)) goto done; /* under MPI rank 0 writes the run's files */
    char src[4200], dst[4200];
    snprintf(src, sizeof src, "%s/fold_%d/model.safetensors", o->run_dir, best_fold + 1);
    snprintf(dst, sizeof dst, "%s/model.safetensors", o->run_dir);
    if ((rc = copy_file(src, dst))) goto done;

    char *cfg_json = run.fingerprint ? strdup(run.fingerprint) : NULL;
    run_report r = {"train", dataset_kind_name(cache.ds.kind), run.protocol, fs.desc, fs.speaker_independent,
                    o->seed, cache.data_hash, cfg_json, cache.ds.n_classes, (const char *const *)cache.ds.class_names,
                    nf, frs};
    rc = report_write(&r, o->run_dir);
    if (!rc) {
        run_summary s;
        report_summarize(&r, &s);
        char path[4200], title[160];
        snprintf(path, sizeof path, "%s/confusion.png", o->run_dir);
        if (nf > 1)
            snprintf(title, sizeof title, "%s, %d folds pooled: top-1 %.2f%% (mean over folds %.2f +- %.2f)",
                     run.protocol, nf, 100 * s.pooled.top1, 100 * s.top1.mean, 100 * s.top1.std);
        else
            snprintf(title, sizeof title, "%s: test top-1 %.2f%%", run.protocol, 100 * s.pooled.top1);
        rc = plot_confusion_png(path, s.pooled.confusion, cache.ds.n_classes, (const char *const *)cache.ds.class_names, title);
        if (!rc) {
            char spread[64] = ""; /* the std over a single fold is undefined */
            if (nf > 1) snprintf(spread, sizeof spread, " +- %.2f (sample std)", 100 * s.top1.std);
            tlog(o, "train: top-1 %.2f%%%s over %d fold%s (%s); model: %s (fold %d); report: %s/report.md",
                 100 * s.top1.mean, spread, nf, nf > 1 ? "s" : "", run.protocol, dst, best_fold + 1, o->run_dir);
        }
    }
    free(cfg_json);
done:
    rc = train_dist_agree(&dist, rc);
    free(run.fingerprint);
    free(frs);
    free(val_best);
    fold_set_free(&fs);
    cache_free(&cache);
    return rc;
}

/* ---- eval ---- */

int eval_run(const eval_options *o, eval_metrics *out) {
    model_file mf;
    int rc = model_file_load(o->model_path, &mf);
    if (rc) return rc;
    feature_cache cache;
    if ((rc = cache_open(&cache, o->cache_dir))) {
        model_file_free(&mf);
        return rc;
    }
    int *idx = malloc(((size_t)cache.ds.n + 1) * sizeof(int)), n = 0;
    float *probs = NULL;
    cache_set s = {0};
    if (!idx) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    if (cache.ds.n_classes != mf.n_classes) {
        rc = avemo_error(AVEMO_EINVAL, "%s has %d classes but the cache %s has %d", o->model_path, mf.n_classes,
                         o->cache_dir, cache.ds.n_classes);
        goto done;
    }
    for (int i = 0; i < cache.ds.n; i++) {
        int keep = o->n_actors == 0;
        for (int a = 0; a < o->n_actors; a++) keep |= cache.ds.samples[i].actor == o->actors[a];
        if (keep) idx[n++] = i;
    }
    if ((rc = load_subset(&cache, idx, n, kinds_for(mf.m->cfg.modality), &s))) goto done;
    if (s.n == 0) {
        rc = avemo_error(AVEMO_EINVAL, "%s: no sample with the model's modalities for these actors", o->cache_dir);
        goto done;
    }
    if ((s.audio && (s.audio_coeffs != mf.m->cfg.audio_channels || s.audio_frames != mf.m->cfg.audio_frames)) ||
        (s.video && (s.video_dim != mf.m->cfg.video_dim || s.video_frames != mf.m->cfg.video_frames))) {
        rc = avemo_error(AVEMO_EINVAL, "%s: the cache's feature shapes differ from what %s was trained on",
                         o->cache_dir, o->model_path);
        goto done;
    }
    if (s.audio) feature_standardize(s.audio, (long)s.n * s.audio_frames, s.audio_coeffs, mf.audio_mean, mf.audio_std);
    if (s.video) feature_standardize(s.video, (long)s.n * s.video_frames, s.video_dim, mf.video_mean, mf.video_std);
    probs = malloc((size_t)s.n * mf.n_classes * sizeof(float));
    if (!probs) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = evaluate_set(mf.m, &s, probs, NULL))) goto done;
    rc = metrics_compute(probs, s.labels, s.n, mf.n_classes, out);
done:
    free(probs);
    free(idx);
    cache_set_free(&s);
    cache_free(&cache);
    model_file_free(&mf);
    return rc;
}
