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
    {CLI_FLAG(faces_config, track, "--track"),
     .help = "follow the face: the full search on the first frame (and when the track\n"
             "is lost), then only the second pass around the previous box (default of prep)"},
    {CLI_FLAG_VALUE(faces_config, track, "--full-search", 0),
     .help = "the full MTCNN search on every frame (default of faces)"},
    {CLI_FLOAT(faces_config, min_face_frac, "--min-face-frac", "F", CLI_IN(0, 0.9)),
     .help = "the full search skips faces smaller than F x the frame's shorter side\n"
             "(prep default 0.1; faces default 0: down to 20 px)"},
    {0}};
