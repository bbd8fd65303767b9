#include "train/trainer.h"

#include "core/err.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "core/rng.h"
#include "data/cache.h"
#include "data/loader.h"
#include "data/protocol.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "model/model_file.h"
#include "model/model_init.h"
#include "nn/nn.h"
#include "train/plot.h"
#include "train/report.h"

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
    int rc = batch_alloc(&b, s, EVAL_BATCH), nc = m->cfg.n_classes;
    int *rows = malloc(EVAL_BATCH * sizeof(int));
    double sum = 0;
    if (!rc && !rows) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int i0 = 0; !rc && i0 < s->n; i0 += EVAL_BATCH) {
        int n = s->n - i0 < EVAL_BATCH ? s->n - i0 : EVAL_BATCH;
        for (int i = 0; i < n; i++) rows[i] = i0 + i;
        batch_gather(&b, s, rows, n);
        if ((rc = model_forward(m, b.video, b.audio, b.labels, n, 0, NULL))) break;
        memcpy(probs + (size_t)i0 * nc, m->acts.probs, (size_t)n * nc * sizeof(float));
        sum += (double)m->loss * n;
    }
    if (loss) *loss = s->n ? sum / s->n : NAN;
    free(rows);
    batch_free(&b);
    return rc;
}

static double top1_of(const float *probs, const int *labels, int n, int nc) {
    return n ? metrics_topk(probs, labels, n, nc, 1) : NAN;
}

/* ---- resume state ---- */

typedef struct {
    int epoch;           /* completed epochs */
    long step;           /* optimizer steps taken */
    int best_epoch;      /* 1-based, 0 = none yet */
    double best_val;     /* NaN = none */
    float *train_loss, *train_acc, *val_loss, *val_acc; /* [epochs] */
} train_history;

static cJSON *float_array(const float *x, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, isfinite(x[i]) ? cJSON_CreateNumber(x[i]) : cJSON_CreateNull());
    return a;
}

static void read_float_array(const cJSON *a, float *x, int n) {
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(a, i);
        x[i] = cJSON_IsNumber(v) ? (float)v->valuedouble : NAN;
    }
}

static int state_save(const char *path, const model *m, const float *opt_m, const float *opt_v, const float *best,
                      const train_history *h, const char *fingerprint) {
    st_writer *w = st_writer_new();
    if (!w) return avemo_error(AVEMO_ENOMEM, "out of memory");
    int64_t np = m->n_params, nb = m->n_params + m->n_buffers;
    char num[64];
    int rc = st_writer_add(w, "param", ST_F32, 1, &np, m->param_mem);
    if (!rc && m->n_buffers) {
        int64_t nbuf = m->n_buffers;
        rc = st_writer_add(w, "buffer", ST_F32, 1, &nbuf, m->buffer_mem);
    }
    if (!rc && opt_m) rc = st_writer_add(w, "opt_m", ST_F32, 1, &np, opt_m);
    if (!rc && opt_v) rc = st_writer_add(w, "opt_v", ST_F32, 1, &np, opt_v);
    if (!rc && best) rc = st_writer_add(w, "best", ST_F32, 1, &nb, best);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "epoch", h->epoch);
    cJSON_AddNumberToObject(j, "step", (double)h->step);
    cJSON_AddNumberToObject(j, "best_epoch", h->best_epoch);
    if (isfinite(h->best_val)) cJSON_AddNumberToObject(j, "best_val", h->best_val);
    cJSON_AddItemToObject(j, "train_loss", float_array(h->train_loss, h->epoch));
    cJSON_AddItemToObject(j, "train_acc", float_array(h->train_acc, h->epoch));
    cJSON_AddItemToObject(j, "val_loss", float_array(h->val_loss, h->epoch));
    cJSON_AddItemToObject(j, "val_acc", float_array(h->val_acc, h->epoch));
    char *js = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    snprintf(num, sizeof num, "%d", h->epoch);
    if (!rc) rc = js ? st_writer_meta(w, "history", js) : avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!rc) rc = st_writer_meta(w, "options", fingerprint);
    if (!rc) rc = st_writer_write(w, path);
    free(js);
    st_writer_free(w);
    return rc;
}

