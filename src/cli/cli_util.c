#include "cli/cli_util.h"

#include "core/dist.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>

int cli_exit_status(int status) {
    if (status == AVEMO_OK) return 0;
    return avemo_error_is_runtime(status) ? 1 : 2;
}

/* Under MPI the library agrees on failures (core/dist.h: dist_agree), so every rank holds the same message:
 * rank 0 prints it. */
int cli_fail(const char *cmd, int status) {
    if (dist_rank() == 0) fprintf(stderr, "avemo %s: %s\n", cmd, avemo_last_error());
    return cli_exit_status(status);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "avemo %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

void cli_log_stderr(const char *line, void *ctx) {
    (void)ctx;
    if (dist_size() > 1) fprintf(stderr, "rank %d: %s\n", dist_rank(), line);
    else fprintf(stderr, "%s\n", line);
}
