/* Tests of model/mobilenetv2_import.c on a small saved model: conventions overridden or kept, labels joined
 * into the metadata (trailing empty lines ignored), a wrong label count or an unreadable source refused with
 * the file named. The TFLite path and the real weights are tested through the CLI (tests/cli/test_backbone_cli.c). */
#include "test.h"

#include "avemo.h"
#include "io/safetensors.h"
#include "model/mobilenetv2_import.h"

#include <string.h>

static char src[600], labels[600], out[600];

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

static void test_safetensors(void) {
    mobilenetv2 m;
    CHECK(mobilenetv2_init(&m, 3, 2) == AVEMO_OK, "init");
    m.params[0] = 0.25f;
    CHECK(mobilenetv2_save(&m, src, NULL, 0) == AVEMO_OK, "save: %s", avemo_last_error());
    write_text(labels, "cat\ndog\n\n");
    mnv2_import_options o = {.from = MNV2_SOURCE_SAFETENSORS, .src = src, .channels = 1, .labels = labels,
                             .padding = MNV2_PAD_TF_SAME, .norm = -1};
    mnv2_imported imp;
    CHECK(mobilenetv2_import(&o, &imp) == AVEMO_OK, "import: %s", avemo_last_error());
    CHECK(imp.net.in_channels == 1 && imp.net.padding == MNV2_PAD_TF_SAME && imp.net.norm == MNV2_NORM_IMAGENET,
          "channels, padding overridden, norm kept");
    CHECK(imp.class_names && !strcmp(imp.class_names, "cat\ndog"), "class names '%s'", imp.class_names);
    CHECK(mnv2_imported_save(&imp, out) == AVEMO_OK, "save: %s", avemo_last_error());
    mnv2_imported_free(&imp);
    st_file f;
    CHECK(st_read(out, &f) == AVEMO_OK, "read back: %s", avemo_last_error());
    const char *names = st_meta(&f, "class_names"), *source = st_meta(&f, "source");
    CHECK(names && !strcmp(names, "cat\ndog") && source && !strcmp(source, src) && !st_meta(&f, "bn"), "metadata");
    st_free(&f);

    write_text(labels, "cat\ndog\nbird\n");
    CHECK(mobilenetv2_import(&o, &imp) == AVEMO_EFORMAT && strstr(avemo_last_error(), labels) &&
              strstr(avemo_last_error(), "3 labels but the classifier has 2 classes"),
          "label count: %s", avemo_last_error());
    mnv2_imported_free(&imp);
    o.from = MNV2_SOURCE_TFLITE;
    o.labels = NULL;
    CHECK(mobilenetv2_import(&o, &imp) != AVEMO_OK && strstr(avemo_last_error(), src), "safetensors as tflite: %s",
          avemo_last_error());
    mnv2_imported_free(&imp);
    mobilenetv2_free(&m);
}

int main(void) {
    snprintf(src, sizeof src, "%s/src.safetensors", test_tmpdir());
    snprintf(labels, sizeof labels, "%s/labels.txt", test_tmpdir());
    snprintf(out, sizeof out, "%s/out.safetensors", test_tmpdir());
    RUN(test_safetensors);
    return test_summary();
}
