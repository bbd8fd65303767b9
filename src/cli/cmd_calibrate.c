/* avemo calibrate: fits a model's temperature (train/calibrate.h) on validation predictions and writes it into a
 * model file (model/model_file.h, metadata "temperature"), which avemo_predict_* then applies. */
#include "cli/cli_args.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/err.h"
#include "model/model_file.h"
#include "train/calibrate.h"
#include "train/trainer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_choice split_choices[] = {{"val", 1}, {"test", 0}, {NULL, 0}};

typedef struct {
    const char *data, *protocol, *write;
    uint64_t seed;
    int fold, validation, tta, json;
} calibrate_args;

static const cli_option calibrate_options[] = {
    {CLI_STRING(calibrate_args, data, "--data", "CACHE"), .required = 1, .help = "the prepared cache the models were trained on"},
    {CLI_STRING(calibrate_args, protocol, "--protocol", "P"), .required = 1,
     .help = "the protocol the models were trained with (e.g. kfold:6, holdout:1)"},
    {CLI_U64(calibrate_args, seed, "--seed", "S"), .help = "the protocol's seed (default 1, as train's)"},
    {CLI_CHOICE(calibrate_args, validation, "--split", split_choices),
     .help = "the samples each model is scored on: its fold's validation actors (val,\n"
             "default) or the fold's held-out test part (test: holdout:N's held-out\n"
             "images, which have no validation part)"},
    {CLI_INT(calibrate_args, fold, "--fold", "K", CLI_IN(1, 1000)),
     .help = "the first MODEL is fold K's (default 1); the next ones K+1, ..."},
    {CLI_INT(calibrate_args, tta, "--tta", "1|2|10", CLI_IN(1, 10)),
     .help = "a fine-tuned face model: test-time views, as predict will use (default 1)"},
    {CLI_STRING(calibrate_args, write, "--write", "TARGET.safetensors"),
     .help = "write the fitted temperature into this model file (metadata only; its\n"
             "tensors are copied unchanged); default: only print the fit"},
    {CLI_FLAG(calibrate_args, json, "--json"), .help = "one line of JSON instead of text"},
    {0}};

static const cli_command calibrate_command = {
    .name = "calibrate",
    .inputs = "MODEL...",
    .min_inputs = 1,
    .about = "  Temperature scaling: scores each MODEL (fold K, K+1, ... of --protocol) on its fold's validation (or\n"
             "  held-out) samples of --data, pools the probabilities, and finds the T minimising their mean negative\n"
             "  log-likelihood (1-D search over T in [0.05, 20]); prints NLL and ECE (15 bins) before and after, and\n"
             "  with --write stores T in TARGET, where predict applies it (probabilities p^(1/T), renormalised).\n"
             "  Fit on validation data only: for a model trained on every actor, calibrate fold models of the same\n"
             "  recipe on their validation actors and --write the result into it.\n",
    .groups = {{NULL, calibrate_options, 0}},
};

/* Every model's fold samples' probabilities, pooled into *all. */
static int pooled_predictions(const calibrate_args *a, const cli_inputs *models, eval_probs *all) {
    memset(all, 0, sizeof *all);
    for (int i = 0; i < models->n; i++) {
        eval_options o = {.model_path = models->items[i], .cache_dir = a->data, .protocol = a->protocol,
                          .seed = a->seed ? a->seed : 1, .tta = a->tta, .fold = a->fold - 1 + i,
                          .validation = a->validation, .log = cli_log_stderr};
        eval_probs p;
        int rc = eval_predict(&o, &p);
        if (rc) return avemo_error_prefix(rc, "%s", models->items[i]);
        if (i && p.n_classes != all->n_classes) {
            eval_probs_free(&p);
            return avemo_error(AVEMO_EINVAL, "%s: %d classes, the first model has %d", models->items[i], p.n_classes,
                               all->n_classes);
        }
        float *pr = realloc(all->probs, ((size_t)all->n + p.n) * p.n_classes * sizeof *pr);
        int *lb = pr ? realloc(all->labels, ((size_t)all->n + p.n) * sizeof *lb) : NULL;
        if (pr) all->probs = pr;
        if (lb) all->labels = lb;
        if (!pr || !lb) {
            eval_probs_free(&p);
            return avemo_error(AVEMO_ENOMEM, "out of memory");
        }
        memcpy(all->probs + (size_t)all->n * p.n_classes, p.probs, (size_t)p.n * p.n_classes * sizeof *pr);
        memcpy(all->labels + all->n, p.labels, (size_t)p.n * sizeof *lb);
        all->n += p.n, all->n_classes = p.n_classes;
        eval_probs_free(&p);
    }
    return AVEMO_OK;
}

