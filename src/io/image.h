/* Still images (PNG, JPEG, BMP, anything FFmpeg's image decoders read) as 8-bit RGB, and as one-frame
 * clips so that stills and videos share the face pipeline. Decoding goes through io/video.c (FFmpeg's
 * image demuxers), so they are bounded, shrunk and turned upright (EXIF orientation) the same way
 * (io/video.h: width*height <= AVEMO_MAX_PIXELS, longer side delivered at most AVEMO_DECODE_MAX_SIDE). */
#ifndef AVEMO_IO_IMAGE_H
#define AVEMO_IO_IMAGE_H
#include "io/video.h"

#include <stdint.h>

typedef struct {
    int h, w;
    uint8_t *rgb; /* [h, w, 3] */
} image_rgb;

/* 1 if the file name ends in an image extension (.png .jpg .jpeg .bmp .ppm .pgm .tif .tiff .webp) */
int image_is_image_path(const char *path);
int image_load_rgb(const char *path, image_rgb *out);
void image_free(image_rgb *img);
/* The image as a clip of one frame (n = 1, index {0}, fps 0, total_frames 1). */
int image_read_clip(const char *path, video_clip *out);

#endif
