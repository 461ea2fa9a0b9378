/*
 * gatehouse-keymanager: the OAuth2 authorization server and the user
 * store service.  This header is the contract between its modules.
 *
 * Threading model: the libevent loop (main thread) only does HTTP I/O.
 * Every request that needs the database, LDAP or a signature becomes a
 * struct gh_call, copied out of the HTTP request, and runs on a worker
 * thread of the pg pool (km_call_dispatch) with a pooled PostgreSQL
 * connection and the thread's own LDAP connection (km_ldap()).  The worker
 * fills the reply; the loop sends it.  Workers never touch the
 * gh_http_req.
 */
#ifndef KM_H
#define KM_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include "core/gh_http.h"
#include "core/gh_jose.h"
#include "core/gh_pki.h"
#include "core/gh_router.h"
#include "core/gh_service.h"
#include "core/gh_settings.h"
#include "ldap/gh_ldap.h"
#include "pg/gh_call.h"
#include "pg/gh_pg.h"

struct json_object;
struct event_base;

#define KM_AUD_GATEWAY    "gatehouse-gateway"
#define KM_AUD_MANAGEMENT "gatehouse-management"

/* ---- process-wide state (main.c) ---- */

struct km_metrics {
	uint64_t requests, tokens_issued, token_errors, introspections, revocations,
	    logins, login_failures, lockouts, clients_created;
	struct gh_hist latency;         /* request to reply (pg/gh_call.h) */
};

struct km_keys;

struct km {
	struct event_base *base;
	struct gh_settings *cfg;
	char *conninfo;                 /* libpq conninfo (holds the db password) */
	struct gh_pg_pool *pool;
	struct gh_ldap_config ldap_cfg; /* strings borrowed from cfg */
	const char *issuer;             /* keymanager.public_url */
	enum gh_jose_alg token_alg;     /* keys.token_alg */
	unsigned char kek[GH_SECRETBOX_KEYLEN];
	struct km_keys *keys;
	int64_t access_ttl, refresh_ttl, code_ttl;   /* seconds */
	int lock_failures;
	int64_t lock_window, lock_duration;          /* seconds */
	struct km_metrics metrics;      /* updated with __atomic_add_fetch */
};

extern struct km km;

#define KM_COUNT(field) __atomic_add_fetch(&km.metrics.field, 1, __ATOMIC_RELAXED)

/* ---- calls: requests run on workers (pg/gh_call.h; call.c) ---- */

/* Worker hook: refresh the signing keys before each call. */
void km_call_before(struct gh_pg *db);

/* The worker thread's LDAP connection (made on first use, reused). NULL if LDAP is down. */
struct gh_ldap *km_ldap(void);

/* ---- signing keys (keys.c) ---- */

/* Load the active and retired-but-published keys from the database, decrypting with km.kek.  0 ok. */
int km_keys_load(struct gh_pg *db);
/* Reload when older than max_age_ms (cheap when fresh); thread-safe. */
void km_keys_refresh(struct gh_pg *db, int64_t max_age_ms);
/*
 * How old the key table may be when a token is signed: a rotation made on
 * another node signs here within this time (the previous key stays
 * published far longer).  Workers refresh before every call; the loop's
 * fast path declines while the table is older (km_keys_fresh).
 */
#define KM_KEYS_SIGN_MAX_AGE_MS 10000
/* 1 when the table was loaded less than max_age_ms ago (no database; the loop may call it). */
int km_keys_fresh(int64_t max_age_ms);
/* Sign claims with the current key of alg (token_alg when GH_JOSE_ALG_UNKNOWN).  malloc'd JWT or NULL. */
char *km_keys_sign(struct json_object *claims, enum gh_jose_alg alg);
/* The same for claims already serialized (payload[0..len), a JSON object). */
char *km_keys_sign_text(const char *payload, size_t len, enum gh_jose_alg alg);
/* Verify a JWT issued by us; fills out (gh_jws_clear it).  GH_JOSE_OK or the error. */
enum gh_jose_err km_keys_verify(const char *token, size_t len, struct gh_jws *out);
/* Free the loaded keys (shutdown). */
void km_keys_free(void);
/* The public JWKS as JSON text (malloc'd). */
char *km_keys_jwks_json(void);
/*
 * Rotate: a new key of alg signs from now on; the previous one is kept
 * published until max_token_ttl seconds after the rotation (its last
 * token's expiry), then retired.  Writes a signing-key event.  0 ok.
 */
