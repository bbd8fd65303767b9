/* avemo: the command-line tool. Parses the subcommand and hands over to src/cli/cmd_<name>.c.
 * Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage (one-line message naming the file). */
#include "avemo.h"

#include <stdio.h>
#include <string.h>

/* Each command lives in its own file; a command not built yet is a weak NULL and reports so. */
#define COMMANDS(X)                                                                                        \
    X(features, "audio features (MFCC / FRFT-MFCC) of audio or video files -> .npy")                       \
    X(frft, "fractional Fourier transform of the rows of a .npy array")                                    \
    X(detect, "MTCNN face detection on images or videos")                                                  \
    X(faces, "face crops [frames, 224, 224] per video -> .npy")                                            \
    X(import, "import MobileNetV2 weights (TFLite or safetensors) -> safetensors")                         \
    X(embed, "MobileNetV2 1280-d embeddings of images in a .npy")                                          \
    X(classify_imagenet, "top-5 ImageNet labels of images (checks a backbone import)")                     \
    X(prep, "preprocess a dataset (RAVDESS, CREMA-D, image folder) into a feature cache")                  \
    X(train, "train a model on a prepared cache (speaker-independent folds)")                              \
    X(eval, "evaluate a trained model on a prepared cache")                                                \
    X(ablate, "reproduce the paper's ablation tables")                                                     \
    X(predict, "predict the emotion of video/audio files with a trained model")

#define DECLARE(name, help) int cmd_##name(int argc, char **argv) __attribute__((weak));
COMMANDS(DECLARE)

typedef struct {
    const char *name;
    const char *help;
} command;

#define ENTRY(name, help) {#name, help},
static command commands[] = {COMMANDS(ENTRY)};

static int (*lookup(const char *name))(int, char **) {
#define MATCH(n, help)                                                                                     \
    if (strcmp(name, #n) == 0) return cmd_##n;
    COMMANDS(MATCH)
    return NULL;
}

static void cli_name(char *dst, const char *src) { /* classify_imagenet -> classify-imagenet */
    for (; *src; src++) *dst++ = *src == '_' ? '-' : *src;
    *dst = 0;
}

static void usage(FILE *f) {
    fprintf(f, "avemo %s: audio-visual emotion recognition (dual-stream FRFT-MFCC + MobileNetV2)\n\n"
               "usage: avemo <command> [options]   (avemo <command> --help for its options)\n\ncommands:\n",
            AVEMO_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        char n[64];
        cli_name(n, commands[i].name);
        fprintf(f, "  %-18s %s%s\n", n, commands[i].help, lookup(commands[i].name) ? "" : " (not built yet)");
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("avemo %s\n", AVEMO_VERSION);
        return 0;
    }
    char name[64];
    snprintf(name, sizeof name, "%s", argv[1]);
    for (char *p = name; *p; p++)
        if (*p == '-') *p = '_';
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(commands[i].name, name) != 0) continue;
        int (*fn)(int, char **) = lookup(name);
        if (!fn) {
            fprintf(stderr, "avemo: command '%s' is not built in this version yet\n", argv[1]);
            return 2;
        }
        return fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "avemo: unknown command '%s' (avemo --help lists them)\n", argv[1]);
    return 2;
}
