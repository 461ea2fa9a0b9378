/*
 * Internals of authentication and authorization (authn.c, jwt.c,
 * introspect.c, authz.c, authfail.c, int_basic.c): token verification,
 * the per-worker caches of verified credentials, the failed-authentication
 * limiter, the refusals every scheme shares, and the completion queue on
 * which other threads (the LDAP binds) hand results back to a worker.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/gw.h"

struct json_object;

#define GW_AUD_GATEWAY       "gatehouse-gateway"
#define GW_TOKEN_MAX         8192     /* longer credentials are refused before any decoding */
#define GW_JWT_LEEWAY        60       /* seconds of clock skew for exp, nbf, iat */
#define GW_REALM             "gatehouse"

/* ---- verification (jwt.c) ---- */

enum gw_verdict {
	GW_TOK_OK = 0,
	GW_TOK_INVALID,                 /* refuse (why says what) */
	GW_TOK_UNKNOWN_KID,             /* refuse, and ask the feed for the JWKS again */
};

/* 1 when tok (len bytes) has the shape of a JWS: three non-empty parts split by two dots. */
int gw_jwt_shaped(const char *tok, size_t len);

/*
 * Verify a compact JWT (an access token or an API key) of len bytes
 * against jwks (the caller holds gw.jwks_lock for reading): size, then
 * the signature with the key's fixed algorithm (jku, x5u, jwk and x5c
 * headers are never looked at), then exp (required), nbf and iat with
 * GW_JWT_LEEWAY, iss == issuer, aud containing gatehouse-gateway, a jti.
 * now is Unix seconds (0: time()).  On GW_TOK_OK *p is reset and filled
 * (kind 1, or 3 when the token's token_type is "apiKey"; p->scope is
 * malloc'd, freed by the pipeline); otherwise *p is left reset and *why
 * holds a static reason.
 */
enum gw_verdict gw_jwt_verify(const char *tok, size_t len, const struct gh_jwks *jwks,
    const char *issuer, int64_t now, struct gw_principal *p, const char **why);

/*
 * gw_jwt_verify with the SHA-256 of the token's signing input (up to its
 * second '.') already computed (gw_token_cache_digest_jws), or NULL.
 */
enum gw_verdict gw_jwt_verify_md(const char *tok, size_t len, const unsigned char *input_md,
    const struct gh_jwks *jwks, const char *issuer, int64_t now, struct gw_principal *p,
    const char **why);

/*
 * Fill *p (reset first) from verified claims or an introspection answer:
 * sub, tenant, client_id (or azp), jti (required), scope, iat, exp, the
 * application object and keytype.  Text too long for its field is
 * refused.  Returns 0, or -1 with *why.
 */
int gw_principal_from_claims(struct json_object *claims, int kind, struct gw_principal *p,
    const char **why);

/*
 * What may change after a token was verified, checked on every use:
 * its jti not revoked, its iat not before its client's not-before time.
 * Returns 0 when the token may be used, -1 with *why otherwise.
 */
int gw_principal_live(const struct gw_store *s, const struct gw_principal *p, const char **why);

/* Free what *p holds (scope, roles) and zero it. */
void gw_principal_reset(struct gw_principal *p);

/* ---- the per-worker caches of verified credentials (jwt.c) ---- */

struct gw_token_cache;

/*
 * A cache of at most max entries (0: caches nothing), keyed by bytes
 * (the exact token): an entry holds the SHA-256 of the key, never the
 * key, and the summary in a fixed-size slot (about 740 bytes; a longer
 * summary and tail take one allocation).  The oldest entry goes first when full.
 * One thread only.  NULL on ENOMEM.
 */
struct gw_token_cache *gw_token_cache_new(size_t max);
void gw_token_cache_free(struct gw_token_cache *c);

/*
 * Look key up.  Returns 1 and fills *out (reset first; scope malloc'd)
 * for a live positive entry, -1 for a live negative entry (a token known
 * to be inactive), 0 for none; an entry past its time is dropped.
 * now_ms: Unix milliseconds.
 */
int gw_token_cache_get(struct gw_token_cache *c, const void *key, size_t klen, int64_t now_ms,
    struct gw_principal *out);

/* Store key → p (NULL: negative) until until_ms, replacing an entry of the same key. */
void gw_token_cache_put(struct gw_token_cache *c, const void *key, size_t klen, int64_t until_ms,
    const struct gw_principal *p);

/*
 * The same two calls for a caller that looks a key up and may store it
 * right after: gw_token_cache_digest puts the key's SHA-256 in d (0, or
 * -1 when the cache is NULL, caches nothing or hashing failed), and the
 * _d variants take d instead of the key, so the key is hashed once.
 */
int gw_token_cache_digest(struct gw_token_cache *c, const void *key, size_t klen,
    unsigned char d[32]);

