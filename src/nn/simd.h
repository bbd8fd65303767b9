/* Portable SIMD for the hand-written layer kernels (internal to src/nn): GCC/clang vector extensions.
 * VL floats per vector: one AVX-512 (16), AVX (8) or SSE/NEON (4) register, chosen by the build's -march.
 * vf is declared with aligned(4), so V(p) / VS(p) load and store at any float address. */
#ifndef AVEMO_NN_SIMD_H
#define AVEMO_NN_SIMD_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__AVX512F__)
#define VL 16
#elif defined(__AVX__)
#define VL 8
#else
#define VL 4 /* SSE / NEON */
#endif
typedef float vf __attribute__((vector_size(VL * sizeof(float)), aligned(4)));
#define V(p) (*(const vf *)(p))
#define VS(p) (*(vf *)(p))

static inline vf vbcast(float x) {
#if defined(__AVX512F__)
    return (vf)_mm512_set1_ps(x);
#else
    return (vf){0} + x;
#endif
}

/* a * b + c as one fused multiply-add: -std=c11 turns off the compiler's contraction of a * b + c */
static inline vf vfma(vf a, vf b, vf c) {
#if defined(__AVX512F__)
    return (vf)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(__FMA__) && VL == 8
    return (vf)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
    return a * b + c;
#endif
}

/* elementwise max / min (x86: one instruction each; elsewhere through the comparison masks) */
static inline vf vmax(vf a, vf b) {
#if defined(__AVX512F__)
    return (vf)_mm512_max_ps((__m512)a, (__m512)b);
#elif defined(__AVX__) && VL == 8
    return (vf)_mm256_max_ps((__m256)a, (__m256)b);
#elif defined(__SSE__) && VL == 4
    return (vf)_mm_max_ps((__m128)a, (__m128)b);
#else
    typedef int vi __attribute__((vector_size(VL * sizeof(int))));
    vi gt = a > b;
    return (vf)(((vi)a & gt) | ((vi)b & ~gt));
#endif
}

static inline vf vmin(vf a, vf b) {
#if defined(__AVX512F__)
    return (vf)_mm512_min_ps((__m512)a, (__m512)b);
#elif defined(__AVX__) && VL == 8
    return (vf)_mm256_min_ps((__m256)a, (__m256)b);
#elif defined(__SSE__) && VL == 4
    return (vf)_mm_min_ps((__m128)a, (__m128)b);
#else
    typedef int vi __attribute__((vector_size(VL * sizeof(int))));
    vi lt = a < b;
    return (vf)(((vi)a & lt) | ((vi)b & ~lt));
#endif
}

#endif
