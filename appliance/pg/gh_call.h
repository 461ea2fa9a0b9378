/*
 * A control-plane request moved to a worker thread.  The libevent loop of
 * a service (key manager, publisher, portal) only does HTTP I/O: a route
 * registered with gh_call_route copies what the worker may read out of
 * the gh_http_req into a struct gh_call and queues it on the service's pg
 * pool; a worker runs the route's gh_work_fn with a pooled connection and
 * leaves a reply in the call (gh_reply_*); the loop sends it, unless the
 * client went away.  Workers never touch the gh_http_req.
 *
 * One service per process: gh_call_init names its pool and hooks once at
 * start-up, before the first route runs.
 */
#ifndef GH_CALL_H
#define GH_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "core/gh_http.h"
#include "core/gh_router.h"
#include "core/gh_tls.h"
#include "pg/gh_pg.h"

struct json_object;

struct gh_call;
struct gh_hist;

/*
 * Work of a request on a worker thread.  db is a pooled connection (no
 * transaction open: use gh_pg_run_tx or gh_pg_tx_begin/commit for
 * writes).  The function must leave a reply in c; returning without one
 * answers 500.
 */
typedef void (*gh_work_fn)(struct gh_call *c, struct gh_pg *db);

/*
 * A fast path tried on the loop before a worker: returns 1 when it
 * replied (no database, no LDAP, a cheap signature at most), 0 to hand
 * the call to the worker's fn unchanged.
 */
typedef int (*gh_fast_fn)(struct gh_call *c);

struct gh_call {
	/* copied from the request; read-only for the worker */
	char *method, *path, *query;
	struct gh_http_header *headers;
	size_t nheaders;
	char *body;                     /* NUL-terminated, may be NULL */
	size_t body_len;
	char request_id[65];
	char client_addr[64];           /* real client (X-Forwarded-For from trusted proxies only) */
	int has_peer_id;                /* mutual TLS identity of the caller */
	struct gh_peer_id peer_id;
	size_t nparams;                 /* route parameters */
	char *param_names[GH_ROUTE_MAX_PARAMS], *param_values[GH_ROUTE_MAX_PARAMS];
	gh_work_fn fn;
	int64_t t_start_us;             /* gh_mono_us() when the call started */
	void *ctx;                      /* the service's per-call data (gh_call_svc.ctx_free) */
	/* the reply, filled by the worker */
	int status;
	char *ctype;
	char *rbody;
	size_t rbody_len;
	struct gh_http_header rheaders[12];
	size_t nrheaders;
	/* loop side */
	struct gh_http_req *req;        /* NULL once the client went away */
};

struct gh_call_svc {
	const char *name;               /* "gatehouse-publisher": messages */
	struct gh_pg_pool *pool;        /* borrowed; workers run the calls */
	void (*before)(struct gh_pg *db);  /* on the worker before each fn, or NULL */
	void (*ctx_free)(void *ctx);    /* frees gh_call.ctx, or NULL */
	uint64_t *requests;             /* counted atomically, or NULL */
	struct gh_hist *latency;        /* time from the request to its reply, or NULL */
};

/* Set the process's service (copied).  Call once, before serving. */
void gh_call_init(const struct gh_call_svc *svc);

/* Router adaptor: a route whose arg is a gh_work_fn runs it on a worker. */
void gh_call_route_worker(struct gh_http_req *req, const struct gh_route_match *m, void *fn);

/* Register method+pattern on r to run fn on a worker.  Aborts on a bad pattern (start-up). */
void gh_call_route(struct gh_router *r, const char *method, const char *pattern, gh_work_fn fn);

/* The same with a fast path tried on the loop first (at most 16 per process). */
void gh_call_route_fast(struct gh_router *r, const char *method, const char *pattern,
    gh_fast_fn fast, gh_work_fn fn);

/* Request accessors (any thread that owns c). */
const char *gh_call_header(const struct gh_call *c, const char *name);
const char *gh_call_param(const struct gh_call *c, const char *name);
/* 1 when the request's media type is want (parameters such as charset allowed). */
int gh_call_ctype_is(const struct gh_call *c, const char *want);
/* Query parameter name (percent-decoded, malloc'd; caller frees), NULL when absent. */
char *gh_call_query(const struct gh_call *c, const char *name);

