/* A validating reader of the TFLite flatbuffer tables we need (no flatbuffers library).
 *
 * Flatbuffer layout: the file starts with a u32 offset to the root table. A table at position p starts with an
 * i32 `soffset`; its vtable sits at p - soffset: u16 vtable size, u16 table size, then one u16 per field giving
 * the field's offset from p (0 = absent, use the default). Scalars are stored inline; a table, vector or
 * string field holds a u32 offset relative to the field's own position. A vector or string is a u32 length
 * followed by its elements. All numbers are little-endian. Every read below goes through a bounds check.
 *
 * The schema fields read (schema.fbs field numbers):
 *   Model { 0 version:uint, 1 operator_codes:[OperatorCode], 2 subgraphs:[SubGraph], 4 buffers:[Buffer] }
 *   OperatorCode { 0 deprecated_builtin_code:byte, 3 builtin_code:int }  (code = max of the two)
 *   SubGraph { 0 tensors:[Tensor], 1 inputs:[int], 2 outputs:[int], 3 operators:[Operator] }
 *   Tensor { 0 shape:[int], 1 type:byte, 2 buffer:uint, 3 name:string, 4 quantization:QuantizationParameters }
 *   QuantizationParameters { 2 scale:[float], 3 zero_point:[long], 6 quantized_dimension:int }
 *   Operator { 0 opcode_index:uint, 1 inputs:[int], 2 outputs:[int], 3 builtin_options_type:ubyte,
 *              4 builtin_options:table }
 *   Buffer { 0 data:[ubyte], 1 offset:ulong, 2 size:ulong }  (offset/size: data outside the flatbuffer)
 */
#include "io/tflite.h"

#include "core/err.h"
#include "core/fileio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TFL_MAX_FILE_BYTES ((size_t)1 << 32)

/* BuiltinOptions union tags */
enum { OPT_CONV2D = 1, OPT_DEPTHWISE = 2, OPT_POOL2D = 5, OPT_FULLY_CONNECTED = 8, OPT_CONCATENATION = 10,
       OPT_ADD = 11 };

typedef struct {
    const unsigned char *bytes;
    size_t size;
    const char *name;
    size_t *budget; /* bytes the parser may still copy out of the file (names, quantization, index vectors) */
} fb_buf;

/* Flatbuffers may point many tables at one string or vector, so a small hostile file could make us copy the
 * same large vector once per tensor: cap the total of such copies by a multiple of the file size (a real
 * model stores each name and vector once, well below this). */
static int fb_charge(const fb_buf *fb, uint64_t bytes) {
    if (bytes > *fb->budget)
        return avemo_error(AVEMO_EFORMAT, "%s: corrupt TFLite file (shared strings or vectors would need more "
                                          "memory than the file justifies)", fb->name);
    *fb->budget -= (size_t)bytes;
    return 0;
}

typedef struct {
    size_t pos;    /* table start */
    size_t vt;     /* vtable start */
    unsigned vt_size, tbl_size;
} fb_table;

