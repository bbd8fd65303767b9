/* What the commands share besides the option parser (cli/cli_args.h): the one mapping from a library status to
 * the exit status, and the library's log lines on stderr.
 *
 * Exit status (the README's table, the same for every command): 0 ok; 1 a runtime failure (avemo_error_is_runtime:
 * out of memory, an output that cannot be written (disk full, read-only folder), a bug); 2 bad input or usage (one
 * line on stderr, naming the file or option). */
#ifndef AVEMO_CLI_CLI_UTIL_H
#define AVEMO_CLI_CLI_UTIL_H

/* 0 for AVEMO_OK, 1 for a runtime failure, 2 for any other failure (the input's or the options'). */
int cli_exit_status(int status);

/* Prints "avemo CMD: <avemo_last_error()>" on stderr; returns cli_exit_status(status). */
int cli_fail(const char *cmd, int status);

/* Prints "avemo CMD: <message>" on stderr (a usage error the parser cannot see, such as options that do not go
 * together); returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A library log callback (train_options.log) that writes each line to stderr. */
void cli_log_stderr(const char *line, void *ctx);

#endif
