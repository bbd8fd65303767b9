#include "io/video.h"

#include "core/bigmem.h"
#include "core/err.h"
#include "io/pts_order.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void video_sample_span(long *idx, int frames, double start_s, double span_s, long total_frames, double fps) {
    for (int k = 0; k < frames; k++) {
        double t = start_s + (k + 0.5) * span_s / frames;
        long i = t < 0 ? -1 : (long)floor(t * fps + 1e-9);
        idx[k] = i >= 0 && i < total_frames ? i : -1;
    }
}

int video_sample_indices(long *idx, int frames, long total_frames, double fps, frame_window win) {
    if (frames <= 0) return avemo_error(AVEMO_EINVAL, "frames must be positive (got %d)", frames);
    if (win == FRAME_WINDOW_FIRST) {
        for (int k = 0; k < frames; k++) {
            long i = (long)floor(3.0 + (double)k * AVEMO_FIRST_WINDOW_FRAMES / frames);
            idx[k] = i >= 0 && i < total_frames ? i : -1;
        }
        return AVEMO_OK;
    }
    if (!(fps > 0)) return avemo_error(AVEMO_EINVAL, "frame rate must be positive");
    double duration = total_frames / fps;
    double span = duration < AVEMO_CLIP_SECONDS ? duration : AVEMO_CLIP_SECONDS; /* a short clip: all of it */
    video_sample_span(idx, frames, (duration - span) / 2, span, total_frames, fps);
    return AVEMO_OK;
}

/* An open video stream: demuxer, decoder, the stream's index, and how its frames are delivered. */
typedef struct {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int stream;
    int coded_w, coded_h;      /* the stream's frame size */
    video_orientation orient;  /* the stream's display transform (display matrix or rotate tag) */
    int refused_w, refused_h;  /* a frame the decoder asked a buffer for and was refused (over the pixel limit) */
} vstream;

static void vstream_close(vstream *v) {
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
}

static int av_err(int status, const char *path, const char *what, int averr) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(averr, buf, sizeof buf);
    return avemo_error(averr == AVERROR(ENOMEM) ? AVEMO_ENOMEM : status, "%s: %s (%s)", path, what, buf);
}

/* ---- orientation ---- */

/* The transform the display matrix asks for, as FFmpeg's own player applies it (fftools' autorotate): the angle
 * -av_display_rotation_get rounded to a multiple of 90 degrees, with the flips the matrix encodes. Other angles
 * are not applied (1). */
video_orientation video_orientation_from_matrix(const int32_t *m) {
    double theta = -round(av_display_rotation_get(m));
    theta -= 360 * floor(theta / 360 + 0.9 / 360);
    if (fabs(theta - 90) < 1) return m[3] > 0 ? VIDEO_ORIENT_TRANSPOSE : VIDEO_ORIENT_ROT90;
    if (fabs(theta - 270) < 1) return m[3] < 0 ? VIDEO_ORIENT_TRANSVERSE : VIDEO_ORIENT_ROT270;
    if (fabs(theta - 180) < 1) {
        int h = m[0] < 0, vf = m[4] < 0;
        return h && vf ? VIDEO_ORIENT_ROT180 : h ? VIDEO_ORIENT_HFLIP : vf ? VIDEO_ORIENT_VFLIP : VIDEO_ORIENT_NONE;
    }
    if (fabs(theta) < 1 && m[4] < 0) return VIDEO_ORIENT_VFLIP;
    return VIDEO_ORIENT_NONE;
}

/* The stream's display matrix (MP4/MOV tkhd, what phones write), else its "rotate" tag (degrees clockwise). */
static video_orientation stream_orientation(const AVStream *st) {
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (m) return video_orientation_from_matrix((const int32_t *)m);
    const AVDictionaryEntry *tag = av_dict_get(st->metadata, "rotate", NULL, 0);
    int deg = tag ? atoi(tag->value) % 360 : 0;
    deg = deg < 0 ? deg + 360 : deg;
    return deg == 90 ? VIDEO_ORIENT_ROT90 : deg == 180 ? VIDEO_ORIENT_ROT180 : deg == 270 ? VIDEO_ORIENT_ROT270
                                                                                          : VIDEO_ORIENT_NONE;
}

