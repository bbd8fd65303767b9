/* Label-file helpers shared by the backbone commands (import, classify-imagenet). */
#ifndef AVEMO_CLI_BACKBONE_CLI_H
#define AVEMO_CLI_BACKBONE_CLI_H

/* Read a label file (one label per line) into a NULL-terminated malloc'd array; *n = count. NULL on error
 * (avemo_last_error says why). */
char **bb_read_labels(const char *path, int *n);
/* Split metadata "class_names" (newline-separated) the same way. */
char **bb_split_lines(const char *text, int *n);
void bb_free_labels(char **labels);

#endif
