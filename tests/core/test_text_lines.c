/* Tests of core/text_lines.c: line splitting (\r\n, trailing spaces, empty lines, final newline) and file errors. */
#include "test.h"

#include "avemo.h"
#include "core/text_lines.h"

#include <string.h>

static void test_split(void) {
    char **lines;
    int n;
    CHECK(text_lines_split("a\r\nb  \n\nc", &lines, &n) == AVEMO_OK, "split");
    CHECK(n == 4 && !strcmp(lines[0], "a") && !strcmp(lines[1], "b") && !strcmp(lines[2], "") &&
              !strcmp(lines[3], "c") && lines[4] == NULL,
          "%d lines", n);
    text_lines_free(lines);
    CHECK(text_lines_split("x\n", &lines, &n) == AVEMO_OK && n == 1 && !strcmp(lines[0], "x"), "final newline");
    text_lines_free(lines);
    CHECK(text_lines_split("", &lines, &n) == AVEMO_OK && n == 0 && lines[0] == NULL, "empty text");
    text_lines_free(lines);
}

static void test_read(void) {
    char path[600];
    snprintf(path, sizeof path, "%s/labels.txt", test_tmpdir());
    FILE *f = fopen(path, "wb");
    if (f) fputs("cat\ndog\n", f), fclose(f);
    char **lines;
    int n;
    CHECK(text_lines_read(path, &lines, &n) == AVEMO_OK && n == 2 && !strcmp(lines[1], "dog"), "read");
    text_lines_free(lines);
    f = fopen(path, "wb");
    if (f) fwrite("a\0b", 1, 3, f), fclose(f);
    CHECK(text_lines_read(path, &lines, &n) == AVEMO_EFORMAT && lines == NULL && strstr(avemo_last_error(), path),
          "NUL byte: %s", avemo_last_error());
    snprintf(path, sizeof path, "%s/missing.txt", test_tmpdir());
    CHECK(text_lines_read(path, &lines, &n) == AVEMO_EIO && lines == NULL, "missing file");
}

int main(void) {
    RUN(test_split);
    RUN(test_read);
    return test_summary();
}
