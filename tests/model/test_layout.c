/* Tests for src/model/layout.c, the tensor registry of the head and of MobileNetV2: offsets per kind, fields
 * pointed into the allocations, aliases, gradients allocated later, misuse reported. */
#include "test.h"

#include "avemo.h"
#include "model/layout.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    float *w, *b, *running_mean, *act, *stat;
    int *argmax;
} tensors;

static void declare(layout *L, tensors *t) {
    layout_begin(L, t);
    LAYOUT_ADD(L, &t->w, LT_WEIGHT, 0.5f, "w", 2, 3);
    layout_alias(L, "weight_%d", 7);
    LAYOUT_ADD(L, &t->running_mean, LT_BUF_ZEROS, 0, "running_mean", 4);
    LAYOUT_ADD(L, &t->b, LT_BIAS, 0.5f, "b", 2);
    LAYOUT_ADD(L, &t->stat, LT_STAT, 0, "stat", 5);
    LAYOUT_ADD(L, &t->act, LT_ACT, 0, "act", 3);
}

static void test_offsets_and_fields(void) {
    layout L;
    tensors v = {0}, g = {0};
    declare(&L, &v);
    CHECK(L.n == 5 && L.n_grad == 6 + 2 + 3 && L.n_nograd == 4 + 5 && L.n_int == 0, "counts %d %ld %ld", L.n,
          L.n_grad, L.n_nograd);
    CHECK(!strcmp(L.e[0].alias, "weight_7") && L.e[1].alias[0] == 0, "alias");
    CHECK(layout_has_grad(&L.e[0]) && !layout_has_grad(&L.e[1]) && layout_has_grad(&L.e[2]) &&
              !layout_has_grad(&L.e[3]) && layout_has_grad(&L.e[4]), "has_grad per kind");
    float *values, *grads, *nograd;
    CHECK(layout_alloc(&L, &v, &g, &values, &grads, &nograd, NULL) == 0, "alloc: %s", avemo_last_error());
    /* with-gradient tensors in declaration order in one allocation, the others in a second */
    CHECK(v.w == values && v.b == values + 6 && v.act == values + 8, "values offsets");
    CHECK(g.w == grads && g.b == grads + 6 && g.act == grads + 8, "grads offsets");
    CHECK(v.running_mean == nograd && v.stat == nograd + 4 && !g.running_mean && !g.stat, "nograd offsets");
    CHECK(layout_ptr(&L.e[2], &v) == v.b && layout_ptr(&L.e[2], &g) == g.b, "layout_ptr");
    free(values), free(grads), free(nograd);
    layout_free(&L);
}

/* gradients allocated after the values (MobileNetV2 allocates them only for training) */
static void test_grads_later(void) {
    layout L;
    tensors v = {0}, g = {0};
    declare(&L, &v);
    float *values, *nograd, *grads;
    CHECK(layout_alloc(&L, &v, NULL, &values, NULL, &nograd, NULL) == 0, "alloc: %s", avemo_last_error());
    CHECK(layout_alloc_grads(&L, &g, &grads) == 0, "alloc grads: %s", avemo_last_error());
    CHECK(g.w == grads && g.b == grads + 6 && g.act == grads + 8 && !g.running_mean && !g.stat, "grads fields");
    for (long i = 0; i < L.n_grad; i++) CHECK(grads[i] == 0.0f, "gradients start at zero");
    free(values), free(nograd), free(grads);
    layout_free(&L);
}

static void test_misuse(void) {
    layout L;
    tensors v = {0};
    float *values, *nograd;
    /* an int tensor needs the ints allocation */
    layout_begin(&L, &v);
    LAYOUT_ADD(&L, (float **)&v.argmax, LT_INT, 0, "argmax", 3);
    CHECK(layout_alloc(&L, &v, NULL, &values, NULL, &nograd, NULL) == AVEMO_EINTERNAL, "ints missing accepted");
    layout_free(&L);
    /* an alias before any tensor, a field outside the struct, a shape of 5 dims */
    layout_begin(&L, &v);
    layout_alias(&L, "x");
    CHECK(L.failed == AVEMO_EINTERNAL, "alias with nothing declared");
    layout_free(&L);
    layout_begin(&L, &v.b);
    LAYOUT_ADD(&L, &v.w, LT_WEIGHT, 0, "before the struct", 1);
    CHECK(L.failed == AVEMO_EINTERNAL, "field before the values struct");
    layout_free(&L);
    layout_begin(&L, &v);
    LAYOUT_ADD(&L, &v.w, LT_WEIGHT, 0, "five dims", 1, 1, 1, 1, 1);
    CHECK(layout_alloc(&L, &v, NULL, &values, NULL, &nograd, NULL) == AVEMO_EINTERNAL &&
              strstr(avemo_last_error(), "bad tensor declaration"), "5 dims: %s", avemo_last_error());
    layout_free(&L);
}

int main(void) {
    RUN(test_offsets_and_fields);
    RUN(test_grads_later);
    RUN(test_misuse);
    return test_summary();
}
