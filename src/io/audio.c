#include "io/audio.h"

#include "core/err.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <soxr.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A file whose decoded length falls short of its declared duration by more than this fraction (and more
 * than AUDIO_TRUNC_SLACK samples, for codec delay and padding) is reported as truncated. */
#define AUDIO_TRUNC_FRACTION 0.02
#define AUDIO_TRUNC_SLACK 4096
/* Windowed reads: input decoded beyond the samples a window needs, on each side, so that soxr's transient
 * (measured at most 0.10 s, 8 kHz -> 22.05 kHz; 0.04 s from 44.1 kHz and up) is over inside the window. */
#define RESAMPLE_MARGIN_SECONDS 0.25
/* ... and decoded and dropped after a seek before the first needed sample, so that the codec's state (AAC's
 * MDCT overlap, MP3's bit reservoir, Opus' pre-roll when larger) is the one a decode from the start has. */
#define SEEK_PREROLL_SECONDS 0.2

/* The library never prints: FFmpeg's own log goes nowhere; failures are reported through avemo_error. */
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void quiet_ffmpeg(void) { av_log_set_level(AV_LOG_QUIET); }

static const char *av_err(int e, char *buf, size_t n) {
    av_strerror(e, buf, n);
    return buf;
}

/* FFmpeg's status as ours: out of memory stays a runtime failure, the rest is the file's. */
static int av_status(int averr, int otherwise) { return averr == AVERROR(ENOMEM) ? AVEMO_ENOMEM : otherwise; }

/* FFmpeg's WAV demuxer clamps the data chunk to the file size, so a cut WAV decodes as a shorter one. Walk
 * the RIFF chunks to the 'data' chunk and compare its declared size with the bytes present. Returns 1 when
 * the file is shorter than its header says (0 for a complete file, a streamed size of 0 or 0xFFFFFFFF, or
 * anything not a plain RIFF/WAVE file). */
static int wav_is_truncated(const char *path, long long file_size, long long *declared_end) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char h[12];
    int cut = 0;
    if (fread(h, 1, 12, f) == 12 && !memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WAVE", 4)) {
        long long pos = 12;
        while (pos + 8 <= file_size && fseek(f, (long)pos, SEEK_SET) == 0 && fread(h, 1, 8, f) == 8) {
            unsigned long long size = h[4] | h[5] << 8 | h[6] << 16 | (unsigned long long)h[7] << 24;
            if (!memcmp(h, "data", 4)) {
                *declared_end = pos + 8 + (long long)size;
                cut = size != 0 && size != 0xFFFFFFFFULL && *declared_end > file_size;
                break;
            }
            pos += 8 + (long long)size + (size & 1);
        }
    }
    fclose(f);
    return cut;
}

/* Mono samples of frame f, frame positions [i0, i1), into dst [i1 - i0]: the mean of its channels (librosa.to_mono)
 * in librosa's scaling (integer / 2^(bits-1)). */
