/* Visual temporal stream, the paper's Table I (see model/streams.h). */
#include "model/streams.h"

void temporal_stream_setup(temporal_stream_dims *d, const model_config *c) {
    d->stage[0] = (resblock_dims){c->video_frames, c->video_dim, c->video_ch1};
    d->stage[1] = (resblock_dims){c->video_frames, c->video_ch1, c->video_ch2};
}

void temporal_stream_declare(layout *L, temporal_stream_p *p, const temporal_stream_dims *d) {
    resblock_declare(L, &p->stage[0], "video.stage1", d->stage[0].ci, d->stage[0].co);
    resblock_declare(L, &p->stage[1], "video.stage2", d->stage[1].ci, d->stage[1].co);
}

void temporal_stream_declare_acts(layout *L, temporal_stream_a *a, int B, const temporal_stream_dims *d) {
    for (int s = 0; s < 2; s++) resblock_declare_acts(L, &a->stage[s], B, &d->stage[s]);
}

int temporal_stream_forward(const temporal_stream_p *p, const temporal_stream_a *a, int stage, const float *x,
                            int B, const temporal_stream_dims *d, int train) {
    return resblock_forward(&p->stage[stage], &a->stage[stage], x, B, &d->stage[stage], train);
}

int temporal_stream_backward(const temporal_stream_p *p, const temporal_stream_p *g, const temporal_stream_a *a,
                             const temporal_stream_a *da, int stage, const float *x, float *dx, int B,
                             const temporal_stream_dims *d) {
    return resblock_backward(&p->stage[stage], &g->stage[stage], &a->stage[stage], &da->stage[stage], x, dx, B,
                             &d->stage[stage]);
}
