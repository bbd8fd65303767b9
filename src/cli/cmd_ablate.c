/* avemo ablate: one of the paper's ablation tables in one command (train/ablate.h). */
#include "cli/train_args.h"
#include "cli/cli_util.h"
#include "core/err.h"
#include "train/ablate.h"
#include "train/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: avemo ablate --data CACHE [--data-frft CACHE2] --table 3|5|7 --out DIR [training options]\n"
    "  Trains every row of one of the paper's tables and writes DIR/table<N>.md and DIR/table<N>.json: ours\n"
    "  (mean ± std over folds, macro-F1), the paper's number, the difference and the protocol. Each row runs in\n"
    "  DIR/<row key>/ (a normal train run: report.md, model.safetensors, ...).\n"
    "  --table 3    RAVDESS audio only, video only, audio-visual (attention fusion), all from --data\n"
    "  --table 5|7  RAVDESS (5) / CREMA-D (7) rows: MFCC + intermediate fusion; MFCC + MobileNetV2 intermediate;\n"
    "               + feature-level; FRFT-MFCC + MobileNetV2 feature-level; + Conv1D residual blocks (the full\n"
    "               model). Each row reads whichever cache holds its audio features: --data and --data-frft\n"
    "               (a cache prepared with --features frft-mfcc). The FRFT cache may hold audio only: its\n"
    "               audio is then joined with --data's video features (DIR/cache_frft_av, links, no copy).\n"
    "               The mapping of each row to model settings is written under the table.\n"
    "  Rows needing a modality no cache has are reported as \"not run\" (and on stderr); the others still run.\n"
    "  --resume     continue DIR after an interruption: finished rows are only re-read, others resumed\n"
    "  --verbose    per-epoch lines of each row's training (default: one line per row)\n"
    "training options, passed to every row (see avemo train --help):\n"
    "  --protocol P  --folds N  --epochs N  --batch B  --seed S  --optimizer sgd|adam|adamw  --lr X\n"
    "  --momentum M  --dampening D  --weight-decay W  --nesterov  --schedule multistep|cosine|constant\n"
    "  --milestones 40,55,65,70  --gamma G  --dropout P  --label-smoothing E  --modality-dropout softhard|none\n"
    "  --init-visual M.safetensors (rows with a visual stream)\n";

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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--resume")) { o.resume = 1; continue; }
        if (!strcmp(a, "--verbose")) { o.train.quiet = 0; continue; }
        if (!strcmp(a, "--nesterov")) { o.train.nesterov = 1; continue; }
        if (i + 1 >= argc) {
            fprintf(stderr, "avemo ablate: %s needs a value (avemo ablate --help)\n", a);
            return 2;
        }
        const char *v = argv[++i];
        train_options *t = &o.train;
        int bad = 0, r;
        if (!strcmp(a, "--data")) o.cache_dir = v;
        else if (!strcmp(a, "--data-frft")) o.frft_cache_dir = v;
        else if (!strcmp(a, "--out")) o.out_dir = v;
        else if (!strcmp(a, "--table")) bad = (o.table = atoi(v)) != 3 && o.table != 5 && o.table != 7;
        /* ablate checks these ranges before training any row (avemo train leaves them to the model config) */
        else if (!strcmp(a, "--dropout")) bad = !((t->model.dropout = strtof(v, NULL)) >= 0 && t->model.dropout < 1);
        else if (!strcmp(a, "--label-smoothing"))
            bad = !((t->model.label_smoothing = strtof(v, NULL)) >= 0 && t->model.label_smoothing < 1);
        else if ((r = train_args_parse(t, a, v)) != 0) bad = r < 0;
        else {
            fprintf(stderr, "avemo ablate: unknown option %s (avemo ablate --help)\n", a);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "avemo ablate: bad value '%s' for %s\n", v, a);
            return 2;
        }
    }
    if (!o.cache_dir || !o.out_dir || !o.table) {
        fprintf(stderr, "avemo ablate: --data CACHE, --table 3|5|7 and --out DIR are required (avemo ablate --help)\n");
        return 2;
    }
    if (o.table == 3 && o.frft_cache_dir)
        fprintf(stderr, "avemo ablate: table 3 reads --data only; --data-frft %s is not used\n", o.frft_cache_dir);
    ablate_result res[ABLATE_MAX_ROWS];
    int n = 0, n_failed = 0;
    int rc = ablate_run(&o, res, &n, &n_failed);
    plot_cleanup(); /* fontconfig's caches (the plots' fonts): not leaks, but LeakSanitizer reports them */
    if (rc) {
        fprintf(stderr, "avemo ablate: %s\n", avemo_last_error());
        return rc == AVEMO_EINVAL || rc == AVEMO_EFORMAT || rc == AVEMO_EIO ? 2 : 1;
    }
    int n_done = 0;
    for (int i = 0; i < n; i++) n_done += res[i].status == ABLATE_DONE;
    printf("ablate: table %d: %d of %d rows run, %d failed, %d not run; %s/table%d.md and %s/table%d.json\n", o.table,
           n_done, n, n_failed, n - n_done - n_failed, o.out_dir, o.table, o.out_dir, o.table);
    return n_failed ? 1 : 0;
}
