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

int avemo_error(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, ERR_MAX, fmt, ap);
    va_end(ap);
    return status;
}

int avemo_error_prefix(int status, const char *fmt, ...) {
    char prefix[ERR_MAX], old[ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, ERR_MAX, fmt, ap);
    va_end(ap);
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
