/* avemo classify-imagenet: top-k ImageNet labels of images, to check an imported backbone end to end.
 *
 *   avemo classify-imagenet --backbone W.safetensors [--labels FILE] [--top K] [--crop F] IMAGE...
 *
 * Preprocessing: the whole image is resampled to 224 x 224 (TFLite's label_image; area filter when shrinking),
 * or with --crop F the centred square of side F x the shorter side (0.875 = torchvision's resize 256 + centre
 * crop 224), then normalised as the backbone's metadata says
 * (input_norm imagenet or minus1_1). A 1-channel backbone gets BT.601 luma. Inference with BN folded.
 * Labels: the backbone's metadata class_names, else --labels (a 1001-line file with background first also
 * serves a 1000-class torchvision classifier).
 */
#include "avemo.h"
#include "cli/cli_util.h"
#include "data/featurizer_jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: avemo classify-imagenet --backbone W.safetensors [--labels FILE] [--top K] [--crop F] IMAGE...\n"
               "  Top-K (default 5) classes of each image (PNG, JPEG, BMP, ...) with a MobileNetV2 that has a\n"
               "  classifier (e.g. from avemo import --from tflite), the image resized to 224 x 224.\n"
               "  --labels FILE  class names, one per line (default: the backbone's metadata class_names)\n"
               "  --crop F       first take the centred square of side F x the shorter side (0 < F <= 1;\n"
               "                 0.875 is torchvision's eval transform; default: the whole image)\n");
}

/* The top-K classes of each image; exit status 0, 2 when an image could not be read, 1 on a runtime failure. */
static int classify_images(const backbone_classifier *c, const char **images, int n_images, int top, double crop) {
    int classes = c->net.n_classes, failed = 0, rc = 0;
    float *probs = malloc(sizeof(float) * classes);
    uint8_t *rgb = malloc((size_t)CLASSIFY_SIZE * CLASSIFY_SIZE * 3);
    if (!probs || !rgb) {
        fprintf(stderr, "avemo classify-imagenet: out of memory\n");
        rc = 1;
    }
    if (top > classes) top = classes;
    for (int k = 0; k < n_images && !rc; k++) {
        if (backbone_classifier_input(c, images[k], crop, rgb)) {
            fprintf(stderr, "avemo classify-imagenet: %s\n", avemo_last_error());
            failed = 1;
            continue;
        }
        if (backbone_classify(c, rgb, probs)) {
            fprintf(stderr, "avemo classify-imagenet: %s: %s\n", images[k], avemo_last_error());
            rc = 1;
            break;
        }
        printf("%s\n", images[k]);
        for (int t = 0; t < top; t++) { /* selection of the t-th largest */
            int best = -1;
            for (int j = 0; j < classes; j++)
                if (probs[j] >= 0 && (best < 0 || probs[j] > probs[best])) best = j;
            printf("  %.4f  %s (%d)\n", probs[best], backbone_classifier_label(c, best), best);
            probs[best] = -1;
        }
    }
    free(probs);
    free(rgb);
    return rc ? rc : failed ? 2 : 0;
}

int cmd_classify_imagenet(int argc, char **argv) {
    const char *backbone = NULL, *labels_path = NULL;
    int top = 5, n_images = 0;
    double crop = 0;
    const char **images = calloc((size_t)argc + 1, sizeof *images);
    if (!images) return 1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            free(images);
            return 0;
        } else if ((v = cli_opt_value(argc, argv, &i, "--backbone", &missing))) backbone = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--labels", &missing))) labels_path = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--top", &missing))) {
            if (!cli_parse_int(v, 1, 100000, &top)) {
                fprintf(stderr, "avemo classify-imagenet: --top '%s' must be a positive integer\n", v);
                free(images);
                return 2;
            }
        } else if ((v = cli_opt_value(argc, argv, &i, "--crop", &missing))) {
            char *end;
            crop = strtod(v, &end);
            if (end == v || *end || !(crop > 0 && crop <= 1)) {
                fprintf(stderr, "avemo classify-imagenet: --crop '%s' must be in (0, 1]\n", v);
                free(images);
                return 2;
            }
        } else if (argv[i][0] != '-') images[n_images++] = argv[i];
        else {
            free(images);
            return cli_bad_arg("classify-imagenet", argv[i], missing);
        }
    }
    if (!backbone || !n_images) {
        fprintf(stderr, "avemo classify-imagenet: --backbone and at least one IMAGE are required\n");
        free(images);
        return 2;
    }
    backbone_classifier c;
    int rc = backbone_classifier_open(&c, backbone, labels_path);
    if (rc) {
        fprintf(stderr, "avemo classify-imagenet: %s\n", avemo_last_error());
        free(images);
        return rc == AVEMO_ENOMEM ? 1 : 2;
    }
    rc = classify_images(&c, images, n_images, top, crop);
    backbone_classifier_close(&c);
    free(images);
    return rc;
}