static int frame_mono(const AVFrame *f, int i0, int i1, float *dst, const char *path) {
    int channels = f->ch_layout.nb_channels;
    enum AVSampleFormat fmt = av_get_packed_sample_fmt((enum AVSampleFormat)f->format);
    int planar = av_sample_fmt_is_planar((enum AVSampleFormat)f->format);
    if (channels < 1 || channels > AUDIO_MAX_CHANNELS)
        return avemo_error(AVEMO_EFORMAT, "%s: decoded frame has %d channels (1..%d)", path, channels,
                           AUDIO_MAX_CHANNELS);
    if (fmt != AV_SAMPLE_FMT_U8 && fmt != AV_SAMPLE_FMT_S16 && fmt != AV_SAMPLE_FMT_S32 &&
        fmt != AV_SAMPLE_FMT_S64 && fmt != AV_SAMPLE_FMT_FLT && fmt != AV_SAMPLE_FMT_DBL)
        return avemo_error(AVEMO_EUNSUP, "%s: unsupported sample format %s", path,
                           av_get_sample_fmt_name((enum AVSampleFormat)f->format));
    for (int i = i0; i < i1; i++) {
        double s = 0;
        for (int c = 0; c < channels; c++) {
            const uint8_t *p = planar ? f->extended_data[c] : f->extended_data[0];
            long k = planar ? i : (long)i * channels + c;
            switch (fmt) {
            case AV_SAMPLE_FMT_U8: s += ((int)p[k] - 128) / 128.0; break;
            case AV_SAMPLE_FMT_S16: s += ((const int16_t *)p)[k] / 32768.0; break;
            case AV_SAMPLE_FMT_S32: s += ((const int32_t *)p)[k] / 2147483648.0; break;
            case AV_SAMPLE_FMT_S64: s += (double)((const int64_t *)p)[k] / 9223372036854775808.0; break;
            case AV_SAMPLE_FMT_FLT: s += ((const float *)p)[k]; break;
            default: s += ((const double *)p)[k]; break;
            }
        }
        dst[i - i0] = (float)(s / channels);
    }
    return AVEMO_OK;
}

/* An open input and its audio decoder. */
typedef struct {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVStream *stream;
    int stream_index;
    int rate;         /* the stream's sample rate (checked against the limits) */
    int64_t start_pts; /* the stream's start time in its time base (0 when unknown) */
} audio_input;

static void audio_input_close(audio_input *in) {
    avcodec_free_context(&in->dec);
    avformat_close_input(&in->fmt);
}

/* The stream's rate, channels and declared duration against the limits (before anything is decoded). */
static int check_limits(audio_input *in, const char *path) {
    int rate = in->dec->sample_rate, channels = in->dec->ch_layout.nb_channels;
    if (rate < AUDIO_MIN_RATE_HZ || rate > AUDIO_MAX_RATE_HZ)
        return avemo_error(AVEMO_EFORMAT, "%s: sample rate %d Hz is outside %d..%d Hz", path, rate, AUDIO_MIN_RATE_HZ,
                           AUDIO_MAX_RATE_HZ);
    if (channels > AUDIO_MAX_CHANNELS)
        return avemo_error(AVEMO_EFORMAT, "%s: %d channels (at most %d)", path, channels, AUDIO_MAX_CHANNELS);
    const AVStream *st = in->stream;
    double declared = st->duration != AV_NOPTS_VALUE && st->duration > 0 ? st->duration * av_q2d(st->time_base)
                      : in->fmt->duration > 0 ? (double)in->fmt->duration / AV_TIME_BASE : 0;
    if (declared > AUDIO_MAX_SECONDS)
        return avemo_error(AVEMO_EFORMAT, "%s: the header declares %.1f h of audio (at most %.0f h)", path,
                           declared / 3600, AUDIO_MAX_SECONDS / 3600);
    in->rate = rate;
    in->start_pts = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    return AVEMO_OK;
}

