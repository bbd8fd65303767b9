#include "cli/featurizer_args.h"

const cli_choice frame_window_choices[] = {{"center", FRAME_WINDOW_CENTER}, {"first", FRAME_WINDOW_FIRST}, {NULL, 0}};

static const cli_choice pad_modes[] = {{"constant", MFCC_PAD_CONSTANT}, {"reflect", MFCC_PAD_REFLECT}, {NULL, 0}};
static const cli_choice colors[] = {{"gray", 0}, {"rgb", 1}, {NULL, 0}};

const cli_option mfcc_cli_options[] = {
    {CLI_INT(mfcc_config, n_mfcc, "--n-mfcc", "N", CLI_IN(1, 128)),
     .help = "coefficients per order (default " CLI_STR(AVEMO_MFCC_N_MFCC) ")"},
    {CLI_CHOICE(mfcc_config, pad_mode, "--pad-mode", pad_modes),
     .help = "STFT edge padding: constant (zeros, librosa 0.10, default) or reflect\n"
             "(librosa < 0.9 and the baseline)"},
    {0}};

const cli_option face_crop_cli_options[] = {
    {CLI_CHOICE(faces_config, color_rgb, "--color", colors),
     .help = "crops in grayscale (BT.601; default, the paper) or colour"},
    {CLI_CHOICE(faces_config, window, "--frame-window", frame_window_choices),
     .help = "frames over the central " CLI_STR(AVEMO_CLIP_SECONDS) " s (default) or the baseline's first 108"},
    {CLI_FLAG(faces_config, reuse_box, "--reuse-box"),
     .help = "a frame without a face reuses the previous box (the baseline)"},
    {CLI_FLAG_VALUE(faces_config, refine, "--no-refine", 0), .help = "skip the second MTCNN pass on the enlarged crop"},
    {0}};