/* Restore a state written by state_save for the same options. Returns AVEMO_OK, or an error. */
static int state_load(const char *path, model *m, float *opt_m, float *opt_v, float *best, int *have_best,
                      train_history *h, const char *fingerprint, int epochs) {
    st_file f;
    int rc = st_read(path, &f);
    if (rc) return rc;
    const char *fp = st_meta(&f, "options"), *hist = st_meta(&f, "history");
    cJSON *j = NULL;
    if (!fp || strcmp(fp, fingerprint) != 0) {
        rc = avemo_error(AVEMO_EINVAL, "%s: this run was started with other options or data; use a new RUN folder "
                                       "or the same options to resume", path);
        goto done;
    }
    const st_tensor *t;
    if (!(t = st_find(&f, "param")) || (rc = st_to_f32(t, m->param_mem, m->n_params, path))) {
        if (!rc) rc = avemo_error(AVEMO_EFORMAT, "%s: no 'param' tensor", path);
        goto done;
    }
    if (m->n_buffers && (!(t = st_find(&f, "buffer")) || (rc = st_to_f32(t, m->buffer_mem, m->n_buffers, path)))) {
        if (!rc) rc = avemo_error(AVEMO_EFORMAT, "%s: no 'buffer' tensor", path);
        goto done;
    }
    if (opt_m && (t = st_find(&f, "opt_m")) && (rc = st_to_f32(t, opt_m, m->n_params, path))) goto done;
    if (opt_v && (t = st_find(&f, "opt_v")) && (rc = st_to_f32(t, opt_v, m->n_params, path))) goto done;
    *have_best = 0;
    if ((t = st_find(&f, "best"))) {
        if ((rc = st_to_f32(t, best, m->n_params + m->n_buffers, path))) goto done;
        *have_best = 1;
    }
    j = hist ? cJSON_Parse(hist) : NULL;
    const cJSON *e = cJSON_GetObjectItem(j, "epoch");
    if (!cJSON_IsNumber(e) || e->valueint < 0 || e->valueint > epochs) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: bad or missing history", path);
        goto done;
    }
    h->epoch = e->valueint;
    const cJSON *s = cJSON_GetObjectItem(j, "step"), *be = cJSON_GetObjectItem(j, "best_epoch"),
                *bv = cJSON_GetObjectItem(j, "best_val");
    h->step = cJSON_IsNumber(s) ? (long)s->valuedouble : 0;
    h->best_epoch = cJSON_IsNumber(be) ? be->valueint : 0;
    h->best_val = cJSON_IsNumber(bv) ? bv->valuedouble : NAN;
    read_float_array(cJSON_GetObjectItem(j, "train_loss"), h->train_loss, h->epoch);
    read_float_array(cJSON_GetObjectItem(j, "train_acc"), h->train_acc, h->epoch);
    read_float_array(cJSON_GetObjectItem(j, "val_loss"), h->val_loss, h->epoch);
    read_float_array(cJSON_GetObjectItem(j, "val_acc"), h->val_acc, h->epoch);
done:
    cJSON_Delete(j);
    st_free(&f);
    return rc;
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
    const train_options *o;
    const feature_cache *cache;
    const char *protocol;
    char *fingerprint;
} run_ctx;

