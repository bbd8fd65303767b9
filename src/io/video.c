#include "io/video.h"

#include "core/err.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* An open video stream: demuxer, decoder, the stream's index. */
typedef struct {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int stream;
} vstream;

static void vstream_close(vstream *v) {
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
}

static int av_err(int status, const char *path, const char *what, int averr) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(averr, buf, sizeof buf);
    return avemo_error(status, "%s: %s (%s)", path, what, buf);
}

static int vstream_open(vstream *v, const char *path, int want_decoder) {
    memset(v, 0, sizeof *v);
    av_log_set_level(AV_LOG_QUIET); /* the library never prints; errors come back as messages */
    int r = avformat_open_input(&v->fmt, path, NULL, NULL);
    if (r < 0) {
        v->fmt = NULL;
        return av_err(r == AVERROR(ENOENT) ? AVEMO_EIO : AVEMO_EDECODE, path, "cannot open as media", r);
    }
    r = avformat_find_stream_info(v->fmt, NULL);
    if (r < 0) {
        vstream_close(v);
        return av_err(AVEMO_EDECODE, path, "cannot read stream info", r);
    }
    r = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (r < 0) {
        vstream_close(v);
        return avemo_error(AVEMO_EDECODE, "%s: no video stream", path);
    }
    v->stream = r;
    AVCodecParameters *par = v->fmt->streams[r]->codecpar;
    if (par->width <= 0 || par->height <= 0 || (long)par->width * par->height > AVEMO_MAX_PIXELS) {
        int w = par->width, h = par->height;
        vstream_close(v);
        return avemo_error(AVEMO_EFORMAT, "%s: unsupported frame size %dx%d (limit %ld pixels)", path, w, h,
                           AVEMO_MAX_PIXELS);
    }
    if (!want_decoder) return AVEMO_OK;
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec) {
        vstream_close(v);
        return avemo_error(AVEMO_EUNSUP, "%s: no decoder for codec %s", path, avcodec_get_name(par->codec_id));
    }
    v->dec = avcodec_alloc_context3(codec);
    if (!v->dec) {
        vstream_close(v);
        return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    }
    r = avcodec_parameters_to_context(v->dec, par);
    v->dec->thread_count = 1; /* callers parallelise over clips */
    if (r >= 0) r = avcodec_open2(v->dec, codec, NULL);
    if (r < 0) {
        vstream_close(v);
        return av_err(AVEMO_EDECODE, path, "cannot open decoder", r);
    }
    return AVEMO_OK;
}

int video_probe(const char *path, long *total_frames, double *fps, int *h, int *w) {
    vstream v;
    int err = vstream_open(&v, path, 0);
    if (err) return err;
    AVStream *st = v.fmt->streams[v.stream];
    AVRational fr = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate : st->r_frame_rate;
    double f = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 0;
    *h = st->codecpar->height;
    *w = st->codecpar->width;
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
    int h, w;
    uint8_t *rgb;
    struct SwsContext *sws;
    int sws_fmt, sws_w, sws_h;
} decode_state;