/* Replies (worker side).  Each replaces any previous reply of c. */
void gh_reply_raw(struct gh_call *c, int status, const char *ctype, const char *body, size_t len);
void gh_reply_json(struct gh_call *c, int status, struct json_object *body);   /* borrowed */
/* {"code","message","description"} as every Gatehouse REST error */
void gh_reply_error(struct gh_call *c, int status, const char *message, const char *description);
/* RFC 6749 §5.2 {"error","error_description"}; 401 invalid_client adds WWW-Authenticate */
void gh_reply_oauth_error(struct gh_call *c, int status, const char *error, const char *description);
void gh_reply_header(struct gh_call *c, const char *name, const char *value);  /* copied */

/* ---- request bodies (call_body.c) ---- */

/*
 * The body of c as one strict JSON object (core/gh_json.h): the
 * Content-Type must be application/json (parameters allowed), else it
 * replies ctype_status (415 Unsupported Media Type, or 400 Bad Request);
 * a body that is not one JSON object replies 400 with the parser's reason.
 * Returns a new reference (caller puts it), or NULL after replying.
 */
struct json_object *gh_call_body(struct gh_call *c, int ctype_status);

/*
 * Member key of o when of JSON type type (an enum json_type).  Returns 0
 * with *out borrowed from o, 1 when absent or null (*out NULL), -1 when of
 * another type (*out NULL).  Replies nothing.
 */
int gh_body_member(struct json_object *o, const char *key, int type, struct json_object **out);

/*
 * Member key of o as a string: 0 with *out borrowed from o, 1 when absent
 * or null (*out NULL), -1 when of another type or holding a NUL byte.
 */
int gh_body_str(struct json_object *o, const char *key, const char **out);

/* gh_body_text_ok flags */
#define GH_BODY_EMPTY_OK  1             /* NULL or "" is fine */
#define GH_BODY_MULTILINE 2             /* \t \n \r are fine */

/*
 * 1 when s is 1..max bytes of valid UTF-8 without control characters
 * (flags: GH_BODY_EMPTY_OK also takes NULL and "", GH_BODY_MULTILINE also
 * takes tab, newline and carriage return), else 0.
 */
int gh_body_text_ok(const char *s, size_t max, int flags);

/* 1 when s is 1..max bytes of ASCII letters, digits and the characters of extra. */
int gh_body_chars_ok(const char *s, size_t max, const char *extra);

/* 1 when s is 1..max bytes of [A-Za-z0-9 _.-] (names of applications, clients, tiers, roles). */
int gh_body_name_ok(const char *s, size_t max);

/* 1 when s is 1..128 bytes of [A-Za-z0-9_.:-] (ids of applications and keys). */
int gh_body_id_ok(const char *s);

/* ---- management callers (call_auth.c) ---- */

struct gh_mauth;
struct gh_principal;

/*
 * Authenticate c's Bearer token with m (core/gh_mauth.h), refuse it when
 * revoked (its jti, or its client deleted or revoked after it was issued)
 * or its tenant is not active, and require scope (NULL: any scope).  0 with *out filled (release with
 * gh_principal_clear); on failure it has replied (401 token, 403 scope,
 * 503 keys or database unavailable) and returns -1.
 */
int gh_call_auth(struct gh_call *c, struct gh_pg *db, struct gh_mauth *m, const char *scope,
    struct gh_principal *out);

/*
 * One gh_audit row: who (actor, tenant) did action to target, from c's
 * real client address, with outcome ("success" when NULL) and details (a
 * JSON object, borrowed; NULL: {}).  Runs on db as is, so inside the
 * caller's transaction the row commits with the change.  A row that cannot
 * be written is logged, never silently dropped.
 */
void gh_call_audit(struct gh_pg *db, const struct gh_call *c, const char *component, const char *actor,
    const char *tenant, const char *action, const char *target, const char *outcome,
    struct json_object *details);

#endif
