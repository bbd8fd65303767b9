/* Temperature scaling (src/train/calibrate.c, model_temper_probs, model_file_set_temperature, avemo calibrate):
 * tempering equals softmax(logits / T) against a float64 reference; the NLL fit recovers the temperature that
 * made synthetic predictions over-confident; ECE on a hand case; writing T into a model file keeps its tensors'
 * bytes, and predict then returns the tempered probabilities; `avemo calibrate --write` end to end. */
#include "api/predict_fixture.h"

#include "core/fileio.h"
#include "model/model_file.h"
#include "train/calibrate.h"

#include <math.h>

#define K 5
#define N 4000

static uint64_t lcg = 12345;
static double uniform(void) {
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((lcg >> 11) + 0.5) / 9007199254740992.0;
}

static void softmax64(const double *z, int n, double scale, double *p) {
    double m = -INFINITY, s = 0;
    for (int k = 0; k < n; k++) m = fmax(m, z[k] * scale);
    for (int k = 0; k < n; k++) s += (p[k] = exp(z[k] * scale - m));
    for (int k = 0; k < n; k++) p[k] /= s;
}

/* p tempered by T == softmax(z / T) for p = softmax(z), to float rounding. */
static void test_temper_is_softmax_of_scaled_logits(void) {
    double worst = 0;
    for (int trial = 0; trial < 200; trial++) {
        double z[K], p64[K], want[K], T = 0.2 + 4 * uniform();
        float p[K];
        for (int k = 0; k < K; k++) z[k] = 8 * uniform() - 4;
        softmax64(z, K, 1, p64);
        softmax64(z, K, 1 / T, want);
        for (int k = 0; k < K; k++) p[k] = (float)p64[k];
        model_temper_probs(p, K, (float)T);
        for (int k = 0; k < K; k++) worst = fmax(worst, fabs(p[k] - want[k]));
    }
    CHECK(worst < 2e-6, "tempered vs softmax(z / T): %g (tol 2e-6)", worst);
    float same[3] = {0.2f, 0.3f, 0.5f};
    model_temper_probs(same, 3, 1.0f);
    CHECK(same[0] == 0.2f && same[2] == 0.5f, "T = 1 leaves probabilities as they are");
}

/* Labels drawn from softmax(z), predictions softmax(2.5 z): over-confident by T = 2.5, which the fit finds. */
static void test_fit_recovers_temperature(void) {
    static float probs[N * K];
    static int labels[N];
    for (int i = 0; i < N; i++) {
        double z[K], p[K], q[K], u = uniform(), c = 0;
        for (int k = 0; k < K; k++) z[k] = 3 * uniform() - 1.5;
        softmax64(z, K, 1, p);
        softmax64(z, K, 2.5, q);
        labels[i] = K - 1;
        for (int k = 0; k < K; k++)
            if (u < (c += p[k])) {
                labels[i] = k;
                break;
            }
        for (int k = 0; k < K; k++) probs[i * K + k] = (float)q[k];
    }
    double T = calibrate_fit_temperature(probs, labels, N, K);
    CHECK(fabs(T - 2.5) < 0.25, "fitted T %g (2.5 +- 0.25 with %d samples)", T, N);
    double before = calibrate_nll(probs, labels, N, K, 1), after = calibrate_nll(probs, labels, N, K, T);
    CHECK(after < before && calibrate_nll(probs, labels, N, K, T * 1.05) > after &&
              calibrate_nll(probs, labels, N, K, T / 1.05) > after,
          "NLL minimal at T: %g -> %g", before, after);
    CHECK(calibrate_ece(probs, labels, N, K, T, CALIBRATE_ECE_BINS) <
              calibrate_ece(probs, labels, N, K, 1, CALIBRATE_ECE_BINS),
          "ECE lower after");
}

