/* Tests of the CLI's option parser (src/cli/cli_args.c): every value kind with its ranges and errors, --name=value
 * and --name value, `--`, inputs and input lists, required options, groups at an offset, the generated usage.
 * The parser belongs to the avemo binary, not to libavemo, so it is compiled into this test. */
#include "test.h"

#include "cli/cli_args.c"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int level;
} inner_args;

typedef struct {
    int flag, off;
    int count;
    uint64_t seed;
    float rate;
    double ratio, window;
    const char *out, *name;
    int mode;
    int custom;
    int steps[4], n_steps;
    double orders[3];
    int n_orders;
    inner_args inner;
} test_args;

static const cli_choice modes[] = {{"fast", 10}, {"slow", 20}, {"off", 0}, {NULL, 0}};

/* accepts "even" numbers only; the message says why not */
static int parse_even(const char *v, void *field) {
    int x = atoi(v);
    if (x % 2) return avemo_error(AVEMO_EINVAL, "%d is odd", x);
    *(int *)field = x;
    return AVEMO_OK;
}

static const cli_option main_options[] = {
    {CLI_FLAG(test_args, flag, "--flag"), .help = "a flag"},
    {CLI_FLAG_VALUE(test_args, off, "--no-off", 0), .help = "clears off"},
    {CLI_INT(test_args, count, "--count", "N", CLI_IN(1, 128)), .help = "count"},
    {CLI_U64(test_args, seed, "--seed", "S"), .help = "seed"},
    {CLI_FLOAT(test_args, rate, "--rate", "X", CLI_ABOVE(0)), .help = "rate"},
    {CLI_DOUBLE(test_args, ratio, "--ratio", "R", CLI_IN_FROM(0, 1)), .help = "ratio"},
    {CLI_DOUBLE(test_args, window, "--window", "S", CLI_ANY), .help = "window"},
    {CLI_STRING(test_args, out, "--out", "FILE"), .required = 1, .help = "output\nsecond line"},
    {CLI_STRING(test_args, name, "--a-rather-long-option-name", "VALUE"), .help = "long"},
    {CLI_CHOICE(test_args, mode, "--mode", modes), .help = "mode"},
    {CLI_CHOICE(test_args, mode, "--mode2", modes), .bad = "must be fast, slow or off", .help = "mode"},
    {CLI_CUSTOM(test_args, custom, "--even", "N", parse_even), .help = "even"},
    {CLI_INTS(test_args, steps, n_steps, 4, "--steps", "A,B", CLI_AT_LEAST(0)), .help = "steps"},
    {CLI_DOUBLES(test_args, orders, n_orders, 3, "--orders", "A,B", CLI_ANY), .help = "orders"},
    {CLI_INPUT_LIST("--list", "FILE"), .help = "inputs from FILE"},
    {0}};

static const cli_option inner_options[] = {{CLI_INT(inner_args, level, "--level", "L", CLI_ANY), .help = "level"},
                                           {0}};

static const cli_command command = {
    .name = "test",
    .inputs = "INPUT...",
    .min_inputs = 1,
    .max_inputs = 3,
    .about = "  About text.\n",
    .footer = "Footer text.\n",
    .groups = {{NULL, main_options, 0}, {"inner options:", inner_options, offsetof(test_args, inner)}},
};

static const cli_command no_inputs = {.name = "none", .groups = {{NULL, main_options, 0}}};

static char err[1024];
static cli_inputs inputs;

/* Parse a space-separated command line (no quoting) after the command name. */
static int parse(const cli_command *cmd, test_args *a, const char *line) {
    char buf[1024], *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    argv[argc++] = (char *)cmd->name;
    for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " ")) argv[argc++] = t;
    argv[argc] = NULL;
    memset(a, 0, sizeof *a);
    a->off = 1;
    cli_inputs_free(&inputs);
    return cli_parse_quiet(cmd, argc, argv, a, cmd->inputs ? &inputs : NULL, err, sizeof err);
}

/* A usage error (exit 2) whose message contains `want`. */
#define BAD(line, want)                                                                                            \
    do {                                                                                                           \
        test_args a_;                                                                                              \
        int st_ = parse(&command, &a_, line);                                                                      \
        CHECK(st_ == 2 && strstr(err, want), "'%s': status %d, message '%s' (want '%s')", line, st_, err, want); \
    } while (0)

