/* Tests of core/bigmem.c: small and large buffers, their alignment, zeroing, and minor page faults of a 32 MiB
 * buffer written once (fewer than with ordinary pages where the kernel gives huge pages; printed, not required:
 * a kernel with transparent huge pages off gives ordinary ones). */
#include "test.h"

#include "core/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static long minor_faults(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static void test_sizes(void) {
    const size_t sizes[] = {0, 1, 100, BIGMEM_MIN_BYTES - 1, BIGMEM_MIN_BYTES, 3 * BIGMEM_MIN_BYTES + 5};
    for (int i = 0; i < 6; i++) {
        unsigned char *a = big_alloc(sizes[i]), *z = big_calloc(sizes[i]);
        CHECK(a && z, "size %zu: NULL", sizes[i]);
        if (!a || !z) return;
        size_t align = sizes[i] >= BIGMEM_MIN_BYTES ? (size_t)2 << 20 : 16;
        CHECK((uintptr_t)a % align == 0, "size %zu: big_alloc %p not aligned to %zu", sizes[i], (void *)a, align);
        size_t nonzero = 0;
        for (size_t k = 0; k < sizes[i]; k++) nonzero += z[k] != 0;
        CHECK(nonzero == 0, "size %zu: %zu bytes of big_calloc not zero", sizes[i], nonzero);
        if (sizes[i]) memset(a, 0xab, sizes[i]), a[sizes[i] - 1] = 1; /* every byte is writable (ASan checks) */
        free(a);
        free(z);
    }
    CHECK(big_alloc(SIZE_MAX) == NULL, "SIZE_MAX allocated");
}

static void test_faults(void) {
    size_t n = (size_t)32 << 20;
    long f0 = minor_faults();
    unsigned char *a = malloc(n);
    memset(a, 1, n);
    long f1 = minor_faults();
    unsigned char *b = big_alloc(n);
    memset(b, 1, n);
    long f2 = minor_faults();
    printf("  32 MiB written: %ld minor faults with malloc, %ld with big_alloc\n", f1 - f0, f2 - f1);
    CHECK(a && b && f2 - f1 <= f1 - f0 + 16, "big_alloc faults more than malloc: %ld > %ld", f2 - f1, f1 - f0);
    free(a);
    free(b);
}

int main(void) {
    RUN(test_sizes);
    RUN(test_faults);
    return test_summary();
}
