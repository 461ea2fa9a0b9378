/*
 * Discovery on the public port: the token-signing keys (GET /oauth2/jwks,
 * every published key, reloaded when older than half a minute so that a
 * rotation on another node shows), the gateways' backend-JWT keys of one
 * environment (GET /oauth2/jwks/backend/{environment}, re-serialized from
 * gh_backend_keys so that only well-formed public members go out), and
 * the RFC 8414 / OpenID Connect discovery metadata built from the
 * configured issuer.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_jose.h"
#include "core/gh_log.h"
#include "keymanager/km.h"

#define JWKS_MAX_AGE_MS 30000
#define ENV_NAME_MAX 64

/* GET /oauth2/jwks */
static void
jwks(struct gh_call *c, struct gh_pg *db)
{
	char *s;

	km_keys_refresh(db, JWKS_MAX_AGE_MS);
	s = km_keys_jwks_json();
	if (s == NULL) {
		gh_reply_error(c, 503, "Service Unavailable", "No signing keys are loaded");
		return;
	}
	gh_reply_raw(c, 200, "application/json", s, strlen(s));
	gh_reply_header(c, "Cache-Control", "public, max-age=60");
	free(s);
}

/* An environment name: 1..64 of [A-Za-z0-9._-], starting with a letter or digit. */
static int
env_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > ENV_NAME_MAX || s[0] == '.' || s[0] == '-' || s[0] == '_')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '.' || ch == '-' || ch == '_'))
			return 0;
	}
	return 1;
}

/* GET /oauth2/jwks/backend/{environment} */
static void
backend_jwks(struct gh_call *c, struct gh_pg *db)
{
	const char *env = gh_call_param(c, "environment");
	const char *p[1] = { env };
	struct json_object *out, *keys;
	PGresult *res;
	int n;

	if (!env_name_ok(env)) {
		gh_reply_error(c, 404, "Not Found", "No such environment");
		return;
	}
	res = gh_pg_exec(db, "SELECT kid, jwk::text FROM gh_backend_keys WHERE environment = $1 "
	    "ORDER BY created_at, kid", 1, p);
	if (res == NULL) {
		gh_reply_error(c, 503, "Service Unavailable", "Database unavailable");
		return;
	}
	out = json_object_new_object();
	keys = json_object_new_array();
	json_object_object_add(out, "keys", keys);
	n = gh_pg_nrows(res);
	for (int i = 0; i < n && i < GH_JWKS_MAX_KEYS; i++) {
		struct json_object *in = json_tokener_parse(gh_pg_get(res, i, 1)), *pub = NULL;
		struct gh_jwk *k = in ? gh_jwk_from_json(in, NULL) : NULL;

		if (k != NULL && k->kid == NULL)
			k->kid = strdup(gh_pg_get(res, i, 0));
		if (k != NULL && k->kid != NULL)
			pub = gh_jwk_to_json(k);
		if (pub != NULL)
			json_object_array_add(keys, pub);
		else
			gh_log_warn("backend_key", c->request_id, "backend key %s of %s is malformed; "
			    "not published", gh_pg_get(res, i, 0), env);
		gh_jwk_free(k);
		json_object_put(in);
	}
	PQclear(res);
	gh_reply_json(c, 200, out);
	gh_reply_header(c, "Cache-Control", "public, max-age=60");
	json_object_put(out);
}

static struct json_object *
str_array(const char *const *v)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; v[i] != NULL; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static void
add_url(struct json_object *o, const char *member, const char *base, size_t blen, const char *path)
{
	char url[1024];

	snprintf(url, sizeof(url), "%.*s%s", (int)blen, base, path);
	json_object_object_add(o, member, json_object_new_string(url));
}

/* GET /.well-known/oauth-authorization-server and /.well-known/openid-configuration */
static void
metadata(struct gh_call *c, struct gh_pg *db)
{
	static const char *const grants[] = { "client_credentials", "password", "authorization_code",
		"refresh_token", NULL };
	static const char *const responses[] = { "code", NULL };
	static const char *const modes[] = { "query", NULL };
	static const char *const pkce[] = { "S256", NULL };
	static const char *const auth[] = { "client_secret_basic", "client_secret_post", NULL };
	static const char *const subjects[] = { "public", NULL };
	static const char *const algs[] = { "RS256", "ES256", NULL };
	static const char *const claims[] = { "iss", "sub", "aud", "exp", "iat", "nbf", "jti",
		"client_id", "azp", "scope", "tenant", "application", "keytype", NULL };
	const char *iss = km.issuer;
	size_t blen = strlen(iss);
	struct json_object *o = json_object_new_object(), *scopes;
	PGresult *res;
	int complete = 0;

	while (blen > 0 && iss[blen - 1] == '/')
		blen--;
	json_object_object_add(o, "issuer", json_object_new_string(iss));
	add_url(o, "authorization_endpoint", iss, blen, "/oauth2/authorize");
	add_url(o, "token_endpoint", iss, blen, "/oauth2/token");
	add_url(o, "introspection_endpoint", iss, blen, "/oauth2/introspect");
	add_url(o, "revocation_endpoint", iss, blen, "/oauth2/revoke");
	add_url(o, "jwks_uri", iss, blen, "/oauth2/jwks");
	add_url(o, "registration_endpoint", iss, blen, "/client-registration/v0.17/register");
	json_object_object_add(o, "grant_types_supported", str_array(grants));
	json_object_object_add(o, "response_types_supported", str_array(responses));
	json_object_object_add(o, "response_modes_supported", str_array(modes));
	json_object_object_add(o, "code_challenge_methods_supported", str_array(pkce));
	json_object_object_add(o, "token_endpoint_auth_methods_supported", str_array(auth));
	json_object_object_add(o, "introspection_endpoint_auth_methods_supported", str_array(auth));
	json_object_object_add(o, "revocation_endpoint_auth_methods_supported", str_array(auth));
	json_object_object_add(o, "subject_types_supported", str_array(subjects));
	json_object_object_add(o, "id_token_signing_alg_values_supported", str_array(algs));
	json_object_object_add(o, "claims_supported", str_array(claims));
	/* The management scopes every tenant binds, and openid. */
	res = gh_pg_exec(db, "SELECT DISTINCT scope FROM gh_scope_bindings WHERE tenant = '*' ORDER BY 1",
	    0, NULL);
	if (res != NULL) {
		scopes = json_object_new_array();
		json_object_array_add(scopes, json_object_new_string("openid"));
		for (int i = 0; i < gh_pg_nrows(res); i++)
			json_object_array_add(scopes, json_object_new_string(gh_pg_get(res, i, 0)));
		json_object_object_add(o, "scopes_supported", scopes);
		PQclear(res);
		complete = 1;
	} else {
		gh_log_warn("metadata", c->request_id, "scopes left out: %s", gh_pg_errmsg(db));
	}
	gh_reply_json(c, 200, o);
	/* Cacheable only when complete. */
	gh_reply_header(c, "Cache-Control", complete ? "public, max-age=300" : "no-cache");
	json_object_put(o);
}

void
km_discovery_routes(struct gh_router *pub)
{
	gh_call_route(pub, "GET", "/oauth2/jwks", jwks);
	gh_call_route(pub, "GET", "/oauth2/jwks/backend/{environment}", backend_jwks);
	gh_call_route(pub, "GET", "/.well-known/oauth-authorization-server", metadata);
	gh_call_route(pub, "GET", "/.well-known/openid-configuration", metadata);
}
