/* Tests for src/model/config.c: defaults of spec 4, JSON round trip, validation. */
#include "test.h"

#include "avemo.h"
#include "model/config.h"

#include <stdlib.h>
#include <string.h>

static void test_defaults(void) {
    model_config c;
    model_config_default(&c, 8);
    CHECK(c.modality == MODALITY_AV && c.fusion == FUSION_ATTENTION && c.audio_stream == AUDIO_STREAM_PAPER, "modes");
    CHECK(c.audio_frames == 156 && c.audio_channels == 10 && c.video_frames == 15 && c.video_dim == 1280, "inputs");
    CHECK(c.video_ch1 == 64 && c.video_ch2 == 128 && c.audio_ch == 64 && c.audio_blocks == 4, "Tables I, II");
    CHECK(c.fusion_ch == 128 && c.fusion_blocks == 4 && c.dropout == 0.5f && !c.modality_dropout, "fusion");
    CHECK(model_config_validate(&c) == 0, "defaults invalid: %s", avemo_last_error());
}

static void test_json_roundtrip(void) {
    model_config c, d;
    model_config_default(&c, 6);
    c.modality = MODALITY_AUDIO, c.fusion = FUSION_LT, c.audio_stream = AUDIO_STREAM_BASELINE;
    c.audio_channels = 30, c.dropout = 0.3f, c.label_smoothing = 0.1f, c.modality_dropout = 1, c.mlp_hidden = 77;
    char *s = model_config_to_json(&c);
    CHECK(s != NULL, "to_json");
    if (!s) return;
    CHECK(model_config_from_json(s, &d) == 0, "from_json: %s (%s)", avemo_last_error(), s);
    CHECK(!memcmp(&c, &d, sizeof c), "round trip differs: %s", s);
    free(s);
    /* missing keys keep their defaults; unknown keys are ignored */
    CHECK(model_config_from_json("{\"fusion\": \"ia\", \"future_key\": 1}", &d) == 0, "%s", avemo_last_error());
    CHECK(d.fusion == FUSION_IA && d.n_classes == 8 && d.video_ch2 == 128, "defaults not kept");
}

static void test_json_invalid(void) {
    model_config d;
    model_config_default(&d, 8);
    model_config keep = d;
    const char *bad[] = {"", "[]", "{", "{\"fusion\": \"fancy\"}", "{\"fusion\": 3}", "{\"n_classes\": 2.5}",
                         "{\"n_classes\": \"8\"}", "{\"n_classes\": 1}", "{\"dropout\": 1.0}", "{\"video_ch1\": 0}",
                         "{\"audio_frames\": 10}", "{\"audio_blocks\": 9}", "{\"fusion_blocks\": 9}",
                         "{\"label_smoothing\": -0.1}", "{\"n_classes\": 1e300}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(model_config_from_json(bad[i], &d) == AVEMO_EFORMAT, "accepted %s", bad[i]);
        CHECK(!memcmp(&d, &keep, sizeof d), "config changed by a failed parse of %s", bad[i]);
    }
    CHECK(model_config_from_json(NULL, &d) == AVEMO_EFORMAT, "NULL accepted");
    model_fusion f;
    CHECK(model_fusion_parse("late", &f) == 0 && f == FUSION_LATE, "parse late");
    CHECK(model_fusion_parse("Late", &f) == AVEMO_EINVAL && strstr(avemo_last_error(), "attention"), "message lists choices");
}

int main(void) {
    RUN(test_defaults);
    RUN(test_json_roundtrip);
    RUN(test_json_invalid);
    return test_summary();
}
