#include "test.h"

#include "io/tflite.h"
#include "core/fileio.h"
#include "avemo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MNV2 "weights/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite"

static void test_mobilenet_v2(void) {
    const char *p = shared_path(MNV2);
    if (!p) return;
    tfl_model m;
    CHECK(tfl_read(p, &m) == 0, "read: %s", avemo_last_error());
    if (test_failed_now) return;
    /* the graph as TOCO wrote it: 52 convs, 10 residual ADDs, pool, logits conv, reshape, softmax */
    CHECK(m.version == 3 && m.n_ops == 66 && m.n_tensors == 174, "v%u ops %d tensors %d", m.version, m.n_ops,
          m.n_tensors);
    int n_conv = 0, n_dw = 0, n_add = 0;
    for (int i = 0; i < m.n_ops; i++) {
        n_conv += m.ops[i].opcode == TFL_OP_CONV_2D;
        n_dw += m.ops[i].opcode == TFL_OP_DEPTHWISE_CONV_2D;
        n_add += m.ops[i].opcode == TFL_OP_ADD;
    }
    CHECK(n_conv == 36 && n_dw == 17 && n_add == 10, "conv %d dw %d add %d", n_conv, n_dw, n_add);
    const tfl_op *stem = &m.ops[0];
    CHECK(stem->opcode == TFL_OP_CONV_2D && stem->stride_h == 2 && stem->stride_w == 2 &&
              stem->padding == TFL_PAD_SAME && stem->activation == TFL_ACT_RELU6 && stem->n_inputs == 3,
          "stem options");
    CHECK(m.ops[2].activation == TFL_ACT_NONE, "project conv has no activation");
    CHECK(m.ops[62].opcode == TFL_OP_AVERAGE_POOL_2D && m.ops[62].filter_h == 7 && m.ops[62].padding == TFL_PAD_VALID,
          "avg pool");
    CHECK(m.ops[65].opcode == TFL_OP_SOFTMAX, "softmax last");
    const tfl_tensor *in = &m.tensors[m.inputs[0]];
    CHECK(in->type == TFL_UINT8 && in->ndim == 4 && in->shape[1] == 224 && in->shape[3] == 3 && in->n_quant == 1 &&
              in->scale[0] == 0.0078125f && in->zero_point[0] == 128, "input: [-1,1] from uint8");
    const tfl_tensor *w = &m.tensors[stem->inputs[1]], *b = &m.tensors[stem->inputs[2]];
    CHECK(w->type == TFL_UINT8 && w->shape[0] == 32 && w->shape[3] == 3 && w->data && w->nbytes == 864, "stem w");
    CHECK(strstr(w->name, "MobilenetV2/Conv/") != NULL, "stem name %s", w->name);
    float wf[864], bf[32];
    CHECK(tfl_to_f32(w, wf, 864, p) == 0 && tfl_to_f32(b, bf, 32, p) == 0, "dequantise: %s", avemo_last_error());
    /* (q - zero_point) * scale, int32 bias q * scale */
    CHECK(wf[5] == (float)((double)(w->data[5] - w->zero_point[0]) * w->scale[0]), "uint8 dequantisation");
    int32_t q0;
    memcpy(&q0, b->data, 4);
    CHECK(bf[0] == (float)((double)q0 * b->scale[0]) && b->type == TFL_INT32, "int32 bias dequantisation");
    double amax = 0;
    for (int i = 0; i < 864; i++) amax = fabs(wf[i]) > amax ? fabs(wf[i]) : amax;
    CHECK(amax > 0.5 && amax < 10, "stem weights magnitude %g", amax);
    CHECK(tfl_to_f32(in, wf, in->count, p) != 0, "activation tensor has no data yet converted");
    tfl_free(&m);
}

/* tests/fixtures/io/tiny_conv.tflite (tools/tiny_tflite.py): int8 weights quantized per output channel */
static void test_tiny_per_axis(void) {
    const char *p = fixture_path("io/tiny_conv.tflite");
    if (!p) return;
    tfl_model m;
    CHECK(tfl_read(p, &m) == 0, "read: %s", avemo_last_error());
    if (test_failed_now) return;
    CHECK(m.n_ops == 1 && m.n_tensors == 4 && m.n_inputs == 1 && m.inputs[0] == 0 && m.outputs[0] == 3, "graph");
    const tfl_op *op = &m.ops[0];
    CHECK(op->opcode == TFL_OP_CONV_2D && op->padding == TFL_PAD_VALID && op->stride_w == 1 && op->stride_h == 2 &&
              op->activation == TFL_ACT_RELU6 && op->dilation_h == 1, "conv options");
    const tfl_tensor *w = &m.tensors[1], *b = &m.tensors[2];
    CHECK(!strcmp(w->name, "conv/weights") && w->type == TFL_INT8 && w->n_quant == 3 && w->quant_dim == 0, "w");
    float wf[6], bf[3];
    CHECK(tfl_to_f32(w, wf, 6, p) == 0 && tfl_to_f32(b, bf, 3, p) == 0, "dequantise: %s", avemo_last_error());
    const float want_w[6] = {0.5f, -1.0f, 0.75f, 1.0f, -16.0f, 15.875f};
    CHECK(!memcmp(wf, want_w, sizeof wf), "per-axis weights %g %g %g %g %g %g", wf[0], wf[1], wf[2], wf[3], wf[4], wf[5]);
    CHECK(fabsf(bf[0] - 0.1f) < 1e-7f && fabsf(bf[1] + 0.4f) < 1e-7f && fabsf(bf[2] - 0.9f) < 1e-7f, "bias");
    CHECK(tfl_to_f32(&m.tensors[0], wf, 32, p) != 0, "activation without data converted");
    tfl_free(&m);
}