static uint32_t rd_u32(const unsigned char *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static unsigned rd_u16(const unsigned char *p) { return p[0] | (unsigned)p[1] << 8; }

static int fb_bad(const fb_buf *fb, const char *what) {
    return avemo_error(AVEMO_EFORMAT, "%s: corrupt TFLite file (%s out of bounds)", fb->name, what);
}

/* Open the table at `pos`. */
static int fb_table_at(const fb_buf *fb, size_t pos, fb_table *t, const char *what) {
    if (pos > fb->size || fb->size - pos < 4) return fb_bad(fb, what);
    int32_t soff = (int32_t)rd_u32(fb->bytes + pos);
    int64_t vt = (int64_t)pos - soff;
    if (vt < 0 || (uint64_t)vt > fb->size - 4) return fb_bad(fb, what);
    t->pos = pos;
    t->vt = (size_t)vt;
    t->vt_size = rd_u16(fb->bytes + t->vt);
    t->tbl_size = rd_u16(fb->bytes + t->vt + 2);
    if (t->vt_size < 4 || (t->vt_size & 1) || t->vt + t->vt_size > fb->size || t->tbl_size < 4 ||
        pos + t->tbl_size > fb->size)
        return fb_bad(fb, what);
    return 0;
}

/* Position of field `idx` with `size` bytes inline, or 0 when absent (a field never sits at offset 0). */
static int fb_field(const fb_buf *fb, const fb_table *t, int idx, unsigned size, size_t *at) {
    *at = 0;
    unsigned slot = 4 + 2 * (unsigned)idx;
    if (slot + 2 > t->vt_size) return 0;
    unsigned off = rd_u16(fb->bytes + t->vt + slot);
    if (!off) return 0;
    if (off < 4 || off + size > t->tbl_size) return fb_bad(fb, "table field");
    *at = t->pos + off;
    return 0;
}

static int fb_scalar(const fb_buf *fb, const fb_table *t, int idx, unsigned size, int64_t dflt, int sign,
                     int64_t *v) {
    size_t at;
    int rc = fb_field(fb, t, idx, size, &at);
    if (rc) return rc;
    if (!at) {
        *v = dflt;
        return 0;
    }
    const unsigned char *p = fb->bytes + at;
    uint64_t u = 0;
    for (unsigned i = 0; i < size; i++) u |= (uint64_t)p[i] << (8 * i);
    if (sign && size < 8 && (u >> (8 * size - 1)) & 1) u |= ~(uint64_t)0 << (8 * size); /* sign-extend */
    *v = (int64_t)u;
    return 0;
}

/* Follow an offset field to its target position (0 when the field is absent). */
static int fb_ref(const fb_buf *fb, const fb_table *t, int idx, size_t *target) {
    size_t at;
    *target = 0;
    int rc = fb_field(fb, t, idx, 4, &at);
    if (rc || !at) return rc;
    uint64_t to = (uint64_t)at + rd_u32(fb->bytes + at);
    if (to > fb->size - 4) return fb_bad(fb, "offset");
    *target = (size_t)to;
    return 0;
}

/* A vector field: start of its elements and their count (0, 0 when absent). */
static int fb_vector(const fb_buf *fb, const fb_table *t, int idx, size_t elem, size_t *start, uint32_t *len) {
    size_t at;
    *start = 0;
    *len = 0;
    int rc = fb_ref(fb, t, idx, &at);
    if (rc || !at) return rc;
    uint32_t n = rd_u32(fb->bytes + at);
    if ((uint64_t)n * elem > fb->size - at - 4) return fb_bad(fb, "vector");
    *start = at + 4;
    *len = n;
    return 0;
}

/* Element i of a vector of tables. */
static int fb_vector_table(const fb_buf *fb, size_t start, uint32_t i, fb_table *t, const char *what) {
    size_t at = start + 4 * (size_t)i;
    return fb_table_at(fb, at + rd_u32(fb->bytes + at), t, what);
}

static int fb_int_vector(const fb_buf *fb, const fb_table *t, int idx, int **out, int *n) {
    size_t s;
    uint32_t len;
    *out = NULL;
    *n = 0;
    int rc = fb_vector(fb, t, idx, 4, &s, &len);
    if (rc || (rc = fb_charge(fb, 4 * (uint64_t)len))) return rc;
    *out = malloc(((size_t)len + 1) * sizeof **out);
    if (!*out) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", fb->name);
    for (uint32_t i = 0; i < len; i++) (*out)[i] = (int32_t)rd_u32(fb->bytes + s + 4 * (size_t)i);
    *n = (int)len;
    return 0;
}

void tfl_free(tfl_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_tensors; i++) {
        free(m->tensors[i].name);
        free(m->tensors[i].scale);
        free(m->tensors[i].zero_point);
    }
    for (int i = 0; i < m->n_ops; i++) {
        free(m->ops[i].inputs);
        free(m->ops[i].outputs);
    }
    free(m->tensors);
    free(m->ops);
    free(m->inputs);
    free(m->outputs);
    free(m->buf);
    memset(m, 0, sizeof *m);
}

