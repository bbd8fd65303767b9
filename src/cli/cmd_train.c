/* avemo train / avemo eval: see train/trainer.h. */
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/train_args.h"
#include "core/err.h"
#include "train/finetune.h"
#include "train/recipe.h"
#include "train/trainer.h"

#include <stdio.h>
#include <string.h>

/* The model's enums, named by model/config.c's parsers (their message says what is expected). */
static int parse_modality(const char *v, void *field) { return model_modality_parse(v, field); }
static int parse_fusion(const char *v, void *field) { return model_fusion_parse(v, field); }
static int parse_audio_stream(const char *v, void *field) { return audio_stream_parse(v, field); }

/* --train-extra A,B: the cache folders, split in a copy that lives as long as the program */
static int parse_train_extra(const char *v, void *field) {
    static char copy[8192];
    train_extra_list *l = field;
    if (strlen(v) >= sizeof copy) return avemo_error(AVEMO_EINVAL, "too long");
    strcpy(copy, v);
    l->n = 0;
    for (char *p = copy, *end; p; p = end ? end + 1 : NULL) {
        end = strchr(p, ',');
        if (end) *end = 0;
        if (!*p) return avemo_error(AVEMO_EINVAL, "an empty cache name");
        if (l->n == TRAIN_MAX_EXTRA) return avemo_error(AVEMO_EINVAL, "more than %d caches", TRAIN_MAX_EXTRA);
        l->cache[l->n++] = p;
    }
    return AVEMO_OK;
}

static const cli_option train_run_options[] = {
    {CLI_STRING(train_options, cache_dir, "--data", "CACHE"), .required = 1, .help = "a prepared cache (avemo prep)"},
    {CLI_STRING(train_options, run_dir, "--out", "RUN"), .required = 1, .help = "the run's folder"},
    {CLI_CUSTOM(train_options, model.modality, "--modality", "av|audio|video", parse_modality),
     .help = "streams to use (default audio)"},
    {CLI_CUSTOM(train_options, model.fusion, "--fusion", "attention|ia|it|lt|intermediate|late|concat", parse_fusion),
     .help = "(default attention, the paper's)"},
    {CLI_CUSTOM(train_options, model.audio_stream, "--audio-stream", "paper|baseline", parse_audio_stream),
     .help = "audio stream variant (default paper: Table II)"},
    {CLI_STRING(train_options, recipe, "--recipe", "paper|voice"),
     .help = "training preset that the other options then override: paper (the\n"
             "paper's and the baseline's exact settings) or voice (the best measured\n"
             "for the audio stream; bench/RESULTS.md). Default: voice for --modality\n"
             "audio, paper otherwise"},
    {CLI_CUSTOM(train_options, train_extra, "--train-extra", "CACHE,...", parse_train_extra),
     .help = "--modality audio: more training copies of the same clips (e.g. prep\n"
             "--speed 0.9 and --speed 1.1 caches): a fold trains on their rows of its\n"
             "training actors too; validation and test stay --data's"},
    {CLI_FLAG(train_options, resume, "--resume"), .help = "continue RUN after an interruption (same options)"},
    {CLI_FLAG(train_options, quiet, "--quiet"), .help = "no per-epoch lines"},
    {0}};

static const cli_choice bn_modes[] = {{"train", FT_BN_TRAIN}, {"frozen", FT_BN_FROZEN}, {"fixed", FT_BN_FIXED}, {NULL, 0}};
static const cli_choice bn_inits[] = {{"data", 1}, {"identity", 0}, {NULL, 0}};
static const cli_choice on_off[] = {{"on", 1}, {"off", 0}, {NULL, 0}};

