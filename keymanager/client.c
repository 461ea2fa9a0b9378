/*
 * OAuth clients: reading them from gh_oauth_clients, new credentials, and
 * authenticating the client of a token, introspection or revocation
 * request (RFC 6749 §2.3: Basic or form, never both).  Secrets are random
 * and long, so they are stored as plain SHA-256 and compared in constant
 * time; failures count towards lock-outs per client and per real address.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
km_client_authenticate(struct km_call *c, struct gh_pg *db, const struct gh_form *form,
    struct km_client *out)
{
	const char *auth = km_call_header(c, "Authorization");
	const char *fid = gh_form_get(form, "client_id"), *fsecret = gh_form_get(form, "client_secret");
	char *bid = NULL, *bsecret = NULL, hash[65];
	const char *id, *secret;
	int rc = -1, found;

	memset(out, 0, sizeof(*out));
	if (auth != NULL && strncasecmp(auth, "Basic ", 6) == 0) {
		if (gh_http_basic_parse(auth, &bid, &bsecret) != 0) {
			km_reply_oauth_error(c, 401, "invalid_client", "Malformed Basic credentials");
			return -1;
		}
		if (fsecret != NULL) {
			km_reply_oauth_error(c, 400, "invalid_request",
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
		km_reply_oauth_error(c, 401, "invalid_client", "Client authentication is required");
		goto out;
	}
	if (gh_form_count(form, "client_id") > 1 || gh_form_count(form, "client_secret") > 1) {
		km_reply_oauth_error(c, 400, "invalid_request", "A parameter is repeated");
		goto out;
	}
	if (km_lock_check(db, KM_LOCK_CLIENT, id) == 1 || km_lock_check(db, KM_LOCK_ADDR, c->client_addr) == 1) {
		KM_COUNT(lockouts);
		km_audit(db, c, id, NULL, "client.authenticate", id, "locked", NULL);
		km_reply_oauth_error(c, 401, "invalid_client",
		    "Too many failed authentications; try again later");
		goto out;
	}
	found = km_client_get(db, id, out);
	if (found < 0) {
		km_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		goto out;
	}
	km_secret_hash(secret, hash);
	if (found != 0 || !gh_ct_streq(hash, out->secret_hash)) {
		km_lock_fail(db, KM_LOCK_CLIENT, id);
		km_lock_fail(db, KM_LOCK_ADDR, c->client_addr);
		km_audit(db, c, id, out->tenant, "client.authenticate", id, "failure", NULL);
		km_client_clear(out);
		km_reply_oauth_error(c, 401, "invalid_client", "Client authentication failed");
		goto out;
	}
	km_lock_reset(db, KM_LOCK_CLIENT, id);
	rc = 0;
out:
	explicit_bzero(hash, sizeof(hash));
	free(bid);
	if (bsecret != NULL)
		gh_free_secret(bsecret);
	return rc;
}
