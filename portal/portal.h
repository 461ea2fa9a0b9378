/*
 * gatehouse-portal: the DevPortal REST API (/api/am/devportal/v3) on 9444
 * (the web UI joins it in a later issue).  This header is the contract
 * between its modules.
 *
 * Threading: as the key manager (pg/gh_call.h): the loop does HTTP I/O,
 * every REST call runs on a worker of the pg pool with a pooled
 * PostgreSQL connection, the thread's own LDAP connection (read only:
 * roles for visibility) and blocking HTTPS calls to the key manager's
 * internal API with the portal's certificate (portal_km_call).
 *
 * Sites: one process serves several sites by host name (portal.sites);
 * each lists only the gateway environments it names (portal_site_for).
 */
#ifndef PORTAL_H
#define PORTAL_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "core/gh_http.h"
#include "core/gh_mauth.h"
#include "core/gh_router.h"
#include "core/gh_service.h"
#include "core/gh_settings.h"
#include "ldap/gh_ldap.h"
#include "pg/gh_call.h"
#include "pg/gh_pg.h"

struct event_base;
struct json_object;

struct portal_metrics {
	uint64_t requests, keys_generated, subscriptions;
	struct gh_hist latency;         /* request to reply (pg/gh_call.h) */
};

#define PORTAL_MAX_SITES 16
#define PORTAL_MAX_ENVS  16

/* One site: a host name ("*" any) and the environments it lists ("*" every one). */
struct portal_site {
	char host[256];
	size_t nenvs;
	char envs[PORTAL_MAX_ENVS][64];
	int all_envs;
};

struct portal {
	struct event_base *base;
	struct gh_settings *cfg;
	char *conninfo;                 /* holds the db password */
	struct gh_pg_pool *pool;
	struct gh_mauth *mauth;         /* management tokens */
	struct gh_ldap_config ldap_cfg; /* strings borrowed from cfg */
	SSL_CTX *tls_public;            /* 9444 */
	SSL_CTX *tls_km;                /* client of the key manager: portal certificate */
	const char *km_url;             /* cluster.keymanager_url */
	const char *km_internal_url;    /* cluster.keymanager_internal_url */
	size_t nsites;
	struct portal_site sites[PORTAL_MAX_SITES];
	struct portal_metrics metrics;  /* __atomic_add_fetch */
};

extern struct portal portal;

#define PORTAL_COUNT(field) __atomic_add_fetch(&portal.metrics.field, 1, __ATOMIC_RELAXED)

/* Parse portal.sites ("host=Env1,Env2; *=*").  0, or -1 with why (static text). */
int portal_sites_parse(const char *spec, const char **why);

/* The site serving c's Host header (port ignored, case-insensitive); NULL when none matches. */
const struct portal_site *portal_site_for(const struct gh_call *c);

/* 1 when site lists environment env. */
int portal_site_lists(const struct portal_site *site, const char *env);

/*
 * A blocking call to the key manager's internal API (worker threads):
 * method and path (e.g. "/internal/km/v1/clients"), a JSON body or NULL.
 * Returns the HTTP status (0 when the key manager could not be reached)
 * and the response body in *body (malloc'd, NUL-terminated, may be NULL;
 * the caller frees it with gh_free_secret_n as it may hold secrets).
 */
int portal_km_call(const char *method, const char *path, const char *json_body, char **body,
    size_t *body_len);

/* Route tables. */
void portal_api_routes(struct gh_router *r);    /* /api/am/devportal/v3 */
void portal_mgmt_routes(struct gh_router *r);   /* /health, /metrics (19444) */
void portal_analytics_routes(struct gh_router *r);      /* analytics.c: /api/am/devportal/v3/analytics */

#endif