/* train/finetune.h: MobileNetV2 trained with the head on the cache's face frames */
static const cli_option finetune_table[] = {
    {CLI_FLAG(train_options, finetune.enabled, "--finetune"),
     .help = "train MobileNetV2 end to end with the head on the cache's face frames\n"
             "(a cache prepared with --modality video; still images or clips)"},
    {CLI_STRING(train_options, finetune.backbone_path, "--backbone", "W.safetensors"),
     .help = "the weights to start from (avemo import; required with --finetune)"},
    {CLI_INT(train_options, finetune.input_size, "--input-size", "S", CLI_IN(32, 512)),
     .help = "frames rendered at S x S, stored in the model (default 96)"},
    {CLI_CHOICE(train_options, finetune.bn, "--bn", bn_modes),
     .help = "backbone BN: batch statistics (train, default), running statistics\n"
             "with trained weight/bias (frozen), or nothing of BN trained (fixed)"},
    {CLI_CHOICE(train_options, finetune.bn_data_init, "--bn-init", bn_inits),
     .help = "--bn train: BN statistics measured on training images with the\n"
             "pretrained function kept (data, default), or as imported (identity)"},
    {CLI_FLOAT(train_options, finetune.backbone_lr, "--backbone-lr", "X", CLI_AT_LEAST(0)),
     .help = "backbone learning rate = X x --lr (default 1)"},
    {CLI_FLOAT(train_options, finetune.layer_decay, "--layer-decay", "D", CLI_IN_ABOVE(0, 1)),
     .help = "and x D^(51 - unit) for its 52 conv units (default 1: none)"},
    {CLI_FLOAT(train_options, finetune.warmup_epochs, "--warmup", "E", CLI_AT_LEAST(0)),
     .help = "linear learning-rate warm-up over E epochs, per step (default 0)"},
    {CLI_FLOAT(train_options, min_lr, "--min-lr", "X", CLI_AT_LEAST(0)), .help = "cosine schedule's floor (default 0)"},
    {CLI_CHOICE(train_options, finetune.augment.enabled, "--augment", on_off),
     .help = "random crop/scale, rotation, shift, flip, brightness/contrast (default on)"},
    {CLI_FLOAT(train_options, finetune.augment.scale_min, "--aug-scale", "A", CLI_IN_ABOVE(0, 1)),
     .help = "smallest crop, as a fraction of the area (default 0.7)"},
    {CLI_FLOAT(train_options, finetune.augment.rotate_deg, "--aug-rotate", "DEG", CLI_IN(0, 180)),
     .help = "rotation in +-DEG (default 10)"},
    {CLI_FLOAT(train_options, finetune.augment.translate, "--aug-shift", "F", CLI_IN(0, 0.5)),
     .help = "crop centre shift in +-F of the side (default 0.08)"},
    {CLI_FLOAT(train_options, finetune.augment.brightness, "--aug-brightness", "F", CLI_IN(0, 1)),
     .help = "brightness x (1 +- F) (default 0.25); --aug-contrast the same"},
    {CLI_FLOAT(train_options, finetune.augment.contrast, "--aug-contrast", "F", CLI_IN(0, 1))},
    {CLI_FLOAT(train_options, finetune.mixup, "--mixup", "A", CLI_AT_LEAST(0)), .help = "mixup Beta(A, A) (default 0: off)"},
    {CLI_FLOAT(train_options, finetune.cutmix, "--cutmix", "A", CLI_AT_LEAST(0)),
     .help = "cutmix Beta(A, A) (default 0: off; with --mixup: one or the other per batch)"},
    {CLI_FLOAT(train_options, finetune.mix_prob, "--mix-prob", "P", CLI_IN(0, 1)),
     .help = "probability that a batch is mixed (default 1)"},
    {CLI_INT(train_options, finetune.tta, "--tta", "1|2|10", CLI_IN(1, AUGMENT_TTA_MAX)),
     .help = "test-time views averaged when scoring the held-out samples:\n"
             "1 none, 2 + mirror, 10 + four 90% crops and their mirrors (default 1)"},
    {CLI_INT(train_options, finetune.stats_images, "--stats-images", "N", CLI_IN(1, 1000000)),
     .help = "training frames for the BN and feature statistics (default 2048)"},
    {CLI_INT(train_options, max_train_samples, "--max-train", "N", CLI_AT_LEAST(1)),
     .help = "only N training samples per fold, drawn with the seed (quick runs)"},
    {0}};

static const cli_command train_command = {
    .name = "train",
    .about = "  Trains a model on a prepared cache, one per speaker-independent fold, and tests each fold's model\n"
             "  selected on its validation actors.\n",
    .footer = "Writes RUN/report.json, RUN/report.md, RUN/confusion.png, RUN/fold_K/{learning_curves,confusion}.png,\n"
              "RUN/fold_K/model.safetensors and RUN/model.safetensors (the fold with the best validation top-1).\n",
    .groups = {{NULL, train_run_options, 0},
               {"training options:", train_cli_options, 0},
               {"fine-tuning the backbone (--finetune):", finetune_table, 0}},
};

/* The options: the recipe's (--recipe, else the modality's default) under those given. A first, quiet parse
 * finds the recipe and modality; the second starts from the recipe and reports any usage error. */
static int parse_train_options(int argc, char **argv, train_options *o) {
    train_options seen;
    train_options_default(&seen);
    seen.model.modality = MODALITY_AUDIO;
    char err[512];
    int first = cli_parse_quiet(&train_command, argc, argv, &seen, NULL, err, sizeof err);
    train_options_default(o);
    o->model.modality = first == CLI_RUN ? seen.model.modality : MODALITY_AUDIO;
    o->log = cli_log_stderr;
    const char *recipe = first == CLI_RUN && seen.recipe ? seen.recipe : train_recipe_default(o->model.modality);
    if (first == CLI_RUN && train_recipe_apply(o, recipe)) return cli_usage_error("train", "%s", avemo_last_error());
    return cli_parse(&train_command, argc, argv, o, NULL);
}

