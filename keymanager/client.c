/*
 * OAuth clients: reading them from gh_oauth_clients, new credentials, and
 * authenticating the client of a token, introspection or revocation
 * request (RFC 6749 §2.3: Basic or form, never both).  Secrets are random
 * and long, so they are stored as plain SHA-256 and compared in constant
 * time; failures count towards lock-outs per client and per real address.
 * Authentication reads clients through a small cache (CLIENT_CACHE_TTL_MS)
 * so that a token costs no database round trip; a change made on this
 * node drops its entry at once (km_client_invalidate), one made on another
 * node is seen within the TTL.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gh_codec.h"
#include "keymanager/km.h"

#define CLIENT_COLUMNS "client_id, secret_hash, tenant, owner, client_name, callback_url, audience, " \
	"token_type, token_scope, app_id, app_name, app_tier, app_owner, key_type, " \
	"array_to_string(grant_types, ' '), saas, extract(epoch from not_before)::bigint, " \
	"coalesce(validity_seconds, 0)"

static char *
dup_or_null(const PGresult *res, int col)
{
	const char *v = PQgetisnull(res, 0, col) ? NULL : gh_pg_get(res, 0, col);

	return v ? strdup(v) : NULL;
}

int
km_client_get(struct gh_pg *db, const char *client_id, struct km_client *out)
{
	const char *p[1] = { client_id };
	PGresult *res;
	char *grants, *save = NULL;
	size_t n = 0;
	int64_t v;

	memset(out, 0, sizeof(*out));
	res = gh_pg_exec(db, "SELECT " CLIENT_COLUMNS " FROM gh_oauth_clients WHERE client_id = $1", 1, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) != 1) {
		PQclear(res);
		return 1;
	}
	out->client_id = dup_or_null(res, 0);
	out->secret_hash = dup_or_null(res, 1);
	out->tenant = dup_or_null(res, 2);
	out->owner = dup_or_null(res, 3);
	out->name = dup_or_null(res, 4);
	out->callback_url = dup_or_null(res, 5);
	out->audience = dup_or_null(res, 6);
	out->token_type = dup_or_null(res, 7);
	out->token_scope = dup_or_null(res, 8);
	out->app_id = dup_or_null(res, 9);
	out->app_name = dup_or_null(res, 10);
	out->app_tier = dup_or_null(res, 11);
	out->app_owner = dup_or_null(res, 12);
	out->key_type = dup_or_null(res, 13);
	grants = dup_or_null(res, 14);
	out->saas = strcmp(gh_pg_get(res, 0, 15), "t") == 0;
	if (gh_pg_get_int64(res, 0, 16, &v) == 0)
		out->not_before = v;
	if (gh_pg_get_int64(res, 0, 17, &v) == 0)
		out->validity = v;
	PQclear(res);
	out->grant_types = calloc(16, sizeof(char *));
	for (char *g = grants ? strtok_r(grants, " ", &save) : NULL; g != NULL && n < 15;
	    g = strtok_r(NULL, " ", &save))
		out->grant_types[n++] = strdup(g);
	free(grants);
	return 0;
}

#define CLIENT_CACHE_TTL_MS 2000
#define CLIENT_CACHE_SLOTS 1024

struct cache_slot {
	struct km_client c;      /* c.client_id NULL: empty */
	int64_t at_ms;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cache_slot cache[CLIENT_CACHE_SLOTS];
/* Bumped by km_client_invalidate: a row read before a change is not cached after it. */
static uint64_t cache_gen[CLIENT_CACHE_SLOTS];

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
cache_index(const char *id)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h % CLIENT_CACHE_SLOTS);
}

