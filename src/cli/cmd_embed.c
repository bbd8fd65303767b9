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
#include "core/progress.h"
#include "io/npy.h"
#include "model/mobilenetv2.h"
#include "vision/imgops.h"

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
    npy_array x;
    if (npy_read(in, &x)) {
        fprintf(stderr, "avemo embed: %s\n", avemo_last_error());
        return 2;
    }
    int rc = 2, in_c = x.ndim == 4 ? (int)x.shape[3] : 1;
    mobilenetv2 m = {0};
    mnv2_folded f = {0};
    float *buf = NULL, *feat = NULL;
    unsigned char *gray = NULL;
    if ((x.dtype != NPY_U8 && x.dtype != NPY_F32) || (x.ndim != 3 && x.ndim != 4) || (x.ndim == 4 && in_c != 3)) {
        fprintf(stderr, "avemo embed: %s: want uint8 or float32 [N,H,W] or [N,H,W,3], got %s with %d dims\n", in,
                npy_dtype_name(x.dtype), x.ndim);
        goto done;
    }
    int n = (int)x.shape[0], h = (int)x.shape[1], w = (int)x.shape[2];
    if (x.shape[0] > (1 << 30) || h < 32 || w < 32 || h > 4096 || w > 4096) {
        fprintf(stderr, "avemo embed: %s: image size %d x %d (want 32..4096)\n", in, h, w);
        goto done;
    }
    if (!channels) channels = in_c;
    if (mobilenetv2_from_file(&m, backbone, channels)) {
        fprintf(stderr, "avemo embed: %s\n", avemo_last_error());
        goto done;
    }
    rc = 1;
    long px = (long)h * w;
    if (batch > n && n > 0) batch = n;
    buf = malloc(sizeof(float) * (size_t)(batch * px * channels));
    gray = malloc((size_t)(px * 3));
    feat = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1) * MNV2_FEATURES);
    if (!buf || !gray || !feat || mobilenetv2_fold(&f, &m)) {
        fprintf(stderr, "avemo embed: out of memory\n");
        goto done;
    }
    progress pr;
    progress_start(&pr, "embed", n);
    for (int n0 = 0; n0 < n; n0 += batch) {
        int nb = n - n0 < batch ? n - n0 : batch;
        for (int k = 0; k < nb; k++) {
            long img = (long)(n0 + k);
            float *dst = buf + (long)k * px * channels;
            if (x.dtype == NPY_U8) {
                const unsigned char *s = (const unsigned char *)x.data + img * px * in_c;
                if (in_c == channels) {
                    mobilenetv2_normalize_u8(dst, s, px, channels, m.norm);
                } else if (in_c == 3) { /* RGB -> 1-channel stem */
                    rgb_to_gray(gray, s, px);
                    mobilenetv2_normalize_u8(dst, gray, px, 1, m.norm);
                } else { /* gray -> 3-channel stem */
                    for (long p = 0; p < px; p++) gray[3 * p] = gray[3 * p + 1] = gray[3 * p + 2] = s[p];
                    mobilenetv2_normalize_u8(dst, gray, px, 3, m.norm);
                }
            } else {
                const float *s = (const float *)x.data + img * px * in_c;
                for (long p = 0; p < px; p++) {
                    if (in_c == channels) {
                        for (int c = 0; c < channels; c++) dst[p * channels + c] = s[p * channels + c];
                    } else if (in_c == 3) {
                        dst[p] = 0.299f * s[3 * p] + 0.587f * s[3 * p + 1] + 0.114f * s[3 * p + 2];
                    } else {
                        dst[3 * p] = dst[3 * p + 1] = dst[3 * p + 2] = s[p];
                    }
                }
            }
        }
        if (mobilenetv2_infer(&f, feat + (long)n0 * MNV2_FEATURES, buf, nb, h, w, nb)) {
            fprintf(stderr, "avemo embed: %s\n", avemo_last_error());
            goto done;
        }
        progress_update(&pr, n0 + nb);
    }
    progress_finish(&pr);
    int64_t shape[2] = {n, MNV2_FEATURES};
    if (npy_write(out, NPY_F32, 2, shape, feat)) {
        fprintf(stderr, "avemo embed: %s\n", avemo_last_error());
        goto done;
    }
    rc = 0;
done:
    mobilenetv2_folded_free(&f);
    mobilenetv2_free(&m);
    npy_free(&x);
    free(buf);
    free(gray);
    free(feat);
    return rc;
}
