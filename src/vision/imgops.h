/* Image operations on 8-bit and float images, row-major HWC (channels interleaved).
 *
 * Resampling convention (bilinear): half-pixel centres, as OpenCV INTER_LINEAR and PyTorch
 * interpolate(mode="bilinear", align_corners=False): source coordinate sx = (dx + 0.5) * in_w / out_w - 0.5,
 * clamped to [0, in_w - 1] (edge replication). Area resampling (downscaling): each output pixel is the
 * exact overlap-weighted mean of the input pixels its footprint covers (OpenCV INTER_AREA for shrinking,
 * PyTorch adaptive_avg_pool for integer ratios).
 */
#ifndef AVEMO_VISION_IMGOPS_H
#define AVEMO_VISION_IMGOPS_H
#include <stdint.h>

/* BT.601 luma: y = 0.299 R + 0.587 G + 0.114 B, rounded to nearest. rgb [n,3] -> gray [n] */
void rgb_to_gray(uint8_t *gray, const uint8_t *rgb, long n);

/* Crop the rectangle with top-left (x0, y0) (may be negative or beyond the image) and size out_w x out_h
 * from src [h,w,c]; pixels outside the image are zero. dst [out_h, out_w, c]. */
void crop_u8(uint8_t *dst, const uint8_t *src, int h, int w, int c, int x0, int y0, int out_w, int out_h);

/* Bilinear resize (half-pixel centres), src [h,w,c] -> dst [oh,ow,c], rounding to nearest for u8. */
void resize_bilinear_u8(uint8_t *dst, int oh, int ow, const uint8_t *src, int h, int w, int c);
void resize_bilinear_f32(float *dst, int oh, int ow, const float *src, int h, int w, int c);

/* Area (box-filter) resize for shrinking, src [h,w,c] -> dst [oh,ow,c] float; for an axis that grows it
 * falls back to bilinear along that axis. Returns AVEMO_ENOMEM on allocation failure. */
int resize_area_f32(float *dst, int oh, int ow, const float *src, int h, int w, int c);

/* Bilinear resample of the crop [x0, x0 + cw) x [y0, y0 + ch) of src (u8 [h,w,c]) to dst [oh,ow,c] float,
 * pixels outside the image reading as zero (the crop is first cut with zero fill, then resampled).
 * Shrinking uses the area filter. Returns AVEMO_ENOMEM on allocation failure. */
int crop_resize_f32(float *dst, int oh, int ow, const uint8_t *src, int h, int w, int c, int x0, int y0,
                    int cw, int ch);

/* MTCNN input normalisation: RGB float [h,w,3] -> (x - 127.5) / 128, channels kept in RGB order, written
 * TRANSPOSED as [w,h,3] (the layout the Caffe-trained MTCNN weights expect: see vision/mtcnn.h). */
void mtcnn_normalize_transpose_f32(float *dst, const float *rgb, int h, int w);

#endif
