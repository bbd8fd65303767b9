/* Whole-file reads and crash-safe writes. */
#ifndef AVEMO_CORE_FILEIO_H
#define AVEMO_CORE_FILEIO_H
#include <stddef.h>
#include <stdio.h>

/* Read a whole file (at most max_bytes) into a malloc'd buffer, NUL-terminated for convenience. */
int file_read_all(const char *path, size_t max_bytes, unsigned char **data, size_t *size);

/* A new temp file beside `path`: "<path>.tmp.<16 random hex digits>", created with O_CREAT | O_EXCL | O_NOFOLLOW
 * (mode 0666 less the umask), so that nothing planted in the folder (a symlink, a file) can redirect the write:
 * a name that exists is never opened, another is drawn. tmp [cap] receives the name; *f the stream ("wb").
 * Errors: AVEMO_EWRITE naming `path` and the reason. */
int temp_create(const char *path, char *tmp, size_t cap, FILE **f);
/* 1 when `name` (a file name, no folder) is such a temp file: ".tmp." followed by 1..20 hex digits (the older
 * "<name>.tmp.<pid>" included). */
int temp_name_is_temp(const char *name);

/* Atomic replace: a temp file beside `path` (temp_create), the caller writes, then atomic_commit() fsyncs the file,
 * closes it, renames it over `path` and fsyncs the folder; atomic_abort() removes the temp file. A crash at any
 * moment leaves either the old file or the new one, never a torn one. Errors are AVEMO_EWRITE (a runtime
 * failure: disk full, read-only or missing folder) with the reason (strerror). */
typedef struct { FILE *f; char tmp_path[4096]; char path[4096]; } atomic_file;
int atomic_open(atomic_file *af, const char *path);
int atomic_commit(atomic_file *af);
void atomic_abort(atomic_file *af);
/* After a failed fwrite/fputc on af->f: removes the temp file and returns AVEMO_EWRITE "<path>: write failed:
 * <reason>" (the reason from errno, as the failed call left it). */
int atomic_fail(atomic_file *af);
/* Convenience: write one buffer atomically. */
int atomic_write(const char *path, const void *data, size_t size);

int make_dirs(const char *path); /* mkdir -p; AVEMO_EWRITE naming the folder that could not be made */

#endif
