/*
 * Management-token verification (gh_mauth.h).  The JWKS is kept behind a
 * read-write lock: verifications share it, a refetch swaps it.  A token
 * whose kid is unknown triggers one refetch when the last one is older
 * than 10 s; tokens are otherwise checked with no network call.  Claims
 * are checked with gh_jwt_check_claims (exp required, 60 s leeway).
 */
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gh_codec.h"
#include "core/gh_http.h"
#include "core/gh_jose.h"
#include "core/gh_json.h"
#include "core/gh_mauth.h"

#define REFETCH_MIN_INTERVAL 10     /* seconds */
#define LEEWAY 60                   /* seconds */

struct gh_mauth {
	char *iss, *aud, *jwks_url;
	SSL_CTX *ssl;
	pthread_rwlock_t lock;          /* guards jwks */
	struct gh_jwks *jwks;
	pthread_mutex_t fetch_lock;     /* one fetch at a time; guards last_fetch */
	time_t last_fetch;
	unsigned fetches;
};

struct gh_mauth *
gh_mauth_new(const char *iss, const char *aud, const char *jwks_url, SSL_CTX *ssl)
{
	struct gh_mauth *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->iss = strdup(iss);
	m->aud = strdup(aud);
	m->jwks_url = strdup(jwks_url);
	m->ssl = ssl;
	if (m->iss == NULL || m->aud == NULL || m->jwks_url == NULL) {
		gh_mauth_free(m);
		return NULL;
	}
	pthread_rwlock_init(&m->lock, NULL);
	pthread_mutex_init(&m->fetch_lock, NULL);
	return m;
}

void
gh_mauth_free(struct gh_mauth *m)
{
	if (m == NULL)
		return;
	if (m->iss != NULL && m->aud != NULL && m->jwks_url != NULL) {
		pthread_rwlock_destroy(&m->lock);
		pthread_mutex_destroy(&m->fetch_lock);
	}
	gh_jwks_free(m->jwks);
	free(m->iss);
	free(m->aud);
	free(m->jwks_url);
	free(m);
}

unsigned
gh_mauth_fetches(const struct gh_mauth *m)
{
	return __atomic_load_n(&m->fetches, __ATOMIC_RELAXED);
}

/*
 * Fetch the JWKS unless one was fetched less than REFETCH_MIN_INTERVAL ago
 * (force: a token named an unknown kid) or we already have one (!force).
 * Returns 0 when a key set is (now) loaded, -1 otherwise.
 */
static int
jwks_fetch(struct gh_mauth *m, int force)
{
	struct gh_httpc_cfg cfg = { .ssl = m->ssl, .connect_timeout_ms = 3000, .timeout_ms = 5000,
	    .max_body_bytes = 1 << 20 };
	struct gh_httpc_resp r;
	struct gh_jwks *set = NULL;
	time_t now = time(NULL);
	int have;

	pthread_mutex_lock(&m->fetch_lock);
	pthread_rwlock_rdlock(&m->lock);
	have = m->jwks != NULL;
	pthread_rwlock_unlock(&m->lock);
	if ((have && !force) || (m->last_fetch != 0 && now - m->last_fetch < REFETCH_MIN_INTERVAL)) {
		pthread_mutex_unlock(&m->fetch_lock);
		return have ? 0 : -1;
	}
	m->last_fetch = now;
	__atomic_add_fetch(&m->fetches, 1, __ATOMIC_RELAXED);
	if (gh_httpc_fetch(&cfg, "GET", m->jwks_url, NULL, 0, NULL, 0, &r) == 0 && r.status == 200 &&
	    r.body != NULL)
		set = gh_jwks_parse((const char *)r.body, r.body_len, NULL, NULL);
	gh_httpc_resp_clear(&r);
	if (set != NULL) {
		pthread_rwlock_wrlock(&m->lock);
		gh_jwks_free(m->jwks);
		m->jwks = set;
		pthread_rwlock_unlock(&m->lock);
	}
	pthread_rwlock_rdlock(&m->lock);
	have = m->jwks != NULL;
	pthread_rwlock_unlock(&m->lock);
	pthread_mutex_unlock(&m->fetch_lock);
	return have ? 0 : -1;
}

