/*
 * The gateways (gatehouse-gw-internal, gatehouse-gw-external): one core,
 * two zone profiles (DESIGN.md "Components", "Request pipeline of a
 * gateway").  This header is the contract between the modules.
 *
 * Threads:
 *   - N workers (gateway.workers, 0: one per core), each with its own
 *     event_base, its own gh_http_server on the shared SO_REUSEPORT ports,
 *     its own upstream client, token cache and introspection cache.  A
 *     request lives on one worker from start to end.
 *   - One feed thread (feed.c) with its own event_base: snapshot, events
 *     long-poll, disk copy, JWKS fetches, backend-key registration.  It
 *     builds a new immutable struct gw_store for every change and
 *     publishes it (gw_store_publish); workers pick it up lock-free.
 *   - Internal zone only: a few LDAP threads for Basic binds (int_basic.c).
 *
 * Store lifetime (store.c): a store is immutable once published and
 * refcounted.  The hot path reads one atomic generation number; only when
 * it changed does a worker take the publish mutex to move to the new
 * store.  A request holds a reference from start to end (gw_store_ref /
 * gw_store_unref), so an update never changes what a request in flight
 * sees.
 *
 * Zones: files named int_*.c are linked only into gw-internal (it also
 * links libgh_ldap), ext_*.c only into gw-external (libmaxminddb);
 * everything else is common.  Neither links libgh_pg.
 */
#ifndef GW_H
#define GW_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <openssl/ssl.h>

#include "core/gh_http.h"
#include "core/gh_jose.h"
#include "core/gh_service.h"
#include "core/gh_settings.h"

struct event_base;
struct event;
struct json_object;

/* Phase results (nginx's NGX_OK/DECLINED/AGAIN/DONE/ERROR). */
enum gw_rc {
	GW_OK = 0,      /* phase done, go on */
	GW_DECLINED,    /* not mine (e.g. no credential of this kind), go on */
	GW_AGAIN,       /* waiting on I/O; the callback calls gw_pipeline_resume */
	GW_DONE,        /* a response was sent (or the request ended) */
	GW_ERROR,       /* answer 500 */
};

/* ---- zone profile (int_zone.c / ext_zone.c) ---- */

enum gw_zone_kind { GW_ZONE_INTERNAL, GW_ZONE_EXTERNAL };

struct gw_zone {
	enum gw_zone_kind kind;
	const char *name;               /* "gw-internal" / "gw-external": certificate role, section */
	const char *env_type;           /* "internal" / "external": environments it may serve */
	int allows_plain;               /* a plain-HTTP listener may be configured */
	int allows_basic;               /* Basic authentication against LDAP */
};

extern const struct gw_zone gw_zone;

/* ---- the store: what the feed says, compiled for the hot path (store.c) ---- */

enum gw_api_state {
	GW_API_CREATED, GW_API_PROTOTYPED, GW_API_PUBLISHED, GW_API_BLOCKED, GW_API_DEPRECATED,
	GW_API_RETIRED,
};

/* securityScheme bits */
#define GW_SEC_OAUTH2          0x1
#define GW_SEC_APIKEY          0x2
#define GW_SEC_BASIC           0x4

/* subscriptionAvailability */
enum gw_avail { GW_AVAIL_CURRENT_TENANT, GW_AVAIL_ALL_TENANTS, GW_AVAIL_SPECIFIC_TENANTS };

enum gw_sub_state { GW_SUB_UNBLOCKED, GW_SUB_BLOCKED, GW_SUB_PROD_ONLY_BLOCKED };

struct gw_endpoint {
	char *url;                      /* as given, e.g. http://10.0.0.5:8080/base */
	char *scheme, *host, *base_path;  /* base_path without a trailing '/' ("" for none) */
	int port;
	int tls;
};

