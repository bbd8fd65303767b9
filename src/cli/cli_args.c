#include "cli/cli_args.h"

#include "avemo.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CLI_MAX_INPUTS 10000000 /* positional inputs and lines of input lists together */
#define HELP_COLUMN 28          /* where the help text of an option starts in the usage */

typedef struct {
    char *text;
    size_t size;
} message;

static int fail(message *m, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(message *m, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (m->size) vsnprintf(m->text, m->size, fmt, ap);
    va_end(ap);
    return status;
}

void cli_inputs_free(cli_inputs *inputs) {
    if (!inputs) return;
    for (int i = 0; i < inputs->n; i++) free(inputs->items[i]);
    free(inputs->items);
    memset(inputs, 0, sizeof *inputs);
}

static int inputs_push(cli_inputs *inputs, const char *s, size_t len) {
    if (inputs->n >= CLI_MAX_INPUTS) return -1;
    if (inputs->n == inputs->cap) {
        int cap = inputs->cap ? 2 * inputs->cap : 64;
        char **items = realloc(inputs->items, (size_t)cap * sizeof *items);
        if (!items) return -1;
        inputs->items = items;
        inputs->cap = cap;
    }
    if (!(inputs->items[inputs->n] = strndup(s, len))) return -1;
    inputs->n++;
    return 0;
}

/* The lines of `path` (without \n or \r\n; empty lines skipped) appended to the inputs. */
static int read_input_list(const char *path, cli_inputs *inputs, message *m) {
    FILE *f = fopen(path, "r");
    if (!f) return fail(m, 2, "%s: cannot open input list: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int status = CLI_RUN;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        if (len == 0) continue;
        if (inputs_push(inputs, line, (size_t)len)) {
            status = fail(m, 1, "%s: too many inputs or out of memory", path);
            break;
        }
    }
    free(line);
    fclose(f);
    return status;
}

/* ---- numbers ---- */

static int in_range(double x, const cli_range *r) {
    return (r->min_open ? x > r->min : x >= r->min) && (r->max_open ? x < r->max : x <= r->max);
}

/* The integer bounds of a range, clamped to int. */
static void int_bounds(const cli_range *r, long long *lo, long long *hi) {
    double a = r->min_open ? floor(r->min) + 1 : ceil(r->min), b = r->max_open ? ceil(r->max) - 1 : floor(r->max);
    *lo = a < INT_MIN ? INT_MIN : (long long)a;
    *hi = b > INT_MAX ? INT_MAX : (long long)b;
}

static int parse_int(const char *s, const cli_range *r, int *v) {
    long long lo, hi;
    int_bounds(r, &lo, &hi);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end || errno || x < lo || x > hi) return 0;
    *v = (int)x;
    return 1;
}

static int parse_real(const char *s, const cli_range *r, int as_float, double *v) {
    char *end;
    double x = as_float ? (double)strtof(s, &end) : strtod(s, &end);
    if (end == s || *end || !isfinite(x) || !in_range(x, r)) return 0;
    *v = x;
    return 1;
}

/* "an integer in 1..128", "a number in (0, 3600]", "a number > 0", "a finite number" */
static void describe_range(char *out, size_t size, const cli_range *r, int integer, int plural) {
    const char *what = integer ? (plural ? "integers" : "an integer") : (plural ? "numbers" : "a number");
    if (integer) {
        long long lo, hi;
        int_bounds(r, &lo, &hi);
        if (lo > INT_MIN && hi < INT_MAX) snprintf(out, size, "%s in %lld..%lld", what, lo, hi);
        else if (lo > INT_MIN) snprintf(out, size, "%s >= %lld", what, lo);
        else if (hi < INT_MAX) snprintf(out, size, "%s <= %lld", what, hi);
        else snprintf(out, size, "%s", what);
    } else if (isfinite(r->min) && isfinite(r->max)) {
        snprintf(out, size, "%s in %c%g, %g%c", what, r->min_open ? '(' : '[', r->min, r->max, r->max_open ? ')' : ']');
    } else if (isfinite(r->min)) {
        snprintf(out, size, "%s %s %g", what, r->min_open ? ">" : ">=", r->min);
    } else if (isfinite(r->max)) {
        snprintf(out, size, "%s %s %g", what, r->max_open ? "<" : "<=", r->max);
    } else {
        snprintf(out, size, "%s", plural ? "finite numbers" : "a finite number");
    }
}

