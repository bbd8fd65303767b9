/* Text split into lines: label files (one class name per line) and newline-joined metadata strings. */
#ifndef AVEMO_CORE_TEXT_LINES_H
#define AVEMO_CORE_TEXT_LINES_H

/* *lines = the lines of `text` (split at \n, trailing \r and spaces removed; a final newline ends the last
 * line) as a NULL-terminated malloc'd array, *n = their count. Errors: AVEMO_ENOMEM (*lines NULL). */
int text_lines_split(const char *text, char ***lines, int *n);
/* The same for a text file of at most 64 MiB: also AVEMO_EIO, or AVEMO_EFORMAT when it holds a NUL byte. */
int text_lines_read(const char *path, char ***lines, int *n);
void text_lines_free(char **lines);

#endif