static void
copy_claim(struct json_object *claims, const char *name, char *dst, size_t n, const char *dflt)
{
	const char *v = gh_json_str(claims, name);

	snprintf(dst, n, "%s", v != NULL ? v : dflt);
}

static int
fail(char *why, size_t whylen, int status, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
	return status;
}

int
gh_mauth_verify(struct gh_mauth *m, const char *authorization, struct gh_principal *out,
    char *why, size_t whylen)
{
	struct gh_jwt_expect exp = { .leeway = LEEWAY, .require_exp = 1 };
	struct gh_jws jws;
	enum gh_jose_err e;
	const char *tok, *scope;
	size_t len;
	long long iat = 0, ex = 0;

	memset(out, 0, sizeof(*out));
	memset(&jws, 0, sizeof(jws));
	if (authorization == NULL)
		return fail(why, whylen, 401, "Missing Authorization header with a Bearer token");
	if (gh_http_bearer_parse(authorization, &tok, &len) != 0)
		return fail(why, whylen, 401, "Malformed Authorization header: expected Bearer <token>");
	if (jwks_fetch(m, 0) != 0)
		return fail(why, whylen, 503, "The key manager's signing keys cannot be fetched");
	pthread_rwlock_rdlock(&m->lock);
	e = gh_jws_verify(tok, len, m->jwks, &jws);
	pthread_rwlock_unlock(&m->lock);
	if (e == GH_JOSE_EKID && jwks_fetch(m, 1) == 0) {
		pthread_rwlock_rdlock(&m->lock);
		e = gh_jws_verify(tok, len, m->jwks, &jws);
		pthread_rwlock_unlock(&m->lock);
	}
	if (e != GH_JOSE_OK)
		return fail(why, whylen, 401, "Invalid token: signature or format");
	if (jws.claims == NULL) {
		gh_jws_clear(&jws);
		return fail(why, whylen, 401, "Invalid token: claims are not a JSON object");
	}
	exp.iss = m->iss;
	exp.aud = m->aud;
	e = gh_jwt_check_claims(jws.claims, &exp);
	if (e != GH_JOSE_OK) {
		gh_jws_clear(&jws);
		return fail(why, whylen, 401, e == GH_JOSE_EAUD ?
		    "Invalid token: not a management token (audience)" :
		    e == GH_JOSE_EEXPIRED ? "Invalid token: expired" : "Invalid token: claims");
	}
	copy_claim(jws.claims, "sub", out->sub, sizeof(out->sub), "");
	copy_claim(jws.claims, "tenant", out->tenant, sizeof(out->tenant), "carbon.super");
	copy_claim(jws.claims, "client_id", out->client_id, sizeof(out->client_id), "");
	copy_claim(jws.claims, "jti", out->jti, sizeof(out->jti), "");
	snprintf(out->user, sizeof(out->user), "%s", out->sub);
	len = strlen(out->user);
	{
		size_t tl = strlen(out->tenant);
		if (strcmp(out->tenant, "carbon.super") != 0 && len > tl + 1 &&
		    out->user[len - tl - 1] == '@' && strcmp(out->user + len - tl, out->tenant) == 0)
			out->user[len - tl - 1] = '\0';
	}
	gh_json_int(jws.claims, "iat", &iat);
	gh_json_int(jws.claims, "exp", &ex);
	out->iat = iat;
	out->exp = ex;
	scope = gh_json_str(jws.claims, "scope");
	out->scope = strdup(scope != NULL ? scope : "");
	gh_jws_clear(&jws);
	if (out->scope == NULL || out->sub[0] == '\0') {
		gh_principal_clear(out);
		return fail(why, whylen, 401, "Invalid token: no subject");
	}
	return 0;
}

int
gh_principal_has_scope(const struct gh_principal *p, const char *scope)
{
	size_t n = strlen(scope);
	const char *s = p->scope;

	if (s == NULL || n == 0)
		return 0;
	while (*s != '\0') {
		const char *e = strchr(s, ' ');
		size_t l = e ? (size_t)(e - s) : strlen(s);

		if (l == n && memcmp(s, scope, n) == 0)
			return 1;
		if (e == NULL)
			break;
		s = e + 1;
	}
	return 0;
}

void
gh_principal_clear(struct gh_principal *p)
{
	free(p->scope);
	p->scope = NULL;
}
