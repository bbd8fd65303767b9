#include "cli/train_args.h"

static const cli_choice optimizers[] = {{"sgd", OPT_SGD}, {"adam", OPT_ADAM}, {"adamw", OPT_ADAMW}, {NULL, 0}};
static const cli_choice schedules[] = {
    {"multistep", SCHED_MULTISTEP}, {"cosine", SCHED_COSINE}, {"constant", SCHED_CONSTANT}, {NULL, 0}};
static const cli_choice modality_dropouts[] = {{"softhard", 1}, {"none", 0}, {NULL, 0}};
static const cli_choice distributions[] = {
    {"auto", TRAIN_DIST_AUTO}, {"folds", TRAIN_DIST_FOLDS}, {"batch", TRAIN_DIST_BATCH}, {NULL, 0}};

const cli_option train_cli_options[] = {
    {CLI_STRING(train_options, protocol, "--protocol", "P"),
     .help = "speaker-independent folds: kfold[:K[:V]], kch5, actors:T/V,\n"
             "random:SEED or split (default: the dataset's, RAVDESS kfold:6)"},
    {CLI_INT(train_options, max_folds, "--folds", "N", CLI_AT_LEAST(1)), .help = "run only the first N folds"},
    {CLI_INT(train_options, epochs, "--epochs", "N", CLI_AT_LEAST(1)), .help = "training epochs (default 100)"},
    {CLI_INT(train_options, batch, "--batch", "B", CLI_AT_LEAST(1)), .help = "batch size (default 8)"},
    {CLI_U64(train_options, seed, "--seed", "S"), .help = "seed of every random draw (default 1)"},
    {CLI_CHOICE(train_options, optimizer, "--optimizer", optimizers), .help = "(default sgd)"},
    {CLI_FLOAT(train_options, lr, "--lr", "X", CLI_ABOVE(0)), .help = "learning rate (default 0.04)"},
    {CLI_FLOAT(train_options, momentum, "--momentum", "M", CLI_ANY), .help = "(default 0.9)"},
    {CLI_FLOAT(train_options, dampening, "--dampening", "D", CLI_ANY), .help = "(default 0.9)"},
    {CLI_FLOAT(train_options, weight_decay, "--weight-decay", "W", CLI_ANY), .help = "(default 1e-3)"},
    {CLI_FLAG(train_options, nesterov, "--nesterov"), .help = "Nesterov momentum"},
    {CLI_CHOICE(train_options, schedule, "--schedule", schedules), .help = "learning-rate schedule (default multistep)"},
    {CLI_INTS(train_options, milestones, n_milestones, TRAIN_MAX_MILESTONES, "--milestones", "40,55,65,70",
              CLI_AT_LEAST(0)),
     .help = "epochs at which multistep multiplies the learning rate by --gamma\n(default 40,55,65,70)"},
    {CLI_FLOAT(train_options, gamma, "--gamma", "G", CLI_ANY), .help = "multistep factor (default 0.1)"},
    {CLI_FLOAT(train_options, model.dropout, "--dropout", "P", CLI_IN_FROM(0, 1)), .help = "dropout before every classifier, in [0, 1) (default 0.5)"},
    {CLI_FLOAT(train_options, model.label_smoothing, "--label-smoothing", "E", CLI_IN_FROM(0, 1)), .help = "in [0, 1) (default 0)"},
    {CLI_CHOICE(train_options, model.modality_dropout, "--modality-dropout", modality_dropouts), .help = "softhard: modality dropout of spec 4 (default none)"},
    {CLI_STRING(train_options, init_visual, "--init-visual", "M.safetensors"),
     .help = "start the visual stream from a trained model's (e.g. pre-trained on still\n"
             "faces: an imagefolder cache, --modality video)"},
    {CLI_CHOICE(train_options, distribute, "--distribute", distributions),
     .help = "under mpirun / srun (a build with MPI=1): folds = each rank trains whole\n"
             "folds from a queue; batch = every batch split over the ranks (data-\n"
             "parallel); auto (default): folds when the run has several, else batch\n"
             "(ablate: auto hands whole rows to the ranks)"},
    {CLI_FLAG(train_options, local_bn, "--local-bn"),
     .help = "data-parallel: BN statistics of each rank's rows (default: of the\nwhole batch, as one process)"},
    {0}};
