#include "model/layout.h"

#include "core/bigmem.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void layout_begin(layout *L, const void *values_struct) {
    memset(L, 0, sizeof *L);
    L->base = values_struct;
}

static int kind_has_grad(layout_kind k) {
    return k == LT_WEIGHT || k == LT_BIAS || k == LT_ONES || k == LT_ZEROS || k == LT_ACT;
}
int layout_has_grad(const layout_entry *e) { return kind_has_grad(e->kind); }

void layout_add(layout *L, void *field, layout_kind kind, float bound, int ndim, const int64_t *shape,
                const char *name_fmt, ...) {
    if (L->failed) return;
    if (ndim < 1 || ndim > 4 || (const char *)field < (const char *)L->base) {
        L->failed = AVEMO_EINTERNAL;
        return;
    }
    if (L->n == L->cap) {
        int cap = L->cap ? 2 * L->cap : 64;
        layout_entry *e = realloc(L->e, (size_t)cap * sizeof *e);
        if (!e) {
            L->failed = AVEMO_ENOMEM;
            return;
        }
        L->e = e;
        L->cap = cap;
    }
    layout_entry *e = &L->e[L->n++];
    memset(e, 0, sizeof *e);
    va_list ap;
    va_start(ap, name_fmt);
    vsnprintf(e->name, sizeof e->name, name_fmt, ap);
    va_end(ap);
    e->kind = kind;
    e->ndim = ndim;
    e->count = 1;
    for (int i = 0; i < ndim; i++) {
        e->shape[i] = shape[i];
        if (shape[i] < 0 || shape[i] > (1L << 30)) L->failed = AVEMO_EINTERNAL;
        e->count *= (long)shape[i];
    }
    e->field = (size_t)((const char *)field - (const char *)L->base);
    e->bound = bound;
    if (kind == LT_INT) {
        e->offset = L->n_int;
        L->n_int += e->count;
    } else if (kind_has_grad(kind)) {
        e->offset = L->n_grad;
        L->n_grad += e->count;
    } else {
        e->offset = L->n_nograd;
        L->n_nograd += e->count;
    }
}

void layout_alias(layout *L, const char *alias_fmt, ...) {
    if (L->failed) return;
    if (L->n == 0) {
        L->failed = AVEMO_EINTERNAL;
        return;
    }
    va_list ap;
    va_start(ap, alias_fmt);
    vsnprintf(L->e[L->n - 1].alias, sizeof L->e[L->n - 1].alias, alias_fmt, ap);
    va_end(ap);
}

static void *zalloc(long n, size_t size) { return big_calloc((n > 0 ? (size_t)n : 1) * size); } /* core/bigmem.h */
/* Gradients: calloc, whose fresh pages are zero without being written (issue 15): a model loaded for inference
 * never touches them, and big_calloc's memset made the kernel clear every page of them (4 MiB for the AV head) at
 * each `avemo predict`. Training writes them from the first step on. */
static void *zalloc_grads(long n) { return calloc(n > 0 ? (size_t)n : 1, sizeof(float)); }

static int declaration_error(const layout *L) {
    return avemo_error(L->failed, L->failed == AVEMO_ENOMEM ? "out of memory declaring tensors"
                                                            : "bad tensor declaration (a bug)");
}

static void **field_in(void *s, const layout_entry *e) { return (void **)((char *)s + e->field); }

int layout_alloc(layout *L, void *values, void *grads, float **grad_values, float **grad_grads, float **nograd,
                 int **ints) {
    if (!L->failed && ((!ints && L->n_int) || (grads && !grad_grads))) L->failed = AVEMO_EINTERNAL;
    if (L->failed) return declaration_error(L);
    float *values_mem = zalloc(L->n_grad, sizeof(float));
    float *grads_mem = grads ? zalloc_grads(L->n_grad) : NULL;
    float *nograd_mem = zalloc(L->n_nograd, sizeof(float));
    int *int_mem = ints ? zalloc(L->n_int, sizeof(int)) : NULL;
    if (!values_mem || (grads && !grads_mem) || !nograd_mem || (ints && !int_mem)) {
        free(values_mem), free(grads_mem), free(nograd_mem), free(int_mem);
        return avemo_error(AVEMO_ENOMEM, "out of memory allocating %ld + %ld floats", L->n_grad, L->n_nograd);
    }
    for (int i = 0; i < L->n; i++) {
        const layout_entry *e = &L->e[i];
        if (e->kind == LT_INT) {
            *field_in(values, e) = int_mem + e->offset;
        } else if (kind_has_grad(e->kind)) {
            *field_in(values, e) = values_mem + e->offset;
            if (grads) *field_in(grads, e) = grads_mem + e->offset;
        } else {
            *field_in(values, e) = nograd_mem + e->offset;
        }
    }
    *grad_values = values_mem;
    if (grad_grads) *grad_grads = grads_mem;
    *nograd = nograd_mem;
    if (ints) *ints = int_mem;
    return AVEMO_OK;
}

int layout_alloc_grads(const layout *L, void *grads, float **grad_grads) {
    if (L->failed) return declaration_error(L);
    float *grads_mem = zalloc_grads(L->n_grad);
    if (!grads_mem) return avemo_error(AVEMO_ENOMEM, "out of memory allocating %ld gradients", L->n_grad);
    for (int i = 0; i < L->n; i++)
        if (kind_has_grad(L->e[i].kind)) *field_in(grads, &L->e[i]) = grads_mem + L->e[i].offset;
    *grad_grads = grads_mem;
    return AVEMO_OK;
}

void layout_init_values(const layout *L, const void *values, rng_t *rng) {
    for (int i = 0; i < L->n; i++) {
        const layout_entry *e = &L->e[i];
        if (e->kind == LT_INT) continue;
        float *p = layout_ptr(e, values);
        switch (e->kind) {
        case LT_WEIGHT:
        case LT_BIAS:
            for (long j = 0; j < e->count; j++) p[j] = (float)((2.0 * rng_uniform(rng) - 1.0) * e->bound);
            break;
        case LT_ONES:
        case LT_BUF_ONES:
            for (long j = 0; j < e->count; j++) p[j] = 1.0f;
            break;
        default:
            memset(p, 0, (size_t)e->count * sizeof(float));
        }
    }
}

void layout_free(layout *L) {
    free(L->e);
    memset(L, 0, sizeof *L);
}
