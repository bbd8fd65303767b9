/* The smallest program using avemo's public API: predict the emotion of each file given.
 *
 *   cc predict_example.c $(pkg-config --cflags --libs avemo) -o predict_example
 *   ./predict_example model.safetensors clip.mp4 [more files]
 *
 * Uses only <avemo.h>. Exit status 0 when every file was predicted, 2 otherwise. */
#include <avemo.h>

#include <stdio.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.safetensors FILE...\n", argv[0]);
        return 2;
    }
    avemo_model *m;
    if (avemo_model_open(argv[1], &m) != AVEMO_OK) {
        fprintf(stderr, "%s\n", avemo_last_error());
        return 2;
    }
    int status = 0;
    for (int i = 2; i < argc; i++) {
        avemo_result r;
        int rc = avemo_predict_file(m, argv[i], &r);
        if (rc != AVEMO_OK) {
            fprintf(stderr, "%s (%s)\n", avemo_last_error(), avemo_status_name(rc));
            status = 2;
            continue;
        }
        printf("%s\t%s\t%.9g\t%.1f ms\n", argv[i], avemo_class_name(m, r.top_class), r.probs[r.top_class], r.total_ms);
    }
    avemo_model_close(m);
    return status;
}
