/* The featurizer's options that several commands share, as cli_args tables (as cli/train_args.h does for the
 * training options): a command puts a table in a cli_group whose base is where the struct it fills sits in the
 * command's own struct, e.g. {"MFCC:", mfcc_cli_options, offsetof(features_args, settings.mfcc)}. */
#ifndef AVEMO_CLI_FEATURIZER_ARGS_H
#define AVEMO_CLI_FEATURIZER_ARGS_H
#include "cli/cli_args.h"
#include "data/featurizer.h"

/* Over an mfcc_config: --n-mfcc (1..128), --pad-mode constant|reflect. */
extern const cli_option mfcc_cli_options[];

/* Over a faces_config: --color gray|rgb, --frame-window center|first, --reuse-box, --no-refine. */
extern const cli_option face_crop_cli_options[];

/* center|first, for a frame_window field. */
extern const cli_choice frame_window_choices[];

/* The help of --mtcnn PATH (data/weights.h's search). */
#define MTCNN_PATH_HELP                                                                                          \
    "MTCNN weights: TF.js manifest or folder with pnet/rnet/onet.tflite (default:\n"                           \
    "$AVEMO_MTCNN, $AVEMO_SHARED/weights/mtcnn, $AVEMO_DATA/mtcnn, the installed\n"                            \
    "share/avemo/mtcnn, ../shared/weights/mtcnn, then\n"                                                          \
    "weights/mtcnn-tflite here or next to avemo)"

#endif
