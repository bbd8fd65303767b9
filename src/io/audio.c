#include "io/audio.h"

#include "core/err.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <math.h>
#include <pthread.h>
#include <soxr.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Refuse absurd inputs before allocating: 4 hours of 192 kHz audio. */
#define AUDIO_MAX_SAMPLES (4L * 3600 * 192000)
/* A file whose decoded length falls short of its declared duration by more than this fraction (and more
 * than AUDIO_TRUNC_SLACK samples, for codec delay and padding) is reported as truncated. */
#define AUDIO_TRUNC_FRACTION 0.02
#define AUDIO_TRUNC_SLACK 4096

/* The library never prints: FFmpeg's own log goes nowhere; failures are reported through avemo_error. */
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void quiet_ffmpeg(void) { av_log_set_level(AV_LOG_QUIET); }

static const char *av_err(int e, char *buf, size_t n) {
    av_strerror(e, buf, n);
    return buf;
}

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

/* Growable mono buffer. */
typedef struct {
    float *samples;
    long n, cap;
} mono_buf;

static int mono_reserve(mono_buf *b, long more, const char *path) {
    if (b->n + more <= b->cap) return 0;
    if (b->n + more > AUDIO_MAX_SAMPLES)
        return avemo_error(AVEMO_ENOMEM, "%s: audio longer than %ld samples", path, AUDIO_MAX_SAMPLES);
    long cap = b->cap ? b->cap : 65536;
    while (cap < b->n + more) cap *= 2;
    float *x = realloc(b->samples, (size_t)cap * sizeof *x);
    if (!x) return avemo_error(AVEMO_ENOMEM, "%s: out of memory for %ld samples", path, cap);
    b->samples = x;
    b->cap = cap;
    return 0;
}

/* One sample of channel c, frame position i, as a float in librosa's scaling (integer / 2^(bits-1)). */
static double sample_at(const AVFrame *f, enum AVSampleFormat fmt, int planar, int channels, int c, int i) {
    const uint8_t *p = planar ? f->extended_data[c] : f->extended_data[0];
    long k = planar ? i : (long)i * channels + c;
    switch (fmt) {
    case AV_SAMPLE_FMT_U8: return ((int)p[k] - 128) / 128.0;
    case AV_SAMPLE_FMT_S16: return ((const int16_t *)p)[k] / 32768.0;
    case AV_SAMPLE_FMT_S32: return ((const int32_t *)p)[k] / 2147483648.0;
    case AV_SAMPLE_FMT_S64: return (double)((const int64_t *)p)[k] / 9223372036854775808.0;
    case AV_SAMPLE_FMT_FLT: return ((const float *)p)[k];
    case AV_SAMPLE_FMT_DBL: return ((const double *)p)[k];
    default: return 0;
    }
}

/* Append the frame's samples, downmixed to the mean of its channels (librosa.to_mono). */
static int append_frame(mono_buf *b, const AVFrame *f, const char *path) {
    int channels = f->ch_layout.nb_channels;
    enum AVSampleFormat fmt = av_get_packed_sample_fmt((enum AVSampleFormat)f->format);
    int planar = av_sample_fmt_is_planar((enum AVSampleFormat)f->format);
    if (channels < 1) return avemo_error(AVEMO_EDECODE, "%s: decoded frame has no channels", path);
    if (fmt != AV_SAMPLE_FMT_U8 && fmt != AV_SAMPLE_FMT_S16 && fmt != AV_SAMPLE_FMT_S32 &&
        fmt != AV_SAMPLE_FMT_S64 && fmt != AV_SAMPLE_FMT_FLT && fmt != AV_SAMPLE_FMT_DBL)
        return avemo_error(AVEMO_EUNSUP, "%s: unsupported sample format %s", path,
                           av_get_sample_fmt_name((enum AVSampleFormat)f->format));
    int st = mono_reserve(b, f->nb_samples, path);
    if (st) return st;
    float *dst = b->samples + b->n;
    for (int i = 0; i < f->nb_samples; i++) {
        double s = 0;
        for (int c = 0; c < channels; c++) s += sample_at(f, fmt, planar, channels, c, i);
        dst[i] = (float)(s / channels);
    }
    b->n += f->nb_samples;
    return 0;
}

/* Drain all frames the decoder has ready. Returns 0, or an error; *eof set at AVERROR_EOF. */
static int drain(AVCodecContext *dec, AVFrame *frame, mono_buf *b, int *eof, const char *path) {
    char eb[128];
    for (;;) {
        int r = avcodec_receive_frame(dec, frame);
        if (r == AVERROR(EAGAIN)) return 0;
        if (r == AVERROR_EOF) {
            *eof = 1;
            return 0;
        }
        if (r < 0) return avemo_error(AVEMO_EDECODE, "%s: corrupt or truncated audio data: %s", path, av_err(r, eb, sizeof eb));
        int st = append_frame(b, frame, path);
        av_frame_unref(frame);
        if (st) return st;
    }
}

/* An open input and its audio decoder. */
typedef struct {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVStream *stream;
    int stream_index;
} audio_input;

static void audio_input_close(audio_input *in) {
    avcodec_free_context(&in->dec);
    avformat_close_input(&in->fmt);
}

