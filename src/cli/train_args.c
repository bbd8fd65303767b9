#include "cli/train_args.h"

static const cli_choice optimizers[] = {{"sgd", OPT_SGD}, {"adam", OPT_ADAM}, {"adamw", OPT_ADAMW}, {NULL, 0}};
static const cli_choice schedules[] = {{"multistep", SCHED_MULTISTEP},
                                       {"cosine", SCHED_COSINE},
                                       {"constant", SCHED_CONSTANT},
                                       {"onecycle", SCHED_ONECYCLE},
                                       {NULL, 0}};
static const cli_choice modality_dropouts[] = {{"softhard", 1}, {"none", 0}, {NULL, 0}};
static const cli_choice distributions[] = {
    {"auto", TRAIN_DIST_AUTO}, {"folds", TRAIN_DIST_FOLDS}, {"batch", TRAIN_DIST_BATCH}, {NULL, 0}};

const cli_option train_cli_options[] = {
    {CLI_STRING(train_options, protocol, "--protocol", "P"),
     .help = "speaker-independent folds: kfold[:K[:V]], kch5, lnso:N (leave N actors\n"
             "out, validate on the next N), actors:T/V, random:SEED, split, or all\n"
             "(every sample trains; default: the dataset's, RAVDESS kfold:6)"},
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
    {CLI_CHOICE(train_options, schedule, "--schedule", schedules),
     .help = "learning-rate schedule (default multistep); onecycle: torch's OneCycleLR\n"
             "per step up to --lr over 30% of the steps and down (momentum cycled)"},
    {CLI_INTS(train_options, milestones, n_milestones, TRAIN_MAX_MILESTONES, "--milestones", "40,55,65,70",
              CLI_AT_LEAST(0)),
     .help = "epochs at which multistep multiplies the learning rate by --gamma\n(default 40,55,65,70)"},
    {CLI_FLOAT(train_options, gamma, "--gamma", "G", CLI_ANY), .help = "multistep factor (default 0.1)"},
    {CLI_FLOAT(train_options, model.dropout, "--dropout", "P", CLI_IN_FROM(0, 1)), .help = "dropout before every classifier, in [0, 1) (default 0.5)"},
    {CLI_FLOAT(train_options, model.label_smoothing, "--label-smoothing", "E", CLI_IN_FROM(0, 1)), .help = "in [0, 1) (default 0)"},
    {CLI_CHOICE(train_options, model.modality_dropout, "--modality-dropout", modality_dropouts), .help = "softhard: modality dropout of spec 4 (default none)"},
    {CLI_INT(train_options, model.baseline_pool_stride, "--audio-pool-stride", "S", CLI_IN(1, 2)),
     .help = "the baseline audio stream's MaxPool1d stride: 1 (the baseline's) or 2"},
    {CLI_FLAG(train_options, speaker_norm, "--speaker-norm"),
     .help = "standardise each actor's audio features with that actor's own clips'\n"
             "mean and std (train, validation and test actors alike)"},
    {CLI_INT(train_options, ensemble, "--ensemble", "N", CLI_IN(1, TRAIN_MAX_ENSEMBLE)),
     .help = "N models per fold from N seeds, softmax averaged, saved in one model file"},
    {CLI_FLAG(train_options, refit, "--refit"),
     .help = "after selection, train again on the training + validation actors for\n"
             "the selected number of epochs; test and save that model"},
    {CLI_INT(train_options, augment.time_shift, "--time-shift", "F", CLI_IN(0, 100000)),
     .help = "augment: roll each clip's frames by up to F frames (circular)"},
    {CLI_INT(train_options, augment.time_mask, "--time-mask", "W", CLI_IN(0, 100000)),
     .help = "augment: zero up to W consecutive frames (SpecAugment)"},
    {CLI_INT(train_options, augment.freq_mask, "--freq-mask", "W", CLI_IN(0, 100000)),
     .help = "augment: zero up to W consecutive coefficients (SpecAugment)"},
    {CLI_FLOAT(train_options, augment.noise, "--noise", "S", CLI_IN(0, 100)),
     .help = "augment: add Gaussian noise of S standard deviations"},
    {CLI_FLOAT(train_options, augment.speed, "--speed", "R", CLI_IN_FROM(0, 1)),
     .help = "augment: stretch each clip's time axis by a factor in [1-R, 1+R]"},
    {CLI_FLOAT(train_options, augment.mixup, "--mixup", "A", CLI_IN(0, 100)),
     .help = "augment: mixup of batch pairs with lambda ~ Beta(A, A)"},
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