/* "1,2,3" into the option's array and count; 0 when an element is bad, missing or one too many. */
static int parse_list(const char *s, const cli_option *o, char *args) {
    int n = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        if (len == 0 || len >= sizeof item || n == o->max_count) return 0;
        memcpy(item, p, len);
        item[len] = 0;
        if (o->kind == CLI_KIND_INTS) {
            if (!parse_int(item, &o->range, (int *)(void *)(args + o->offset) + n)) return 0;
        } else if (!parse_real(item, &o->range, 0, (double *)(void *)(args + o->offset) + n)) {
            return 0;
        }
        n++;
        if (!comma) break;
        p = comma + 1;
    }
    *(int *)(void *)(args + o->count_offset) = n;
    return 1;
}

/* ---- choices ---- */

/* "a, b or c" (sep NULL) or "a|b|c" */
static void join_choices(char *out, size_t size, const cli_choice *c, const char *sep) {
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; c[i].name && used < size; i++) {
        const char *s = i == 0 ? "" : sep ? sep : c[i + 1].name ? ", " : " or ";
        used += (size_t)snprintf(out + used, size - used, "%s%s", s, c[i].name);
    }
}

static int choose(const cli_choice *c, const char *s, int *v) {
    for (int i = 0; c[i].name; i++)
        if (!strcmp(c[i].name, s)) {
            *v = c[i].value;
            return 1;
        }
    return 0;
}

/* ---- one option ---- */

/* Store `value` in the field of option o (args: the group's struct). */
static int apply(const cli_option *o, const char *value, char *args, message *m) {
    void *field = args + o->offset;
    char want[256] = "";
    int ok = 1;
    double x;
    switch (o->kind) {
    case CLI_KIND_INT:
        ok = parse_int(value, &o->range, field);
        if (!ok) describe_range(want, sizeof want, &o->range, 1, 0);
        break;
    case CLI_KIND_U64: {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(value, &end, 10);
        ok = value[0] >= '0' && value[0] <= '9' && !*end && !errno;
        if (ok) *(uint64_t *)field = u;
        else snprintf(want, sizeof want, "a non-negative integer");
        break;
    }
    case CLI_KIND_FLOAT:
    case CLI_KIND_DOUBLE:
        ok = parse_real(value, &o->range, o->kind == CLI_KIND_FLOAT, &x);
        if (ok && o->kind == CLI_KIND_FLOAT) *(float *)field = (float)x;
        else if (ok) *(double *)field = x;
        else describe_range(want, sizeof want, &o->range, 0, 0);
        break;
    case CLI_KIND_STRING: *(const char **)field = value; break;
    case CLI_KIND_CHOICE:
        if (!choose(o->choices, value, field)) {
            char names[256];
            join_choices(names, sizeof names, o->choices, NULL);
            if (o->bad) return fail(m, 2, "%s '%s' %s", o->name, value, o->bad);
            return fail(m, 2, "%s '%s' unknown (%s)", o->name, value, names);
        }
        break;
    case CLI_KIND_CUSTOM:
        if (o->parse(value, field) != AVEMO_OK) {
            if (o->bad) return fail(m, 2, "%s '%s' %s", o->name, value, o->bad);
            return fail(m, 2, "%s: %s", o->name, avemo_last_error());
        }
        break;
    case CLI_KIND_INTS:
    case CLI_KIND_DOUBLES:
        ok = parse_list(value, o, args);
        if (!ok) {
            char each[128];
            describe_range(each, sizeof each, &o->range, o->kind == CLI_KIND_INTS, 1);
            snprintf(want, sizeof want, "a comma-separated list of at most %d %s", o->max_count, each);
        }
        break;
    default: return fail(m, 1, "%s: option kind %d cannot take a value", o->name, (int)o->kind);
    }
    if (ok) return CLI_RUN;
    if (o->bad) return fail(m, 2, "%s '%s' %s", o->name, value, o->bad);
    return fail(m, 2, "%s '%s' is not %s", o->name, value, want);
}