/* One path segment of a resource template. */
struct gw_tmpl_seg {
	char *lit;                      /* literal text, or NULL for {param} */
	int param;                      /* 1: {name} matches one non-empty segment */
	char *pat;                      /* mixed segment such as "v{id}.json" (lit NULL, param 0) */
};

struct gw_operation {
	char *target;                   /* "/items/{id}", "/files/ *" (a wildcard), "/" */
	char *verb;                     /* "GET", ... */
	char *auth_type;                /* "Application & Application User", ..., "None" */
	int no_auth;                    /* auth_type "None": unauthenticated */
	char *throttling_policy;        /* resource-level (advanced) policy or NULL */
	char **scopes;                  /* NULL-terminated, may be empty */
	struct gw_tmpl_seg *segs;       /* compiled target */
	size_t nsegs;
	int wildcard;                   /* ends in a slash and a star: any rest */
};

struct gw_cors {
	int enabled;
	char **origins;                 /* NULL-terminated; "*" allowed */
	char **methods, **headers;
	int allow_credentials;
};

struct gw_api {
	char *id, *tenant, *name, *context, *version;  /* context: "/flow" or "/t/acme.com/flow" */
	char *vhost;
	char *revision_id;
	int is_default;
	enum gw_api_state state;
	unsigned security;              /* GW_SEC_* */
	int security_mandatory_apikey;  /* securityScheme lists api_key_mandatory etc. (informational) */
	char **tiers;                   /* policies: allowed subscription tiers */
	char *api_policy;               /* apiThrottlingPolicy (advanced) or NULL */
	enum gw_avail avail;
	char **avail_tenants;           /* SPECIFIC_TENANTS */
	struct gw_endpoint *prod, *sand;
	size_t nprod, nsand;
	struct gw_operation *ops;
	size_t nops;
	struct gw_cors cors;
	int geo_mode;                   /* 0 none, 1 allow, 2 deny */
	char **geo_countries;           /* ISO codes, upper case */
	int64_t max_body;               /* 0: the gateway's limit */
	int backend_jwt;
	char **scope_names;             /* the API's scopes ... */
	char ***scope_roles;            /* ... and the roles each binds (Basic callers) */
};

struct gw_sub {
	char *id, *api_id, *app_id, *tenant, *api_tenant, *tier;
	enum gw_sub_state state;
};

struct gw_app {
	char *id, *name, *tenant, *owner, *tier, *token_type;
};

/* An application key: OAuth client id → application and key type. */
struct gw_key {
	char *consumer_key, *app_id, *key_type;     /* key_type "PRODUCTION" / "SANDBOX" */
};

struct gw_policy {
	char *tenant, *name;            /* tenant "*": built-in */
	int kind;                       /* 0 subscription, 1 application, 2 advanced */
	int unlimited;
	int64_t count;                  /* requests per window */
	int64_t window_ms;              /* unitTime × timeUnit */
	int64_t burst_count;            /* rateLimitCount per burst_window_ms (0: none) */
	int64_t burst_window_ms;
	int stop_on_quota;
};

enum gw_deny_type { GW_DENY_API, GW_DENY_APPLICATION, GW_DENY_USER, GW_DENY_IP, GW_DENY_IPRANGE };

struct gw_deny {
	char *id, *tenant;
	enum gw_deny_type type;
	char *value;                    /* API "/context/version", APPLICATION "owner:name", USER name */
	unsigned char ip_lo[16], ip_hi[16];  /* IP (lo == hi) and IPRANGE, IPv4 mapped to ::ffff:0:0/96 */
	int invert;
};

struct gw_store_maps;                   /* hash indexes, private to store.c */

struct gw_store {
	int refs;                       /* atomic */
	uint64_t generation;
	int64_t event_id;               /* last feed event applied */
	char *env_name, *env_type;
	char *issuer, *jwks_url, *introspect_url;
	struct gw_api **apis;           /* routable: deployed to this environment, not RETIRED */
	size_t napis;
	struct gw_sub **subs;
	size_t nsubs;
	struct gw_app **apps;
	size_t napps;
	struct gw_key **keys;
	size_t nkeys;
	struct gw_policy **policies;
	size_t npolicies;
	struct gw_deny **denies;
	size_t ndenies;
	struct gw_store_maps *maps;
};

