#include "test.h"

#include "train/report.h"
#include "avemo.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(n + 1);
    if (fread(b, 1, n, f) != (size_t)n) n = 0;
    b[n] = 0;
    fclose(f);
    return b;
}

/* Two folds, 3 classes. Fold 1: 4 of 6 right; fold 2: 5 of 6 right. */
static void make_run(run_report *r, fold_report *folds) {
    static const char *const names[3] = {"neutral", "happy", "sad"};
    memset(folds, 0, 2 * sizeof *folds);
    const float p1[18] = {.8f, .1f, .1f, .6f, .3f, .1f, .1f, .8f, .1f, .2f, .3f, .5f, .1f, .1f, .8f, .5f, .4f, .1f};
    const float p2[18] = {.8f, .1f, .1f, .7f, .2f, .1f, .1f, .8f, .1f, .1f, .7f, .2f, .1f, .1f, .8f, .1f, .7f, .2f};
    const int l[6] = {0, 0, 1, 1, 2, 2};
    metrics_compute(p1, l, 6, 3, &folds[0].test);
    metrics_compute(p2, l, 6, 3, &folds[1].test);
    for (int k = 0; k < 2; k++) {
        folds[k].n_test_actors = 2;
        folds[k].test_actors[0] = 2 * k + 1;
        folds[k].test_actors[1] = 2 * k + 2;
        folds[k].n_val_actors = 1;
        folds[k].val_actors[0] = 5 + k;
        folds[k].n_train = 20;
        folds[k].n_val = 3;
        folds[k].best_epoch = 10 + k;
        folds[k].best_val_top1 = 0.5;
    }
    memset(r, 0, sizeof *r);
    r->command = "train";
    r->dataset = "ravdess";
    r->protocol = "actors:1,2/5";
    r->protocol_desc = "test description";
    r->speaker_independent = 1;
    r->seed = 7;
    r->data_hash = 0x0123456789abcdefULL;
    r->config_json = "{\"lr\":0.04,\"fusion\":\"attention\"}";
    r->n_classes = 3;
    r->class_names = names;
    r->n_folds = 2;
    r->folds = folds;
}

static void test_summary_numbers(void) {
    run_report r;
    fold_report f[2];
    make_run(&r, f);
    run_summary s;
    report_summarize(&r, &s);
    /* top-1 4/6 and 5/6: mean 0.75, sample std = |5/6-4/6| / sqrt(2) = 0.117851 */
    CHECK(fabs(s.top1.mean - 0.75) < 1e-12 && fabs(s.top1.std - (1.0 / 6) / sqrt(2)) < 1e-12, "top1 %g %g",
          s.top1.mean, s.top1.std);
    CHECK(s.pooled.n == 12 && fabs(s.pooled.top1 - 0.75) < 1e-12, "pooled");
    CHECK(s.pooled.confusion[0] == 4, "pooled confusion [0][0] = %d", s.pooled.confusion[0]);
}

static void test_json_md(void) {
    run_report r;
    fold_report f[2];
    make_run(&r, f);
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/run1", test_tmpdir());
    CHECK(report_write(&r, dir) == 0, "write: %s", avemo_last_error());
    snprintf(path, sizeof path, "%s/report.json", dir);
    char *t = slurp(path);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    CHECK(j != NULL, "report.json parses back");
    if (j) {
        CHECK(!strcmp(cJSON_GetObjectItem(j, "protocol")->valuestring, "actors:1,2/5"), "protocol");
        CHECK(!strcmp(cJSON_GetObjectItem(j, "data_hash")->valuestring, "0123456789abcdef"), "hash");
        CHECK(cJSON_GetObjectItem(j, "seed")->valueint == 7, "seed");
        CHECK(!strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "fusion")->valuestring, "attention"), "config");
        cJSON *sum = cJSON_GetObjectItem(j, "summary");
        double m = cJSON_GetObjectItem(cJSON_GetObjectItem(sum, "top1"), "mean")->valuedouble;
        CHECK(fabs(m - 0.75) < 1e-12, "mean top1 %g", m);
        cJSON *folds = cJSON_GetObjectItem(j, "folds");
        CHECK(cJSON_GetArraySize(folds) == 2, "2 folds");
        cJSON *conf = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(folds, 1), "test"), "confusion");
        CHECK(cJSON_GetArraySize(conf) == 3 && cJSON_GetArrayItem(cJSON_GetArrayItem(conf, 2), 1)->valueint == 1,
              "confusion");
        cJSON *rec = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(folds, 0), "test"), "per_class_recall");
        CHECK(cJSON_GetArraySize(rec) == 3, "recall");
        cJSON_Delete(j);
    }
    free(t);
    snprintf(path, sizeof path, "%s/report.md", dir);
    t = slurp(path);
    CHECK(t && strstr(t, "| **mean ± std** |") && strstr(t, "**75.00 ± 11.79**") && strstr(t, "`actors:1,2/5`") &&
              strstr(t, "| **neutral** | 4 |"),
          "report.md content:\n%s", t ? t : "(missing)");
    free(t);
}

/* One fold: std is undefined, so JSON null and no "±" in Markdown. */
static void test_one_fold(void) {
    run_report r;
    fold_report f[2];
    make_run(&r, f);
    r.n_folds = 1;
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/run_one", test_tmpdir());
    CHECK(report_write(&r, dir) == 0, "write: %s", avemo_last_error());
    snprintf(path, sizeof path, "%s/report.json", dir);
    char *t = slurp(path);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    cJSON *sd = j ? cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "summary"), "top1"), "std") : NULL;
    CHECK(sd && cJSON_IsNull(sd), "std of one fold should be null");
    cJSON_Delete(j);
    free(t);
    snprintf(path, sizeof path, "%s/report.md", dir);
    t = slurp(path);
    CHECK(t && strstr(t, "| **66.67** |") && !strstr(t, "±"), "report.md:\n%s", t ? t : "(missing)");
    free(t);
}

static void test_paper_and_ablation(void) {
    int n;
    const paper_result *p = paper_results(&n);
    CHECK(n == 13 && p[2].accuracy == 90.62, "paper table");
    const paper_result *v = paper_lookup("VII", "frft_mobilenet_feature");
    CHECK(v && v->accuracy == 79.23 && !strcmp(v->dataset, "cremad"), "lookup");
    CHECK(paper_lookup("V", "nope") == NULL, "unknown key");
    ablation_row rows[3] = {
        {"audio only", 61.25, 3.1, 58.0, 6, paper_lookup("III", "audio")->accuracy, "kfold:6"},
        {"video only", NAN, NAN, NAN, 0, paper_lookup("III", "video")->accuracy, NULL},
        {"ours only", 70.0, 0, NAN, 1, NAN, "random:1"},
    };
    char path[600];
    snprintf(path, sizeof path, "%s/ablation.md", test_tmpdir());
    CHECK(report_write_ablation_md(path, "Table III (RAVDESS)", rows, 3, "note here") == 0, "%s", avemo_last_error());
    char *t = slurp(path);
    CHECK(t && strstr(t, "| audio only | 61.25 ± 3.10 | 58.00 | 6 | 62.50 | -1.25 | kfold:6 |") &&
              strstr(t, "| video only | not run | - | 0 | 79.79 | - | - |") && strstr(t, "note here"),
          "ablation.md:\n%s", t ? t : "(missing)");
    free(t);
}

int main(void) {
    RUN(test_summary_numbers);
    RUN(test_json_md);
    RUN(test_one_fold);
    RUN(test_paper_and_ablation);
    return test_summary();
}
