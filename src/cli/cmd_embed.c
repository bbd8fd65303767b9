/* avemo embed: MobileNetV2 1280-d embeddings (global average pool of features.18) of the images in a .npy.
 *
 *   avemo embed --backbone W.safetensors [--channels 1|3] [--batch B] --images IN.npy --out OUT.npy
 *
 * IN: uint8 [N, H, W] (grayscale) or [N, H, W, 3] (RGB), normalised here as the backbone's metadata says
 * (input_norm imagenet: (x/255 - mean) / std, one channel using the mean of the RGB means and stds;
 * minus1_1: x / 127.5 - 1); or float32 of the same shapes, taken as already normalised. H and W: any size,
 * multiples of 32 as MobileNetV2 expects (224 x 224 for the face crops). --channels (default: IN's) picks the
 * stem: 1 sums a 3-channel backbone's RGB filters; gray input to a 3-channel stem is replicated, RGB input to a
 * 1-channel stem is converted with BT.601 luma. OUT: float32 [N, 1280]. BN folded, eval mode.
 */
#include "avemo.h"
#include "cli/cli_util.h"
#include "data/featurizer_jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: avemo embed --backbone W.safetensors [--channels 1|3] [--batch B] --images IN.npy --out OUT.npy\n"
               "  1280-d MobileNetV2 embeddings (eval mode, BN folded) of each image in IN:\n"
               "  uint8 [N,H,W] or [N,H,W,3] (normalised as the backbone's metadata input_norm says) or float32\n"
               "  (already normalised). OUT: float32 [N,1280].\n"
               "  --channels 1|3  stem channels (default: IN's; 1 sums the RGB filters)\n"
               "  --batch B       images per forward pass (default 16)\n");
}

/* The library calls once the options are parsed: exit status 2 for bad input, 1 for a runtime failure. */
static int embed_command(const char *backbone, int channels, int batch, const char *in, const char *out) {
    npy_array x;
    if (npy_read(in, &x)) {
        fprintf(stderr, "avemo embed: %s\n", avemo_last_error());
        return 2;
    }
    int n, h, w, in_c, rc = 2;
    mobilenetv2 m = {0};
    featurizer f = {0};
    float *feat = NULL;
    if (embed_check_images(&x, in, &n, &h, &w, &in_c) || mobilenetv2_from_file(&m, backbone, channels ? channels : in_c)) {
        fprintf(stderr, "avemo embed: %s\n", avemo_last_error());
        goto done;
    }
    rc = 1;
    feat = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1) * MNV2_FEATURES);
    if (!feat || featurizer_open_backbone(&f, &m)) {
        fprintf(stderr, "avemo embed: out of memory\n");
        goto done;
    }
    progress pr;
    progress_start(&pr, "embed", n);
    if (embed_images(&f, &x, batch, &pr, feat)) {
        fprintf(stderr, "avemo embed: %s\n", avemo_last_error());
        goto done;
    }
    progress_finish(&pr);
    int64_t shape[2] = {n, MNV2_FEATURES};
    if (npy_write(out, NPY_F32, 2, shape, feat)) {
        fprintf(stderr, "avemo embed: %s\n", avemo_last_error());
        goto done;
    }
    rc = 0;
done:
    featurizer_close(&f);
    mobilenetv2_free(&m);
    npy_free(&x);
    free(feat);
    return rc;
}

int cmd_embed(int argc, char **argv) {
    const char *backbone = NULL, *in = NULL, *out = NULL;
    int channels = 0, batch = 16;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if ((v = cli_opt_value(argc, argv, &i, "--backbone", &missing))) backbone = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--images", &missing))) in = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--out", &missing))) out = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--channels", &missing))) {
            if (!cli_parse_int(v, 1, 3, &channels) || channels == 2) {
                fprintf(stderr, "avemo embed: --channels '%s' must be 1 or 3\n", v);
                return 2;
            }
        } else if ((v = cli_opt_value(argc, argv, &i, "--batch", &missing))) {
            if (!cli_parse_int(v, 1, 4096, &batch)) {
                fprintf(stderr, "avemo embed: --batch '%s' must be in 1..4096\n", v);
                return 2;
            }
        } else return cli_bad_arg("embed", argv[i], missing);
    }
    if (!backbone || !in || !out) {
        fprintf(stderr, "avemo embed: --backbone, --images and --out are required (avemo embed --help)\n");
        return 2;
    }
    return embed_command(backbone, channels, batch, in, out);
}