static size_t type_size(int type) {
    switch (type) {
    case TFL_FLOAT32: case TFL_INT32: return 4;
    case TFL_FLOAT16: case TFL_INT16: return 2;
    case TFL_UINT8: case TFL_INT8: case TFL_BOOL: return 1;
    case TFL_INT64: case TFL_FLOAT64: case TFL_COMPLEX64: return 8;
    default: return 0; /* strings and types we do not read */
    }
}

/* The QuantizationParameters table at qpos: per-tensor or per-axis scales and zero points. */
static int parse_quantization(const fb_buf *fb, size_t qpos, tfl_tensor *t) {
    fb_table qt;
    int rc;
    if ((rc = fb_table_at(fb, qpos, &qt, "quantization"))) return rc;
    size_t ss, zs;
    uint32_t ns, nz;
    int64_t v;
    if ((rc = fb_vector(fb, &qt, 2, 4, &ss, &ns)) || (rc = fb_vector(fb, &qt, 3, 8, &zs, &nz))) return rc;
    if ((rc = fb_scalar(fb, &qt, 6, 4, 0, 1, &v))) return rc;
    if (!ns) return 0;
    if (nz && nz != ns)
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has %u scales but %u zero points", fb->name, t->name, ns,
                           nz);
    if (v < 0 || v >= (t->ndim ? t->ndim : 1) || (ns > 1 && (int64_t)ns != t->shape[v]))
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has bad per-axis quantization", fb->name, t->name);
    t->quant_dim = (int)v;
    if ((rc = fb_charge(fb, 16 * (uint64_t)ns))) return rc;
    t->scale = malloc(ns * sizeof *t->scale);
    t->zero_point = calloc(ns, sizeof *t->zero_point);
    if (!t->scale || !t->zero_point) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", fb->name);
    for (uint32_t i = 0; i < ns; i++) {
        uint32_t bits = rd_u32(fb->bytes + ss + 4 * (size_t)i);
        memcpy(&t->scale[i], &bits, 4);
        if (nz) {
            uint64_t z = 0;
            for (int k = 0; k < 8; k++) z |= (uint64_t)fb->bytes[zs + 8 * (size_t)i + k] << (8 * k);
            t->zero_point[i] = (int64_t)z;
            if (t->zero_point[i] < INT32_MIN || t->zero_point[i] > INT32_MAX)
                return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has zero point %lld out of range", fb->name,
                                   t->name, (long long)t->zero_point[i]);
        }
        if (!isfinite(t->scale[i]))
            return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has a non-finite scale", fb->name, t->name);
    }
    t->n_quant = (int)ns;
    return 0;
}

static int parse_tensor(const fb_buf *fb, const fb_table *tt, tfl_tensor *t, int n_buffers) {
    size_t s;
    uint32_t len;
    int rc = fb_vector(fb, tt, 0, 4, &s, &len);
    if (rc) return rc;
    if (len > TFL_MAX_DIMS)
        return avemo_error(AVEMO_EFORMAT, "%s: tensor with %u dimensions (max %d)", fb->name, len, TFL_MAX_DIMS);
    t->ndim = (int)len;
    int64_t count = 1;
    for (uint32_t i = 0; i < len; i++) {
        int32_t d = (int32_t)rd_u32(fb->bytes + s + 4 * (size_t)i);
        if (d < 0 && !(d == -1 && i == 0)) /* -1 = dynamic batch */
            return avemo_error(AVEMO_EFORMAT, "%s: tensor with negative dimension %d", fb->name, d);
        t->shape[i] = d;
        int64_t dd = d < 0 ? 1 : d;
        if (dd && count > ((int64_t)1 << 40) / dd)
            return avemo_error(AVEMO_EFORMAT, "%s: tensor too large", fb->name);
        count *= dd;
    }
    t->count = count;
    int64_t v;
    if ((rc = fb_scalar(fb, tt, 1, 1, 0, 1, &v))) return rc;
    t->type = (int)v;
    if ((rc = fb_scalar(fb, tt, 2, 4, 0, 0, &v))) return rc;
    if (v >= n_buffers) return avemo_error(AVEMO_EFORMAT, "%s: tensor buffer index %lld out of range", fb->name,
                                           (long long)v);
    t->buffer = (int)v;
    if ((rc = fb_vector(fb, tt, 3, 1, &s, &len)) || (rc = fb_charge(fb, (uint64_t)len + 1))) return rc;
    t->name = malloc((size_t)len + 1);
    if (!t->name) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", fb->name);
    if (len) memcpy(t->name, fb->bytes + s, len);
    t->name[len] = 0;
    t->quant_dim = 0;
    size_t qpos;
    if ((rc = fb_ref(fb, tt, 4, &qpos))) return rc;
    return qpos ? parse_quantization(fb, qpos, t) : 0;
}

