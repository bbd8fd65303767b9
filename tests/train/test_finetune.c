/* train --finetune (src/train/finetune.c):
 *  - one fine-tuning step (finetune_net_step) against PyTorch (tools/fixtures_finetune.py): torchvision
 *    mobilenet_v2 (colour stem: see the script for why, train-mode BN) + the video-only head, 8 frames of 64 x 64
 *    with augmentation off, loss, every gradient and the first SGD update (per-tensor learning rates and weight
 *    decay), plain and with mixup's two-label loss;
 *  - a short run on 70 FER2013 images (10 per class, ../shared; 63 after the holdout) at input 48 overfits them: eval-mode accuracy on
 *    its own training images near 100 %, in seconds;
 *  - the fine-tuned model file predicts through the C API (featurizer with the stored backbone and input size)
 *    exactly what the trainer's evaluation computes for the same image, also with 10 test-time views;
 *  - --init-visual from that fine-tuned face model starts the next run from its backbone and head;
 *  - a run stopped after an epoch and resumed ends with the same model file as an uninterrupted one. */
#include "test.h"
#include "mobilenetv2_formula.h"

#include "avemo.h"
#include "core/fileio.h"
#include "data/cache.h"
#include "data/featurizer.h"
#include "data/prep.h"
#include "data/protocol.h"
#include "io/safetensors.h"
#include "model/model_file.h"
#include "train/finetune.h"
#include "train/trainer.h"

#include <dirent.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the step against PyTorch ---- */

#define N 8
#define S 64
#define K 7
#define C 3 /* the fixture's stem */
#define SAMPLES 256

/* Gradient tolerance of tests/model/test_mobilenetv2.c in train mode (float32 train-mode BN backward over few
 * rows at the last stages); the updates are lr x (gradient + wd x weight), so the same. */
#if defined(__SANITIZE_ADDRESS__)
/* The sanitizer build (-O1, no -march=native: other kernels, other summation orders) lands at up to 1.7e-2
 * (measured): this step's float32 conditioning is that of PyTorch's own float32 run against float64 (3.7e-3
 * plain, 4.7e-3 mixup, printed by tools/fixtures_finetune.py), so the optimised build holds 5e-3 and this one
 * a looser bound. */
#define TOL_GRAD 3e-2
#define TOL_GRAD_MIXUP 3e-2
#else
#define TOL_GRAD 5e-3
/* Mixup's blended frames condition the step worse: PyTorch's own float32 run is 4.7e-3 off float64 there, at the
 * plain case's bound, so another float32 summation order lands beyond it (7.1e-3 measured on AMD Zen 4 with
 * -march=native: features.4's expand BN, the other tensors under 5e-3). The mixup case is held to twice PyTorch's
 * own float32 error. */
#define TOL_GRAD_MIXUP 1e-2
#endif
static double tol_grad = TOL_GRAD; /* the case's bound: TOL_GRAD, or TOL_GRAD_MIXUP */
#define TOL_LOSS 1e-5

/* fixtures_head.formula */
static void head_formula(float *v, long n, const char *name) {
    long h = 0;
    for (int k = 0; name[k]; k++) h += (long)(k + 1) * (unsigned char)name[k];
    int rv = strlen(name) >= 11 && !strcmp(name + strlen(name) - 11, "running_var");
    for (long i = 0; i < n; i++) {
        double s = sin(0.7 * (double)i + 0.013 * (double)(h % 997) + 0.5);
        v[i] = (float)(rv ? 1.0 + 0.5 * s * s : 0.3 * s);
    }
}

static long sample_into(const float *d, long count, float *out) {
    if (count <= SAMPLES) {
        memcpy(out, d, (size_t)count * sizeof(float));
        return count;
    }
    for (long s = 0; s < SAMPLES; s++) out[s] = d[s * count / SAMPLES];
    return SAMPLES;
}

/* Per tensor, relative to its largest reference value; a tensor zero in exact arithmetic (the project BNs'
 * biases under train-mode BN) against the overall scale. `slack`: an absolute error allowed on top (updates are
 * measured as before - after in float32: a BN weight near 1 rounds its small update by ~1e-7). */