static int take_frame(decode_state *s, AVFrame *fr) {
    while (s->next < s->n && s->idx[s->next] < 0) s->next++;
    long no = s->frame_no++;
    if (s->next >= s->n || s->idx[s->next] != no) return AVEMO_OK;
    if (fr->width != s->w || fr->height != s->h)
        return avemo_error(AVEMO_EFORMAT, "%s: frame %ld is %dx%d, stream says %dx%d (size changes are not supported)",
                           s->path, no, fr->width, fr->height, s->w, s->h);
    if (!s->sws || s->sws_fmt != fr->format) {
        sws_freeContext(s->sws);
        s->sws = sws_getContext(fr->width, fr->height, fr->format, s->w, s->h, AV_PIX_FMT_RGB24,
                                SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
        s->sws_fmt = fr->format;
        if (!s->sws) return avemo_error(AVEMO_EDECODE, "%s: cannot convert pixel format %s to RGB", s->path,
                                        av_get_pix_fmt_name(fr->format) ? av_get_pix_fmt_name(fr->format) : "?");
    }
    uint8_t *dst[4] = {s->rgb + (size_t)s->next * s->h * s->w * 3, NULL, NULL, NULL};
    int dst_stride[4] = {3 * s->w, 0, 0, 0};
    sws_scale(s->sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst, dst_stride);
    /* several slots may want the same frame (slow-motion sampling of a short clip) */
    int filled = s->next;
    s->next++;
    while (s->next < s->n && s->idx[s->next] == no) {
        memcpy(s->rgb + (size_t)s->next * s->h * s->w * 3, s->rgb + (size_t)filled * s->h * s->w * 3,
               (size_t)s->h * s->w * 3);
        s->next++;
    }
    return AVEMO_OK;
}

static int drain(decode_state *s, AVCodecContext *dec, AVFrame *fr) {
    for (;;) {
        int r = avcodec_receive_frame(dec, fr);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return AVEMO_OK;
        if (r < 0) return av_err(AVEMO_EDECODE, s->path, "decode error", r);
        int err = take_frame(s, fr);
        av_frame_unref(fr);
        if (err) return err;
    }
}

static int all_done(const decode_state *s) {
    int k = s->next;
    while (k < s->n && s->idx[k] < 0) k++;
    return k >= s->n;
}

int video_decode_indices(const char *path, const long *idx, int n, uint8_t **rgb, int *h, int *w) {
    *rgb = NULL;
    for (int k = 1; k < n; k++)
        if (idx[k] >= 0 && idx[k] < idx[k - 1])
            return avemo_error(AVEMO_EINVAL, "%s: frame indices must be ascending", path);
    vstream v;
    int err = vstream_open(&v, path, 1);
    if (err) return err;
    decode_state s = {.path = path, .idx = idx, .n = n};
    s.h = v.fmt->streams[v.stream]->codecpar->height;
    s.w = v.fmt->streams[v.stream]->codecpar->width;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    s.rgb = calloc((size_t)(n ? n : 1) * s.h * s.w * 3, 1);
    if (!pkt || !fr || !s.rgb) {
        err = avemo_error(AVEMO_ENOMEM, "%s: out of memory for %d frames of %dx%d", path, n, s.w, s.h);
        goto done;
    }
    int r = 0;
    while (!all_done(&s) && (r = av_read_frame(v.fmt, pkt)) >= 0) {
        if (pkt->stream_index == v.stream) {
            r = avcodec_send_packet(v.dec, pkt);
            av_packet_unref(pkt);
            if (r < 0 && r != AVERROR(EAGAIN)) {
                err = av_err(AVEMO_EDECODE, path, "decode error", r);
                goto done;
            }
            if ((err = drain(&s, v.dec, fr))) goto done;
        } else {
            av_packet_unref(pkt);
        }
    }
    if (r < 0 && r != AVERROR_EOF) {
        err = av_err(AVEMO_EDECODE, path, "read error (truncated file?)", r);
        goto done;
    }
    if (!all_done(&s)) { /* flush the decoder's delayed frames */
        avcodec_send_packet(v.dec, NULL);
        if ((err = drain(&s, v.dec, fr))) goto done;
    }
    if (s.frame_no == 0) {
        err = avemo_error(AVEMO_EDECODE, "%s: no frame could be decoded", path);
        goto done;
    }
    if (!all_done(&s)) {
        long want = idx[s.next];
        err = avemo_error(AVEMO_EDECODE, "%s: truncated: frame %ld wanted but only %ld frames decode", path, want,
                          s.frame_no);
        goto done;
    }
    *h = s.h;
    *w = s.w;
    *rgb = s.rgb;
    s.rgb = NULL;
done:
    free(s.rgb);
    sws_freeContext(s.sws);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    vstream_close(&v);
    return err;
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
    if ((err = video_decode_indices(path, out->index, frames, &out->rgb, &out->h, &out->w))) goto fail;
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
