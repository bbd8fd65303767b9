#include "train/recipe.h"

#include "core/err.h"

#include <string.h>

const char *train_recipe_default(model_modality modality) { return modality == MODALITY_AUDIO ? "voice" : "paper"; }

/* The voice recipe (bench/RESULTS.md, "The voice stream", measured on the 12 shared RAVDESS actors): the
 * baseline's audio stream with stride-2 pooling (a quarter of the work), AdamW with the one-cycle schedule, and a
 * 3-seed ensemble (softmax averaged; the row that beat one model on the validation actors). */
static void voice_recipe(train_options *o) {
    o->model.audio_stream = AUDIO_STREAM_BASELINE;
    o->model.baseline_pool_stride = 2;
    o->optimizer = OPT_ADAMW;
    o->lr = 3e-3f;
    o->weight_decay = 1e-2f;
    o->schedule = SCHED_ONECYCLE;
    o->epochs = 60;
    o->batch = 32;
    o->ensemble = 3;
}

int train_recipe_apply(train_options *o, const char *name) {
    train_options base;
    train_options_default(&base);
    base.cache_dir = o->cache_dir, base.run_dir = o->run_dir, base.protocol = o->protocol;
    base.log = o->log, base.log_ctx = o->log_ctx, base.quiet = o->quiet;
    base.model.modality = o->model.modality, base.model.fusion = o->model.fusion;
    if (!strcmp(name, "voice")) voice_recipe(&base);
    else if (strcmp(name, "paper"))
        return avemo_error(AVEMO_EINVAL, "unknown recipe '%s' (expected one of: paper, voice)", name);
    base.recipe = !strcmp(name, "voice") ? "voice" : "paper";
    *o = base;
    return AVEMO_OK;
}
