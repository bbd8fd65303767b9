/* Audio in (spec 3, steps 1-2): decode any file FFmpeg reads, downmix to mono, resample with libsoxr,
 * fix the length. All functions are safe to call from several threads at once (each call has its own
 * FFmpeg and soxr contexts).
 *
 * Sample convention (librosa.load / soundfile): integer PCM is scaled by 1/2^(bits-1), so 16-bit and
 * 24-bit sources give floats in [-1, 1); float sources are passed through unclipped, as librosa does.
 *
 * Memory is bounded by what is used, not by what a header claims. A file is refused before decoding when its
 * stream is outside the limits below. An audio_source decodes a file whole (the resampled stream kept in
 * memory) only while it holds at most AUDIO_WHOLE_MAX_SAMPLES samples; a longer one is read window by window:
 * each read seeks to just before the samples it needs, decodes a margin (so the codec's state after the seek
 * and the resampler's transient are gone by then), resamples that piece and stops decoding after it.
 *
 * Exactness: a whole decode is today's reference (every sample decoded from the start, resampled in one soxr
 * pass). A windowed read decodes the same PCM samples (checked on FLAC and AAC in MP4) and resamples them in a
 * piece starting at a multiple of in_rate / gcd(in_rate, out_rate) input samples, so the piece's output grid is
 * the whole stream's; soxr processes in blocks aligned to where its input starts, so the resampled values agree
 * with a whole decode to float rounding (measured max |diff| ~1e-7, tests/io/test_audio.c), not bit for bit.
 * Where the window lies (the centre crop) comes from the stream's length: counted exactly when the decode had to
 * go through the file anyway, else the length the header declares (exact for PCM and FLAC; an encoder's
 * priming/padding may move it by a few ms for lossy formats).
 */
#ifndef AVEMO_IO_AUDIO_H
#define AVEMO_IO_AUDIO_H

#define AVEMO_AUDIO_SAMPLE_RATE_HZ 22050 /* spec 3.1 (librosa's default) */
#define AVEMO_AUDIO_CLIP_SECONDS 3.6     /* spec 3.2: 79,380 samples at 22,050 Hz */

/* Streams outside these limits are refused before anything is decoded (AVEMO_EFORMAT, naming the file). */
#define AUDIO_MIN_RATE_HZ 4000           /* below it speech is unintelligible; a header's 1 Hz is a bomb */
#define AUDIO_MAX_RATE_HZ 384000         /* DXD and 384 kHz studio files pass */
#define AUDIO_MAX_CHANNELS 64
#define AUDIO_MAX_SECONDS (24.0 * 3600)  /* declared (or counted) duration */
/* Streams of at most this many samples (at their own rate) are decoded whole: 16.8 MB of float, 87 s at 48 kHz,
 * 21.8 s at 192 kHz; longer ones are read window by window. */
#define AUDIO_WHOLE_MAX_SAMPLES (1L << 22)

typedef struct {
    float *samples; /* [n] mono, malloc'd */
    long n;
    int sample_rate_hz;
    int source_channels;       /* channels in the file before the downmix */
    int source_sample_rate_hz; /* rate in the file before resampling */
} audio_clip;

/* An opened audio stream, read at a target rate (see the top of this file). */
typedef struct audio_source audio_source;

typedef struct {
    long n;                    /* samples of the whole stream at rate_hz (what a whole decode + resample gives) */
    int rate_hz;               /* the target rate */
    int source_rate_hz, source_channels;
    int whole;                 /* 1: decoded whole at open; 0: read window by window */
    int length_counted;        /* 1: n comes from decoding the stream; 0: from its header (windowed reads) */
} audio_source_info;

/* Open the best audio stream of `path` for reads at target_rate_hz (0: the file's own rate). whole_max_samples:
 * the largest stream (at its own rate) decoded whole; 0 = AUDIO_WHOLE_MAX_SAMPLES, or fewer when upsampling so
 * that the resampled copy holds at most that many either (tests pass 1 or LONG_MAX to force a mode). Errors (one line naming the file): missing/unreadable -> AVEMO_EIO; empty, not a media file,
 * truncated, rate/channels/duration outside the limits -> AVEMO_EFORMAT; no audio stream, codec errors, zero
 * samples -> AVEMO_EDECODE. */
int audio_source_open(const char *path, int target_rate_hz, long whole_max_samples, audio_source **out);
void audio_source_get_info(const audio_source *s, audio_source_info *info);
/* y [n] = samples [start, start + n) of the whole stream at the target rate; zeros outside [0, info.n). */
int audio_source_read(audio_source *s, long start, long n, float *y);
/* y [target] = the whole stream fitted to `target` samples as audio_fix_length fits it (centre crop / zero pad),
 * decoding only the centre. */
int audio_source_read_center(audio_source *s, long target, float *y);
void audio_source_close(audio_source *s); /* NULL is fine */

/* The whole stream of `path` at its own rate, mono: the mean of the channels (librosa.to_mono). Refuses (AVEMO_EUNSUP)
 * a stream longer than AUDIO_WHOLE_MAX_SAMPLES: read those through an audio_source. Errors as audio_source_open. */
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
