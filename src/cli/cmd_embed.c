/* avemo embed: MobileNetV2 1280-d embeddings (global average pool of features.18) of the images in a .npy
 * (data/featurizer_jobs.h).
 *
 * IN: uint8 [N, H, W] (grayscale) or [N, H, W, 3] (RGB), normalised as the backbone's metadata says
 * (input_norm imagenet: (x/255 - mean) / std, one channel using the mean of the RGB means and stds;
 * minus1_1: x / 127.5 - 1); or float32 of the same shapes, taken as already normalised. H and W: any size,
 * multiples of 32 as MobileNetV2 expects (224 x 224 for the face crops). --channels (default: IN's) picks the
 * stem: 1 sums a 3-channel backbone's RGB filters; gray input to a 3-channel stem is replicated, RGB input to a
 * 1-channel stem is converted with BT.601 luma. OUT: float32 [N, 1280]. BN folded, eval mode.
 */
#include "cli/cli_args.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "data/featurizer_jobs.h"
#include "io/npy.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct {
    embed_job job;
    const char *out;
} embed_args;

static const cli_choice stem_channels[] = {{"1", 1}, {"3", 3}, {NULL, 0}};

static const cli_option embed_options[] = {
    {CLI_STRING(embed_args, job.backbone, "--backbone", "W.safetensors"), .required = 1,
     .help = "MobileNetV2 weights (avemo import)"},
    {CLI_STRING(embed_args, job.images, "--images", "IN.npy"), .required = 1,
     .help = "uint8 [N,H,W] or [N,H,W,3] (normalised as the backbone's metadata\n"
             "input_norm says) or float32 (already normalised)"},
    {CLI_STRING(embed_args, out, "--out", "OUT.npy"), .required = 1, .help = "float32 [N,1280]"},
    {CLI_CHOICE(embed_args, job.channels, "--channels", stem_channels), .bad = "must be 1 or 3",
     .help = "stem channels (default: IN's; 1 sums the RGB filters)"},
    {CLI_INT(embed_args, job.batch, "--batch", "B", CLI_IN(1, 4096)), .help = "images per forward pass (default 16)"},
    {0}};

static const cli_command embed_command = {
    .name = "embed",
    .about = "  1280-d MobileNetV2 embeddings (eval mode, BN folded) of each image in IN.\n",
    .groups = {{NULL, embed_options, 0}},
};

int cmd_embed(int argc, char **argv) {
    embed_args a = {.job = {.batch = 16, .progress = 1}};
    int status = cli_parse(&embed_command, argc, argv, &a, NULL);
    if (status != CLI_RUN) return status;
    float *embeddings;
    int n;
    int st = embed_job_run(&a.job, &embeddings, &n);
    if (st) return cli_fail("embed", st);
    int64_t shape[2] = {n, MNV2_FEATURES};
    st = npy_write(a.out, NPY_F32, 2, shape, embeddings);
    free(embeddings);
    return st ? cli_fail("embed", st) : 0;
}