/* A frame's own display matrix (a JPEG's EXIF orientation, which FFmpeg exports per frame), else the stream's. */
static video_orientation frame_orientation(const AVFrame *fr, video_orientation stream_orient) {
    const AVFrameSideData *sd = av_frame_get_side_data(fr, AV_FRAME_DATA_DISPLAYMATRIX);
    if (stream_orient != VIDEO_ORIENT_NONE || !sd || sd->size < 9 * sizeof(int32_t)) return stream_orient;
    return video_orientation_from_matrix((const int32_t *)sd->data);
}

static int orientation_swaps(video_orientation o) { return o >= VIDEO_ORIENT_TRANSPOSE; }

void video_orient_rgb(uint8_t *dst, const uint8_t *src, int h, int w, video_orientation o) {
    int oh = orientation_swaps(o) ? w : h, ow = orientation_swaps(o) ? h : w;
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            int sy = y, sx = x; /* the source pixel shown at (y, x) */
            switch (o) {
            case VIDEO_ORIENT_HFLIP: sx = w - 1 - x; break;
            case VIDEO_ORIENT_ROT180: sy = h - 1 - y, sx = w - 1 - x; break;
            case VIDEO_ORIENT_VFLIP: sy = h - 1 - y; break;
            case VIDEO_ORIENT_TRANSPOSE: sy = x, sx = y; break;
            case VIDEO_ORIENT_ROT90: sy = h - 1 - x, sx = y; break;
            case VIDEO_ORIENT_TRANSVERSE: sy = h - 1 - x, sx = w - 1 - y; break;
            case VIDEO_ORIENT_ROT270: sy = x, sx = w - 1 - y; break;
            default: break;
            }
            memcpy(dst + ((size_t)y * ow + x) * 3, src + ((size_t)sy * w + sx) * 3, 3);
        }
}

/* ---- sizes ---- */

/* The size frames of coded_w x coded_h are delivered at: shrunk so the longer side is at most max_side (before
 * the orientation), then turned by it. *sw, *sh: the scaled size before turning. */
static void delivered_size(int coded_w, int coded_h, int max_side, video_orientation o, int *sw, int *sh, int *w,
                           int *h) {
    int side = coded_w > coded_h ? coded_w : coded_h;
    *sw = coded_w, *sh = coded_h;
    if (side > max_side) {
        double k = (double)max_side / side;
        *sw = (int)lround(coded_w * k), *sh = (int)lround(coded_h * k);
        if (*sw < 1) *sw = 1;
        if (*sh < 1) *sh = 1;
    }
    *w = orientation_swaps(o) ? *sh : *sw;
    *h = orientation_swaps(o) ? *sw : *sh;
}

/* Options for the decoding avformat_find_stream_info does: frames over the pixel limit are refused by the codec
 * itself, before it allocates them. */
static AVDictionary *probe_options(void) {
    AVDictionary *d = NULL;
    av_dict_set_int(&d, "max_pixels", AVEMO_MAX_PIXELS, 0);
    return d;
}

/* Our decoders' buffers: a frame over the pixel limit is refused when the decoder asks for its buffer, before
 * anything of that size is allocated, and its size is kept for the message (whatever the container said). */
static int checked_get_buffer(AVCodecContext *c, AVFrame *f, int flags) {
    vstream *v = c->opaque;
    if ((long)f->width * f->height > AVEMO_MAX_PIXELS) {
        v->refused_w = f->width, v->refused_h = f->height;
        return AVERROR(EINVAL);
    }
    return avcodec_default_get_buffer2(c, f, flags);
}