static char *
sdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Deep copy of a client.  0 ok, -1 out of memory (dst cleared). */
static int
client_copy(struct km_client *dst, const struct km_client *src)
{
	size_t n = 0;

	memset(dst, 0, sizeof(*dst));
	dst->client_id = sdup(src->client_id);
	dst->secret_hash = sdup(src->secret_hash);
	dst->tenant = sdup(src->tenant);
	dst->owner = sdup(src->owner);
	dst->name = sdup(src->name);
	dst->callback_url = sdup(src->callback_url);
	dst->audience = sdup(src->audience);
	dst->token_type = sdup(src->token_type);
	dst->token_scope = sdup(src->token_scope);
	dst->app_id = sdup(src->app_id);
	dst->app_name = sdup(src->app_name);
	dst->app_tier = sdup(src->app_tier);
	dst->app_owner = sdup(src->app_owner);
	dst->key_type = sdup(src->key_type);
	dst->saas = src->saas;
	dst->not_before = src->not_before;
	dst->validity = src->validity;
	while (src->grant_types != NULL && src->grant_types[n] != NULL)
		n++;
	dst->grant_types = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; dst->grant_types != NULL && i < n; i++)
		dst->grant_types[i] = strdup(src->grant_types[i]);
	if (dst->client_id == NULL || dst->secret_hash == NULL || dst->grant_types == NULL) {
		km_client_clear(dst);
		return -1;
	}
	return 0;
}

/* A fresh cache hit copied into out: 0; a miss or a stale entry: 1. */
static int
client_peek(const char *client_id, struct km_client *out)
{
	size_t i = cache_index(client_id);
	int rc = 1;

	pthread_mutex_lock(&cache_mu);
	if (cache[i].c.client_id != NULL && strcmp(cache[i].c.client_id, client_id) == 0 &&
	    now_ms() - cache[i].at_ms < CLIENT_CACHE_TTL_MS)
		rc = client_copy(out, &cache[i].c) == 0 ? 0 : 1;
	pthread_mutex_unlock(&cache_mu);
	return rc;
}

int
km_client_get_cached(struct gh_pg *db, const char *client_id, struct km_client *out)
{
	size_t i = cache_index(client_id);
	uint64_t gen;
	int rc;

	pthread_mutex_lock(&cache_mu);
	if (cache[i].c.client_id != NULL && strcmp(cache[i].c.client_id, client_id) == 0 &&
	    now_ms() - cache[i].at_ms < CLIENT_CACHE_TTL_MS) {
		rc = client_copy(out, &cache[i].c);
		if (rc == 0) {
			pthread_mutex_unlock(&cache_mu);
			return 0;
		}
	}
	gen = cache_gen[i];
	pthread_mutex_unlock(&cache_mu);
	rc = km_client_get(db, client_id, out);
	if (rc == 0) {
		struct km_client copy;
		if (client_copy(&copy, out) == 0) {
			pthread_mutex_lock(&cache_mu);
			if (cache_gen[i] == gen) {
				km_client_clear(&cache[i].c);
				cache[i].c = copy;
				cache[i].at_ms = now_ms();
			} else {
				km_client_clear(&copy);
			}
			pthread_mutex_unlock(&cache_mu);
		}
	}
	return rc;
}

void
km_client_invalidate(const char *client_id)
{
	size_t i = cache_index(client_id);

	pthread_mutex_lock(&cache_mu);
	cache_gen[i]++;
	if (cache[i].c.client_id != NULL && strcmp(cache[i].c.client_id, client_id) == 0)
		km_client_clear(&cache[i].c);
	pthread_mutex_unlock(&cache_mu);
}

void
km_client_cache_free(void)
{
	pthread_mutex_lock(&cache_mu);
	for (size_t i = 0; i < CLIENT_CACHE_SLOTS; i++)
		km_client_clear(&cache[i].c);
	pthread_mutex_unlock(&cache_mu);
}

void
km_client_clear(struct km_client *c)
{
	char **fields[] = { &c->client_id, &c->secret_hash, &c->tenant, &c->owner, &c->name,
		&c->callback_url, &c->audience, &c->token_type, &c->token_scope, &c->app_id,
		&c->app_name, &c->app_tier, &c->app_owner, &c->key_type };

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
	for (size_t i = 0; c->grant_types != NULL && c->grant_types[i] != NULL; i++)
		free(c->grant_types[i]);
	free(c->grant_types);
	c->grant_types = NULL;
}

int
km_client_allows_grant(const struct km_client *c, const char *grant)
{
	for (size_t i = 0; c->grant_types != NULL && c->grant_types[i] != NULL; i++)
		if (strcmp(c->grant_types[i], grant) == 0)
			return 1;
	return 0;
}

