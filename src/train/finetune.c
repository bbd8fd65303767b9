/* End-to-end fine-tuning of MobileNetV2 with the head (train/finetune.h). */
#include "train/finetune.h"

#include "core/err.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "core/rng.h"
#include "data/featurizer.h"
#include "data/loader.h"
#include "model/mobilenetv2_train.h"
#include "model/model_init.h"
#include "nn/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FT_EVAL_CHUNK 128 /* samples per featurizer pass when scoring */
#define FT_HEAD_BATCH 64  /* samples per head pass when scoring */
#define FT_STD_FLOOR 0.1  /* feature std floor, as a fraction of the mean std over the 1280 features */

/* seed purposes (train_derive_seed): 0 init, 1 order, 2 dropout (trainer.c's); ours from 3 */
enum { SEED_AUGMENT = 3, SEED_SUBSET = 4, SEED_STATS = 5 };

/* ---- options ---- */

void finetune_options_default(finetune_options *o) {
    memset(o, 0, sizeof *o);
    o->input_size = 96;
    o->bn = FT_BN_TRAIN;
    o->bn_data_init = 1;
    o->backbone_lr = 1;
    o->layer_decay = 1;
    augment_config_default(&o->augment);
    o->mix_prob = 1;
    o->tta = 1;
    o->stats_images = 2048;
}

static const char *const bn_names[] = {"train", "frozen", "fixed"};

const char *finetune_bn_name(finetune_bn b) { return b >= FT_BN_TRAIN && b <= FT_BN_FIXED ? bn_names[b] : "?"; }

int finetune_bn_parse(const char *s, finetune_bn *out) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, bn_names[i])) {
            *out = (finetune_bn)i;
            return AVEMO_OK;
        }
    return avemo_error(AVEMO_EINVAL, "unknown BN mode '%s' (train, frozen or fixed)", s);
}

static double round7(float x) { /* the shortest decimal that reads back as x (readable JSON) */
    char buf[32];
    snprintf(buf, sizeof buf, "%.7g", x);
    return strtod(buf, NULL);
}

cJSON *finetune_options_json(const finetune_options *o) {
    cJSON *j = cJSON_CreateObject();
    const augment_config *a = &o->augment;
    if (o->backbone_path) cJSON_AddStringToObject(j, "backbone", o->backbone_path);
    cJSON_AddNumberToObject(j, "input_size", o->input_size);
    cJSON_AddStringToObject(j, "bn", finetune_bn_name(o->bn));
    cJSON_AddStringToObject(j, "bn_init", o->bn_data_init ? "data" : "identity");
    cJSON_AddNumberToObject(j, "backbone_lr", round7(o->backbone_lr));
    cJSON_AddNumberToObject(j, "layer_decay", round7(o->layer_decay));
    cJSON_AddNumberToObject(j, "warmup_epochs", round7(o->warmup_epochs));
    cJSON *aj = cJSON_AddObjectToObject(j, "augment");
    cJSON_AddBoolToObject(aj, "enabled", a->enabled);
    if (a->enabled) {
        cJSON_AddNumberToObject(aj, "scale_min", round7(a->scale_min));
        cJSON_AddNumberToObject(aj, "scale_max", round7(a->scale_max));
        cJSON_AddNumberToObject(aj, "aspect_max", round7(a->aspect_max));
        cJSON_AddNumberToObject(aj, "translate", round7(a->translate));
        cJSON_AddNumberToObject(aj, "rotate_deg", round7(a->rotate_deg));
        cJSON_AddNumberToObject(aj, "flip_p", round7(a->flip_p));
        cJSON_AddNumberToObject(aj, "brightness", round7(a->brightness));
        cJSON_AddNumberToObject(aj, "contrast", round7(a->contrast));
    }
    cJSON_AddNumberToObject(j, "mixup", round7(o->mixup));
    cJSON_AddNumberToObject(j, "cutmix", round7(o->cutmix));
    cJSON_AddNumberToObject(j, "mix_prob", round7(o->mix_prob));
    cJSON_AddNumberToObject(j, "tta", o->tta);
    cJSON_AddNumberToObject(j, "stats_images", o->stats_images);
    return j;
}

/* ---- scoring ---- */

/* Head probabilities of nb samples' standardised features video [nb, T, 1280] added (x weight) into probs. */
static int head_probs(model *head, const float *video, int nb, float weight, float *probs) {
    int K = head->cfg.n_classes;
    long per = (long)head->cfg.video_frames * head->cfg.video_dim;
    for (int b0 = 0; b0 < nb; b0 += FT_HEAD_BATCH) {
        int b = nb - b0 < FT_HEAD_BATCH ? nb - b0 : FT_HEAD_BATCH;
        int rc = model_forward(head, video + b0 * per, NULL, NULL, b, 0, NULL);
        if (rc) return rc;
        for (long i = 0; i < (long)b * K; i++) probs[(long)b0 * K + i] += weight * head->acts.probs[i];
    }
    return AVEMO_OK;
}