/* Open `path`, find its best audio stream, open a decoder for it and check it against the limits. */
static int audio_input_open(const char *path, audio_input *in) {
    char eb[128];
    int r;
    memset(in, 0, sizeof *in);
    if ((r = avformat_open_input(&in->fmt, path, NULL, NULL)) < 0)
        return r == AVERROR(ENOENT) || r == AVERROR(EACCES)
                   ? avemo_error(AVEMO_EIO, "%s: cannot open: %s", path, av_err(r, eb, sizeof eb))
                   : avemo_error(av_status(r, AVEMO_EFORMAT), "%s: not a readable media file: %s", path,
                                 av_err(r, eb, sizeof eb));
    AVFormatContext *fmt = in->fmt;
    if ((r = avformat_find_stream_info(fmt, NULL)) < 0)
        return avemo_error(av_status(r, AVEMO_EFORMAT), "%s: corrupt or truncated media file: %s", path,
                           av_err(r, eb, sizeof eb));
    const AVCodec *codec = NULL;
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (si == AVERROR_STREAM_NOT_FOUND)
        return avemo_error(AVEMO_EDECODE, "%s: no audio stream (FFmpeg reads it as '%s' with %u other stream%s)",
                           path, fmt->iformat->name, fmt->nb_streams, fmt->nb_streams == 1 ? "" : "s");
    if (si < 0 || !codec) return avemo_error(AVEMO_EDECODE, "%s: no decoder for the audio stream", path);
    in->stream_index = si;
    in->stream = fmt->streams[si];
    if (!(in->dec = avcodec_alloc_context3(codec))) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    if ((r = avcodec_parameters_to_context(in->dec, in->stream->codecpar)) < 0)
        return avemo_error(av_status(r, AVEMO_EDECODE), "%s: bad audio parameters: %s", path, av_err(r, eb, sizeof eb));
    in->dec->thread_count = 1; /* callers parallelise over files */
    if ((r = avcodec_open2(in->dec, codec, NULL)) < 0)
        return avemo_error(av_status(r, AVEMO_EDECODE), "%s: cannot open the %s decoder: %s", path, codec->name,
                           av_err(r, eb, sizeof eb));
    return check_limits(in, path);
}

/* Calls fn(ctx, frame) for every frame of the audio stream from the demuxer's position on (then flushes the
 * decoder at the end of the file), until fn returns non-zero: < 0 an error, 1 stop (returns 0), another positive
 * code (returned as is). */
typedef int (*frame_fn)(void *ctx, const AVFrame *frame);

static int pump_frames(audio_input *in, frame_fn fn, void *ctx, const char *path) {
    char eb[128];
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int st = pkt && frame ? 0 : avemo_error(AVEMO_ENOMEM, "%s: out of memory", path), eof = 0;
    while (!st && !eof) {
        int r = av_read_frame(in->fmt, pkt);
        if (r == AVERROR_EOF) {
            avcodec_send_packet(in->dec, NULL); /* flush */
            eof = 1;
        } else if (r < 0) {
            st = avemo_error(av_status(r, AVEMO_EFORMAT), "%s: truncated or corrupt file: %s", path,
                             av_err(r, eb, sizeof eb));
            break;
        } else if (pkt->stream_index != in->stream_index) {
            av_packet_unref(pkt);
            continue;
        } else {
            r = avcodec_send_packet(in->dec, pkt);
            av_packet_unref(pkt);
            if (r < 0 && r != AVERROR(EAGAIN)) {
                st = avemo_error(av_status(r, AVEMO_EDECODE), "%s: corrupt or truncated audio data: %s", path,
                                 av_err(r, eb, sizeof eb));
                break;
            }
        }
        while (!st) { /* every frame the decoder has ready */
            r = avcodec_receive_frame(in->dec, frame);
            if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
            if (r < 0) {
                st = avemo_error(av_status(r, AVEMO_EDECODE), "%s: corrupt or truncated audio data: %s", path,
                                 av_err(r, eb, sizeof eb));
                break;
            }
            if (frame->sample_rate != in->rate)
                st = avemo_error(AVEMO_EFORMAT, "%s: the sample rate changes from %d to %d Hz", path, in->rate,
                                 frame->sample_rate);
            if (!st) st = fn(ctx, frame);
            av_frame_unref(frame);
        }
    }
    av_frame_free(&frame);
    av_packet_free(&pkt);
    return st == 1 ? AVEMO_OK : st; /* 1: fn asked to stop; other positive codes are fn's to explain */
}

/* ---- whole decode ---- */

/* The frames in decode order, stored while the stream holds at most `cap` samples, counted after that. */
typedef struct {
    float *samples;
    long n, cap, alloc; /* n: samples seen; the first min(n, cap) are stored */
    long count_max;     /* AUDIO_MAX_SECONDS at the stream's rate */
    const char *path;
} whole_buf;

