#include "cli/cli_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_opt_value(int argc, char **argv, int *i, const char *name, int *missing) {
    size_t len = strlen(name);
    if (strncmp(argv[*i], name, len) != 0) return NULL;
    if (argv[*i][len] == '=') return argv[*i] + len + 1;
    if (argv[*i][len] != 0) return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int cli_bad_arg(const char *cmd, const char *arg, int missing) {
    const char *what = missing ? "missing value for" : "unknown argument";
    fprintf(stderr, "avemo %s: %s '%s' (avemo %s --help)\n", cmd, what, arg, cmd);
    return 2;
}

int cli_parse_int(const char *s, int lo, int hi, int *v) {
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (end == s || *end || errno || x < lo || x > hi) return 0;
    *v = (int)x;
    return 1;
}

void cli_log_stderr(const char *line, void *ctx) {
    (void)ctx;
    fprintf(stderr, "%s\n", line);
}
