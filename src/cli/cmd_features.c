/* avemo features: MFCC / FRFT-MFCC (or the prepared waveform) of audio and video files -> one .npy
 * (data/featurizer_jobs.h). */
#include "cli/cli_args.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/featurizer_args.h"
#include "core/err.h"
#include "data/featurizer_jobs.h"
#include "io/audio.h"

#include <stdio.h>

typedef enum { KIND_MFCC, KIND_FRFT_MFCC, KIND_WAVEFORM } feature_kind;

typedef struct {
    int kind; /* feature_kind */
    double orders[AVEMO_FRFT_MFCC_MAX_ORDERS];
    int n_orders;                  /* 0: not given */
    featurizer_settings settings;  /* mfcc and clip_seconds from the options */
    audio_rows_options rows;
    int quiet;
    const char *out;
} features_args;

static const cli_choice feature_kinds[] = {
    {"mfcc", KIND_MFCC}, {"frft-mfcc", KIND_FRFT_MFCC}, {"waveform", KIND_WAVEFORM}, {NULL, 0}};

static const cli_option features_options[] = {
    {CLI_CHOICE(features_args, kind, "--kind", feature_kinds),
     .help = "mfcc       librosa 0.10 MFCC (default): channels = n_mfcc,\n"
             "           frames = 1 + samples / 512\n"
             "frft-mfcc  FRFT-MFCC: the MFCC with |FRFT_a|^2 spectra (a = 1 is the MFCC);\n"
             "           channels = n_mfcc * orders\n"
             "waveform   the prepared samples themselves: [inputs, 1, samples]"},
    {CLI_DOUBLES(features_args, orders, n_orders, 1, "--frft-order", "A", CLI_ANY),
     .help = "FRFT order for frft-mfcc (default " CLI_STR(AVEMO_FRFT_ORDER_DEFAULT) ")"},
    {CLI_DOUBLES(features_args, orders, n_orders, AVEMO_FRFT_MFCC_MAX_ORDERS, "--frft-orders", "A,B,..", CLI_ANY),
     .help = "several orders, stacked as channels in the order given"},
    {CLI_INT(features_args, settings.deltas, "--deltas", "N", CLI_IN(0, 2)),
     .help = "mfcc, frft-mfcc: append librosa deltas (1) and delta-deltas (2);\n"
             "channels x (1 + N) (default 0)"},
    {CLI_FLAG(features_args, settings.pitch, "--pitch"),
     .help = "mfcc, frft-mfcc: append 2 pitch channels (YIN log2(f0 / 100 Hz) where\n"
             "voiced, periodicity)"},
    {CLI_INT(features_args, settings.mfcc.sample_rate_hz, "--sample-rate", "HZ", CLI_IN(1000, 384000)),
     .help = "resampling target (default " CLI_STR(AVEMO_AUDIO_SAMPLE_RATE_HZ) ")"},
    {CLI_DOUBLE(features_args, settings.clip_seconds, "--clip-seconds", "S", CLI_IN_ABOVE(0, 3600)),
     .help = "fixed clip length in seconds (default " CLI_STR(AVEMO_AUDIO_CLIP_SECONDS) ")"},
    {CLI_INT(features_args, rows.threads, "--threads", "N", CLI_IN(1, 1024)),
     .help = "worker threads (default: all cores)"},
    {CLI_INPUT_LIST("--list", "FILE"), .help = "also read input paths from FILE, one per line"},
    {CLI_FLAG(features_args, rows.keep_going, "--keep-going"),
     .help = "do not stop at a bad input: its row is left out of OUT.npy, it is\n"
             "reported on stderr (one line each) and listed in OUT.npy.failed.txt\n"
             "(index<TAB>path<TAB>reason, index counted from 0 in the input order);\n"
             "the exit status is still 2 when any input failed"},
    {CLI_FLAG(features_args, quiet, "--quiet"), .help = "no progress bar"},
    {CLI_STRING(features_args, out, "--out", "OUT.npy"), .required = 1, .help = "the rows, in the order given"},
    {0}};

static const cli_command features_command = {
    .name = "features",
    .inputs = "INPUT...",
    .min_inputs = 1,
    .about = "Audio features of each INPUT (any file FFmpeg reads: WAV, FLAC, MP3, the audio track of MP4/FLV/MKV),\n"
             "written as float32 [inputs, channels, frames] to OUT.npy in the order given. Each input is decoded,\n"
             "downmixed to mono, resampled with soxr HQ, center-cropped or zero-padded to --clip-seconds, then\n"
             "turned into the --kind of features.\n",
    .footer = "Exit status: 0 all inputs written; 2 bad usage or a bad input (one line on stderr naming the file;\n"
              "without --keep-going nothing is written); 1 runtime failure (out of memory, cannot write OUT).\n",
    .groups = {{NULL, features_options, 0}, {"MFCC:", mfcc_cli_options, offsetof(features_args, settings.mfcc)}},
};

/* What is left of the run: the first failure alone when it ends the command (nothing written), else a
 * "skipped" line per failure, the good rows and the list of failures. Returns the exit status. */
static int features_outputs(audio_rows *r, char *const *paths, const char *out_path, int keep_going) {
    long fatal = audio_rows_fatal(r, keep_going), n_bad = 0;
    if (fatal >= 0) {
        fprintf(stderr, "avemo features: %s\n", r->why[fatal] ? r->why[fatal] : "out of memory");
        return cli_exit_status(r->status[fatal]);
    }
    for (long i = 0; i < r->n; i++)
        if (r->status[i]) {
            n_bad++;
            fprintf(stderr, "avemo features: skipped: %s\n", r->why[i] ? r->why[i] : paths[i]);
        }
    int status = n_bad ? 2 : 0;
    long good;
    int st = audio_rows_write_npy(r, out_path, &good);
    if (st) status = cli_fail("features", st);
    else if (!good) fprintf(stderr, "avemo features: every input failed; %s not written\n", out_path);
    if ((n_bad || !status) && (st = audio_rows_write_failed(r, paths, out_path))) cli_fail("features", st);
    return status;
}

int cmd_features(int argc, char **argv) {
    features_args a = {.kind = KIND_MFCC};
    featurizer_settings_default(&a.settings);
    cli_inputs inputs;
    int status = cli_parse(&features_command, argc, argv, &a, &inputs);
    if (status != CLI_RUN) return status;
    if (a.n_orders && a.kind != KIND_FRFT_MFCC) {
        cli_inputs_free(&inputs);
        return cli_usage_error("features", "--frft-order(s) needs --kind frft-mfcc");
    }
    a.settings.modality = DATASET_NEED_AUDIO;
    a.settings.audio_features = a.kind == KIND_FRFT_MFCC ? AUDIO_FEATURES_FRFT_MFCC : AUDIO_FEATURES_MFCC;
    for (int i = 0; i < a.n_orders; i++) a.settings.orders[i] = a.orders[i];
    if (a.n_orders) a.settings.n_orders = a.n_orders;
    a.rows.waveform = a.kind == KIND_WAVEFORM;
    a.rows.progress = !a.quiet;
    audio_rows r;
    int st = audio_rows_compute(&a.settings, inputs.items, inputs.n, &a.rows, &r);
    status = st ? cli_fail("features", st) : features_outputs(&r, inputs.items, a.out, a.rows.keep_going);
    audio_rows_free(&r);
    cli_inputs_free(&inputs);
    return status;
}