static int parse_options(const fb_buf *fb, const fb_table *ot, tfl_op *op) {
    int64_t v;
    int rc = fb_scalar(fb, ot, 3, 1, 0, 0, &v);
    if (rc) return rc;
    op->options_type = (int)v;
    op->stride_w = op->stride_h = op->dilation_w = op->dilation_h = op->depth_multiplier = 1;
    size_t pos;
    if ((rc = fb_ref(fb, ot, 4, &pos))) return rc;
    if (!pos) return 0;
    fb_table t;
    if ((rc = fb_table_at(fb, pos, &t, "builtin options"))) return rc;
    /* fields in schema order: {index, size in bytes, default, destination} */
    typedef struct { int idx; unsigned size; int64_t dflt; int *dst; } opt_field;
    opt_field f[8];
    int n = 0;
#define F(i, sz, d, dst) f[n++] = (opt_field){i, sz, d, &op->dst}
    switch (op->options_type) {
    case OPT_CONV2D: /* padding, stride_w, stride_h, fused_activation_function, dilation_w, dilation_h */
        F(0, 1, 0, padding); F(1, 4, 1, stride_w); F(2, 4, 1, stride_h); F(3, 1, 0, activation);
        F(4, 4, 1, dilation_w); F(5, 4, 1, dilation_h);
        break;
    case OPT_DEPTHWISE: /* padding, stride_w, stride_h, depth_multiplier, fused_activation, dilation_w, _h */
        F(0, 1, 0, padding); F(1, 4, 1, stride_w); F(2, 4, 1, stride_h); F(3, 4, 1, depth_multiplier);
        F(4, 1, 0, activation); F(5, 4, 1, dilation_w); F(6, 4, 1, dilation_h);
        break;
    case OPT_POOL2D: /* padding, stride_w, stride_h, filter_width, filter_height, fused_activation */
        F(0, 1, 0, padding); F(1, 4, 1, stride_w); F(2, 4, 1, stride_h); F(3, 4, 0, filter_w);
        F(4, 4, 0, filter_h); F(5, 1, 0, activation);
        break;
    case OPT_FULLY_CONNECTED: case OPT_ADD: /* fused_activation_function first */
        F(0, 1, 0, activation);
        break;
    case OPT_CONCATENATION: /* axis, fused_activation_function */
        F(1, 1, 0, activation);
        break;
    default: break;
    }
#undef F
    for (int i = 0; i < n; i++) {
        if ((rc = fb_scalar(fb, &t, f[i].idx, f[i].size, f[i].dflt, 1, &v))) return rc;
        if (v < -(1 << 20) || v > (1 << 20))
            return avemo_error(AVEMO_EFORMAT, "%s: operator option value %lld out of range", fb->name, (long long)v);
        *f[i].dst = (int)v;
    }
    if (op->stride_w < 1 || op->stride_h < 1 || op->dilation_w < 1 || op->dilation_h < 1 ||
        op->depth_multiplier < 1 || (op->padding != TFL_PAD_SAME && op->padding != TFL_PAD_VALID))
        return avemo_error(AVEMO_EFORMAT, "%s: operator with invalid stride, dilation or padding", fb->name);
    return 0;
}

