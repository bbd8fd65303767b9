/* The core's arithmetic ceiling, for reading MobileNetV2's per-core ratio against ONNX Runtime (issue 15): 512-bit
 * fp32 FMAs per second (16 multiply-adds each) and, where the CPU has AVX512_BF16, 512-bit bf16 dot products per
 * second (VDPBF16PS: 32 multiply-adds each), 12 independent accumulators on one thread (enough to hide the latency).
 *   usage: bench/peak_fma.sh   (builds build/peak_fma with -O2 -march=native and runs it) */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define CHAINS 12

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
#ifdef __AVX512F__
    __m512 acc[CHAINS], x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    long n = 200000000;
    double t0 = now_s();
    for (long k = 0; k < n; k++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    double t = now_s() - t0;
    float sink = 0;
    for (int i = 0; i < CHAINS; i++) sink += _mm512_reduce_add_ps(acc[i]);
    printf("fp32 zmm FMA: %.2f G instructions/s = %.1f G multiply-adds/s (sink %g)\n", n * CHAINS / t / 1e9,
           n * CHAINS * 16.0 / t / 1e9, sink);
#ifdef __AVX512BF16__
    __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3f80); /* bf16 1.0 */
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_setzero_ps();
    n = 100000000;
    t0 = now_s();
    for (long k = 0; k < n; k++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    t = now_s() - t0;
    sink = 0;
    for (int i = 0; i < CHAINS; i++) sink += _mm512_reduce_add_ps(acc[i]);
    printf("bf16 zmm VDPBF16PS: %.2f G instructions/s = %.1f G multiply-adds/s (sink %g)\n", n * CHAINS / t / 1e9,
           n * CHAINS * 32.0 / t / 1e9, sink);
#else
    printf("bf16: this CPU (or -march) has no AVX512_BF16\n");
#endif
#else
    printf("no AVX-512 on this CPU (or -march)\n");
#endif
    return 0;
}