void
km_client_new_credentials(char **client_id, char **secret)
{
	*client_id = gh_random_b64url(20);
	*secret = gh_random_b64url(32);
}

void
km_secret_hash(const char *secret, char out[65])
{
	gh_sha256_hex(secret, strlen(secret), out);
}

int
km_client_authenticate_cached(struct gh_call *c, const struct gh_form *form, struct km_client *out)
{
	const char *auth = gh_call_header(c, "Authorization");
	char *id = NULL, *secret = NULL, hash[65];
	int rc = 1;

	memset(out, 0, sizeof(*out));
	if (auth == NULL || strncasecmp(auth, "Basic ", 6) != 0 || gh_form_get(form, "client_secret") != NULL ||
	    gh_form_get(form, "client_id") != NULL || gh_http_basic_parse(auth, &id, &secret) != 0)
		goto out;
	if (id[0] == '\0' || secret[0] == '\0' ||
	    km_lock_check_cached(KM_LOCK_CLIENT, id) != 0 || km_lock_check_cached(KM_LOCK_ADDR, c->client_addr) != 0)
		goto out;
	if (client_peek(id, out) != 0)
		goto out;
	km_secret_hash(secret, hash);
	if (!gh_ct_streq(hash, out->secret_hash)) {
		km_client_clear(out);
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(hash, sizeof(hash));
	free(id);
	if (secret != NULL)
		gh_free_secret(secret);
	return rc;
}

int
km_client_authenticate(struct gh_call *c, struct gh_pg *db, const struct gh_form *form,
    struct km_client *out)
{
	const char *auth = gh_call_header(c, "Authorization");
	const char *fid = gh_form_get(form, "client_id"), *fsecret = gh_form_get(form, "client_secret");
	char *bid = NULL, *bsecret = NULL, hash[65];
	const char *id, *secret;
	int rc = -1, found;

	memset(out, 0, sizeof(*out));
	if (auth != NULL && strncasecmp(auth, "Basic ", 6) == 0) {
		if (gh_http_basic_parse(auth, &bid, &bsecret) != 0) {
			gh_reply_oauth_error(c, 401, "invalid_client", "Malformed Basic credentials");
			return -1;
		}
		if (fsecret != NULL) {
			gh_reply_oauth_error(c, 400, "invalid_request",
			    "Client credentials in both the Authorization header and the body");
			goto out;
		}
		id = bid;
		secret = bsecret;
	} else {
		id = fid;
		secret = fsecret;
	}
	if (id == NULL || secret == NULL || id[0] == '\0' || secret[0] == '\0') {
		gh_reply_oauth_error(c, 401, "invalid_client", "Client authentication is required");
		goto out;
	}
	if (gh_form_count(form, "client_id") > 1 || gh_form_count(form, "client_secret") > 1) {
		gh_reply_oauth_error(c, 400, "invalid_request", "A parameter is repeated");
		goto out;
	}
	if (km_lock_check(db, KM_LOCK_CLIENT, id) == 1 || km_lock_check(db, KM_LOCK_ADDR, c->client_addr) == 1) {
		KM_COUNT(lockouts);
		km_audit(db, c, id, NULL, "client.authenticate", id, "locked", NULL);
		gh_reply_oauth_error(c, 401, "invalid_client",
		    "Too many failed authentications; try again later");
		goto out;
	}
	found = km_client_get_cached(db, id, out);
	if (found < 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		goto out;
	}
	km_secret_hash(secret, hash);
	if (found != 0 || !gh_ct_streq(hash, out->secret_hash)) {
		km_lock_fail(db, KM_LOCK_CLIENT, id);
		km_lock_fail(db, KM_LOCK_ADDR, c->client_addr);
		km_audit(db, c, id, out->tenant, "client.authenticate", id, "failure", NULL);
		km_client_clear(out);
		gh_reply_oauth_error(c, 401, "invalid_client", "Client authentication failed");
		goto out;
	}
	/* Failure counts are not reset on success: they expire with their window,
	 * and the token path stays free of database writes. */
	rc = 0;
out:
	explicit_bzero(hash, sizeof(hash));
	free(bid);
	if (bsecret != NULL)
		gh_free_secret(bsecret);
	return rc;
}