int finetune_predict_set(const mobilenetv2 *backbone, int input_size, model *head, const float *mean,
                         const float *std, const frame_set *set, int tta, float *probs) {
    if (tta < 1) tta = 1;
    if (tta > AUGMENT_TTA_MAX) tta = AUGMENT_TTA_MAX;
    int K = head->cfg.n_classes, T = set->frames;
    if (T != head->cfg.video_frames)
        return avemo_error(AVEMO_EINVAL, "the frames have %d per sample, the head reads %d", T, head->cfg.video_frames);
    memset(probs, 0, (size_t)set->n * K * sizeof *probs);
    if (!set->n) return AVEMO_OK;
    featurizer f;
    int rc = featurizer_open_backbone(&f, backbone);
    if (rc) return rc;
    f.embed_size = input_size;
    int chunk = set->n < FT_EVAL_CHUNK ? set->n : FT_EVAL_CHUNK;
    float *video = malloc((size_t)chunk * T * MNV2_FEATURES * sizeof *video);
    if (!video) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int i0 = 0; i0 < set->n && !rc; i0 += chunk) {
        int nb = set->n - i0 < chunk ? set->n - i0 : chunk;
        const uint8_t *frames = set->pixels + (long)i0 * frame_set_sample_bytes(set);
        for (int v = 0; v < tta && !rc; v++) {
            augment_view view;
            augment_tta_view(&view, v);
            rc = featurizer_embed_view(&f, frames, nb * T, set->height, set->width, set->channels, &view, video);
            if (!rc) {
                feature_standardize(video, (long)nb * T, MNV2_FEATURES, mean, std);
                rc = head_probs(head, video, nb, 1.0f / (float)tta, probs + (long)i0 * K);
            }
        }
    }
    free(video);
    featurizer_close(&f);
    return rc;
}

int finetune_eval_probs(const model_file *mf, const feature_cache *c, const int *idx, int n, int tta, float **probs_out,
                        int **labels_out, int **index_out, int *n_out) {
    *probs_out = NULL, *labels_out = NULL, *n_out = 0;
    if (index_out) *index_out = NULL;
    int *keep = malloc(((size_t)n + 1) * sizeof *keep);
    if (!keep) return avemo_error(AVEMO_ENOMEM, "out of memory");
    memcpy(keep, idx, (size_t)n * sizeof *keep);
    n = cache_filter_indices(c, CACHE_BIT(CACHE_FACES), keep, n);
    frame_set set;
    float *probs = NULL;
    int *labels = NULL;
    int rc = n > 0 ? frame_set_load(c, keep, n, &set)
                   : avemo_error(AVEMO_EINVAL, "%s: no sample with face frames to score (prep without them?)", c->dir);
    if (rc) {
        free(keep);
        return rc;
    }
    if (!(probs = malloc((size_t)n * mf->n_classes * sizeof *probs)) || !(labels = malloc((size_t)n * sizeof *labels)))
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!rc)
        rc = finetune_predict_set(mf->backbone, mf->input_size, mf->m, mf->video_mean, mf->video_std, &set, tta, probs);
    if (!rc) {
        memcpy(labels, set.labels, (size_t)n * sizeof *labels);
        *probs_out = probs, *labels_out = labels, *n_out = n;
        if (index_out) *index_out = keep, keep = NULL;
    } else {
        free(probs);
        free(labels);
    }
    free(keep);
    frame_set_free(&set);
    return rc;
}

int finetune_eval(const model_file *mf, const feature_cache *c, const int *idx, int n, int tta, eval_metrics *out) {
    float *probs;
    int *labels, m;
    int rc = finetune_eval_probs(mf, c, idx, n, tta, &probs, &labels, NULL, &m);
    if (rc) return rc;
    rc = metrics_compute(probs, labels, m, mf->n_classes, out);
    free(probs);
    free(labels);
    return rc;
}

/* ---- a fold's state ---- */

typedef struct {
    frame_set train, val, test;
    mobilenetv2 bb;               /* the backbone being trained (bb.params / bb.buffers) */
    model *head;
    float *bb_m, *bb_v, *head_m, *head_v; /* optimizer moments (v: Adam/AdamW only) */
    float *bb_best, *head_best;   /* the selected epoch's parameters + buffers (folds with validation only) */
    int have_best;
    float batches_tracked;        /* bb.num_batches_tracked, in the state file */
    float *vmean, *vstd;          /* [1280] the features' fixed standardisation */
    train_history history;
    /* one batch */
    float *x, *x_copy;            /* [B T, S, S, c]: rendered frames; a copy for mixing */
    float *feat, *dfeat;          /* [B T, 1280] */
    int *labels, *labels_b, *order, *pred, *mix_perm;
    augment_view *views;
    float *probs;                 /* [max(val, test), classes] */
} ft_state;

static void ft_state_free(ft_state *s) {
    frame_set_free(&s->train);
    frame_set_free(&s->val);
    frame_set_free(&s->test);
    mobilenetv2_free(&s->bb);
    if (s->head) model_free(s->head);
    float *bufs[] = {s->bb_m, s->bb_v, s->head_m, s->head_v, s->bb_best, s->head_best, s->vmean, s->vstd,
                     s->x, s->x_copy, s->feat, s->dfeat, s->probs, s->history.train_loss, s->history.train_acc,
                     s->history.val_loss, s->history.val_acc};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(s->labels);
    free(s->labels_b);
    free(s->order);
    free(s->pred);
    free(s->mix_perm);
    free(s->views);
    memset(s, 0, sizeof *s);
}

/* The fold's training samples, at most o->max_train_samples of them (a seeded subset, kept in index order). */
static int train_subset(const train_options *o, int k, const fold *f, int **idx, int *n) {
    *n = f->n_train;
    *idx = malloc(((size_t)*n + 1) * sizeof **idx);
    if (!*idx) return avemo_error(AVEMO_ENOMEM, "out of memory");
    memcpy(*idx, f->train, (size_t)*n * sizeof **idx);
    if (o->max_train_samples > 0 && o->max_train_samples < *n) {
        rng_t r;
        rng_seed(&r, train_derive_seed(o->seed, k, 0, SEED_SUBSET));
        rng_shuffle_int(&r, *idx, *n);
        *n = o->max_train_samples;
        for (int i = 1; i < *n; i++) /* insertion sort back into index order */
            for (int j = i; j > 0 && (*idx)[j - 1] > (*idx)[j]; j--) {
                int t = (*idx)[j];
                (*idx)[j] = (*idx)[j - 1];
                (*idx)[j - 1] = t;
            }
    }
    return AVEMO_OK;
}

