/* Helpers shared by the commands. cli_opt_value, cli_bad_arg and cli_parse_int serve the commands that do not
 * use the table-driven parser (cli/cli_args.h) yet: features, prep, embed, classify-imagenet. */
#ifndef AVEMO_CLI_CLI_UTIL_H
#define AVEMO_CLI_CLI_UTIL_H

/* --name value or --name=value; returns the value, or NULL when argv[*i] is not --name (sets *missing when the
 * value is absent). Advances *i past a separate value. */
const char *cli_opt_value(int argc, char **argv, int *i, const char *name, int *missing);

/* Prints "avemo CMD: missing value for 'ARG' (avemo CMD --help)" (or "unknown argument 'ARG'") on stderr;
 * returns 2, the exit code for bad usage. */
int cli_bad_arg(const char *cmd, const char *arg, int missing);

/* Parses s, a whole decimal integer in lo..hi, into *v: 1 on success, 0 otherwise (*v untouched). */
int cli_parse_int(const char *s, int lo, int hi, int *v);

/* A library log callback (train_options.log) that writes each line to stderr. */
void cli_log_stderr(const char *line, void *ctx);

#endif