static int over_limit(const char *path, int w, int h) {
    return avemo_error(AVEMO_EFORMAT, "%s: %dx%d frames (%.1f M pixels) are over the %.1f M pixel limit", path, w, h,
                       (double)w * h / 1e6, AVEMO_MAX_PIXELS / 1e6);
}

/* A decoder error, or the refusal of an oversized frame it stands for. */
static int decode_error(const vstream *v, const char *path, const char *what, int averr) {
    if (v->refused_w) return over_limit(path, v->refused_w, v->refused_h);
    return av_err(AVEMO_EDECODE, path, what, averr);
}

static int vstream_find_streams(vstream *v, const char *path) {
    unsigned n = v->fmt->nb_streams;
    for (unsigned i = 0; i < n; i++) { /* sizes a container declares, before anything is decoded */
        const AVCodecParameters *par = v->fmt->streams[i]->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO && (long)par->width * par->height > AVEMO_MAX_PIXELS)
            return over_limit(path, par->width, par->height);
    }
    AVDictionary **opts = n ? calloc(n, sizeof *opts) : NULL;
    if (n && !opts) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    for (unsigned i = 0; i < n; i++) opts[i] = probe_options();
    int r = avformat_find_stream_info(v->fmt, opts);
    for (unsigned i = 0; i < n; i++) av_dict_free(&opts[i]);
    free(opts);
    return r < 0 ? av_err(AVEMO_EDECODE, path, "cannot read stream info", r) : AVEMO_OK;
}

static int vstream_open_decoder(vstream *v, const char *path) {
    AVCodecParameters *par = v->fmt->streams[v->stream]->codecpar;
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec) return avemo_error(AVEMO_EUNSUP, "%s: no decoder for codec %s", path, avcodec_get_name(par->codec_id));
    if (!(v->dec = avcodec_alloc_context3(codec))) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    int r = avcodec_parameters_to_context(v->dec, par);
    v->dec->thread_count = 1; /* callers parallelise over clips */
    v->dec->opaque = v;
    v->dec->get_buffer2 = checked_get_buffer;
    if (r >= 0) r = avcodec_open2(v->dec, codec, NULL);
    return r < 0 ? av_err(AVEMO_EDECODE, path, "cannot open decoder", r) : AVEMO_OK;
}

/* The frame size when the probe could not tell it (the probe's decoder refused an oversized frame, or the file
 * is damaged): decode up to the first frame; rewinds to the start afterwards. */
static int learn_frame_size(vstream *v, const char *path) {
    int err = vstream_open_decoder(v, path), r = 0;
    AVPacket *pkt = err ? NULL : av_packet_alloc();
    AVFrame *fr = err ? NULL : av_frame_alloc();
    if (!err && (!pkt || !fr)) err = avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    for (int n = 0; !err && !v->coded_w && n < 64 && (r = av_read_frame(v->fmt, pkt)) >= 0; n++) {
        if (pkt->stream_index == v->stream && (r = avcodec_send_packet(v->dec, pkt)) >= 0 &&
            (r = avcodec_receive_frame(v->dec, fr)) >= 0)
            v->coded_w = fr->width, v->coded_h = fr->height;
        if (r < 0 && r != AVERROR(EAGAIN) && pkt->stream_index == v->stream) err = decode_error(v, path, "decode error", r);
        av_packet_unref(pkt);
        av_frame_unref(fr);
    }
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avcodec_free_context(&v->dec);
    if (!err && !v->coded_w) err = avemo_error(AVEMO_EDECODE, "%s: no video frame could be decoded", path);
    if (!err && av_seek_frame(v->fmt, v->stream, 0, AVSEEK_FLAG_BACKWARD | AVSEEK_FLAG_BYTE) < 0)
        err = avemo_error(AVEMO_EDECODE, "%s: cannot rewind after reading the frame size", path);
    return err;
}