static int load_set(const feature_cache *c, const int *idx, int n, frame_set *out) {
    int *keep = malloc(((size_t)n + 1) * sizeof *keep);
    if (!keep) return avemo_error(AVEMO_ENOMEM, "out of memory");
    memcpy(keep, idx, (size_t)n * sizeof *keep);
    n = cache_filter_indices(c, CACHE_BIT(CACHE_FACES), keep, n);
    int rc = frame_set_load(c, keep, n, out);
    free(keep);
    return rc;
}

static int load_sets(const run_ctx *run, int k, const fold *f, ft_state *s) {
    int *tr, n_tr;
    int rc = train_subset(run->options, k, f, &tr, &n_tr);
    if (rc) return rc;
    rc = load_set(run->cache, tr, n_tr, &s->train);
    free(tr);
    if (!rc) rc = load_set(run->cache, f->val, f->n_val, &s->val);
    if (!rc) rc = load_set(run->cache, f->test, f->n_test, &s->test);
    if (!rc && s->train.n == 0)
        rc = avemo_error(AVEMO_EINVAL, "%s: no training sample has face frames (prep the cache with --modality video)",
                         run->cache->dir);
    const frame_set *o[2] = {&s->val, &s->test};
    for (int i = 0; i < 2 && !rc; i++)
        if (o[i]->n && (o[i]->frames != s->train.frames || o[i]->height != s->train.height ||
                        o[i]->width != s->train.width || o[i]->channels != s->train.channels))
            rc = avemo_error(AVEMO_EFORMAT, "%s: the samples' frames differ in shape", run->cache->dir);
    return rc;
}

/* The head's configuration: video-only, T frames of 1280 features, the cache's classes. */
static model_config head_config(const train_options *o, const feature_cache *c, const frame_set *train) {
    model_config cfg = o->model;
    cfg.modality = MODALITY_VIDEO;
    cfg.n_classes = c->ds.n_classes;
    cfg.video_frames = train->frames;
    cfg.video_dim = MNV2_FEATURES;
    return cfg;
}

/* The imported weights without their ImageNet classifier (the features are what the head reads). */
static int load_backbone(mobilenetv2 *bb, const char *path, int channels) {
    mobilenetv2 full;
    int rc = mobilenetv2_from_file(&full, path, channels);
    if (rc) return avemo_error_prefix(rc, "--backbone");
    if (!(rc = mobilenetv2_init(bb, channels, 0))) {
        /* the classifier's tensors come last in the layout: the rest is a prefix of the same order */
        memcpy(bb->params, full.params, (size_t)bb->n_params * sizeof(float));
        memcpy(bb->buffers, full.buffers, (size_t)bb->n_buffers * sizeof(float));
        bb->padding = full.padding;
        bb->norm = full.norm;
        bb->num_batches_tracked = full.num_batches_tracked;
    }
    mobilenetv2_free(&full);
    return rc;
}

/* The head, the backbone (imported weights), optimizer moments, history and batch buffers. */
static int ft_state_alloc(ft_state *s, const train_options *o, const model_config *cfg, int k) {
    const finetune_options *ft = &o->finetune;
    int B = o->batch, T = s->train.frames, S = ft->input_size, rc;
    if ((rc = model_create(&s->head, cfg, train_derive_seed(o->seed, k, 0, 0)))) return rc;
    if ((rc = load_backbone(&s->bb, ft->backbone_path, s->train.channels == 3 ? 3 : 1))) return rc;
    if ((rc = mobilenetv2_alloc_grads(&s->bb))) return rc;
    int adam = o->optimizer != OPT_SGD, has_val = s->val.n > 0;
    long nbp = s->bb.n_params, nhp = s->head->n_params;
    long bb_state = nbp + s->bb.n_buffers, head_state = nhp + s->head->n_buffers;
    long px = (long)B * T * S * S * s->bb.in_channels;
    int n_score = s->val.n > s->test.n ? s->val.n : s->test.n;
    s->bb_m = calloc((size_t)nbp, sizeof(float));
    s->head_m = calloc((size_t)nhp, sizeof(float));
    s->bb_v = adam ? calloc((size_t)nbp, sizeof(float)) : NULL;
    s->head_v = adam ? calloc((size_t)nhp, sizeof(float)) : NULL;
    s->bb_best = has_val ? malloc((size_t)bb_state * sizeof(float)) : NULL;
    s->head_best = has_val ? malloc((size_t)head_state * sizeof(float)) : NULL;
    s->vmean = malloc(MNV2_FEATURES * sizeof(float));
    s->vstd = malloc(MNV2_FEATURES * sizeof(float));
    s->x = malloc((size_t)px * sizeof(float));
    s->x_copy = ft->mixup > 0 || ft->cutmix > 0 ? malloc((size_t)px * sizeof(float)) : NULL;
    s->feat = malloc((size_t)B * T * MNV2_FEATURES * sizeof(float));
    s->dfeat = malloc((size_t)B * T * MNV2_FEATURES * sizeof(float));
    s->labels = malloc((size_t)B * sizeof(int));
    s->labels_b = malloc((size_t)B * sizeof(int));
    s->pred = malloc((size_t)B * sizeof(int));
    s->mix_perm = malloc((size_t)B * sizeof(int));
    s->order = malloc((size_t)s->train.n * sizeof(int));
    s->views = malloc((size_t)B * sizeof(augment_view));
    s->probs = malloc((size_t)(n_score > 0 ? n_score : 1) * cfg->n_classes * sizeof(float));
    train_history *h = &s->history;
    h->best_val = NAN;
    h->train_loss = calloc((size_t)o->epochs, sizeof(float));
    h->train_acc = calloc((size_t)o->epochs, sizeof(float));
    h->val_loss = calloc((size_t)o->epochs, sizeof(float));
    h->val_acc = calloc((size_t)o->epochs, sizeof(float));
    if (!s->bb_m || !s->head_m || (adam && (!s->bb_v || !s->head_v)) || (has_val && (!s->bb_best || !s->head_best)) ||
        !s->vmean || !s->vstd || !s->x || ((ft->mixup > 0 || ft->cutmix > 0) && !s->x_copy) || !s->feat ||
        !s->dfeat || !s->labels || !s->labels_b || !s->pred || !s->mix_perm || !s->order || !s->views || !s->probs ||
        !h->train_loss || !h->train_acc || !h->val_loss || !h->val_acc)
        return avemo_error(AVEMO_ENOMEM, "out of memory for fine-tuning (batch %d x %d frames at %dx%d)", B, T, S, S);
    return AVEMO_OK;
}

