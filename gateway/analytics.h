/*
 * The analytics spool (analytics.c), exposed for tests and for the
 * shipper of the next issue: JSON lines in spool_dir/spool-NNNNNNNN.jsonl.
 */
#ifndef GW_ANALYTICS_H
#define GW_ANALYTICS_H

#include <stddef.h>

/* Start the writer thread on dir (made 0700 when missing).  0, or -1 after printing why. */
int gw_spool_open(const char *dir);
/* Queue len bytes (one or more complete lines) for the spool; never blocks on disk. */
void gw_spool_append(const char *line, size_t len);
/* Write and fsync everything queued, stop the writer thread. */
void gw_spool_close(void);

#endif
