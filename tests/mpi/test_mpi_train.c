/* Training over 2 MPI ranks (train/train_dist.h, train/data_parallel.h) against one process, on a synthetic
 * audio-visual cache (4 actors; audio [32, 10], video features [6, 16]); every process one thread:
 *   - folds: `--protocol kfold:4` with the folds from the queue: report.json, model.safetensors and every
 *     fold's model are the one-process run's byte for byte;
 *   - one rank killed (SIGKILL) mid-run, then the job again with --resume: the same bytes;
 *   - data-parallel (`--distribute batch`, synchronised BN, dropout 0.5): the weights and BN statistics are
 *     one process's within 1e-5 relative (float sums in another order; measured 1e-7 to 1e-6): the audio
 *     model after 6 steps of batch 7 (slices of 3 and 4 rows, each epoch's last batch of 6), the audio-visual
 *     one after 3 steps with modality dropout (the batch x4, shuffled, then sliced). Longer runs drift apart
 *     as any two float orders do (at lr 0.04 the audio-visual model reaches 1e-3 after 6 steps; at lr 1e-6
 *     it stays at 1e-7). With --local-bn they are not one process's (each rank's own statistics). Killed
 *     mid-run and resumed: the uninterrupted 2-rank run's weights bit for bit;
 *   - ablate --table 3: its rows over the ranks, each row's report the one-process run's byte for byte. */
#include "mpi_launch.h"

#include "core/rng.h"
#include "io/safetensors.h"
#include "synth_cache.h"

#define PER_ACTOR 24
#define FRAMES 6
#define DIM 16

static char cache[600], log_path[700];

/* synth_cache.h's audio cache plus video features: N(0, 1) with `bump` on feature `label` of every frame. */
static int synth_av_cache(const char *dir) {
    int rc = synth_audio_cache(dir, PER_ACTOR, 1.0f);
    feature_cache c;
    if (rc || (rc = cache_open(&c, dir))) return rc;
    rng_t r;
    rng_seed(&r, 8);
    float f[FRAMES * DIM];
    for (int i = 0; i < c.ds.n && !rc; i++) {
        for (int j = 0; j < FRAMES * DIM; j++) f[j] = (float)rng_normal(&r);
        for (int t = 0; t < FRAMES; t++) f[t * DIM + c.ds.samples[i].label] += 1.0f;
        rc = cache_write_feats(&c, i, f, FRAMES, DIM);
    }
    if (!rc) rc = cache_save(&c);
    cache_free(&c);
    return rc;
}

/* argv of `avemo train` with extra options (NULL-terminated list), into out. */
static void train_argv(char **out, const char *run, const char *const *extra) {
    int n = 0;
    out[n++] = (char *)avemo_bin();
    const char *opts[] = {"train", "--data", cache, "--seed", "3", "--quiet", "--out", run};
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) out[n++] = (char *)opts[i];
    for (int i = 0; extra[i]; i++) out[n++] = (char *)extra[i];
    out[n] = NULL;
}

static int run_alone(const char *run, const char *const *extra) {
    char *argv[64];
    train_argv(argv, run, extra);
    return mt_run(argv, log_path);
}

static pid_t start_ranks(const char *run, const char *const *extra) {
    char *cmd[64], *argv[80];
    train_argv(cmd, run, extra);
    mt_mpirun_argv(argv, 2, cmd);
    return mt_spawn(argv, log_path);
}

static void same_outputs(const char *a, const char *b, int n_folds, const char *what) {
    char pa[800], pb[800];
    const char *files[] = {"report.json", "model.safetensors"};
    for (int i = 0; i < 2; i++) {
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        CHECK(test_same_file(pa, pb), "%s: %s differs from the one-process run's", what, files[i]);
    }
    for (int k = 1; k <= n_folds; k++) {
        snprintf(pa, sizeof pa, "%s/fold_%d/model.safetensors", a, k);
        snprintf(pb, sizeof pb, "%s/fold_%d/model.safetensors", b, k);
        CHECK(test_same_file(pa, pb), "%s: fold_%d/model.safetensors differs", what, k);
    }
}

static const char *const folds_opts[] = {"--modality", "av", "--protocol", "kfold:4", "--epochs", "6", "--batch",
                                         "8", NULL};
static char folds_serial[600];

