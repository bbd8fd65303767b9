/* CSV fields (RFC 4180): the one quoting rule every CSV avemo writes follows. */
#ifndef AVEMO_CORE_CSV_H
#define AVEMO_CORE_CSV_H
#include <stdio.h>

/* s as one CSV field on f: as it is, or quoted (inner quotes doubled) when it holds a comma, quote or line break. */
void csv_write_field(FILE *f, const char *s);

#endif
