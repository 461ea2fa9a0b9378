/*
 * Verification of management tokens (DESIGN.md "Tokens, tenants and
 * audiences"): the Bearer JWTs of audience gatehouse-management that the
 * publisher, admin and DevPortal REST APIs take.  A struct gh_mauth holds
 * the key manager's JWKS, fetched over HTTPS on first use and again when a
 * token names an unknown kid (at most once per 10 s, so forged kids cannot
 * make us hammer the key manager).  Verification is thread-safe: the
 * control plane's workers share one gh_mauth.  Revocation (jti, client
 * not-before) needs the database and is checked by the caller
 * (pg/gh_call.h gh_call_auth).
 */
#ifndef GH_MAUTH_H
#define GH_MAUTH_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#define GH_AUD_MANAGEMENT "gatehouse-management"
#define GH_AUD_GATEWAY    "gatehouse-gateway"

struct gh_mauth;

/* Who called, from a verified token.  Strings are NUL-terminated copies. */
struct gh_principal {
	char sub[256];          /* the user (alice@acme.com; admin for carbon.super) */
	char user[256];         /* sub without the tenant suffix (alice) */
	char tenant[256];       /* the token's tenant (carbon.super when absent) */
	char client_id[128];
	char jti[128];
	char *scope;            /* space-separated, malloc'd ("" when none) */
	int64_t iat, exp;
};

/*
 * A verifier for tokens of issuer iss and audience aud, whose keys are at
 * jwks_url, fetched with ssl (a client context trusting the key manager;
 * borrowed, must outlive the verifier).  Returns NULL when out of memory.
 */
struct gh_mauth *gh_mauth_new(const char *iss, const char *aud, const char *jwks_url, SSL_CTX *ssl);

/* Free the verifier.  NULL is accepted. */
void gh_mauth_free(struct gh_mauth *m);

/*
 * Verify an Authorization header value ("Bearer <JWT>"; may be NULL).
 * On success 0 and *out filled (release with gh_principal_clear).  On
 * failure the HTTP status to answer: 401 for a missing, malformed,
 * forged, expired or foreign-audience token, 503 when the key manager's
 * keys cannot be fetched; why receives a short reason for the error body.
 */
int gh_mauth_verify(struct gh_mauth *m, const char *authorization, struct gh_principal *out,
    char *why, size_t whylen);

/* 1 when p's scope holds scope (exact token match). */
int gh_principal_has_scope(const struct gh_principal *p, const char *scope);

/* Free what gh_mauth_verify allocated in p.  Safe on a zeroed struct. */
void gh_principal_clear(struct gh_principal *p);

/* Test and metrics: how many times the JWKS was fetched. */
unsigned gh_mauth_fetches(const struct gh_mauth *m);

#endif
