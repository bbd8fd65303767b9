/* The command line every benchmark with a PyTorch twin (bench/torch_<name>.py) shares with bench/run.sh:
 *   --specs       print the cases ("spec ..." lines, read by the twin) and exit
 *   --threads N   --reps R   --only NAME   --cpu-time (time with the process CPU clock: CPU_TIME=1 in run.sh)
 * Header-only: each bench binary is one translation unit. */
#ifndef AVEMO_BENCH_TWIN_H
#define AVEMO_BENCH_TWIN_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    int threads, reps, specs;
    const char *only;
} twin_args;

static clockid_t twin_clock = CLOCK_MONOTONIC;

static double twin_now_s(void) {
    struct timespec t;
    clock_gettime(twin_clock, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Parse into *a (whose fields hold the defaults). Prints `usage` and returns 2 on an unknown argument. */
static int twin_parse(int argc, char **argv, twin_args *a, const char *usage) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--specs")) a->specs = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) a->threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) a->reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) a->only = argv[++i];
        else if (!strcmp(argv[i], "--cpu-time")) twin_clock = CLOCK_PROCESS_CPUTIME_ID;
        else {
            fprintf(stderr, "%s\n", usage);
            return 2;
        }
    }
    return 0;
}

#endif
