#include "io/labels.h"

#include "core/err.h"
#include "core/fileio.h"

#include <stdlib.h>
#include <string.h>

char **labels_split_lines(const char *text, int *n) {
    *n = 0;
    long lines = 1;
    for (const char *p = text; *p; p++) lines += *p == '\n';
    char **out = calloc((size_t)lines + 1, sizeof *out);
    if (!out) {
        avemo_error(AVEMO_ENOMEM, "out of memory");
        return NULL;
    }
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t l = len;
        while (l && (p[l - 1] == '\r' || p[l - 1] == ' ')) l--;
        out[*n] = strndup(p, l);
        if (!out[*n]) {
            labels_free(out);
            avemo_error(AVEMO_ENOMEM, "out of memory");
            return NULL;
        }
        (*n)++;
        if (!e) break;
        p = e + 1;
    }
    return out;
}

char **labels_read_file(const char *path, int *n) {
    unsigned char *buf;
    size_t size;
    *n = 0;
    if (file_read_all(path, (size_t)64 << 20, &buf, &size)) return NULL;
    if (memchr(buf, 0, size)) {
        free(buf);
        avemo_error(AVEMO_EFORMAT, "%s: not a text file of labels", path);
        return NULL;
    }
    char **labels = labels_split_lines((const char *)buf, n);
    free(buf);
    return labels;
}

void labels_free(char **labels) {
    if (!labels) return;
    for (char **p = labels; *p; p++) free(*p);
    free(labels);
}
