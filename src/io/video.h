/* Video decoding to RGB24 frames with FFmpeg (libavformat/libavcodec/libswscale): any container and codec
 * FFmpeg reads (RAVDESS MP4/H.264, CREMA-D FLV, AVI, MKV). Frame sampling per SPEC section 2.2.
 *
 * How frames are found: pass 1 counts the video stream's packets without decoding (one packet per frame for
 * the codecs used here; exact frame count even where the container's nb_frames is missing), pass 2 decodes
 * sequentially from the start and converts to RGB only the wanted frames (decode-and-skip: a 3-4 s clip
 * decodes in well under a second, and no seek accuracy issues). If pass 2 yields fewer frames than counted
 * (a truncated stream), the file is reported as truncated.
 *
 * Thread-safe: every call uses its own FFmpeg contexts.
 */
#ifndef AVEMO_IO_VIDEO_H
#define AVEMO_IO_VIDEO_H
#include <stdint.h>

#define AVEMO_FRAMES_PER_CLIP 15
#define AVEMO_CLIP_SECONDS 3.6
/* the baseline's window: 15 of the first 108 frames, indices 3, 10, ..., 103 */
#define AVEMO_FIRST_WINDOW_FRAMES 108
#define AVEMO_MAX_PIXELS (8192L * 8192L) /* cap on width*height of a frame or image */

typedef enum {
    FRAME_WINDOW_CENTER = 0, /* uniform over the clip's central 3.6 s, or all of a shorter clip (SPEC 2.2) */
    FRAME_WINDOW_FIRST = 1   /* the baseline: floor(3 + k * 108 / frames) */
} frame_window;

/* Frame indices to sample: idx[k] in [0, total_frames) or -1 for a frame outside the clip (it stays zero).
 * CENTER: the clip's central 3.6 s [c - 1.8 s, c + 1.8 s) around its centre c = total_frames / fps / 2, or
 * the whole clip when it is shorter than 3.6 s (SPEC 2.2: so that every slot shows the clip, not padding),
 * cut into `frames` equal slots (video_sample_span). FIRST: floor(3 + k * 108 / frames), -1 beyond the clip. */
int video_sample_indices(long *idx, int frames, long total_frames, double fps, frame_window win);

/* `frames` slots over [start_s, start_s + span_s): slot k takes the frame showing t_k = start_s + (k + 0.5) *
 * span_s / frames, index floor(t_k * fps); -1 when that is outside [0, total_frames). */
void video_sample_span(long *idx, int frames, double start_s, double span_s, long total_frames, double fps);

typedef struct {
    int n;            /* frames sampled */
    int h, w;         /* frame size */
    double fps;
    long total_frames; /* frames in the clip */
    long *index;      /* [n] source frame index, -1 = missing (zero frame) */
    uint8_t *rgb;     /* [n, h, w, 3] */
} video_clip;

/* Decode `frames` sampled frames of the video file at `path`. Errors (one line naming the file): no such
 * file, not a media file, no video stream, 0 fps, zero frames, odd/oversized frame size, truncated. */
int video_read_clip(const char *path, int frames, frame_window win, video_clip *out);

/* Pass 1 alone: frame count (packets of the video stream), frame rate, frame size. */
int video_probe(const char *path, long *total_frames, double *fps, int *h, int *w);
/* Pass 2 alone: decode the frames with the given indices (ascending; -1 entries are skipped and left zero;
 * repeated indices are copied) into rgb [n, h, w, 3] (malloc'd, caller frees). */
int video_decode_indices(const char *path, const long *idx, int n, uint8_t **rgb, int *h, int *w);

void video_clip_free(video_clip *c);

#endif