static int whole_frame(void *ctx, const AVFrame *f) {
    whole_buf *b = ctx;
    long stored = b->n < b->cap ? b->n : b->cap, take = b->cap - stored;
    if (take > f->nb_samples) take = f->nb_samples;
    if (take > 0 && stored + take > b->alloc) {
        long a = b->alloc ? b->alloc : 65536;
        while (a < stored + take) a *= 2;
        if (a > b->cap) a = b->cap;
        float *x = realloc(b->samples, (size_t)a * sizeof *x);
        if (!x) return avemo_error(AVEMO_ENOMEM, "%s: out of memory for %ld samples", b->path, a);
        b->samples = x;
        b->alloc = a;
    }
    int st = take > 0 ? frame_mono(f, 0, (int)take, b->samples + stored, b->path) : AVEMO_OK;
    b->n += f->nb_samples;
    if (!st && b->n > b->count_max)
        st = avemo_error(AVEMO_EFORMAT, "%s: more than %.0f h of audio", b->path, AUDIO_MAX_SECONDS / 3600);
    return st;
}

/* A cut file often decodes cleanly up to the cut: compare the n decoded samples with the duration the header
 * declares (not one estimated from the bit rate, which a cut does not change), and a WAV's data chunk size
 * with the file size. */
static int check_truncation(const audio_input *in, long n, const char *path, long long file_size) {
    const AVStream *stream = in->stream;
    int rate = in->rate;
    if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0 &&
        in->fmt->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE) {
        double declared = stream->duration * av_q2d(stream->time_base) * rate;
        if (n < declared * (1 - AUDIO_TRUNC_FRACTION) - AUDIO_TRUNC_SLACK)
            return avemo_error(AVEMO_EFORMAT, "%s: truncated: decoded %.3f s of the %.3f s the header declares",
                               path, (double)n / rate, declared / rate);
    }
    long long declared_end = 0;
    if (!strcmp(in->fmt->iformat->name, "wav") && wav_is_truncated(path, file_size, &declared_end))
        return avemo_error(AVEMO_EFORMAT, "%s: truncated: the WAV header declares %lld bytes, the file has %lld",
                           path, declared_end, file_size);
    return AVEMO_OK;
}

/* ---- the source ---- */

struct audio_source {
    char path[4096];
    audio_input in;     /* kept open for windowed reads (closed after a whole decode) */
    long long file_size;
    int out_rate, channels;
    long n_in, n_out;   /* samples of the stream at its own rate, at the target rate */
    int counted;        /* n_in comes from decoding the stream (else from its header) */
    float *whole;       /* whole mode: the resampled stream [n_out] */
    long unit;          /* windowed: pieces start at multiples of this many input samples (whole output offsets) */
    long preroll;       /* windowed: samples decoded and dropped after a seek */
    long margin;        /* windowed: resampler margin, input samples on each side of a window */
};

/* Samples of n_in at in_rate once resampled to out_rate: audio_resample's length. */
static long out_length(long n_in, int in_rate, int out_rate) {
    return in_rate == out_rate ? n_in : (long)ceil((double)n_in * ((double)out_rate / (double)in_rate));
}

