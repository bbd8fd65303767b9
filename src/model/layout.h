/* A tensor registry that turns structs of named pointers into views of one allocation (llm.c style).
 *
 * A model declares each tensor once: its name, shape, kind, and the address of the pointer field that
 * should point at it inside a "values" struct. layout_alloc() then makes one allocation for the values and,
 * for tensors that have gradients, a second one at the same offsets, and points the field of the same
 * name inside a "grads" struct of the same type at it. Used twice: for parameters (values = weights,
 * grads = their gradients) and for activations (values = saved forward results, grads = their gradients).
 * Trainable tensors are contiguous, so they double as the flat vector the optimizers step. */
#ifndef AVEMO_MODEL_LAYOUT_H
#define AVEMO_MODEL_LAYOUT_H
#include "core/rng.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    LT_WEIGHT,     /* trainable, init U(-bound, bound) (PyTorch's Kaiming-uniform default: 1/sqrt(fan_in)) */
    LT_BIAS,       /* trainable, init U(-bound, bound) */
    LT_ONES,       /* trainable, init 1 (BN/LN scale) */
    LT_ZEROS,      /* trainable, init 0 (BN/LN shift) */
    LT_BUF_ZEROS,  /* not trainable, saved (BN running mean), init 0 */
    LT_BUF_ONES,   /* not trainable, saved (BN running var), init 1 */
    LT_ACT,        /* activation with a gradient */
    LT_STAT,       /* activation without a gradient (BN batch mean/rstd, masks) */
    LT_INT         /* int activation without a gradient (max-pool argmax) */
} layout_kind;

#define LAYOUT_NAME_MAX 96

typedef struct {
    char name[LAYOUT_NAME_MAX];
    char alias[LAYOUT_NAME_MAX]; /* a second name a loader accepts (e.g. timm's for torchvision's), "" = none */
    layout_kind kind;
    int ndim;
    int64_t shape[4];
    long count;
    long offset;      /* in floats (ints for LT_INT) within its allocation */
    size_t field;     /* byte offset of the pointer field within the values/grads struct */
    float bound;
} layout_entry;

typedef struct {
    layout_entry *e;
    int n, cap;
    long n_grad;      /* floats with a gradient (trainable params / activations with grads) */
    long n_nograd;    /* floats without (buffers / stats) */
    long n_int;
    const void *base; /* the values struct the fields are declared from */
    int failed;       /* ENOMEM or a bad declaration: reported by layout_alloc */
} layout;

void layout_begin(layout *L, const void *values_struct);
/* Declare a tensor of `ndim` dims (<= 4). `field` is the address of the pointer in the values struct. */
void layout_add(layout *L, void *field, layout_kind kind, float bound, int ndim, const int64_t *shape,
                const char *name_fmt, ...) __attribute__((format(printf, 7, 8)));
/* Give the tensor declared last a second name (layout_entry.alias). */
void layout_alias(layout *L, const char *alias_fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether the tensor has a gradient (trainable parameters, LT_ACT activations). */
int layout_has_grad(const layout_entry *e);
/* layout_add with the shape given inline and the name as is: LAYOUT_ADD(L, &p->w, LT_WEIGHT, bound, "name", 64, 3) */
#define LAYOUT_ADD(L, field, kind, bound, name, ...)                                                    \
    layout_add(L, field, kind, bound, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),       \
               (const int64_t[]){__VA_ARGS__}, "%s", name)
/* Allocate zeroed storage, set the fields in `values` (and in `grads`, when not NULL: same struct type,
 * fields of gradient-less tensors left NULL). grad_grads may be NULL when grads is; ints may be NULL when no
 * LT_INT tensor was declared. Returns AVEMO_ENOMEM / AVEMO_EINTERNAL (a bad declaration). */
int layout_alloc(layout *L, void *values, void *grads, float **grad_values, float **grad_grads, float **nograd,
                 int **ints);
/* The gradients alone, later (for a values struct allocated without them): *grad_grads, zeroed, and the
 * fields of the tensors with gradients in `grads`. */
int layout_alloc_grads(const layout *L, void *grads, float **grad_grads);
/* Initialise the values per kind (LT_WEIGHT/LT_BIAS uniform from rng, ones, zeros). */
void layout_init_values(const layout *L, const void *values, rng_t *rng);
/* The tensor a field points at in `values`. */
static inline float *layout_ptr(const layout_entry *e, const void *values) {
    return *(float *const *)((const char *)values + e->field);
}
void layout_free(layout *L);

#endif