int km_keys_rotate(struct gh_pg *db, enum gh_jose_alg alg, int64_t max_token_ttl);

/* ---- clients (client.c) ---- */

struct km_client {
	char *client_id, *secret_hash, *tenant, *owner, *name, *callback_url, *audience,
	    *token_type, *token_scope, *app_id, *app_name, *app_tier, *app_owner, *key_type;
	char **grant_types;             /* NULL-terminated */
	int saas;
	int64_t not_before;             /* unix seconds: tokens issued before are revoked */
	int64_t validity;               /* seconds, 0: default */
};

/* Load a client by id; 0 found, 1 absent, -1 db error. */
int km_client_get(struct gh_pg *db, const char *client_id, struct km_client *out);
void km_client_clear(struct km_client *c);
/* The same through a per-process cache of 2 s (the token path); same returns. */
int km_client_get_cached(struct gh_pg *db, const char *client_id, struct km_client *out);
/* Drop a client from this process's cache: call after changing or deleting it. */
void km_client_invalidate(const char *client_id);
void km_client_cache_free(void);
int km_client_allows_grant(const struct km_client *c, const char *grant);
/* A new random client id (base64url, 20 bytes) and secret (32 bytes); both malloc'd. */
void km_client_new_credentials(char **client_id, char **secret);
/* SHA-256 hex of a secret into out[65]. */
void km_secret_hash(const char *secret, char out[65]);

/*
 * Authenticate the calling client of a token/introspect/revoke request:
 * Basic or client_id/client_secret in the form (not both), secret compared
 * in constant time against the stored hash, lock-outs per client and per
 * real address.  On success 0 and *out filled.  On failure it has already
 * replied (401 invalid_client) and returns -1.
 */
struct gh_form;
int km_client_authenticate(struct gh_call *c, struct gh_pg *db, const struct gh_form *form,
    struct km_client *out);

/*
 * The same decided without the database, for the loop's fast path: 0 when
 * Basic credentials match a fresh cached client that no fresh lock holds
 * (*out filled); 1 when the database is needed (a miss, a stale copy, a
 * failure to count).  Never replies.
 */
int km_client_authenticate_cached(struct gh_call *c, const struct gh_form *form, struct km_client *out);

/* ---- lock-outs (lockout.c), counters in PostgreSQL ---- */

enum km_lock_kind { KM_LOCK_CLIENT, KM_LOCK_USER, KM_LOCK_ADDR };
/*
 * 1 when key of kind is locked out, 0 not.  From this process's copy of
 * the locks in force (re-read every 250 ms; locks taken here count at once).
 */
int km_lock_check(struct gh_pg *db, enum km_lock_kind kind, const char *key);
/* From the copy only: 1 locked, 0 not, -1 the copy is stale (ask with km_lock_check). */
int km_lock_check_cached(enum km_lock_kind kind, const char *key);
/* The same asked of the database now: 1, 0, or -1 on a db error. */
int km_lock_check_fresh(struct gh_pg *db, enum km_lock_kind kind, const char *key);
/* Free the copy (shutdown). */
void km_lock_free(void);
/* Count a failure; returns 1 when this failure locked it out. */
int km_lock_fail(struct gh_pg *db, enum km_lock_kind kind, const char *key);
/* Reset after a success. */
void km_lock_reset(struct gh_pg *db, enum km_lock_kind kind, const char *key);

/* ---- audit (audit.c) ---- */

/* One audit row: who (may be NULL), tenant, action, target, outcome ("success"/"failure"), details (borrowed, may be NULL). */
void km_audit(struct gh_pg *db, const struct gh_call *c, const char *actor, const char *tenant,
    const char *action, const char *target, const char *outcome, struct json_object *details);

/* ---- users and tenants (user.c) ---- */

/*
 * Split a WSO2-style user name into user and tenant (DESIGN.md): the part
 * after the last '@' when it is a known active tenant domain, otherwise
 * the whole name in carbon.super.  *user and *tenant are malloc'd.  0 ok, -1 db error.
 */
int km_user_split(struct gh_pg *db, const char *name, char **user, char **tenant);
/*
 * Check a user's password against LDAP with the user-name and address
 * lock-outs.  0 ok; 1 bad credentials (counted), 2 locked out, -1 error.
 */
