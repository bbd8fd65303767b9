#include "io/image.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int image_is_image_path(const char *path) {
    static const char *ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"};
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (!strcasecmp(dot, ext[i])) return 1;
    return 0;
}

int image_load_rgb(const char *path, image_rgb *out) {
    memset(out, 0, sizeof *out);
    long idx = 0;
    return video_decode_indices(path, &idx, 1, 0, &out->rgb, &out->h, &out->w);
}

void image_free(image_rgb *img) {
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

int image_read_clip(const char *path, video_clip *out) {
    memset(out, 0, sizeof *out);
    out->index = malloc(sizeof(long));
    if (!out->index) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    out->index[0] = 0;
    int err = video_decode_indices(path, out->index, 1, 0, &out->rgb, &out->h, &out->w);
    if (err) {
        video_clip_free(out);
        return err;
    }
    out->n = 1;
    out->total_frames = 1;
    return AVEMO_OK;
}