/*
 * The cache key of a JWS-shaped token, hashed once: when it has two dots,
 * d is the SHA-256 of its signing input tok[0..*key_len) (the bytes
 * before the second '.', as gw_jwt_verify_md takes it) and the rest,
 * tok[*key_len..len) (from that '.'), is the tail that the _dt calls
 * store and compare exactly; returns 1.  With fewer dots d is
 * gw_token_cache_digest of the whole token (*key_len = len, no tail);
 * returns 0.  -1 as gw_token_cache_digest.
 */
int gw_token_cache_digest_jws(struct gw_token_cache *c, const char *tok, size_t len,
    unsigned char d[32], size_t *key_len);
int gw_token_cache_get_d(struct gw_token_cache *c, const unsigned char d[32], int64_t now_ms,
    struct gw_principal *out);
void gw_token_cache_put_d(struct gw_token_cache *c, const unsigned char d[32], int64_t until_ms,
    const struct gw_principal *p);

/*
 * The _d calls for a key that is a digest plus a tail of tail_len bytes
 * (0: none, as the _d calls), kept in the entry and compared byte for
 * byte: an entry matches only the same digest and the same tail.
 */
int gw_token_cache_get_dt(struct gw_token_cache *c, const unsigned char d[32], const char *tail,
    size_t tail_len, int64_t now_ms, struct gw_principal *out);
void gw_token_cache_put_dt(struct gw_token_cache *c, const unsigned char d[32], const char *tail,
    size_t tail_len, int64_t until_ms, const struct gw_principal *p);

/* Entries held. */
size_t gw_token_cache_count(const struct gw_token_cache *c);

/* ---- the failed-authentication limiter (authfail.c) ---- */

/* Set the limit (failures per sliding minute per client address) and clear the table. */
void gw_authfail_init(int64_t per_min);

/*
 * 1 when addr (a numeric IPv4 or IPv6 address; IPv6 counted per /64) is
 * over the limit at now_ms, with *retry_after set to seconds (≥ 1);
 * 0 otherwise.  Lock-free (atomic loads); any thread.
 */
int gw_authfail_blocked(const char *addr, int64_t now_ms, int *retry_after);

/* Count one failed authentication of addr at now_ms (takes a stripe's mutex); any thread. */
void gw_authfail_note(const char *addr, int64_t now_ms);

/* ---- shared by the schemes (authn.c) ---- */

/* Unix time in milliseconds (CLOCK_REALTIME). */
int64_t gw_auth_now_ms(void);

/*
 * Refuse r with 401 900901 "Invalid Credentials" and a WWW-Authenticate
 * challenge naming the error (Basic: a Basic challenge); counts the
 * failure for the client address.  Returns GW_DONE.  r->http may be NULL.
 */
enum gw_rc gw_authn_refuse(struct gw_req *r, int basic, const char *why);

/*
 * 429 900800 when the client address is over the failed-authentication
 * limit (GW_DONE), else GW_OK.  Call before any costly check.
 */
enum gw_rc gw_authn_limit(struct gw_req *r);

/* 503 900900: the credential could not be checked now (key manager or LDAP down).  GW_DONE. */
enum gw_rc gw_authn_unavailable(struct gw_req *r, const char *why);

/*
 * r->who is filled by a scheme: check what may have changed (revocations,
 * not-before), set r->app (the store's application, or the claim's).
 * Returns GW_OK, or GW_DONE after a refusal.
 */
enum gw_rc gw_authn_accept(struct gw_req *r);

/* ---- opaque tokens (introspect.c) ---- */

struct gw_introspect_cache;

/* Per-worker set-up and teardown of the introspection cache (max entries). */
struct gw_introspect_cache *gw_introspect_cache_new(size_t max);
void gw_introspect_cache_free(struct gw_introspect_cache *c);

/*
 * Authenticate r with the opaque token tok (len bytes): the worker's
 * cache, else the key manager's internal introspection (GW_AGAIN; the
 * callback resumes the pipeline).  Returns GW_OK, GW_DONE or GW_AGAIN.
 */
enum gw_rc gw_introspect(struct gw_req *r, const char *tok, size_t len);

/* ---- a worker's completion queue (authn.c): results from other threads ---- */

struct gw_wq;

/* A reference to w's queue for one job (worker thread); NULL on ENOMEM. */
struct gw_wq *gw_wq_get(struct gw_worker *w);

/*
 * Run fn(arg) on the queue's worker thread, and drop the reference (any
 * thread).  0 posted; -1 when the worker is gone (fn will not run: the
 * caller disposes of arg).
 */
int gw_wq_post(struct gw_wq *q, void (*fn)(void *arg), void *arg);

/* Drop a reference taken by gw_wq_get without posting (any thread). */
void gw_wq_put(struct gw_wq *q);

/* Per-worker state of authentication (w->authn_ctx). */
struct gw_authn_worker {
	struct gw_wq *wq;
	void *basic;                    /* int_basic.c's cache */
	void (*basic_free)(void *basic);
};

#endif
