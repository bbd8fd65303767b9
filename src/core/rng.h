/* Seeded, reproducible random numbers (xoshiro256** seeded by splitmix64). One state per stream:
 * never shared between threads. */
#ifndef AVEMO_CORE_RNG_H
#define AVEMO_CORE_RNG_H
#include <stdint.h>

typedef struct { uint64_t s[4]; } rng_t;

void rng_seed(rng_t *r, uint64_t seed);
uint64_t rng_u64(rng_t *r);
double rng_uniform(rng_t *r);               /* [0, 1) */
double rng_normal(rng_t *r);                /* N(0, 1), Box-Muller */
uint64_t rng_below(rng_t *r, uint64_t n);   /* uniform integer in [0, n), n > 0 */
void rng_shuffle_int(rng_t *r, int *a, int n);

#endif