static double compare_tensor(const char *what, const char *name, const float *got, const float *want, long c,
                             double scale, double slack) {
    double tmax = 0, e;
    for (long i = 0; i < c; i++) tmax = fmax(tmax, fabs(want[i]));
    if (tmax < 1e-9 * scale) {
        e = max_abs_diff_f(got, want, c) / scale;
        CHECK(e < 1e-5, "%s %s should be ~0: %g of the scale", what, name, e);
        return 0;
    }
    e = max_abs_diff_f(got, want, c);
    e = e > slack ? (e - slack) / tmax : 0;
    CHECK(e < tol_grad, "%s %s: rel err %g vs PyTorch (beyond %g of float32 rounding)", what, name, e, slack);
    return e;
}

static float *fixture_tensor(const st_file *f, const char *name, long count) {
    const st_tensor *t = st_find(f, name);
    CHECK(t && t->count == count, "fixture tensor %s missing or of another size", name);
    if (!t || t->count != count) return NULL;
    float *v = malloc((size_t)count * sizeof *v);
    CHECK(st_to_f32(t, v, count, name) == 0, "%s", avemo_last_error());
    return v;
}

/* bb's gradients (which = 0) or updates (1: before - after) sampled, against the fixture's concatenation. */
static void check_backbone(const st_file *f, const mobilenetv2 *bb, const float *before, int which) {
    float *got = malloc(sizeof(float) * 200000), *tmp = malloc((size_t)bb->n_params * sizeof(float));
    long ng = 0;
    for (long i = 0; i < bb->n_params; i++) tmp[i] = which ? before[i] - bb->params[i] : bb->grads[i];
    for (int j = 0; j < bb->param_layout.n; j++) {
        const layout_entry *t = &bb->param_layout.e[j];
        if (layout_has_grad(t)) ng += sample_into(tmp + t->offset, t->count, got + ng);
    }
    float *want = fixture_tensor(f, which ? "bb_update" : "bb_grad", ng);
    if (want) {
        double scale = 0, worst = 0;
        for (long i = 0; i < ng; i++) scale = fmax(scale, fabs(want[i]));
        long k = 0;
        for (int j = 0; j < bb->param_layout.n; j++) {
            const layout_entry *t = &bb->param_layout.e[j];
            if (!layout_has_grad(t)) continue;
            long c = t->count <= SAMPLES ? t->count : SAMPLES;
            double pmax = 0;
            for (long i = 0; i < t->count; i++) pmax = fmax(pmax, fabs(before[t->offset + i]));
            worst = fmax(worst, compare_tensor(which ? "backbone update" : "backbone grad", t->name, got + k, want + k,
                                               c, scale, which ? 2 * FLT_EPSILON * pmax : 0));
            k += c;
        }
        printf("  backbone %s: worst per-tensor rel err %.2e\n", which ? "updates" : "gradients", worst);
    }
    free(want);
    free(got);
    free(tmp);
}

static void check_head(const st_file *f, const model *h, const float *before) {
    double worst = 0;
    float got[SAMPLES];
    for (int which = 0; which < 2; which++)
        for (int j = 0; j < h->param_layout.n; j++) {
            const layout_entry *t = &h->param_layout.e[j];
            if (!layout_has_grad(t)) continue;
            float *diff = malloc((size_t)t->count * sizeof(float));
            for (long i = 0; i < t->count; i++)
                diff[i] = which ? before[t->offset + i] - h->param_mem[t->offset + i] : h->grad_mem[t->offset + i];
            long c = sample_into(diff, t->count, got);
            char name[160];
            snprintf(name, sizeof name, "%s.%s", which ? "head_update" : "head_grad", t->name);
            float *want = fixture_tensor(f, name, c);
            if (want) {
                double scale = 0;
                for (long i = 0; i < c; i++) scale = fmax(scale, fabs(want[i]));
                double pmax = 0;
                for (long i = 0; which && i < t->count; i++) pmax = fmax(pmax, fabs(before[t->offset + i]));
                worst = fmax(worst, compare_tensor(which ? "head update" : "head grad", t->name, got, want, c,
                                                   scale > 0 ? scale : 1, 2 * FLT_EPSILON * pmax));
            }
            free(want);
            free(diff);
        }
    printf("  head gradients and updates: worst rel err %.2e\n", worst);
}

