/* Image operations: luma, zero-filled crops, bilinear (half-pixel) and area resampling against values
 * worked out by hand / PyTorch's conventions. */
#include "test.h"

#include "vision/imgops.h"

#include <stdlib.h>
#include <string.h>

static void test_gray(void) {
    uint8_t rgb[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 200, 100, 50}, g[4];
    rgb_to_gray(g, rgb, 4);
    /* 0.299*255 = 76.2, 0.587*255 = 149.7, 0.114*255 = 29.1, 0.299*200+0.587*100+0.114*50 = 124.2 */
    CHECK(g[0] == 76 && g[1] == 150 && g[2] == 29 && g[3] == 124, "gray %d %d %d %d", g[0], g[1], g[2], g[3]);
    uint8_t white[3] = {255, 255, 255};
    rgb_to_gray(g, white, 1);
    CHECK(g[0] == 255, "white -> %d", g[0]);
}

static void test_crop(void) {
    uint8_t img[3 * 4]; /* 3 rows, 4 cols, 1 channel: value 10*row + col + 1 */
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++) img[y * 4 + x] = (uint8_t)(10 * y + x + 1);
    uint8_t c[9];
    crop_u8(c, img, 3, 4, 1, -1, -1, 3, 3); /* top-left corner, one pixel outside */
    uint8_t want[9] = {0, 0, 0, 0, 1, 2, 0, 11, 12};
    CHECK(memcmp(c, want, 9) == 0, "corner crop");
    crop_u8(c, img, 3, 4, 1, 3, 2, 3, 3); /* bottom-right: only (2,3) inside */
    uint8_t want2[9] = {24, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(memcmp(c, want2, 9) == 0, "far crop");
    crop_u8(c, img, 3, 4, 1, 10, 10, 3, 3);
    uint8_t zero[9] = {0};
    CHECK(memcmp(c, zero, 9) == 0, "outside crop");
}

static void test_bilinear(void) {
    /* torch.nn.functional.interpolate([[0, 1], [2, 3]], size=4, mode="bilinear", align_corners=False):
     * rows [0, .25, .75, 1], [.5, .75, 1.25, 1.5], [1.5, 1.75, 2.25, 2.5], [2, 2.25, 2.75, 3] */
    float src[4] = {0, 1, 2, 3}, dst[16];
    float want[16] = {0, .25f, .75f, 1, .5f, .75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3};
    resize_bilinear_f32(dst, 4, 4, src, 2, 2, 1);
    CHECK(max_abs_diff_f(dst, want, 16) < 1e-6, "bilinear 2->4");
    /* 4 -> 2 with half-pixel centres samples at 0.5 and 2.5: means of neighbours */
    float s4[4] = {0, 10, 20, 30}, d2[2];
    resize_bilinear_f32(d2, 1, 2, s4, 1, 4, 1);
    CHECK(fabsf(d2[0] - 5) < 1e-6f && fabsf(d2[1] - 25) < 1e-6f, "bilinear 4->2: %g %g", d2[0], d2[1]);
    uint8_t u[4] = {0, 100, 200, 255}, ud[16];
    resize_bilinear_u8(ud, 4, 4, u, 2, 2, 1);
    CHECK(ud[0] == 0 && ud[1] == 25 && ud[15] == 255, "u8 bilinear %d %d %d", ud[0], ud[1], ud[15]);
}

static void test_area(void) {
    /* 6 -> 4 along x: footprints of 1.5 px: (a + b/2)/1.5 ... */
    float s[6] = {0, 6, 12, 18, 24, 30}, d[4];
    resize_area_f32(d, 1, 4, s, 1, 6, 1);
    float want[4] = {(0 + 3) / 1.5f, (3 + 12) / 1.5f, (18 + 12) / 1.5f, (12 + 30) / 1.5f};
    CHECK(max_abs_diff_f(d, want, 4) < 1e-4, "area 6->4: %g %g %g %g", d[0], d[1], d[2], d[3]);
    /* the mean is kept on an integer ratio, 2D, 3 channels */
    int h = 40, w = 30;
    float *img = malloc(sizeof(float) * h * w * 3), out[10 * 10 * 3];
    fill_uniform_f(img, h * w * 3, 3, 0, 255);
    resize_area_f32(out, 10, 10, img, h, w, 3);
    double m_in = 0, m_out = 0;
    for (int i = 0; i < h * w * 3; i++) m_in += img[i];
    for (int i = 0; i < 300; i++) m_out += out[i];
    CHECK(fabs(m_in / (h * w * 3) - m_out / 300) < 1e-3, "area mean %g vs %g", m_in / (h * w * 3), m_out / 300);
    /* pixel (0,0) of a 4x3 block average */
    double b = 0;
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 3; x++) b += img[(y * w + x) * 3 + 1];
    CHECK(fabs(out[1] - b / 12) < 1e-3, "block mean %g vs %g", out[1], b / 12);
    free(img);
}