/* Open `path`, find its best audio stream and open a decoder for it. */
static int audio_input_open(const char *path, audio_input *in) {
    char eb[128];
    int r;
    memset(in, 0, sizeof *in);
    if ((r = avformat_open_input(&in->fmt, path, NULL, NULL)) < 0)
        return r == AVERROR(ENOENT) || r == AVERROR(EACCES)
                   ? avemo_error(AVEMO_EIO, "%s: cannot open: %s", path, av_err(r, eb, sizeof eb))
                   : avemo_error(AVEMO_EFORMAT, "%s: not a readable media file: %s", path, av_err(r, eb, sizeof eb));
    AVFormatContext *fmt = in->fmt;
    if ((r = avformat_find_stream_info(fmt, NULL)) < 0)
        return avemo_error(AVEMO_EFORMAT, "%s: corrupt or truncated media file: %s", path, av_err(r, eb, sizeof eb));
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
        return avemo_error(AVEMO_EDECODE, "%s: bad audio parameters: %s", path, av_err(r, eb, sizeof eb));
    in->dec->thread_count = 1; /* callers parallelise over files */
    if ((r = avcodec_open2(in->dec, codec, NULL)) < 0)
        return avemo_error(AVEMO_EDECODE, "%s: cannot open the %s decoder: %s", path, codec->name,
                           av_err(r, eb, sizeof eb));
    return AVEMO_OK;
}

/* Read every packet of the audio stream through the decoder (then flush it) into b. */
static int decode_all(audio_input *in, mono_buf *b, const char *path) {
    char eb[128];
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int st = 0, r, eof = 0;
    if (!pkt || !frame) st = avemo_error(AVEMO_ENOMEM, "%s: out of memory", path);
    while (!st && !eof) {
        r = av_read_frame(in->fmt, pkt);
        if (r == AVERROR_EOF) {
            avcodec_send_packet(in->dec, NULL); /* flush */
        } else if (r < 0) {
            st = avemo_error(AVEMO_EFORMAT, "%s: truncated or corrupt file: %s", path, av_err(r, eb, sizeof eb));
            break;
        } else {
            if (pkt->stream_index != in->stream_index) {
                av_packet_unref(pkt);
                continue;
            }
            r = avcodec_send_packet(in->dec, pkt);
            av_packet_unref(pkt);
            if (r < 0 && r != AVERROR(EAGAIN)) {
                st = avemo_error(AVEMO_EDECODE, "%s: corrupt or truncated audio data: %s", path,
                                 av_err(r, eb, sizeof eb));
                break;
            }
        }
        if ((st = drain(in->dec, frame, b, &eof, path))) break;
        if (r == AVERROR_EOF) eof = 1; /* drain above emptied the flushed decoder */
    }
    av_frame_free(&frame);
    av_packet_free(&pkt);
    return st;
}

/* A cut file often decodes cleanly up to the cut: compare the n decoded samples with the duration the header
 * declares (not one estimated from the bit rate, which a cut does not change), and a WAV's data chunk size
 * with the file size. */
static int check_truncation(const audio_input *in, long n, int rate, const char *path, long long file_size) {
    const AVStream *stream = in->stream;
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

int audio_decode_mono(const char *path, audio_clip *out) {
    memset(out, 0, sizeof *out);
    pthread_once(&quiet_once, quiet_ffmpeg);
    struct stat sb;
    if (stat(path, &sb) != 0) return avemo_error(AVEMO_EIO, "%s: no such file", path);
    if (!S_ISREG(sb.st_mode)) return avemo_error(AVEMO_EIO, "%s: not a regular file", path);
    if (sb.st_size == 0) return avemo_error(AVEMO_EFORMAT, "%s: empty file", path);

    audio_input in;
    mono_buf b = {0};
    int st = audio_input_open(path, &in);
    if (!st) st = decode_all(&in, &b, path);
    if (st) goto done;
    int rate = in.dec->sample_rate;
    if (b.n == 0) {
        st = avemo_error(AVEMO_EDECODE, "%s: no audio samples", path);
        goto done;
    }
    if (rate <= 0) {
        st = avemo_error(AVEMO_EDECODE, "%s: unknown sample rate", path);
        goto done;
    }
    if ((st = check_truncation(&in, b.n, rate, path, (long long)sb.st_size))) goto done;
    out->samples = b.samples;
    out->n = b.n;
    out->sample_rate_hz = out->source_sample_rate_hz = rate;
    out->source_channels = in.dec->ch_layout.nb_channels;
    b.samples = NULL;
done:
    free(b.samples);
    audio_input_close(&in);
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
    if (n > AUDIO_MAX_SAMPLES) return avemo_error(AVEMO_ENOMEM, "resample: %ld output samples is too many", n);
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

int audio_load(const char *path, int target_rate_hz, audio_clip *out) {
    int st = audio_decode_mono(path, out);
    if (st || target_rate_hz <= 0 || target_rate_hz == out->sample_rate_hz) return st;
    float *y;
    long n;
    st = audio_resample(out->samples, out->n, out->sample_rate_hz, target_rate_hz, &y, &n);
    if (st) {
        audio_clip_free(out);
        return avemo_error_prefix(st, "%s", path);
    }
    free(out->samples);
    out->samples = y;
    out->n = n;
    out->sample_rate_hz = target_rate_hz;
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
