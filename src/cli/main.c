/* avemo: the command-line tool. Finds the command in the table below and hands over to src/cli/cmd_<name>.c.
 * Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage (one-line message naming the file). */
#include "avemo.h"
#include "cli/commands.h"
#include "core/dist.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *name; /* as typed ("classify_imagenet" is accepted for "classify-imagenet") */
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"features", cmd_features, "audio features (MFCC / FRFT-MFCC) of audio or video files -> .npy"},
    {"frft", cmd_frft, "fractional Fourier transform of the rows of a .npy array"},
    {"detect", cmd_detect, "MTCNN face detection on images or videos"},
    {"faces", cmd_faces, "face crops [frames, 224, 224] per video -> .npy"},
    {"import", cmd_import, "import MobileNetV2 weights (TFLite or safetensors) -> safetensors"},
    {"embed", cmd_embed, "MobileNetV2 1280-d embeddings of images in a .npy"},
    {"classify-imagenet", cmd_classify_imagenet, "top-5 ImageNet labels of images (checks a backbone import)"},
    {"prep", cmd_prep, "preprocess a dataset (RAVDESS, CREMA-D, image folder) into a feature cache"},
    {"train", cmd_train, "train a model on a prepared cache (speaker-independent folds)"},
    {"eval", cmd_eval, "evaluate a trained model on a prepared cache"},
    {"calibrate", cmd_calibrate, "fit a model's temperature (calibrated probabilities) on validation data"},
    {"average", cmd_average, "average the weights of models of one recipe (seeds of a fine-tuning) into one"},
    {"ablate", cmd_ablate, "reproduce the paper's ablation tables"},
    {"predict", cmd_predict, "predict the emotion of video/audio files with a trained model"},
};
#define N_COMMANDS (sizeof commands / sizeof *commands)

static void usage(FILE *f) {
    fprintf(f, "avemo %s: audio-visual emotion recognition (dual-stream FRFT-MFCC + MobileNetV2)\n\n"
               "usage: avemo <command> [options]   (avemo <command> --help for its options)\n\ncommands:\n",
            AVEMO_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-18s %s\n", commands[i].name, commands[i].help);
}

/* The command typed, with '_' read as '-'; NULL when there is none. */
static const command *find_command(const char *typed) {
    char name[64];
    snprintf(name, sizeof name, "%s", typed);
    for (char *p = name; *p; p++)
        if (*p == '_') *p = '-';
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, name)) return &commands[i];
    return NULL;
}

/* Under mpirun / srun (core/dist.h): MPI started; ranks > 0 keep stderr (their own failures, their folds' lines)
 * but not stdout, where rank 0 alone prints the results. */
static int start_ranks(int *argc, char ***argv) {
    if (dist_init(argc, argv)) {
        fprintf(stderr, "avemo: %s\n", avemo_last_error());
        return 1;
    }
    if (dist_rank() > 0) {
        int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0) dup2(null_fd, 1), close(null_fd);
    }
    return 0;
}

static int run_command(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("avemo %s%s\n", AVEMO_VERSION, dist_with_mpi() ? " (MPI)" : "");
        return 0;
    }
    const command *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "avemo: unknown command '%s' (avemo --help lists them)\n", argv[1]);
        return 2;
    }
    return c->run(argc - 1, argv + 1);
}

int main(int argc, char **argv) {
    if (start_ranks(&argc, &argv)) return 1;
    int status = run_command(argc, argv);
    fflush(stdout);
    dist_finalize();
    return status;
}