static void make_cache_and_serial_folds(void) {
    snprintf(cache, sizeof cache, "%s/cache", test_tmpdir());
    snprintf(log_path, sizeof log_path, "%s/train.log", test_tmpdir());
    snprintf(folds_serial, sizeof folds_serial, "%s/folds_serial", test_tmpdir());
    CHECK(synth_av_cache(cache) == 0, "cache: %s", avemo_last_error());
    int rc = run_alone(folds_serial, folds_opts);
    CHECK(rc == 0, "one-process train exited %d (log %s)", rc, log_path);
}

static void test_folds_equal_serial(void) {
    if (test_failed_now) return;
    char run[600];
    snprintf(run, sizeof run, "%s/folds_2ranks", test_tmpdir());
    double t0 = mt_now();
    int rc = mt_wait(start_ranks(run, folds_opts));
    CHECK(rc == 0, "mpirun -np 2 avemo train exited %d (log %s)", rc, log_path);
    same_outputs(folds_serial, run, 4, "4 folds over 2 ranks");
    printf("  4 folds over 2 ranks: report and models identical to one process (%.2f s)\n", mt_now() - t0);
}

static int any_state(const void *run) {
    char p[800];
    for (int k = 1; k <= 4; k++) {
        snprintf(p, sizeof p, "%s/fold_%d/state.safetensors", (const char *)run, k);
        if (access(p, F_OK) == 0) return 1;
    }
    return 0;
}

static void test_folds_rank_killed_then_resumed(void) {
    if (test_failed_now) return;
    char run[600];
    snprintf(run, sizeof run, "%s/folds_killed", test_tmpdir());
    int rc, hit = mt_kill_rank_when(start_ranks(run, folds_opts), 1, any_state, run, &rc);
    CHECK(hit && rc != 0, "rank 1 not killed mid-run (job exit %d)", rc);
    const char *resume[16] = {"--resume"};
    for (int i = 0; folds_opts[i]; i++) resume[i + 1] = folds_opts[i];
    rc = mt_wait(start_ranks(run, resume));
    CHECK(rc == 0, "the resumed job exited %d (log %s)", rc, log_path);
    same_outputs(folds_serial, run, 4, "killed + --resume");
}

/* ---- data-parallel */

static int read_state(const char *run, const char *name, float **v, long *n) {
    char p[800];
    snprintf(p, sizeof p, "%s/fold_1/state.safetensors", run);
    st_file f;
    int rc = st_read(p, &f);
    if (rc) return rc;
    const st_tensor *t = st_find(&f, name);
    rc = t ? AVEMO_OK : AVEMO_EFORMAT;
    if (t) {
        *n = (long)t->count;
        *v = malloc((size_t)t->count * sizeof **v);
        rc = st_to_f32(t, *v, t->count, p);
    }
    st_free(&f);
    return rc;
}

/* max relative difference of the tensors "param" and "buffer" of two runs' fold 1 states (-1: unreadable) */
static double state_rel_err(const char *a, const char *b) {
    double worst = 0;
    const char *names[] = {"param", "buffer"};
    for (int i = 0; i < 2; i++) {
        float *x = NULL, *y = NULL;
        long nx = 0, ny = 0;
        if (read_state(a, names[i], &x, &nx) || read_state(b, names[i], &y, &ny) || nx != ny) worst = -1;
        else if (worst >= 0) worst = fmax(worst, rel_err_f(y, x, nx));
        free(x);
        free(y);
    }
    return worst;
}

/* 20 training samples (actor 4; actor 1 tests, 2 and 3 validate): batches of 7, 7, 6. --recipe paper: the audio
 * default (voice) uses the baseline stream, which needs more frames than the synthetic cache's 32. */
static const char *const dp_opts[] = {"--modality", "audio", "--recipe", "paper", "--protocol", "actors:1/2,3",
                                      "--epochs", "2", "--batch", "7", "--distribute", "batch", NULL};
static const char *const dp_av_opts[] = {"--modality", "av", "--modality-dropout", "softhard", "--protocol",
                                         "actors:1/2,3", "--epochs", "1", "--batch", "7", "--distribute", "batch", NULL};
static char dp_ranks[600];

/* The relative difference of one process's weights and 2 ranks' with these options (-1: a run failed). */
static double dp_versus_alone(const char *name, const char *const *opts, const char *ranks_run) {
    char serial[600];
    snprintf(serial, sizeof serial, "%s/%s_alone", test_tmpdir(), name);
    int rc = run_alone(serial, opts), rc2 = mt_wait(start_ranks(ranks_run, opts));
    CHECK(rc == 0 && rc2 == 0, "%s: one process exited %d, 2 ranks %d (log %s)", name, rc, rc2, log_path);
    return rc || rc2 ? -1 : state_rel_err(serial, ranks_run);
}

