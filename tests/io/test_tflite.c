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
}

int main(void) {
    RUN(test_mobilenet_v2);
    RUN(test_hostile);
    return test_summary();
}