/* ---- the command line ---- */

typedef struct {
    const cli_option *option;
    size_t base;
    int index; /* over all groups: the slot in `given` */
} found_option;

static int find_option(const cli_command *cmd, const char *name, size_t len, found_option *out) {
    int index = 0;
    for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++)
        for (const cli_option *o = cmd->groups[g].options; o->name; o++, index++)
            if (strlen(o->name) == len && !strncmp(o->name, name, len)) {
                *out = (found_option){o, cmd->groups[g].base, index};
                return 1;
            }
    return 0;
}

static int count_options(const cli_command *cmd) {
    int n = 0;
    for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++)
        for (const cli_option *o = cmd->groups[g].options; o->name; o++) n++;
    return n;
}

/* "--name META" (a choice's names as META) */
static void option_synopsis(char *out, size_t size, const cli_option *o) {
    char names[256] = "";
    const char *meta = o->metavar;
    if (!meta && o->kind == CLI_KIND_CHOICE) {
        join_choices(names, sizeof names, o->choices, "|");
        meta = names;
    }
    snprintf(out, size, "%s%s%s", o->name, meta ? " " : "", meta ? meta : "");
}

/* "--order A, --in X.npy and --out Y.npy are required", when one of them (or an input) is missing */
static int check_required(const cli_command *cmd, const unsigned char *given, int n_inputs, message *m) {
    const char *items[CLI_MAX_OPTIONS + 1];
    char synopses[CLI_MAX_OPTIONS][128];
    int n = 0, missing = cmd->inputs && n_inputs < cmd->min_inputs, index = 0;
    for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++)
        for (const cli_option *o = cmd->groups[g].options; o->name; o++, index++) {
            if (!o->required) continue;
            missing |= !given[index];
            option_synopsis(synopses[n], sizeof synopses[n], o);
            items[n] = synopses[n];
            n++;
        }
    if (cmd->inputs && cmd->min_inputs > 0) items[n++] = cmd->inputs;
    if (!missing) return CLI_RUN;
    char list[2048] = "";
    size_t used = 0;
    for (int i = 0; i < n && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i == 0 ? "" : i + 1 < n ? ", " : " and ",
                                 items[i]);
    return fail(m, 2, "%s %s required (avemo %s --help)", list, n > 1 ? "are" : "is", cmd->name);
}

