/* FRFT timing for one clip's FRFT-MFCC (spec 3.5): 156 frames of N = 2048, fast (Ozaktas et al., one plan,
 * FFTW) against the direct O(N^2) kernel and the Candan eigenvector DFRFT, same input, same run. The direct time is measured on a few
 * frames and scaled to 156 (it is exactly linear in frames). Single thread.
 * Then the fast algorithm's scaling: time per transform for N = 256 .. 65536 (one plan per N, a = 0.95, enough
 * repeats per batch for ~0.1 s, best of 3 batches) with time / (N log2 N), which stays flat for O(N log N). */
#include "dsp/frft.h"

#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N_FFT 2048
#define FRAMES 156
#define DIRECT_FRAMES 3

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int frft_scaling(void) {
    enum { N_MAX = 65536, BATCHES = 3 };
    const double a = 0.95;
    double complex *x = malloc(sizeof(double complex) * N_MAX);
    double complex *y = malloc(sizeof(double complex) * N_MAX);
    if (!x || !y) return 1;
    double l1 = -1;
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf", &l1) != 1) l1 = -1;
        fclose(lf);
    }
    printf("fast frft scaling, a=%g, single thread, best of %d batches (1-min load %.2f, shared machine):\n", a,
           BATCHES, l1);
    printf("%8s %8s %12s %16s %10s\n", "N", "repeats", "us/transform", "ns/(N log2 N)", "plan ms");
    for (int n = 256; n <= N_MAX; n *= 2) {
        unsigned long long s = 777;
        for (int i = 0; i < n; i++) { /* Hann-windowed noise, as above */
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x[i] = (0.5 - 0.5 * cos(2 * M_PI * i / n)) * ((double)(s >> 11) / 9007199254740992.0 - 0.5);
        }
        double nlogn = n * log2((double)n);
        long reps = (long)(8e6 / nlogn) + 1;
        double tp0 = now_s();
        frft_plan *p;
        if (frft_plan_create(&p, n, a)) return 1;
        double plan = now_s() - tp0, best = 1e30;
        frft_execute(p, y, x); /* warm-up */
        for (int b = 0; b < BATCHES; b++) {
            double t0 = now_s();
            for (long r = 0; r < reps; r++) frft_execute(p, y, x);
            double t = (now_s() - t0) / reps;
            if (t < best) best = t;
        }
        frft_plan_destroy(p);
        printf("%8d %8ld %12.2f %16.3f %10.2f\n", n, reps, best * 1e6, best * 1e9 / nlogn, plan * 1e3);
    }
    free(x);
    free(y);
    return 0;
}

int main(void) {
    double complex *x = malloc(sizeof(double complex) * N_FFT * FRAMES);
    double complex *y = malloc(sizeof(double complex) * N_FFT * FRAMES);
    if (!x || !y) return 1;
    unsigned long long s = 12345;
    for (long i = 0; i < (long)N_FFT * FRAMES; i++) { /* Hann-windowed noise frames, like windowed audio */
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double hann = 0.5 - 0.5 * cos(2 * M_PI * (i % N_FFT) / N_FFT);
        x[i] = hann * ((double)(s >> 11) / 9007199254740992.0 - 0.5);
    }
    const double orders[3] = {0.95, 0.3, 1.0};
    for (int k = 0; k < 3; k++) {
        double a = orders[k];
        double t0 = now_s();
        frft_plan *p;
        if (frft_plan_create(&p, N_FFT, a)) return 1;
        double t1 = now_s();
        for (int f = 0; f < FRAMES; f++) frft_execute(p, y + (long)f * N_FFT, x + (long)f * N_FFT);
        double t2 = now_s();
        frft_plan_destroy(p);
        double tc0 = now_s();
        if (frft_candan_plan_create(&p, N_FFT, a)) return 1;
        double tc1 = now_s();
        for (int f = 0; f < FRAMES; f++) frft_execute(p, y + (long)f * N_FFT, x + (long)f * N_FFT);
        double tc2 = now_s();
        frft_plan_destroy(p);
        double td0 = now_s();
        for (int f = 0; f < DIRECT_FRAMES; f++) frft_direct(y + (long)f * N_FFT, x + (long)f * N_FFT, N_FFT, a);
        double t3 = now_s();
        double fast = t2 - t1, direct = (t3 - td0) * FRAMES / DIRECT_FRAMES;
        printf("frft a=%-4g N=%d x %d frames: fast %.1f ms (plan %.1f ms), direct %.0f ms (from %d frames), "
               "direct/fast = %.0fx; candan %.1f ms (plan %.1f ms), candan/fast = %.1fx\n",
               a, N_FFT, FRAMES, fast * 1e3, (t1 - t0) * 1e3, direct * 1e3, DIRECT_FRAMES, direct / fast,
               (tc2 - tc1) * 1e3, (tc1 - tc0) * 1e3, (tc2 - tc1) / fast);
    }
    free(x);
    free(y);
    return frft_scaling() ? 1 : 0;
}
