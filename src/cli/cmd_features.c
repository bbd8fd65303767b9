/* avemo features: MFCC / FRFT-MFCC (or the prepared waveform) of audio and video files -> one .npy. */
#include "cli/cli_util.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "dsp/frft_mfcc.h"
#include "dsp/mfcc.h"
#include "io/audio.h"
#include "io/npy.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FEATURES_MAX_INPUTS 10000000L
#define FEATURES_PROGRESS_MIN 8 /* show a progress bar from this many inputs */

static void usage(FILE *f) {
    fprintf(f,
            "usage: avemo features [options] --out OUT.npy INPUT...\n"
            "\n"
            "Audio features of each INPUT (any file FFmpeg reads: WAV, FLAC, MP3, the audio track of MP4/FLV/MKV),\n"
            "written as float32 [inputs, channels, frames] to OUT.npy in the order given. Each input is decoded,\n"
            "downmixed to mono, resampled with soxr HQ, center-cropped or zero-padded to --clip-seconds, then:\n"
            "\n"
            "  --kind mfcc           librosa 0.10 MFCC (default): channels = n_mfcc, frames = 1 + samples / 512\n"
            "  --kind frft-mfcc      FRFT-MFCC: the MFCC with |FRFT_a|^2 spectra (a = 1 is the MFCC);\n"
            "                        channels = n_mfcc * orders\n"
            "  --kind waveform       the prepared samples themselves: [inputs, 1, samples]\n"
            "  --frft-order A        FRFT order for frft-mfcc (default %.2f)\n"
            "  --frft-orders A,B,..  several orders, stacked as channels in the order given\n"
            "  --n-mfcc N            coefficients per order (default %d)\n"
            "  --sample-rate HZ      resampling target (default %d)\n"
            "  --clip-seconds S      fixed clip length (default %.1f: %ld samples at %d Hz)\n"
            "  --pad-mode M          STFT edge padding: constant (zeros, librosa 0.10, default) or reflect\n"
            "                        (librosa < 0.9 and the baseline)\n"
            "  --threads N           worker threads (default: all cores)\n"
            "  --list FILE           also read input paths from FILE, one per line\n"
            "  --keep-going          do not stop at a bad input: its row is left out of OUT.npy, it is reported\n"
            "                        on stderr (one line each) and listed in OUT.npy.failed.txt (index<TAB>path\n"
            "                        <TAB>reason, index counted from 0 in the input order); the exit status is\n"
            "                        still 2 when any input failed\n"
            "  --quiet               no progress bar\n"
            "\n"
            "Exit status: 0 all inputs written; 2 bad usage or a bad input (one line on stderr naming the file;\n"
            "without --keep-going nothing is written); 1 runtime failure (out of memory, cannot write OUT).\n",
            AVEMO_FRFT_ORDER_DEFAULT, AVEMO_MFCC_N_MFCC, AVEMO_AUDIO_SAMPLE_RATE_HZ, AVEMO_AUDIO_CLIP_SECONDS,
            audio_clip_samples(AVEMO_AUDIO_CLIP_SECONDS, AVEMO_AUDIO_SAMPLE_RATE_HZ), AVEMO_AUDIO_SAMPLE_RATE_HZ);
}

typedef enum { KIND_MFCC, KIND_FRFT_MFCC, KIND_WAVEFORM } feature_kind;

typedef struct {
    char **v;
    long n, cap;
} str_list;

static int list_push(str_list *l, const char *s) {
    if (l->n >= FEATURES_MAX_INPUTS) return -1;
    if (l->n == l->cap) {
        long cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s))) return -1;
    l->n++;
    return 0;
}

static void list_free(str_list *l) {
    for (long i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

static int read_list(const char *path, str_list *l) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "avemo features: %s: cannot open input list: %s\n", path, strerror(errno));
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        if (list_push(l, line)) {
            fprintf(stderr, "avemo features: %s: too many inputs or out of memory\n", path);
            rc = 1;
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* "0.9,1,1.1" -> orders; returns the count or -1. */
static int parse_orders(const char *s, double *orders, int max) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || n == max || (*end && *end != ',')) return -1;
        orders[n++] = v;
        p = *end ? end + 1 : end;
        if (*end && !*p) return -1; /* trailing comma */
    }
    return n;
}

/* Exit status for a library failure: bad input (2) or runtime trouble (1). */
static int exit_code(int status) {
    return status == AVEMO_ENOMEM || status == AVEMO_EINTERNAL ? 1 : 2;
}

