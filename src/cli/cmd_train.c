/* avemo train / avemo eval: see train/trainer.h. */
#include "cli/train_args.h"
#include "cli/cli_util.h"
#include "core/err.h"
#include "train/report.h"
#include "train/trainer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *train_usage =
    "usage: avemo train --data CACHE --out RUN [options]\n"
    "  --modality av|audio|video        streams to use (default: audio if the cache has no video features)\n"
    "  --fusion attention|ia|it|lt|intermediate|late|concat   (default attention, the paper's)\n"
    "  --audio-stream paper|baseline    audio stream variant (default paper: Table II)\n"
    "  --protocol kfold[:K[:V]]|kch5|actors:T/V|random:SEED|split   (default: dataset's, RAVDESS kfold:6)\n"
    "  --folds N                        run only the first N folds\n"
    "  --epochs N (100)  --batch B (8)  --seed S (1)\n"
    "  --optimizer sgd|adam|adamw (sgd)  --lr X (0.04)  --momentum M (0.9)  --dampening D (0.9)\n"
    "  --weight-decay W (1e-3)  --nesterov\n"
    "  --schedule multistep|cosine|constant (multistep)  --milestones 40,55,65,70  --gamma 0.1\n"
    "  --dropout P (0.5)  --label-smoothing E (0)  --modality-dropout softhard\n"
    "  --init-visual M.safetensors      start the visual stream from a trained model's (e.g. pre-trained on\n"
    "                                   still faces: an imagefolder cache, --modality video)\n"
    "  --resume                         continue RUN after an interruption (same options)\n"
    "  --quiet                          no per-epoch lines\n"
    "Writes RUN/report.json, RUN/report.md, RUN/confusion.png, RUN/fold_K/{learning_curves,confusion}.png,\n"
    "RUN/fold_K/model.safetensors and RUN/model.safetensors (the fold with the best validation top-1).\n";

static int need(int i, int argc, char **argv) {
    if (i + 1 >= argc) {
        fprintf(stderr, "avemo train: %s needs a value\n", argv[i]);
        return 0;
    }
    return 1;
}

int cmd_train(int argc, char **argv) {
    train_options o;
    train_options_default(&o);
    o.log = cli_log_stderr;
    const char *modality = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(train_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--resume")) { o.resume = 1; continue; }
        if (!strcmp(a, "--quiet")) { o.quiet = 1; continue; }
        if (!strcmp(a, "--nesterov")) { o.nesterov = 1; continue; }
        if (!need(i, argc, argv)) return 2;
        const char *v = argv[++i];
        int bad = 0, r;
        if (!strcmp(a, "--data")) o.cache_dir = v;
        else if (!strcmp(a, "--out")) o.run_dir = v;
        else if (!strcmp(a, "--modality")) modality = v;
        else if (!strcmp(a, "--fusion")) bad = model_fusion_parse(v, &o.model.fusion) != 0;
        else if (!strcmp(a, "--audio-stream")) bad = audio_stream_parse(v, &o.model.audio_stream) != 0;
        else if ((r = train_args_parse(&o, a, v)) != 0) bad = r < 0;
        else {
            fprintf(stderr, "avemo train: unknown option %s (avemo train --help)\n", a);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "avemo train: bad value '%s' for %s\n", v, a);
            return 2;
        }
    }
    if (!o.cache_dir || !o.run_dir) {
        fprintf(stderr, "avemo train: --data CACHE and --out RUN are required (avemo train --help)\n");
        return 2;
    }
    o.model.modality = MODALITY_AUDIO;
    if (modality && model_modality_parse(modality, &o.model.modality)) {
        fprintf(stderr, "avemo train: bad --modality '%s' (av, audio or video)\n", modality);
        return 2;
    }
    int rc = train_run(&o);
    if (rc) {
        fprintf(stderr, "avemo train: %s\n", avemo_last_error());
        return rc == AVEMO_EINVAL || rc == AVEMO_EFORMAT || rc == AVEMO_EIO ? 2 : 1;
    }
    return 0;
}

static const char *eval_usage =
    "usage: avemo eval --model M.safetensors --data CACHE [--actors 1,2,3] [--json]\n"
    "Top-1/2/3 accuracy, macro-F1, per-class recall and the confusion matrix of a trained model on the\n"
    "cache's samples (all, or those of the given actors).\n";

int cmd_eval(int argc, char **argv) {
    eval_options o = {0};
    int actors[256], json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(eval_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) { json = 1; continue; }
        if (i + 1 >= argc) {
            fprintf(stderr, "avemo eval: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--model")) o.model_path = v;
        else if (!strcmp(a, "--data")) o.cache_dir = v;
        else if (!strcmp(a, "--actors")) {
            for (const char *p = v; *p && o.n_actors < 256;) {
                char *end;
                long x = strtol(p, &end, 10);
                if (end == p) {
                    fprintf(stderr, "avemo eval: bad --actors '%s'\n", v);
                    return 2;
                }
                actors[o.n_actors++] = (int)x;
                p = *end == ',' ? end + 1 : end;
            }
            o.actors = actors;
        } else {
            fprintf(stderr, "avemo eval: unknown option %s (avemo eval --help)\n", a);
            return 2;
        }
    }
    if (!o.model_path || !o.cache_dir) {
        fprintf(stderr, "avemo eval: --model and --data are required (avemo eval --help)\n");
        return 2;
    }
    eval_metrics m;
    int rc = eval_run(&o, &m);
    if (rc) {
        fprintf(stderr, "avemo eval: %s\n", avemo_last_error());
        return rc == AVEMO_ENOMEM || rc == AVEMO_EINTERNAL ? 1 : 2;
    }
    if (json) {
        printf("{\"n\": %d, \"top1\": %.6f, \"top2\": %.6f, \"top3\": %.6f, \"macro_f1\": %.6f, \"confusion\": [", m.n, m.top1,
               m.top2, m.top3, m.macro_f1);
        for (int i = 0; i < m.n_classes; i++) {
            printf("%s[", i ? ", " : "");
            for (int j = 0; j < m.n_classes; j++) printf("%s%d", j ? ", " : "", m.confusion[i * m.n_classes + j]);
            printf("]");
        }
        printf("]}\n");
    } else {
        printf("samples %d  top-1 %.2f%%  top-2 %.2f%%  top-3 %.2f%%  macro-F1 %.2f%%\n", m.n, 100 * m.top1, 100 * m.top2,
               100 * m.top3, 100 * m.macro_f1);
        printf("per-class recall:");
        for (int i = 0; i < m.n_classes; i++) printf(" %.2f", m.recall[i]);
        printf("\n");
    }
    return 0;
}