int km_user_login(struct gh_call *c, struct gh_pg *db, const char *tenant, const char *user,
    const char *password);
/*
 * The user-name lock-out key of user in tenant into key (len bytes):
 * "tenant/user" with the user name lower-cased, as LDAP compares uids.
 * -1 when the name holds a space or a byte outside printable ASCII
 * (LDAP would match it to another spelling: such names never sign in).
 */
int km_user_lock_key(const char *tenant, const char *user, char *key, size_t len);
/* Roles of a user (LDAP groups of the tenant); NULL-terminated, free with gh_ldap_strv_free. */
char **km_user_roles(const char *tenant, const char *user);

/* ---- tokens (mint.c) ---- */

struct km_grant {
	const struct km_client *client;
	const char *subject;            /* user name as the client knows it (alice@acme.com) */
	const char *tenant;             /* tenant of the subject (the client's for client_credentials) */
	const char *scope;              /* granted scopes, space-separated ("default" when none) */
	const char *family_id;          /* user grants: the refresh family; NULL for client_credentials */
	int with_refresh;               /* issue a refresh token (in family_id) */
	int64_t ttl;                    /* access token lifetime, 0: default */
};

/*
 * Issue an access token for g (JWT or opaque per the client; audience by
 * the client), and a refresh token when asked; reply the RFC 6749 §5.1
 * JSON.  Writes only what needs writing (family tokens, opaque tokens,
 * refresh tokens), inside the caller's transaction if one is open.
 * 0 ok (replied), -1 error (replied).
 */
int km_mint_reply(struct gh_call *c, struct gh_pg *db, const struct km_grant *g);

/*
 * Scopes to grant: of the requested space-separated scopes, those the
 * subject's roles allow (management scopes by gh_scope_bindings, API scopes
 * by gh_api_scopes; "openid" always).  Returns malloc'd "default" when
 * nothing is requested or allowed.
 */
char *km_scopes_grant(struct gh_pg *db, const char *tenant, const char *const *roles,
    const char *requested);

/* ---- token validation (validate.c), for introspection and revocation ---- */

struct km_token_info {
	int active;
	struct json_object *claims;     /* owned; NULL when inactive */
	char *jti, *client_id, *tenant, *family_id;
	int64_t exp;
	int is_refresh;
};
/*
 * Validate an access or refresh token: signature or lookup, expiry,
 * revocations, the client's not-before.  Returns 0 with out->active the
 * verdict (out filled only when active), or -1 on a database error.
 */
int km_token_inspect(struct gh_pg *db, const char *token, const char *hint, struct km_token_info *out);
void km_token_info_clear(struct km_token_info *t);

/* ---- revocation (revocation.c), inside the caller's transaction ---- */

/*
 * An event for the gateways, in the caller's transaction: payload (a
 * json-c object, always put) serialized into gh_outbox_append.  0 or -1.
 */
int km_event(struct gh_pg *db, const char *tenant, const char *type, struct json_object *payload);
/*
 * Revoke one token by jti with its event of type ("token.revoked",
 * "apikey.revoked"); client_id may be NULL.  1 newly revoked, 0 already, -1 error.
 */
int km_revoke_jti(struct gh_pg *db, const char *type, const char *jti, const char *client_id,
    const char *tenant, int64_t exp);
/*
 * Revoke a refresh family: its refresh tokens (*nrefresh) and its unexpired
 * access tokens, each with an event.  Returns the access tokens newly revoked, or -1.
 */
int km_revoke_family(struct gh_pg *db, const char *family_id, const char *tenant, int64_t *nrefresh);

/* ---- route tables of each module ---- */
void km_oauth_routes(struct gh_router *pub);          /* token.c, authorize.c */
void km_endpoint_routes(struct gh_router *pub);       /* introspect.c: introspect, revoke */
void km_discovery_routes(struct gh_router *pub);      /* discovery.c: jwks, well-known (via km_endpoint_routes) */
void km_dcr_routes(struct gh_router *pub);            /* dcr.c */
void km_internal_routes(struct gh_router *internal);  /* internal_*.c: clients, tokens, apikeys, users */
void km_internal_introspect_routes(struct gh_router *internal); /* introspect.c: gateways' introspection */
void km_mgmt_routes(struct gh_router *mgmt);          /* mgmt.c */

#endif