int cmd_train(int argc, char **argv) {
    train_options o;
    int status = parse_train_options(argc, argv, &o);
    if (status != CLI_RUN) return status;
    if (!o.finetune.enabled && o.finetune.backbone_path)
        return cli_usage_error("train", "--backbone is for --finetune (the frozen path reads the cache's features)");
    if (o.finetune.enabled && !o.finetune.backbone_path)
        return cli_usage_error("train", "--finetune needs --backbone (weights from avemo import)");
    int st = train_run(&o);
    return st ? cli_fail("train", st) : 0;
}

#define EVAL_MAX_ACTORS 256

typedef struct {
    eval_options eval;
    int actors[EVAL_MAX_ACTORS], n_actors;
    int json;
} eval_args;

static const cli_option eval_options_table[] = {
    {CLI_STRING(eval_args, eval.model_path, "--model", "M.safetensors"), .required = 1, .help = "a trained model"},
    {CLI_STRING(eval_args, eval.cache_dir, "--data", "CACHE"), .required = 1, .help = "a prepared cache"},
    {CLI_INTS(eval_args, actors, n_actors, EVAL_MAX_ACTORS, "--actors", "1,2,3", CLI_ANY),
     .help = "only these actors' samples (default: all)"},
    {CLI_FLAG(eval_args, eval.speaker_norm, "--speaker-norm"),
     .help = "standardise each actor's audio with its own evaluated clips (a model\n"
             "trained with --speaker-norm; without the flag such a model gets its\n"
             "training statistics, the fallback)"},
    {CLI_FLAG(eval_args, json, "--json"), .help = "one line of JSON (n, top1..3, macro_f1, confusion)"},
    {CLI_STRING(eval_args, eval.probs_csv, "--probs", "FILE.csv"),
     .help = "also write each sample's probabilities: id, label, one column per class\n"
             "(the ensemble's mean softmax over the views, no temperature)"},
    {CLI_STRING(eval_args, eval.protocol, "--protocol", "P"),
     .help = "only the test samples of this protocol's first fold\n"
             "(e.g. holdout:1, what train --finetune scored)"},
    {CLI_INT(eval_args, eval.tta, "--tta", "1|2|10", CLI_IN(1, AUGMENT_TTA_MAX)),
     .help = "a fine-tuned model: test-time views averaged (1 none, 2 + mirror,\n"
             "10 + four 90% crops and mirrors; default 1)"},
    {0}};

static const cli_command eval_command = {
    .name = "eval",
    .about = "  Top-1/2/3 accuracy, macro-F1, per-class recall and the confusion matrix of a trained model on the\n"
             "  cache's samples (all, or those of the given actors).\n",
    .groups = {{NULL, eval_options_table, 0}},
};

static void print_metrics(const eval_metrics *m, int json) {
    if (json) {
        printf("{\"n\": %d, \"top1\": %.6f, \"top2\": %.6f, \"top3\": %.6f, \"macro_f1\": %.6f, \"confusion\": [", m->n,
               m->top1, m->top2, m->top3, m->macro_f1);
        for (int i = 0; i < m->n_classes; i++) {
            printf("%s[", i ? ", " : "");
            for (int j = 0; j < m->n_classes; j++) printf("%s%d", j ? ", " : "", m->confusion[i * m->n_classes + j]);
            printf("]");
        }
        printf("]}\n");
    } else {
        printf("samples %d  top-1 %.2f%%  top-2 %.2f%%  top-3 %.2f%%  macro-F1 %.2f%%\n", m->n, 100 * m->top1,
               100 * m->top2, 100 * m->top3, 100 * m->macro_f1);
        printf("per-class recall:");
        for (int i = 0; i < m->n_classes; i++) printf(" %.2f", m->recall[i]);
        printf("\n");
    }
}

int cmd_eval(int argc, char **argv) {
    eval_args a = {0};
    int status = cli_parse(&eval_command, argc, argv, &a, NULL);
    if (status != CLI_RUN) return status;
    if (a.n_actors) {
        a.eval.actors = a.actors;
        a.eval.n_actors = a.n_actors;
    }
    a.eval.log = cli_log_stderr;
    eval_metrics m;
    int st = eval_run(&a.eval, &m);
    if (st) return cli_fail("eval", st);
    print_metrics(&m, a.json);
    return 0;
}
