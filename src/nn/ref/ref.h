/* The reference kernels in float (name_ref) and double (name_f64, tests only). See ref_decl.h. */
#ifndef AVEMO_NN_REF_H
#define AVEMO_NN_REF_H
#include "nn/shapes.h"

#define REAL float
#define REF(name) name##_ref
#include "nn/ref/ref_decl.h"
#undef REAL
#undef REF

#define REAL double
#define REF(name) name##_f64
#include "nn/ref/ref_decl.h"
#undef REAL
#undef REF

#endif
