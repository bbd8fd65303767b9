/* Helpers of the MPI tests (tests/mpi/, built and run by `make test MPI=1`): start `avemo` (or this test binary)
 * under mpirun with 2 ranks, find and kill one rank, compare folders byte for byte. Header-only (static).
 *
 * mpirun is Open MPI's: $MPIRUN overrides the program; as root it gets --allow-run-as-root; always
 * --oversubscribe and --bind-to none (the tests must pass on a machine with fewer cores than ranks, and on a
 * shared machine a rank bound to a busy core would stall). Every process runs one OpenMP / OpenBLAS thread,
 * so that the one-process runs compared with them compute in the same order. */
#ifndef AVEMO_TESTS_MPI_LAUNCH_H
#define AVEMO_TESTS_MPI_LAUNCH_H
#include "test.h"

#include "core/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MPI_TEST_TIMEOUT_S 120.0

static inline double mt_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static inline void mt_sleep_ms(int ms) {
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* One thread per process, for this process and every child (call first in main). Open MPI's shared-memory
 * transport without its single-copy mechanism: containers often forbid the ptrace-like process_vm_readv it uses
 * (Docker's default seccomp profile), and these tests send little. */
static inline void mt_single_threads(void) {
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("OMP_WAIT_POLICY", "passive", 1);
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
}

/* argv of `mpirun ... -np ranks cmd...` into out (NULL-terminated); cmd is NULL-terminated. */
static inline void mt_mpirun_argv(char **out, int ranks, char *const *cmd) {
    static char np[16];
    int n = 0;
    const char *mpirun = getenv("MPIRUN");
    out[n++] = (char *)(mpirun && *mpirun ? mpirun : "mpirun");
    if (geteuid() == 0) out[n++] = "--allow-run-as-root";
    out[n++] = "--oversubscribe";
    out[n++] = "--bind-to";
    out[n++] = "none";
    const char *env[] = {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY"};
    for (int i = 0; i < 3; i++) {
        out[n++] = "-x";
        out[n++] = (char *)env[i];
    }
    snprintf(np, sizeof np, "%d", ranks);
    out[n++] = "-np";
    out[n++] = np;
    for (int i = 0; cmd[i]; i++) out[n++] = cmd[i];
    out[n] = NULL;
}

/* Start argv (PATH searched) with stdout and stderr appended to log. */
static inline pid_t mt_spawn(char *const argv[], const char *log) {
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Exit code of pid (128 + signal), waiting at most MPI_TEST_TIMEOUT_S (then its group is killed: -1). */
static inline int mt_wait(pid_t pid) {
    double t0 = mt_now();
    int st;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (w < 0 && errno != EINTR) return -1;
        if (mt_now() - t0 > MPI_TEST_TIMEOUT_S) {
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        mt_sleep_ms(5);
    }
}

static inline int mt_run(char *const argv[], const char *log) { return mt_wait(mt_spawn(argv, log)); }

static inline pid_t mt_parent(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* "pid (comm) state ppid ..." */
    int ppid = 0;
    return p && sscanf(p + 1, " %*c %d", &ppid) == 1 ? (pid_t)ppid : 0;
}

static inline int mt_descends_from(pid_t pid, pid_t ancestor) {
    for (int depth = 0; pid > 1 && depth < 8; depth++)
        if ((pid = mt_parent(pid)) == ancestor) return 1;
    return 0;
}

/* The process among the descendants of `launcher` whose environment says OMPI_COMM_WORLD_RANK=rank, or 0. */
static inline pid_t mt_find_rank(pid_t launcher, int rank) {
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    DIR *d = opendir("/proc");
    pid_t found = 0;
    struct dirent *e;
    while (d && !found && (e = readdir(d))) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0 || !mt_descends_from(pid, launcher)) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
        static char env[1 << 18]; /* /proc files have no size: read what comes */
        FILE *f = fopen(path, "rb");
        size_t n = f ? fread(env, 1, sizeof env - 1, f) : 0;
        if (f) fclose(f);
        env[n] = 0;
        for (size_t i = 0; i < n && !found; i += strlen(env + i) + 1)
            if (!strcmp(env + i, want)) found = pid;
    }
    if (d) closedir(d);
    return found;
}

/* Waits until cond(arg) holds or the launcher exits; then SIGKILLs that rank. Returns 1 when the kill hit
 * the running rank, 0 when the job ended first (its exit code in *rc). */
static inline int mt_kill_rank_when(pid_t launcher, int rank, int (*cond)(const void *), const void *arg, int *rc) {
    double t0 = mt_now();
    for (;;) {
        int st;
        if (waitpid(launcher, &st, WNOHANG) == launcher) {
            *rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return 0;
        }
        if (cond(arg) || mt_now() - t0 > MPI_TEST_TIMEOUT_S) break;
        mt_sleep_ms(2);
    }
    pid_t victim = mt_find_rank(launcher, rank);
    int hit = victim > 0 && kill(victim, SIGKILL) == 0;
    *rc = mt_wait(launcher);
    return hit;
}

/* ---- comparing folders */

/* Every file under a is under b with the same bytes, and b has no other file: returns the files compared, or
 * -1 with the first difference in why[]. A cache's ".lock" (data/cache.h: it records its last holder's pid and
 * start, so it differs between any two runs by design) is left out on both sides. */
static inline long mt_same_tree(const char *a, const char *b, char *why, size_t cap) {
    DIR *da = opendir(a), *db = opendir(b);
    long n = 0, n_a = 0, n_b = 0; /* files compared in all; plain files here in a, in b */
    struct dirent *e;
    while (da && db && n >= 0 && (e = readdir(da))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, ".lock")) continue;
        char pa[2048], pb[2048];
        snprintf(pa, sizeof pa, "%.1500s/%.255s", a, e->d_name);
        snprintf(pb, sizeof pb, "%.1500s/%.255s", b, e->d_name);
        struct stat st;
        if (stat(pa, &st) == 0 && S_ISDIR(st.st_mode)) {
            long k = mt_same_tree(pa, pb, why, cap);
            n = k < 0 ? -1 : n + k;
        } else if (!test_same_file(pa, pb)) {
            snprintf(why, cap, "%s and %s differ", pa, pb);
            n = -1;
        } else {
            n++;
            n_a++;
        }
    }
    while (db && n >= 0 && (e = readdir(db))) {
        char pb[2048];
        snprintf(pb, sizeof pb, "%.1500s/%.255s", b, e->d_name);
        struct stat st;
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, ".lock") && stat(pb, &st) == 0 && !S_ISDIR(st.st_mode)) n_b++;
    }
    if (n >= 0 && n_b != n_a) {
        snprintf(why, cap, "%s has %ld files, %s has %ld", a, n_a, b, n_b);
        n = -1;
    }
    if (!da || !db) {
        snprintf(why, cap, "cannot open %s or %s", a, b);
        n = -1;
    }
    if (da) closedir(da);
    if (db) closedir(db);
    return n;
}

#endif