/* Sample rows[i]'s frames of set under views[i] into x (S x S, normalised), in parallel. */
static int render_batch(const frame_set *set, const int *rows, int n, const augment_view *views, int S, int stem,
                        mnv2_norm norm, float *x) {
    int T = set->frames, err = AVEMO_OK;
    long per_frame = (long)set->height * set->width * set->channels, per_out = (long)S * S * stem;
#pragma omp parallel for schedule(dynamic, 4)
    for (int j = 0; j < n * T; j++) {
        int i = j / T, t = j % T;
        uint8_t *scratch = malloc((size_t)set->height * set->width * 3);
        const uint8_t *src = set->pixels + (long)rows[i] * frame_set_sample_bytes(set) + t * per_frame;
        int r = scratch ? featurizer_frame_input(x + (long)j * per_out, S, stem, norm, src, set->height, set->width,
                                                 set->channels, &views[i], scratch)
                        : AVEMO_ENOMEM;
        free(scratch);
        if (r) {
#pragma omp atomic write
            err = r;
        }
    }
    return err ? avemo_error(err, "cannot render a batch of %d samples at %dx%d", n, S, S) : AVEMO_OK;
}

/* The first stats_images frames (in a seeded order) of the training set, identity view: *x [*n, S, S, c]. */
static int stats_images(const train_options *o, int k, const ft_state *s, float **x, int *n) {
    const frame_set *set = &s->train;
    int S = o->finetune.input_size, T = set->frames;
    int n_samples = o->finetune.stats_images / T;
    if (n_samples < 1) n_samples = 1;
    if (n_samples > set->n) n_samples = set->n;
    int *rows = malloc((size_t)set->n * sizeof *rows);
    augment_view *views = malloc((size_t)n_samples * sizeof *views);
    *n = n_samples * T;
    *x = malloc((size_t)*n * S * S * s->bb.in_channels * sizeof **x);
    int rc = rows && views && *x ? AVEMO_OK : avemo_error(AVEMO_ENOMEM, "out of memory for %d statistics images", *n);
    if (!rc) {
        for (int i = 0; i < set->n; i++) rows[i] = i;
        rng_t r;
        rng_seed(&r, train_derive_seed(o->seed, k, 0, SEED_STATS));
        rng_shuffle_int(&r, rows, set->n);
        for (int i = 0; i < n_samples; i++) augment_view_identity(&views[i]);
        rc = render_batch(set, rows, n_samples, views, S, s->bb.in_channels, s->bb.norm, *x);
    }
    free(rows);
    free(views);
    if (rc) {
        free(*x);
        *x = NULL;
    }
    return rc;
}

/* Before the first epoch (not on resume): BN statistics from data (when asked, train-mode BN), then the
 * features' mean and std on the same images with the starting weights (eval mode). */
static int init_from_data(const train_options *o, int k, ft_state *s) {
    float *x, *feat = NULL;
    int n, S = o->finetune.input_size;
    int rc = stats_images(o, k, s, &x, &n);
    if (rc) return rc;
    if (o->finetune.bn_data_init && o->finetune.bn == FT_BN_TRAIN) rc = mobilenetv2_bn_from_data(&s->bb, x, n, S, S, 0);
    mnv2_folded folded;
    if (!rc && !(feat = malloc((size_t)n * MNV2_FEATURES * sizeof *feat))) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!rc && !(rc = mobilenetv2_fold_precision(&folded, &s->bb, 0))) {
        rc = mobilenetv2_infer(&folded, feat, x, n, S, S, 32);
        mobilenetv2_folded_free(&folded);
    }
    if (!rc) {
        feature_stats(feat, n, MNV2_FEATURES, s->vmean, s->vstd);
        /* a feature nearly constant on these images would be amplified without bound once fine-tuning moves it:
         * its std is floored at a fraction of the mean std */
        double mean_std = 0;
        for (int j = 0; j < MNV2_FEATURES; j++) mean_std += s->vstd[j] / MNV2_FEATURES;
        for (int j = 0; j < MNV2_FEATURES; j++)
            if (s->vstd[j] < FT_STD_FLOOR * mean_std) s->vstd[j] = (float)(FT_STD_FLOOR * mean_std);
    }
    free(feat);
    free(x);
    return rc;
}

/* ---- mixing ---- */

/* Gamma(a, 1) (Marsaglia and Tsang 2000; a < 1 through Gamma(a + 1) U^(1/a)). */
static double rng_gamma(rng_t *r, double a) {
    if (a < 1) {
        double u = rng_uniform(r);
        return rng_gamma(r, a + 1) * pow(u > 1e-300 ? u : 1e-300, 1.0 / a);
    }
    double d = a - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double x = rng_normal(r), v = 1 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = rng_uniform(r);
        if (u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v))) return d * v;
    }
}