/* crop_resize_f32 reads the image in place: bit-identical to crop_u8's zero-filled copy converted to float and
 * resampled (resize_area_f32), for crops inside, across every border and fully outside, shrinking and
 * enlarging, 1 and 3 channels */
static void test_crop_resize_in_place(void) {
    const int h = 37, w = 53;
    uint8_t *img = malloc((size_t)h * w * 3);
    for (int i = 0; i < h * w * 3; i++) img[i] = (uint8_t)((i * 7919u + (unsigned)(i / 3) * 31u) % 251u);
    static const int cases[][6] = {/* x0, y0, cw, ch, ow, oh */
                                   {0, 0, 53, 37, 24, 17},  {5, 3, 20, 20, 12, 12},  {-7, -4, 30, 25, 13, 11},
                                   {40, 30, 21, 19, 9, 8},   {-10, 20, 80, 30, 48, 48}, {60, 50, 8, 8, 4, 4},
                                   {3, 2, 9, 11, 31, 29},   {-2, -3, 58, 44, 53, 37}, {10, 10, 1, 1, 3, 2}};
    for (int c = 1; c <= 3; c += 2)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            int x0 = cases[i][0], y0 = cases[i][1], cw = cases[i][2], ch = cases[i][3], ow = cases[i][4],
                oh = cases[i][5];
            const uint8_t *src = img;
            uint8_t *crop = malloc((size_t)cw * ch * c);
            float *cropf = malloc(sizeof(float) * cw * ch * c), *want = malloc(sizeof(float) * ow * oh * c),
                  *got = malloc(sizeof(float) * ow * oh * c);
            crop_u8(crop, src, h, w, c, x0, y0, cw, ch);
            for (int k = 0; k < cw * ch * c; k++) cropf[k] = crop[k];
            CHECK(resize_area_f32(want, oh, ow, cropf, ch, cw, c) == 0, "reference resample");
            CHECK(crop_resize_f32(got, oh, ow, src, h, w, c, x0, y0, cw, ch) == 0, "crop_resize_f32");
            CHECK(memcmp(want, got, sizeof(float) * ow * oh * c) == 0, "case %zu, %d channels: not bit-identical",
                  i, c);
            free(crop);
            free(cropf);
            free(want);
            free(got);
        }
    free(img);
    /* a larger image: whole blocks of 16 output pixels (the AVX-512 RGB row) inside, across and past the borders */
    const int bh = 150, bw = 301;
    uint8_t *big = malloc((size_t)bh * bw * 3);
    for (int i = 0; i < bh * bw * 3; i++) big[i] = (uint8_t)((i * 2654435761u) >> 24);
    static const int big_cases[][6] = {{20, 10, 250, 120, 61, 43}, {-30, -20, 340, 190, 144, 100},
                                       {0, 0, 301, 150, 144, 72},  {100, 5, 200, 140, 33, 47},
                                       {-5, 0, 120, 90, 160, 90}};
    for (size_t i = 0; i < sizeof big_cases / sizeof big_cases[0]; i++) {
        int x0 = big_cases[i][0], y0 = big_cases[i][1], cw = big_cases[i][2], ch = big_cases[i][3];
        int ow = big_cases[i][4], oh = big_cases[i][5];
        uint8_t *crop = malloc((size_t)cw * ch * 3);
        float *cropf = malloc(sizeof(float) * cw * ch * 3), *want = malloc(sizeof(float) * ow * oh * 3),
              *got = malloc(sizeof(float) * ow * oh * 3);
        crop_u8(crop, big, bh, bw, 3, x0, y0, cw, ch);
        for (int k = 0; k < cw * ch * 3; k++) cropf[k] = crop[k];
        CHECK(resize_area_f32(want, oh, ow, cropf, ch, cw, 3) == 0, "reference resample");
        CHECK(crop_resize_f32(got, oh, ow, big, bh, bw, 3, x0, y0, cw, ch) == 0, "crop_resize_f32");
        CHECK(memcmp(want, got, sizeof(float) * ow * oh * 3) == 0, "large case %zu: not bit-identical", i);
        free(crop);
        free(cropf);
        free(want);
        free(got);
    }
    free(big);
}

static void test_normalize_transpose(void) {
    float rgb[2 * 3 * 3], net[2 * 3 * 3]; /* h 2, w 3 */
    for (int i = 0; i < 18; i++) rgb[i] = (float)(i * 10);
    mtcnn_normalize_transpose_f32(net, rgb, 2, 3);
    /* net[x][y][c] = (rgb[y][x][c] - 127.5) / 128 */
    int ok = 1;
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++)
            for (int c = 0; c < 3; c++) ok &= fabsf(net[(x * 2 + y) * 3 + c] - (rgb[(y * 3 + x) * 3 + c] - 127.5f) / 128) < 1e-6f;
    CHECK(ok, "transpose/normalise layout");
}

int main(void) {
    RUN(test_gray);
    RUN(test_crop);
    RUN(test_bilinear);
    RUN(test_area);
    RUN(test_crop_resize_in_place);
    RUN(test_normalize_transpose);
    return test_summary();
}
