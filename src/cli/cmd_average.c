/* avemo average: the uniform weight average of models of one recipe (model/model_average.h), for example the
 * FER2013 face models of several seeds fine-tuned from the same starting point. */
#include "cli/cli_args.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/err.h"
#include "model/model_average.h"
#include "model/model_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *out;
} average_args;

static const cli_option average_options[] = {
    {CLI_STRING(average_args, out, "--out", "AVERAGE.safetensors"), .required = 1,
     .help = "where to write the averaged model"},
    {0}};

static const cli_command average_command = {
    .name = "average",
    .inputs = "MODEL MODEL...",
    .min_inputs = 2,
    .about = "  Writes the uniform average of the MODELs' weights (a \"model soup\"): every parameter, BN statistic\n"
             "  and feature statistic, the fine-tuned backbone's too. The models must share config, classes, backbone\n"
             "  and prep settings, and be single models (not seed ensembles). It works for models trained from the\n"
             "  same starting point with different seeds (train --init-visual M --seed S); for models trained from\n"
             "  scratch it does not (their weights do not line up): evaluate the result before use. The average's\n"
             "  temperature is reset: refit it with avemo calibrate.\n",
    .groups = {{NULL, average_options, 0}},
};

/* "uniform weight average of N models (the first: ...)": no paths, so that the file's metadata does not name this
 * machine's folders (tools/model_recipe.py compares it across machines). */
static char *describe(int n_models, const char *first_selected) {
    size_t cap = 128 + (first_selected ? strlen(first_selected) : 0);
    char *s = malloc(cap);
    if (!s) return NULL;
    int n = snprintf(s, cap, "avemo average: uniform weight average of %d models", n_models);
    if (first_selected) snprintf(s + n, cap - n, " (the first: %s)", first_selected);
    return s;
}

int cmd_average(int argc, char **argv) {
    average_args a = {0};
    cli_inputs models;
    int status = cli_parse(&average_command, argc, argv, &a, &models);
    if (status != CLI_RUN) return status;
    model_file *mf = calloc((size_t)models.n, sizeof *mf);
    int rc = mf ? AVEMO_OK : avemo_error(AVEMO_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < models.n; i++) rc = model_file_load(models.items[i], &mf[i]);
    if (!rc) rc = model_average(mf, (const char *const *)models.items, models.n);
    if (!rc) {
        char *selected = describe(models.n, mf[0].selected);
        if (!selected) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        free(mf[0].selected);
        mf[0].selected = selected;
    }
    if (!rc) rc = model_file_save(a.out, &mf[0]);
    if (!rc) printf("%s: the average of %d models (temperature reset to 1: refit it with avemo calibrate)\n", a.out,
                    models.n);
    for (int i = 0; mf && i < models.n; i++) model_file_free(&mf[i]);
    free(mf);
    cli_inputs_free(&models);
    return rc ? cli_fail("average", rc) : 0;
}