static void test_data_parallel_weights(void) {
    if (test_failed_now) return;
    char av_ranks[600], local_bn[600];
    snprintf(dp_ranks, sizeof dp_ranks, "%s/dp_2ranks", test_tmpdir());
    snprintf(av_ranks, sizeof av_ranks, "%s/dp_av_2ranks", test_tmpdir());
    snprintf(local_bn, sizeof local_bn, "%s/dp_local_bn", test_tmpdir());
    double e = dp_versus_alone("dp", dp_opts, dp_ranks), e_av = dp_versus_alone("dp_av", dp_av_opts, av_ranks);
    const char *local[16] = {"--local-bn"};
    for (int i = 0; dp_opts[i]; i++) local[i + 1] = dp_opts[i];
    double e_local = dp_versus_alone("dp_local_bn", local, local_bn);
    CHECK(e >= 0 && e < 1e-5, "audio: 2-rank weights differ from one process's by %.3g relative (limit 1e-5)", e);
    CHECK(e_av >= 0 && e_av < 1e-5, "audio-visual: 2-rank weights differ from one process's by %.3g (limit 1e-5)", e_av);
    CHECK(e_local > 1e-4, "--local-bn weights are one process's (%.3g): the BN statistics were not local", e_local);
    printf("  data-parallel over 2 ranks vs one process: audio, 6 steps of batch 7: %.2g relative; audio-visual, 3 "
           "steps of 7 x4 (modality dropout): %.2g; --local-bn: %.2g\n", e, e_av, e_local);
}

static void test_data_parallel_killed_then_resumed(void) {
    if (test_failed_now) return;
    char run[600], state[700];
    snprintf(run, sizeof run, "%s/dp_killed", test_tmpdir());
    snprintf(state, sizeof state, "%s/fold_1/state.safetensors", run);
    int rc, hit = mt_kill_rank_when(start_ranks(run, dp_opts), 1, any_state, run, &rc);
    const char *resume[16] = {"--resume"};
    for (int i = 0; dp_opts[i]; i++) resume[i + 1] = dp_opts[i];
    rc = mt_wait(start_ranks(run, resume));
    CHECK(rc == 0, "the resumed data-parallel job exited %d (log %s)", rc, log_path);
    double e = state_rel_err(dp_ranks, run);
    CHECK(e == 0, "killed%s + --resume: weights differ from the uninterrupted 2-rank run's by %.3g", hit ? "" : " (late)",
          e);
    printf("  data-parallel: rank 1 %s; after --resume the weights equal the uninterrupted run's bit for bit\n",
           hit ? "killed after the first epoch's checkpoint" : "not killed in time (the run had ended)");
}

/* ---- ablation rows over the ranks */

static void test_ablate_rows(void) {
    if (test_failed_now) return;
    char out_a[600], out_b[600], *argv[40], *cmd[40], *mpi[60];
    snprintf(out_a, sizeof out_a, "%s/ablate_serial", test_tmpdir());
    snprintf(out_b, sizeof out_b, "%s/ablate_2ranks", test_tmpdir());
    const char *opts[] = {"ablate", "--data", cache, "--table", "3", "--protocol", "kfold:2:1", "--epochs", "3", "--seed",
                          "4", "--out"};
    int n = 0;
    argv[n++] = (char *)avemo_bin();
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) argv[n++] = (char *)opts[i];
    memcpy(cmd, argv, sizeof argv);
    argv[n] = out_a, cmd[n] = out_b;
    argv[n + 1] = cmd[n + 1] = NULL;
    CHECK(mt_run(argv, log_path) == 0, "one-process ablate failed (log %s)", log_path);
    mt_mpirun_argv(mpi, 2, cmd);
    CHECK(mt_run(mpi, log_path) == 0, "2-rank ablate failed (log %s)", log_path);
    const char *rows[] = {"audio", "video", "av"};
    for (int i = 0; i < 3; i++) {
        char a[800], b[800];
        snprintf(a, sizeof a, "%s/%s", out_a, rows[i]);
        snprintf(b, sizeof b, "%s/%s", out_b, rows[i]);
        same_outputs(a, b, 2, rows[i]);
    }
}

int main(void) {
    mt_single_threads();
    RUN(make_cache_and_serial_folds);
    RUN(test_folds_equal_serial);
    RUN(test_folds_rank_killed_then_resumed);
    RUN(test_data_parallel_weights);
    RUN(test_data_parallel_killed_then_resumed);
    RUN(test_ablate_rows);
    return test_summary();
}