static int vstream_open(vstream *v, const char *path, int want_decoder) {
    memset(v, 0, sizeof *v);
    av_log_set_level(AV_LOG_QUIET); /* the library never prints; errors come back as messages */
    struct stat sb; /* a FIFO or a device would block FFmpeg's probe forever */
    if (stat(path, &sb) != 0) return avemo_error(AVEMO_EIO, "%s: no such file", path);
    if (!S_ISREG(sb.st_mode)) return avemo_error(AVEMO_EIO, "%s: not a regular file", path);
    if (sb.st_size == 0) return avemo_error(AVEMO_EFORMAT, "%s: empty file", path);
    int r = avformat_open_input(&v->fmt, path, NULL, NULL);
    if (r < 0) {
        v->fmt = NULL;
        return av_err(r == AVERROR(ENOENT) ? AVEMO_EIO : AVEMO_EDECODE, path, "cannot open as media", r);
    }
    int err = vstream_find_streams(v, path);
    if (!err && (r = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0)) < 0)
        err = avemo_error(AVEMO_EDECODE, "%s: no video stream", path);
    if (!err) {
        v->stream = r;
        const AVStream *st = v->fmt->streams[r];
        v->coded_w = st->codecpar->width, v->coded_h = st->codecpar->height;
        v->orient = stream_orientation(st);
        if (v->coded_w <= 0 || v->coded_h <= 0) {
            v->coded_w = v->coded_h = 0;
            err = learn_frame_size(v, path);
        }
    }
    if (!err && (long)v->coded_w * v->coded_h > AVEMO_MAX_PIXELS) err = over_limit(path, v->coded_w, v->coded_h);
    if (!err && want_decoder) err = vstream_open_decoder(v, path);
    if (err) vstream_close(v);
    return err;
}