/* The current store with a reference taken (never NULL after start); any thread. */
struct gw_store *gw_store_acquire(void);
/* Take another reference / drop one (the last frees the store). */
void gw_store_ref(struct gw_store *s);
void gw_store_unref(struct gw_store *s);
/* Publish a new store (feed thread); the old one goes when its last reference does. */
void gw_store_publish(struct gw_store *s);
/* Generation of the newest published store (an atomic load; 0 before the first). */
uint64_t gw_store_generation(void);
/*
 * gw_store_publish takes over the caller's reference (gw_store_build's)
 * as the "current" one; gw_store_publish(NULL) drops the current store
 * (gw_feed_stop, at exit).
 */

/*
 * Build a store from the feed's model (the snapshot JSON as kept up to
 * date by gw_model_apply).  Returns NULL with why (static text) when the
 * model is unusable.
 */
struct gw_store *gw_store_build(struct json_object *model, const char **why);

/* Lookups (any thread holding a reference; results borrowed from s). */
const struct gw_api *gw_store_api(const struct gw_store *s, const char *api_id);
const struct gw_app *gw_store_app(const struct gw_store *s, const char *app_id);
const struct gw_key *gw_store_key(const struct gw_store *s, const char *consumer_key);
const struct gw_sub *gw_store_sub(const struct gw_store *s, const char *app_id, const char *api_id);
/* Policy by kind and name, the tenant's own first, then the built-in ('*'); NULL when none. */
const struct gw_policy *gw_store_policy(const struct gw_store *s, int kind, const char *tenant,
    const char *name);
/* 1 when the tenant is known and active. */
int gw_store_tenant_active(const struct gw_store *s, const char *tenant);
/* Revocations: 1 when jti is revoked; a client's not-before time (0: none). */
int gw_store_jti_revoked(const struct gw_store *s, const char *jti);
int64_t gw_store_client_not_before(const struct gw_store *s, const char *client_id);

/* ---- the feed's model (model.c): the snapshot JSON, events applied ---- */

/*
 * Apply one feed event (type, payload) to model (the snapshot object),
 * in place.  Unknown types are ignored.  Returns 1 when the JWKS should
 * be refetched (signing_key.rotated), 0 otherwise, -1 when the event is
 * malformed (the caller takes a fresh snapshot).
 */
int gw_model_apply(struct json_object *model, const char *type, struct json_object *payload);

/* ---- routing (route.c) ---- */

struct gw_match {
	const struct gw_api *api;
	const struct gw_operation *op;  /* NULL when the resource or method does not match */
	int method_allowed_elsewhere;   /* the path matched an operation of another verb (405) */
	char *rest;                     /* path after /context/version, normalised (malloc'd) */
};

/*
 * Normalise the request-target's path for routing and forwarding:
 * percent-decode unreserved characters, refuse (return -1 with a static
 * reason) encoded '/', '\', NUL, control bytes, "." and ".." segments in
 * any encoding, "//", ';' parameters and double encodings.  *out is
 * malloc'd on success.
 */
int gw_path_normalize(const char *path, char **out, const char **why);

/*
 * Route (host without port, normalised path, method): vhost, then the
 * longest context (tenant contexts included) followed by "/" + version
 * (or the default version when the path has none), then the resource
 * template and method.  0 with *m filled (gw_match_clear), or 404 when
 * no API, or 405 when only the method is wrong.
 */
int gw_route(const struct gw_store *s, const char *host, const char *path, const char *method,
    struct gw_match *m);
void gw_match_clear(struct gw_match *m);

/* ---- a request in the pipeline (pipeline.c) ---- */