/* One argument that begins with "--" or "-" (not "--" itself): an option, maybe taking argv[*i + 1]. */
static int parse_option(const cli_command *cmd, int argc, char **argv, int *i, char *args, cli_inputs *inputs,
                        unsigned char *given, message *m) {
    const char *arg = argv[*i], *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    found_option f;
    if (!find_option(cmd, arg, len, &f)) return fail(m, 2, "unknown argument '%s' (avemo %s --help)", arg, cmd->name);
    const cli_option *o = f.option;
    given[f.index] = 1;
    if (o->kind == CLI_KIND_FLAG) {
        if (eq) return fail(m, 2, "option '%s' takes no value (avemo %s --help)", o->name, cmd->name);
        *(int *)(void *)(args + f.base + o->offset) = o->flag_value;
        return CLI_RUN;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (!value) {
        if (*i + 1 >= argc) return fail(m, 2, "missing value for '%s' (avemo %s --help)", o->name, cmd->name);
        value = argv[++*i];
    }
    if (o->kind == CLI_KIND_INPUT_LIST) {
        if (!inputs) return fail(m, 1, "%s: this command takes no inputs", o->name);
        return read_input_list(value, inputs, m);
    }
    return apply(o, value, args + f.base, m);
}

int cli_parse_quiet(const cli_command *cmd, int argc, char **argv, void *args, cli_inputs *inputs, char *err,
                    size_t err_size) {
    message m = {err, err_size};
    if (err_size) err[0] = 0;
    if (inputs) memset(inputs, 0, sizeof *inputs);
    int n_options = count_options(cmd);
    if (n_options > CLI_MAX_OPTIONS) return fail(&m, 1, "%d options (at most %d)", n_options, CLI_MAX_OPTIONS);
    unsigned char given[CLI_MAX_OPTIONS] = {0};
    int only_inputs = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int status = CLI_RUN;
        if (only_inputs || arg[0] != '-' || arg[1] == 0) {
            int n_inputs = inputs ? inputs->n : 0;
            if (!cmd->inputs || !inputs || (cmd->max_inputs > 0 && n_inputs >= cmd->max_inputs))
                return fail(&m, 2, "unknown argument '%s' (avemo %s --help)", arg, cmd->name);
            if (inputs_push(inputs, arg, strlen(arg))) return fail(&m, 1, "out of memory");
        } else if (!strcmp(arg, "--")) {
            only_inputs = 1;
        } else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            return 0;
        } else {
            status = parse_option(cmd, argc, argv, &i, args, inputs, given, &m);
        }
        if (status != CLI_RUN) return status;
    }
    return check_required(cmd, given, inputs ? inputs->n : 0, &m);
}

int cli_parse(const cli_command *cmd, int argc, char **argv, void *args, cli_inputs *inputs) {
    char err[4096];
    int status = cli_parse_quiet(cmd, argc, argv, args, inputs, err, sizeof err);
    if (status == 0) cli_usage(stdout, cmd);
    else if (status != CLI_RUN) fprintf(stderr, "avemo %s: %s\n", cmd->name, err);
    if (status != CLI_RUN && inputs) cli_inputs_free(inputs);
    return status;
}

/* ---- usage ---- */

/* "  --name META" then the help at HELP_COLUMN, its further lines indented to the same column. */
static void print_option(FILE *f, const char *synopsis, const char *help) {
    int width = fprintf(f, "  %s", synopsis);
    if (!help || !*help) {
        fputc('\n', f);
        return;
    }
    if (width + 2 > HELP_COLUMN) width = fprintf(f, "\n") - 1;
    fprintf(f, "%*s", HELP_COLUMN - width, "");
    for (const char *p = help; *p; p++) {
        fputc(*p, f);
        if (*p == '\n' && p[1]) fprintf(f, "%*s", HELP_COLUMN, "");
    }
    fputc('\n', f);
}

void cli_usage(FILE *f, const cli_command *cmd) {
    int has_optional = 0;
    fprintf(f, "usage: avemo %s", cmd->name);
    for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++)
        for (const cli_option *o = cmd->groups[g].options; o->name; o++) {
            char synopsis[256];
            option_synopsis(synopsis, sizeof synopsis, o);
            if (o->required) fprintf(f, " %s", synopsis);
            else has_optional = 1;
        }
    if (has_optional) fprintf(f, " [options]");
    if (cmd->inputs) fprintf(f, cmd->min_inputs > 0 ? " %s" : " [%s]", cmd->inputs);
    fprintf(f, "\n");
    if (cmd->about) fprintf(f, "%s", cmd->about);
    for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++) {
        fprintf(f, "\n%s\n", cmd->groups[g].title ? cmd->groups[g].title : "options:");
        for (const cli_option *o = cmd->groups[g].options; o->name; o++) {
            char synopsis[256];
            option_synopsis(synopsis, sizeof synopsis, o);
            print_option(f, synopsis, o->help);
        }
    }
    if (cmd->inputs) print_option(f, "--", "ends the options: what follows are inputs, even those beginning with -");
    print_option(f, "-h, --help", "this help");
    if (cmd->footer) fprintf(f, "\n%s", cmd->footer);
}
