#include "io/media_probe.h"

#include "core/err.h"
#include "io/image.h"

#include <libavformat/avformat.h>
#include <string.h>
#include <sys/stat.h>

int media_probe(const char *path, media_info *out) {
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(path, &sb) != 0) return avemo_error(AVEMO_EIO, "%s: no such file", path);
    if (!S_ISREG(sb.st_mode)) return avemo_error(AVEMO_EIO, "%s: not a regular file", path);
    if (sb.st_size == 0) return avemo_error(AVEMO_EFORMAT, "%s: empty file", path);
    if (image_is_image_path(path)) {
        out->is_image = out->has_video = 1;
        return AVEMO_OK;
    }
    av_log_set_level(AV_LOG_QUIET); /* the library never prints */
    AVFormatContext *fmt = NULL;
    char eb[128];
    int r = avformat_open_input(&fmt, path, NULL, NULL);
    if (r < 0) {
        av_strerror(r, eb, sizeof eb);
        return r == AVERROR(EACCES) ? avemo_error(AVEMO_EIO, "%s: cannot open: %s", path, eb)
                                    : avemo_error(AVEMO_EFORMAT, "%s: not a readable media file: %s", path, eb);
    }
    /* headers declare the streams for MP4/MKV/WAV/FLAC; FLV and raw streams only after probing packets */
    if ((r = avformat_find_stream_info(fmt, NULL)) < 0) {
        av_strerror(r, eb, sizeof eb);
        avformat_close_input(&fmt);
        return avemo_error(AVEMO_EFORMAT, "%s: corrupt or truncated media file: %s", path, eb);
    }
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *s = fmt->streams[i];
        if (s->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) out->has_audio = 1;
        if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(s->disposition & AV_DISPOSITION_ATTACHED_PIC))
            out->has_video = 1;
    }
    if (fmt->duration > 0) out->duration_s = (double)fmt->duration / AV_TIME_BASE;
    avformat_close_input(&fmt);
    if (!out->has_audio && !out->has_video) return avemo_error(AVEMO_EDECODE, "%s: no audio or video stream", path);
    return AVEMO_OK;
}
