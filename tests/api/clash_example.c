/* A program that embeds avemo and has functions of its own named like avemo's internal ones (model_create in
 * src/model/, rng_seed in src/core/). tests/api/test_install.c links it against the installed libavemo.a and
 * libavemo.so: the link must not clash, and the library must keep calling its own functions, not these.
 *
 *   ./clash_example MODEL.safetensors FILE  ->  "FILE<TAB>class<TAB>p<TAB>own calls 0", exit 0 */
#include <avemo.h>

#include <stdio.h>

static int own_calls; /* calls of the two functions below */

int model_create(const char *name) {
    own_calls++;
    return name != NULL;
}

void rng_seed(unsigned seed) {
    own_calls += seed == 0xdead;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.safetensors FILE\n", argv[0]);
        return 2;
    }
    avemo_model *m;
    avemo_result r;
    if (avemo_model_open(argv[1], &m) != AVEMO_OK) {
        fprintf(stderr, "%s\n", avemo_last_error());
        return 2;
    }
    if (avemo_predict_file(m, argv[2], &r) != AVEMO_OK) {
        fprintf(stderr, "%s\n", avemo_last_error());
        avemo_model_close(m);
        return 2;
    }
    printf("%s\t%s\t%.9g\town calls %d\n", argv[2], avemo_class_name(m, r.top_class), r.probs[r.top_class],
           own_calls);
    avemo_model_close(m);
    rng_seed(1); /* used, so that the linker keeps both definitions */
    return model_create(NULL);
}
