/* MobileNetV2 imported from the TFLite quantized model (src/model/mobilenetv2_tflite.c): conventions recorded,
 * BN written as an exact identity + bias, folded == unfolded, 1-channel stem == RGB on replicated gray,
 * safetensors round trip. (The ImageNet labels it gives are checked in tests/cli/test_backbone_cli.c.) */
#include "test.h"

#include "io/tflite.h"
#include "model/mobilenetv2.h"
#include "avemo.h"

#include <stdlib.h>
#include <string.h>

#define MNV2 "weights/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite"
#define S 64

static void test_import(void) {
    const char *p = shared_path(MNV2);
    if (!p) return;
    mobilenetv2 m, g, r;
    CHECK(mobilenetv2_from_tflite(&m, p, 0) == 0, "import: %s", avemo_last_error());
    if (test_failed_now) return;
    CHECK(m.in_channels == 3 && m.n_classes == 1001 && m.padding == MNV2_PAD_TF_SAME && m.norm == MNV2_NORM_MINUS1_1,
          "conventions");
    /* eval BN is exactly y = x + beta: gamma 1, mean 0, var + eps == 1 in float32 */
    for (int i = 0; i < MNV2_UNITS; i++) {
        const mnv2_unit *u = &m.p.units[i];
        CHECK(u->gamma[0] == 1.0f && u->running_mean[0] == 0.0f && u->running_var[0] + m.bn_eps == 1.0f,
              "unit %d BN not identity", i);
    }
    /* dequantised stem weight = (q - zero_point) * scale, transposed OHWI -> OIHW */
    tfl_model t;
    CHECK(tfl_read(p, &t) == 0, "tflite read");
    const tfl_tensor *w = &t.tensors[t.ops[0].inputs[1]];
    int o = 5, c = 2, y = 1, x = 2;
    float want = (float)((double)(w->data[((o * 3 + y) * 3 + x) * 3 + c] - w->zero_point[0]) * w->scale[0]);
    CHECK(m.p.units[0].w[((o * 3 + c) * 3 + y) * 3 + x] == want, "stem weight layout");
    tfl_free(&t);

    float *img = malloc(sizeof(float) * S * S * 3), *gray = malloc(sizeof(float) * S * S);
    fill_uniform_f(gray, S * S, 3, -1, 1);
    for (int i = 0; i < S * S; i++) img[3 * i] = img[3 * i + 1] = img[3 * i + 2] = gray[i];
    float a[MNV2_FEATURES], b[MNV2_FEATURES], c1[MNV2_FEATURES], d[MNV2_FEATURES];
    CHECK(mobilenetv2_forward(&m, a, img, 1, S, S, 0) == 0, "forward: %s", avemo_last_error());
    mnv2_folded f;
    CHECK(mobilenetv2_fold(&f, &m) == 0, "fold");
    CHECK(mobilenetv2_infer(&f, b, img, 1, S, S, 1) == 0, "infer");
    mobilenetv2_folded_free(&f);
    /* folding an identity BN only changes where the bias is added: rounding-level differences (2.6e-6 measured
     * after 52 layers) */
    double e = rel_err_f(b, a, MNV2_FEATURES);
    CHECK(e < 1e-5, "folded vs unfolded rel err %g", e);

    CHECK(mobilenetv2_from_tflite(&g, p, 1) == 0, "gray import: %s", avemo_last_error());
    CHECK(g.in_channels == 1, "1 channel");
    CHECK(mobilenetv2_forward(&g, c1, gray, 1, S, S, 0) == 0, "gray forward");
    e = rel_err_f(c1, a, MNV2_FEATURES);
    CHECK(e < 1e-5, "1-channel stem vs replicated RGB rel err %g", e);
    mobilenetv2_free(&g);

    char path[512];
    snprintf(path, sizeof path, "%s/imported.safetensors", test_tmpdir());
    CHECK(mobilenetv2_save(&m, path, NULL, 0) == 0, "save: %s", avemo_last_error());
    CHECK(mobilenetv2_from_file(&r, path, 0) == 0, "load: %s", avemo_last_error());
    CHECK(r.padding == MNV2_PAD_TF_SAME && r.norm == MNV2_NORM_MINUS1_1 && r.n_classes == 1001, "metadata");
    CHECK(mobilenetv2_forward(&r, d, img, 1, S, S, 0) == 0 && !memcmp(a, d, sizeof a), "round trip output");
    mobilenetv2_free(&r);
    free(img);
    free(gray);
    mobilenetv2_free(&m);
}

static void test_not_mobilenet(void) {
    /* a TFLite file that is not MobileNetV2: a corrupted copy gives a clean error */
    mobilenetv2 m;
    char path[512];
    snprintf(path, sizeof path, "%s/junk.tflite", test_tmpdir());
    FILE *fp = fopen(path, "wb");
    fputs("\x10\0\0\0TFL3 this is not a model at all", fp);
    fclose(fp);
    CHECK(mobilenetv2_from_tflite(&m, path, 0) == AVEMO_EFORMAT && strstr(avemo_last_error(), "junk.tflite"),
          "junk accepted: %s", avemo_last_error());
}

int main(void) {
    RUN(test_import);
    RUN(test_not_mobilenet);
    return test_summary();
}
