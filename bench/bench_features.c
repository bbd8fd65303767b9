/* Audio feature throughput (spec 3.3, 3.5): MFCC and FRFT-MFCC (a = 0.95) clips per second for 3.6 s clips
 * (79,380 samples at 22,050 Hz), OpenMP over clips as `avemo features` does, against the numpy/scipy
 * MFCC of tools/mfcc_reference.py (bench/numpy_mfcc.py) on the same samples in the same run.
 *
 * Decoding and resampling are done once, outside the timing: CLIPS files from ravdess-speech under
 * ../shared/data (or $AVEMO_SHARED/data), evenly spread over the sorted file list, fixed to 79,380 samples.
 * Then each feature is computed over all clips REPS times and the best pass is kept.
 *
 *   build/bench/bench_features [--threads N (2)] [--clips N (64)] [--reps N (3)] [--no-numpy]
 *
 * Environment: AVEMO_SHARED (default ../shared), PYTHON (default /usr/bin/python3).
 * Exit status: 0 ok (also when python/numpy is missing: the ratio is skipped); 1 shared data missing or a
 * feature failed. */
#include "core/err.h"
#include "dsp/frft_mfcc.h"
#include "dsp/mfcc.h"
#include "io/audio.h"
#include "io/npy.h"

#include <glob.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void print_load(const char *when) {
    FILE *f = fopen("/proc/loadavg", "r");
    double l1 = -1, l5 = -1, l15 = -1;
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) != 3) l1 = -1;
        fclose(f);
    }
    if (l1 >= 0) printf("load %s: %.2f %.2f %.2f (1/5/15 min; %ld cores)\n", when, l1, l5, l15, sysconf(_SC_NPROCESSORS_ONLN));
}

/* Best of reps passes over all clips, in clips/s; kind 0 = MFCC, 1 = FRFT-MFCC. Returns -1 on failure. */
static double time_features(int kind, const mfcc_config *cfg, const frft_mfcc *fm, const float *wave, long n_clips,
                            long n_samples, float *out, long row_len, int reps) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        int failed = 0;
        double t0 = now_s();
#pragma omp parallel for schedule(dynamic, 1) reduction(| : failed)
        for (long i = 0; i < n_clips; i++) {
            const float *x = wave + (size_t)i * n_samples;
            float *y = out + (size_t)i * row_len;
            failed |= (kind == 0 ? mfcc_forward(cfg, x, n_samples, y) : frft_mfcc_forward(fm, x, n_samples, y)) != 0;
        }
        double t = now_s() - t0;
        if (failed) return -1;
        if (t < best) best = t;
    }
    return n_clips / best;
}

