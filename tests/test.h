/* Minimal test harness. One binary per tests/<stage>/test_<name>.c:
 *
 *   static void test_something(void) { CHECK(x == 1, "x is %d", x); CHECK_CLOSE(a, b, 1e-5); }
 *   int main(void) { RUN(test_something); return test_summary(); }
 *
 * Prints "ok <name>" or "FAIL <name>: <why>" per test and a final "RESULT <passed> <failed>" line that
 * tests/run.sh sums into "N passed, N failed".
 */
#ifndef AVEMO_TEST_H
#define AVEMO_TEST_H
#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <sys/types.h>

extern int test_failed_now; /* set by CHECK within the running test */
extern const char *test_name_now;

void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void test_run(void (*fn)(void), const char *name);
int test_summary(void);

#define CHECK(cond, ...)                                                 \
    do {                                                                 \
        if (!(cond)) test_fail(__FILE__, __LINE__, __VA_ARGS__);         \
    } while (0)

#define RUN(fn) test_run(fn, #fn)

/* Relative error of two arrays: max|a-b| / max(max|b|, tiny). */
double rel_err_f(const float *a, const float *b, long n);
double rel_err_d(const double *a, const double *b, long n);
/* max |a - b| */
double max_abs_diff_f(const float *a, const float *b, long n);

/* Path of a file under ../shared (or $AVEMO_SHARED). Fails the running test with a clear message, and
 * returns NULL, when it does not exist: a missing shared file never passes silently. */
const char *shared_path(const char *rel);
/* Path of a committed fixture under tests/fixtures/; same failure rule. */
const char *fixture_path(const char *rel);
/* A fresh temporary directory for this test binary (removed at exit unless AVEMO_KEEP_TMP is set). */
const char *test_tmpdir(void);
/* Path to the avemo binary under test ($AVEMO_BIN, default ./avemo). */
const char *avemo_bin(void);
/* Run a shell command; returns its exit status (or -1). Captures up to cap-1 bytes of stdout+stderr. */
int run_cmd(const char *cmd, char *out, size_t cap);
/* run_cmd with stdout and stderr apart: up to out_cap - 1 bytes of stdout into out, up to err_cap - 1 of stderr
 * into err (NULL: not kept; it goes through a file in test_tmpdir()). */
int run_cmd_split(const char *cmd, char *out, size_t out_cap, char *err, size_t err_cap);
/* Wait for the child pid (a process the test started with fork); returns its exit code, 128 + the signal that
 * ended it, or -1 when waitpid fails. */
int test_wait_exit(pid_t pid);
/* 1 when the files at a and b both read and have the same bytes. */
int test_same_file(const char *a, const char *b);

/* Fill with uniform random values in [lo, hi) from a fixed seed. */
void fill_uniform_f(float *a, long n, unsigned long long seed, float lo, float hi);
void fill_uniform_d(double *a, long n, unsigned long long seed, double lo, double hi);

#endif
