/* Internal to the library (not in include/avemo.h): what the bundled models (api/bundled.c) need of the model
 * API beyond its public functions. */
#ifndef AVEMO_API_API_INTERNAL_H
#define AVEMO_API_API_INTERNAL_H
#include "avemo.h"

/* avemo_model_open_ex, and with detect_faces = 1 the video frames are MTCNN face crops even when the model was
 * trained on whole images (a face model trained on FER2013's crops, applied to photos and videos). */
int api_model_open(const char *path, const avemo_open_options *opt, int detect_faces, avemo_model **out);

#endif
