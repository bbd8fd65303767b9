/* Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks"), for probabilities: the
 * tempered prediction of p [K] is p^(1/T) renormalised (model_temper_probs; for one softmax model exactly
 * softmax(logits / T)). T is fitted on validation predictions by minimising their mean negative log-likelihood,
 * a 1-D search (golden section on log T). Quality: NLL and the expected calibration error (ECE: top-1 confidence
 * against accuracy over equal-width confidence bins, weighted by the bins' sizes). */
#ifndef AVEMO_TRAIN_CALIBRATE_H
#define AVEMO_TRAIN_CALIBRATE_H

#define CALIBRATE_T_MIN 0.05
#define CALIBRATE_T_MAX 20.0
#define CALIBRATE_ECE_BINS 15

/* Mean NLL of labels [n] under probs [n, K] tempered by T. */
double calibrate_nll(const float *probs, const int *labels, int n, int K, double T);
/* ECE (0..1) over `bins` equal-width bins of the top-1 confidence, probs tempered by T. */
double calibrate_ece(const float *probs, const int *labels, int n, int K, double T, int bins);
/* The T in [CALIBRATE_T_MIN, CALIBRATE_T_MAX] minimising calibrate_nll (to a relative 1e-6 in T). */
double calibrate_fit_temperature(const float *probs, const int *labels, int n, int K);

#endif
