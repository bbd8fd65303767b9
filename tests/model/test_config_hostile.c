/* model_config JSON round trip and hostile input (checkpoint metadata is read from files we did not write). */
#include "test.h"

#include "avemo.h"
#include "model/config.h"

#include <stdlib.h>
#include <string.h>

static void test_roundtrip(void) {
    model_config c, d;
    model_config_default(&c, 6);
    c.modality = MODALITY_AUDIO;
    c.fusion = FUSION_LATE;
    c.dropout = 0.1f;
    char *j = model_config_to_json(&c);
    CHECK(j && model_config_from_json(j, &d) == 0, "round trip: %s", avemo_last_error());
    CHECK(memcmp(&c, &d, sizeof c) == 0, "config changed in the round trip: %s", j);
    free(j);
}

/* Integers out of int range: (int)1e300 is undefined behaviour (UBSan: "1e+300 is outside the range of
 * representable values of type 'int'"), so the range is checked before the conversion. */
static void test_hostile(void) {
    const char *bad[] = {
        "{\"n_classes\": 1e300}", "{\"n_classes\": -1e300}", "{\"video_dim\": 2147483648}",
        "{\"audio_ch\": 1e19}", "{\"n_classes\": 2.5}", "{\"n_classes\": \"8\"}", "{\"n_classes\": 1}",
        "{\"dropout\": 1e300}", "{\"modality\": 3}", "{\"fusion\": \"nope\"}", "[1, 2]", "{\"n_classes\": 8",
        "", "{\"audio_frames\": 3}", "{\"fusion_ch\": 2097152}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        model_config c;
        int rc = model_config_from_json(bad[i], &c);
        CHECK(rc == AVEMO_EFORMAT && strstr(avemo_last_error(), "model config"), "'%s' -> %d (%s)", bad[i], rc,
              avemo_last_error());
    }
    model_config c;
    CHECK(model_config_from_json(NULL, &c) == AVEMO_EFORMAT, "NULL accepted");
    CHECK(model_config_from_json("{\"n_classes\": 7, \"unknown\": [1e999]}", &c) == 0 && c.n_classes == 7,
          "unknown keys are ignored: %s", avemo_last_error());
}

int main(void) {
    RUN(test_roundtrip);
    RUN(test_hostile);
    return test_summary();
}
