#include "core/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *big_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes < BIGMEM_MIN_BYTES) return posix_memalign(&p, 64, bytes ? bytes : 1) ? NULL : p;
    if (bytes > SIZE_MAX - HUGE_PAGE) return NULL;
    size_t whole = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1); /* the last huge page too */
    if (posix_memalign(&p, HUGE_PAGE, whole)) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, whole, MADV_HUGEPAGE); /* advice only: where it is refused, ordinary pages */
#endif
    return p;
}

void *big_calloc(size_t bytes) {
    if (bytes < BIGMEM_MIN_BYTES) return calloc(bytes ? bytes : 1, 1);
    void *p = big_alloc(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}
