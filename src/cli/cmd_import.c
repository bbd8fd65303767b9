/* avemo import: MobileNetV2 v1.0 weights from TFLite or safetensors -> safetensors with torchvision names.
 *
 *   avemo import --from tflite|safetensors SRC --out BACKBONE.safetensors [--channels 1|3] [--labels FILE]
 *                [--padding torch|tf_same] [--input-norm imagenet|minus1_1]
 *
 * tflite: the quantized MobileNetV2 is dequantised ((q - zero_point) * scale); its BN is folded into the convs,
 * so each BN is written as identity plus the folded bias (weight 1, mean 0, var 1 - eps, bias = folded bias:
 * eval-mode output identical), metadata padding=tf_same, input_norm=minus1_1 (x / 127.5 - 1). Labels (one per
 * line, e.g. imagenet_labels.txt with 1001 lines, 0 = background) are stored in the metadata "class_names";
 * by default SRC's folder is searched for imagenet_labels.txt.
 * safetensors: a torchvision (or timm mobilenetv2_100) state_dict; validated and written with torchvision
 * names. --channels 1 sums the stem's RGB filters (grayscale input).
 */
#include "avemo.h"
#include "cli/cli_util.h"
#include "io/labels.h"
#include "model/mobilenetv2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f, "usage: avemo import --from tflite|safetensors SRC --out BACKBONE.safetensors [options]\n"
               "  Import MobileNetV2 v1.0 weights and write them as safetensors with torchvision's names\n"
               "  (features.N..., classifier.1.*), ready for avemo embed / classify-imagenet / train.\n"
               "  --from tflite       a TFLite MobileNetV2 (e.g. mobilenet_v2_1.0_224_quant.tflite), dequantised;\n"
               "                      folded BN written as identity + bias; padding tf_same, input [-1, 1]\n"
               "  --from safetensors  a torchvision or timm (mobilenetv2_100) state_dict; names converted\n"
               "  --channels 1|3      input channels of the written stem (1 sums the RGB filters; default: SRC's)\n"
               "  --labels FILE       class names, one per line, stored in the metadata (tflite default:\n"
               "                      imagenet_labels.txt next to SRC, when present)\n"
               "  --padding torch|tf_same, --input-norm imagenet|minus1_1   override the conventions recorded\n"
               "                      in the metadata (safetensors sources; defaults: the file's, else torch and\n"
               "                      imagenet)\n");
}

int cmd_import(int argc, char **argv) {
    const char *from = NULL, *src = NULL, *out = NULL, *labels_path = NULL, *pad = NULL, *norm = NULL;
    int channels = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if ((v = cli_opt_value(argc, argv, &i, "--from", &missing))) {
            from = v;
            if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) src = argv[++i];
        } else if ((v = cli_opt_value(argc, argv, &i, "--out", &missing))) out = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--labels", &missing))) labels_path = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--padding", &missing))) pad = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--input-norm", &missing))) norm = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--channels", &missing))) {
            if (!cli_parse_int(v, 1, 3, &channels) || channels == 2) {
                fprintf(stderr, "avemo import: --channels '%s' must be 1 or 3\n", v);
                return 2;
            }
        } else if (argv[i][0] != '-' && !src) src = argv[i];
        else return cli_bad_arg("import", argv[i], missing);
    }
    if (!from || !src || !out) {
        fprintf(stderr, "avemo import: --from FORMAT SRC and --out are required (avemo import --help)\n");
        return 2;
    }
    int tflite = !strcmp(from, "tflite");
    if (!tflite && strcmp(from, "safetensors") != 0) {
        fprintf(stderr, "avemo import: --from '%s' unknown (tflite or safetensors)\n", from);
        return 2;
    }
    if ((pad && strcmp(pad, "torch") && strcmp(pad, "tf_same")) ||
        (norm && strcmp(norm, "imagenet") && strcmp(norm, "minus1_1"))) {
        fprintf(stderr, "avemo import: --padding must be torch or tf_same, --input-norm imagenet or minus1_1\n");
        return 2;
    }
    mobilenetv2 m;
    int rc = tflite ? mobilenetv2_from_tflite(&m, src, channels) : mobilenetv2_from_file(&m, src, channels);
    if (rc) {
        fprintf(stderr, "avemo import: %s\n", avemo_last_error());
        return rc == AVEMO_ENOMEM ? 1 : 2;
    }
    if (pad) m.padding = strcmp(pad, "tf_same") ? MNV2_PAD_TORCH : MNV2_PAD_TF_SAME;
    if (norm) m.norm = strcmp(norm, "minus1_1") ? MNV2_NORM_IMAGENET : MNV2_NORM_MINUS1_1;

    /* class names */
    char default_labels[4096];
    if (!labels_path && tflite) {
        const char *slash = strrchr(src, '/');
        int dir_len = slash ? (int)(slash - src) : 1;
        snprintf(default_labels, sizeof default_labels, "%.*s/imagenet_labels.txt", dir_len, slash ? src : ".");
        if (access(default_labels, R_OK) == 0) labels_path = default_labels;
    }
    char *names = NULL;
    if (labels_path) {
        int n_labels;
        char **labels = labels_read_file(labels_path, &n_labels);
        if (!labels) {
            fprintf(stderr, "avemo import: %s\n", avemo_last_error());
            mobilenetv2_free(&m);
            return 2;
        }
        while (n_labels > 0 && !labels[n_labels - 1][0]) n_labels--; /* trailing newline */
        if (n_labels != m.n_classes) {
            fprintf(stderr, "avemo import: %s: %d labels but the classifier has %d classes\n", labels_path,
                    n_labels, m.n_classes);
            labels_free(labels);
            mobilenetv2_free(&m);
            return 2;
        }
        size_t len = 1;
        for (int i = 0; i < n_labels; i++) len += strlen(labels[i]) + 1;
        names = calloc(len, 1);
        for (int i = 0; names && i < n_labels; i++) {
            strcat(names, labels[i]);
            if (i + 1 < n_labels) strcat(names, "\n");
        }
        labels_free(labels);
    }
    const char *meta[8];
    int n_meta = 0;
    meta[2 * n_meta] = "source";
    meta[2 * n_meta++ + 1] = src;
    if (tflite) {
        meta[2 * n_meta] = "bn";
        meta[2 * n_meta++ + 1] = "folded in the source: weight 1, running_mean 0, running_var 1 - eps (var + eps == 1 "
                                 "in float32), bias = folded bias";
    }
    if (names) {
        meta[2 * n_meta] = "class_names";
        meta[2 * n_meta++ + 1] = names;
    }
    rc = mobilenetv2_save(&m, out, meta, n_meta);
    if (rc) {
        fprintf(stderr, "avemo import: %s\n", avemo_last_error());
    } else {
        printf("%s: MobileNetV2 v1.0, %d input channel%s, %ld parameters, %s%d classes, padding %s, input %s\n",
               out, m.in_channels, m.in_channels > 1 ? "s" : "", m.n_params, m.n_classes ? "classifier " : "",
               m.n_classes, mnv2_padding_name(m.padding), mnv2_norm_name(m.norm));
    }
    free(names);
    mobilenetv2_free(&m);
    return rc ? 1 : 0;
}
