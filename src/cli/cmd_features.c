/* avemo features: MFCC / FRFT-MFCC (or the prepared waveform) of audio and video files -> one .npy. */
#include "cli/cli_util.h"
#include "core/err.h"
#include "core/progress.h"
#include "data/featurizer_jobs.h"
#include "io/audio.h"

#include <errno.h>
#include <math.h>
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

/* The featurizer's settings for the options; 0, or 1 after a message when they do not fit together. */
static int features_settings(featurizer_settings *fs, feature_kind kind, const mfcc_config *cfg, const double *orders,
                             int n_orders, double clip_seconds) {
    if (mfcc_config_check(cfg)) {
        fprintf(stderr, "avemo features: %s\n", avemo_last_error());
        return 1;
    }
    if (audio_clip_samples(clip_seconds, cfg->sample_rate_hz) < 1) {
        fprintf(stderr, "avemo features: --clip-seconds %g is shorter than one sample\n", clip_seconds);
        return 1;
    }
    featurizer_settings_default(fs);
    fs->modality = DATASET_NEED_AUDIO;
    fs->audio_features = kind == KIND_FRFT_MFCC ? AUDIO_FEATURES_FRFT_MFCC : AUDIO_FEATURES_MFCC;
    fs->n_orders = n_orders;
    memcpy(fs->orders, orders, sizeof fs->orders);
    fs->mfcc = *cfg;
    fs->clip_seconds = clip_seconds;
    return 0;
}

/* What is left of a failed run: "skipped" lines, the good rows and the list of failures (keep-going), or the
 * first failure (a runtime failure first). Returns the exit status. */
static int features_outputs(audio_rows *r, const str_list *inputs, const char *out_path, int keep_going) {
    long n_bad = 0, first_bad = -1;
    for (long i = 0; i < r->n; i++)
        if (r->status[i]) {
            n_bad++;
            if (first_bad < 0) first_bad = i;
        }
    if (n_bad && (!keep_going || exit_code(r->status[first_bad]) == 1)) {
        for (long i = 0; i < r->n; i++) /* a runtime failure outranks a bad input */
            if (r->status[i] && exit_code(r->status[i]) == 1) first_bad = i;
        fprintf(stderr, "avemo features: %s\n", r->why[first_bad] ? r->why[first_bad] : "out of memory");
        return exit_code(r->status[first_bad]);
    }
    for (long i = 0; i < r->n; i++) /* keep-going (or all good): the good rows, in input order */
        if (r->status[i]) fprintf(stderr, "avemo features: skipped: %s\n", r->why[i] ? r->why[i] : inputs->v[i]);
    int rc = n_bad ? 2 : 0;
    long good;
    if (audio_rows_write_npy(r, out_path, &good)) {
        fprintf(stderr, "avemo features: %s\n", avemo_last_error());
        rc = 1;
    } else if (!good) {
        fprintf(stderr, "avemo features: every input failed; %s not written\n", out_path);
    }
    char failed_path[4096];
    snprintf(failed_path, sizeof failed_path, "%s.failed.txt", out_path);
    if (n_bad) {
        if (audio_rows_write_failed(r, inputs->v, failed_path)) fprintf(stderr, "avemo features: %s\n", avemo_last_error());
        if (rc == 0) rc = 2;
    } else if (rc == 0) {
        unlink(failed_path); /* a stale list from an earlier run would mislead */
    }
    return rc;
}

/* The library calls once the options are parsed. Returns the exit status. */
static int features_command(const featurizer_settings *fs, audio_rows_options *ro, const str_list *inputs,
                            const char *out_path, int quiet) {
    featurizer f;
    int st = featurizer_open(&f, fs, NULL, NULL);
    if (st) {
        fprintf(stderr, "avemo features: %s\n", avemo_last_error());
        return exit_code(st);
    }
    progress bar;
    progress_start(&bar, "features", inputs->n);
    int show = !quiet && inputs->n >= FEATURES_PROGRESS_MIN;
    ro->bar = show ? &bar : NULL;
    audio_rows r;
    st = audio_rows_compute(&f, inputs->v, inputs->n, ro, &r);
    if (show) progress_finish(&bar);
    featurizer_close(&f);
    if (st) {
        fprintf(stderr, "avemo features: out of memory\n");
        return 1;
    }
    int rc = features_outputs(&r, inputs, out_path, ro->keep_going);
    audio_rows_free(&r);
    return rc;
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

    featurizer_settings fs;
    if (features_settings(&fs, kind, &cfg, orders, n_orders, clip_seconds)) goto done;
    audio_rows_options ro = {.waveform = kind == KIND_WAVEFORM, .keep_going = keep_going, .threads = threads};
    rc = features_command(&fs, &ro, &inputs, out_path, quiet);
    goto done;

oom:
    fprintf(stderr, "avemo features: out of memory\n");
    rc = 1;
done:
    list_free(&inputs);
    return rc;
}
