#include "model/mobilenetv2_import.h"

#include "core/err.h"
#include "core/text_lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The labels of `path`, which must be one per class, joined by \n into *names. */
static int read_class_names(const char *path, int n_classes, char **names) {
    char **labels;
    int n_labels, st = text_lines_read(path, &labels, &n_labels);
    if (st) return st;
    while (n_labels > 0 && !labels[n_labels - 1][0]) n_labels--; /* trailing empty lines */
    if (n_labels != n_classes) {
        st = avemo_error(AVEMO_EFORMAT, "%s: %d labels but the classifier has %d classes", path, n_labels, n_classes);
    } else {
        size_t len = 1;
        for (int i = 0; i < n_labels; i++) len += strlen(labels[i]) + 1;
        *names = calloc(len, 1);
        if (!*names) st = avemo_error(AVEMO_ENOMEM, "out of memory for %d labels", n_labels);
        for (int i = 0; *names && i < n_labels; i++) {
            strcat(*names, labels[i]);
            if (i + 1 < n_labels) strcat(*names, "\n");
        }
    }
    text_lines_free(labels);
    return st;
}

int mobilenetv2_import(const mnv2_import_options *o, mnv2_imported *out) {
    memset(out, 0, sizeof *out);
    int tflite = o->from == MNV2_SOURCE_TFLITE;
    int st = tflite ? mobilenetv2_from_tflite(&out->net, o->src, o->channels)
                    : mobilenetv2_from_file(&out->net, o->src, o->channels);
    if (st) return st;
    if (o->padding >= 0) out->net.padding = (mnv2_padding)o->padding;
    if (o->norm >= 0) out->net.norm = (mnv2_norm)o->norm;

    const char *labels = o->labels;
    char beside_src[4096];
    if (!labels && tflite) {
        const char *slash = strrchr(o->src, '/');
        int dir_len = slash ? (int)(slash - o->src) : 1;
        snprintf(beside_src, sizeof beside_src, "%.*s/imagenet_labels.txt", dir_len, slash ? o->src : ".");
        if (access(beside_src, R_OK) == 0) labels = beside_src;
    }
    if (labels && (st = read_class_names(labels, out->net.n_classes, &out->class_names)) != AVEMO_OK) return st;

    out->meta[2 * out->n_meta] = "source";
    out->meta[2 * out->n_meta++ + 1] = o->src;
    if (tflite) {
        out->meta[2 * out->n_meta] = "bn";
        out->meta[2 * out->n_meta++ + 1] = "folded in the source: weight 1, running_mean 0, running_var 1 - eps "
                                           "(var + eps == 1 in float32), bias = folded bias";
    }
    if (out->class_names) {
        out->meta[2 * out->n_meta] = "class_names";
        out->meta[2 * out->n_meta++ + 1] = out->class_names;
    }
    return AVEMO_OK;
}

int mnv2_imported_save(const mnv2_imported *imported, const char *path) {
    return mobilenetv2_save(&imported->net, path, imported->meta, imported->n_meta);
}

void mnv2_imported_free(mnv2_imported *imported) {
    mobilenetv2_free(&imported->net);
    free(imported->class_names);
    memset(imported, 0, sizeof *imported);
}