/* Train one fold; on success fills *fr and writes RUN/fold_K/{model.safetensors,*.png}. */
static int train_fold(run_ctx *rc_, int k, int n_folds, const fold *f, fold_report *fr, float *val_best_out) {
    const train_options *o = rc_->o;
    const feature_cache *cache = rc_->cache;
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/fold_%d", o->run_dir, k + 1);
    int rc = make_dirs(dir);
    if (rc) return rc;

    fold_data d;
    if ((rc = load_fold(cache, f, kinds_for(o->model.modality), &d))) return rc;
    model_config cfg = o->model;
    cfg.n_classes = cache->ds.n_classes;
    if (d.train.audio) {
        cfg.audio_frames = d.train.audio_frames;
        cfg.audio_channels = d.train.audio_coeffs;
    }
    if (d.train.video) {
        cfg.video_frames = d.train.video_frames;
        cfg.video_dim = d.train.video_dim;
    }
    free(rc_->fingerprint);
    rc_->fingerprint = options_fingerprint(o, &cfg, cache->data_hash, rc_->protocol);

    model *m = NULL;
    float *opt_m = NULL, *opt_v = NULL, *best = NULL, *probs = NULL;
    int *perm = NULL, *rows = NULL, *pred_labels = NULL;
    batch_buf b = {0}, mdb = {0};
    train_history h = {0};
    h.best_val = NAN;
    int E = o->epochs, nc = cfg.n_classes, B = o->batch, rows_max = B * (cfg.modality_dropout ? 4 : 1);
    if ((rc = model_create(&m, &cfg, derive_seed(o->seed, k, 0, 0)))) goto done;
    long nb = m->n_params + m->n_buffers;
    opt_m = calloc((size_t)m->n_params, sizeof(float));
    if (o->optimizer != OPT_SGD) opt_v = calloc((size_t)m->n_params, sizeof(float));
    best = malloc((size_t)nb * sizeof(float));
    h.train_loss = calloc((size_t)E, sizeof(float));
    h.train_acc = calloc((size_t)E, sizeof(float));
    h.val_loss = calloc((size_t)E, sizeof(float));
    h.val_acc = calloc((size_t)E, sizeof(float));
    int n_eval_max = d.train.n > d.val.n ? d.train.n : d.val.n;
    if (d.test.n > n_eval_max) n_eval_max = d.test.n;
    probs = malloc((size_t)n_eval_max * nc * sizeof(float));
    perm = malloc((size_t)d.train.n * sizeof(int));
    rows = malloc((size_t)B * sizeof(int));
    pred_labels = malloc((size_t)rows_max * sizeof(int));
    if (!opt_m || (o->optimizer != OPT_SGD && !opt_v) || !best || !h.train_loss || !h.train_acc || !h.val_loss ||
        !h.val_acc || !probs || !perm || !rows || !pred_labels) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = batch_alloc(&b, &d.train, B)) || (rc = batch_alloc(&mdb, &d.train, rows_max))) goto done;

    int have_best = 0;
    snprintf(path, sizeof path, "%s/state.safetensors", dir);
    struct stat st;
    if (o->resume && stat(path, &st) == 0) {
        if ((rc = state_load(path, m, opt_m, opt_v, best, &have_best, &h, rc_->fingerprint, E))) goto done;
        tlog(o, "fold %d/%d: resuming after epoch %d", k + 1, n_folds, h.epoch);
    } else if (!o->resume && stat(path, &st) == 0) {
        rc = avemo_error(AVEMO_EINVAL, "%s exists: pass --resume to continue that run, or use a new RUN folder", path);
        goto done;
    } else if (o->init_visual) {
        int n_copied;
        if (cfg.modality == MODALITY_AUDIO) {
            rc = avemo_error(AVEMO_EINVAL, "--init-visual needs a model with the visual stream (--modality av or video)");
            goto done;
        }
        if ((rc = model_init_from_file(m, o->init_visual, MODEL_VISUAL_PREFIX, &n_copied))) goto done;
        tlog(o, "fold %d/%d: visual stream initialised from %s (%d tensors)", k + 1, n_folds, o->init_visual,
             n_copied);
    }

    int stop_at = o->stop_after_epochs > 0 ? h.epoch + o->stop_after_epochs : E;
    for (int epoch = h.epoch; epoch < E; epoch++) {
        if (epoch == stop_at) {
            rc = avemo_error(AVEMO_EINTERNAL, "stopped after epoch %d as asked (--stop-after-epochs)", epoch);
            goto done;
        }
        float lr = lr_at(o, epoch);
        rng_t order_rng, drop_rng;
        rng_seed(&order_rng, derive_seed(o->seed, k, epoch + 1, 1));
        rng_seed(&drop_rng, derive_seed(o->seed, k, epoch + 1, 2));
        for (int i = 0; i < d.train.n; i++) perm[i] = i;
        rng_shuffle_int(&order_rng, perm, d.train.n);
        double loss_sum = 0;
        long seen = 0, correct = 0;
        progress pg;
        char label[64];
        snprintf(label, sizeof label, "fold %d/%d epoch %d/%d", k + 1, n_folds, epoch + 1, E);
        progress_start(&pg, label, d.train.n);
        for (int i0 = 0; i0 < d.train.n; i0 += B) {
            int n = d.train.n - i0 < B ? d.train.n - i0 : B;
            memcpy(rows, perm + i0, (size_t)n * sizeof(int));
            batch_gather(&b, &d.train, rows, n);
            const float *bv = b.video, *ba = b.audio;
            const int *bl = b.labels;
            int bn = n;
            if (cfg.modality_dropout && cfg.modality == MODALITY_AV) {
                if ((rc = modality_dropout_softhard(mdb.video, mdb.audio, mdb.labels, b.video, b.audio, b.labels, n,
                                                    b.video_per, b.audio_per, &drop_rng)))
                    goto done;
                bv = mdb.video, ba = mdb.audio, bl = mdb.labels, bn = 4 * n;
            }
            if ((rc = model_forward(m, bv, ba, bl, bn, 1, &drop_rng))) goto done;
            model_zero_grad(m);
            if ((rc = model_backward(m, NULL, NULL))) goto done;
            h.step++;
            if (o->optimizer == OPT_SGD) {
                sgd_config sc = {lr, o->momentum, o->dampening, o->weight_decay, o->nesterov};
                sgd_step(m->param_mem, m->grad_mem, opt_m, m->n_params, &sc, h.step);
            } else {
                adam_config ac = {lr, 0.9f, 0.999f, 1e-8f, o->weight_decay, o->optimizer == OPT_ADAMW};
                adam_step(m->param_mem, m->grad_mem, opt_m, opt_v, m->n_params, &ac, h.step);
            }
            if (!isfinite(m->loss)) {
                rc = avemo_error(AVEMO_EINVAL, "fold %d epoch %d: the loss diverged (%g); lower --lr", k + 1,
                                 epoch + 1, m->loss);
                goto done;
            }
            model_predict(m, pred_labels);
            for (int i = 0; i < bn; i++) correct += pred_labels[i] == bl[i];
            loss_sum += (double)m->loss * bn;
            seen += bn;
            progress_set_extra(&pg, "lr %.4g loss %.4f acc %.3f", lr, loss_sum / seen, (double)correct / seen);
            progress_update(&pg, i0 + n);
        }
        progress_finish(&pg);
        h.train_loss[epoch] = (float)(loss_sum / seen);
        h.train_acc[epoch] = (float)correct / (float)seen;
        double vloss = NAN, vacc = NAN;
        if (d.val.n) {
            if ((rc = evaluate_set(m, &d.val, probs, &vloss))) goto done;
            vacc = top1_of(probs, d.val.labels, d.val.n, nc);
        }
        h.val_loss[epoch] = (float)vloss;
        h.val_acc[epoch] = (float)vacc;
        int improved = d.val.n ? (!isfinite(h.best_val) || vacc > h.best_val) : 1; /* no validation: last epoch */
        if (improved) {
            h.best_val = vacc;
            h.best_epoch = epoch + 1;
            memcpy(best, m->param_mem, (size_t)m->n_params * sizeof(float));
            memcpy(best + m->n_params, m->buffer_mem, (size_t)m->n_buffers * sizeof(float));
            have_best = 1;
        }
        h.epoch = epoch + 1;
        if ((rc = state_save(path, m, opt_m, opt_v, have_best ? best : NULL, &h, rc_->fingerprint))) goto done;
        tlog(o, "fold %d/%d epoch %3d/%d  lr %.4g  train loss %.4f acc %.3f  val loss %.4f acc %.3f%s", k + 1,
             n_folds, epoch + 1, E, lr, h.train_loss[epoch], h.train_acc[epoch], vloss, vacc,
             improved && d.val.n ? "  (best)" : "");
    }

    /* test the selected weights */
    if (have_best) {
        memcpy(m->param_mem, best, (size_t)m->n_params * sizeof(float));
        memcpy(m->buffer_mem, best + m->n_params, (size_t)m->n_buffers * sizeof(float));
    }
    memset(fr, 0, sizeof *fr);
    fr->n_train = d.train.n;
    fr->n_val = d.val.n;
    fr->best_epoch = h.best_epoch;
    fr->best_val_top1 = h.best_val;
    fr->n_test_actors = f->n_test_actors < REPORT_MAX_ACTORS ? f->n_test_actors : REPORT_MAX_ACTORS;
    fr->n_val_actors = f->n_val_actors < REPORT_MAX_ACTORS ? f->n_val_actors : REPORT_MAX_ACTORS;
    memcpy(fr->test_actors, f->test_actors, (size_t)fr->n_test_actors * sizeof(int));
    memcpy(fr->val_actors, f->val_actors, (size_t)fr->n_val_actors * sizeof(int));
    if (d.test.n) {
        if ((rc = evaluate_set(m, &d.test, probs, NULL))) goto done;
        if ((rc = metrics_compute(probs, d.test.labels, d.test.n, nc, &fr->test))) goto done;
    } else {
        fr->test.n_classes = nc;
    }
    *val_best_out = (float)h.best_val;

    /* the fold's model, plots */
    model_file mf = {0};
    char sel[128];
    mf.m = m;
    mf.n_classes = nc;
    for (int i = 0; i < nc; i++) mf.class_names[i] = cache->ds.class_names[i];
    mf.audio_mean = d.audio_mean, mf.audio_std = d.audio_std, mf.video_mean = d.video_mean, mf.video_std = d.video_std;
    mf.prep_json = cache->config_json;
    mf.dataset = (char *)dataset_kind_name(cache->ds.kind);
    mf.protocol = (char *)rc_->protocol;
    mf.fold = k + 1;
    if (d.val.n) snprintf(sel, sizeof sel, "best validation top-1 %.4f at epoch %d of %d", h.best_val, h.best_epoch, E);
    else snprintf(sel, sizeof sel, "final epoch %d (no validation actors)", E);
    mf.selected = sel;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if ((rc = model_file_save(path, &mf))) goto done;
    learning_curves lc = {E, h.train_loss, d.val.n ? h.val_loss : NULL, h.train_acc, d.val.n ? h.val_acc : NULL,
                          d.val.n ? h.best_epoch : 0};
    char title[160];
    snprintf(title, sizeof title, "fold %d: %s", k + 1, rc_->protocol);
    snprintf(path, sizeof path, "%s/learning_curves.png", dir);
    if ((rc = plot_learning_curves_png(path, &lc, title))) goto done;
    if (d.test.n) {
        snprintf(path, sizeof path, "%s/confusion.png", dir);
        snprintf(title, sizeof title, "fold %d test (%d samples), top-1 %.2f%%", k + 1, d.test.n, 100 * fr->test.top1);
        if ((rc = plot_confusion_png(path, fr->test.confusion, nc, (const char *const *)cache->ds.class_names, title)))
            goto done;
    }
