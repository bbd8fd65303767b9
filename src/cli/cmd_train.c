/* avemo train / avemo eval: see train/trainer.h. */
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/train_args.h"
#include "core/err.h"
#include "train/recipe.h"
#include "train/trainer.h"

#include <stdio.h>

/* The model's enums, named by model/config.c's parsers (their message says what is expected). */
static int parse_modality(const char *v, void *field) { return model_modality_parse(v, field); }
static int parse_fusion(const char *v, void *field) { return model_fusion_parse(v, field); }
static int parse_audio_stream(const char *v, void *field) { return audio_stream_parse(v, field); }

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
    {CLI_FLAG(train_options, resume, "--resume"), .help = "continue RUN after an interruption (same options)"},
    {CLI_FLAG(train_options, quiet, "--quiet"), .help = "no per-epoch lines"},
    {0}};

static const cli_command train_command = {
    .name = "train",
    .about = "  Trains a model on a prepared cache, one per speaker-independent fold, and tests each fold's model\n"
             "  selected on its validation actors.\n",
    .footer = "Writes RUN/report.json, RUN/report.md, RUN/confusion.png, RUN/fold_K/{learning_curves,confusion}.png,\n"
              "RUN/fold_K/model.safetensors and RUN/model.safetensors (the fold with the best validation top-1).\n",
    .groups = {{NULL, train_run_options, 0}, {"training options:", train_cli_options, 0}},
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
