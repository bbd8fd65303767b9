/* Video decoding to RGB24 frames with FFmpeg (libavformat/libavcodec/libswscale): any container and codec
 * FFmpeg reads (RAVDESS MP4/H.264, CREMA-D FLV, AVI, MKV). Frame sampling per SPEC section 2.2.
 *
 * How frames are found: pass 1 counts the video stream's packets without decoding (one packet per frame for
 * the codecs used here; exact frame count even where the container's nb_frames is missing), pass 2 decodes
 * sequentially from the start and converts to RGB only the wanted frames (decode-and-skip: a 3-4 s clip
 * decodes in well under a second, and no seek accuracy issues). If pass 2 yields fewer frames than counted
 * (a truncated stream), the file is reported as truncated. Pass 2 numbers frames by presentation timestamp
 * (io/pts_order.h) and has the decoder skip the frames that fill no slot and that no other frame refers to
 * (AVDISCARD_NONREF: H.264's non-reference B-frames); the frames it delivers are bit-identical to the full
 * decode's. Streams whose timestamps cannot number frames (missing, repeated, dropped packets) are decoded in
 * full and numbered by count, as before.
 *
 * Bounds (hostile input): a stream whose frames are over AVEMO_MAX_PIXELS is refused when it is opened, before
 * any frame is decoded (and the decoder itself is told the limit, so a bitstream that lies about its size is
 * refused before it allocates). Frames are delivered at most AVEMO_DECODE_MAX_SIDE pixels on their longer side:
 * swscale shrinks larger ones (area filter) while converting them to RGB, so no full-size RGB copy exists;
 * smaller ones keep their size (swscale's fast same-size conversion, bit-identical to the ffmpeg CLI's rgb24). Every frame is then turned upright as
 * its display matrix (phone videos: the MP4 track matrix; JPEG: EXIF orientation, which FFmpeg exports per
 * frame) or the stream's "rotate" tag says, so faces are detected in the picture as it is shown.
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
/* Frames and images over this many pixels are refused before decoding: 8192 x 4096 (an 8K UHD video, 7680 x 4320,
 * passes; an 8192 x 8192 image bomb does not). */
#define AVEMO_MAX_PIXELS (8192L * 4096L)
/* Frames are delivered at most this many pixels on their longer side (1080p and 2K frames, and every test
 * image, keep their size; 4K is halved). The crop and the second MTCNN pass read the delivered frame. */
#define AVEMO_DECODE_MAX_SIDE 2048

/* How a decoded frame is turned for display (EXIF orientation numbering: the transform that shows it upright). */
typedef enum {
    VIDEO_ORIENT_NONE = 1,
    VIDEO_ORIENT_HFLIP = 2,
    VIDEO_ORIENT_ROT180 = 3,
    VIDEO_ORIENT_VFLIP = 4,
    VIDEO_ORIENT_TRANSPOSE = 5,  /* from here on width and height swap */
    VIDEO_ORIENT_ROT90 = 6,      /* 90 degrees clockwise */
    VIDEO_ORIENT_TRANSVERSE = 7,
    VIDEO_ORIENT_ROT270 = 8      /* 90 degrees counter-clockwise */
} video_orientation;

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

/* Pass 1 alone: frame count (packets of the video stream), frame rate, and the size frames are delivered at
 * (shrunk to AVEMO_DECODE_MAX_SIDE, turned by the stream's display matrix). */
int video_probe(const char *path, long *total_frames, double *fps, int *h, int *w);
/* Pass 2 alone: decode the frames with the given indices (ascending; -1 entries are skipped and left zero;
 * repeated indices are copied) into rgb [n, h, w, 3] (malloc'd, caller frees): shrunk so that the longer side is
 * at most max_side (0 = AVEMO_DECODE_MAX_SIDE), turned upright. */
int video_decode_indices(const char *path, const long *idx, int n, int max_side, uint8_t **rgb, int *h, int *w);

/* Who is told of the frames video_decode_indices_fed delivers, as they come (ours, issue 15: the face follower works
 * on frame k while k + 1.. decode). ready(ctx, rgb, h, w, slots): slots [0, slots) of rgb [n, h, w, 3] hold their
 * final frames (zero for -1 entries); rgb is the buffer the call returns, and it stays where it is; called with
 * growing slots, lastly with n on success. restart(ctx): numbering frames by timestamp failed after frames were
 * told of (a damaged file), and the file is decoded again from the start, writing every slot again: it returns
 * when nobody reads the slots any more; ready counts from 0 again after it. Both run on the decoding thread. */
typedef struct {
    void (*ready)(void *ctx, const uint8_t *rgb, int h, int w, int slots);
    void (*restart)(void *ctx);
    void *ctx;
} video_frame_sink;

/* video_decode_indices telling `sink` (may be NULL) of each frame as it is delivered. */
int video_decode_indices_fed(const char *path, const long *idx, int n, int max_side, const video_frame_sink *sink,
                             uint8_t **rgb, int *h, int *w);

/* The display transform a display matrix (libavutil/display.h, 9 int32) asks for, as FFmpeg's player applies it;
 * VIDEO_ORIENT_NONE for angles that are not a multiple of 90 degrees. */
video_orientation video_orientation_from_matrix(const int32_t *matrix);
/* dst = src [h, w, 3] turned by o: [h, w, 3], or [w, h, 3] for the transposing ones (o >= VIDEO_ORIENT_TRANSPOSE). */
void video_orient_rgb(uint8_t *dst, const uint8_t *src, int h, int w, video_orientation o);

void video_clip_free(video_clip *c);

#endif