/* Operator code table: codes[i] = max(deprecated_builtin_code, builtin_code) of OperatorCode i. */
static int parse_opcodes(const fb_buf *fb, const fb_table *model, int **codes, uint32_t *n_codes) {
    size_t s;
    int rc = fb_vector(fb, model, 1, 4, &s, n_codes);
    if (rc) return rc;
    *codes = malloc(((size_t)*n_codes + 1) * sizeof **codes);
    if (!*codes) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", fb->name);
    for (uint32_t i = 0; i < *n_codes; i++) {
        fb_table ct;
        int64_t dep, code;
        if ((rc = fb_vector_table(fb, s, i, &ct, "operator code")) ||
            (rc = fb_scalar(fb, &ct, 0, 1, 0, 1, &dep)) || (rc = fb_scalar(fb, &ct, 3, 4, 0, 1, &code)))
            return rc;
        (*codes)[i] = (int)(dep > code ? dep : code);
    }
    return 0;
}

/* Point t->data at its buffer's bytes (inside the flatbuffer, or at offset/size past it) and check the size
 * against the tensor's type and shape. `buffers` is the Model's buffer vector (n_buffers entries). */
static int attach_buffer(const fb_buf *fb, size_t buffers, uint32_t n_buffers, tfl_tensor *t) {
    int rc;
    if (n_buffers > 0) { /* buffer 0 is the empty sentinel by convention */
        fb_table bt;
        if ((rc = fb_vector_table(fb, buffers, (uint32_t)t->buffer, &bt, "buffer"))) return rc;
        size_t ds;
        uint32_t dn;
        int64_t boff, bsize;
        if ((rc = fb_vector(fb, &bt, 0, 1, &ds, &dn)) || (rc = fb_scalar(fb, &bt, 1, 8, 0, 0, &boff)) ||
            (rc = fb_scalar(fb, &bt, 2, 8, 0, 0, &bsize)))
            return rc;
        if (dn) {
            t->data = fb->bytes + ds;
            t->nbytes = dn;
        } else if (boff > 1 && bsize > 0) {
            if ((uint64_t)boff > fb->size || (uint64_t)bsize > fb->size - (uint64_t)boff)
                return fb_bad(fb, "buffer data");
            t->data = fb->bytes + boff;
            t->nbytes = (size_t)bsize;
        }
    }
    if (t->data) {
        size_t es = type_size(t->type);
        if (!es || (uint64_t)t->count * es != t->nbytes)
            return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' (%s, %lld values) has %zu bytes of data", fb->name,
                               t->name, tfl_type_name(t->type), (long long)t->count, t->nbytes);
    }
    return 0;
}

/* The subgraph's tensors, each with its constant data attached. */
static int parse_tensors(const fb_buf *fb, const fb_table *g, size_t buffers, uint32_t n_buffers, tfl_model *m) {
    size_t ts;
    uint32_t n_tensors;
    int rc = fb_vector(fb, g, 0, 4, &ts, &n_tensors);
    if (rc) return rc;
    m->tensors = calloc((size_t)n_tensors + 1, sizeof *m->tensors);
    if (!m->tensors) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", fb->name);
    for (uint32_t i = 0; i < n_tensors; i++) {
        fb_table tt;
        if ((rc = fb_vector_table(fb, ts, i, &tt, "tensor"))) return rc;
        m->n_tensors++;
        tfl_tensor *t = &m->tensors[i];
        if ((rc = parse_tensor(fb, &tt, t, (int)(n_buffers < 0x7fffffff ? n_buffers : 0x7fffffff))) ||
            (rc = attach_buffer(fb, buffers, n_buffers, t)))
            return rc;
    }
    return 0;
}

/* The subgraph's input and output tensor indices. */
static int parse_graph_io(const fb_buf *fb, const fb_table *g, tfl_model *m) {
    int rc;
    if ((rc = fb_int_vector(fb, g, 1, &m->inputs, &m->n_inputs)) ||
        (rc = fb_int_vector(fb, g, 2, &m->outputs, &m->n_outputs)))
        return rc;
    for (int i = 0; i < m->n_inputs; i++)
        if (m->inputs[i] < 0 || m->inputs[i] >= m->n_tensors) return fb_bad(fb, "subgraph input");
    for (int i = 0; i < m->n_outputs; i++)
        if (m->outputs[i] < 0 || m->outputs[i] >= m->n_tensors) return fb_bad(fb, "subgraph output");
    return 0;
}

