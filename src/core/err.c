#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERR_MAX 1024
static _Thread_local char err_msg[ERR_MAX];

const char *avemo_last_error(void) { return err_msg; }

const char *avemo_status_name(int status) {
    switch (status) {
    case AVEMO_OK: return "ok";
    case AVEMO_EINVAL: return "invalid argument";
    case AVEMO_EIO: return "i/o error";
    case AVEMO_EFORMAT: return "bad file format";
    case AVEMO_ENOMEM: return "out of memory";
    case AVEMO_EDECODE: return "decode error";
    case AVEMO_EUNSUP: return "unsupported";
    case AVEMO_EINTERNAL: return "internal error";
    case AVEMO_EWRITE: return "write error";
    default: return "unknown error";
    }
}

void text_escape_control(char *dst, size_t cap, const char *src) {
    size_t n = 0;
    for (; *src && cap; src++) {
        unsigned char ch = (unsigned char)*src;
        char esc[5] = {(char)ch, 0};
        if (ch == '\n' || ch == '\r' || ch == '\t')
            esc[0] = '\\', esc[1] = ch == '\n' ? 'n' : ch == '\r' ? 'r' : 't';
        else if (ch < 0x20 || ch == 0x7f)
            esc[0] = '\\', esc[1] = 'x', esc[2] = "0123456789abcdef"[ch >> 4], esc[3] = "0123456789abcdef"[ch & 15];
        size_t k = strlen(esc);
        if (n + k >= cap) break;
        memcpy(dst + n, esc, k);
        n += k;
    }
    if (cap) dst[n] = 0;
}

int avemo_error(int status, const char *fmt, ...) {
    char raw[ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, ERR_MAX, fmt, ap);
    va_end(ap);
    text_escape_control(err_msg, ERR_MAX, raw);
    return status;
}

int avemo_error_prefix(int status, const char *fmt, ...) {
    char raw[ERR_MAX], prefix[ERR_MAX], old[ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, ERR_MAX, fmt, ap);
    va_end(ap);
    text_escape_control(prefix, ERR_MAX, raw);
    memcpy(old, err_msg, ERR_MAX);
    size_t n = strnlen(prefix, ERR_MAX / 2 - 3);
    memcpy(err_msg, prefix, n);
    memcpy(err_msg + n, ": ", 2);
    size_t m = strnlen(old, ERR_MAX - n - 3);
    memcpy(err_msg + n + 2, old, m);
    err_msg[n + 2 + m] = 0;
    return status;
}

int avemo_error_is_runtime(int status) {
    return status == AVEMO_ENOMEM || status == AVEMO_EINTERNAL || status == AVEMO_EWRITE;
}
