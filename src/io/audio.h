/* Audio in (spec 3, steps 1-2): decode any file FFmpeg reads, downmix to mono, resample with libsoxr,
 * fix the length. All functions are safe to call from several threads at once (each call has its own
 * FFmpeg and soxr contexts).
 *
 * Sample convention (librosa.load / soundfile): integer PCM is scaled by 1/2^(bits-1), so 16-bit and
 * 24-bit sources give floats in [-1, 1); float sources are passed through unclipped, as librosa does.
 */
#ifndef AVEMO_IO_AUDIO_H
#define AVEMO_IO_AUDIO_H

#define AVEMO_AUDIO_SAMPLE_RATE_HZ 22050 /* spec 3.1 (librosa's default) */
#define AVEMO_AUDIO_CLIP_SECONDS 3.6     /* spec 3.2: 79,380 samples at 22,050 Hz */

typedef struct {
    float *samples; /* [n] mono, malloc'd */
    long n;
    int sample_rate_hz;
    int source_channels;       /* channels in the file before the downmix */
    int source_sample_rate_hz; /* rate in the file before resampling */
} audio_clip;

/* Decode the best audio stream of `path` to mono at the file's own rate: the mean of the channels
 * (librosa.to_mono). Errors (one line naming the file): missing/unreadable -> AVEMO_EIO; empty, not a
 * media file, truncated -> AVEMO_EFORMAT; no audio stream, codec errors, zero samples -> AVEMO_EDECODE. */
int audio_decode_mono(const char *path, audio_clip *out);

/* audio_decode_mono, then audio_resample to target_rate_hz (0 keeps the file's rate). */
int audio_load(const char *path, int target_rate_hz, audio_clip *out);

/* Resample x [n_in] from in_rate_hz to out_rate_hz with libsoxr at HQ quality (soxr_hq, librosa 0.10's
 * default res_type), linear phase. Output length ceil(n_in * out / in) like librosa.resample (soxr's own
 * output is trimmed or zero-padded to it). *y is malloc'd [*n_out]. Equal rates copy. */
int audio_resample(const float *x, long n_in, int in_rate_hz, int out_rate_hz, float **y, long *n_out);

/* Number of samples in a clip of `seconds` at `rate_hz`: round(seconds * rate) (3.6 s @ 22050 -> 79380). */
long audio_clip_samples(double seconds, int rate_hz);

/* y [target] = x [n] center-cropped or zero-padded to `target` samples (spec 3.2).
 * Crop (n > target): y = x[off .. off + target) with off = (n - target) / 2 rounded down, the baseline's
 * `y[remain//2 : -(remain - remain//2)]`. Pad (n < target): (target - n) / 2 zeros (rounded down) before,
 * the rest (one more when odd) after. y must not overlap x. */
void audio_fix_length(const float *x, long n, float *y, long target);

void audio_clip_free(audio_clip *c);

#endif