int cmd_features(int argc, char **argv) {
    feature_kind kind = KIND_MFCC;
    mfcc_config cfg;
    mfcc_config_default(&cfg);
    double orders[AVEMO_FRFT_MFCC_MAX_ORDERS] = {AVEMO_FRFT_ORDER_DEFAULT};
    int n_orders = 1, keep_going = 0, quiet = 0, orders_set = 0;
    int threads = 0;
    double clip_seconds = AVEMO_AUDIO_CLIP_SECONDS;
    const char *out_path = NULL;
    str_list inputs = {0};
    int rc = 2;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            rc = 0;
            goto done;
        } else if (!strcmp(a, "--keep-going")) {
            keep_going = 1;
            continue;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        } else if (!strcmp(a, "--")) {
            for (i++; i < argc; i++)
                if (list_push(&inputs, argv[i])) goto oom;
            break;
        } else if (a[0] == '-' && a[1] == '-' && !v) {
            fprintf(stderr, "avemo features: option %s needs a value (avemo features --help)\n", a);
            goto done;
        } else if (a[0] != '-' || !a[1]) {
            if (list_push(&inputs, a)) goto oom;
            continue;
        }
        i++; /* every remaining option takes the value v */
        if (!strcmp(a, "--kind")) {
            if (!strcmp(v, "mfcc")) kind = KIND_MFCC;
            else if (!strcmp(v, "frft-mfcc")) kind = KIND_FRFT_MFCC;
            else if (!strcmp(v, "waveform")) kind = KIND_WAVEFORM;
            else {
                fprintf(stderr, "avemo features: --kind %s: expected mfcc, frft-mfcc or waveform\n", v);
                goto done;
            }
        } else if (!strcmp(a, "--frft-order") || !strcmp(a, "--frft-orders")) {
            n_orders = parse_orders(v, orders, AVEMO_FRFT_MFCC_MAX_ORDERS);
            if (n_orders < 1 || (!strcmp(a, "--frft-order") && n_orders != 1)) {
                fprintf(stderr, "avemo features: %s %s: expected %s\n", a, v,
                        strcmp(a, "--frft-order") ? "comma-separated numbers" : "one number");
                goto done;
            }
            orders_set = 1;
        } else if (!strcmp(a, "--n-mfcc")) {
            if (!cli_parse_int(v, 1, 128, &cfg.n_mfcc)) {
                fprintf(stderr, "avemo features: --n-mfcc %s: expected 1..128\n", v);
                goto done;
            }
        } else if (!strcmp(a, "--sample-rate")) {
            if (!cli_parse_int(v, 1000, 384000, &cfg.sample_rate_hz)) {
                fprintf(stderr, "avemo features: --sample-rate %s: expected 1000..384000 Hz\n", v);
                goto done;
            }
        } else if (!strcmp(a, "--clip-seconds")) {
            char *end;
            clip_seconds = strtod(v, &end);
            if (end == v || *end || !(clip_seconds > 0 && clip_seconds <= 3600)) {
                fprintf(stderr, "avemo features: --clip-seconds %s: expected 0 < S <= 3600\n", v);
                goto done;
            }
        } else if (!strcmp(a, "--pad-mode")) {
            if (!strcmp(v, "constant")) cfg.pad_mode = MFCC_PAD_CONSTANT;
            else if (!strcmp(v, "reflect")) cfg.pad_mode = MFCC_PAD_REFLECT;
            else {
                fprintf(stderr, "avemo features: --pad-mode %s: expected constant or reflect\n", v);
                goto done;
            }
        } else if (!strcmp(a, "--threads")) {
            if (!cli_parse_int(v, 1, 1024, &threads)) {
                fprintf(stderr, "avemo features: --threads %s: expected 1..1024\n", v);
                goto done;
            }
        } else if (!strcmp(a, "--list")) {
            int r = read_list(v, &inputs);
            if (r) {
                rc = r;
                goto done;
            }
        } else if (!strcmp(a, "--out")) {
            out_path = v;
        } else {
            fprintf(stderr, "avemo features: unknown option %s (avemo features --help)\n", a);
            goto done;
        }
    }
    if (!out_path || inputs.n == 0) {
        fprintf(stderr, "avemo features: %s (avemo features --help)\n", !out_path ? "--out is required" : "no inputs");
        goto done;
    }
    if (orders_set && kind != KIND_FRFT_MFCC) {
        fprintf(stderr, "avemo features: --frft-order(s) needs --kind frft-mfcc\n");
        goto done;
    }
    if (mfcc_config_check(&cfg)) {
        fprintf(stderr, "avemo features: %s\n", avemo_last_error());
        goto done;
    }

    long n_samples = audio_clip_samples(clip_seconds, cfg.sample_rate_hz);
    if (n_samples < 1) {
        fprintf(stderr, "avemo features: --clip-seconds %g is shorter than one sample\n", clip_seconds);
        goto done;
    }
    long frames = mfcc_frames(&cfg, n_samples);
    frft_mfcc *fm = NULL;
    long channels = kind == KIND_MFCC ? cfg.n_mfcc : 1, row_len;
    if (kind == KIND_FRFT_MFCC) {
        int st = frft_mfcc_create(&fm, &cfg, orders, n_orders);
        if (st) {
            fprintf(stderr, "avemo features: %s\n", avemo_last_error());
            rc = exit_code(st);
            goto done;
        }
        channels = frft_mfcc_channels(fm);
    }
    row_len = kind == KIND_WAVEFORM ? n_samples : channels * frames;
    long n = inputs.n;
    float *rows = malloc((size_t)n * row_len * sizeof *rows);
    int *status = calloc((size_t)n, sizeof *status);
    char **why = calloc((size_t)n, sizeof *why);
    if (!rows || !status || !why) {
        free(rows), free(status), free(why);
        frft_mfcc_destroy(fm);
        goto oom;
    }

    if (threads > 0) omp_set_num_threads(threads);
    progress bar;
    progress_start(&bar, "features", n);
    int show = !quiet && n >= FEATURES_PROGRESS_MIN;
    long done_count = 0;
    int stop = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (long i = 0; i < n; i++) {
        int halt;
#pragma omp atomic read
        halt = stop;
        if (halt) continue;
        audio_clip clip;
        float *row = rows + (size_t)i * row_len;
        float *wave = kind == KIND_WAVEFORM ? row : malloc((size_t)n_samples * sizeof *wave);
        int st = wave ? audio_load(inputs.v[i], cfg.sample_rate_hz, &clip)
                      : avemo_error(AVEMO_ENOMEM, "%s: out of memory", inputs.v[i]);
        if (!st) {
            audio_fix_length(clip.samples, clip.n, wave, n_samples);
            audio_clip_free(&clip);
            if (kind == KIND_MFCC) st = mfcc_forward(&cfg, wave, n_samples, row);
            else if (kind == KIND_FRFT_MFCC) st = frft_mfcc_forward(fm, wave, n_samples, row);
            if (st) avemo_error_prefix(st, "%s", inputs.v[i]);
        }
        if (wave != row) free(wave);
        if (st) {
            status[i] = st;
            why[i] = strdup(avemo_last_error());
            if (!keep_going || exit_code(st) == 1) {
#pragma omp atomic write
                stop = 1;
            }
        }
        long d;
#pragma omp atomic capture
        d = ++done_count;
        if (show) {
#pragma omp critical(features_progress)
            progress_update(&bar, d);
        }
    }
    if (show) progress_finish(&bar);
    frft_mfcc_destroy(fm);

    long n_bad = 0, first_bad = -1;
    for (long i = 0; i < n; i++)
        if (status[i]) {
            n_bad++;
            if (first_bad < 0) first_bad = i;
        }
    char failed_path[4096];
    snprintf(failed_path, sizeof failed_path, "%s.failed.txt", out_path);
    if (n_bad && (!keep_going || exit_code(status[first_bad]) == 1)) {
        for (long i = 0; i < n; i++) /* a runtime failure outranks a bad input */
            if (status[i] && exit_code(status[i]) == 1) first_bad = i;
        fprintf(stderr, "avemo features: %s\n", why[first_bad] ? why[first_bad] : "out of memory");
        rc = exit_code(status[first_bad]);
    } else {
        /* keep-going (or all good): compact the good rows, in input order */
        long good = 0;
        for (long i = 0; i < n; i++) {
            if (status[i]) {
                fprintf(stderr, "avemo features: skipped: %s\n", why[i] ? why[i] : inputs.v[i]);
                continue;
            }
            if (good != i) memmove(rows + (size_t)good * row_len, rows + (size_t)i * row_len, row_len * sizeof *rows);
            good++;
        }
        rc = n_bad ? 2 : 0;
        if (good > 0) {
            int64_t shape[3] = {good, kind == KIND_WAVEFORM ? 1 : channels, kind == KIND_WAVEFORM ? n_samples : frames};
            if (npy_write(out_path, NPY_F32, 3, shape, rows)) {
                fprintf(stderr, "avemo features: %s\n", avemo_last_error());
                rc = 1;
            }
        } else {
            fprintf(stderr, "avemo features: every input failed; %s not written\n", out_path);
        }
        if (n_bad) {
            atomic_file af;
            if (atomic_open(&af, failed_path) == 0) {
                for (long i = 0; i < n; i++)
                    if (status[i]) fprintf(af.f, "%ld\t%s\t%s\n", i, inputs.v[i], why[i] ? why[i] : "out of memory");
                if (atomic_commit(&af)) fprintf(stderr, "avemo features: %s\n", avemo_last_error());
            } else {
                fprintf(stderr, "avemo features: %s\n", avemo_last_error());
            }
            if (rc == 0) rc = 2;
        } else if (rc == 0) {
            unlink(failed_path); /* a stale list from an earlier run would mislead */
        }
    }
    for (long i = 0; i < n; i++) free(why[i]);
    free(why);
    free(status);
    free(rows);
    goto done;

oom:
    fprintf(stderr, "avemo features: out of memory\n");
    rc = 1;
done:
    list_free(&inputs);
    return rc;
}
