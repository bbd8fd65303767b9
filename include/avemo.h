/* avemo: audio-visual emotion recognition (Yang, Lv, Liu 2025, dual-stream MFCC-MobileNetV2).
 *
 * Public C API. The library never exits or prints: every function that can fail returns an
 * avemo_status (0 = AVEMO_OK) and leaves a one-line message readable with avemo_last_error()
 * (per thread, like errno).
 */
#ifndef AVEMO_H
#define AVEMO_H

#ifdef __cplusplus
extern "C" {
#endif

#define AVEMO_VERSION "0.1.0"

typedef enum {
    AVEMO_OK = 0,
    AVEMO_EINVAL = -1,   /* bad argument or option */
    AVEMO_EIO = -2,      /* file missing, unreadable, unwritable */
    AVEMO_EFORMAT = -3,  /* file readable but not valid for its type (corrupt, truncated, wrong dtype) */
    AVEMO_ENOMEM = -4,   /* allocation failed or would exceed a sane limit */
    AVEMO_EDECODE = -5,  /* media decoding failed (no audio stream, no frames, codec error) */
    AVEMO_EUNSUP = -6,   /* valid input that this build does not support */
    AVEMO_EINTERNAL = -7 /* a bug: please report */
} avemo_status;

/* Message describing the last error on this thread ("" when none). */
const char *avemo_last_error(void);
/* Short name of a status code ("invalid argument", ...). */
const char *avemo_status_name(int status);

#ifdef __cplusplus
}
#endif
#endif