static double rng_beta(rng_t *r, double a) {
    double x = rng_gamma(r, a), y = rng_gamma(r, a);
    return x + y > 0 ? x / (x + y) : 0.5;
}

/* Mixup or cutmix of the rendered batch x [n samples of `per` floats: T frames of S x S x c] with a shuffled
 * copy of itself (drawn from rng); labels_b = the partners' labels. Returns lambda (the weight of the sample's
 * own label), 1 when the batch is not mixed. */
static float mix_batch(const finetune_options *ft, ft_state *s, int n, int T, int S, int c, rng_t *rng) {
    int use_mixup = ft->mixup > 0, use_cutmix = ft->cutmix > 0;
    if ((!use_mixup && !use_cutmix) || n < 2 || rng_uniform(rng) >= ft->mix_prob) return 1.0f;
    if (use_mixup && use_cutmix) use_mixup = rng_uniform(rng) < 0.5, use_cutmix = !use_mixup;
    int *perm = s->mix_perm;
    for (int i = 0; i < n; i++) perm[i] = i;
    rng_shuffle_int(rng, perm, n);
    for (int i = 0; i < n; i++) s->labels_b[i] = s->labels[perm[i]];
    long per_frame = (long)S * S * c, per = per_frame * T;
    memcpy(s->x_copy, s->x, (size_t)n * per * sizeof(float));
    double lam = rng_beta(rng, use_mixup ? ft->mixup : ft->cutmix);
    if (use_mixup) {
        for (int i = 0; i < n; i++) {
            float *dst = s->x + i * per;
            const float *a = s->x_copy + i * per, *b = s->x_copy + perm[i] * per;
            for (long j = 0; j < per; j++) dst[j] = (float)lam * a[j] + (float)(1 - lam) * b[j];
        }
        return (float)lam;
    }
    /* cutmix: a box of area (1 - lam) S^2 (clipped at the edges) from the partner, the same for every sample */
    double cut = sqrt(1 - lam);
    int cw = (int)(S * cut), ch = cw, cx = (int)rng_below(rng, (uint64_t)S), cy = (int)rng_below(rng, (uint64_t)S);
    int x0 = cx - cw / 2 < 0 ? 0 : cx - cw / 2, x1 = cx + cw / 2 > S ? S : cx + cw / 2;
    int y0 = cy - ch / 2 < 0 ? 0 : cy - ch / 2, y1 = cy + ch / 2 > S ? S : cy + ch / 2;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < T; t++)
            for (int y = y0; y < y1; y++) {
                long row = i * per + t * per_frame + ((long)y * S + x0) * c;
                long src = perm[i] * per + t * per_frame + ((long)y * S + x0) * c;
                memcpy(s->x + row, s->x_copy + src, (size_t)(x1 - x0) * c * sizeof(float));
            }
    return (float)(1 - (double)(x1 - x0) * (y1 - y0) / ((double)S * S));
}

/* ---- optimizer ---- */

static void opt_step(const train_options *o, float *p, const float *g, float *m, float *v, long n, float lr, float wd,
                     long step) {
    if (o->optimizer == OPT_SGD) {
        sgd_config sc = {lr, o->momentum, o->dampening, wd, o->nesterov};
        sgd_step(p, g, m, n, &sc, step);
    } else {
        adam_config ac = {lr, 0.9f, 0.999f, 1e-8f, wd, o->optimizer == OPT_ADAMW};
        adam_step(p, g, m, v, n, &ac, step);
    }
}

/* One step of every trainable tensor: weight decay on weights of 2+ dimensions only; the backbone's lr scaled
 * by backbone_lr and layer_decay^(51 - unit); BN weights and biases skipped when fixed. */
static void step_all(const train_options *o, finetune_net *net, float lr, long step) {
    const finetune_options *ft = &o->finetune;
    mobilenetv2 *bb = net->backbone;
    const layout *L = &bb->param_layout;
    for (int e = 0; e < L->n; e++) {
        const layout_entry *t = &L->e[e];
        if (!layout_has_grad(t) || (t->ndim == 1 && ft->bn == FT_BN_FIXED)) continue;
        int unit = mobilenetv2_tensor_unit(bb, e);
        if (unit < 0) continue; /* an ImageNet classifier: not part of the features */
        float scale = ft->backbone_lr * powf(ft->layer_decay, (float)(MNV2_UNITS - 1 - unit));
        opt_step(o, bb->params + t->offset, bb->grads + t->offset, net->bb_m + t->offset,
                 net->bb_v ? net->bb_v + t->offset : NULL, t->count, lr * scale, t->ndim > 1 ? o->weight_decay : 0,
                 step);
    }
    model *h = net->head;
    for (int e = 0; e < h->param_layout.n; e++) {
        const layout_entry *t = &h->param_layout.e[e];
        if (!layout_has_grad(t)) continue;
        opt_step(o, h->param_mem + t->offset, h->grad_mem + t->offset, net->head_m + t->offset,
                 net->head_v ? net->head_v + t->offset : NULL, t->count, lr, t->ndim > 1 ? o->weight_decay : 0, step);
    }
}