/* 4 samples, top-1 confidence 0.8 each (one bin), 2 right: ECE = |0.5 - 0.8| = 0.3. */
static void test_ece_hand_case(void) {
    const float p[8] = {0.8f, 0.2f, 0.8f, 0.2f, 0.2f, 0.8f, 0.2f, 0.8f};
    const int l[4] = {0, 1, 1, 0};
    double e = calibrate_ece(p, l, 4, 2, 1, CALIBRATE_ECE_BINS);
    CHECK(fabs(e - 0.3) < 1e-6, "ECE %g (0.3)", e);
    CHECK(fabs(calibrate_nll(p, l, 4, 2, 1) - 0.5 * (-log(0.8) - log(0.2))) < 1e-6, "NLL hand case");
}

/* The data section (after the header) of a safetensors file. */
static long data_section(const char *path, unsigned char **buf, size_t *size) {
    if (file_read_all(path, 1 << 28, buf, size)) return -1;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | (*buf)[i];
    return (long)(8 + hl);
}

static void test_model_file_and_predict(void) {
    char model[700], copy[700], cmd[4096], out[8192];
    CHECK(fix_audio_model(test_tmpdir(), model, sizeof model) == 0, "audio model: %s", avemo_last_error());
    snprintf(copy, sizeof copy, "%s/calibrated.safetensors", test_tmpdir());
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", model, copy);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "cp");
    CHECK(model_file_set_temperature(copy, 1.75f, "a test") == 0, "%s", avemo_last_error());
    unsigned char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    long da = data_section(model, &a, &na), db = data_section(copy, &b, &nb);
    CHECK(da > 0 && db > 0 && db % 8 == 0 && na - da == nb - db && !memcmp(a + da, b + db, na - da),
          "tensor bytes unchanged, header padded to 8");
    free(a);
    free(b);
    avemo_model *m0 = NULL, *m1 = NULL;
    CHECK(avemo_model_open(model, &m0) == 0 && avemo_model_open(copy, &m1) == 0, "%s", avemo_last_error());
    if (!m0 || !m1) return;
    CHECK(avemo_model_temperature(m0) == 1.0f && avemo_model_temperature(m1) == 1.75f, "temperature %g",
          avemo_model_temperature(m1));
    float pcm[22050];
    for (int i = 0; i < 22050; i++) pcm[i] = 0.3f * sinf(0.05f * i) * sinf(0.0007f * i);
    avemo_result r0, r1;
    CHECK(avemo_predict_pcm(m0, pcm, 22050, 22050, NULL, 0, 0, 0, &r0) == 0 &&
              avemo_predict_pcm(m1, pcm, 22050, 22050, NULL, 0, 0, 0, &r1) == 0,
          "%s", avemo_last_error());
    model_temper_probs(r0.probs, r0.n_classes, 1.75f);
    double worst = 0;
    for (int k = 0; k < r0.n_classes; k++) worst = fmax(worst, fabs(r0.probs[k] - r1.probs[k]));
    CHECK(worst < 1e-6, "predict applies T: %g", worst);
    avemo_model_close(m0);
    avemo_model_close(m1);
    /* the command: fit on the fixture run's test actor (actors:1/2 leaves actors 3, 4 as test), written into copy */
    snprintf(cmd, sizeof cmd, "%s calibrate --data '%s/cache' --protocol actors:1/2 --split test --write '%s' '%s'",
             avemo_bin(), test_tmpdir(), copy, model);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "samples, top-1") && strstr(out, "temperature"),
          "avemo calibrate: %s", out);
    model_file mf;
    CHECK(model_file_load(copy, &mf) == 0, "%s", avemo_last_error());
    CHECK(mf.temperature > 0 && mf.temperature != 1.75f && mf.calibration && strstr(mf.calibration, "avemo calibrate"),
          "written T %g: %s", mf.temperature, mf.calibration ? mf.calibration : "(none)");
    model_file_free(&mf);
    snprintf(cmd, sizeof cmd, "%s calibrate --data '%s/cache' --protocol actors:1/2 --fold 3 '%s'", avemo_bin(),
             test_tmpdir(), model);
    CHECK(run_cmd(cmd, out, sizeof out) == 2 && strstr(out, "fold 3"), "a fold the protocol lacks: %s", out);
}

int main(void) {
    RUN(test_temper_is_softmax_of_scaled_logits);
    RUN(test_fit_recovers_temperature);
    RUN(test_ece_hand_case);
    RUN(test_model_file_and_predict);
    return test_summary();
}
