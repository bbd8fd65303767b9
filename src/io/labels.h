/* Class-label lists: a text file with one label per line (e.g. imagenet_labels.txt), or the newline-separated
 * "class_names" metadata of a backbone file. Used by avemo import (stores them) and the ImageNet check of a
 * backbone (data/featurizer_jobs.h). */
#ifndef AVEMO_IO_LABELS_H
#define AVEMO_IO_LABELS_H

/* Read a label file (one label per line, trailing CR and spaces dropped) into a NULL-terminated malloc'd array;
 * *n = count. NULL on error (avemo_last_error says why). */
char **labels_read_file(const char *path, int *n);
/* Split metadata "class_names" (newline-separated) the same way. */
char **labels_split_lines(const char *text, int *n);
void labels_free(char **labels); /* NULL is fine */

#endif
