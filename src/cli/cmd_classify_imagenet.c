/* avemo classify-imagenet: top-k ImageNet labels of images, to check an imported backbone end to end
 * (data/featurizer_jobs.h).
 *
 * Preprocessing: the whole image is resampled to 224 x 224 (TFLite's label_image; area filter when shrinking),
 * or with --crop F the centred square of side F x the shorter side (0.875 = torchvision's resize 256 + centre
 * crop 224), then normalised as the backbone's metadata says (input_norm imagenet or minus1_1). A 1-channel
 * backbone gets BT.601 luma. Inference with BN folded. Labels: the backbone's metadata class_names, else
 * --labels (a 1001-line file with background first also serves a 1000-class torchvision classifier).
 */
#include "cli/cli_args.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/err.h"
#include "data/featurizer_jobs.h"

#include <stdio.h>

static const cli_option classify_options[] = {
    {CLI_STRING(classify_job, backbone, "--backbone", "W.safetensors"), .required = 1,
     .help = "a MobileNetV2 with its classifier (e.g. from avemo import --from\n"
             "tflite)"},
    {CLI_STRING(classify_job, labels_path, "--labels", "FILE"),
     .help = "class names, one per line (default: the backbone's metadata\n"
             "class_names)"},
    {CLI_INT(classify_job, top, "--top", "K", CLI_IN(1, 100000)), .help = "classes shown per image (default 5)"},
    {CLI_DOUBLE(classify_job, crop, "--crop", "F", CLI_IN_ABOVE(0, 1)),
     .help = "first take the centred square of side F x the shorter side (0 < F <= 1;\n"
             "0.875 is torchvision's eval transform; default: the whole image)"},
    {0}};

static const cli_command classify_command = {
    .name = "classify-imagenet",
    .inputs = "IMAGE...",
    .min_inputs = 1,
    .about = "  Top-K classes of each image (PNG, JPEG, BMP, ...) with a MobileNetV2 that has a classifier, the image\n"
             "  resized to 224 x 224.\n",
    .groups = {{NULL, classify_options, 0}},
};

/* The image's name, then one line per class: probability, label, index; or the failure. */
static void print_classes(const classify_done *d, void *ctx) {
    (void)ctx;
    if (d->status) {
        fprintf(stderr, "avemo classify-imagenet: %s\n", avemo_last_error());
        return;
    }
    printf("%s\n", d->path);
    for (int t = 0; t < d->n_top; t++) printf("  %.4f  %s (%d)\n", d->top[t].prob, d->top[t].label, d->top[t].index);
}

int cmd_classify_imagenet(int argc, char **argv) {
    classify_job job = {.top = 5, .on_input = print_classes};
    cli_inputs images;
    int status = cli_parse(&classify_command, argc, argv, &job, &images);
    if (status != CLI_RUN) return status;
    job_tally tally;
    int st = classify_job_run(&job, images.items, images.n, &tally);
    cli_inputs_free(&images);
    return st ? cli_fail("classify-imagenet", st) : cli_exit_status(tally.status);
}
