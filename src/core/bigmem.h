/* Large buffers on transparent huge pages (issue 15): a fresh 4 KiB page costs a page fault (on this virtual
 * machine, a slow one: 24 % of `avemo predict`'s CPU on a 720p clip went to the kernel's faults, most of them
 * writing the decoded frames and the model files' copies); a buffer aligned to 2 MiB and marked MADV_HUGEPAGE
 * takes one fault per 2 MiB where the kernel offers huge pages (`madvise` mode, Debian's default), and is an
 * ordinary buffer where it does not. Both are freed with free(). */
#ifndef AVEMO_CORE_BIGMEM_H
#define AVEMO_CORE_BIGMEM_H
#include <stddef.h>

/* below this many bytes: plain malloc / calloc */
#define BIGMEM_MIN_BYTES ((size_t)2 << 20)

void *big_alloc(size_t bytes);  /* uninitialised; aligned to 64 bytes (2 MiB from BIGMEM_MIN_BYTES on) */
void *big_calloc(size_t bytes); /* zeroed */

#endif
