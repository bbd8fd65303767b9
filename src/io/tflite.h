/* TFLite flatbuffers (schema.fbs of TensorFlow Lite), read without the flatbuffers library: the Model's first
 * SubGraph with its Tensors (shape, type, buffer, quantization), Operators (builtin code, inputs, outputs, the
 * options of conv / depthwise conv / pooling / add / fully connected) and Buffers. Every offset is checked
 * against the file, so a corrupt or hostile file gives an error, never a crash.
 *
 * Used for the quantized MobileNetV2 (spec 6) and for MTCNN. Dequantisation per tensor or per axis:
 * real = (q - zero_point) * scale. */
#ifndef AVEMO_IO_TFLITE_H
#define AVEMO_IO_TFLITE_H
#include <stddef.h>
#include <stdint.h>

#define TFL_MAX_DIMS 8

/* TensorType */
enum { TFL_FLOAT32 = 0, TFL_FLOAT16 = 1, TFL_INT32 = 2, TFL_UINT8 = 3, TFL_INT64 = 4, TFL_STRING = 5,
       TFL_BOOL = 6, TFL_INT16 = 7, TFL_COMPLEX64 = 8, TFL_INT8 = 9, TFL_FLOAT64 = 10 };

/* BuiltinOperator codes used by the models we import (schema.fbs has ~200) */
enum { TFL_OP_ADD = 0, TFL_OP_AVERAGE_POOL_2D = 1, TFL_OP_CONCATENATION = 2, TFL_OP_CONV_2D = 3,
       TFL_OP_DEPTHWISE_CONV_2D = 4, TFL_OP_DEQUANTIZE = 6, TFL_OP_FULLY_CONNECTED = 9, TFL_OP_LOGISTIC = 14,
       TFL_OP_MAX_POOL_2D = 17, TFL_OP_MUL = 18, TFL_OP_RELU = 19, TFL_OP_RELU6 = 21, TFL_OP_RESHAPE = 22,
       TFL_OP_SOFTMAX = 25, TFL_OP_TANH = 28, TFL_OP_PAD = 34, TFL_OP_MEAN = 40, TFL_OP_PRELU = 54,
       TFL_OP_QUANTIZE = 114 };

/* Padding and ActivationFunctionType */
enum { TFL_PAD_SAME = 0, TFL_PAD_VALID = 1 };
enum { TFL_ACT_NONE = 0, TFL_ACT_RELU = 1, TFL_ACT_RELU_N1_TO_1 = 2, TFL_ACT_RELU6 = 3, TFL_ACT_TANH = 4 };

typedef struct {
    char *name;
    int type;                  /* TFL_FLOAT32, ... */
    int ndim;
    int shape[TFL_MAX_DIMS];
    int64_t count;             /* product of shape */
    int buffer;                /* index into the model's buffers (0 = none by convention) */
    const unsigned char *data; /* the buffer's bytes (into tfl_model.buf) or NULL for activations */
    size_t nbytes;
    int n_quant;               /* 0 = not quantized; 1 = per tensor; else per axis along quant_dim */
    float *scale;
    int64_t *zero_point;
    int quant_dim;
} tfl_tensor;

typedef struct {
    int opcode;                /* builtin operator code (TFL_OP_*) */
    int n_inputs, n_outputs;
    int *inputs, *outputs;     /* tensor indices, -1 = optional input absent */
    int options_type;          /* BuiltinOptions union tag (0 = none) */
    /* parsed from Conv2DOptions, DepthwiseConv2DOptions, Pool2DOptions, AddOptions, FullyConnectedOptions
     * (fields that do not apply keep their defaults: stride/dilation/multiplier 1, others 0) */
    int padding, stride_w, stride_h, dilation_w, dilation_h, depth_multiplier, filter_w, filter_h, activation;
} tfl_op;

typedef struct {
    uint32_t version;
    tfl_tensor *tensors;
    int n_tensors;
    tfl_op *ops;
    int n_ops;
    int *inputs, *outputs;     /* subgraph inputs / outputs (tensor indices) */
    int n_inputs, n_outputs;
    unsigned char *buf;        /* the whole file */
    size_t size;
} tfl_model;

int tfl_read(const char *path, tfl_model *m);
int tfl_parse(const unsigned char *buf, size_t size, const char *name, tfl_model *m); /* copies buf */
void tfl_free(tfl_model *m);
const char *tfl_op_name(int opcode);
const char *tfl_type_name(int type);

/* Dequantise (or convert) a constant tensor to float: uint8/int8/int16/int32 with scale/zero_point, float32,
 * float16. Fails unless the tensor has data and count == t->count. */
int tfl_to_f32(const tfl_tensor *t, float *out, int64_t count, const char *file_name);

#endif
