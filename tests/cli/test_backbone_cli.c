/* `avemo import`, `avemo embed`, `avemo classify-imagenet` (src/cli/cmd_{import,embed,classify_imagenet}.c):
 * the TFLite MobileNetV2 imports and names grace_hopper.bmp a military uniform; embed equals the library;
 * timm names import as torchvision's; bad input gives exit 2 and one line naming the file. */
#include "test.h"

#include "avemo.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "model/mobilenetv2.h"

#include <stdlib.h>
#include <string.h>

#define MNV2 "weights/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite"

static char backbone[512];
static char cmd[4096], log_[16384];

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static int imported(void) {
    const char *p = shared_path(MNV2);
    if (!p) return 0;
    if (backbone[0]) return 1;
    snprintf(backbone, sizeof backbone, "%s/backbone.safetensors", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s import --from tflite %s --out %s 2>&1", avemo_bin(), p, backbone);
    int rc = run_cmd(cmd, log_, sizeof log_);
    CHECK(rc == 0, "import exit %d: %s", rc, log_);
    if (rc) backbone[0] = 0;
    return rc == 0;
}

static void test_import_tflite(void) {
    if (!imported()) return;
    st_file f;
    CHECK(st_read(backbone, &f) == 0, "read: %s", avemo_last_error());
    if (test_failed_now) return;
    CHECK(st_find(&f, "features.0.0.weight") && st_find(&f, "features.17.conv.2.weight") &&
              st_find(&f, "features.18.1.running_var") && st_find(&f, "classifier.1.weight"), "torchvision names");
    const char *pad = st_meta(&f, "padding"), *norm = st_meta(&f, "input_norm"), *cn = st_meta(&f, "class_names");
    CHECK(pad && !strcmp(pad, "tf_same") && norm && !strcmp(norm, "minus1_1"), "conventions in metadata");
    CHECK(cn && !strncmp(cn, "background\n", 11) && count_lines(cn) == 1000, "1001 class names stored");
    st_free(&f);
}

static void test_classify(void) {
    if (!imported()) return;
    const char *img = shared_path("data/faces/photos/grace_hopper.bmp");
    if (!img) return;
    snprintf(cmd, sizeof cmd, "%s classify-imagenet --backbone %s %s 2>&1", avemo_bin(), backbone, img);
    int rc = run_cmd(cmd, log_, sizeof log_);
    CHECK(rc == 0, "exit %d: %s", rc, log_);
    /* the classic TF example: Grace Hopper in uniform; top-1 with the whole image resized (0.92 measured) */
    const char *first = strchr(log_, '\n');
    CHECK(first && strstr(first, "military uniform") && strstr(first, "military uniform") < strchr(first + 1, '\n'),
          "military uniform not top-1:\n%s", log_);
    CHECK(count_lines(log_) == 6, "image line + 5 labels:\n%s", log_);
    snprintf(cmd, sizeof cmd, "%s classify-imagenet --crop 0.875 --top 5 --backbone %s %s 2>&1", avemo_bin(), backbone, img);
    CHECK(run_cmd(cmd, log_, sizeof log_) == 0 && strstr(log_, "military uniform"), "cropped: not in top 5:\n%s", log_);
    snprintf(cmd, sizeof cmd, "%s classify-imagenet --backbone %s /nonexistent/x.png 2>&1", avemo_bin(), backbone);
    rc = run_cmd(cmd, log_, sizeof log_);
    CHECK(rc == 2 && strstr(log_, "/nonexistent/x.png") && count_lines(log_) == 1, "missing image: %d %s", rc, log_);
}

static void test_embed(void) {
    if (!imported()) return;
    const int n = 3, h = 64, w = 96;
    char in[512], out[512], gin[512];
    snprintf(in, sizeof in, "%s/imgs.npy", test_tmpdir());
    snprintf(gin, sizeof gin, "%s/gray.npy", test_tmpdir());
    snprintf(out, sizeof out, "%s/emb.npy", test_tmpdir());
    unsigned char *u8 = malloc((size_t)n * h * w * 3);
    for (long i = 0; i < (long)n * h * w * 3; i++) u8[i] = (unsigned char)((i * 7919) >> 3);
    int64_t shape[4] = {n, h, w, 3};
    CHECK(npy_write(in, NPY_U8, 4, shape, u8) == 0, "write");
    CHECK(npy_write(gin, NPY_U8, 3, shape, u8) == 0, "write gray");
    snprintf(cmd, sizeof cmd, "%s embed --backbone %s --images %s --out %s --batch 2 2>&1", avemo_bin(), backbone, in, out);
    int rc = run_cmd(cmd, log_, sizeof log_);
    CHECK(rc == 0, "embed exit %d: %s", rc, log_);
    npy_array e;
    CHECK(npy_read(out, &e) == 0, "read output: %s", avemo_last_error());
    if (test_failed_now) return;
    CHECK(e.dtype == NPY_F32 && e.ndim == 2 && e.shape[0] == n && e.shape[1] == MNV2_FEATURES, "output shape");
    /* the library on the same input: x / 127.5 - 1 (input_norm minus1_1) */
    mobilenetv2 m;
    CHECK(mobilenetv2_from_file(&m, backbone, 3) == 0, "load");
    float *x = malloc(sizeof(float) * n * h * w * 3), *ref = malloc(sizeof(float) * n * MNV2_FEATURES);
    for (long i = 0; i < (long)n * h * w * 3; i++) x[i] = u8[i] / 127.5f - 1.0f;
    CHECK(mobilenetv2_forward(&m, ref, x, n, h, w, 0) == 0, "forward");
    double err = rel_err_f(e.data, ref, (long)n * MNV2_FEATURES);
    CHECK(err < 1e-5, "embed vs library rel err %g", err);
    npy_free(&e);
    /* grayscale [N,H,W] with a 1-channel stem */
    snprintf(cmd, sizeof cmd, "%s embed --backbone %s --channels 1 --images %s --out %s 2>&1", avemo_bin(), backbone,
             gin, out);
    rc = run_cmd(cmd, log_, sizeof log_);
    CHECK(rc == 0, "gray embed exit %d: %s", rc, log_);
    CHECK(npy_read(out, &e) == 0 && e.shape[0] == n && e.shape[1] == MNV2_FEATURES, "gray output");
    npy_free(&e);
    /* bad input: wrong dtype / rank, missing file */
    int64_t s2[2] = {4, 4};
    CHECK(npy_write(gin, NPY_F64, 2, s2, x) == 0, "write f64");
    snprintf(cmd, sizeof cmd, "%s embed --backbone %s --images %s --out %s 2>&1", avemo_bin(), backbone, gin, out);
    rc = run_cmd(cmd, log_, sizeof log_);
    CHECK(rc == 2 && strstr(log_, gin) && count_lines(log_) == 1, "bad dtype: %d %s", rc, log_);
    snprintf(cmd, sizeof cmd, "%s embed --backbone /nonexistent.safetensors --images %s --out %s 2>&1", avemo_bin(),
             in, out);
    rc = run_cmd(cmd, log_, sizeof log_);
    CHECK(rc == 2 && strstr(log_, "/nonexistent.safetensors") && count_lines(log_) == 1, "missing: %d %s", rc, log_);
    free(x);
    free(ref);
    free(u8);
    mobilenetv2_free(&m);
}

static void test_import_safetensors(void) {
    if (!imported()) return;
    /* a timm-named copy imports under torchvision names, with the stem summed for --channels 1 */
    mobilenetv2 m, g;
    CHECK(mobilenetv2_from_file(&m, backbone, 0) == 0, "load");
    char timm[512], out[512];
    snprintf(timm, sizeof timm, "%s/timm.safetensors", test_tmpdir());
    snprintf(out, sizeof out, "%s/from_timm.safetensors", test_tmpdir());
    st_writer *w = st_writer_new();
    for (int j = 0; j < m.param_layout.n; j++)
        st_writer_add(w, m.param_layout.e[j].alias, ST_F32, m.param_layout.e[j].ndim, m.param_layout.e[j].shape,
                      (layout_has_grad(&m.param_layout.e[j]) ? m.params : m.buffers) + m.param_layout.e[j].offset);
    CHECK(st_writer_write(w, timm) == 0, "write timm");
    st_writer_free(w);
    snprintf(cmd, sizeof cmd, "%s import --from safetensors %s --out %s --channels 1 --padding tf_same "
             "--input-norm minus1_1 2>&1", avemo_bin(), timm, out);
    int rc = run_cmd(cmd, log_, sizeof log_);
    CHECK(rc == 0, "import exit %d: %s", rc, log_);
    CHECK(mobilenetv2_from_file(&g, out, 0) == 0, "load imported: %s", avemo_last_error());
    CHECK(g.in_channels == 1 && g.padding == MNV2_PAD_TF_SAME && g.norm == MNV2_NORM_MINUS1_1, "conventions");
    const float *s3 = m.p.units[0].w, *s1 = g.p.units[0].w;
    CHECK(s1[4] == s3[4] + s3[9 + 4] + s3[18 + 4], "stem filters summed");
    CHECK(!memcmp(g.p.units[30].w, m.p.units[30].w, sizeof(float) * 16), "other weights copied");
    mobilenetv2_free(&g);
    mobilenetv2_free(&m);
    /* bad inputs */
    snprintf(cmd, sizeof cmd, "%s import --from tflite /nonexistent.tflite --out %s 2>&1", avemo_bin(), out);
    rc = run_cmd(cmd, log_, sizeof log_);
    CHECK(rc == 2 && strstr(log_, "/nonexistent.tflite") && count_lines(log_) == 1, "missing: %d %s", rc, log_);
    snprintf(cmd, sizeof cmd, "%s import --from tflite %s --out %s 2>&1", avemo_bin(), timm, out);
    rc = run_cmd(cmd, log_, sizeof log_);
    CHECK(rc == 2 && strstr(log_, timm) && count_lines(log_) == 1, "safetensors as tflite: %d %s", rc, log_);
    snprintf(cmd, sizeof cmd, "%s import --from onnx %s --out %s 2>&1", avemo_bin(), timm, out);
    CHECK(run_cmd(cmd, log_, sizeof log_) == 2, "unknown format accepted");
}

int main(void) {
    RUN(test_import_tflite);
    RUN(test_classify);
    RUN(test_embed);
    RUN(test_import_safetensors);
    return test_summary();
}
