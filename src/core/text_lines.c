#include "core/text_lines.h"

#include "core/err.h"
#include "core/fileio.h"

#include <stdlib.h>
#include <string.h>

int text_lines_split(const char *text, char ***lines, int *n) {
    *n = 0;
    long count = 1;
    for (const char *p = text; *p; p++) count += *p == '\n';
    if (!(*lines = calloc((size_t)count + 1, sizeof **lines))) return avemo_error(AVEMO_ENOMEM, "out of memory");
    for (const char *p = text; *p;) {
        const char *newline = strchr(p, '\n');
        size_t len = newline ? (size_t)(newline - p) : strlen(p);
        while (len && (p[len - 1] == '\r' || p[len - 1] == ' ')) len--;
        if (!((*lines)[*n] = strndup(p, len))) {
            text_lines_free(*lines);
            *lines = NULL;
            *n = 0;
            return avemo_error(AVEMO_ENOMEM, "out of memory");
        }
        (*n)++;
        if (!newline) break;
        p = newline + 1;
    }
    return AVEMO_OK;
}

int text_lines_read(const char *path, char ***lines, int *n) {
    unsigned char *buf;
    size_t size;
    *lines = NULL;
    *n = 0;
    int st = file_read_all(path, (size_t)64 << 20, &buf, &size);
    if (st) return st;
    if (memchr(buf, 0, size)) st = avemo_error(AVEMO_EFORMAT, "%s: not a text file of labels", path);
    else st = text_lines_split((const char *)buf, lines, n);
    free(buf);
    return st;
}

void text_lines_free(char **lines) {
    if (!lines) return;
    for (char **p = lines; *p; p++) free(*p);
    free(lines);
}