struct gw_worker;
struct gw_req_log;

/* Who called, after authentication. */
struct gw_principal {
	int kind;                       /* 0 none, 1 JWT, 2 opaque, 3 API key, 4 Basic */
	char sub[256];                  /* user (or the client owner for client_credentials) */
	char tenant[256];               /* the caller's tenant */
	char client_id[128];
	char jti[128];
	char app_id[129];               /* application (not for Basic) */
	char key_type[16];              /* PRODUCTION / SANDBOX */
	char *scope;                    /* space-separated, malloc'd, "" when none */
	char **roles;                   /* Basic only: the user's LDAP roles (NULL-terminated) */
	int64_t exp;
	/* added by authn.c: */
	int64_t iat;                    /* issued at (0: unknown); checked against the client's not-before */
	char app_name[128], app_tier[64], app_owner[256], app_tenant[256];  /* the token's application claim */
	struct gw_app claim_app;        /* r->app when the store lacks the application (points into these) */
};

struct gw_req {
	struct gw_worker *w;
	struct gh_http_req *http;       /* NULL once the client went away */
	struct gw_store *store;         /* referenced for the request's life */
	int phase;                      /* index in the phase table */
	struct gw_match match;
	char *path;                     /* normalised path */
	struct gw_principal who;
	const struct gw_app *app;
	const struct gw_sub *sub;
	const struct gw_endpoint *ep;   /* chosen upstream */
	int status;                     /* response status, for the log */
	int upstream_status;            /* 0 when none */
	int64_t t_start_us, t_upstream_us, t_upstream_done_us;
	char country[3];                /* ISO code of the client (external zone, GeoIP) */
	char error_code[16];            /* WSO2 gateway error code of a refusal, for analytics */
	int throttled;
	int retries;
	void *phase_ctx;                /* the waiting phase's own data */
	char rl_limit[24], rl_remaining[24], rl_reset[24];  /* X-RateLimit-* to send (empty: none) */
	struct gw_req_log *log;         /* analytics.c: the request's facts kept past the response */
};

/*
 * Phases, in order (pipeline.c runs them; each file owns its phase):
 * route → cors → geo → authn → authz → throttle → proxy; the log step
 * (analytics) always runs at the end.
 */
enum gw_rc gw_phase_route(struct gw_req *r);      /* route.c: 404/405/400 */
enum gw_rc gw_phase_cors(struct gw_req *r);       /* cors.c: answers preflights, notes the origin */
enum gw_rc gw_phase_geo(struct gw_req *r);        /* geo.c: per-API allow/deny by country (external) */
enum gw_rc gw_phase_authn(struct gw_req *r);      /* authn.c (JWT, opaque, API key; Basic via zone) */
enum gw_rc gw_phase_authz(struct gw_req *r);      /* authz.c */
enum gw_rc gw_phase_throttle(struct gw_req *r);   /* throttle.c */
enum gw_rc gw_phase_proxy(struct gw_req *r);      /* proxy.c (responds itself) */

/* Re-enter the pipeline after a phase returned GW_AGAIN (worker thread). */
void gw_pipeline_resume(struct gw_req *r, enum gw_rc rc);

/* The gh_http handler of the public listeners (arg: the struct gw_worker). */
void gw_pipeline_start(struct gh_http_req *req, void *arg);
/* The head hook: the body limit of the API the request routes to. */
void gw_pipeline_head(struct gh_http_req *req, void *arg);

/*
 * Send a response on r (copies body) with the X-RateLimit-* headers the
 * throttle phase left; sets r->status and detaches r->http.  Nothing is
 * sent when the client already went away.  Response headers added before
 * with gh_http_resp_header(r->http, ...) go with it.
 */
void gw_respond(struct gw_req *r, int status, const char *ctype, const void *body, size_t len);

