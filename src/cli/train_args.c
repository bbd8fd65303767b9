#include "cli/train_args.h"

#include <stdlib.h>
#include <string.h>

static int parse_milestones(const char *s, train_options *o) {
    o->n_milestones = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || o->n_milestones == TRAIN_MAX_MILESTONES) return -1;
        o->milestones[o->n_milestones++] = (int)v;
        if (*end && *end != ',') return -1;
        s = *end == ',' ? end + 1 : end;
    }
    return 0;
}

int train_args_parse(train_options *t, const char *a, const char *v) {
    int bad = 0;
    if (!strcmp(a, "--protocol")) t->protocol = v;
    else if (!strcmp(a, "--init-visual")) t->init_visual = v;
    else if (!strcmp(a, "--folds")) bad = (t->max_folds = atoi(v)) < 1;
    else if (!strcmp(a, "--epochs")) bad = (t->epochs = atoi(v)) < 1;
    else if (!strcmp(a, "--batch")) bad = (t->batch = atoi(v)) < 1;
    else if (!strcmp(a, "--seed")) t->seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--lr")) bad = !((t->lr = strtof(v, NULL)) > 0);
    else if (!strcmp(a, "--momentum")) t->momentum = strtof(v, NULL);
    else if (!strcmp(a, "--dampening")) t->dampening = strtof(v, NULL);
    else if (!strcmp(a, "--weight-decay")) t->weight_decay = strtof(v, NULL);
    else if (!strcmp(a, "--gamma")) t->gamma = strtof(v, NULL);
    else if (!strcmp(a, "--dropout")) t->model.dropout = strtof(v, NULL);
    else if (!strcmp(a, "--label-smoothing")) t->model.label_smoothing = strtof(v, NULL);
    else if (!strcmp(a, "--milestones")) bad = parse_milestones(v, t) != 0;
    else if (!strcmp(a, "--optimizer")) {
        if (!strcmp(v, "sgd")) t->optimizer = OPT_SGD;
        else if (!strcmp(v, "adam")) t->optimizer = OPT_ADAM;
        else if (!strcmp(v, "adamw")) t->optimizer = OPT_ADAMW;
        else bad = 1;
    } else if (!strcmp(a, "--schedule")) {
        if (!strcmp(v, "multistep")) t->schedule = SCHED_MULTISTEP;
        else if (!strcmp(v, "cosine")) t->schedule = SCHED_COSINE;
        else if (!strcmp(v, "constant")) t->schedule = SCHED_CONSTANT;
        else bad = 1;
    } else if (!strcmp(a, "--modality-dropout")) {
        if (!strcmp(v, "softhard")) t->model.modality_dropout = 1;
        else if (!strcmp(v, "none")) t->model.modality_dropout = 0;
        else bad = 1;
    } else {
        return 0;
    }
    return bad ? -1 : 1;
}