static void test_kinds(void) {
    test_args a;
    int st = parse(&command, &a,
                   "--flag --no-off --count 128 --seed 18446744073709551615 --rate 0.1 --ratio 0 --window -2.5 "
                   "--out o.npy --a-rather-long-option-name v --mode slow --even 4 --steps 0,5,7 --orders 0.5,-1 "
                   "--level -3 in.wav");
    CHECK(st == CLI_RUN, "status %d: %s", st, err);
    CHECK(a.flag == 1 && a.off == 0 && a.count == 128 && a.seed == UINT64_MAX, "flag, flag 0, int, u64");
    CHECK(a.rate == 0.1f && a.ratio == 0 && a.window == -2.5, "float rounded once (%.9g), doubles", (double)a.rate);
    CHECK(!strcmp(a.out, "o.npy") && !strcmp(a.name, "v") && a.mode == 20 && a.custom == 4, "string, choice, custom");
    CHECK(a.n_steps == 3 && a.steps[0] == 0 && a.steps[1] == 5 && a.steps[2] == 7, "int list");
    CHECK(a.n_orders == 2 && a.orders[0] == 0.5 && a.orders[1] == -1, "double list");
    CHECK(a.inner.level == -3, "option of a group at an offset");
    CHECK(inputs.n == 1 && !strcmp(inputs.items[0], "in.wav"), "input");
    st = parse(&command, &a, "--mode off --out x y");
    CHECK(st == CLI_RUN && a.mode == 0 && a.flag == 0 && a.off == 1, "defaults kept, choice 0");
}

static void test_value_errors(void) {
    BAD("--out o x --count 0", "--count '0' is not an integer in 1..128");
    BAD("--out o x --count 129", "--count '129' is not an integer in 1..128");
    BAD("--out o x --count 12x", "--count '12x' is not an integer in 1..128");
    BAD("--out o x --count 99999999999", "is not an integer in 1..128");
    BAD("--out o x --seed -1", "--seed '-1' is not a non-negative integer");
    BAD("--out o x --seed 18446744073709551616", "--seed '18446744073709551616' is not a non-negative integer");
    BAD("--out o x --rate 0", "--rate '0' is not a number > 0");
    BAD("--out o x --rate 1e39", "--rate '1e39' is not a number > 0"); /* overflows float */
    BAD("--out o x --ratio 1", "--ratio '1' is not a number in [0, 1)");
    BAD("--out o x --ratio -0.1", "is not a number in [0, 1)");
    BAD("--out o x --window nan", "--window 'nan' is not a finite number");
    BAD("--out o x --window inf", "--window 'inf' is not a finite number");
    BAD("--out o x --window 1s", "--window '1s' is not a finite number");
    BAD("--out o x --mode medium", "--mode 'medium' unknown (fast, slow or off)");
    BAD("--out o x --mode2 medium", "--mode2 'medium' must be fast, slow or off");
    BAD("--out o x --even 3", "--even: 3 is odd");
    BAD("--out o x --steps 1,,2", "--steps '1,,2' is not a comma-separated list of at most 4 integers >= 0");
    BAD("--out o x --steps 1,2,", "is not a comma-separated list");
    BAD("--out o x --steps 1,2,3,4,5", "at most 4 integers");
    BAD("--out o x --steps 1,-2", "integers >= 0");
    BAD("--out o x --orders 1,x", "--orders '1,x' is not a comma-separated list of at most 3 finite numbers");
    BAD("--out o x --orders=", "--orders '' is not a comma-separated list");
    BAD("--out o x --level", "missing value for '--level' (avemo test --help)");
    BAD("--out o x --bogus 1", "unknown argument '--bogus' (avemo test --help)");
    BAD("--out o x -x", "unknown argument '-x'");
    BAD("--out o x --flag=1", "option '--flag' takes no value");
    BAD("--out o x --out", "missing value for '--out'");
}