int finetune_net_step(finetune_net *net, const train_options *o, const float *x, int n, int S, const int *labels,
                      const int *labels_b, float lambda, float lr, long step, rng_t *drop_rng) {
    mobilenetv2 *bb = net->backbone;
    model *h = net->head;
    int nf = n * h->cfg.video_frames, rc;
    /* backbone -> standardised features [n, T, 1280] -> head -> loss */
    if ((rc = mobilenetv2_forward(bb, net->feat, x, nf, S, S, o->finetune.bn == FT_BN_TRAIN))) return rc;
    feature_standardize(net->feat, nf, MNV2_FEATURES, net->mean, net->std);
    model_set_mix(h, labels_b, lambda);
    rc = model_forward(h, net->feat, NULL, labels, n, 1, drop_rng);
    model_zero_grad(h);
    if (!rc) rc = model_backward(h, net->dfeat, NULL);
    model_set_mix(h, NULL, 1.0f);
    if (rc) return rc;
    if (!isfinite(h->loss)) return avemo_error(AVEMO_EINVAL, "the loss diverged (%g); lower --lr", h->loss);
    /* d/dfeatures of (f - mean) / std */
    for (long r = 0; r < nf; r++)
        for (int j = 0; j < MNV2_FEATURES; j++) net->dfeat[r * MNV2_FEATURES + j] /= net->std[j];
    mobilenetv2_zero_grads(bb);
    if ((rc = mobilenetv2_backward(bb, NULL, net->dfeat))) return rc;
    step_all(o, net, lr, step);
    return AVEMO_OK;
}

/* The learning rate of step `step` (0-based) of steps_per_epoch x epochs: linear warm-up over warmup_epochs, then
 * the schedule (cosine over the steps after the warm-up; multistep and constant per epoch). */
static float lr_at_step(const train_options *o, long step, long steps_per_epoch) {
    double warm = o->finetune.warmup_epochs * (double)steps_per_epoch, total = (double)o->epochs * steps_per_epoch;
    if (step < warm) return (float)(o->lr * (step + 1) / warm);
    int epoch = (int)(step / steps_per_epoch);
    switch (o->schedule) {
    case SCHED_COSINE: {
        double t = total - warm > 0 ? (step - warm) / (total - warm) : 1;
        return (float)(o->min_lr + (o->lr - o->min_lr) * (1 + cos(M_PI * t)) / 2);
    }
    case SCHED_CONSTANT: return o->lr;
    default: return lr_multistep(o->lr, epoch, o->milestones, o->n_milestones, o->gamma);
    }
}

/* ---- training ---- */

typedef struct {
    double loss_sum;
    long correct, seen;
} epoch_totals;

/* One optimizer step on the training samples rows[0..n): render, mix, then finetune_net_step. */
static int train_step(const train_options *o, ft_state *s, const int *rows, int n, float lr, rng_t *aug_rng,
                      rng_t *drop_rng, epoch_totals *tot) {
    const finetune_options *ft = &o->finetune;
    int S = ft->input_size, T = s->train.frames, c = s->bb.in_channels, rc;
    for (int i = 0; i < n; i++) {
        s->labels[i] = s->train.labels[rows[i]];
        augment_draw(&s->views[i], &ft->augment, aug_rng);
    }
    if ((rc = render_batch(&s->train, rows, n, s->views, S, c, s->bb.norm, s->x))) return rc;
    float lam = mix_batch(ft, s, n, T, S, c, aug_rng);
    finetune_net net = {&s->bb, s->head, s->vmean, s->vstd, s->bb_m, s->bb_v, s->head_m, s->head_v, s->feat, s->dfeat};
    s->history.step++;
    if ((rc = finetune_net_step(&net, o, s->x, n, S, s->labels, lam < 1.0f ? s->labels_b : NULL, lam, lr,
                                s->history.step, drop_rng)))
        return rc;
    model_predict(s->head, s->pred);
    for (int i = 0; i < n; i++) tot->correct += s->pred[i] == s->labels[i];
    tot->loss_sum += (double)s->head->loss * n;
    tot->seen += n;
    return AVEMO_OK;
}

/* Steps per epoch: full batches (the last partial one dropped when there are at least two full ones, so that
 * train-mode BN never sees a tiny batch), else every sample. */
static long steps_per_epoch(int n_train, int batch) {
    if (n_train >= 2 * batch) return n_train / batch;
    return (n_train + batch - 1) / batch;
}

static int train_epoch(const run_ctx *run, int k, int n_folds, int epoch, ft_state *s) {
    const train_options *o = run->options;
    int n_train = s->train.n, B = o->batch, rc = AVEMO_OK;
    long spe = steps_per_epoch(n_train, B);
    rng_t order_rng, drop_rng, aug_rng;
    rng_seed(&order_rng, train_derive_seed(o->seed, k, epoch + 1, 1));
    rng_seed(&drop_rng, train_derive_seed(o->seed, k, epoch + 1, 2));
    rng_seed(&aug_rng, train_derive_seed(o->seed, k, epoch + 1, SEED_AUGMENT));
    for (int i = 0; i < n_train; i++) s->order[i] = i;
    rng_shuffle_int(&order_rng, s->order, n_train);
    epoch_totals tot = {0};
    progress pg;
    char label[64];
    snprintf(label, sizeof label, "fold %d/%d epoch %d/%d", k + 1, n_folds, epoch + 1, o->epochs);
    progress_start(&pg, label, spe * (n_train < B ? n_train : B));
    float lr = 0;
    for (long st = 0; st < spe && !rc; st++) {
        int i0 = (int)(st * B), n = n_train - i0 < B ? n_train - i0 : B;
        lr = lr_at_step(o, (long)epoch * spe + st, spe);
        if ((rc = train_step(o, s, s->order + i0, n, lr, &aug_rng, &drop_rng, &tot))) break;
        progress_set_extra(&pg, "lr %.4g loss %.4f acc %.3f", lr, tot.loss_sum / tot.seen, (double)tot.correct / tot.seen);
        progress_update(&pg, tot.seen);
    }
    if (rc) return avemo_error_prefix(rc, "fold %d epoch %d", k + 1, epoch + 1);
    progress_finish(&pg);
    s->history.train_loss[epoch] = (float)(tot.loss_sum / tot.seen);
    s->history.train_acc[epoch] = (float)tot.correct / (float)tot.seen;
    s->batches_tracked = (float)s->bb.num_batches_tracked;
    return AVEMO_OK;
}