done:
    batch_free(&b);
    batch_free(&mdb);
    free(opt_m);
    free(opt_v);
    free(best);
    free(probs);
    free(perm);
    free(rows);
    free(pred_labels);
    free(h.train_loss);
    free(h.train_acc);
    free(h.val_loss);
    free(h.val_acc);
    if (m) model_free(m);
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

int train_run(const train_options *o) {
    if (o->epochs < 1 || o->batch < 1 || !(o->lr > 0))
        return avemo_error(AVEMO_EINVAL, "train: --epochs, --batch and --lr must be positive");
    feature_cache cache;
    int rc = cache_open(&cache, o->cache_dir);
    if (rc) return rc;
    fold_set fs = {0};
    fold_report *frs = NULL;
    float *val_best = NULL;
    run_ctx ctx = {o, &cache, o->protocol ? o->protocol : protocol_default(cache.ds.kind), NULL};
    protocol_spec ps;
    if ((rc = protocol_parse(ctx.protocol, &ps)) || (rc = protocol_make_folds(&ps, &cache.ds, o->seed, &fs))) goto done;
    if ((rc = make_dirs(o->run_dir))) goto done;
    int nf = o->max_folds > 0 && o->max_folds < fs.n_folds ? o->max_folds : fs.n_folds;
    frs = calloc((size_t)nf, sizeof *frs);
    val_best = calloc((size_t)nf, sizeof *val_best);
    if (!frs || !val_best) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    tlog(o, "train: %s; %d of %d folds", fs.desc, nf, fs.n_folds);
    int best_fold = 0;
    for (int k = 0; k < nf; k++) {
        if ((rc = train_fold(&ctx, k, nf, &fs.folds[k], &frs[k], &val_best[k]))) goto done;
        tlog(o, "fold %d/%d: test top-1 %.2f%% top-2 %.2f%% macro-F1 %.2f%% (%d test samples, selected epoch %d)",
             k + 1, nf, 100 * frs[k].test.top1, 100 * frs[k].test.top2, 100 * frs[k].test.macro_f1, frs[k].test.n,
             frs[k].best_epoch);
        if (val_best[k] > val_best[best_fold]) best_fold = k;
    }
    char src[4200], dst[4200];
    snprintf(src, sizeof src, "%s/fold_%d/model.safetensors", o->run_dir, best_fold + 1);
    snprintf(dst, sizeof dst, "%s/model.safetensors", o->run_dir);
    if ((rc = copy_file(src, dst))) goto done;

    char *cfg_json = ctx.fingerprint ? strdup(ctx.fingerprint) : NULL;
    run_report r = {"train", dataset_kind_name(cache.ds.kind), ctx.protocol, fs.desc, fs.speaker_independent,
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
                     ctx.protocol, nf, 100 * s.pooled.top1, 100 * s.top1.mean, 100 * s.top1.std);
        else
            snprintf(title, sizeof title, "%s: test top-1 %.2f%%", ctx.protocol, 100 * s.pooled.top1);
        rc = plot_confusion_png(path, s.pooled.confusion, cache.ds.n_classes, (const char *const *)cache.ds.class_names, title);
        if (!rc) {
            char spread[64] = ""; /* the std over a single fold is undefined */
            if (nf > 1) snprintf(spread, sizeof spread, " +- %.2f (sample std)", 100 * s.top1.std);
            tlog(o, "train: top-1 %.2f%%%s over %d fold%s (%s); model: %s (fold %d); report: %s/report.md",
                 100 * s.top1.mean, spread, nf, nf > 1 ? "s" : "", ctx.protocol, dst, best_fold + 1, o->run_dir);
        }
    }
    free(cfg_json);
done:
    free(ctx.fingerprint);
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
