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
#include "cli/backbone_cli.h"
#include "cli/cli_util.h"
#include "io/image.h"
#include "model/mobilenetv2.h"
#include "nn/nn.h"
#include "vision/imgops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLASSIFY_SIZE 224

static void usage(FILE *f) {
    fprintf(f, "usage: avemo classify-imagenet --backbone W.safetensors [--labels FILE] [--top K] [--crop F] IMAGE...\n"
               "  Top-K (default 5) classes of each image (PNG, JPEG, BMP, ...) with a MobileNetV2 that has a\n"
               "  classifier (e.g. from avemo import --from tflite), the image resized to 224 x 224.\n"
               "  --labels FILE  class names, one per line (default: the backbone's metadata class_names)\n"
               "  --crop F       first take the centred square of side F x the shorter side (0 < F <= 1;\n"
               "                 0.875 is torchvision's eval transform; default: the whole image)\n");
}

/* Image -> normalised float [224, 224, channels] */
static int preprocess(float *dst, const char *path, int channels, mnv2_norm norm, double crop) {
    image_rgb img;
    int rc = image_load_rgb(path, &img);
    if (rc) return rc;
    int side = (int)(crop * (img.h < img.w ? img.h : img.w) + 0.5);
    if (side < 1) side = 1;
    int cw = crop > 0 ? side : img.w, ch = crop > 0 ? side : img.h;
    float *rgb = malloc(sizeof(float) * CLASSIFY_SIZE * CLASSIFY_SIZE * 3);
    unsigned char *u8 = malloc(CLASSIFY_SIZE * CLASSIFY_SIZE * 3);
    if (!rgb || !u8) {
        rc = AVEMO_ENOMEM;
        goto done;
    }
    rc = crop_resize_f32(rgb, CLASSIFY_SIZE, CLASSIFY_SIZE, img.rgb, img.h, img.w, 3, (img.w - cw) / 2,
                         (img.h - ch) / 2, cw, ch);
    if (rc) goto done;
    long px = CLASSIFY_SIZE * CLASSIFY_SIZE;
    for (long i = 0; i < px * 3; i++) {
        float v = rgb[i] + 0.5f;
        u8[i] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    if (channels == 1) rgb_to_gray(u8, u8, px); /* in place: gray[i] is written after rgb[3i..3i+2] is read */
    mobilenetv2_normalize_u8(dst, u8, px, channels, norm);
done:
    free(rgb);
    free(u8);
    image_free(&img);
    return rc;
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
    mobilenetv2 m;
    mnv2_folded f = {0};
    char **labels = NULL;
    float *x = NULL, *logits = NULL, *probs = NULL;
    int n_labels = 0, rc = 2, failed = 0;
    if (mobilenetv2_from_file(&m, backbone, 0)) {
        fprintf(stderr, "avemo classify-imagenet: %s\n", avemo_last_error());
        free(images);
        return 2;
    }
    if (!m.n_classes) {
        fprintf(stderr, "avemo classify-imagenet: %s: no classifier (classifier.1.weight) in this backbone\n",
                backbone);
        goto done;
    }
    if (labels_path) {
        labels = bb_read_labels(labels_path, &n_labels);
    } else {
        st_file sf;
        if (st_read(backbone, &sf) == 0) {
            const char *cn = st_meta(&sf, "class_names");
            if (cn) labels = bb_split_lines(cn, &n_labels);
            st_free(&sf);
        }
        if (!labels) {
            fprintf(stderr, "avemo classify-imagenet: %s has no class_names metadata: give --labels FILE\n", backbone);
            goto done;
        }
    }
    if (!labels) {
        fprintf(stderr, "avemo classify-imagenet: %s\n", avemo_last_error());
        goto done;
    }
    while (n_labels > 0 && !labels[n_labels - 1][0]) n_labels--;
    int label_offset = 0;
    if (n_labels == m.n_classes + 1) label_offset = 1; /* 1001 labels with background, 1000-class classifier */
    else if (n_labels != m.n_classes) {
        fprintf(stderr, "avemo classify-imagenet: %s: %d labels for %d classes\n", labels_path ? labels_path : backbone,
                n_labels, m.n_classes);
        goto done;
    }
    rc = 1;
    if (top > m.n_classes) top = m.n_classes;
    x = malloc(sizeof(float) * CLASSIFY_SIZE * CLASSIFY_SIZE * m.in_channels);
    logits = malloc(sizeof(float) * m.n_classes);
    probs = malloc(sizeof(float) * m.n_classes);
    if (!x || !logits || !probs || mobilenetv2_fold(&f, &m)) {
        fprintf(stderr, "avemo classify-imagenet: out of memory\n");
        goto done;
    }
    for (int k = 0; k < n_images; k++) {
        float feat[MNV2_FEATURES];
        if (preprocess(x, images[k], m.in_channels, m.norm, crop)) {
            fprintf(stderr, "avemo classify-imagenet: %s\n", avemo_last_error());
            failed = 1;
            continue;
        }
        if (mobilenetv2_infer(&f, feat, x, 1, CLASSIFY_SIZE, CLASSIFY_SIZE, 1) ||
            mobilenetv2_classify(&m, logits, feat, 1)) {
            fprintf(stderr, "avemo classify-imagenet: %s: %s\n", images[k], avemo_last_error());
            goto done;
        }
        softmax_forward(probs, logits, 1, m.n_classes);
        printf("%s\n", images[k]);
        for (int t = 0; t < top; t++) { /* selection of the t-th largest */
            int best = -1;
            for (int c = 0; c < m.n_classes; c++)
                if (probs[c] >= 0 && (best < 0 || probs[c] > probs[best])) best = c;
            printf("  %.4f  %s (%d)\n", probs[best], labels[best + label_offset], best);
            probs[best] = -1;
        }
    }
    rc = failed ? 2 : 0;
done:
    mobilenetv2_folded_free(&f);
    mobilenetv2_free(&m);
    bb_free_labels(labels);
    free(x);
    free(logits);
    free(probs);
    free(images);
    return rc;
}