/* Add the X-RateLimit-* headers the throttle phase left for r's response to req (none when unset). */
void gw_rate_limit_headers(const struct gw_req *r, struct gh_http_req *req);

/*
 * Answer r with a WSO2-style gateway error: status, code (e.g. 900901),
 * message and description ({"code","message","description"}); a 401
 * gets `WWW-Authenticate: Bearer realm="gatehouse"` unless the phase
 * added its own before.  Sets r->status and r->error_code.  Returns
 * GW_DONE.
 */
enum gw_rc gw_reply_error(struct gw_req *r, int status, long code, const char *message,
    const char *description);

/* ---- authentication helpers (authn.c, jwt.c, introspect.c) ---- */

/*
 * Zone hook for Basic (int_basic.c; the external zone has none and
 * answers GW_DECLINED): verify user:password against LDAP (cached briefly
 * as a salted hash), fill r->who (kind 4, sub, tenant, roles).  May
 * return GW_AGAIN.
 */
enum gw_rc gw_zone_basic(struct gw_req *r, const char *authorization);

/* Zone hook for GeoIP (ext_geo.c; internal: returns 0 and leaves cc ""). */
int gw_zone_country(const char *ip, char cc[3]);

/* Zone start-up (after the config is read): 0, or -1 after printing why. */
int gw_zone_init(const struct gh_settings *cfg);
/* SIGHUP: reopen what the zone reads from disk (GeoIP database). */
void gw_zone_reload(void);
/* Shutdown: stop the zone's threads, close its files. */
void gw_zone_shutdown(void);

/* ---- workers (worker.c) ---- */

struct gw_token_cache;
struct gw_introspect_cache;

struct gw_worker {
	int id;
	pthread_t thread;
	struct event_base *base;
	struct gh_http_server *https, *http;  /* http: internal zone's plain listener or NULL */
	struct gw_store *store;         /* this worker's reference to the current store */
	uint64_t store_gen;
	struct gh_httpc *upstream;      /* backends (proxy.c) */
	struct gh_httpc *km;            /* key manager's internal port, gateway certificate (authn) */
	struct gw_token_cache *tokens;  /* verified JWTs (jwt.c) */
	struct gw_introspect_cache *opaque;  /* introspected opaque tokens (introspect.c) */
	void *proxy_ctx, *authn_ctx, *analytics_ctx, *throttle_ctx;  /* modules' own per-worker state */
	struct event *tick;             /* 100 ms: store pick-up, housekeeping */
	int pending_shutdowns;          /* listeners still draining at stop */
};

/* The worker's current store, moved to the newest published one when it changed (no lock when not). */
struct gw_store *gw_worker_store(struct gw_worker *w);

/*
 * Module start-up (main thread, before the workers start; 0 or -1 after
 * printing why) and per-worker set-up and teardown (on the worker thread).
 */
int gw_authn_init(void);
int gw_authn_worker_init(struct gw_worker *w);
void gw_authn_worker_free(struct gw_worker *w);
int gw_proxy_init(void);
/* Load balancers whose X-Forwarded-For chain is passed on upstream (SIGHUP; list kept for good). */
void gw_proxy_set_trusted(const char *list);
int gw_proxy_worker_init(struct gw_worker *w);
void gw_proxy_worker_free(struct gw_worker *w);
int gw_throttle_init(void);
int gw_analytics_init(void);
/* The worker's analytics buffer and spool file (main thread, after its event_base is made).  0 or -1 (logged). */
int gw_analytics_worker_init(struct gw_worker *w);
/*
 * Write the worker's buffered analytics events to its spool file (the
 * HTTP server's before_send hook: before any bytes go to a client).
 */
void gw_analytics_worker_flush(struct gw_worker *w);
void gw_analytics_worker_free(struct gw_worker *w);
void gw_analytics_shutdown(void);       /* flush and fsync the spool */
/* This node's backend-JWT key: load it from node.data_dir or make one (backend_jwt.c). */
int gw_backend_jwt_init(void);