int main(int argc, char **argv) {
    int threads = 2, reps = 3, use_numpy = 1;
    long want = 64;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--clips") && i + 1 < argc) want = atol(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-numpy")) use_numpy = 0;
        else {
            fprintf(stderr, "usage: bench_features [--threads N] [--clips N] [--reps N] [--no-numpy]\n");
            return 2;
        }
    }
    if (threads < 1 || reps < 1 || want < 1) {
        fprintf(stderr, "bench_features: --threads, --clips and --reps must be >= 1\n");
        return 2;
    }

    const char *shared = getenv("AVEMO_SHARED");
    if (!shared || !*shared) shared = "../shared";
    char pattern[4096];
    snprintf(pattern, sizeof pattern, "%s/data/ravdess-speech/Actor_*/*.flac", shared);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
        fprintf(stderr, "bench_features: no clips match %s: the shared data is missing (run from the repo root, "
                        "or set AVEMO_SHARED)\n", pattern);
        return 1;
    }
    long n_files = (long)g.gl_pathc, n_clips = want < n_files ? want : n_files;

    mfcc_config cfg;
    mfcc_config_default(&cfg);
    long n_samples = audio_clip_samples(AVEMO_AUDIO_CLIP_SECONDS, cfg.sample_rate_hz);
    long frames = mfcc_frames(&cfg, n_samples);
    const double order = 0.95;
    frft_mfcc *fm = NULL;
    if (frft_mfcc_create(&fm, &cfg, &order, 1)) {
        fprintf(stderr, "bench_features: %s\n", avemo_last_error());
        return 1;
    }
    long row_len = (long)cfg.n_mfcc * frames;
    float *wave = malloc((size_t)n_clips * n_samples * sizeof *wave);
    float *out = malloc((size_t)n_clips * row_len * sizeof *out);
    if (!wave || !out) {
        fprintf(stderr, "bench_features: out of memory\n");
        return 1;
    }

    omp_set_num_threads(threads);
    /* decode + resample once (not timed) */
    double td = now_s();
    int bad = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : bad)
    for (long i = 0; i < n_clips; i++) {
        const char *path = g.gl_pathv[i * n_files / n_clips];
        audio_clip c;
        if (audio_load(path, cfg.sample_rate_hz, &c)) {
#pragma omp critical(bench_err)
            fprintf(stderr, "bench_features: %s\n", avemo_last_error());
            bad = 1;
            continue;
        }
        audio_fix_length(c.samples, c.n, wave + (size_t)i * n_samples, n_samples);
        audio_clip_free(&c);
    }
    td = now_s() - td;
    if (bad) return 1;
    printf("bench_features: %ld clips of %ld samples (%.1f s at %d Hz) from %s (%ld files), threads %d, best of %d; "
           "decode+resample %.2f s (not in the timings)\n",
           n_clips, n_samples, AVEMO_AUDIO_CLIP_SECONDS, cfg.sample_rate_hz, pattern, n_files, threads, reps, td);
    print_load("before");

    double mfcc_cps = time_features(0, &cfg, fm, wave, n_clips, n_samples, out, row_len, reps);
    double frft_cps = time_features(1, &cfg, fm, wave, n_clips, n_samples, out, row_len, reps);
    if (mfcc_cps < 0 || frft_cps < 0) {
        fprintf(stderr, "bench_features: %s\n", avemo_last_error());
        return 1;
    }
    printf("ours  mfcc           %8.1f clips/s  (%.2f ms/clip per thread)\n", mfcc_cps, 1e3 * threads / mfcc_cps);
    printf("ours  frft-mfcc a=%.2f %8.1f clips/s  (%.2f ms/clip per thread)\n", order, frft_cps,
           1e3 * threads / frft_cps);

    if (use_numpy) {
        const char *py = getenv("PYTHON");
        if (!py || !*py) py = "/usr/bin/python3";
        char tmpdir[] = "/tmp/bench_features.XXXXXX", npy[4200], cmd[9000];
        double np_cps = -1;
        if (access(py, X_OK) != 0) {
            printf("numpy mfcc: %s not found: no numpy comparison\n", py);
        } else if (!mkdtemp(tmpdir)) {
            printf("numpy mfcc: cannot make a temporary directory: no numpy comparison\n");
        } else {
            snprintf(npy, sizeof npy, "%s/clips.npy", tmpdir);
            int64_t shape[2] = {n_clips, n_samples};
            if (npy_write(npy, NPY_F32, 2, shape, wave)) {
                printf("numpy mfcc: %s: no numpy comparison\n", avemo_last_error());
            } else {
                /* single-threaded numpy: OMP/OPENBLAS threads pinned to 1 (the mel matmul is the only BLAS call) */
                snprintf(cmd, sizeof cmd,
                         "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 '%s' bench/numpy_mfcc.py '%s' "
                         "--reps %d 2>&1",
                         py, npy, reps);
                FILE *p = popen(cmd, "r");
                char line[1024];
                while (p && fgets(line, sizeof line, p)) {
                    if (sscanf(line, "numpy_mfcc_clips_per_s %lf", &np_cps) != 1) fputs(line, stdout);
                }
                int st = p ? pclose(p) : -1;
                if (st != 0 || np_cps <= 0) {
                    printf("numpy mfcc: %s bench/numpy_mfcc.py failed (no numpy/scipy?): no ratio\n", py);
                    np_cps = -1;
                }
            }
            unlink(npy);
            rmdir(tmpdir);
        }
        if (np_cps > 0) {
            printf("numpy mfcc (tools/mfcc_reference.py, 1 thread) %8.1f clips/s\n", np_cps);
            printf("ours/numpy mfcc: %.1fx (ours on %d threads; numpy single-threaded: %.1fx per thread)\n",
                   mfcc_cps / np_cps, threads, mfcc_cps / np_cps / threads);
        }
    }
    print_load("after");
    frft_mfcc_destroy(fm);
    free(wave);
    free(out);
    globfree(&g);
    return 0;
}
