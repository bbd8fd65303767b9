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
#include "train/finetune.h"
#include "train/train_data.h"
#include "train/train_dist.h"
#include "train/train_state.h"
#include "train/trainer_run.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* OneCycleLR's defaults (torch) */
#define ONECYCLE_PCT_START 0.3f
#define ONECYCLE_DIV 25.0f
#define ONECYCLE_FINAL_DIV 1e4f
#define ONECYCLE_BASE_MOMENTUM 0.85f
#define ONECYCLE_MAX_MOMENTUM 0.95f
#define ADAM_BETA1 0.9f

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
    o->ensemble = 1;
    model_config_default(&o->model, 8);
    finetune_options_default(&o->finetune);
}

/* Independent seeds for (fold, epoch, purpose): splitmix64 of a mix, so no two streams share draws. */
static uint64_t derive_seed(uint64_t seed, int fold, int epoch, int purpose) {
    uint64_t z = seed ^ ((uint64_t)fold << 40) ^ ((uint64_t)epoch << 16) ^ (uint64_t)purpose;
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The seed of ensemble member j (0-based): --seed itself for the first, so a one-model run is unchanged. */
static uint64_t member_seed(uint64_t seed, int j) { return j == 0 ? seed : derive_seed(seed, 0xFFFF, j, 0x5EED); }

static int n_members_of(const train_options *o) { return o->ensemble > 1 ? o->ensemble : 1; }

/* ---- hyper-parameters per epoch and step ---- */

static float lr_at(const train_options *o, int epoch) {
    switch (o->schedule) {
    case SCHED_COSINE: return lr_cosine(o->lr, epoch, o->epochs, o->min_lr);
    case SCHED_CONSTANT:
    case SCHED_ONECYCLE: return o->lr; /* onecycle: per step, step_hyper */
    default: return lr_multistep(o->lr, epoch, o->milestones, o->n_milestones, o->gamma);
    }
}

/* The learning rate and momentum (SGD's momentum, Adam's beta1) of optimizer step `step` (0-based) of
 * total_steps, in `epoch`. */
static void step_hyper(const train_options *o, int epoch, long step, long total_steps, float *lr, float *momentum) {
    *momentum = o->optimizer == OPT_SGD ? o->momentum : ADAM_BETA1;
    if (o->schedule != SCHED_ONECYCLE) {
        *lr = lr_at(o, epoch);
        return;
    }
    *lr = lr_onecycle(o->lr, step, total_steps, ONECYCLE_PCT_START, ONECYCLE_DIV, ONECYCLE_FINAL_DIV);
    *momentum = momentum_onecycle(ONECYCLE_BASE_MOMENTUM, ONECYCLE_MAX_MOMENTUM, step, total_steps, ONECYCLE_PCT_START);
}

static double round7(float x) { /* float -> the shortest decimal that reads back the same (for readable JSON) */
    char buf[32];
    snprintf(buf, sizeof buf, "%.7g", x);
    return strtod(buf, NULL);
}

/* The issue-13 options, each only when it differs from the default (so that older runs' fingerprints, and so
 * their --resume, are unchanged). */
static void add_voice_options(cJSON *j, const train_options *o) {
    const audio_augment *a = &o->augment;
    if (o->recipe && strcmp(o->recipe, "paper")) cJSON_AddStringToObject(j, "recipe", o->recipe);
    if (a->time_shift) cJSON_AddNumberToObject(j, "time_shift", a->time_shift);
    if (a->time_mask) cJSON_AddNumberToObject(j, "time_mask", a->time_mask);
    if (a->freq_mask) cJSON_AddNumberToObject(j, "freq_mask", a->freq_mask);
    if (a->noise > 0) cJSON_AddNumberToObject(j, "noise", round7(a->noise));
    if (a->speed > 0) cJSON_AddNumberToObject(j, "speed", round7(a->speed));
    if (a->mixup > 0) cJSON_AddNumberToObject(j, "mixup", round7(a->mixup));
    if (o->speaker_norm) cJSON_AddBoolToObject(j, "speaker_norm", 1);
    if (n_members_of(o) > 1) cJSON_AddNumberToObject(j, "ensemble", n_members_of(o));
    if (o->refit) cJSON_AddBoolToObject(j, "refit", 1);
}

/* --train-extra: each cache's folder and data hash (run->extra: the caches opened) */
static void add_train_extra(cJSON *j, const run_ctx *run) {
    if (!run->n_extra) return;
    cJSON *a = cJSON_AddArrayToObject(j, "train_extra");
    for (int e = 0; e < run->n_extra; e++) {
        char hash[32];
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)run->extra[e].data_hash);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "cache", run->options->train_extra.cache[e]);
        cJSON_AddStringToObject(x, "data_hash", hash);
        cJSON_AddItemToArray(a, x);
    }
}

static char *options_fingerprint(const train_options *o, const run_ctx *run, const model_config *cfg,
                                 uint64_t data_hash, const char *protocol) {
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
    static const char *opt_names[] = {"sgd", "adam", "adamw"},
                      *sched_names[] = {"multistep", "cosine", "constant", "onecycle"};
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
    add_voice_options(j, o);
    if (run) add_train_extra(j, run);
    if (o->finetune.enabled) cJSON_AddItemToObject(j, "finetune", finetune_options_json(&o->finetune));
    if (o->max_train_samples > 0) cJSON_AddNumberToObject(j, "max_train_samples", o->max_train_samples);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    free(mc);
    return s;
}

/* One model's training: its options (the run's with the member's seed, or a refit's epochs), where its state
 * goes and what it logs as. */
