/* Helpers shared by the backbone commands (import, embed, classify-imagenet). */
#ifndef AVEMO_CLI_BACKBONE_CLI_H
#define AVEMO_CLI_BACKBONE_CLI_H

/* --name value or --name=value; returns the value, or NULL when argv[*i] is not --name (sets *missing when the
 * value is absent). */
const char *bb_opt_value(int argc, char **argv, int *i, const char *name, int *missing);
/* Parse a positive int no larger than max; -1 on error. */
int bb_parse_int(const char *s, int max);
/* Read a label file (one label per line) into a NULL-terminated malloc'd array; *n = count. NULL on error
 * (avemo_last_error says why). */
char **bb_read_labels(const char *path, int *n);
/* Split metadata "class_names" (newline-separated) the same way. */
char **bb_split_lines(const char *text, int *n);
void bb_free_labels(char **labels);

#endif
