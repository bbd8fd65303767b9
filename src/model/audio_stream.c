/* Audio stream, the paper's Table II and the baseline's AudioCNNPool (see model/streams.h). */
#include "model/streams.h"

#include <stdio.h>

void audio_stream_setup(audio_stream_dims *d, const model_config *c) {
    int t = c->audio_frames;
    if (c->audio_stream == AUDIO_STREAM_BASELINE) {
        /* conv1d_block_audio: Conv1d(k=3, valid) + BN + ReLU + MaxPool1d(2, 1 or 2); 10->64->128 | 128->256->128 */
        const int ch[5] = {c->audio_channels, c->baseline_ch1, c->baseline_ch2, c->baseline_ch3, c->baseline_ch2};
        d->n_blocks = 4;
        d->split = 2;
        for (int i = 0; i < 4; i++) {
            d->block[i] = (audio_block_dims){t, ch[i], ch[i + 1], 0, 0, c->baseline_pool_stride};
            t = audio_block_out_t(&d->block[i]);
        }
    } else {
        d->n_blocks = c->audio_blocks;
        d->split = c->audio_blocks / 2;
        for (int i = 0; i < d->n_blocks; i++) {
            d->block[i] = (audio_block_dims){t, i == 0 ? c->audio_channels : c->audio_ch, c->audio_ch, 1, 1, 2};
            t = audio_block_out_t(&d->block[i]);
        }
    }
}

static int stage_first(const audio_stream_dims *d, int stage) { return stage == 0 ? 0 : d->split; }
static int stage_end(const audio_stream_dims *d, int stage) { return stage == 0 ? d->split : d->n_blocks; }

int audio_stream_out_t(const audio_stream_dims *d, int stage) {
    return audio_block_out_t(&d->block[stage_end(d, stage) - 1]);
}
int audio_stream_out_c(const audio_stream_dims *d, int stage) { return d->block[stage_end(d, stage) - 1].co; }

void audio_stream_declare(layout *L, audio_stream_p *p, const audio_stream_dims *d) {
    char name[32];
    for (int i = 0; i < d->n_blocks; i++) {
        snprintf(name, sizeof name, "audio.block%d", i + 1);
        audio_block_declare(L, &p->block[i], name, &d->block[i]);
    }
}

void audio_stream_declare_acts(layout *L, audio_stream_a *a, int B, const audio_stream_dims *d) {
    for (int i = 0; i < d->n_blocks; i++) audio_block_declare_acts(L, &a->block[i], B, &d->block[i]);
}

float *audio_stream_out(const audio_stream_a *a, const audio_stream_dims *d, int stage) {
    return a->block[stage_end(d, stage) - 1].y;
}

int audio_stream_forward(const audio_stream_p *p, const audio_stream_a *a, int stage, const float *x, int B,
                         const audio_stream_dims *d, int train) {
    for (int i = stage_first(d, stage); i < stage_end(d, stage); i++) {
        int st = audio_block_forward(&p->block[i], &a->block[i], i == stage_first(d, stage) ? x : a->block[i - 1].y,
                                     B, &d->block[i], train);
        if (st) return st;
    }
    return 0;
}

int audio_stream_backward(const audio_stream_p *p, const audio_stream_p *g, const audio_stream_a *a,
                          const audio_stream_a *da, int stage, const float *x, float *dx, int B,
                          const audio_stream_dims *d) {
    int first = stage_first(d, stage);
    for (int i = stage_end(d, stage) - 1; i >= first; i--) {
        int st = audio_block_backward(&p->block[i], &g->block[i], &a->block[i], &da->block[i],
                                      i == first ? x : a->block[i - 1].y, i == first ? dx : da->block[i - 1].y, B,
                                      &d->block[i]);
        if (st) return st;
    }
    return 0;
}