static void test_syntax(void) {
    test_args a;
    /* --name=value, a value that begins with --, = inside a value */
    int st = parse(&command, &a, "--out=a=b --a-rather-long-option-name --flag --count=7 x");
    CHECK(st == CLI_RUN && !strcmp(a.out, "a=b") && !strcmp(a.name, "--flag") && !a.flag && a.count == 7,
          "= forms: %d %s", st, err);
    /* -- ends the options; "-" is an input; the last of a repeated option wins */
    st = parse(&command, &a, "--out a - --out b -- --flag --help");
    CHECK(st == CLI_RUN && !strcmp(a.out, "b") && !a.flag, "after --: %d %s", st, err);
    CHECK(inputs.n == 3 && !strcmp(inputs.items[0], "-") && !strcmp(inputs.items[1], "--flag") &&
              !strcmp(inputs.items[2], "--help"),
          "inputs after --");
    /* help, also before a bad option; a value "--help" is a value */
    CHECK(parse(&command, &a, "--help --bogus") == 0, "--help");
    CHECK(parse(&command, &a, "-h") == 0, "-h");
    CHECK(parse(&command, &a, "--bogus --help") == 2, "an error before --help");
    CHECK(parse(&command, &a, "--out --help x") == CLI_RUN && !strcmp(a.out, "--help"), "--help as a value");
    /* inputs: too few, too many, none taken */
    BAD("--out o", "--out FILE and INPUT... are required (avemo test --help)");
    BAD("x y", "--out FILE and INPUT... are required");
    BAD("--out o a b c d", "unknown argument 'd'");
    CHECK(parse(&no_inputs, &a, "--out o") == CLI_RUN, "no inputs: %s", err);
    CHECK(parse(&no_inputs, &a, "--out o extra") == 2 && strstr(err, "unknown argument 'extra'"), "%s", err);
    CHECK(parse(&no_inputs, &a, "") == 2 && !strcmp(err, "--out FILE is required (avemo none --help)"), "%s", err);
}

static void test_input_list(void) {
    char list[600], line[800];
    snprintf(list, sizeof list, "%s/list.txt", test_tmpdir());
    FILE *f = fopen(list, "w");
    if (f) fputs("b.wav\r\n\nc d.wav\n", f), fclose(f);
    test_args a;
    snprintf(line, sizeof line, "--out o a.wav --list %s e.wav", list);
    int st = parse(&command, &a, line);
    CHECK(st == 2 && strstr(err, "unknown argument 'e.wav'"), "max 3 inputs counts the list's: %d %s", st, err);
    snprintf(line, sizeof line, "--out o a.wav --list=%s", list);
    st = parse(&command, &a, line);
    CHECK(st == CLI_RUN && inputs.n == 3, "list: %d %s", st, err);
    CHECK(inputs.n == 3 && !strcmp(inputs.items[0], "a.wav") && !strcmp(inputs.items[1], "b.wav") &&
              !strcmp(inputs.items[2], "c d.wav"),
          "inputs in order, \\r\\n and empty lines");
    snprintf(line, sizeof line, "--out o --list %s/missing.txt", test_tmpdir());
    st = parse(&command, &a, line);
    CHECK(st == 2 && strstr(err, "missing.txt: cannot open input list"), "missing list: %d %s", st, err);
}

static void test_usage(void) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) {
        CHECK(0, "open_memstream");
        return;
    }
    cli_usage(f, &command);
    fclose(f);
    const char *head = "usage: avemo test --out FILE [options] INPUT...\n  About text.\n";
    CHECK(!strncmp(text, head, strlen(head)), "head:\n%s", text);
    const char *want[] = {"\noptions:\n  --flag                    a flag\n",
                          "  --out FILE                output\n                            second line\n",
                          "  --a-rather-long-option-name VALUE\n                            long\n",
                          "  --mode fast|slow|off      mode\n",
                          "\ninner options:\n  --level L                 level\n",
                          "  --                        ends the options: what follows are inputs, even those beginning "
                          "with -\n  -h, --help                this help\n\nFooter text.\n"};
    for (int i = 0; i < 6; i++) CHECK(strstr(text, want[i]), "usage lacks '%s':\n%s", want[i], text);
    free(text);
}

int main(void) {
    RUN(test_kinds);
    RUN(test_value_errors);
    RUN(test_syntax);
    RUN(test_input_list);
    RUN(test_usage);
    cli_inputs_free(&inputs);
    return test_summary();
}
