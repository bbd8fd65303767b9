/* avemo eval (train/trainer.h): a saved model, one model, a seed ensemble or a fine-tuned face model (its own
 * backbone on the cache's frames, test-time views), on a cache's samples. */
#include "train/trainer.h"

#include "core/csv.h"
#include "core/err.h"
#include "core/fileio.h"
#include "data/speaker_norm.h"
#include "data/protocol.h"
#include "model/model_file.h"
#include "train/finetune.h"
#include "train/train_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int actor_chosen(const eval_options *o, int actor) {
    int keep = o->n_actors == 0;
    for (int a = 0; a < o->n_actors; a++) keep |= actor == o->actors[a];
    return keep;
}

/* Indices of the cache's samples of the chosen actors (all when none is chosen), or of those among the test samples
 * of o->protocol's first fold; *n of them. */
static int chosen_samples(const feature_cache *c, const eval_options *o, int **idx, int *n) {
    *n = 0;
    *idx = malloc(((size_t)c->ds.n + 1) * sizeof **idx);
    if (!*idx) return avemo_error(AVEMO_ENOMEM, "out of memory");
    if (!o->protocol) {
        for (int i = 0; i < c->ds.n; i++)
            if (actor_chosen(o, c->ds.samples[i].actor)) (*idx)[(*n)++] = i;
        return AVEMO_OK;
    }
    protocol_spec ps;
    fold_set fs;
    int rc = protocol_parse(o->protocol, &ps);
    if (rc || (rc = protocol_make_folds(&ps, &c->ds, o->seed ? o->seed : 1, &fs))) return rc;
    if (o->fold < 0 || o->fold >= fs.n_folds) {
        fold_set_free(&fs);
        return avemo_error(AVEMO_EINVAL, "%s: fold %d of %d", o->protocol, o->fold + 1, fs.n_folds);
    }
    const fold *f = &fs.folds[o->fold];
    const int *pick = o->validation ? f->val : f->test;
    int n_pick = o->validation ? f->n_val : f->n_test;
    for (int i = 0; i < n_pick; i++)
        if (actor_chosen(o, c->ds.samples[pick[i]].actor)) (*idx)[(*n)++] = pick[i];
    fold_set_free(&fs);
    if (*n == 0) return avemo_error(AVEMO_EINVAL, "%s: fold %d has no %s sample", o->protocol, o->fold + 1,
                                    o->validation ? "validation" : "test");
    return AVEMO_OK;
}

/* The set's features standardised as the model was trained: per actor (speaker_norm), else with the file's. */
static int standardize_for(const eval_options *o, const model_file *mf, cache_set *s) {
    if (!o->speaker_norm) {
        train_standardize_set(s, mf->audio_mean, mf->audio_std, mf->video_mean, mf->video_std);
        return AVEMO_OK;
    }
    if (!mf->speaker_norm)
        return avemo_error(AVEMO_EINVAL, "%s was trained without --speaker-norm: its inputs are standardised with the "
                                         "training statistics (drop --speaker-norm)", o->model_path);
    speaker_count counts[TRAIN_MAX_SPEAKERS];
    int n_speakers, rc = train_speaker_standardize_set(s, counts, TRAIN_MAX_SPEAKERS, &n_speakers);
    if (rc) return rc;
    train_standardize_set(s, NULL, NULL, mf->video_mean, mf->video_std);
    if (o->log) {
        char line[1200], list[1024];
        speaker_counts_format(counts, n_speakers < TRAIN_MAX_SPEAKERS ? n_speakers : TRAIN_MAX_SPEAKERS, "actor", list,
                              sizeof list);
        snprintf(line, sizeof line, "eval: per-speaker statistics from %s", list);
        o->log(line, o->log_ctx);
    }
    return AVEMO_OK;
}

/* out->ids (the samples index[0..out->n) of the cache) and out->class_names, copied. */
static int copy_names(const feature_cache *c, const int *index, eval_probs *out) {
    out->ids = calloc((size_t)out->n + 1, sizeof *out->ids);
    out->class_names = calloc((size_t)out->n_classes + 1, sizeof *out->class_names);
    int ok = out->ids && out->class_names;
    for (int i = 0; ok && i < out->n; i++) ok = (out->ids[i] = strdup(c->ds.samples[index[i]].id)) != NULL;
    for (int k = 0; ok && k < out->n_classes; k++) ok = (out->class_names[k] = strdup(c->ds.class_names[k])) != NULL;
    return ok ? AVEMO_OK : avemo_error(AVEMO_ENOMEM, "out of memory");
}

