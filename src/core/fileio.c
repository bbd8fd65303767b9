#include "core/fileio.h"

#include "core/bigmem.h"

#include "core/err.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int file_read_all(const char *path, size_t max_bytes, unsigned char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return avemo_error(AVEMO_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return avemo_error(AVEMO_EIO, "%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > max_bytes) {
        fclose(f);
        return avemo_error(AVEMO_EFORMAT, "%s: file too large (%lld bytes, limit %zu)", path,
                           (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = big_alloc(n + 1); /* model files: huge pages, fewer faults (core/bigmem.h) */
    if (!buf) {
        fclose(f);
        return avemo_error(AVEMO_ENOMEM, "%s: cannot allocate %zu bytes", path, n + 1);
    }
    if (n && fread(buf, 1, n, f) != n) {
        free(buf);
        fclose(f);
        return avemo_error(AVEMO_EIO, "%s: short read", path);
    }
    fclose(f);
    buf[n] = 0;
    *data = buf;
    *size = n;
    return AVEMO_OK;
}

/* 8 random bytes as 16 hex digits (getrandom; the clock and a counter if it fails: O_EXCL still guards). */
static void random_hex16(char *out) {
    static _Atomic unsigned long counter;
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ ++counter;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)r);
}

int temp_create(const char *path, char *tmp, size_t cap, FILE **f) {
    *f = NULL;
    if (strlen(path) + 22 >= cap) return avemo_error(AVEMO_EINVAL, "%s: path too long", path);
    int fd = -1, e = 0;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        char hex[17];
        random_hex16(hex);
        snprintf(tmp, cap, "%s.tmp.%s", path, hex);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        e = errno;
        if (fd < 0 && e != EEXIST) break; /* a name taken is drawn again; anything else is final */
    }
    if (fd < 0) return avemo_error(AVEMO_EWRITE, "%s: cannot create a file there: %s", path, strerror(e));
    if (!(*f = fdopen(fd, "wb"))) {
        e = errno;
        close(fd);
        unlink(tmp);
        return avemo_error(AVEMO_EWRITE, "%s: %s", path, strerror(e));
    }
    return AVEMO_OK;
}

int temp_name_is_temp(const char *name) {
    const char *t = strstr(name, ".tmp.");
    if (!t || t == name) return 0;
    size_t n = strlen(t + 5);
    if (n < 1 || n > 20) return 0;
    for (const char *q = t + 5; *q; q++)
        if (!isxdigit((unsigned char)*q)) return 0;
    return 1;
}

int atomic_open(atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    if (snprintf(af->path, sizeof af->path, "%s", path) >= (int)sizeof af->path)
        return avemo_error(AVEMO_EINVAL, "%s: path too long", path);
    int rc = temp_create(path, af->tmp_path, sizeof af->tmp_path, &af->f);
    if (rc) af->tmp_path[0] = 0;
    return rc;
}

static void fsync_dir_of(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    int fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int atomic_commit(atomic_file *af) {
    if (!af->f) return avemo_error(AVEMO_EINVAL, "%s: atomic file not open", af->path);
    errno = 0;
    int bad = fflush(af->f) != 0 || ferror(af->f) || fsync(fileno(af->f)) != 0;
    int e = errno;
    if (fclose(af->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    af->f = NULL;
    if (bad) {
        unlink(af->tmp_path);
        return avemo_error(AVEMO_EWRITE, "%s: write failed: %s", af->path, e ? strerror(e) : "stream error");
    }
    if (rename(af->tmp_path, af->path) != 0) {
        e = errno;
        unlink(af->tmp_path);
        return avemo_error(AVEMO_EWRITE, "%s: rename failed: %s", af->path, strerror(e));
    }
    fsync_dir_of(af->path);
    return AVEMO_OK;
}

void atomic_abort(atomic_file *af) {
    if (af->f) fclose(af->f);
    af->f = NULL;
    if (af->tmp_path[0]) unlink(af->tmp_path);
}

int atomic_fail(atomic_file *af) {
    int e = errno;
    atomic_abort(af);
    return avemo_error(AVEMO_EWRITE, "%s: write failed: %s", af->path, e ? strerror(e) : "stream error");
}

int atomic_write(const char *path, const void *data, size_t size) {
    atomic_file af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    errno = 0;
    if (size && fwrite(data, 1, size, af.f) != size) return atomic_fail(&af);
    return atomic_commit(&af);
}

int make_dirs(const char *path) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return avemo_error(AVEMO_EINVAL, "%s: path too long", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return avemo_error(AVEMO_EWRITE, "%s: cannot create directory: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return avemo_error(AVEMO_EWRITE, "%s: cannot create directory: %s", tmp, strerror(errno));
    return AVEMO_OK;
}
