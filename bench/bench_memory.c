/* Peak memory of `avemo prep` (audio modality) on 100 and on 700 clips of ../shared/data/ravdess-speech:
 * prep streams clip by clip, so the peak must not grow with the number of clips (beyond the index's few
 * hundred bytes per clip). Each run is a child process on a fresh cache; its peak resident set size comes
 * from wait4()'s rusage (ru_maxrss). A tree of symbolic links to the first N clips (sorted by actor and
 * name) stands in for a dataset of N clips.
 *
 * Usage: bench_memory [--clips 100,700] [--jobs J] [--avemo PATH]   (make bench runs it with the defaults)
 * Environment: AVEMO_BIN (default ./avemo), AVEMO_SHARED (default ../shared), THREADS (default 2). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIPS 4096

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* All clips "Actor_XX/name" under root, sorted. */
static int list_clips(const char *root, char **clips) {
    int n = 0;
    DIR *d = opendir(root);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "Actor_", 6)) continue;
        char sub[4400];
        snprintf(sub, sizeof sub, "%s/%s", root, e->d_name);
        DIR *s = opendir(sub);
        if (!s) continue;
        struct dirent *f;
        while ((f = readdir(s)) && n < MAX_CLIPS) {
            if (f->d_name[0] == '.') continue;
            char rel[600];
            snprintf(rel, sizeof rel, "%s/%s", e->d_name, f->d_name);
            clips[n++] = strdup(rel);
        }
        closedir(s);
    }
    closedir(d);
    qsort(clips, (size_t)n, sizeof *clips, cmp_str);
    return n;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Run prep on the first n clips; peak RSS in KiB, wall seconds, exit code. */
static int run_prep(const char *avemo, const char *root_abs, char **clips, int n, const char *tmp, int jobs,
                    long *peak_kb, double *secs) {
    char tree[1024], cache[1024], cmd[2200];
    snprintf(tree, sizeof tree, "%s/tree_%d", tmp, n);
    snprintf(cache, sizeof cache, "%s/cache_%d", tmp, n);
    for (int i = 0; i < n; i++) {
        char dir[4600], link[4700], target[4700];
        snprintf(dir, sizeof dir, "%s/%.*s", tree, (int)(strchr(clips[i], '/') - clips[i]), clips[i]);
        mkdir(tree, 0777);
        mkdir(dir, 0777);
        snprintf(link, sizeof link, "%s/%s", tree, clips[i]);
        snprintf(target, sizeof target, "%s/%s", root_abs, clips[i]);
        if (symlink(target, link) != 0 && errno != EEXIST) {
            perror(link);
            return -1;
        }
    }
    char jobs_s[16];
    snprintf(jobs_s, sizeof jobs_s, "%d", jobs);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 1);
        execl(avemo, avemo, "prep", "--dataset", "ravdess", "--modality", "audio", "--input", tree, "--out", cache,
              "--jobs", jobs_s, (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid) return -1;
    *secs = now_s() - t0;
    *peak_kb = ru.ru_maxrss;
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", tree, cache);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tree);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv) {
    const char *avemo = getenv("AVEMO_BIN") && *getenv("AVEMO_BIN") ? getenv("AVEMO_BIN") : "./avemo";
    const char *shared = getenv("AVEMO_SHARED") && *getenv("AVEMO_SHARED") ? getenv("AVEMO_SHARED") : "../shared";
    const char *clip_list = "100,700";
    int jobs = getenv("THREADS") ? atoi(getenv("THREADS")) : 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--clips") && i + 1 < argc) clip_list = argv[++i];
        else if (!strcmp(argv[i], "--jobs") && i + 1 < argc) jobs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--avemo") && i + 1 < argc) avemo = argv[++i];
        else if (!strcmp(argv[i], "--specs")) return 0; /* no PyTorch twin */
        else {
            fprintf(stderr, "usage: bench_memory [--clips N,M,...] [--jobs J] [--avemo PATH]\n");
            return 2;
        }
    }
    if (jobs < 1) jobs = 1;
    char root[4096], root_abs[PATH_MAX];
    snprintf(root, sizeof root, "%s/data/ravdess-speech", shared);
    if (!realpath(root, root_abs)) {
        fprintf(stderr, "bench_memory: %s: %s\n", root, strerror(errno));
        return 1;
    }
    static char *clips[MAX_CLIPS];
    int n_all = list_clips(root_abs, clips);
    if (n_all <= 0) {
        fprintf(stderr, "bench_memory: no clips under %s\n", root_abs);
        return 1;
    }
    char tmp[] = "/tmp/avemo-bench-mem-XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    printf("avemo prep --modality audio (MFCC) on the first N of %d RAVDESS speech clips, --jobs %d; peak RSS of "
           "the prep process (wait4 ru_maxrss)\n", n_all, jobs);
    printf("%8s %12s %10s %12s\n", "clips", "peak MiB", "seconds", "clips/s");
    int status = 0;
    long first_kb = 0;
    int first_n = 0;
    for (const char *p = clip_list; *p;) {
        int n = atoi(p);
        if (n > n_all) n = n_all;
        long kb = 0;
        double s = 0;
        int rc = run_prep(avemo, root_abs, clips, n, tmp, jobs, &kb, &s);
        if (rc != 0) {
            fprintf(stderr, "bench_memory: prep on %d clips exited %d\n", n, rc);
            status = 1;
        } else {
            printf("%8d %12.1f %10.2f %12.1f\n", n, kb / 1024.0, s, n / s);
            printf("result prep_peak_rss_%d_clips %.1f MiB\n", n, kb / 1024.0);
            if (!first_n) first_n = n, first_kb = kb;
            else
                printf("peak growth %d -> %d clips: %+.1f MiB (%+.1f KiB per extra clip)\n", first_n, n,
                       (kb - first_kb) / 1024.0, (double)(kb - first_kb) / (n - first_n > 0 ? n - first_n : 1));
        }
        const char *c = strchr(p, ',');
        p = c ? c + 1 : p + strlen(p);
    }
    rmdir(tmp);
    for (int i = 0; i < n_all; i++) free(clips[i]);
    return status;
}