/* Validation top-1 after an epoch (single view); keeps the weights when they are the best so far. */
static int validate_epoch(int epoch, int S, ft_state *s, double *vacc, int *improved) {
    train_history *h = &s->history;
    *vacc = NAN;
    *improved = !s->val.n; /* no validation: the last epoch is the selection */
    if (!s->val.n) {
        h->best_epoch = epoch + 1;
        return AVEMO_OK;
    }
    int rc = finetune_predict_set(&s->bb, S, s->head, s->vmean, s->vstd, &s->val, 1, s->probs), K = s->head->cfg.n_classes;
    if (rc) return rc;
    *vacc = metrics_topk(s->probs, s->val.labels, s->val.n, K, 1);
    double nll = 0;
    for (int i = 0; i < s->val.n; i++) nll -= log(fmax(s->probs[(long)i * K + s->val.labels[i]], 1e-30));
    h->val_acc[epoch] = (float)*vacc;
    h->val_loss[epoch] = (float)(nll / s->val.n);
    *improved = !isfinite(h->best_val) || *vacc > h->best_val;
    if (*improved) {
        h->best_val = *vacc;
        h->best_epoch = epoch + 1;
        memcpy(s->bb_best, s->bb.params, (size_t)s->bb.n_params * sizeof(float));
        memcpy(s->bb_best + s->bb.n_params, s->bb.buffers, (size_t)s->bb.n_buffers * sizeof(float));
        memcpy(s->head_best, s->head->param_mem, (size_t)s->head->n_params * sizeof(float));
        memcpy(s->head_best + s->head->n_params, s->head->buffer_mem, (size_t)s->head->n_buffers * sizeof(float));
        s->have_best = 1;
    }
    return AVEMO_OK;
}

/* ---- resume state, start, the fold ---- */

/* The tensors the fold's state holds beyond the head's: x[0..*n). */
static void state_extras(ft_state *s, train_state_extra *x, int *n) {
    int k = 0;
    x[k++] = (train_state_extra){"backbone.param", s->bb.params, s->bb.n_params};
    x[k++] = (train_state_extra){"backbone.buffer", s->bb.buffers, s->bb.n_buffers};
    x[k++] = (train_state_extra){"backbone.opt_m", s->bb_m, s->bb.n_params};
    if (s->bb_v) x[k++] = (train_state_extra){"backbone.opt_v", s->bb_v, s->bb.n_params};
    if (s->bb_best) x[k++] = (train_state_extra){"backbone.best", s->bb_best, s->bb.n_params + s->bb.n_buffers};
    x[k++] = (train_state_extra){"backbone.num_batches_tracked", &s->batches_tracked, 1};
    x[k++] = (train_state_extra){"video_mean", s->vmean, MNV2_FEATURES};
    x[k++] = (train_state_extra){"video_std", s->vstd, MNV2_FEATURES};
    *n = k;
}

static int state_save(const char *path, ft_state *s, const char *fingerprint) {
    train_state_extra x[8];
    int n;
    state_extras(s, x, &n);
    return train_state_save_ex(path, s->head, s->head_m, s->head_v, s->have_best ? s->head_best : NULL, &s->history,
                               fingerprint, x, n);
}

/* Copy the backbone of a fine-tuned model file (--init-visual of one) into s->bb. */
static int init_backbone_from(ft_state *s, const char *path, int *copied) {
    *copied = 0;
    if (!model_file_is_model(path)) return AVEMO_OK;
    st_file f;
    int rc = st_read(path, &f);
    int has = !rc && st_meta(&f, "backbone") != NULL;
    if (!rc) st_free(&f);
    if (rc || !has) return rc;
    mobilenetv2 net;
    int size;
    if ((rc = model_file_load_backbone(path, &net, &size))) return rc;
    if (net.in_channels != s->bb.in_channels) rc = avemo_error(AVEMO_EINVAL, "%s: its backbone's stem differs", path);
    if (!rc) {
        memcpy(s->bb.params, net.params, (size_t)net.n_params * sizeof(float));
        memcpy(s->bb.buffers, net.buffers, (size_t)net.n_buffers * sizeof(float));
        s->bb.padding = net.padding;
        s->bb.norm = net.norm;
        *copied = 1;
    }
    mobilenetv2_free(&net);
    return rc;
}

/* Before the first epoch of this call: resume, refuse to overwrite a state, or initialise (--init-visual, BN
 * statistics and feature statistics from data). */
static int fold_start(const run_ctx *run, int k, int n_folds, const char *state_path, ft_state *s) {
    const train_options *o = run->options;
    struct stat st;
    int have_state = stat(state_path, &st) == 0, rc = AVEMO_OK;
    if (o->resume && have_state) {
        train_state_extra x[8];
        int n;
        state_extras(s, x, &n);
        rc = train_state_load_ex(state_path, s->head, s->head_m, s->head_v, s->head_best, &s->have_best, &s->history,
                                 run->fingerprint, o->epochs, x, n);
        s->bb.num_batches_tracked = (int64_t)s->batches_tracked;
        if (!rc) train_log(o, "fold %d/%d: resuming after epoch %d", k + 1, n_folds, s->history.epoch);
        return rc;
    }
    if (have_state)
        return avemo_error(AVEMO_EINVAL, "%s exists: pass --resume to continue that run, or use a new RUN folder",
                           state_path);
    int bb_copied = 0;
    if (o->init_visual) {
        int n_copied;
        if ((rc = model_init_from_file(s->head, o->init_visual, MODEL_VISUAL_PREFIX, &n_copied)) ||
            (rc = init_backbone_from(s, o->init_visual, &bb_copied)))
            return rc;
        train_log(o, "fold %d/%d: visual stream initialised from %s (%d tensors%s)", k + 1, n_folds, o->init_visual,
                  n_copied, bb_copied ? " and its fine-tuned backbone" : "");
    }
    double t0 = now_seconds();
    if ((rc = init_from_data(o, k, s))) return rc;
    train_log(o, "fold %d/%d: %s%d training images, feature statistics measured (%.1f s)", k + 1, n_folds,
              o->finetune.bn_data_init && o->finetune.bn == FT_BN_TRAIN ? "BN statistics and " : "",
              o->finetune.stats_images < s->train.n * s->train.frames ? o->finetune.stats_images
                                                                      : s->train.n * s->train.frames,
              now_seconds() - t0);
    return AVEMO_OK;
}

