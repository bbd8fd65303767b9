/* libFuzzer harness: the audio decoder wrapper (io/audio.c) on WAV / FLAC headers and data through FFmpeg. Any
 * input must be refused with a status or decoded within the memory bound: run with -rss_limit_mb (tests/fuzz/run.sh
 * gives this harness 512 MB), so a header that makes us allocate by what it claims is a finding. The input is
 * an in-memory file (memfd), opened by path like any file. */
#define _GNU_SOURCE
#include "io/audio.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define CLIP_SAMPLES 79380 /* 3.6 s at 22,050 Hz, what the featurizer reads */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static float clip[CLIP_SAMPLES];
    int fd = memfd_create("fuzz_audio", 0);
    if (fd < 0) return 0;
    if (size == 0 || write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        audio_source *s;
        if (audio_source_open(path, AVEMO_AUDIO_SAMPLE_RATE_HZ, 0, &s) == 0) {
            audio_source_read_center(s, CLIP_SAMPLES, clip);
            audio_source_read(s, 100000, 2048, clip); /* a window elsewhere: the seeking path */
            audio_source_close(s);
        }
    }
    close(fd);
    return 0;
}
