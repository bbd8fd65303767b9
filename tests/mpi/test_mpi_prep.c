/* Sharded prep (data/prep_shard.h) under `mpirun -np 2`: the cache is the one-process cache byte for byte
 * (index.json, skipped.log with its failure reasons, every .npy), and stays so when one rank is killed with
 * SIGKILL mid-run and the job is started again. The dataset: 40 synthetic RAVDESS-named WAVs of 4 actors plus
 * 2 damaged ones (failures go through the join too). */
#include "mpi_launch.h"

#include "core/rng.h"

#include <math.h>
#include <stdint.h>

#define N_CLIPS 40
#define WAV_RATE 16000
#define WAV_SAMPLES (WAV_RATE * 2)

/* 16-bit PCM mono: a tone per clip plus noise, so that every clip's features differ. */
static void write_wav(const char *path, int clip) {
    static int16_t s[WAV_SAMPLES];
    rng_t r;
    rng_seed(&r, 300 + (uint64_t)clip);
    double f0 = 140.0 + 41.0 * clip;
    for (int i = 0; i < WAV_SAMPLES; i++) {
        double t = (double)i / WAV_RATE, v = 0.4 * sin(2 * M_PI * f0 * t * (1.0 + 0.1 * t)) + 0.05 * rng_normal(&r);
        s[i] = (int16_t)lrint(fmax(-1.0, fmin(1.0, v)) * 32000);
    }
    uint32_t data = WAV_SAMPLES * 2, riff = 36 + data, fmt_len = 16, rate = WAV_RATE, bytes_per_s = WAV_RATE * 2;
    uint16_t pcm = 1, mono = 1, align = 2, bits = 16;
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fwrite("RIFF", 1, 4, f), fwrite(&riff, 4, 1, f), fwrite("WAVEfmt ", 1, 8, f), fwrite(&fmt_len, 4, 1, f);
    fwrite(&pcm, 2, 1, f), fwrite(&mono, 2, 1, f), fwrite(&rate, 4, 1, f), fwrite(&bytes_per_s, 4, 1, f);
    fwrite(&align, 2, 1, f), fwrite(&bits, 2, 1, f), fwrite("data", 1, 4, f), fwrite(&data, 4, 1, f);
    fwrite(s, 2, WAV_SAMPLES, f);
    fclose(f);
}

/* RAVDESS audio-only layout: Actor_XX/03-01-EE-01-SS-01-XX.wav, 10 clips per actor; clips 13 and 26 damaged. */
static void make_wav_tree(const char *root) {
    for (int i = 0; i < N_CLIPS; i++) {
        int actor = 1 + i / 10, k = i % 10;
        char dir[700], path[800];
        snprintf(dir, sizeof dir, "%s/Actor_%02d", root, actor);
        CHECK(make_dirs(dir) == 0, "mkdir %s", dir);
        snprintf(path, sizeof path, "%s/03-01-%02d-01-%02d-01-%02d.wav", dir, 1 + k % 8, 1 + k / 8, actor);
        if (i == 13 || i == 26) {
            FILE *f = fopen(path, "wb");
            if (f) fputs("RIFF\x10\0\0\0WAVEdamaged", f), fclose(f);
        } else {
            write_wav(path, i);
        }
    }
}

static void prep_argv(char **argv, const char *input, const char *cache) {
    int n = 0;
    argv[n++] = (char *)avemo_bin();
    const char *opts[] = {"prep", "--dataset", "ravdess", "--modality", "audio", "--features", "mfcc", "--jobs", "1",
                          "--input"};
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) argv[n++] = (char *)opts[i];
    argv[n++] = (char *)input;
    argv[n++] = "--out";
    argv[n++] = (char *)cache;
    argv[n] = NULL;
}

static int count_npy(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) n += strstr(e->d_name, ".npy") && !strstr(e->d_name, ".tmp.");
    if (d) closedir(d);
    return n;
}

static int some_cached(const void *audio_dir) { return count_npy(audio_dir) >= 4; }

static char input[600], serial[600], log_path[700];

static void make_serial_cache(void) {
    snprintf(input, sizeof input, "%s/wavs", test_tmpdir());
    snprintf(serial, sizeof serial, "%s/serial", test_tmpdir());
    snprintf(log_path, sizeof log_path, "%s/prep.log", test_tmpdir());
    make_wav_tree(input);
    char *argv[32];
    prep_argv(argv, input, serial);
    int rc = mt_run(argv, log_path);
    CHECK(rc == 1 || rc == 0, "one-process prep exited %d (log %s)", rc, log_path);
}

static void test_sharded_equals_serial(void) {
    if (test_failed_now) return;
    char cache[600], why[4200] = "", *cmd[32], *argv[48];
    snprintf(cache, sizeof cache, "%s/sharded", test_tmpdir());
    prep_argv(cmd, input, cache);
    mt_mpirun_argv(argv, 2, cmd);
    double t0 = mt_now();
    int rc = mt_run(argv, log_path);
    CHECK(rc == 0, "mpirun -np 2 avemo prep exited %d (log %s)", rc, log_path);
    long n = mt_same_tree(serial, cache, why, sizeof why);
    CHECK(n >= N_CLIPS, "2-rank cache differs from the one-process cache: %s", why);
    printf("  2 ranks: %ld files identical to the one-process cache (%.2f s)\n", n, mt_now() - t0);
}

static void test_rank_killed_then_rerun(void) {
    if (test_failed_now) return;
    char cache[600], audio[700], why[4200] = "", *cmd[32], *argv[48];
    snprintf(cache, sizeof cache, "%s/killed", test_tmpdir());
    snprintf(audio, sizeof audio, "%s/audio", cache);
    prep_argv(cmd, input, cache);
    mt_mpirun_argv(argv, 2, cmd);
    int rc, hit = mt_kill_rank_when(mt_spawn(argv, log_path), 1, some_cached, audio, &rc);
    int at_kill = count_npy(audio);
    CHECK(hit, "rank 1 was not killed while the job ran (exit %d)", rc);
    CHECK(rc != 0, "the job with a killed rank exited 0");
    rc = mt_run(argv, log_path);
    CHECK(rc == 0, "rerun after the kill exited %d (log %s)", rc, log_path);
    long n = mt_same_tree(serial, cache, why, sizeof why);
    CHECK(n >= N_CLIPS, "cache after kill + rerun differs from the one-process cache: %s", why);
    printf("  rank 1 killed with %d of %d clips cached; the rerun's cache: %ld files identical\n", at_kill,
           N_CLIPS - 2, n);
}

int main(void) {
    mt_single_threads();
    RUN(make_serial_cache);
    RUN(test_sharded_equals_serial);
    RUN(test_rank_killed_then_rerun);
    return test_summary();
}
