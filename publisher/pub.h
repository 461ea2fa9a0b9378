/*
 * gatehouse-publisher: the publisher REST API (/api/am/publisher/v4), the
 * admin REST API (/api/am/admin/v4), both on 9443, and the gateway data
 * feed (/internal/data/v1) on 9446 with mutual TLS.  This header is the
 * contract between its modules.
 *
 * Threading: as the key manager (pg/gh_call.h).  The loop does HTTP I/O;
 * every REST call runs on a worker of the pg pool with a pooled
 * connection.  The feed's long-polls wait on the loop (feed.c), woken by
 * the outbox listener (LISTEN gh_events), never on a worker.
 *
 * Events: every change that a gateway must know is written to the outbox
 * (gh_outbox_append / gh_outbox_append_env) in the transaction of the
 * change; payload shapes are in publisher/FEED.md, which the portal and
 * the key manager follow too.
 */
#ifndef PUB_H
#define PUB_H

#include <stdint.h>
#include <openssl/ssl.h>

#include "core/gh_http.h"
#include "core/gh_mauth.h"
#include "core/gh_router.h"
#include "core/gh_service.h"
#include "core/gh_settings.h"
#include "pg/gh_call.h"
#include "pg/gh_pg.h"

struct event_base;
struct json_object;

struct pub_metrics {
	uint64_t requests, feed_polls, feed_events_sent, feed_snapshots, feed_gone;
	struct gh_hist latency;         /* request to reply (pg/gh_call.h) */
};

struct pub {
	struct event_base *base;
	struct gh_settings *cfg;
	char *conninfo;                 /* holds the db password */
	struct gh_pg_pool *pool;
	struct gh_mauth *mauth;         /* management tokens */
	SSL_CTX *tls_public;            /* 9443 */
	SSL_CTX *tls_feed;              /* 9446: client certificates of the node's CA */
	SSL_CTX *tls_km;                /* client of the key manager: publisher certificate */
	const char *km_url;             /* cluster.keymanager_url (issuer, JWKS) */
	const char *km_internal_url;    /* cluster.keymanager_internal_url */
	int max_revisions;              /* publisher.max_revisions */
	int64_t feed_retention;         /* seconds (feed.retention) */
	int feed_poll_ms;               /* publisher.feed_poll_timeout */
	struct gh_outbox_listener *listener;
	struct pub_metrics metrics;     /* __atomic_add_fetch */
};

extern struct pub pub;

#define PUB_COUNT(field) __atomic_add_fetch(&pub.metrics.field, 1, __ATOMIC_RELAXED)

/* Route tables, one per module. */
void pub_api_routes(struct gh_router *r);       /* apis.c ...: /api/am/publisher/v4 */
void pub_admin_routes(struct gh_router *r);     /* admin.c ...: /api/am/admin/v4 */
void pub_feed_routes(struct gh_router *r);      /* feed.c: /internal/data/v1 (9446) */
void pub_mgmt_routes(struct gh_router *r);      /* mgmt.c: /health, /metrics (19443) */
void pub_analytics_routes(struct gh_router *r); /* analytics.c: /api/am/publisher/v4/analytics */

/* feed.c: the outbox listener saw events up to max_id (loop thread). */
void pub_feed_notify(int64_t max_id, void *arg);
/* feed.c: answer every waiting long-poll now (shutdown). */
void pub_feed_shutdown(void);

#endif
