/* `avemo import`: MobileNetV2 v1.0 weights from TFLite or safetensors, made ready to be written as safetensors
 * with torchvision names (mobilenetv2_save).
 *
 * tflite: the quantized MobileNetV2 is dequantised ((q - zero_point) * scale); its BN is folded into the convs,
 * so each BN is written as identity plus the folded bias (weight 1, mean 0, var 1 - eps, bias = folded bias:
 * eval-mode output identical), metadata padding=tf_same, input_norm=minus1_1 (x / 127.5 - 1). Labels (one per
 * line, e.g. imagenet_labels.txt with 1001 lines, 0 = background) are stored in the metadata "class_names";
 * by default the source's folder is searched for imagenet_labels.txt.
 * safetensors: a torchvision (or timm mobilenetv2_100) state_dict, validated; its names become torchvision's.
 * channels = 1 sums the stem's RGB filters (grayscale input). */
#ifndef AVEMO_MODEL_MOBILENETV2_IMPORT_H
#define AVEMO_MODEL_MOBILENETV2_IMPORT_H
#include "model/mobilenetv2.h"

typedef enum { MNV2_SOURCE_TFLITE = 0, MNV2_SOURCE_SAFETENSORS } mnv2_source;

typedef struct {
    mnv2_source from;
    const char *src;    /* the file to import */
    int channels;       /* input channels of the stem: 1, 3, or 0 for the source's */
    const char *labels; /* class names, one per line; NULL: for tflite, imagenet_labels.txt beside src if readable */
    int padding;        /* mnv2_padding to record, or -1 for the source's (safetensors metadata, else torch) */
    int norm;           /* mnv2_norm to record, or -1 likewise (else imagenet) */
} mnv2_import_options;

/* The imported model and the metadata to write with it. */
typedef struct {
    mobilenetv2 net;
    char *class_names;  /* the labels joined by \n, or NULL */
    const char *meta[6]; /* (key, value) pairs for mobilenetv2_save: source, bn (tflite), class_names */
    int n_meta;
} mnv2_imported;

/* Read and convert o->src into *out (free with mnv2_imported_free, also after a failure). Errors: the
 * loaders' (AVEMO_EIO, AVEMO_EFORMAT naming the file, AVEMO_ENOMEM), a labels file that cannot be read or whose
 * line count is not the classifier's class count (AVEMO_EFORMAT naming it). meta refers to o->src. */
int mobilenetv2_import(const mnv2_import_options *o, mnv2_imported *out);
/* mobilenetv2_save with the import's metadata. */
int mnv2_imported_save(const mnv2_imported *imported, const char *path);
void mnv2_imported_free(mnv2_imported *imported);

#endif