/* The frames of the fixture (uint8, augmentation off) through the trainer's input function: x [N, S, S, C]. */
static void fixture_frames(float *x) {
    uint8_t *u8 = malloc(N * S * S * C), scratch[S * S * 3];
    for (long i = 0; i < (long)N * S * S * C; i++) {
        double v = floor((hash_uniform((uint64_t)i, 1000) + 1.0) * 128.0);
        u8[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    augment_view id;
    augment_view_identity(&id);
    for (int i = 0; i < N; i++)
        CHECK(featurizer_frame_input(x + (long)i * S * S * C, S, C, MNV2_NORM_MINUS1_1, u8 + (long)i * S * S * C, S, S,
                                     C, &id, scratch) == 0,
              "%s", avemo_last_error());
    free(u8);
}

static void step_case(const char *case_name, int mix) {
    char rel[96];
    snprintf(rel, sizeof rel, "train/finetune_step_%s.safetensors", case_name);
    const char *path = fixture_path(rel);
    if (!path) return;
    tol_grad = mix ? TOL_GRAD_MIXUP : TOL_GRAD;
    st_file f;
    CHECK(st_read(path, &f) == 0, "%s", avemo_last_error());
    mobilenetv2 bb;
    CHECK(mobilenetv2_init(&bb, C, 0) == 0 && mobilenetv2_alloc_grads(&bb) == 0, "%s", avemo_last_error());
    formula_weights(&bb);
    model_config cfg;
    model_config_default(&cfg, K);
    cfg.modality = MODALITY_VIDEO, cfg.video_frames = 1, cfg.video_dim = MNV2_FEATURES;
    cfg.video_ch1 = 8, cfg.video_ch2 = 16, cfg.dropout = 0.0f, cfg.label_smoothing = 0.1f;
    model *head = NULL;
    CHECK(model_create(&head, &cfg, 0) == 0, "%s", avemo_last_error());
    for (int i = 0; i < model_n_tensors(head); i++)
        head_formula(model_tensor_data(head, i), model_tensor(head, i)->count, model_tensor(head, i)->name);
    train_options o;
    train_options_default(&o);
    o.optimizer = OPT_SGD, o.lr = 0.05f, o.momentum = 0.9f, o.dampening = 0, o.weight_decay = 0.01f;
    o.finetune.backbone_lr = 0.5f, o.finetune.layer_decay = 0.9f, o.finetune.bn = FT_BN_TRAIN;
    float *x = malloc(sizeof(float) * N * S * S * C);
    fixture_frames(x);
    int labels[N], labels_b[N]; /* mixup's second labels: the batch reversed */
    for (int i = 0; i < N; i++) labels[i] = i % K;
    for (int i = 0; i < N; i++) labels_b[i] = labels[N - 1 - i];
    float mean[MNV2_FEATURES], std[MNV2_FEATURES];
    for (int j = 0; j < MNV2_FEATURES; j++) {
        mean[j] = (float)(0.3 + 0.1 * sin(0.37 * j));
        std[j] = (float)(0.4 + 0.2 * cos(0.23 * j) * cos(0.23 * j));
    }
    float *bb_before = malloc((size_t)bb.n_params * sizeof(float)), *head_before = malloc((size_t)head->n_params * 4);
    memcpy(bb_before, bb.params, (size_t)bb.n_params * sizeof(float));
    memcpy(head_before, head->param_mem, (size_t)head->n_params * sizeof(float));
    float *feat = malloc(sizeof(float) * N * MNV2_FEATURES), *dfeat = malloc(sizeof(float) * N * MNV2_FEATURES);
    float *bb_m = calloc((size_t)bb.n_params, sizeof(float)), *head_m = calloc((size_t)head->n_params, 4);
    finetune_net net = {&bb, head, mean, std, bb_m, NULL, head_m, NULL, feat, dfeat};
    CHECK(finetune_net_step(&net, &o, x, N, S, labels, mix ? labels_b : NULL, 0.7f, o.lr, 1, NULL) == 0,
          "step: %s", avemo_last_error());
    float *want = fixture_tensor(&f, "loss", 1);
    if (want) {
        printf("  %s: loss %.6f (PyTorch %.6f)\n", case_name, head->loss, want[0]);
        CHECK(fabs(head->loss - want[0]) < TOL_LOSS * fabs(want[0]), "loss %g vs %g", head->loss, want[0]);
    }
    free(want);
    if ((want = fixture_tensor(&f, "logits", N * K))) {
        double e = rel_err_f(head->acts.logits, want, N * K);
        CHECK(e < 1e-4, "logits rel err %g", e);
    }
    free(want);
    check_backbone(&f, &bb, bb_before, 0);
    check_backbone(&f, &bb, bb_before, 1);
    check_head(&f, head, head_before);
    free(x), free(bb_before), free(head_before), free(feat), free(dfeat), free(bb_m), free(head_m);
    model_free(head);
    mobilenetv2_free(&bb);
    st_free(&f);
}

static void test_step_vs_torch(void) { step_case("plain", 0); }
static void test_step_mixup_vs_torch(void) { step_case("mixup", 1); }

/* ---- short runs on FER2013 images ---- */

#define PER_CLASS 10
#define SMALL_INPUT 48

static char g_cache[512];

/* TMP/fer/<class>/: links to the first PER_CLASS images of each FER2013 class; prepared at 48 x 48 into TMP/c. */
static const char *small_fer_cache(void) {
    static int tried; /* a failed first try is reported once */
    if (g_cache[0] || tried) return g_cache[0] ? g_cache : NULL;
    tried = 1;
    const char *rel_src = shared_path("data/fer2013/train");
    char src[PATH_MAX];
    if (!rel_src) return NULL;
    if (!realpath(rel_src, src)) { /* the links must not be relative */
        CHECK(0, "realpath %s", rel_src);
        return NULL;
    }
    char root[512], cls[1024], link[2048], target[PATH_MAX + 600];
    snprintf(root, sizeof root, "%s/fer", test_tmpdir());
    DIR *d = opendir(src);
    struct dirent *e;
    int n_classes = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(cls, sizeof cls, "%s/%s", root, e->d_name);
        CHECK(make_dirs(cls) == 0, "%s", avemo_last_error());
        char sdir[PATH_MAX + 300];
        snprintf(sdir, sizeof sdir, "%s/%s", src, e->d_name);
        /* the file names sorted, so the subset is the same on every machine */
        struct dirent **list;
        int n = scandir(sdir, &list, NULL, alphasort), k = 0;
        for (int i = 0; i < n; i++) {
            if (list[i]->d_name[0] != '.' && k < PER_CLASS) {
                snprintf(target, sizeof target, "%s/%s", sdir, list[i]->d_name);
                snprintf(link, sizeof link, "%s/%s", cls, list[i]->d_name);
                CHECK(symlink(target, link) == 0, "symlink %s", link);
                k++;
            }
            free(list[i]);
        }
        free(list);
        n_classes++;
    }
    if (d) closedir(d);
    CHECK(n_classes == 7, "%s: %d class folders, expected 7", src, n_classes);
    snprintf(g_cache, sizeof g_cache, "%s/c", test_tmpdir());
    prep_options po;
    prep_options_default(&po);
    po.features.faces.size = 48;
    po.jobs = 2;
    dataset_options dopt = {0};
    dopt.kind = DATASET_IMAGEFOLDER;
    CHECK(prep_options_for_dataset(&po, DATASET_IMAGEFOLDER, 0, -1, root) == 0, "%s", avemo_last_error());
    prep_dataset_options(&dopt, &po);
    dataset ds;
    feature_cache c;
    prep_stats st;
    int rc = dataset_scan(root, &dopt, &ds);
    CHECK(rc == 0, "scan: %s", avemo_last_error());
    if (!rc && !(rc = prep_create_cache(&c, g_cache, &ds, &dopt, &po))) {
        rc = prep_run(&c, &po, NULL, &st);
        CHECK(rc == 0 && st.n_ready == 7 * PER_CLASS, "prep: %s (%d ready)", avemo_last_error(), st.n_ready);
        cache_free(&c);
    }
    if (rc) g_cache[0] = 0;
    return rc ? NULL : g_cache;
}

static void small_options(train_options *o, const char *cache, const char *run) {
    train_options_default(o);
    o->cache_dir = cache;
    o->run_dir = run;
    o->protocol = "holdout:1";
    o->quiet = 1;
    o->model.modality = MODALITY_VIDEO;
    o->model.dropout = 0;
    o->epochs = 25;
    o->batch = 16;
    o->optimizer = OPT_ADAMW;
    o->lr = 2e-3f;
    o->weight_decay = 0;
    o->schedule = SCHED_COSINE;
    o->finetune.enabled = 1;
    o->finetune.backbone_path = shared_path("weights/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite");
    o->finetune.input_size = SMALL_INPUT;
    o->finetune.augment.enabled = 0;
    o->finetune.stats_images = 64;
}

/* The TFLite weights imported as avemo import does (stem summed to 1 channel), into TMP/mnv2g.safetensors. */
static const char *imported_backbone(void) {
    static char path[512];
    if (path[0]) return path;
    const char *tfl = shared_path("weights/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite");
    if (!tfl) return NULL;
    mobilenetv2 m;
    if (mobilenetv2_from_tflite(&m, tfl, 1)) {
        CHECK(0, "import: %s", avemo_last_error());
        return NULL;
    }
    snprintf(path, sizeof path, "%s/mnv2g.safetensors", test_tmpdir());
    CHECK(mobilenetv2_save(&m, path, NULL, 0) == 0, "%s", avemo_last_error());
    mobilenetv2_free(&m);
    return path;
}

static char g_run[512];

static void test_overfits_fer_subset(void) {
    const char *cache = small_fer_cache(), *bb = imported_backbone();
    if (!cache || !bb) return;
    snprintf(g_run, sizeof g_run, "%s/overfit", test_tmpdir());
    train_options o;
    small_options(&o, cache, g_run);
    o.finetune.backbone_path = bb;
    double t0 = now_seconds();
    int rc = train_run(&o);
    CHECK(rc == 0, "train: %s", avemo_last_error());
    if (rc) {
        g_run[0] = 0;
        return;
    }
    /* eval-mode accuracy on the run's own training images */
    feature_cache c;
    model_file mf;
    char model_path[600];
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", g_run);
    CHECK(cache_open(&c, cache) == 0 && model_file_load(model_path, &mf) == 0, "%s", avemo_last_error());
    CHECK(mf.backbone && mf.input_size == SMALL_INPUT, "the model file lacks its backbone or input size");
    protocol_spec ps;
    fold_set fs;
    CHECK(protocol_parse("holdout:1", &ps) == 0 && protocol_make_folds(&ps, &c.ds, 1, &fs) == 0, "folds");
    eval_metrics m;
    CHECK(finetune_eval(&mf, &c, fs.folds[0].train, fs.folds[0].n_train, 1, &m) == 0, "%s", avemo_last_error());
    printf("  %d training images at %dx%d: train top-1 %.3f after %d epochs (%.1f s)\n", m.n, SMALL_INPUT,
           SMALL_INPUT, m.top1, o.epochs, now_seconds() - t0);
    CHECK(m.n == 7 * (PER_CLASS - 1) && m.top1 >= 0.95, "train accuracy %.3f on %d images: expected >= 0.95 (overfitting)", m.top1, m.n);
    fold_set_free(&fs);
    model_file_free(&mf);
    cache_free(&c);
}

/* avemo_predict_file on a held-out image = the trainer's evaluation of that cache sample (same backbone, input
 * size, resize, standardisation, head). */
static void test_predict_matches_eval(void) {
    if (!g_run[0]) {
        CHECK(0, "needs the model of test_overfits_fer_subset");
        return;
    }
    char model_path[600];
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", g_run);
    feature_cache c;
    model_file mf;
    CHECK(cache_open(&c, g_cache) == 0 && model_file_load(model_path, &mf) == 0, "%s", avemo_last_error());
    avemo_model *api = NULL;
    CHECK(avemo_model_open(model_path, &api) == 0, "open: %s", avemo_last_error());
    for (int i = 0; api && i < c.ds.n; i += 37) { /* a few samples of every class */
        frame_set set;
        float want[K];
        CHECK(frame_set_load(&c, &i, 1, &set) == 0, "%s", avemo_last_error());
        CHECK(finetune_predict_set(mf.backbone, mf.input_size, mf.m, mf.video_mean, mf.video_std, &set, 1, want) == 0,
              "%s", avemo_last_error());
        avemo_result r;
        CHECK(avemo_predict_file(api, c.ds.samples[i].video_path, &r) == 0, "predict: %s", avemo_last_error());
        double e = rel_err_f(r.probs, want, K);
        CHECK(e < 1e-5, "%s: predict vs eval rel err %g", c.ds.samples[i].video_path, e);
        frame_set_free(&set);
    }
    avemo_model_close(api);
    /* with test-time views: the probabilities averaged over the same views as eval --tta */
    avemo_open_options oo = {0};
    oo.tta = 10;
    CHECK(avemo_model_open_ex(model_path, &oo, &api) == 0, "open: %s", avemo_last_error());
    for (int i = 5; api && i < c.ds.n; i += 29) {
        frame_set set;
        float want[K];
        CHECK(frame_set_load(&c, &i, 1, &set) == 0, "%s", avemo_last_error());
        CHECK(finetune_predict_set(mf.backbone, mf.input_size, mf.m, mf.video_mean, mf.video_std, &set, 10, want) == 0,
              "%s", avemo_last_error());
        avemo_result r;
        CHECK(avemo_predict_file(api, c.ds.samples[i].video_path, &r) == 0, "predict: %s", avemo_last_error());
        double e = rel_err_f(r.probs, want, K);
        CHECK(e < 1e-5, "%s: predict --tta 10 vs eval --tta 10 rel err %g", c.ds.samples[i].video_path, e);
        frame_set_free(&set);
    }
    avemo_model_close(api);
    model_file_free(&mf);
    cache_free(&c);
}

/* --init-visual from a fine-tuned face model: the next fine-tuning run starts from its backbone and head (one
 * epoch at a negligible learning rate keeps the overfit model's accuracy; from ImageNet it would be ~1/7). */
static void test_init_visual_from_face_model(void) {
    if (!g_run[0]) {
        CHECK(0, "needs the model of test_overfits_fer_subset");
        return;
    }
    char run[512], face_model[600], model_path[600];
    snprintf(run, sizeof run, "%s/from_face", test_tmpdir());
    snprintf(face_model, sizeof face_model, "%s/model.safetensors", g_run);
    train_options o;
    small_options(&o, g_cache, run);
    o.finetune.backbone_path = imported_backbone();
    o.init_visual = face_model;
    o.epochs = 1, o.lr = 1e-9f;
    CHECK(train_run(&o) == 0, "train: %s", avemo_last_error());
    feature_cache c;
    model_file mf;
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", run);
    CHECK(cache_open(&c, g_cache) == 0 && model_file_load(model_path, &mf) == 0, "%s", avemo_last_error());
    protocol_spec ps;
    fold_set fs;
    CHECK(protocol_parse("holdout:1", &ps) == 0 && protocol_make_folds(&ps, &c.ds, 1, &fs) == 0, "folds");
    eval_metrics m;
    CHECK(finetune_eval(&mf, &c, fs.folds[0].train, fs.folds[0].n_train, 1, &m) == 0, "%s", avemo_last_error());
    printf("  started from the face model: train top-1 %.3f after 1 epoch at lr 1e-9\n", m.top1);
    CHECK(m.top1 >= 0.9, "train accuracy %.3f: the face model's backbone and head were not carried over", m.top1);
    fold_set_free(&fs);
    model_file_free(&mf);
    cache_free(&c);
}

/* Stopped after epoch 1 and resumed = uninterrupted, byte for byte (augmentation, mixup and dropout on). */
static void test_resume_identical(void) {
    const char *cache = small_fer_cache(), *bb = imported_backbone();
    if (!cache || !bb) return;
    char full[512], part[512], a[600], b[600];
    snprintf(full, sizeof full, "%s/resume_full", test_tmpdir());
    snprintf(part, sizeof part, "%s/resume_part", test_tmpdir());
    train_options o;
    small_options(&o, cache, full);
    o.finetune.backbone_path = bb;
    o.epochs = 2, o.max_train_samples = 64, o.model.dropout = 0.5f;
    o.finetune.augment.enabled = 1, o.finetune.mixup = 0.4f, o.finetune.tta = 2;
    CHECK(train_run(&o) == 0, "full: %s", avemo_last_error());
    o.run_dir = part;
    o.stop_after_epochs = 1;
    CHECK(train_run(&o) != 0, "the stopped run should report its stop");
    o.stop_after_epochs = 0;
    o.resume = 1;
    CHECK(train_run(&o) == 0, "resumed: %s", avemo_last_error());
    snprintf(a, sizeof a, "%s/model.safetensors", full);
    snprintf(b, sizeof b, "%s/model.safetensors", part);
    CHECK(test_same_file(a, b), "the resumed run's model differs from the uninterrupted one's");
}

int main(void) {
    RUN(test_step_vs_torch);
    RUN(test_step_mixup_vs_torch);
    RUN(test_overfits_fer_subset);
    RUN(test_predict_matches_eval);
    RUN(test_init_visual_from_face_model);
    RUN(test_resume_identical);
    return test_summary();
}
