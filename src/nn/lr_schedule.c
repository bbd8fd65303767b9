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
