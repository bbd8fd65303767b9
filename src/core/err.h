/* Error reporting inside the library: return an avemo_status and record a one-line message. */
#ifndef AVEMO_CORE_ERR_H
#define AVEMO_CORE_ERR_H

#include "avemo.h"

#include <stddef.h>

/* Record a printf-style message for this thread and return `status` (so: `return avemo_error(...)`). The message is
 * kept on one line and safe for a terminal: control characters (a file name's newline, an escape sequence) are
 * written as \n, \t, \xNN (text_escape_control). */
int avemo_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the current message with "prefix: " (e.g. a file name), return `status`. */
int avemo_error_prefix(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 for a failure that is the machine's or a bug (AVEMO_ENOMEM, AVEMO_EWRITE: an output that cannot be written,
 * AVEMO_EINTERNAL), 0 for one that is the input's or the caller's: a job over many inputs stops on the first, and
 * the CLI exits 1 for it, 2 for the others. */
int avemo_error_is_runtime(int status);
/* src with every control character (< 0x20, 0x7f) written as \n, \r, \t or \xNN, into dst (cap bytes, always
 * terminated, cut short when full). */
void text_escape_control(char *dst, size_t cap, const char *src);

#endif
