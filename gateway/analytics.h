/*
 * The analytics spool (analytics.c), for the shipper (ship.c) and tests:
 * JSON lines in spool_dir/spool-W-NNNNNNNN.jsonl (worker W's files) and
 * spool_dir/spool-NNNNNNNN.jsonl (the shared file of events logged
 * outside a worker).  Each sequence of files is a "slot": 0 the shared
 * one, W + 1 worker W's.  A file is complete once no slot writes it.
 */
#ifndef GW_ANALYTICS_H
#define GW_ANALYTICS_H

#include <stddef.h>

#define GW_SPOOL_SHARED 0
#define GW_SPOOL_SLOTS 257              /* the shared slot and workers 0..255 */

/* Use dir (made 0700 when missing) and start the syncer thread.  0, or -1 after printing why. */
int gw_spool_open(const char *dir);
/* Write len bytes (one or more complete lines) to the shared file now (a mutex, one write). */
void gw_spool_append(const char *line, size_t len);
/* Close the shared file, sync everything written, stop the syncer thread. */
void gw_spool_close(void);

/* The spool folder (after gw_spool_open; "" before). */
const char *gw_spool_dir(void);
/* A spool file's slot and sequence number from its name: 0, or -1 when not a spool file. */
int gw_spool_name_parse(const char *name, int *slot, unsigned *seq);
/* The path of slot's file seq under dir into out (cap bytes). */
void gw_spool_path(char *out, size_t cap, const char *dir, int slot, unsigned seq);
/* 1 when this process may still append to slot's file seq, else 0 (the file is complete). */
int gw_spool_is_active(int slot, unsigned seq);
/* Hand a file made as root to node.run_as (nothing when not root). */
void gw_spool_chown_fd(int fd);

#endif