/* The subgraph's operators: opcode, input/output tensors (-1 = an omitted optional input), options. */
static int parse_ops(const fb_buf *fb, const fb_table *g, const int *codes, uint32_t n_codes, tfl_model *m) {
    size_t os;
    uint32_t n_ops;
    int rc = fb_vector(fb, g, 3, 4, &os, &n_ops);
    if (rc) return rc;
    m->ops = calloc((size_t)n_ops + 1, sizeof *m->ops);
    if (!m->ops) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", fb->name);
    for (uint32_t i = 0; i < n_ops; i++) {
        fb_table ot;
        if ((rc = fb_vector_table(fb, os, i, &ot, "operator"))) return rc;
        tfl_op *op = &m->ops[i];
        m->n_ops++;
        int64_t v;
        if ((rc = fb_scalar(fb, &ot, 0, 4, 0, 0, &v))) return rc;
        if (v >= n_codes) return fb_bad(fb, "opcode index");
        op->opcode = codes[v];
        if ((rc = fb_int_vector(fb, &ot, 1, &op->inputs, &op->n_inputs)) ||
            (rc = fb_int_vector(fb, &ot, 2, &op->outputs, &op->n_outputs)))
            return rc;
        for (int k = 0; k < op->n_inputs; k++)
            if (op->inputs[k] < -1 || op->inputs[k] >= m->n_tensors) return fb_bad(fb, "operator input");
        for (int k = 0; k < op->n_outputs; k++)
            if (op->outputs[k] < 0 || op->outputs[k] >= m->n_tensors) return fb_bad(fb, "operator output");
        if ((rc = parse_options(fb, &ot, op))) return rc;
    }
    return 0;
}

static int parse_owned(unsigned char *buf, size_t size, const char *name, tfl_model *m) {
    memset(m, 0, sizeof *m);
    m->buf = buf;
    m->size = size;
    size_t budget = 4 * size + ((size_t)16 << 20);
    fb_buf fb = {buf, size, name, &budget};
    int *codes = NULL;
    int rc;
    if (size < 8 || (size >= 8 && memcmp(buf + 4, "TFL3", 4) != 0)) {
        rc = avemo_error(AVEMO_EFORMAT, "%s: not a TFLite file (no TFL3 identifier)", name);
        goto fail;
    }
    fb_table model;
    if ((rc = fb_table_at(&fb, rd_u32(buf), &model, "root table"))) goto fail;
    int64_t v;
    if ((rc = fb_scalar(&fb, &model, 0, 4, 0, 0, &v))) goto fail;
    m->version = (uint32_t)v;
    uint32_t n_codes;
    if ((rc = parse_opcodes(&fb, &model, &codes, &n_codes))) goto fail;
    size_t buffers;
    uint32_t n_buffers;
    if ((rc = fb_vector(&fb, &model, 4, 4, &buffers, &n_buffers))) goto fail;
    /* the first subgraph */
    size_t gs;
    uint32_t n_graphs;
    if ((rc = fb_vector(&fb, &model, 2, 4, &gs, &n_graphs))) goto fail;
    if (n_graphs < 1) { rc = avemo_error(AVEMO_EFORMAT, "%s: TFLite model has no subgraph", name); goto fail; }
    fb_table g;
    if ((rc = fb_vector_table(&fb, gs, 0, &g, "subgraph")) || (rc = parse_tensors(&fb, &g, buffers, n_buffers, m)) ||
        (rc = parse_graph_io(&fb, &g, m)) || (rc = parse_ops(&fb, &g, codes, n_codes, m)))
        goto fail;
    free(codes);
    return AVEMO_OK;
fail:
    free(codes);
    tfl_free(m);
    return rc;
}

int tfl_parse(const unsigned char *buf, size_t size, const char *name, tfl_model *m) {
    memset(m, 0, sizeof *m);
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy) return avemo_error(AVEMO_ENOMEM, "%s: cannot allocate %zu bytes", name, size);
    if (size) memcpy(copy, buf, size);
    return parse_owned(copy, size, name, m);
}

