/* Included first by every src/nn/ref/<layer>_ref.c: picks the precision this compilation builds.
 * The Makefile compiles each reference file twice: plain (float, *_ref) and -DAVEMO_REAL_F64 (double, *_f64). */
#ifndef AVEMO_NN_REF_REAL_H
#define AVEMO_NN_REF_REAL_H
#include "nn/ref/ref.h"
#include <math.h>
#ifdef AVEMO_REAL_F64
typedef double real;
#define REF(name) name##_f64
#define R_SQRT sqrt
#define R_EXP exp
#define R_LOG log
#define R_ERF erf
#define R_TANH tanh
#define R_MAX_NEG (-1e300)
#else
typedef float real;
#define REF(name) name##_ref
#define R_SQRT sqrtf
#define R_EXP expf
#define R_LOG logf
#define R_ERF erff
#define R_TANH tanhf
#define R_MAX_NEG (-3.0e38f)
#endif
#endif
