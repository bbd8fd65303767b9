#include "test.h"

#include "core/fileio.h"
#include "core/rng.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int test_failed_now;
const char *test_name_now = "";
static int n_pass, n_fail;

void test_fail(const char *file, int line, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("FAIL %s: %s:%d: %s\n", test_name_now, file, line, msg);
    fflush(stdout);
    test_failed_now = 1;
}

void test_run(void (*fn)(void), const char *name) {
    test_failed_now = 0;
    test_name_now = name;
    fn();
    if (test_failed_now) n_fail++;
    else {
        n_pass++;
        printf("ok %s\n", name);
    }
    fflush(stdout);
}

static char tmpdir[256];

static void rm_tmpdir(void) {
    if (tmpdir[0] && !getenv("AVEMO_KEEP_TMP")) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
    }
}

const char *test_tmpdir(void) {
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/avemo-test-XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(rm_tmpdir);
    }
    return tmpdir;
}

int test_summary(void) {
    printf("RESULT %d %d\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}

double rel_err_f(const float *a, const float *b, long n) {
    double md = 0, mb = 1e-30;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > md || isnan(d)) md = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > mb) mb = fabs(b[i]);
    }
    return md / mb;
}

double rel_err_d(const double *a, const double *b, long n) {
    double md = 0, mb = 1e-300;
    for (long i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (d > md || isnan(d)) md = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > mb) mb = fabs(b[i]);
    }
    return md / mb;
}

double max_abs_diff_f(const float *a, const float *b, long n) {
    double md = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > md || isnan(d)) md = isnan(d) ? INFINITY : d;
    }
    return md;
}

static const char *existing(const char *base, const char *rel, const char *what) {
    static _Thread_local char buf[8][4096];
    static _Thread_local int slot;
    char *p = buf[slot++ % 8];
    snprintf(p, 4096, "%s/%s", base, rel);
    struct stat st;
    if (stat(p, &st) != 0) {
        test_fail(__FILE__, __LINE__, "%s file missing: %s (%s)", what, p,
                  strcmp(what, "shared") == 0 ? "is ../shared beside the checkout, or AVEMO_SHARED set?"
                                               : "run `make fixtures`?");
        return NULL;
    }
    return p;
}

const char *shared_path(const char *rel) {
    const char *base = getenv("AVEMO_SHARED");
    return existing(base && *base ? base : "../shared", rel, "shared");
}

const char *fixture_path(const char *rel) { return existing("tests/fixtures", rel, "fixture"); }

const char *avemo_bin(void) {
    const char *b = getenv("AVEMO_BIN");
    return b && *b ? b : "./avemo";
}

int run_cmd(const char *cmd, char *out, size_t cap) {
    char full[8192];
    snprintf(full, sizeof full, "(%s) 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = 0;
    char tmp[4096];
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, p)) > 0) {
        if (out && n + 1 < cap) {
            size_t k = r < cap - 1 - n ? r : cap - 1 - n;
            memcpy(out + n, tmp, k);
            n += k;
        }
    }
    if (out && cap) out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int run_cmd_split(const char *cmd, char *out, size_t out_cap, char *err, size_t err_cap) {
    char full[16384], errf[700];
    snprintf(errf, sizeof errf, "%s/stderr.txt", test_tmpdir());
    snprintf(full, sizeof full, "%s 2>'%s'", cmd, errf);
    int rc = run_cmd(full, out, out_cap);
    if (err && err_cap) {
        err[0] = 0;
        FILE *f = fopen(errf, "r");
        if (f) {
            size_t n = fread(err, 1, err_cap - 1, f);
            err[n] = 0;
            fclose(f);
        }
    }
    return rc;
}

int test_wait_exit(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int test_same_file(const char *a, const char *b) {
    unsigned char *x, *y;
    size_t nx, ny;
    if (file_read_all(a, 1 << 28, &x, &nx)) return 0;
    if (file_read_all(b, 1 << 28, &y, &ny)) {
        free(x);
        return 0;
    }
    int same = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

void fill_uniform_f(float *a, long n, unsigned long long seed, float lo, float hi) {
    rng_t r;
    rng_seed(&r, seed);
    for (long i = 0; i < n; i++) a[i] = lo + (hi - lo) * (float)rng_uniform(&r);
}

void fill_uniform_d(double *a, long n, unsigned long long seed, double lo, double hi) {
    rng_t r;
    rng_seed(&r, seed);
    for (long i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng_uniform(&r);
}