int video_probe(const char *path, long *total_frames, double *fps, int *h, int *w) {
    vstream v;
    int err = vstream_open(&v, path, 0);
    if (err) return err;
    AVStream *st = v.fmt->streams[v.stream];
    AVRational fr = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate : st->r_frame_rate;
    double f = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 0;
    int sw, sh;
    delivered_size(v.coded_w, v.coded_h, AVEMO_DECODE_MAX_SIDE, v.orient, &sw, &sh, w, h);
    if (!(f > 0) || f > 1000) {
        vstream_close(&v);
        return avemo_error(AVEMO_EFORMAT, "%s: invalid frame rate (%d/%d)", path, fr.num, fr.den);
    }
    AVPacket *pkt = av_packet_alloc();
    if (!pkt) {
        vstream_close(&v);
        return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    }
    long n = 0;
    int r;
    while ((r = av_read_frame(v.fmt, pkt)) >= 0) {
        if (pkt->stream_index == v.stream) n++;
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    long indexed = (long)st->nb_frames; /* from the container's index (0 when unknown) */
    vstream_close(&v);
    if (r != AVERROR_EOF) return av_err(AVEMO_EDECODE, path, "read error (truncated file?)", r);
    if (n == 0) return avemo_error(AVEMO_EDECODE, "%s: video stream has zero frames", path);
    if (indexed > 0 && n < indexed)
        return avemo_error(AVEMO_EDECODE, "%s: truncated: %ld of the %ld frames in the index are present", path, n,
                           indexed);
    *total_frames = n;
    *fps = f;
    return AVEMO_OK;
}

/* Decoding state for video_decode_indices */
typedef struct {
    const char *path;
    const long *idx;
    int n, next;      /* next wanted slot */
    long frame_no;    /* decoded frames so far */
    int max_side;
    const vstream *v;
    int h, w;         /* the delivered size, fixed by the first frame taken */
    uint8_t *rgb;     /* [n, h, w, 3], allocated at the first frame taken */
    uint8_t *turn;    /* [h * w * 3] scratch when frames are turned */
    struct SwsContext *sws;
    int sws_fmt, sws_w, sws_h;
    int by_pts;       /* frames numbered by timestamp (pts_order.h), unwanted non-reference frames skipped */
    pts_order order;  /* timestamps of the packets read so far (by_pts) */
    const video_frame_sink *sink; /* told of the slots as they fill (NULL: nobody) */
    int told;         /* slots the sink was told of */
} decode_state;

/* decode_wanted's answer when numbering by timestamp turned out wrong for this file after frames were numbered
 * (a packet without a timestamp, a repeated one, one the decoder is told to drop, reordering deeper than the
 * lookahead): the file is decoded again from the start, every frame, numbered by count as before issue 15 */
#define DECODE_AGAIN_BY_COUNT 1000
/* packets read ahead of the decoder, so that a packet's rank among the timestamps read is its frame number:
 * more than any codec reorders (H.264 and HEVC: at most 16 frames) */
#define PTS_LOOKAHEAD 48

/* The scaler for fr -> RGB24 at sw x sh: when the size is kept, swscale's fast path (bilinear chroma, no accurate
 * rounding: what the ffmpeg CLI's -pix_fmt rgb24 gives, test_video.c; issue 15: swscale's share of a 720p clip's
 * CPU fell from 23 % to 9 % against bicubic with accurate rounding and full chroma interpolation); an accurate
 * area filter when shrinking. */
/* Bytes allocated past the end of every buffer sws_scale writes RGB24 into: swscale's SIMD YUV -> RGB fast path
 * (ensure_sws, same size) stores whole blocks of 8-16 pixels, so on a row whose width is not a multiple of 16
 * it writes up to 15 pixels (45 bytes) past the row's end; rows and frames are filled in order, so only the
 * last row of the buffer needs the room (a 796-pixel-wide clip corrupted the heap without it). */
#define SWS_TAIL_BYTES 256

static int ensure_sws(decode_state *s, const AVFrame *fr, int sw, int sh) {
    if (s->sws && s->sws_fmt == fr->format && s->sws_w == sw && s->sws_h == sh) return AVEMO_OK;
    sws_freeContext(s->sws);
    int shrink = sw != fr->width || sh != fr->height;
    s->sws = sws_getContext(fr->width, fr->height, fr->format, sw, sh, AV_PIX_FMT_RGB24,
                            shrink ? SWS_AREA | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT : SWS_BILINEAR, NULL, NULL, NULL);
    s->sws_fmt = fr->format, s->sws_w = sw, s->sws_h = sh;
    if (!s->sws)
        return avemo_error(AVEMO_EDECODE, "%s: cannot convert pixel format %s to RGB", s->path,
                           av_get_pix_fmt_name(fr->format) ? av_get_pix_fmt_name(fr->format) : "?");
    return AVEMO_OK;
}

/* The frame's delivered size and buffers: fixed by the first frame taken (allocating the n slots then); a later
 * frame of another size is an error. */
static int frame_geometry(decode_state *s, const AVFrame *fr, video_orientation o, int *sw, int *sh) {
    long px = (long)fr->width * fr->height;
    if (fr->width <= 0 || fr->height <= 0 || px > AVEMO_MAX_PIXELS)
        return avemo_error(AVEMO_EFORMAT, "%s: frame of %dx%d (limit %.1f M pixels)", s->path, fr->width, fr->height,
                           AVEMO_MAX_PIXELS / 1e6);
    if (fr->width != s->v->coded_w || fr->height != s->v->coded_h)
        return avemo_error(AVEMO_EFORMAT, "%s: frame %ld is %dx%d, stream says %dx%d (size changes are not supported)",
                           s->path, s->frame_no - 1, fr->width, fr->height, s->v->coded_w, s->v->coded_h);
    int w, h;
    delivered_size(fr->width, fr->height, s->max_side, o, sw, sh, &w, &h);
    if (s->rgb) {
        if (w != s->w || h != s->h)
            return avemo_error(AVEMO_EFORMAT, "%s: frame %ld turns to %dx%d, the first was %dx%d", s->path,
                               s->frame_no - 1, w, h, s->w, s->h);
        return AVEMO_OK;
    }
    s->w = w, s->h = h;
    size_t frame_bytes = (size_t)h * w * 3; /* slots that take a frame are written whole; the others stay zero */
    s->rgb = big_alloc((size_t)s->n * frame_bytes + SWS_TAIL_BYTES);
    for (int k = 0; s->rgb && k < s->n; k++)
        if (s->idx[k] < 0) memset(s->rgb + k * frame_bytes, 0, frame_bytes);
    if (s->rgb) memset(s->rgb + s->n * frame_bytes, 0, SWS_TAIL_BYTES);
    s->turn = o != VIDEO_ORIENT_NONE ? malloc((size_t)h * w * 3 + SWS_TAIL_BYTES) : NULL;
    if (!s->rgb || (o != VIDEO_ORIENT_NONE && !s->turn))
        return avemo_error(AVEMO_ENOMEM, "%s: out of memory for %d frames of %dx%d", s->path, s->n, w, h);
    return AVEMO_OK;
}

/* The frame's number: its rank by timestamp, or the count of frames output before it. */
static int frame_number(decode_state *s, const AVFrame *fr, long *no) {
    if (!s->by_pts) {
        *no = s->frame_no++;
        return AVEMO_OK;
    }
    *no = fr->pts == AV_NOPTS_VALUE ? -1 : pts_order_rank(&s->order, fr->pts);
    int missed = s->next < s->n && *no > s->idx[s->next]; /* a wanted frame did not come out */
    if (*no < 0 || missed) return DECODE_AGAIN_BY_COUNT;
    s->frame_no = *no + 1;
    return AVEMO_OK;
}

static int take_frame(decode_state *s, AVFrame *fr) {
    while (s->next < s->n && s->idx[s->next] < 0) s->next++;
    long no;
    int err = frame_number(s, fr, &no);
    if (err || s->next >= s->n || s->idx[s->next] != no) return err;
    video_orientation o = frame_orientation(fr, s->v->orient);
    int sw = 0, sh = 0;
    err = frame_geometry(s, fr, o, &sw, &sh);
    if (err || (err = ensure_sws(s, fr, sw, sh))) return err;
    size_t frame_bytes = (size_t)s->h * s->w * 3;
    uint8_t *slot = s->rgb + (size_t)s->next * frame_bytes;
    uint8_t *dst[4] = {o != VIDEO_ORIENT_NONE ? s->turn : slot, NULL, NULL, NULL};
    int dst_stride[4] = {3 * sw, 0, 0, 0};
    sws_scale(s->sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst, dst_stride);
    if (o != VIDEO_ORIENT_NONE) video_orient_rgb(slot, s->turn, sh, sw, o);
    /* several slots may want the same frame (slow-motion sampling of a short clip) */
    int filled = s->next;
    s->next++;
    while (s->next < s->n && s->idx[s->next] == no) {
        memcpy(s->rgb + (size_t)s->next * frame_bytes, s->rgb + (size_t)filled * frame_bytes, frame_bytes);
        s->next++;
    }
    return AVEMO_OK;
}

static int drain(decode_state *s, AVCodecContext *dec, AVFrame *fr) {
    for (;;) {
        int r = avcodec_receive_frame(dec, fr);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return AVEMO_OK;
        if (r < 0) return decode_error(s->v, s->path, "decode error", r);
        int err = take_frame(s, fr);
        av_frame_unref(fr);
        if (err) return err;
        if (s->sink && s->next > s->told) s->sink->ready(s->sink->ctx, s->rgb, s->h, s->w, s->told = s->next);
    }
}

static int all_done(const decode_state *s) {
    int k = s->next;
    while (k < s->n && s->idx[k] < 0) k++;
    return k >= s->n;
}

/* Video packets read ahead of the decoder (PTS_LOOKAHEAD), in decode order. */
typedef struct {
    AVPacket *ring[PTS_LOOKAHEAD];
    int head, count;
    int read_status; /* av_read_frame's answer that ended the file (0 while reading) */
} packet_queue;

/* A packet read into the lookahead: its timestamp joins the order. Before any frame is numbered, a file whose
 * timestamps cannot number its frames goes on numbered by count; after, it is decoded again. */
static int note_timestamp(decode_state *s, const AVPacket *pkt) {
    int r = pkt->pts == AV_NOPTS_VALUE || (pkt->flags & AV_PKT_FLAG_DISCARD) ? PTS_ORDER_DUPLICATE
                                                                             : pts_order_add(&s->order, pkt->pts);
    if (r == PTS_ORDER_NOMEM) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", s->path);
    if (r == PTS_ORDER_OK) return AVEMO_OK;
    if (s->order.ranked) return DECODE_AGAIN_BY_COUNT;
    s->by_pts = 0;
    return AVEMO_OK;
}

static int fill_lookahead(decode_state *s, const vstream *v, packet_queue *q) {
    while (!q->read_status && q->count < PTS_LOOKAHEAD) {
        AVPacket *pkt = q->ring[(q->head + q->count) % PTS_LOOKAHEAD];
        int r = av_read_frame(v->fmt, pkt);
        if (r < 0) {
            q->read_status = r;
            break;
        }
        if (pkt->stream_index != v->stream) {
            av_packet_unref(pkt);
            continue;
        }
        q->count++;
        int err = s->by_pts ? note_timestamp(s, pkt) : AVEMO_OK;
        if (err) return err;
    }
    return AVEMO_OK;
}

/* Whether frame `no` fills a slot still to come. */
static int frame_wanted(const decode_state *s, long no) {
    for (int k = s->next; k < s->n; k++)
        if (s->idx[k] == no) return 1;
    return 0;
}

/* One packet to the decoder: when frames are numbered by timestamp, one whose frame fills no slot is decoded
 * only if other frames refer to it (AVDISCARD_NONREF: H.264's non-reference B-frames are skipped; the frames
 * that are decoded are bit-identical, test_video.c). */
static int send_packet(decode_state *s, const vstream *v, AVPacket *pkt, AVFrame *fr) {
    if (s->by_pts)
        v->dec->skip_frame = frame_wanted(s, pts_order_rank(&s->order, pkt->pts)) ? AVDISCARD_DEFAULT : AVDISCARD_NONREF;
    int r = avcodec_send_packet(v->dec, pkt);
    if (r < 0 && r != AVERROR(EAGAIN)) return decode_error(v, s->path, "decode error", r);
    return drain(s, v->dec, fr);
}

/* Packets of the video stream through the decoder until every wanted frame is taken (or the file ends). */
static int decode_wanted(decode_state *s, const vstream *v) {
    packet_queue q = {0};
    AVFrame *fr = av_frame_alloc();
    int err = fr ? AVEMO_OK : avemo_error(AVEMO_ENOMEM, "%s: out of memory", s->path);
    for (int k = 0; k < PTS_LOOKAHEAD && !err; k++)
        if (!(q.ring[k] = av_packet_alloc())) err = avemo_error(AVEMO_ENOMEM, "%s: out of memory", s->path);
    while (!err && !all_done(s) && !(err = fill_lookahead(s, v, &q)) && q.count > 0) {
        AVPacket *pkt = q.ring[q.head];
        q.head = (q.head + 1) % PTS_LOOKAHEAD, q.count--;
        err = send_packet(s, v, pkt, fr);
        av_packet_unref(pkt);
    }
    int r = q.read_status;
    if (!err && !all_done(s) && r < 0 && r != AVERROR_EOF)
        err = av_err(AVEMO_EDECODE, s->path, "read error (truncated file?)", r);
    if (!err && !all_done(s)) { /* flush the decoder's delayed frames */
        avcodec_send_packet(v->dec, NULL);
        err = drain(s, v->dec, fr);
    }
    for (int k = 0; k < PTS_LOOKAHEAD; k++) av_packet_free(&q.ring[k]);
    av_frame_free(&fr);
    return err;
}

int video_decode_indices_fed(const char *path, const long *idx, int n, int max_side, const video_frame_sink *sink,
                             uint8_t **rgb, int *h, int *w) {
    *rgb = NULL;
    for (int k = 1; k < n; k++)
        if (idx[k] >= 0 && idx[k] < idx[k - 1])
            return avemo_error(AVEMO_EINVAL, "%s: frame indices must be ascending", path);
    vstream v;
    int err = vstream_open(&v, path, 1);
    if (err) return err;
    decode_state s = {.path = path, .idx = idx, .n = n, .v = &v, .max_side = max_side > 0 ? max_side : AVEMO_DECODE_MAX_SIDE,
                      .by_pts = 1, .sink = sink};
    if ((err = decode_wanted(&s, &v)) == DECODE_AGAIN_BY_COUNT) {
        if (sink) sink->restart(sink->ctx); /* the slots told of are written again */
        s.told = 0;
        vstream_close(&v);
        pts_order_free(&s.order);
        s.by_pts = 0, s.next = 0, s.frame_no = 0;
        if ((err = vstream_open(&v, path, 1))) {
            free(s.rgb);
            free(s.turn);
            sws_freeContext(s.sws);
            return err;
        }
        err = decode_wanted(&s, &v);
    }
    if (!err && s.frame_no == 0)
        err = avemo_error(AVEMO_EDECODE, "%s: no frame could be decoded", path);
    if (!err && !all_done(&s)) {
        int k = s.next;
        while (idx[k] < 0) k++;
        err = avemo_error(AVEMO_EDECODE, "%s: truncated: frame %ld wanted but only %ld frames decode", path, idx[k],
                          s.frame_no);
    }
    if (!err && !s.rgb) { /* every index was -1: the delivered size from the stream's */
        int sw, sh;
        delivered_size(v.coded_w, v.coded_h, s.max_side, v.orient, &sw, &sh, &s.w, &s.h);
        if (!(s.rgb = calloc((size_t)(n ? n : 1) * s.h * s.w * 3, 1))) err = avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    }
    if (!err && sink) sink->ready(sink->ctx, s.rgb, s.h, s.w, n); /* the padded slots after the last frame too */
    if (!err) {
        *h = s.h;
        *w = s.w;
        *rgb = s.rgb;
        s.rgb = NULL;
    }
    free(s.rgb);
    free(s.turn);
    sws_freeContext(s.sws);
    pts_order_free(&s.order);
    vstream_close(&v);
    return err;
}

int video_decode_indices(const char *path, const long *idx, int n, int max_side, uint8_t **rgb, int *h, int *w) {
    return video_decode_indices_fed(path, idx, n, max_side, NULL, rgb, h, w);
}

int video_read_clip(const char *path, int frames, frame_window win, video_clip *out) {
    memset(out, 0, sizeof *out);
    if (frames <= 0 || frames > 100000) return avemo_error(AVEMO_EINVAL, "frames must be in 1..100000 (got %d)", frames);
    int err = video_probe(path, &out->total_frames, &out->fps, &out->h, &out->w);
    if (err) return err;
    out->index = malloc(sizeof(long) * frames);
    if (!out->index) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    out->n = frames;
    if ((err = video_sample_indices(out->index, frames, out->total_frames, out->fps, win))) goto fail;
    if ((err = video_decode_indices(path, out->index, frames, 0, &out->rgb, &out->h, &out->w))) goto fail;
    return AVEMO_OK;
fail:
    video_clip_free(out);
    return err;
}

void video_clip_free(video_clip *c) {
    free(c->index);
    free(c->rgb);
    memset(c, 0, sizeof *c);
}
