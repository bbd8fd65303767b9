/* Whole-file reads and crash-safe writes. */
#ifndef AVEMO_CORE_FILEIO_H
#define AVEMO_CORE_FILEIO_H
#include <stddef.h>
#include <stdio.h>

/* Read a whole file (at most max_bytes) into a malloc'd buffer, NUL-terminated for convenience. */
int file_read_all(const char *path, size_t max_bytes, unsigned char **data, size_t *size);

/* Atomic replace: open "<path>.tmp.<pid>", the caller writes, then atomic_commit() fsyncs, closes and
 * renames it over `path` (and fsyncs the directory); atomic_abort() removes the temp file. A crash at any
 * moment leaves either the old file or the new one, never a torn one. */
typedef struct { FILE *f; char tmp_path[4096]; char path[4096]; } atomic_file;
int atomic_open(atomic_file *af, const char *path);
int atomic_commit(atomic_file *af);
void atomic_abort(atomic_file *af);
/* Convenience: write one buffer atomically. */
int atomic_write(const char *path, const void *data, size_t size);

int make_dirs(const char *path); /* mkdir -p */

#endif