int cmd_calibrate(int argc, char **argv) {
    calibrate_args a = {.fold = 1, .validation = 1, .tta = 1};
    cli_inputs models;
    int status = cli_parse(&calibrate_command, argc, argv, &a, &models);
    if (status != CLI_RUN) return status;
    eval_probs p;
    int rc = pooled_predictions(&a, &models, &p);
    if (!rc && p.n < 1) rc = avemo_error(AVEMO_EINVAL, "%s: no sample to calibrate on", a.data);
    if (rc) {
        eval_probs_free(&p);
        cli_inputs_free(&models);
        return cli_fail("calibrate", rc);
    }
    int K = p.n_classes, hits = 0;
    for (int i = 0; i < p.n; i++) {
        int top = 0;
        for (int k = 1; k < K; k++)
            if (p.probs[(size_t)i * K + k] > p.probs[(size_t)i * K + top]) top = k;
        hits += top == p.labels[i];
    }
    double T = calibrate_fit_temperature(p.probs, p.labels, p.n, K);
    double nll0 = calibrate_nll(p.probs, p.labels, p.n, K, 1), nll1 = calibrate_nll(p.probs, p.labels, p.n, K, T);
    double ece0 = calibrate_ece(p.probs, p.labels, p.n, K, 1, CALIBRATE_ECE_BINS);
    double ece1 = calibrate_ece(p.probs, p.labels, p.n, K, T, CALIBRATE_ECE_BINS);
    char how[1024];
    snprintf(how, sizeof how,
             "avemo calibrate: T minimising the mean NLL of %d %s samples (protocol %s seed %llu, folds %d-%d, %d "
             "model%s, tta %d) of %s: top-1 %.4f, NLL %.4f -> %.4f, ECE(%d bins) %.4f -> %.4f",
             p.n, a.validation ? "validation" : "held-out", a.protocol, (unsigned long long)(a.seed ? a.seed : 1),
             a.fold, a.fold + models.n - 1, models.n, models.n == 1 ? "" : "s", a.tta, a.data, (double)hits / p.n,
             nll0, nll1, CALIBRATE_ECE_BINS, ece0, ece1);
    if (a.json)
        printf("{\"n\": %d, \"top1\": %.6f, \"temperature\": %.6f, \"nll_before\": %.6f, \"nll_after\": %.6f, "
               "\"ece_before\": %.6f, \"ece_after\": %.6f}\n",
               p.n, (double)hits / p.n, T, nll0, nll1, ece0, ece1);
    else
        printf("%d samples, top-1 %.2f%%\nT = 1       NLL %.4f  ECE %.4f\nT = %-8.4f NLL %.4f  ECE %.4f\n", p.n,
               100.0 * hits / p.n, nll0, ece0, T, nll1, ece1);
    if (a.write && (rc = model_file_set_temperature(a.write, (float)T, how))) status = cli_fail("calibrate", rc);
    else status = 0;
    if (a.write && !rc && !a.json) printf("%s: temperature %.4f written\n", a.write, T);
    eval_probs_free(&p);
    cli_inputs_free(&models);
    return status;
}
