/* NumPy .npy arrays (format 1.0/2.0/3.0, little-endian, C order): feature caches, fixtures, CLI I/O. */
#ifndef AVEMO_IO_NPY_H
#define AVEMO_IO_NPY_H
#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 8

typedef enum { NPY_F32, NPY_F64, NPY_U8, NPY_C64, NPY_I32, NPY_I64 } npy_dtype;

typedef struct {
    npy_dtype dtype;
    int ndim;
    int64_t shape[NPY_MAX_DIMS];
    int64_t count;  /* product of shape */
    size_t nbytes;  /* count * element size */
    void *data;     /* malloc'd */
} npy_array;

size_t npy_dtype_size(npy_dtype t);
const char *npy_dtype_name(npy_dtype t); /* "<f4", ... */

/* Read and validate: header syntax, dtype, fortran_order False, shape vs file size. */
int npy_read(const char *path, npy_array *out);
/* Parse from memory (used by npy_read and the fuzzer). `data` is copied. */
int npy_parse(const unsigned char *buf, size_t size, const char *name, npy_array *out);
/* Write atomically. */
int npy_write(const char *path, npy_dtype dtype, int ndim, const int64_t *shape, const void *data);
void npy_free(npy_array *a);

#endif
