/* The CLI's option parser. Each command declares an options struct and a table of its options (long name,
 * value kind, the struct field, the usage text); one parser fills the struct from argv and prints --help
 * from the same table.
 *
 *   --name value and --name=value; a flag takes no value; the value is the next argument whatever it looks
 *   like; `--` ends the options (everything after it is an input, even if it begins with -); "-" alone and
 *   every argument not beginning with - is an input; -h and --help print the usage on stdout.
 *   A usage error prints one line on stderr, "avemo CMD: ... (avemo CMD --help)", and gives exit status 2.
 *
 * A table is an array of cli_option ending with {0}, written with the CLI_* field macros below, e.g.
 *
 *   typedef struct { double order; int method; const char *in; } frft_args;
 *   static const cli_option frft_options[] = {
 *       {CLI_DOUBLE(frft_args, order, "--order", "A", CLI_ANY), .required = 1, .help = "FRFT order"},
 *       {CLI_CHOICE(frft_args, method, "--method", methods), .help = "fast: ...\ndirect: ..."},
 *       {0}};
 *
 * The macros check at compile time that the field has the type the kind writes. */
#ifndef AVEMO_CLI_CLI_ARGS_H
#define AVEMO_CLI_CLI_ARGS_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    CLI_KIND_NONE = 0, /* the {0} that ends a table */
    CLI_KIND_FLAG,     /* no value: the int field becomes .flag_value (1 unless given) */
    CLI_KIND_INT,      /* int field: a whole decimal integer in .range */
    CLI_KIND_U64,      /* uint64_t field: a whole unsigned decimal integer */
    CLI_KIND_FLOAT,    /* float field: a finite number in .range, rounded once to float (strtof) */
    CLI_KIND_DOUBLE,   /* double field: a finite number in .range */
    CLI_KIND_STRING,   /* const char * field: the value itself (it points into argv) */
    CLI_KIND_CHOICE,   /* int-sized field (an int or an enum): the value of the name in .choices */
    CLI_KIND_CUSTOM,   /* any field: .parse(value, field) returns an avemo status; its message is printed */
    CLI_KIND_INTS,     /* int array field: comma-separated integers in .range, their count in .count_offset */
    CLI_KIND_DOUBLES,  /* double array field: comma-separated finite numbers in .range, count as for INTS */
    CLI_KIND_INPUT_LIST /* no field: a file of inputs, one per line (empty lines skipped), appended to the
                           inputs where the option stands */
} cli_kind;

/* An interval for numbers and list elements; min_open / max_open exclude the end. */
typedef struct {
    double min, max;
    unsigned char min_open, max_open;
} cli_range;
/* Initializers, for the range argument of the macros below. */
#define CLI_ANY {-INFINITY, INFINITY, 0, 0}
#define CLI_IN(lo, hi) {(lo), (hi), 0, 0}       /* lo <= x <= hi */
#define CLI_IN_OPEN(lo, hi) {(lo), (hi), 1, 1}  /* lo < x < hi */
#define CLI_IN_FROM(lo, hi) {(lo), (hi), 0, 1}  /* lo <= x < hi */
#define CLI_IN_ABOVE(lo, hi) {(lo), (hi), 1, 0} /* lo < x <= hi */
#define CLI_AT_LEAST(lo) {(lo), INFINITY, 0, 0} /* x >= lo */
#define CLI_ABOVE(lo) {(lo), INFINITY, 1, 0}    /* x > lo */

/* One name of a CLI_KIND_CHOICE option and the value it stores; a list ends with {NULL, 0}. */
typedef struct {
    const char *name;
    int value;
} cli_choice;

typedef struct {
    const char *name;     /* "--order" */
    cli_kind kind;
    size_t offset;        /* of the field, from the start of the group's struct */
    const char *metavar;  /* the value in the usage ("A", "X.npy"); NULL for a choice: its names joined by | */
    const char *help;     /* lines separated by \n */
    int required;         /* the command does not run without it (listed in the usage line) */
    int flag_value;       /* CLI_KIND_FLAG: the value stored (1; 0 for a flag that turns something off) */
    cli_range range;      /* numbers and list elements */
    const cli_choice *choices;
    size_t count_offset;  /* lists: the int field that receives the element count */
    int max_count;        /* lists: at most this many elements */
    int (*parse)(const char *value, void *field); /* CLI_KIND_CUSTOM */
    const char *bad;      /* replaces the generated reason in "--name 'VALUE' <reason>" */
} cli_option;

/* Field offsets checked against the type the kind writes (a compile error otherwise). */
#define CLI_FIELD_OF(T, f, type) _Generic(((T *)0)->f, type: offsetof(T, f))
#define CLI_FIELD_SIZED(T, f, size) (offsetof(T, f) + 0 * sizeof(char[sizeof(((T *)0)->f) == (size) ? 1 : -1]))

#define CLI_FLAG(T, f, opt) .name = (opt), .kind = CLI_KIND_FLAG, .offset = CLI_FIELD_OF(T, f, int), .flag_value = 1
#define CLI_FLAG_VALUE(T, f, opt, value)                                                                        \
    .name = (opt), .kind = CLI_KIND_FLAG, .offset = CLI_FIELD_OF(T, f, int), .flag_value = (value)
