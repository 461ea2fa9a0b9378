/*
 * gatehouse-trafficmanager: cluster-wide throttling counters and the
 * analytics collector (DESIGN.md).  This header is the contract between
 * its modules: main.c (start-up, ports), sync.c (POST
 * /internal/throttle/v1/sync: counter deltas in, cluster-wide counts out),
 * events.c (POST /internal/analytics/v1/events: batches into PostgreSQL,
 * per-minute rollups), retention.c (partitions ahead, old data dropped),
 * mgmt.c (/health, /metrics).  PROTOCOL.md is the wire contract with the
 * gateways.
 *
 * Threading: the loop (tmgr.base) does HTTP I/O; the sync answers on the
 * loop (in memory, no database); event batches run on a worker of the pg
 * pool (pg/gh_call.h) so the loop never waits on PostgreSQL.
 */
#ifndef TM_H
#define TM_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "core/gh_http.h"
#include "core/gh_router.h"
#include "core/gh_service.h"
#include "core/gh_settings.h"
#include "pg/gh_call.h"
#include "pg/gh_pg.h"

struct event_base;

struct tmgr_metrics {
	uint64_t syncs, sync_refused, sync_keys;        /* sync.c */
	uint64_t batches, batch_refused, events, duplicates;  /* events.c */
	struct gh_hist latency;                         /* event batches: request to reply */
	uint64_t dropped_partitions, retention_runs, retention_errors;  /* retention.c */
	uint64_t rollups_deleted;                       /* retention.c */
};

struct tmgr {
	struct event_base *base;
	struct gh_settings *cfg;
	char *conninfo;                 /* holds the db password */
	struct gh_pg_pool *pool;
	SSL_CTX *tls;                   /* 9611: client certificates of the node's CA required */
	int64_t retention_ms;           /* trafficmanager.retention */
	size_t max_batch_bytes;         /* trafficmanager.max_batch_bytes */
	struct tmgr_metrics metrics;      /* __atomic_add_fetch */
};

extern struct tmgr tmgr;

#define TM_COUNT(field, n) __atomic_add_fetch(&tmgr.metrics.field, (n), __ATOMIC_RELAXED)

/*
 * 1 when req's client certificate is a gateway's (gw-internal or
 * gw-external, any environment); else 0 after answering 403.
 */
int tm_peer_is_gateway(struct gh_http_req *req);

/* sync.c: add POST /internal/throttle/v1/sync to r; tm_sync_init before, 0 or -1. */
int tm_sync_init(void);
void tm_sync_routes(struct gh_router *r);
/* Gauges for /metrics: keys held, gateways seen in the last minute (all environments). */
size_t tm_sync_keys(void);
size_t tm_sync_gateways(void);
void tm_sync_shutdown(void);

/* events.c: add POST /internal/analytics/v1/events to r. */
void tm_events_routes(struct gh_router *r);

/* retention.c: make partitions ahead and drop old data now and then on tmgr.base.  0 or -1. */
int tm_retention_start(void);
void tm_retention_stop(void);
/*
 * Make the daily partitions gh_analytics_events_YYYYMMDD of days[0..n)
 * (days since 1970-01-01, UTC) that are missing, inside the caller's
 * transaction on db; concurrent callers serialize on an advisory lock.
 * 0, or -1 with the SQLSTATE on db.
 */
int tm_partitions_make(struct gh_pg *db, const int64_t *days, size_t n);

/* pg_advisory_xact_lock key of partition changes ("gh_anpar") */
#define TM_LOCK_PARTITIONS INT64_C(0x67685f616e706172)

/* mgmt.c: GET /health, GET /metrics. */
void tm_mgmt_routes(struct gh_router *r);

#endif