/* The selected weights (best validation epoch, else the last) scored on the test samples with the TTA views. */
static int test_selected(const train_options *o, const fold *f, ft_state *s, fold_report *fr) {
    if (s->have_best) {
        memcpy(s->bb.params, s->bb_best, (size_t)s->bb.n_params * sizeof(float));
        memcpy(s->bb.buffers, s->bb_best + s->bb.n_params, (size_t)s->bb.n_buffers * sizeof(float));
        memcpy(s->head->param_mem, s->head_best, (size_t)s->head->n_params * sizeof(float));
        memcpy(s->head->buffer_mem, s->head_best + s->head->n_params, (size_t)s->head->n_buffers * sizeof(float));
    }
    train_fold_report_init(fr, f, &s->history, s->train.n, s->val.n);
    int K = s->head->cfg.n_classes;
    if (!s->test.n) {
        fr->test.n_classes = K;
        return AVEMO_OK;
    }
    int rc = finetune_predict_set(&s->bb, o->finetune.input_size, s->head, s->vmean, s->vstd, &s->test,
                                  o->finetune.tta, s->probs);
    return rc ? rc : metrics_compute(s->probs, s->test.labels, s->test.n, K, &fr->test);
}

static void log_epoch(const train_options *o, int k, int n_folds, int epoch, const ft_state *s, double vacc,
                      int improved, double t_epoch, double t_run, int epochs_run) {
    double eta = epochs_run > 0 ? t_run / epochs_run * (o->epochs - epoch - 1) : 0;
    char val[64] = "";
    if (s->val.n) snprintf(val, sizeof val, "  val acc %.4f%s", vacc, improved ? " (best)" : "");
    train_log(o, "fold %d/%d epoch %3d/%d  train loss %.4f acc %.4f%s  %.0f s (%.1f img/s)  ETA %.0f min", k + 1,
              n_folds, epoch + 1, o->epochs, s->history.train_loss[epoch], s->history.train_acc[epoch], val, t_epoch,
              s->train.n * s->train.frames / t_epoch, eta / 60);
}

int finetune_fold(run_ctx *run, int k, int n_folds, const fold *f, fold_report *fr, float *val_best) {
    const train_options *o = run->options;
    if (!o->finetune.backbone_path) return avemo_error(AVEMO_EINVAL, "--finetune needs --backbone (avemo import)");
    char dir[4096], state_path[4200];
    snprintf(dir, sizeof dir, "%s/fold_%d", o->run_dir, k + 1);
    int rc = make_dirs(dir);
    if (rc) return rc;
    ft_state s = {0};
    if ((rc = load_sets(run, k, f, &s))) goto done;
    model_config cfg = head_config(o, run->cache, &s.train);
    free(run->fingerprint);
    run->fingerprint = train_fingerprint(o, &cfg, run->cache->data_hash, run->protocol);
    snprintf(state_path, sizeof state_path, "%s/state.safetensors", dir);
    if ((rc = ft_state_alloc(&s, o, &cfg, k)) || (rc = fold_start(run, k, n_folds, state_path, &s))) goto done;
    train_log(o, "fold %d/%d: fine-tuning MobileNetV2 + head: %d train, %d validation, %d test samples of %d frame%s, "
              "%dx%d input, BN %s", k + 1, n_folds, s.train.n, s.val.n, s.test.n, s.train.frames,
              s.train.frames == 1 ? "" : "s", o->finetune.input_size, o->finetune.input_size,
              finetune_bn_name(o->finetune.bn));
    int stop_at = o->stop_after_epochs > 0 ? s.history.epoch + o->stop_after_epochs : o->epochs, first = s.history.epoch;
    double t_start = now_seconds();
    for (int epoch = s.history.epoch; epoch < o->epochs; epoch++) {
        if (epoch == stop_at) {
            rc = avemo_error(AVEMO_EINTERNAL, "stopped after epoch %d as asked (--stop-after-epochs)", epoch);
            goto done;
        }
        double t0 = now_seconds(), vacc;
        int improved;
        if ((rc = train_epoch(run, k, n_folds, epoch, &s)) ||
            (rc = validate_epoch(epoch, o->finetune.input_size, &s, &vacc, &improved)))
            goto done;
        s.history.epoch = epoch + 1;
        if ((rc = state_save(state_path, &s, run->fingerprint))) goto done;
        log_epoch(o, k, n_folds, epoch, &s, vacc, improved, now_seconds() - t0, now_seconds() - t_start,
                  epoch + 1 - first);
    }
    if ((rc = test_selected(o, f, &s, fr))) goto done;
    *val_best = (float)s.history.best_val;
    model_file mf = {0};
    mf.m = s.head;
    mf.video_mean = s.vmean, mf.video_std = s.vstd;
    mf.backbone = &s.bb;
    mf.input_size = o->finetune.input_size;
    rc = train_save_fold_files(run, k, dir, &mf, &s.history, s.val.n > 0, fr);
done:
    ft_state_free(&s);
    return rc;
}