static void test_hostile(void) {
    const char *p = shared_path(MNV2);
    if (!p) return;
    unsigned char *buf;
    size_t n;
    CHECK(file_read_all(p, (size_t)1 << 30, &buf, &n) == 0, "read");
    if (test_failed_now) return;
    tfl_model m;
    CHECK(tfl_parse(buf, 7, "tiny", &m) == AVEMO_EFORMAT, "7-byte file accepted");
    CHECK(strstr(avemo_last_error(), "tiny") != NULL, "error names the file: %s", avemo_last_error());
    /* mark the bytes that are tensor data: flips there are legal; flips elsewhere hit the flatbuffer tables */
    CHECK(tfl_parse(buf, n, "ok", &m) == 0, "parse");
    unsigned char *is_data = calloc(n, 1);
    for (int i = 0; i < m.n_tensors; i++)
        if (m.tensors[i].data) memset(is_data + (m.tensors[i].data - m.buf), 1, m.tensors[i].nbytes);
    tfl_free(&m);
    unsigned long long s = 12345;
    int tried = 0, accepted = 0;
    while (tried < 150) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t k = (size_t)(s >> 33) % n;
        if (is_data[k]) continue;
        tried++;
        unsigned char c = buf[k];
        buf[k] ^= (unsigned char)(1u << ((s >> 20) & 7)) | 0x80;
        if (tfl_parse(buf, n, "flip", &m) == 0) {
            accepted++;
            for (int i = 0; i < m.n_tensors; i++)
                CHECK(!m.tensors[i].data || m.tensors[i].data + m.tensors[i].nbytes <= m.buf + m.size, "bounds");
            tfl_free(&m);
        }
        buf[k] = c;
    }
    /* truncations: the tables sit at both ends of the file, cut anywhere */
    for (int i = 1; i < 40; i++) {
        size_t cut = n / 40 * i + (size_t)i;
        CHECK(tfl_parse(buf, cut, "trunc", &m) != 0, "truncation at %zu accepted", cut);
    }
    free(is_data);
    free(buf);
    (void)accepted;
    /* the tiny model is all tables: every truncation fails, every byte flipped (4 ways) parses or fails cleanly */
    const char *tp = fixture_path("io/tiny_conv.tflite");
    if (!tp) return;
    CHECK(file_read_all(tp, 1 << 20, &buf, &n) == 0, "read tiny");
    if (test_failed_now) return;
    for (size_t k = 0; k < n; k++) CHECK(tfl_parse(buf, k, "trunc", &m) != 0, "tiny truncated at %zu accepted", k);
    static const unsigned char flips[4] = {0x01, 0x80, 0xff, 0x10};
    for (size_t k = 0; k < n; k++)
        for (int f = 0; f < 4; f++) {
            buf[k] ^= flips[f];
            if (tfl_parse(buf, n, "flip", &m) == 0) {
                float tmp[64];
                for (int i = 0; i < m.n_tensors; i++)
                    if (m.tensors[i].data && m.tensors[i].count <= 64) tfl_to_f32(&m.tensors[i], tmp, m.tensors[i].count, "flip");
                tfl_free(&m);
            }
            buf[k] ^= flips[f];
        }
    free(buf);
}

static void put32(unsigned char *b, size_t at, uint32_t v) { for (int i = 0; i < 4; i++) b[at + i] = (unsigned char)(v >> (8 * i)); }
static void put16(unsigned char *b, size_t at, unsigned v) { b[at] = (unsigned char)v; b[at + 1] = (unsigned char)(v >> 8); }

/* A small file whose tensor vector points N times at one tensor table with an L-byte name: flatbuffers allow
 * the sharing, and a reader that copies each tensor's name would allocate N * L bytes (here 20,000 x 64 KiB =
 * 1.3 GB from a 144 KB file). The reader caps such copies by the file size and fails cleanly. */
