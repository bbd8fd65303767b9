#include "test.h"

#include "train/plot.h"
#include "avemo.h"

#include <cairo.h>
#include <math.h>
#include <string.h>

/* Read the PNG back with cairo; returns its size, or 0x0 when it does not decode. */
static void png_size(const char *path, int *w, int *h) {
    *w = *h = 0;
    FILE *f = fopen(path, "rb");
    unsigned char sig[8] = {0};
    if (f) {
        size_t got = fread(sig, 1, 8, f);
        fclose(f);
        CHECK(got == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8), "%s: no PNG signature", path);
    }
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
        *w = cairo_image_surface_get_width(s);
        *h = cairo_image_surface_get_height(s);
    }
    cairo_surface_destroy(s);
}

/* Count pixels that are neither white nor grey: the heatmap's blue cells. */
static long coloured_pixels(const char *path) {
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    long n = 0;
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
        cairo_surface_flush(s);
        int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
        int stride = cairo_image_surface_get_stride(s);
        const unsigned char *d = cairo_image_surface_get_data(s);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const unsigned char *p = d + y * stride + 4 * x; /* BGRA little-endian */
                n += p[0] > p[2] + 40;                          /* blue well above red */
            }
    }
    cairo_surface_destroy(s);
    return n;
}

static void test_confusion(void) {
    static const char *const names[8] = {"neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"};
    int conf[64];
    for (int t = 0; t < 8; t++)
        for (int p = 0; p < 8; p++) conf[t * 8 + p] = t == p ? 40 + t : (t + p) % 3;
    char path[600];
    snprintf(path, sizeof path, "%s/confusion.png", test_tmpdir());
    CHECK(plot_confusion_png(path, conf, 8, names, "RAVDESS, kfold:6") == 0, "%s", avemo_last_error());
    int w, h;
    png_size(path, &w, &h);
    CHECK(w > 8 * 64 && h > 8 * 64 && w < 2000 && h < 2000, "size %dx%d", w, h);
    CHECK(coloured_pixels(path) > 8 * 50 * 50, "diagonal cells are not coloured");
    CHECK(plot_confusion_png(path, conf, 0, names, NULL) == AVEMO_EINVAL, "0 classes");
}

static void test_curves(void) {
    enum { E = 30 };
    float tl[E], vl[E], ta[E], va[E];
    for (int e = 0; e < E; e++) {
        tl[e] = 2.0f * expf(-e / 8.0f);
        vl[e] = 2.1f * expf(-e / 10.0f) + 0.2f;
        ta[e] = 1 - 0.85f * expf(-e / 6.0f);
        va[e] = e == 5 ? NAN : 0.9f - 0.75f * expf(-e / 7.0f);
    }
    learning_curves lc = {E, tl, vl, ta, va, 22};
    char path[600];
    snprintf(path, sizeof path, "%s/curves.png", test_tmpdir());
    CHECK(plot_learning_curves_png(path, &lc, "fold 1") == 0, "%s", avemo_last_error());
    int w, h;
    png_size(path, &w, &h);
    CHECK(w == 1100 && h == 460, "size %dx%d", w, h);
    learning_curves one = {1, tl, NULL, NULL, va, 0}; /* one epoch, missing series */
    snprintf(path, sizeof path, "%s/curves1.png", test_tmpdir());
    CHECK(plot_learning_curves_png(path, &one, NULL) == 0, "one epoch: %s", avemo_last_error());
    png_size(path, &w, &h);
    CHECK(w == 1100, "one epoch decodes");
    char bad[700];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.png", test_tmpdir());
    CHECK(plot_learning_curves_png(bad, &lc, NULL) == AVEMO_EWRITE, "unwritable path: %s", avemo_last_error());
}

int main(void) {
    RUN(test_confusion);
    RUN(test_curves); /* no plot_cleanup(): the plots release the font caches themselves (SAN build checks) */
    return test_summary();
}
