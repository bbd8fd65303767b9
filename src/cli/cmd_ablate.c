/* avemo ablate: one of the paper's ablation tables in one command (train/ablate.h). */
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/train_args.h"
#include "core/err.h"
#include "train/ablate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const cli_choice ablate_tables[] = {{"3", 3}, {"5", 5}, {"7", 7}, {NULL, 0}};

static const cli_option ablate_cli_options[] = {
    {CLI_STRING(ablate_options, cache_dir, "--data", "CACHE"), .required = 1, .help = "a prepared cache"},
    {CLI_STRING(ablate_options, frft_cache_dir, "--data-frft", "CACHE2"),
     .help = "a cache prepared with --features frft-mfcc (tables 5 and 7)"},
    {CLI_CHOICE(ablate_options, table, "--table", ablate_tables), .required = 1,
     .help = "3    RAVDESS audio only, video only, audio-visual (attention fusion), all from\n"
             "     --data\n"
             "5|7  RAVDESS (5) / CREMA-D (7) rows: MFCC + intermediate fusion; MFCC +\n"
             "     MobileNetV2 intermediate; + feature-level; FRFT-MFCC + MobileNetV2\n"
             "     feature-level; + Conv1D residual blocks (the full model). Each row reads\n"
             "     whichever cache holds its audio features: --data and --data-frft. The FRFT\n"
             "     cache may hold audio only: its audio is then joined with --data's video\n"
             "     features (DIR/cache_frft_av, links, no copy). The mapping of each row to\n"
             "     model settings is written under the table."},
    {CLI_STRING(ablate_options, out_dir, "--out", "DIR"), .required = 1, .help = "where the table and the rows go"},
    {CLI_FLAG(ablate_options, resume, "--resume"),
     .help = "continue DIR after an interruption: finished rows are only re-read,\n"
             "others resumed"},
    {CLI_FLAG_VALUE(ablate_options, train.quiet, "--verbose", 0),
     .help = "per-epoch lines of each row's training (default: one line per row)"},
    {0}};

static const cli_command ablate_command = {
    .name = "ablate",
    .about = "  Trains every row of one of the paper's tables and writes DIR/table<N>.md and DIR/table<N>.json: ours\n"
             "  (mean ± std over folds, macro-F1), the paper's number, the difference and the protocol. Each row runs in\n"
             "  DIR/<row key>/ (a normal train run: report.md, model.safetensors, ...). Rows needing a modality no\n"
             "  cache has are reported as \"not run\" (and on stderr); the others still run.\n",
    .groups = {{NULL, ablate_cli_options, 0},
               {"training options, passed to every row (--init-visual: the rows with a visual stream):",
                train_cli_options, offsetof(ablate_options, train)}},
};

static void on_row(void *ctx, int i, int n, const ablate_result *r, int finished) {
    const char *key = r->spec->key;
    if (!finished) {
        fprintf(stderr, "ablate: row %d/%d %s: %s in %s (%s)\n", i + 1, n, key, r->resumed ? "finished earlier, re-reading" : "training",
                r->run_dir, r->settings);
        return;
    }
    if (r->status == ABLATE_NOT_RUN) {
        fprintf(stderr, "ablate: row %d/%d %s: not run: %s\n", i + 1, n, key, r->reason);
    } else if (r->status == ABLATE_FAILED) {
        fprintf(stderr, "ablate: row %d/%d %s: FAILED: %s\n", i + 1, n, key, r->reason);
    } else {
        char paper[64] = "no paper number";
        if (isfinite(r->paper)) snprintf(paper, sizeof paper, "paper %.2f%%, %+.2f", r->paper, 100 * r->top1 - r->paper);
        char sd[32] = "";
        if (isfinite(r->top1_std) && r->n_folds > 1) snprintf(sd, sizeof sd, " ± %.2f", 100 * r->top1_std);
        fprintf(stderr, "ablate: row %d/%d %s: top-1 %.2f%%%s, macro-F1 %.2f%% over %d fold%s (%s; %s) in %.0f s\n",
                i + 1, n, key, 100 * r->top1, sd, 100 * r->macro_f1, r->n_folds, r->n_folds == 1 ? "" : "s",
                r->protocol, paper, r->seconds);
    }
}

int cmd_ablate(int argc, char **argv) {
    ablate_options o;
    memset(&o, 0, sizeof o);
    train_options_default(&o.train);
    o.train.quiet = 1;
    o.train.log = cli_log_stderr;
    o.on_row = on_row;
    int status = cli_parse(&ablate_command, argc, argv, &o, NULL);
    if (status != CLI_RUN) return status;
    if (o.table == 3 && o.frft_cache_dir)
        fprintf(stderr, "avemo ablate: table 3 reads --data only; --data-frft %s is not used\n", o.frft_cache_dir);
    ablate_result res[ABLATE_MAX_ROWS];
    int n = 0, n_failed = 0;
    int rc = ablate_run(&o, res, &n, &n_failed);
    if (rc) return cli_fail("ablate", rc);
    int n_done = 0;
    for (int i = 0; i < n; i++) n_done += res[i].status == ABLATE_DONE;
    printf("ablate: table %d: %d of %d rows run, %d failed, %d not run; %s/table%d.md and %s/table%d.json\n", o.table,
           n_done, n, n_failed, n - n_done - n_failed, o.out_dir, o.table, o.out_dir, o.table);
    return n_failed ? 1 : 0;
}
