/* Driver for bench/resample_ab.sh: the clip path's two area resamples of a 1280 x 720 RGB frame, process CPU time
 * per call, best of 7 rounds: the follower's crop (654 px square -> 144, vision/faces.c search_around) and the full
 * search's frame (-> 640 x 360, detect_scaled). Built against one version of src/vision/imgops.c at a time. */
#include "vision/imgops.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    const int h = 720, w = 1280;
    uint8_t *img = malloc((size_t)h * w * 3);
    float *crop = malloc(sizeof(float) * 144 * 144 * 3), *frame = malloc(sizeof(float) * 640 * 360 * 3);
    if (!img || !crop || !frame) return 1;
    for (long i = 0; i < (long)h * w * 3; i++) img[i] = (uint8_t)((i * 2654435761u) >> 24);
    double best_crop = 1e9, best_frame = 1e9;
    for (int r = 0; r < 7; r++) {
        double t0 = cpu_s();
        for (int i = 0; i < 30; i++) crop_resize_f32(crop, 144, 144, img, h, w, 3, 412, 118, 654, 654);
        double t = (cpu_s() - t0) / 30;
        if (t < best_crop) best_crop = t;
        t0 = cpu_s();
        for (int i = 0; i < 10; i++) crop_resize_f32(frame, 360, 640, img, h, w, 3, 0, 0, 1280, 720);
        t = (cpu_s() - t0) / 10;
        if (t < best_frame) best_frame = t;
    }
    printf("crop 654 -> 144: %.3f ms, frame 1280x720 -> 640x360: %.3f ms\n", best_crop * 1e3, best_frame * 1e3);
    free(img);
    free(crop);
    free(frame);
    return 0;
}
