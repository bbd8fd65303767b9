/* avemo import: MobileNetV2 v1.0 weights from TFLite or safetensors -> safetensors with torchvision names
 * (model/mobilenetv2_import.h).
 *
 *   avemo import --from tflite|safetensors SRC --out BACKBONE.safetensors [--channels 1|3] [--labels FILE]
 *                [--padding torch|tf_same] [--input-norm imagenet|minus1_1]
 */
#include "avemo.h"
#include "cli/cli_args.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "model/mobilenetv2_import.h"

#include <stdio.h>

typedef struct {
    mnv2_import_options import; /* src: the one input */
    const char *out;
} import_args;

static const cli_choice import_sources[] = {{"tflite", MNV2_SOURCE_TFLITE}, {"safetensors", MNV2_SOURCE_SAFETENSORS}, {NULL, 0}};
static const cli_choice import_channels[] = {{"1", 1}, {"3", 3}, {NULL, 0}};
static const cli_choice import_paddings[] = {{"torch", MNV2_PAD_TORCH}, {"tf_same", MNV2_PAD_TF_SAME}, {NULL, 0}};
static const cli_choice import_norms[] = {{"imagenet", MNV2_NORM_IMAGENET}, {"minus1_1", MNV2_NORM_MINUS1_1}, {NULL, 0}};

static const cli_option import_options[] = {
    {CLI_CHOICE(import_args, import.from, "--from", import_sources), .required = 1,
     .help = "tflite       a TFLite MobileNetV2 (e.g. mobilenet_v2_1.0_224_quant.tflite),\n"
             "             dequantised; folded BN written as identity + bias; padding\n"
             "             tf_same, input [-1, 1]\n"
             "safetensors  a torchvision or timm (mobilenetv2_100) state_dict; names\n"
             "             converted"},
    {CLI_STRING(import_args, out, "--out", "BACKBONE.safetensors"), .required = 1, .help = "the imported weights"},
    {CLI_CHOICE(import_args, import.channels, "--channels", import_channels), .bad = "must be 1 or 3",
     .help = "input channels of the written stem (1 sums the RGB filters;\n"
             "default: SRC's)"},
    {CLI_STRING(import_args, import.labels, "--labels", "FILE"),
     .help = "class names, one per line, stored in the metadata (tflite\n"
             "default: imagenet_labels.txt next to SRC, when present)"},
    {CLI_CHOICE(import_args, import.padding, "--padding", import_paddings),
     .help = "override the padding convention recorded in the metadata\n"
             "(safetensors sources; default: the file's, else torch)"},
    {CLI_CHOICE(import_args, import.norm, "--input-norm", import_norms),
     .help = "override the input normalisation recorded in the metadata\n"
             "(safetensors sources; default: the file's, else imagenet)"},
    {0}};

static const cli_command import_command = {
    .name = "import",
    .inputs = "SRC",
    .min_inputs = 1,
    .max_inputs = 1,
    .about = "  Import MobileNetV2 v1.0 weights and write them as safetensors with torchvision's names\n"
             "  (features.N..., classifier.1.*), ready for avemo embed / classify-imagenet / train.\n",
    .groups = {{NULL, import_options, 0}},
};

int cmd_import(int argc, char **argv) {
    import_args a = {.import = {.padding = -1, .norm = -1}};
    cli_inputs inputs;
    int status = cli_parse(&import_command, argc, argv, &a, &inputs);
    if (status != CLI_RUN) return status;
    a.import.src = inputs.items[0];
    mnv2_imported imported;
    int st = mobilenetv2_import(&a.import, &imported);
    if (st) {
        status = cli_fail("import", st);
    } else if ((st = mnv2_imported_save(&imported, a.out))) {
        status = cli_fail("import", st); /* SRC was good: writing failed */
    } else {
        const mobilenetv2 *m = &imported.net;
        printf("%s: MobileNetV2 v1.0, %d input channel%s, %ld parameters, %s%d classes, padding %s, input %s\n",
               a.out, m->in_channels, m->in_channels > 1 ? "s" : "", m->n_params, m->n_classes ? "classifier " : "",
               m->n_classes, mnv2_padding_name(m->padding), mnv2_norm_name(m->norm));
        status = 0;
    }
    mnv2_imported_free(&imported);
    cli_inputs_free(&inputs);
    return status;
}