typedef struct {
    train_options options;
    int fold, n_folds;
    char label[48];                 /* "fold 2/6", "fold 2/6 member 3", "fold 2/6 member 3 refit" */
    char suffix[32];                /* of its files: "", "_m3", "_refit", "_refit_m3" */
    char state_path[4200];
    char *fingerprint;
    data_parallel *dp;              /* the run's (NULL: this process alone) */
} member_ctx;

/* One model's training state: the model, optimizer moments, the weights of the selected epoch, history and
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
    batch_buf mix_batch;    /* mixup: the batch's partners (rows permuted) */
    int *mix_perm;          /* [batch] */
    float *aug_scratch;     /* [audio frames x coefficients] */
    long total_steps;       /* optimizer steps of the whole schedule */
} fold_state;

static void fold_state_free(fold_state *s) {
    batch_free(&s->batch);
    batch_free(&s->dropout_batch);
    batch_free(&s->mix_batch);
    free(s->mix_perm);
    free(s->aug_scratch);
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

static int batch_buffers_alloc(fold_state *s, const train_options *o, const model_config *cfg, const fold_data *d) {
    int batch = o->batch, rows_max = batch * (cfg->modality_dropout ? 4 : 1), rc;
    s->rows = malloc((size_t)batch * sizeof(int));
    s->pred_labels = malloc((size_t)rows_max * sizeof(int));
    s->mix_perm = malloc((size_t)batch * sizeof(int));
    s->aug_scratch = malloc(((size_t)cfg->audio_frames * cfg->audio_channels + 1) * sizeof(float));
    if (!s->rows || !s->pred_labels || !s->mix_perm || !s->aug_scratch)
        return avemo_error(AVEMO_ENOMEM, "out of memory");
    if ((rc = batch_alloc(&s->batch, &d->train, batch)) || (rc = batch_alloc(&s->dropout_batch, &d->train, rows_max)) ||
        (rc = batch_alloc(&s->mix_batch, &d->train, batch)))
        return rc;
    return AVEMO_OK;
}

/* The model (initialised from the member's seed for fold k) and every buffer its training needs. */
static int fold_state_alloc(fold_state *s, const train_options *o, const model_config *cfg, const fold_data *d,
                            int k) {
    memset(s, 0, sizeof *s);
    s->history.best_val = NAN;
    int epochs = o->epochs, n_classes = cfg->n_classes;
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
    s->total_steps = (long)epochs * ((d->train.n + o->batch - 1) / o->batch);
    if (!s->opt_m || (o->optimizer != OPT_SGD && !s->opt_v) || !s->best || !h->train_loss || !h->train_acc ||
        !h->val_loss || !h->val_acc || !s->probs || !s->perm)
        return avemo_error(AVEMO_ENOMEM, "out of memory");
    return batch_buffers_alloc(s, o, cfg, d);
}

/* Before the first epoch of this call: resume from the member's state (--resume), refuse to overwrite it, or
 * initialise the visual stream from --init-visual. */
static int fold_start(const member_ctx *mc, const model_config *cfg, fold_state *s) {
    const train_options *o = &mc->options;
    struct stat st;
    int have_state = stat(mc->state_path, &st) == 0;
    if (o->resume && have_state) {
        int rc = train_state_load(mc->state_path, s->model, s->opt_m, s->opt_v, s->best, &s->have_best, &s->history,
                                  mc->fingerprint, o->epochs);
        if (rc) return rc;
        train_log(o, "%s: resuming after epoch %d", mc->label, s->history.epoch);
    } else if (!o->resume && have_state) {
        return avemo_error(AVEMO_EINVAL, "%s exists: pass --resume to continue that run, or use a new RUN folder",
                           mc->state_path);
    } else if (o->init_visual) {
        int n_copied;
        if (cfg->modality == MODALITY_AUDIO)
            return avemo_error(AVEMO_EINVAL,
                               "--init-visual needs a model with the visual stream (--modality av or video)");
        int rc = model_init_from_file(s->model, o->init_visual, MODEL_VISUAL_PREFIX, &n_copied);
        if (rc) return rc;
        train_log(o, "%s: visual stream initialised from %s (%d tensors)", mc->label, o->init_visual, n_copied);
    }
    return AVEMO_OK;
}

/* Every gradient finite (a NaN there would make every weight NaN while the loss still looks sane): else an error
 * naming the fold, epoch, step and the first tensor with a non-finite gradient. */
static int check_gradients(const model *m, const char *label, int epoch, long step) {
    for (long g = 0; g < m->n_params; g++) {
        if (isfinite(m->grad_mem[g])) continue;
        const char *name = "?";
        for (int i = 0; i < model_n_tensors(m); i++) {
            const float *t = model_tensor_data(m, i);
            if (t >= m->param_mem && t <= m->param_mem + g && g < (t - m->param_mem) + model_tensor(m, i)->count)
                name = model_tensor(m, i)->name;
        }
        return avemo_error(AVEMO_EINVAL, "%s epoch %d step %ld: the gradient of '%s' is %g (the loss is %g); "
                           "training diverged: lower --lr", label, epoch + 1, step, name, m->grad_mem[g], m->loss);
    }
    return AVEMO_OK;
}

/* Mixup (train/augment.h): the batch's rows mixed with a permutation of themselves, lambda ~ Beta(a, a); the
 * partners' labels go to s->mix_batch.labels and the model mixes the loss with the same lambda. */
static void mixup_batch(fold_state *s, int n, float alpha, rng_t *rng) {
    batch_buf *b = &s->batch, *p = &s->mix_batch;
    float lam = (float)audio_augment_mixup_lambda(alpha, rng);
    for (int i = 0; i < n; i++) s->mix_perm[i] = i;
    rng_shuffle_int(rng, s->mix_perm, n);
    for (int i = 0; i < n; i++) {
        int r = s->mix_perm[i];
        p->labels[i] = b->labels[r];
        if (b->audio) memcpy(p->audio + i * b->audio_per, b->audio + r * b->audio_per, b->audio_per * sizeof(float));
        if (b->video) memcpy(p->video + i * b->video_per, b->video + r * b->video_per, b->video_per * sizeof(float));
    }
    for (long i = 0; b->audio && i < n * b->audio_per; i++) b->audio[i] = lam * b->audio[i] + (1 - lam) * p->audio[i];
    for (long i = 0; b->video && i < n * b->video_per; i++) b->video[i] = lam * b->video[i] + (1 - lam) * p->video[i];
    s->model->mix_labels = p->labels;
    s->model->mix_lambda = lam;
}

/* The optimizer update of the model's gradients with this step's learning rate and momentum. */
static void optimizer_step(const train_options *o, int epoch, fold_state *s) {
    model *m = s->model;
    float lr, momentum;
    step_hyper(o, epoch, s->history.step, s->total_steps, &lr, &momentum);
    s->history.step++;
    if (o->optimizer == OPT_SGD) {
        sgd_config sc = {lr, momentum, o->dampening, o->weight_decay, o->nesterov};
        sgd_step(m->param_mem, m->grad_mem, s->opt_m, m->n_params, &sc, s->history.step);
    } else {
        adam_config ac = {lr, momentum, 0.999f, 1e-8f, o->weight_decay, o->optimizer == OPT_ADAMW};
        adam_step(m->param_mem, m->grad_mem, s->opt_m, s->opt_v, m->n_params, &ac, s->history.step);
    }
}

/* One optimizer step on the rows of s->batch (augmented; after modality dropout when the model uses it); adds
 * the batch's loss sum, correct predictions and rows. */
static int train_step(const member_ctx *mc, int epoch, const model_config *cfg, int n, rng_t *drop_rng,
                      rng_t *aug_rng, fold_state *s, double *loss_sum, long *correct, long *seen) {
    const train_options *o = &mc->options;
    batch_buf *b = &s->batch;
    if (b->audio)
        audio_augment_batch(&o->augment, b->audio, n, cfg->audio_frames, cfg->audio_channels, s->aug_scratch, aug_rng);
    if (o->augment.mixup > 0) mixup_batch(s, n, o->augment.mixup, aug_rng);
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
    data_parallel *dp = mc->dp;
    const int *bl_all = bl;
    if (dp) dp_take_slice(dp, &bv, b->video_per, &ba, b->audio_per, &bl, &bn); /* this rank's rows */
    if (dp && m->mix_labels) m->mix_labels += bl - bl_all;                       /* the same rows' partners */
    rc = model_forward(m, bv, ba, bl, bn, 1, drop_rng);
    if (!rc) {
        model_zero_grad(m);
        rc = model_backward_scaled(m, NULL, NULL, dp ? dp_loss_scale(dp) : 1.0f);
    }
    if (!rc) rc = check_gradients(m, mc->label, epoch, s->history.step + 1); /* this rank's; agreed in dp_step_end */
    m->mix_labels = NULL;
    if (!rc) model_predict(m, s->pred_labels);
    double step[3] = {rc ? 0.0 : (double)m->loss * bn, 0.0, bn}; /* loss x rows, correct, rows */
    for (int i = 0; !rc && i < bn; i++) step[1] += s->pred_labels[i] == bl[i];
    if (dp) rc = dp_step_end(dp, rc, m->grad_mem, m->n_params, m->buffer_mem, m->n_buffers, step); /* the batch's */
    if (rc) return rc;
    optimizer_step(o, epoch, s);
    if (!isfinite(step[0]))
        return avemo_error(AVEMO_EINVAL, "%s epoch %d: the loss diverged (%g); lower --lr", mc->label, epoch + 1,
                           (float)(step[0] / step[2]));
    *correct += (long)step[1];
    *loss_sum += step[0];
    *seen += (long)step[2];
    return AVEMO_OK;
}

/* One epoch over the training samples in a shuffled order: history's train loss and accuracy. */
static int train_epoch(const member_ctx *mc, int epoch, const model_config *cfg, const fold_data *d, fold_state *s) {
    const train_options *o = &mc->options;
    int n_train = d->train.n, batch = o->batch, rc = AVEMO_OK, k = mc->fold;
    rng_t order_rng, drop_rng, aug_rng;
    rng_seed(&order_rng, derive_seed(o->seed, k, epoch + 1, 1));
    rng_seed(&drop_rng, derive_seed(o->seed, k, epoch + 1, 2));
    rng_seed(&aug_rng, derive_seed(o->seed, k, epoch + 1, 3));
    for (int i = 0; i < n_train; i++) s->perm[i] = i;
    rng_shuffle_int(&order_rng, s->perm, n_train);
    double loss_sum = 0;
    long seen = 0, correct = 0;
    progress pg;
    char label[96];
    snprintf(label, sizeof label, "%s epoch %d/%d", mc->label, epoch + 1, o->epochs);
    progress_start(&pg, label, n_train);
    for (int i0 = 0; i0 < n_train && !rc; i0 += batch) {
        int n = n_train - i0 < batch ? n_train - i0 : batch;
        memcpy(s->rows, s->perm + i0, (size_t)n * sizeof(int));
        batch_gather(&s->batch, &d->train, s->rows, n);
        if ((rc = train_step(mc, epoch, cfg, n, &drop_rng, &aug_rng, s, &loss_sum, &correct, &seen))) break;
        float lr, momentum;
        step_hyper(o, epoch, s->history.step - 1, s->total_steps, &lr, &momentum);
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
        vacc = metrics_topk(s->probs, d->val.labels, d->val.n, m->cfg.n_classes, 1);
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

/* Member j's (0-based) context in fold k: its seed, state file, label; refit: the refit of that member, trained
 * for `epochs` epochs. */
static int member_ctx_init(member_ctx *mc, const run_ctx *run, const model_config *cfg, int k, int n_folds, int j,
                           int refit, int epochs) {
    const train_options *o = run->options;
    memset(mc, 0, sizeof *mc);
    mc->options = *o;
    mc->options.seed = member_seed(o->seed, j);
    if (refit) mc->options.epochs = epochs;
    mc->fold = k, mc->n_folds = n_folds;
    mc->dp = run->dp;
    int n = snprintf(mc->label, sizeof mc->label, "fold %d/%d", k + 1, n_folds);
    if (n_members_of(o) > 1) n += snprintf(mc->label + n, sizeof mc->label - n, " member %d", j + 1);
    if (refit) snprintf(mc->label + n, sizeof mc->label - n, " refit");
    /* files: "" (member 1), "_m<J>" (member J), "_refit", "_refit_m<J>" */
    n = snprintf(mc->suffix, sizeof mc->suffix, "%s", refit ? "_refit" : "");
    if (j > 0) snprintf(mc->suffix + n, sizeof mc->suffix - n, "_m%d", j + 1);
    snprintf(mc->state_path, sizeof mc->state_path, "%s/fold_%d/state%s.safetensors", o->run_dir, k + 1, mc->suffix);
    mc->fingerprint = options_fingerprint(&mc->options, run, cfg, run->cache->data_hash, run->protocol);
    return mc->fingerprint ? AVEMO_OK : avemo_error(AVEMO_ENOMEM, "out of memory");
}

/* The member's learning curves, RUN/fold_K/learning_curves<suffix>.png. */
static int plot_member(const member_ctx *mc, const fold_data *d, const fold_state *s) {
    const train_history *h = &s->history;
    int epochs = mc->options.epochs;
    char path[4200], title[160];
    learning_curves lc = {epochs, h->train_loss, d->val.n ? h->val_loss : NULL, h->train_acc,
                          d->val.n ? h->val_acc : NULL, d->val.n ? h->best_epoch : 0};
    snprintf(title, sizeof title, "%s", mc->label);
    snprintf(path, sizeof path, "%s/fold_%d/learning_curves%s.png", mc->options.run_dir, mc->fold + 1, mc->suffix);
    return plot_learning_curves_png(path, &lc, title);
}

/* Train one model (a member or its refit) on d to the end of its epochs, selecting on d->val (the last epoch
 * without validation). On success the model holds the selected weights and passes to *out; *best_epoch and
 * *best_val say what was selected. */
static int train_member(const member_ctx *mc, const model_config *cfg, const fold_data *d, model **out,
                        int *best_epoch, double *best_val) {
    const train_options *o = &mc->options;
    fold_state s;
    int rc;
    if ((rc = fold_state_alloc(&s, o, cfg, d, mc->fold)) || (rc = fold_start(mc, cfg, &s))) goto done;
    int epochs = o->epochs, stop_at = o->stop_after_epochs > 0 ? s.history.epoch + o->stop_after_epochs : epochs;
    for (int epoch = s.history.epoch; epoch < epochs; epoch++) {
        if (epoch == stop_at) {
            rc = avemo_error(AVEMO_EINTERNAL, "stopped after epoch %d as asked (--stop-after-epochs)", epoch);
            goto done;
        }
        int improved;
        double vloss, vacc;
        if ((rc = train_epoch(mc, epoch, cfg, d, &s)) || (rc = validate_epoch(epoch, d, &s, &vloss, &vacc, &improved)))
            goto done;
        s.history.epoch = epoch + 1;
        const float *best = s.have_best ? s.best : NULL;
        if (dp_is_writer(mc->dp)) /* data-parallel: rank 0 */
            rc = train_state_save(mc->state_path, s.model, s.opt_m, s.opt_v, best, &s.history, mc->fingerprint);
        if ((rc = dp_agree(mc->dp, rc))) goto done;
        float lr, momentum;
        step_hyper(o, epoch, s.history.step - 1, s.total_steps, &lr, &momentum);
        train_log(o, "%s epoch %3d/%d  lr %.4g  train loss %.4f acc %.3f  val loss %.4f acc %.3f%s", mc->label, epoch + 1,
             epochs, lr, s.history.train_loss[epoch], s.history.train_acc[epoch], vloss, vacc,
             improved && d->val.n ? "  (best)" : "");
    }
    model *m = s.model;
    if (s.have_best) {
        memcpy(m->param_mem, s.best, (size_t)m->n_params * sizeof(float));
        memcpy(m->buffer_mem, s.best + m->n_params, (size_t)m->n_buffers * sizeof(float));
    }
    *best_epoch = s.history.best_epoch;
    *best_val = s.history.best_val;
    if (dp_is_writer(mc->dp)) rc = plot_member(mc, d, &s);
    if ((rc = dp_agree(mc->dp, rc))) goto done;
    *out = s.model;
    s.model = NULL;
done:
    fold_state_free(&s);
    return rc;
}

/* The fold with its validation actors moved into training (the refit's data). */
static int merge_validation(const fold *f, fold *out) {
    *out = *f;
    out->train = malloc(((size_t)f->n_train + f->n_val + 1) * sizeof(int));
    if (!out->train) return avemo_error(AVEMO_ENOMEM, "out of memory");
    memcpy(out->train, f->train, (size_t)f->n_train * sizeof(int));
    memcpy(out->train + f->n_train, f->val, (size_t)f->n_val * sizeof(int));
    out->n_train = f->n_train + f->n_val;
    out->n_val = 0; /* the actor lists stay: the report names the validation actors that chose the epochs */
    return AVEMO_OK;
}

/* A fold's trained members: their models, the epochs each selected and its validation top-1. */
typedef struct {
    int n;
    model *models[TRAIN_MAX_ENSEMBLE];
    int best_epoch[TRAIN_MAX_ENSEMBLE];
    double best_val[TRAIN_MAX_ENSEMBLE];
} fold_members;

static void fold_members_free(fold_members *fm) {
    for (int j = 0; j < fm->n; j++)
        if (fm->models[j]) model_free(fm->models[j]);
    memset(fm, 0, sizeof *fm);
}

/* Train (or, refit, retrain on d for the epochs selected before) every member of fold k. */
static int train_members(const run_ctx *run, int k, int n_folds, const model_config *cfg, const fold_data *d,
                         int refit, fold_members *fm) {
    for (int j = 0; j < fm->n; j++) {
        member_ctx mc;
        int epochs = refit ? (fm->best_epoch[j] > 0 ? fm->best_epoch[j] : run->options->epochs) : 0;
        int rc = member_ctx_init(&mc, run, cfg, k, n_folds, j, refit, epochs), best_epoch = 0;
        double best_val = NAN;
        model *m = NULL;
        if (!rc) rc = train_member(&mc, cfg, d, &m, &best_epoch, &best_val);
        free(mc.fingerprint);
        if (rc) return rc;
        if (fm->models[j]) model_free(fm->models[j]);
        fm->models[j] = m;
        if (!refit) {
            fm->best_epoch[j] = best_epoch;
            fm->best_val[j] = best_val;
            if (fm->n > 1 && d->val.n)
                train_log(run->options, "%s: selected epoch %d (validation top-1 %.4f)", mc.label, best_epoch, best_val);
        }
    }
    return AVEMO_OK;
}

/* The top-1 of the members' mean softmax on the fold's validation samples (NaN without them). */
static int validate_members(const fold_data *d, const fold_members *fm, double *top1) {
    *top1 = NAN;
    if (!d->val.n) return AVEMO_OK;
    int n_classes = fm->models[0]->cfg.n_classes;
    float *probs = malloc((size_t)d->val.n * n_classes * sizeof(float) * 2);
    if (!probs) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int rc = evaluate_members(fm->models, fm->n, &d->val, probs, probs + (size_t)d->val.n * n_classes);
    if (!rc) *top1 = metrics_topk(probs, d->val.labels, d->val.n, n_classes, 1);
    free(probs);
    return rc;
}

/* The members' mean softmax on the fold's test samples: *fr. */
static int test_members(const fold *f, const fold_data *d, const fold_members *fm, fold_report *fr) {
    memset(fr, 0, sizeof *fr);
    fr->n_train = d->train.n;
    fr->n_val = d->val.n;
    fr->best_epoch = fm->best_epoch[0];
    double val_sum = 0;
    for (int j = 0; j < fm->n; j++) val_sum += fm->best_val[j];
    fr->best_val_top1 = val_sum / fm->n;
    fr->n_test_actors = f->n_test_actors < REPORT_MAX_ACTORS ? f->n_test_actors : REPORT_MAX_ACTORS;
    fr->n_val_actors = f->n_val_actors < REPORT_MAX_ACTORS ? f->n_val_actors : REPORT_MAX_ACTORS;
    memcpy(fr->test_actors, f->test_actors, (size_t)fr->n_test_actors * sizeof(int));
    memcpy(fr->val_actors, f->val_actors, (size_t)fr->n_val_actors * sizeof(int));
    fr->n_speakers = d->n_speakers < REPORT_MAX_ACTORS ? d->n_speakers : REPORT_MAX_ACTORS;
    for (int i = 0; i < fr->n_speakers; i++) {
        fr->speaker_ids[i] = d->speakers[i].speaker;
        fr->speaker_clips[i] = d->speakers[i].n_clips;
    }
    int n_classes = fm->models[0]->cfg.n_classes;
    fr->test.n_classes = n_classes;
    if (!d->test.n) { /* protocol all: nothing to test (the reports print "-") */
        fr->test.top1 = fr->test.top2 = fr->test.top3 = fr->test.macro_f1 = NAN;
        return AVEMO_OK;
    }
    float *probs = malloc((size_t)d->test.n * n_classes * sizeof(float) * 2);
    if (!probs) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int rc = AVEMO_OK;
    fr->n_members = fm->n < REPORT_MAX_MEMBERS ? fm->n : REPORT_MAX_MEMBERS;
    for (int j = 0; fm->n > 1 && j < fr->n_members && !rc; j++) { /* each member alone */
        eval_metrics one;
        if (!(rc = evaluate_set(fm->models[j], &d->test, probs, NULL)) &&
            !(rc = metrics_compute(probs, d->test.labels, d->test.n, n_classes, &one)))
            fr->member_top1[j] = one.top1, fr->member_macro_f1[j] = one.macro_f1;
    }
    if (!rc) rc = evaluate_members(fm->models, fm->n, &d->test, probs, probs + (size_t)d->test.n * n_classes);
    if (!rc) rc = metrics_compute(probs, d->test.labels, d->test.n, n_classes, &fr->test);
    free(probs);
    return rc;
}

/* snprintf at buf + *n, advancing *n (never past cap - 1) */
static void appendf(char *buf, size_t cap, size_t *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t cap, size_t *n, const char *fmt, ...) {
    if (*n + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (w > 0) *n = *n + (size_t)w < cap ? *n + (size_t)w : cap - 1;
}

/* How the fold's model was chosen, for the model file's "selected"; validated: the members were selected on
 * validation actors. */
static void selection_text(const train_options *o, int validated, const fold_members *fm, char *buf, size_t cap) {
    size_t n = 0;
    double val = 0;
    for (int j = 0; j < fm->n; j++) val += fm->best_val[j] / fm->n;
    buf[0] = 0;
    if (fm->n > 1) appendf(buf, cap, &n, "%d-member seed ensemble; ", fm->n);
    if (!validated) {
        appendf(buf, cap, &n, "final epoch %d (no validation actors)", o->epochs);
        return;
    }
    appendf(buf, cap, &n, o->refit ? "refit on the training + validation actors for epochs" : "best validation top-1 "
                                                                                             "at epochs");
    for (int j = 0; j < fm->n; j++) appendf(buf, cap, &n, "%s%d", j ? "," : " ", fm->best_epoch[j]);
    appendf(buf, cap, &n, " of %d (%svalidation top-1 %.4f)", o->epochs, fm->n > 1 ? "mean " : "", val);
}

/* RUN/fold_K/model.safetensors (the members with the fold's feature statistics) and the test confusion matrix. */
static int save_fold(const run_ctx *run, int k, const char *dir, const fold_data *d, int validated,
                     const fold_members *fm, const fold_report *fr) {
    const feature_cache *cache = run->cache;
    int n_classes = fm->models[0]->cfg.n_classes;
    char path[4200], sel[256], title[160];
    model_file mf = {0};
    mf.m = fm->models[0];
    mf.n_members = fm->n;
    for (int j = 0; j < fm->n; j++) mf.members[j] = fm->models[j];
    mf.speaker_norm = d->speaker_norm;
    mf.n_classes = n_classes;
    for (int i = 0; i < n_classes; i++) mf.class_names[i] = cache->ds.class_names[i];
    mf.audio_mean = d->audio_mean, mf.audio_std = d->audio_std;
    mf.video_mean = d->video_mean, mf.video_std = d->video_std;
    mf.prep_json = cache->config_json;
    mf.dataset = (char *)dataset_kind_name(cache->ds.kind);
    mf.protocol = (char *)run->protocol;
    mf.fold = k + 1;
    selection_text(run->options, validated, fm, sel, sizeof sel);
    mf.selected = sel;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = model_file_save(path, &mf);
    if (rc || !d->test.n) return rc;
    snprintf(path, sizeof path, "%s/confusion.png", dir);
    snprintf(title, sizeof title, "fold %d test (%d samples), top-1 %.2f%%", k + 1, d->test.n, 100 * fr->test.top1);
    return plot_confusion_png(path, fr->test.confusion, n_classes, (const char *const *)cache->ds.class_names, title);
}

/* The refit's data: the fold with its validation actors training. */
static int load_refit_data(const run_ctx *run, const fold *f, fold_data *rd) {
    fold merged;
    int rc = merge_validation(f, &merged);
    if (rc) return rc;
    rc = fold_data_load_extra(run->cache, run->extra, run->n_extra, &merged,
                              train_kinds_for(run->options->model.modality), run->options->speaker_norm, rd);
    free(merged.train);
    return rc;
}

/* Train one fold; on success fills *fr and writes RUN/fold_K/{model.safetensors,*.png}. */
static int train_fold(run_ctx *run, int k, int n_folds, const fold *f, fold_report *fr, float *val_best_out) {
    const train_options *o = run->options;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/fold_%d", o->run_dir, k + 1);
    int rc = make_dirs(dir);
    if (rc) return rc;
    fold_data d, rd;
    fold_members fm = {.n = n_members_of(o)};
    memset(&rd, 0, sizeof rd);
    if ((rc = fold_data_load_extra(run->cache, run->extra, run->n_extra, f, train_kinds_for(o->model.modality),
                                   o->speaker_norm, &d)))
        return rc;
    model_config cfg = fold_model_config(o, run->cache, &d);
    if (!run->fingerprint &&
        !(run->fingerprint = options_fingerprint(o, run, &cfg, run->cache->data_hash, run->protocol))) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    if (d.n_speakers) {
        char counts[1024];
        speaker_counts_format(d.speakers, d.n_speakers, "actor", counts, sizeof counts);
        train_log(o, "fold %d/%d: per-speaker statistics from %s", k + 1, n_folds, counts);
    }
    double val_top1 = NAN;
    if ((rc = train_members(run, k, n_folds, &cfg, &d, 0, &fm)) || (rc = validate_members(&d, &fm, &val_top1)))
        goto done;
    const fold_data *td = &d;
    if (o->refit) {
        if ((rc = load_refit_data(run, f, &rd)) || (rc = train_members(run, k, n_folds, &cfg, &rd, 1, &fm))) goto done;
        td = &rd;
    }
    if ((rc = test_members(f, td, &fm, fr))) goto done;
    fr->n_val = d.val.n;
    fr->val_top1 = val_top1;
    *val_best_out = (float)fr->best_val_top1;
    if (dp_is_writer(run->dp)) rc = save_fold(run, k, dir, td, d.val.n > 0, &fm, fr);
    rc = dp_agree(run->dp, rc);
done:
    fold_members_free(&fm);
    fold_data_free(&d);
    fold_data_free(&rd);
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
    int rc;
    if (o->finetune.enabled && j->run->dp)
        return avemo_error(AVEMO_EINVAL, "--finetune does not run data-parallel (under MPI, folds over the ranks only)");
    if (o->finetune.enabled) rc = finetune_fold(j->run, k, j->n_folds, &j->fs->folds[k], &j->frs[k], &j->val_best[k]);
    else rc = train_fold(j->run, k, j->n_folds, &j->fs->folds[k], &j->frs[k], &j->val_best[k]);
    if (rc) return rc;
    if (j->frs[k].test.n == 0) {
        train_log(o, "fold %d/%d: no test samples (kept epoch %d)", k + 1, j->n_folds, j->frs[k].best_epoch);
        return AVEMO_OK;
    }
    train_log(o, "fold %d/%d: test top-1 %.2f%% top-2 %.2f%% macro-F1 %.2f%% (%d test samples, selected epoch %d)",
         k + 1, j->n_folds, 100 * j->frs[k].test.top1, 100 * j->frs[k].test.top2, 100 * j->frs[k].test.macro_f1,
         j->frs[k].test.n, j->frs[k].best_epoch);
    return AVEMO_OK;
}

/* Options train_run refuses before doing anything. */
static int check_options(const train_options *o) {
    if (o->epochs < 1 || o->batch < 1 || !(o->lr > 0))
        return avemo_error(AVEMO_EINVAL, "train: --epochs, --batch and --lr must be positive");
    if (o->ensemble < 0 || o->ensemble > TRAIN_MAX_ENSEMBLE)
        return avemo_error(AVEMO_EINVAL, "train: --ensemble must be in 1..%d", TRAIN_MAX_ENSEMBLE);
    if (o->finetune.enabled && (n_members_of(o) > 1 || o->refit))
        return avemo_error(AVEMO_EINVAL, "train: --finetune trains one model per fold: --ensemble and --refit are for "
                                         "the frozen-feature trainer");
    if ((o->speaker_norm || audio_augment_any(&o->augment) || o->augment.mixup > 0) &&
        o->model.modality == MODALITY_VIDEO)
        return avemo_error(AVEMO_EINVAL, "train: --speaker-norm and the audio augmentations need the audio stream");
    if (o->train_extra.n < 0 || o->train_extra.n > TRAIN_MAX_EXTRA)
        return avemo_error(AVEMO_EINVAL, "train: --train-extra takes 1 to %d caches", TRAIN_MAX_EXTRA);
    if (o->train_extra.n && (o->model.modality != MODALITY_AUDIO || o->finetune.enabled || o->speaker_norm))
        return avemo_error(AVEMO_EINVAL, "train: --train-extra is for --modality audio, without --speaker-norm");
    return AVEMO_OK;
}

/* The folds, and a refit's need for validation actors in each. */
static int make_folds(const train_options *o, const feature_cache *cache, const char *protocol, fold_set *fs) {
    protocol_spec ps;
    int rc = protocol_parse(protocol, &ps);
    if (!rc) rc = protocol_make_folds(&ps, &cache->ds, o->seed, fs);
    for (int k = 0; !rc && o->refit && k < fs->n_folds; k++)
        if (fs->folds[k].n_val == 0)
            rc = avemo_error(AVEMO_EINVAL, "--refit needs validation actors to choose the epochs; protocol %s has none "
                                           "in fold %d", protocol, k + 1);
    return rc;
}

/* report.{json,md} and the pooled confusion matrix of the folds, and the summary line. */
static int write_run_report(const run_ctx *run, const fold_set *fs, const fold_report *frs, int nf, int best_fold) {
    const train_options *o = run->options;
    const feature_cache *cache = run->cache;
    run_report r = {"train", dataset_kind_name(cache->ds.kind), run->protocol, fs->desc, fs->speaker_independent,
                    o->seed, cache->data_hash, run->fingerprint, cache->ds.n_classes,
                    (const char *const *)cache->ds.class_names, nf, frs};
    int rc = report_write(&r, o->run_dir);
    if (rc) return rc;
    run_summary s;
    report_summarize(&r, &s);
    char path[4200], title[160];
    snprintf(path, sizeof path, "%s/confusion.png", o->run_dir);
    if (nf > 1)
        snprintf(title, sizeof title, "%s, %d folds pooled: top-1 %.2f%% (mean over folds %.2f +- %.2f)", run->protocol,
                 nf, 100 * s.pooled.top1, 100 * s.top1.mean, 100 * s.top1.std);
    else snprintf(title, sizeof title, "%s: test top-1 %.2f%%", run->protocol, 100 * s.pooled.top1);
    rc = plot_confusion_png(path, s.pooled.confusion, cache->ds.n_classes, (const char *const *)cache->ds.class_names,
                            title);
    if (rc) return rc;
    char spread[64] = ""; /* the std over a single fold is undefined */
    if (nf > 1) snprintf(spread, sizeof spread, " +- %.2f (sample std)", 100 * s.top1.std);
    if (s.pooled.n == 0) {
        train_log(o, "train: no test samples (%s); model: %s/model.safetensors; report: %s/report.md", run->protocol,
             o->run_dir, o->run_dir);
        return AVEMO_OK;
    }
    char members[96] = "";
    if (isfinite(s.member_top1.mean))
        snprintf(members, sizeof members, " (the ensemble's members alone: %.2f%%)", 100 * s.member_top1.mean);
    train_log(o, "train: top-1 %.2f%%%s%s over %d fold%s (%s); model: %s/model.safetensors (fold %d); report: %s/report.md",
         100 * s.top1.mean, spread, members, nf, nf > 1 ? "s" : "", run->protocol, o->run_dir, best_fold + 1,
         o->run_dir);
    return AVEMO_OK;
}

int train_run(const train_options *options) {
    train_options opts = *options; /* under MPI, data-parallel: ranks > 0 keep quiet (train_dist_logs) */
    const train_options *o = &opts;
    int rc = check_options(o);
    if (rc) return rc;
    feature_cache cache;
    if ((rc = cache_open(&cache, o->cache_dir))) return rc;
    fold_set fs = {0};
    fold_report *frs = NULL;
    float *val_best = NULL;
    train_dist dist = {.mode = TRAIN_DIST_NONE};
    feature_cache extra[TRAIN_MAX_EXTRA];
    int n_extra = 0;
    run_ctx run = {o, &cache, o->protocol ? o->protocol : protocol_default(cache.ds.kind), NULL, NULL, extra, 0};
    for (; n_extra < o->train_extra.n; n_extra++) {
        if ((rc = cache_open(&extra[n_extra], o->train_extra.cache[n_extra]))) goto done;
        if ((rc = train_extra_check(&cache, &extra[n_extra]))) {
            n_extra++;
            goto done;
        }
    }
    run.n_extra = n_extra;
    if ((rc = make_folds(o, &cache, run.protocol, &fs)) || (rc = make_dirs(o->run_dir))) goto done;
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
    train_log(o, "train: %s; %d of %d folds", fs.desc, nf, fs.n_folds);
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
    rc = write_run_report(&run, &fs, frs, nf, best_fold);
done:
    rc = train_dist_agree(&dist, rc);
    free(run.fingerprint);
    free(frs);
    free(val_best);
    fold_set_free(&fs);
    for (int e = 0; e < n_extra; e++) cache_free(&extra[e]);
    cache_free(&cache);
    return rc;
}

/* ---- shared with train/finetune.c (train/trainer_run.h) ---- */

uint64_t train_derive_seed(uint64_t seed, int fold, int epoch, int purpose) {
    return derive_seed(seed, fold, epoch, purpose);
}

/* One progress line to the caller's log function (none when quiet or when there is no function). */
void train_log(const train_options *o, const char *fmt, ...) {
    if (o->quiet || !o->log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->log(line, o->log_ctx);
}

char *train_fingerprint(const train_options *o, const model_config *cfg, uint64_t data_hash, const char *protocol) {
    return options_fingerprint(o, NULL, cfg, data_hash, protocol);
}

void train_fold_report_init(fold_report *fr, const fold *f, const train_history *h, int n_train, int n_val) {
    memset(fr, 0, sizeof *fr);
    fr->n_train = n_train;
    fr->n_val = n_val;
    fr->best_epoch = h->best_epoch;
    fr->best_val_top1 = h->best_val;
    fr->n_test_actors = f->n_test_actors < REPORT_MAX_ACTORS ? f->n_test_actors : REPORT_MAX_ACTORS;
    fr->n_val_actors = f->n_val_actors < REPORT_MAX_ACTORS ? f->n_val_actors : REPORT_MAX_ACTORS;
    memcpy(fr->test_actors, f->test_actors, (size_t)fr->n_test_actors * sizeof(int));
    memcpy(fr->val_actors, f->val_actors, (size_t)fr->n_val_actors * sizeof(int));
    fr->val_top1 = n_val ? h->best_val : NAN; /* one model: the selected epoch's */
    fr->test.top1 = fr->test.top2 = fr->test.top3 = fr->test.macro_f1 = NAN; /* no test samples: "-" */
}

int train_save_fold_files(const run_ctx *run, int k, const char *dir, model_file *mf, const train_history *h,
                          int has_val, const fold_report *fr) {
    const feature_cache *cache = run->cache;
    int n_classes = mf->m->cfg.n_classes, epochs = run->options->epochs;
    char path[4200], sel[128], title[160];
    mf->n_classes = n_classes;
    for (int i = 0; i < n_classes; i++) mf->class_names[i] = cache->ds.class_names[i];
    mf->prep_json = cache->config_json;
    mf->dataset = (char *)dataset_kind_name(cache->ds.kind);
    mf->protocol = (char *)run->protocol;
    mf->fold = k + 1;
    if (has_val)
        snprintf(sel, sizeof sel, "best validation top-1 %.4f at epoch %d of %d", h->best_val, h->best_epoch, epochs);
    else snprintf(sel, sizeof sel, "final epoch %d (no validation actors)", epochs);
    mf->selected = sel;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = model_file_save(path, mf);
    if (rc) return rc;
    learning_curves lc = {epochs, h->train_loss, has_val ? h->val_loss : NULL, h->train_acc,
                          has_val ? h->val_acc : NULL, has_val ? h->best_epoch : 0};
    snprintf(title, sizeof title, "fold %d: %s", k + 1, run->protocol);
    snprintf(path, sizeof path, "%s/learning_curves.png", dir);
    if ((rc = plot_learning_curves_png(path, &lc, title))) return rc;
    if (!fr->test.n) return AVEMO_OK;
    snprintf(path, sizeof path, "%s/confusion.png", dir);
    snprintf(title, sizeof title, "fold %d test (%d samples), top-1 %.2f%%", k + 1, fr->test.n, 100 * fr->test.top1);
    return plot_confusion_png(path, fr->test.confusion, n_classes, (const char *const *)cache->ds.class_names, title);
}