#define CLI_INT(T, f, opt, meta, r)                                                                             \
    .name = (opt), .kind = CLI_KIND_INT, .offset = CLI_FIELD_OF(T, f, int), .metavar = (meta), .range = r
#define CLI_U64(T, f, opt, meta)                                                                                \
    .name = (opt), .kind = CLI_KIND_U64, .offset = CLI_FIELD_OF(T, f, uint64_t), .metavar = (meta)
#define CLI_FLOAT(T, f, opt, meta, r)                                                                           \
    .name = (opt), .kind = CLI_KIND_FLOAT, .offset = CLI_FIELD_OF(T, f, float), .metavar = (meta), .range = r
#define CLI_DOUBLE(T, f, opt, meta, r)                                                                          \
    .name = (opt), .kind = CLI_KIND_DOUBLE, .offset = CLI_FIELD_OF(T, f, double), .metavar = (meta), .range = r
#define CLI_STRING(T, f, opt, meta)                                                                             \
    .name = (opt), .kind = CLI_KIND_STRING, .offset = CLI_FIELD_OF(T, f, const char *), .metavar = (meta)
#define CLI_CHOICE(T, f, opt, list)                                                                             \
    .name = (opt), .kind = CLI_KIND_CHOICE, .offset = CLI_FIELD_SIZED(T, f, sizeof(int)), .choices = (list)
#define CLI_CUSTOM(T, f, opt, meta, fn)                                                                         \
    .name = (opt), .kind = CLI_KIND_CUSTOM, .offset = offsetof(T, f), .metavar = (meta), .parse = (fn)
#define CLI_INTS(T, f, count, max, opt, meta, r)                                                                \
    .name = (opt), .kind = CLI_KIND_INTS, .offset = CLI_FIELD_OF(T, f, int *), .metavar = (meta), .range = r,  \
    .count_offset = CLI_FIELD_OF(T, count, int),                                                               \
    .max_count = (max) + 0 * (int)sizeof(char[sizeof(((T *)0)->f) >= (max) * sizeof(int) ? 1 : -1])
#define CLI_DOUBLES(T, f, count, max, opt, meta, r)                                                             \
    .name = (opt), .kind = CLI_KIND_DOUBLES, .offset = CLI_FIELD_OF(T, f, double *), .metavar = (meta),        \
    .range = r, .count_offset = CLI_FIELD_OF(T, count, int),                                                   \
    .max_count = (max) + 0 * (int)sizeof(char[sizeof(((T *)0)->f) >= (max) * sizeof(double) ? 1 : -1])
#define CLI_INPUT_LIST(opt, meta) .name = (opt), .kind = CLI_KIND_INPUT_LIST, .metavar = (meta)

/* A numeric macro as a string, for the defaults in help texts: "(default " CLI_STR(AVEMO_MFCC_N_MFCC) ")". */
#define CLI_STR(x) CLI_STR_(x)
#define CLI_STR_(x) #x

/* A table of options whose offsets count from `base` in the command's struct (so one table, e.g. the
 * training options, serves several commands), under a heading in the usage. */
typedef struct {
    const char *title;         /* NULL: "options:" */
    const cli_option *options; /* ends with {0} */
    size_t base;
} cli_group;

#define CLI_MAX_GROUPS 6
#define CLI_MAX_OPTIONS 64 /* per command, all groups together */

typedef struct {
    const char *name;      /* "frft", as typed */
    const char *inputs;    /* the inputs in the usage ("SRC", "INPUT..."); NULL: the command takes none */
    int min_inputs;        /* fewer: a usage error naming `inputs` among the required */
    int max_inputs;        /* more: "unexpected argument"; 0 = no limit when `inputs` is set */
    const char *about;     /* printed after the usage line */
    const char *footer;    /* printed after the options */
    cli_group groups[CLI_MAX_GROUPS];
} cli_command;

/* The positional inputs, in order (own copies). */
typedef struct {
    char **items;
    int n, cap;
} cli_inputs;
void cli_inputs_free(cli_inputs *inputs);

#define CLI_RUN (-1)
/* Fill `args` (holding the command's defaults) from argv[1..argc-1], and `inputs` (overwritten; NULL when the
 * command takes none; free it with cli_inputs_free). Returns CLI_RUN when the command should run; otherwise the exit status
 * to return: 0 after --help (usage on stdout), 2 after a usage error (one line on stderr), 1 when out of
 * memory. */
int cli_parse(const cli_command *cmd, int argc, char **argv, void *args, cli_inputs *inputs);

/* The same without printing: a usage error's line (without "avemo CMD: " and the newline) goes to err. */
int cli_parse_quiet(const cli_command *cmd, int argc, char **argv, void *args, cli_inputs *inputs, char *err,
                    size_t err_size);

/* The usage generated from the table. */
void cli_usage(FILE *f, const cli_command *cmd);

#endif