int tfl_read(const char *path, tfl_model *m) {
    memset(m, 0, sizeof *m);
    unsigned char *buf;
    size_t size;
    int rc = file_read_all(path, TFL_MAX_FILE_BYTES, &buf, &size);
    if (rc) return rc;
    return parse_owned(buf, size, path, m);
}

const char *tfl_op_name(int opcode) {
    switch (opcode) {
    case TFL_OP_ADD: return "ADD";
    case TFL_OP_AVERAGE_POOL_2D: return "AVERAGE_POOL_2D";
    case TFL_OP_CONCATENATION: return "CONCATENATION";
    case TFL_OP_CONV_2D: return "CONV_2D";
    case TFL_OP_DEPTHWISE_CONV_2D: return "DEPTHWISE_CONV_2D";
    case TFL_OP_DEQUANTIZE: return "DEQUANTIZE";
    case TFL_OP_FULLY_CONNECTED: return "FULLY_CONNECTED";
    case TFL_OP_LOGISTIC: return "LOGISTIC";
    case TFL_OP_MAX_POOL_2D: return "MAX_POOL_2D";
    case TFL_OP_MUL: return "MUL";
    case TFL_OP_RELU: return "RELU";
    case TFL_OP_RELU6: return "RELU6";
    case TFL_OP_RESHAPE: return "RESHAPE";
    case TFL_OP_SOFTMAX: return "SOFTMAX";
    case TFL_OP_TANH: return "TANH";
    case TFL_OP_PAD: return "PAD";
    case TFL_OP_MEAN: return "MEAN";
    case TFL_OP_PRELU: return "PRELU";
    case TFL_OP_QUANTIZE: return "QUANTIZE";
    default: return "OTHER";
    }
}

const char *tfl_type_name(int type) {
    static const char *names[] = {"float32", "float16", "int32", "uint8", "int64", "string",
                                  "bool", "int16", "complex64", "int8", "float64"};
    return type >= 0 && type <= TFL_FLOAT64 ? names[type] : "unknown";
}

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v = exp == 0 ? ldexpf((float)man, -24) : exp == 31 ? (man ? NAN : INFINITY)
                                                             : ldexpf((float)(man | 0x400), (int)exp - 25);
    uint32_t bits;
    memcpy(&bits, &v, 4);
    bits |= sign;
    memcpy(&v, &bits, 4);
    return v;
}

int tfl_to_f32(const tfl_tensor *t, float *out, int64_t count, const char *file_name) {
    if (!t->data)
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has no constant data", file_name, t->name);
    if (t->count != count)
        return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has %lld values, expected %lld", file_name, t->name,
                           (long long)t->count, (long long)count);
    int integer = t->type == TFL_UINT8 || t->type == TFL_INT8 || t->type == TFL_INT16 || t->type == TFL_INT32;
    if (integer && !t->n_quant)
        return avemo_error(AVEMO_EFORMAT, "%s: integer tensor '%s' has no quantization scale", file_name, t->name);
    /* per-axis quantization: the parameter index is the coordinate along quant_dim */
    int64_t inner = 1;
    for (int d = t->quant_dim + 1; d < t->ndim; d++) inner *= t->shape[d];
    const unsigned char *p = t->data;
    for (int64_t i = 0; i < count; i++) {
        if (integer) {
            int q = t->n_quant > 1 ? (int)((i / inner) % t->n_quant) : 0;
            int64_t raw;
            switch (t->type) {
            case TFL_UINT8: raw = p[i]; break;
            case TFL_INT8: raw = (int8_t)p[i]; break;
            case TFL_INT16: raw = (int16_t)(p[2 * i] | p[2 * i + 1] << 8); break;
            default: raw = (int32_t)rd_u32(p + 4 * i); break;
            }
            out[i] = (float)(((double)raw - (double)t->zero_point[q]) * t->scale[q]);
        } else if (t->type == TFL_FLOAT32) {
            memcpy(&out[i], p + 4 * i, 4);
        } else if (t->type == TFL_FLOAT16) {
            out[i] = f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        } else {
            return avemo_error(AVEMO_EUNSUP, "%s: tensor '%s' has type %s, cannot convert to float", file_name,
                               t->name, tfl_type_name(t->type));
        }
    }
    return AVEMO_OK;
}