int eval_predict(const eval_options *o, eval_probs *out) {
    memset(out, 0, sizeof *out);
    model_file mf;
    int rc = model_file_load(o->model_path, &mf);
    if (rc) return rc;
    feature_cache cache;
    if ((rc = cache_open(&cache, o->cache_dir))) {
        model_file_free(&mf);
        return rc;
    }
    int *idx = NULL, *index = NULL, n = 0;
    float *probs = NULL;
    cache_set s = {0};
    const model_config *cfg = &mf.m->cfg;
    if ((rc = chosen_samples(&cache, o, &idx, &n))) goto done;
    if (cache.ds.n_classes != mf.n_classes) {
        rc = avemo_error(AVEMO_EINVAL, "%s has %d classes but the cache %s has %d", o->model_path, mf.n_classes,
                         o->cache_dir, cache.ds.n_classes);
        goto done;
    }
    if (mf.backbone) { /* fine-tuned: the cache's frames through the model's own backbone */
        rc = o->speaker_norm ? avemo_error(AVEMO_EINVAL, "--speaker-norm is for audio models; %s is a fine-tuned "
                                                         "face model", o->model_path)
                             : finetune_eval_probs(&mf, &cache, idx, n, o->tta, &out->probs, &out->labels, &index,
                                                   &out->n);
        out->n_classes = mf.n_classes;
        if (!rc) rc = copy_names(&cache, index, out);
        goto done;
    }
    if ((rc = train_load_subset(&cache, idx, n, train_kinds_for(cfg->modality), &s))) goto done;
    if (s.n == 0) {
        rc = avemo_error(AVEMO_EINVAL, "%s: no sample with the model's modalities for these actors", o->cache_dir);
        goto done;
    }
    if ((s.audio && (s.audio_coeffs != cfg->audio_channels || s.audio_frames != cfg->audio_frames)) ||
        (s.video && (s.video_dim != cfg->video_dim || s.video_frames != cfg->video_frames))) {
        rc = avemo_error(AVEMO_EINVAL, "%s: the cache's feature shapes differ from what %s was trained on",
                         o->cache_dir, o->model_path);
        goto done;
    }
    if ((rc = standardize_for(o, &mf, &s))) goto done;
    if (!(probs = malloc((size_t)s.n * mf.n_classes * 2 * sizeof(float)))) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = evaluate_members(mf.members, mf.n_members, &s, probs, probs + (size_t)s.n * mf.n_classes))) goto done;
    if (!(out->labels = malloc((size_t)s.n * sizeof *out->labels))) {
        rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(out->labels, s.labels, (size_t)s.n * sizeof *out->labels);
    out->probs = probs, out->n = s.n, out->n_classes = mf.n_classes;
    probs = NULL;
    rc = copy_names(&cache, s.index, out);
done:
    if (rc) eval_probs_free(out);
    free(probs);
    free(index);
    free(idx);
    cache_set_free(&s);
    cache_free(&cache);
    model_file_free(&mf);
    return rc;
}

void eval_probs_free(eval_probs *p) {
    if (!p) return;
    free(p->probs);
    free(p->labels);
    for (int i = 0; p->ids && i < p->n; i++) free(p->ids[i]);
    for (int k = 0; p->class_names && k < p->n_classes; k++) free(p->class_names[k]);
    free(p->ids);
    free(p->class_names);
    memset(p, 0, sizeof *p);
}

int eval_probs_write_csv(const eval_probs *p, const char *path) {
    atomic_file af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    fputs("id,label", af.f);
    for (int k = 0; k < p->n_classes; k++) {
        fputc(',', af.f);
        csv_write_field(af.f, p->class_names[k]);
    }
    fputc('\n', af.f);
    for (int i = 0; i < p->n; i++) {
        csv_write_field(af.f, p->ids[i]);
        fputc(',', af.f);
        csv_write_field(af.f, p->class_names[p->labels[i]]);
        for (int k = 0; k < p->n_classes; k++) fprintf(af.f, ",%.6g", p->probs[(long)i * p->n_classes + k]);
        fputc('\n', af.f);
    }
    return atomic_commit(&af);
}

int eval_run(const eval_options *o, eval_metrics *out) {
    eval_probs p;
    int rc = eval_predict(o, &p);
    if (!rc && o->probs_csv) rc = eval_probs_write_csv(&p, o->probs_csv);
    if (!rc) rc = metrics_compute(p.probs, p.labels, p.n, p.n_classes, out);
    eval_probs_free(&p);
    return rc;
}