static long gcd_long(long a, long b) {
    while (b) {
        long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Make decoding continue at sample `pos` of the stream or before it: pos 0 reopens the file (a decoder fresh at
 * the first packet, priming included, as a whole decode has it; a seek to 0 may land on the first presented
 * packet instead), pos > 0 seeks (AVSEEK_FLAG_BACKWARD) and flushes the decoder. Returns 1 when that seek failed
 * (the caller then decodes from the start). */
static int seek_to(audio_source *s, long pos) {
    audio_input *in = &s->in;
    if (pos <= 0) {
        audio_input_close(in);
        return audio_input_open(s->path, in);
    }
    int64_t ts = in->start_pts + av_rescale_q(pos, (AVRational){1, in->rate}, in->stream->time_base);
    if (av_seek_frame(in->fmt, in->stream_index, ts, AVSEEK_FLAG_BACKWARD) < 0) return 1;
    avcodec_flush_buffers(in->dec);
    return AVEMO_OK;
}

#define RANGE_SEEK_LATE 2 /* range_frame: the first frame after a seek begins after the first wanted sample */

/* Decoding positions [p0, p1) of the stream into dst. */
typedef struct {
    audio_source *s;
    long p0, p1;
    float *dst;         /* [p1 - p0], zeroed */
    long next;          /* position of the next frame's first sample; -1 before the first frame after a seek */
    long end;           /* one past the last position decoded */
} range_ctx;

/* A frame's samples into the range. After a seek the first frame is placed by its timestamp (the stream's start
 * time is position 0, as a decode from the start counts); every later frame follows the one before, as a decode
 * from the start counts them. */
static int range_frame(void *ctx, const AVFrame *f) {
    range_ctx *r = ctx;
    const audio_input *in = &r->s->in;
    long pos = r->next;
    if (pos < 0) {
        int64_t pts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
        if (pts == AV_NOPTS_VALUE)
            return avemo_error(AVEMO_EDECODE, "%s: cannot place the audio after a seek (no timestamps)", r->s->path);
        pos = (long)av_rescale_q(pts - in->start_pts, in->stream->time_base, (AVRational){1, in->rate});
        if (pos > r->p0 - r->s->preroll / 2) return RANGE_SEEK_LATE; /* too little pre-roll: seek earlier */
    }
    long a = pos > r->p0 ? pos : r->p0, b = pos + f->nb_samples < r->p1 ? pos + f->nb_samples : r->p1;
    int st = a < b ? frame_mono(f, (int)(a - pos), (int)(b - pos), r->dst + (a - r->p0), r->s->path) : AVEMO_OK;
    r->next = pos + f->nb_samples;
    if (r->next > r->end) r->end = r->next;
    return st ? st : r->next >= r->p1; /* 1: everything wanted is in: stop decoding */
}

/* Positions [p0, p1) of the stream into dst [p1 - p0] (zeros where the stream has none); *end: one past the last
 * position the decode reached. Seeks to `preroll` samples before p0 and decodes from there, dropping what
 * precedes p0, and stops once p1 is reached. */
static int decode_range(audio_source *s, long p0, long p1, float *dst, long *end) {
    /* where to seek: the pre-roll before p0; if the seek lands after p0, 30 s earlier; then the start */
    long targets[3] = {p0 - s->preroll, p0 - s->preroll - 30L * s->in.rate, 0};
    for (int attempt = 0; attempt < 3; attempt++) {
        long target = targets[attempt] > 0 ? targets[attempt] : 0;
        if (attempt && target == targets[attempt - 1]) continue;
        memset(dst, 0, (size_t)(p1 - p0) * sizeof *dst);
        int st = seek_to(s, target);
        if (st == 1) { /* a seek into the stream failed: from the start */
            target = 0;
            attempt = 2;
            st = seek_to(s, 0);
        }
        if (st) return st;
        range_ctx r = {.s = s, .p0 = p0, .p1 = p1, .dst = dst, .next = target > 0 ? -1 : 0};
        st = pump_frames(&s->in, range_frame, &r, s->path);
        if (st == RANGE_SEEK_LATE) continue;
        if (st < 0) return st;
        *end = r.end;
        return AVEMO_OK;
    }
    return avemo_error(AVEMO_EDECODE, "%s: cannot seek to %.3f s", s->path, (double)p0 / s->in.rate);
}

/* Windowed reads of a stream of s->n_in samples: piece granularity, pre-roll and margins. */
static void setup_windowed(audio_source *s) {
    int rate = s->in.rate;
    s->unit = rate / gcd_long(rate, s->out_rate);
    long preroll = lround(SEEK_PREROLL_SECONDS * rate);
    s->preroll = s->in.stream->codecpar->seek_preroll > preroll ? s->in.stream->codecpar->seek_preroll : preroll;
    s->margin = lround(RESAMPLE_MARGIN_SECONDS * rate);
    s->n_out = out_length(s->n_in, rate, s->out_rate);
}

/* A stream decoded whole: stored and resampled when it holds at most whole_max samples; a longer one (its header
 * said less, or nothing) has been counted on the way and is read window by window from then on. */
static int open_whole(audio_source *s, long whole_max) {
    whole_buf b = {.cap = whole_max, .count_max = (long)(AUDIO_MAX_SECONDS * s->in.rate), .path = s->path};
    int st = pump_frames(&s->in, whole_frame, &b, s->path);
    if (!st && b.n == 0) st = avemo_error(AVEMO_EDECODE, "%s: no audio samples", s->path);
    if (!st) st = check_truncation(&s->in, b.n, s->path, s->file_size);
    s->n_in = b.n;
    if (!st && b.n > b.cap) { /* too long to keep: the length is exact now */
        s->counted = 1;
        setup_windowed(s);
    } else if (!st && s->in.rate == s->out_rate) {
        s->whole = b.samples;
        b.samples = NULL;
        s->n_out = b.n;
    } else if (!st) {
        st = audio_resample(b.samples, b.n, s->in.rate, s->out_rate, &s->whole, &s->n_out);
        if (st) avemo_error_prefix(st, "%s", s->path);
    }
    free(b.samples);
    if (!st && s->whole) audio_input_close(&s->in);
    return st;
}

/* A stream longer than a whole decode, of the length its header declares: checked to reach (near) that end, as
 * a whole decode checks it (check_truncation), by decoding its last second. */
static int open_windowed(audio_source *s, long declared) {
    s->n_in = declared;
    setup_windowed(s);
    long rate = s->in.rate, p0 = declared > rate + AUDIO_TRUNC_SLACK ? declared - rate - AUDIO_TRUNC_SLACK : 0, end = 0;
    float *tail = malloc((size_t)(declared - p0) * sizeof *tail);
    if (!tail) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", s->path);
    int st = decode_range(s, p0, declared, tail, &end);
    free(tail);
    if (!st && end < declared * (1 - AUDIO_TRUNC_FRACTION) - AUDIO_TRUNC_SLACK)
        st = avemo_error(AVEMO_EFORMAT, "%s: truncated: the audio ends at %.3f s of the %.3f s the header declares",
                         s->path, (double)end / rate, (double)declared / rate);
    long long declared_end = 0;
    if (!st && !strcmp(s->in.fmt->iformat->name, "wav") && wav_is_truncated(s->path, s->file_size, &declared_end))
        st = avemo_error(AVEMO_EFORMAT, "%s: truncated: the WAV header declares %lld bytes, the file has %lld",
                         s->path, declared_end, s->file_size);
    return st;
}

/* The length the header declares, in samples at the stream's rate; -1 when it declares none or estimates it
 * from the bit rate (a cut or a VBR stream makes that wrong). */
static long declared_samples(const audio_input *in) {
    const AVStream *st = in->stream;
    if (in->fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE) return -1;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        return (long)av_rescale_q(st->duration, st->time_base, (AVRational){1, in->rate});
    return -1;
}

int audio_source_open(const char *path, int target_rate_hz, long whole_max_samples, audio_source **out) {
    *out = NULL;
    pthread_once(&quiet_once, quiet_ffmpeg);
    struct stat sb;
    if (stat(path, &sb) != 0) return avemo_error(AVEMO_EIO, "%s: no such file", path);
    if (!S_ISREG(sb.st_mode)) return avemo_error(AVEMO_EIO, "%s: not a regular file", path);
    if (sb.st_size == 0) return avemo_error(AVEMO_EFORMAT, "%s: empty file", path);
    if (target_rate_hz < 0 || target_rate_hz > AUDIO_MAX_RATE_HZ)
        return avemo_error(AVEMO_EINVAL, "%s: target rate %d Hz", path, target_rate_hz);
    audio_source *s = calloc(1, sizeof *s);
    if (!s) return avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    if (snprintf(s->path, sizeof s->path, "%s", path) >= (int)sizeof s->path) {
        free(s);
        return avemo_error(AVEMO_EINVAL, "%s: path too long", path);
    }
    s->file_size = (long long)sb.st_size;
    int st = audio_input_open(path, &s->in);
    if (!st) {
        s->out_rate = target_rate_hz > 0 ? target_rate_hz : s->in.rate;
        s->channels = s->in.dec->ch_layout.nb_channels;
        long whole_max = whole_max_samples > 0 ? whole_max_samples : AUDIO_WHOLE_MAX_SAMPLES;
        /* by default neither the decoded stream nor its upsampled copy holds more than AUDIO_WHOLE_MAX_SAMPLES (a
         * 4 kHz stream of 2^22 samples would otherwise be 92 MB once at 22,050 Hz) */
        if (whole_max_samples <= 0 && s->out_rate > s->in.rate)
            whole_max = (long)((double)AUDIO_WHOLE_MAX_SAMPLES * s->in.rate / s->out_rate);
        long declared = declared_samples(&s->in);
        st = declared > whole_max ? open_windowed(s, declared) : open_whole(s, whole_max);
    }
    if (st) {
        audio_source_close(s);
        return st;
    }
    *out = s;
    return AVEMO_OK;
}

void audio_source_get_info(const audio_source *s, audio_source_info *info) {
    info->n = s->n_out;
    info->rate_hz = s->out_rate;
    info->source_rate_hz = s->in.rate;
    info->source_channels = s->channels;
    info->whole = s->whole != NULL;
    info->length_counted = s->whole != NULL || s->counted;
}

/* audio_source_read of a windowed source: the input the output range needs, plus margins, from a multiple of
 * s->unit (so that its resampled grid is the whole stream's), decoded, resampled, cut. */
static int read_windowed(audio_source *s, long a, long b, float *y) {
    long R = s->in.rate, Q = s->out_rate;
    long in_first = a * R / Q - s->margin, in_last = (b * R + Q - 1) / Q + s->margin;
    long p0 = in_first > 0 ? in_first / s->unit * s->unit : 0, p1 = in_last < s->n_in ? in_last : s->n_in, end;
    if (p1 <= p0) return AVEMO_OK;
    float *piece = malloc((size_t)(p1 - p0) * sizeof *piece), *yp = NULL;
    if (!piece) return avemo_error(AVEMO_ENOMEM, "%s: out of memory for %ld samples", s->path, p1 - p0);
    long np = p1 - p0, o0 = p0 / s->unit * (s->unit * Q / R); /* the piece's first output sample */
    int st = decode_range(s, p0, p1, piece, &end);
    if (!st && R != Q && (st = audio_resample(piece, p1 - p0, (int)R, (int)Q, &yp, &np))) avemo_error_prefix(st, "%s", s->path);
    const float *src = R != Q ? yp : piece;
    for (long j = a; !st && j < b; j++) y[j - a] = j - o0 >= 0 && j - o0 < np ? src[j - o0] : 0;
    free(piece);
    free(yp);
    return st;
}

int audio_source_read(audio_source *s, long start, long n, float *y) {
    if (n <= 0) return AVEMO_OK;
    memset(y, 0, (size_t)n * sizeof *y);
    long a = start > 0 ? start : 0, b = start + n < s->n_out ? start + n : s->n_out; /* the part inside the stream */
    if (a >= b) return AVEMO_OK;
    if (s->whole) {
        memcpy(y + (a - start), s->whole + a, (size_t)(b - a) * sizeof *y);
        return AVEMO_OK;
    }
    return read_windowed(s, a, b, y + (a - start));
}

int audio_source_read_center(audio_source *s, long target, float *y) {
    long n = s->n_out;
    if (n >= target) return audio_source_read(s, (n - target) / 2, target, y); /* audio_fix_length's crop */
    long before = (target - n) / 2;
    memset(y, 0, (size_t)target * sizeof *y);
    return audio_source_read(s, 0, n, y + before);
}

void audio_source_close(audio_source *s) {
    if (!s) return;
    audio_input_close(&s->in);
    free(s->whole);
    free(s);
}

/* ---- whole files ---- */

/* The whole stream of an opened source into out (taken from it). */
static int take_whole(audio_source *s, audio_clip *out) {
    if (!s->whole)
        return avemo_error(AVEMO_EUNSUP, "%s: %ld samples are more than a whole decode holds (%ld): read it through "
                                         "an audio source", s->path, s->n_in, (long)AUDIO_WHOLE_MAX_SAMPLES);
    out->samples = s->whole;
    s->whole = NULL;
    out->n = s->n_out;
    out->sample_rate_hz = s->out_rate;
    out->source_sample_rate_hz = s->in.rate;
    out->source_channels = s->channels;
    return AVEMO_OK;
}

int audio_decode_mono(const char *path, audio_clip *out) { return audio_load(path, 0, out); }

int audio_load(const char *path, int target_rate_hz, audio_clip *out) {
    memset(out, 0, sizeof *out);
    audio_source *s;
    int st = audio_source_open(path, target_rate_hz, 0, &s);
    if (st) return st;
    st = take_whole(s, out);
    audio_source_close(s);
    return st;
}

int audio_resample(const float *x, long n_in, int in_rate_hz, int out_rate_hz, float **y, long *n_out) {
    *y = NULL;
    *n_out = 0;
    if (in_rate_hz <= 0 || out_rate_hz <= 0 || n_in < 0)
        return avemo_error(AVEMO_EINVAL, "resample: bad rates %d -> %d Hz or length %ld", in_rate_hz, out_rate_hz,
                           n_in);
    /* librosa.resample: n_samples = int(np.ceil(y.shape[-1] * ratio)) with ratio a float64; computed the
     * same way so the length (and so the later center crop) matches librosa to the sample. */
    double ratio = (double)out_rate_hz / (double)in_rate_hz;
    long n = in_rate_hz == out_rate_hz ? n_in : (long)ceil((double)n_in * ratio);
    if (n > (long)(AUDIO_MAX_SECONDS * out_rate_hz) + 1)
        return avemo_error(AVEMO_EINVAL, "resample: %ld output samples are more than %.0f h", n, AUDIO_MAX_SECONDS / 3600);
    float *o = calloc((size_t)(n > 0 ? n : 1), sizeof *o);
    if (!o) return avemo_error(AVEMO_ENOMEM, "resample: out of memory for %ld samples", n);
    if (in_rate_hz == out_rate_hz || n_in == 0) {
        if (n_in) memcpy(o, x, (size_t)n_in * sizeof *o);
    } else {
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0); /* python-soxr 'HQ' = librosa 'soxr_hq' */
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        size_t odone = 0;
        /* soxr writes round(n_in * ratio) samples; librosa's ceil length is at most one more (left zero). */
        soxr_error_t e = soxr_oneshot(in_rate_hz, out_rate_hz, 1, x, (size_t)n_in, NULL, o, (size_t)n, &odone, &io,
                                      &q, NULL);
        if (e) {
            free(o);
            return avemo_error(AVEMO_EINTERNAL, "resample %d -> %d Hz: soxr: %s", in_rate_hz, out_rate_hz, e);
        }
    }
    *y = o;
    *n_out = n;
    return 0;
}

long audio_clip_samples(double seconds, int rate_hz) { return lround(seconds * rate_hz); }

void audio_fix_length(const float *x, long n, float *y, long target) {
    if (n >= target) {
        memcpy(y, x + (n - target) / 2, (size_t)target * sizeof *y);
        return;
    }
    long before = (target - n) / 2;
    memset(y, 0, (size_t)before * sizeof *y);
    if (n > 0) memcpy(y + before, x, (size_t)n * sizeof *y);
    memset(y + before + n, 0, (size_t)(target - before - n) * sizeof *y);
}

void audio_clip_free(audio_clip *c) {
    free(c->samples);
    memset(c, 0, sizeof *c);
}
