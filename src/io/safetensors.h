/* safetensors: an 8-byte little-endian header length, a JSON header
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}},
 * then the raw little-endian tensor bytes. Model weights and checkpoints (spec 6). Header parsed with cJSON;
 * every size, offset, shape and dtype is validated against the file before use. */
#ifndef AVEMO_IO_SAFETENSORS_H
#define AVEMO_IO_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8

typedef enum { ST_F32, ST_F64, ST_F16, ST_BF16, ST_I64, ST_I32, ST_U8, ST_I8, ST_BOOL } st_dtype;

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t count;        /* product of shape */
    const void *data;     /* points into the file buffer */
    size_t nbytes;
} st_tensor;

typedef struct {
    st_tensor *tensors;
    int n_tensors;
    char **meta_keys, **meta_values; /* __metadata__ (string -> string) */
    int n_meta;
    unsigned char *buf;   /* whole file */
    size_t size;
} st_file;

int st_read(const char *path, st_file *f);
/* Only the header's __metadata__ (no tensors: n_tensors 0), reading the header bytes alone: a cheap look at a
 * large file's kind (model_file_is_model). The header is checked as st_read checks it; the data is not read. */
int st_read_meta(const char *path, st_file *f);
int st_parse(const unsigned char *buf, size_t size, const char *name, st_file *f); /* copies buf */
void st_free(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);      /* NULL if absent */
const char *st_meta(const st_file *f, const char *key);            /* NULL if absent */
/* Copy a tensor into floats, converting F64, F16, BF16 and integer types; fails unless t->count == count. */
int st_to_f32(const st_tensor *t, float *out, int64_t count, const char *file_name);

/* Writer: tensors are referenced (not copied) until st_writer_write, which writes atomically
 * (temp file, fsync, rename). Tensors are written in the order added. */
typedef struct st_writer st_writer;
st_writer *st_writer_new(void);
int st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
                  const void *data);
int st_writer_meta(st_writer *w, const char *key, const char *value); /* value copied */
int st_writer_write(st_writer *w, const char *path);
/* Writes the file f (read from anywhere) to path with the metadata keys[0..n) set to values (replaced or added):
 * the header re-serialised and padded as st_writer_write does, the tensor bytes copied as they are; atomic. */
int st_rewrite_meta(const st_file *f, const char *path, int n, const char *const *keys, const char *const *values);
void st_writer_free(st_writer *w);

#endif
