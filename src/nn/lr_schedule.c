/* Learning-rate schedules (closed forms of torch.optim.lr_scheduler), epoch counted from 0. */
#include "nn/nn.h"

#include <math.h>

/* MultiStepLR: base gamma^(number of milestones <= epoch); a repeated milestone counts twice, as in torch */
float lr_multistep(float base, int epoch, const int *milestones, int n_milestones, float gamma) {
    double lr = base;
    for (int i = 0; i < n_milestones; i++)
        if (milestones[i] <= epoch) lr *= gamma;
    return (float)lr;
}

/* CosineAnnealingLR(T_max = total, eta_min = min_lr); past total it continues the cosine, as torch's does */
float lr_cosine(float base, int epoch, int total, float min_lr) {
    if (total <= 0) return base;
    return (float)(min_lr + ((double)base - min_lr) * (1.0 + cos(M_PI * (double)epoch / total)) / 2.0);
}

/* torch's _annealing_cos: from start (pct 0) to end (pct 1) along half a cosine */
static double anneal_cos(double start, double end, double pct) { return end + (start - end) / 2.0 * (cos(M_PI * pct) + 1.0); }

/* OneCycleLR's two cosine phases through lo_hi = {start, peak, end}: from start to peak over steps
 * [0, pct_start * total - 1], then to end at step total - 1 (torch's phase boundaries, three_phase=False). */
static double onecycle(const double lo_hi[3], long step, long total, double pct_start) {
    double end1 = pct_start * (double)total - 1.0, end2 = (double)total - 1.0;
    if (step <= end1 || end2 <= end1) return anneal_cos(lo_hi[0], lo_hi[1], end1 > 0 ? step / end1 : 1.0);
    return anneal_cos(lo_hi[1], lo_hi[2], ((double)step - end1) / (end2 - end1));
}

float lr_onecycle(float max_lr, long step, long total_steps, float pct_start, float div_factor, float final_div_factor) {
    double initial = (double)max_lr / div_factor;
    double points[3] = {initial, max_lr, initial / final_div_factor};
    return (float)onecycle(points, step, total_steps, pct_start);
}

float momentum_onecycle(float base_m, float max_m, long step, long total_steps, float pct_start) {
    double points[3] = {max_m, base_m, max_m};
    return (float)onecycle(points, step, total_steps, pct_start);
}
