/* Which streams a media file has, without decoding it: what predict needs to tell "a silent video" or "an
 * audio file" from a damaged one before choosing the model's inputs. Thread-safe (own FFmpeg contexts). */
#ifndef AVEMO_IO_MEDIA_PROBE_H
#define AVEMO_IO_MEDIA_PROBE_H

typedef struct {
    int has_audio, has_video; /* a decodable stream of that type (attached cover pictures are not video) */
    int is_image;             /* a still image (io/image.h reads it): has_video = 1, no audio */
    double duration_s;        /* container duration, 0 when unknown */
} media_info;

/* Errors (one line naming the file): missing/unreadable -> AVEMO_EIO; empty or not a media file ->
 * AVEMO_EFORMAT; neither an audio nor a video stream -> AVEMO_EDECODE. */
int media_probe(const char *path, media_info *out);

#endif