/* ---- the process (main.c) ---- */

struct gw_metrics {
	uint64_t requests, responses_2xx, responses_4xx, responses_5xx, auth_failures,
	    throttled, upstream_errors, feed_events, feed_snapshots, feed_errors,
	    jwks_fetches, spool_events;
	struct gh_hist latency;         /* request to the end of its response (pipeline.c) */
	uint64_t spool_depth;           /* spool bytes not yet acknowledged by the traffic manager */
	uint64_t analytics_shipped, analytics_rejected, ship_errors;  /* ship.c: events */
	uint64_t tm_syncs, tm_sync_errors;      /* tmsync.c */
	uint64_t throttle_local_share;          /* gauge: 1 while enforcing this node's share */
	uint64_t throttle_sync_lag_ms;          /* gauge: time since the last answered sync */
};

struct gw {
	struct gh_settings *cfg;
	const char *env;                /* gateway environment name (settings) */
	char node[64];                  /* node.name */
	SSL_CTX *tls_public;            /* public listener (NULL: plain only) */
	SSL_CTX *tls_internal;          /* client: feed, key manager (gateway certificate) */
	SSL_CTX *tls_upstream;          /* client: https backends (system CAs + node CA) */
	int nworkers;
	struct gw_worker **workers;
	struct gh_jwks *jwks;           /* guarded by jwks_lock; replaced by the feed thread */
	pthread_rwlock_t jwks_lock;
	struct gh_jwk *backend_key;     /* this node's backend-JWT key (EC P-256) */
	char backend_kid[64];
	struct gw_metrics metrics;      /* __atomic_add_fetch */
	int ready;                      /* a store is published */
	int64_t feed_lag_ms;            /* time since the feed last answered */
};

extern struct gw gw;

#define GW_COUNT(field) __atomic_add_fetch(&gw.metrics.field, 1, __ATOMIC_RELAXED)

/* Setting of this binary's section ("gw-internal." / "gw-external." + name). */
const char *gw_setting_str(const char *name);
int64_t gw_setting_int(const char *name);
/*
 * cluster.trafficmanager_url, or NULL when this node has no traffic
 * manager ("none", or '' written literally: the settings take no empty
 * value): then it counts alone and keeps its analytics spool.
 */
const char *gw_tm_url(void);

/* ---- feed thread (feed.c) ---- */

/* Start the feed thread: load the disk snapshot or fetch one; 0 when a store is published. */
int gw_feed_start(void);
void gw_feed_stop(void);
/* Ask the feed thread to refetch the JWKS (at most once per 10 s); any thread. */
void gw_feed_jwks_refresh(void);

/* ---- the traffic manager's clients (cluster.trafficmanager_url; PROTOCOL.md there) ---- */

/*
 * Throttle sync (tmsync.c): a thread that sends this node's counter
 * deltas every sync_interval and takes back the cluster-wide counts that
 * throttle.c admits against; without the traffic manager, each node's
 * share.  Start after gw_throttle_init; 0, or -1 after printing why.
 */
int gw_tmsync_start(void);
void gw_tmsync_stop(void);
/*
 * Analytics shipper (ship.c): a thread that sends the spool to the
 * traffic manager in batches and deletes what was acknowledged.  Start
 * after gw_analytics_init; stop after the workers (a last ship, bounded).
 */
int gw_ship_start(void);
void gw_ship_stop(void);

/* ---- analytics (analytics.c) ---- */

/* Append r's analytics event to the local spool and write its access-log line (worker). */
void gw_analytics_log(struct gw_req *r);
/*
 * Keep what the analytics event and the access log need from r->http
 * (request id, client address, user agent, method, path), which is gone
 * once the response is sent.  Call at the start of the pipeline; calling
 * it again does nothing.  gw_analytics_log frees it.
 */
void gw_analytics_begin(struct gw_req *r);

#endif