static void test_shared_name_amplification(void) {
    enum { N = 20000, L = 65536 };
    size_t cap = 256 + 4 * (size_t)N + L + 16;
    unsigned char *b = calloc(cap, 1);
    memcpy(b + 4, "TFL3", 4);
    size_t p = 8;
    /* model: vtable [14, 16, version@4, -, subgraphs@8, -, buffers@12], table at 24 */
    size_t mvt = p, mt = 24;
    put16(b, mvt, 14); put16(b, mvt + 2, 16); put16(b, mvt + 4, 4); put16(b, mvt + 6, 0); put16(b, mvt + 8, 8);
    put16(b, mvt + 10, 0); put16(b, mvt + 12, 12);
    put32(b, 0, (uint32_t)mt);
    put32(b, mt, (uint32_t)(mt - mvt));
    put32(b, mt + 4, 3);
    p = mt + 16;
    size_t sg_vec = p; p += 8;       /* subgraphs: [1, offset] */
    size_t sg_vt = p; p += 8;        /* vtable [6, 8, tensors@4] */
    size_t sg_t = p; p += 8;
    size_t buf_vec = p; p += 8;      /* buffers: [1, offset] */
    size_t buf_vt = p; p += 4;       /* empty table: vtable [4, 4] */
    size_t buf_t = p; p += 4;
    size_t tv = p; p += 4 + 4 * (size_t)N; /* tensors: [N, offsets...] */
    size_t t_vt = p; p += 12;        /* tensor vtable [12, 8, shape -, type -, buffer -, name@4] */
    size_t t_t = p; p += 8;
    size_t name = p; p += 4 + L + 4;
    put32(b, mt + 8, (uint32_t)(sg_vec - (mt + 8)));
    put32(b, mt + 12, (uint32_t)(buf_vec - (mt + 12)));
    put32(b, sg_vec, 1); put32(b, sg_vec + 4, (uint32_t)(sg_t - (sg_vec + 4)));
    put16(b, sg_vt, 6); put16(b, sg_vt + 2, 8); put16(b, sg_vt + 4, 4);
    put32(b, sg_t, (uint32_t)(sg_t - sg_vt)); put32(b, sg_t + 4, (uint32_t)(tv - (sg_t + 4)));
    put32(b, buf_vec, 1); put32(b, buf_vec + 4, (uint32_t)(buf_t - (buf_vec + 4)));
    put16(b, buf_vt, 4); put16(b, buf_vt + 2, 4); put32(b, buf_t, (uint32_t)(buf_t - buf_vt));
    put32(b, tv, N);
    for (size_t i = 0; i < N; i++) put32(b, tv + 4 + 4 * i, (uint32_t)(t_t - (tv + 4 + 4 * i)));
    put16(b, t_vt, 12); put16(b, t_vt + 2, 8); put16(b, t_vt + 10, 4);
    put32(b, t_t, (uint32_t)(t_t - t_vt)); put32(b, t_t + 4, (uint32_t)(name - (t_t + 4)));
    put32(b, name, L);
    memset(b + name + 4, 'a', L);
    tfl_model m;
    /* the same structure with a few tensors is a valid file: the test exercises the cap, not a parse error */
    put32(b, tv, 3);
    CHECK(tfl_parse(b, p, "shared3", &m) == 0 && m.n_tensors == 3 && strlen(m.tensors[2].name) == L,
          "3 tensors sharing a name: %s", avemo_last_error());
    if (!test_failed_now) tfl_free(&m);
    put32(b, tv, N);
    CHECK(tfl_parse(b, p, "shared", &m) == AVEMO_EFORMAT && strstr(avemo_last_error(), "shared"),
          "%d tensors sharing a %d-byte name accepted (%s)", N, L, avemo_last_error());
    free(b);
}

/* The committed fuzz seed (tests/fuzz/corpus/tflite/conv.tflite, written by tests/fuzz/make_corpus.py): a
 * one-op model with float and per-axis uint8 constants. */
static void test_tiny_seed(void) {
    tfl_model m;
    CHECK(tfl_read("tests/fuzz/corpus/tflite/conv.tflite", &m) == 0, "%s", avemo_last_error());
    if (test_failed_now) return;
    CHECK(m.n_tensors == 4 && m.n_ops == 1 && m.ops[0].opcode == TFL_OP_CONV_2D && m.ops[0].padding == TFL_PAD_VALID &&
              m.ops[0].activation == TFL_ACT_RELU6, "structure");
    float w[2], q[2];
    CHECK(tfl_to_f32(&m.tensors[1], w, 2, "seed") == 0 && w[0] == 1.5f && w[1] == -2.0f, "float weights");
    /* per-axis: (1 - 0) * 0.5, (7 - 3) * 0.25 */
    CHECK(tfl_to_f32(&m.tensors[2], q, 2, "seed") == 0 && q[0] == 0.5f && q[1] == 1.0f, "per-axis uint8 %g %g",
          q[0], q[1]);
    tfl_free(&m);
}

int main(void) {
    RUN(test_tiny_seed);
    RUN(test_shared_name_amplification);
    RUN(test_mobilenet_v2);
    RUN(test_tiny_per_axis);
    RUN(test_hostile);
    return test_summary();
}
