/*
 * Keys of an application (WSO2's generate-keys, oauth-keys, api-keys):
 * the key manager owns the OAuth clients and mints tokens and API keys;
 * the portal checks that its caller owns (or shares) the application and
 * forwards the request to the key manager's internal API with the
 * application's owner, tenant, name, tier and token type.  A client
 * secret is shown once (generate-keys, regenerate-secret) and never read
 * back: oauth-keys are read from gh_oauth_clients without it.  The
 * keyMappingId of a key is its consumerKey (client id).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "portal/portal_int.h"

#define SCOPES_MAX 50
#define VALIDITY_MAX 315360000LL

static int
key_type_ok(const char *s)
{
	return s != NULL && (strcmp(s, "PRODUCTION") == 0 || strcmp(s, "SANDBOX") == 0);
}

/* An integer member given as a number or a numeric string (WSO2 sends both).  0 ok, 1 absent, -1 bad. */
static int
int_member(struct json_object *o, const char *key, long long *out)
{
	struct json_object *v;
	char *end = NULL;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 1;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	*out = strtoll(s, &end, 10);
	return s[0] != '\0' && strlen(s) < 20 && *end == '\0' ? 0 : -1;
}

/* A member that is an array of short names as one space-separated string (NULL when absent).  -1 bad. */
static int
names_member(struct json_object *o, const char *key, size_t max_items, char **out)
{
	struct json_object *a;
	size_t len = 1;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &a) || a == NULL)
		return 0;
	if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) > max_items)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *s = json_object_array_get_idx(a, i);
		const char *v = json_object_is_type(s, json_type_string) ? json_object_get_string(s) : NULL;
		if (v == NULL || !gh_body_text_ok(v, 200, 0) || strchr(v, ' ') != NULL)
			return -1;
		len += strlen(v) + 1;
	}
	*out = calloc(1, len);
	if (*out == NULL)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		if (i > 0)
			strcat(*out, " ");
		strcat(*out, json_object_get_string(json_object_array_get_idx(a, i)));
	}
	return 0;
}

static struct json_object *
split_json(const char *s)
{
	struct json_object *a = json_object_new_array();
	char *copy = strdup(s ? s : ""), *save = NULL;

	for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t != NULL; t = strtok_r(NULL, " ", &save))
		json_object_array_add(a, json_object_new_string(t));
	free(copy);
	return a;
}

/* Ask the key manager for a token of client_id: WSO2's ApplicationToken, or NULL (status in *st). */
static struct json_object *
mint_token(const char *client_id, const char *scope, long long validity, int *st)
{
	struct json_object *b = json_object_new_object(), *r = NULL, *tok;
	long long exp = 0;

	json_object_object_add(b, "clientId", json_object_new_string(client_id));
	if (scope != NULL && scope[0] != '\0')
		json_object_object_add(b, "scope", json_object_new_string(scope));
	if (validity > 0)
		json_object_object_add(b, "validityPeriod", json_object_new_int64(validity));
	*st = portal_km_json("POST", "/internal/km/v1/tokens", b, &r);
	json_object_put(b);
	if (*st == 200 && gh_json_str(r, "access_token") != NULL) {
		tok = json_object_new_object();
		gh_json_int(r, "expires_in", &exp);
		json_object_object_add(tok, "accessToken", json_object_new_string(gh_json_str(r, "access_token")));
		json_object_object_add(tok, "tokenScopes", split_json(gh_json_str(r, "scope")));
		json_object_object_add(tok, "validityTime", json_object_new_int64(exp));
		json_object_put(r);
		return tok;
	}
	json_object_put(r);
	return NULL;
}

static void
audit_key(struct gh_pg *db, struct gh_call *c, const struct portal_viewer *v, const char *action,
    const struct portal_app *a, const char *target, const char *key_type)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "applicationId", json_object_new_string(a->id));
	if (key_type != NULL)
		json_object_object_add(d, "keyType", json_object_new_string(key_type));
	portal_audit(db, c, v, action, target, d);
	json_object_put(d);
}

static void
keys_generate(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct portal_app a;
	struct json_object *o = NULL, *b = NULL, *r = NULL, *out = NULL, *tok = NULL;
	const char *key_type, *callback = NULL, *km = NULL;
	char *grants = NULL, *scopes = NULL;
	const char *p[2];
	long long validity = 0;
	int64_t have = 0;
	int st, want_token = 0, x;

	if (portal_viewer_begin(c, db, &v, 0, "apim:app_manage") != 0)
		return;
	if (portal_app_load(c, db, &v, gh_call_param(c, "applicationId"), &a) != 0 || (o = gh_call_body(c, 415)) == NULL)
		goto out;
	if (portal_str(c, o, "keyType", 16, PORTAL_STR_REQUIRED, &key_type) != 0 ||
	    portal_str(c, o, "keyManager", 100, 0, &km) != 0)
		goto out;
	if (!key_type_ok(key_type)) {
		gh_reply_error(c, 400, "Bad Request", "keyType must be PRODUCTION or SANDBOX");
		goto out;
	}
	if (km != NULL && strcmp(km, "Resident Key Manager") != 0 && strcmp(km, "default") != 0) {
		gh_reply_error(c, 400, "Bad Request", "keyManager must be \"Resident Key Manager\" (or \"default\")");
		goto out;
	}
	if (json_object_object_get_ex(o, "callbackUrl", NULL) &&
	    json_object_get_type(json_object_object_get(o, "callbackUrl")) != json_type_null) {
		if (portal_str(c, o, "callbackUrl", 2000, 0, &callback) != 0)
			goto out;
	}
	if (names_member(o, "grantTypesToBeSupported", 10, &grants) != 0) {
		gh_reply_error(c, 400, "Bad Request", "grantTypesToBeSupported must be an array of grant type names");
		goto out;
	}
	if (names_member(o, "scopes", SCOPES_MAX, &scopes) != 0) {
		gh_reply_error(c, 400, "Bad Request", "scopes must be an array of at most 50 scope names");
		goto out;
	}
	x = int_member(o, "validityTime", &validity);
	if (x < 0 || validity > VALIDITY_MAX) {
		gh_reply_error(c, 400, "Bad Request", "validityTime must be a number of seconds (at most ten years)");
		goto out;
	}
	if (gh_json_bool(o, "generateToken", &want_token) < 0) {
		gh_reply_error(c, 400, "Bad Request", "generateToken must be a boolean");
		goto out;
	}
	want_token |= scopes != NULL;
	p[0] = a.id;
	p[1] = key_type;
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_oauth_clients WHERE app_id = $1 AND key_type = $2",
	    2, p, &have) < 0) {
		portal_db_error(c, db, "The keys could not be read");
		goto out;
	}
	if (have > 0) {
		gh_reply_error(c, 409, "Conflict", "Keys of this type were already generated for this application");
		goto out;
	}
	b = json_object_new_object();
	json_object_object_add(b, "owner", json_object_new_string(a.owner));
	json_object_object_add(b, "tenant", json_object_new_string(a.tenant));
	json_object_object_add(b, "applicationId", json_object_new_string(a.id));
	json_object_object_add(b, "applicationName", json_object_new_string(a.name));
	json_object_object_add(b, "tier", json_object_new_string(a.tier));
	json_object_object_add(b, "keyType", json_object_new_string(key_type));
	json_object_object_add(b, "tokenType", json_object_new_string(a.token_type));
	if (grants != NULL)
		json_object_object_add(b, "grantTypes", split_json(grants));
	if (callback != NULL)
		json_object_object_add(b, "callbackUrl", json_object_new_string(callback));
	if (validity > 0)
		json_object_object_add(b, "validityTime", json_object_new_int64(validity));
	st = portal_km_json("POST", "/internal/km/v1/clients", b, &r);
	if (st != 201 || gh_json_str(r, "clientId") == NULL || gh_json_str(r, "clientSecret") == NULL) {
		portal_km_error(c, st == 201 ? 0 : st, r, "The keys could not be generated");
		goto out;
	}
	PORTAL_COUNT(keys_generated);
	audit_key(db, c, &v, "keys.generate", &a, gh_json_str(r, "clientId"), key_type);
	if (want_token) {
		tok = mint_token(gh_json_str(r, "clientId"), scopes, validity, &st);
		if (tok == NULL)
			gh_log_warn("keys", c->request_id, "token for new key of %s: key manager answered %d", a.id, st);
	}
	out = json_object_new_object();
	json_object_object_add(out, "keyMappingId", json_object_new_string(gh_json_str(r, "clientId")));
	json_object_object_add(out, "keyManager", json_object_new_string("Resident Key Manager"));
	json_object_object_add(out, "consumerKey", json_object_new_string(gh_json_str(r, "clientId")));
	json_object_object_add(out, "consumerSecret", json_object_new_string(gh_json_str(r, "clientSecret")));
	json_object_object_add(out, "supportedGrantTypes", json_object_get(json_object_object_get(r, "grantTypes")));
	json_object_object_add(out, "callbackUrl", json_object_get(json_object_object_get(r, "callbackUrl")));
	json_object_object_add(out, "keyState", json_object_new_string("COMPLETED"));
	json_object_object_add(out, "keyType", json_object_new_string(key_type));
	json_object_object_add(out, "mode", json_object_new_string("CREATED"));
	json_object_object_add(out, "groupId", NULL);
	json_object_object_add(out, "token", tok);
	json_object_object_add(out, "additionalProperties", json_object_new_object());
	portal_reply(c, 200, out);
	gh_reply_header(c, "Cache-Control", "no-store");
out:
	free(grants);
	free(scopes);
	json_object_put(b);
	json_object_put(r);
	json_object_put(o);
	portal_viewer_end(&v);
}

static void
keys_list(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct portal_app a;
	const char *p[1];
	char *s;

	if (portal_viewer_begin(c, db, &v, 0, "apim:app_manage") != 0)
		return;
	if (portal_app_load(c, db, &v, gh_call_param(c, "applicationId"), &a) != 0)
		goto out;
	p[0] = a.id;
	s = portal_one_text(db, "SELECT coalesce(jsonb_agg(" PORTAL_KEY_OBJECT " ORDER BY k.key_type), '[]')::text "
	    "FROM gh_oauth_clients k WHERE k.app_id = $1", 1, p);
	if (s == NULL) {
		portal_db_error(c, db, "The keys could not be read");
		goto out;
	}
	{
		struct json_object *list = portal_json_text(s);
		int64_t n = (int64_t)json_object_array_length(list);
		portal_reply(c, 200, portal_list(list, n, n > 0 ? n : 25, 0));
	}
	free(s);
out:
	portal_viewer_end(&v);
}

/* The route's key of the route's application.  0 with *obj (WSO2 ApplicationKey) and key_type, -1 replied. */
static int
key_load(struct gh_call *c, struct gh_pg *db, struct portal_viewer *v, struct portal_app *a,
    struct json_object **obj, char key_type[16])
{
	const char *km = gh_call_param(c, "keyMappingId");
	const char *p[2];
	PGresult *res;

	*obj = NULL;
	if (portal_app_load(c, db, v, gh_call_param(c, "applicationId"), a) != 0)
		return -1;
	if (!gh_body_id_ok(km)) {
		gh_reply_error(c, 404, "Not Found", "The application has no key with this keyMappingId");
		return -1;
	}
	p[0] = a->id;
	p[1] = km;
	res = gh_pg_exec(db, "SELECT " PORTAL_KEY_OBJECT "::text, k.key_type FROM gh_oauth_clients k "
	    "WHERE k.app_id = $1 AND k.client_id = $2", 2, p);
	if (res == NULL) {
		portal_db_error(c, db, "The key could not be read");
		return -1;
	}
	if (gh_pg_nrows(res) != 1) {
		PQclear(res);
		gh_reply_error(c, 404, "Not Found", "The application has no key with this keyMappingId");
		return -1;
	}
	*obj = portal_json_text(gh_pg_get(res, 0, 0));
	snprintf(key_type, 16, "%s", gh_pg_get(res, 0, 1));
	PQclear(res);
	return 0;
}

static void
key_get(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct portal_app a;
	struct json_object *k;
	char kt[16];

	if (portal_viewer_begin(c, db, &v, 0, "apim:app_manage") != 0)
		return;
	if (key_load(c, db, &v, &a, &k, kt) == 0)
		portal_reply(c, 200, k);
	portal_viewer_end(&v);
}

static void
key_update(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct portal_app a;
	struct json_object *k = NULL, *o = NULL, *b = NULL, *r = NULL;
	const char *callback = NULL;
	char kt[16], path[300], *grants = NULL;
	int st, cb_given;

	if (portal_viewer_begin(c, db, &v, 0, "apim:app_manage") != 0)
		return;
	if (key_load(c, db, &v, &a, &k, kt) != 0 || (o = gh_call_body(c, 415)) == NULL)
		goto out;
	if (names_member(o, "supportedGrantTypes", 10, &grants) != 0 ||
	    (grants == NULL && names_member(o, "grantTypesToBeSupported", 10, &grants) != 0)) {
		gh_reply_error(c, 400, "Bad Request", "supportedGrantTypes must be an array of grant type names");
		goto out;
	}
	cb_given = json_object_object_get_ex(o, "callbackUrl", NULL);
	if (cb_given && json_object_get_type(json_object_object_get(o, "callbackUrl")) != json_type_null &&
	    portal_str(c, o, "callbackUrl", 2000, 0, &callback) != 0)
		goto out;
	if (grants == NULL && !cb_given) {
		gh_reply_error(c, 400, "Bad Request", "Nothing to update: give supportedGrantTypes or callbackUrl");
		goto out;
	}
	b = json_object_new_object();
	if (grants != NULL)
		json_object_object_add(b, "grantTypes", split_json(grants));
	if (cb_given)
		json_object_object_add(b, "callbackUrl", callback ? json_object_new_string(callback) : NULL);
	snprintf(path, sizeof(path), "/internal/km/v1/clients/%s", gh_call_param(c, "keyMappingId"));
	st = portal_km_json("PUT", path, b, &r);
	if (st != 200) {
		portal_km_error(c, st, r, "The key could not be updated");
		goto out;
	}
	audit_key(db, c, &v, "keys.update", &a, gh_call_param(c, "keyMappingId"), kt);
	json_object_put(k);
	k = NULL;
	if (key_load(c, db, &v, &a, &k, kt) == 0) {
		portal_reply(c, 200, k);
		k = NULL;
	}
out:
	free(grants);
	json_object_put(k);
	json_object_put(o);
	json_object_put(b);
	json_object_put(r);
	portal_viewer_end(&v);
}

static void
key_regenerate(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct portal_app a;
	struct json_object *k = NULL, *r = NULL, *out;
	char kt[16], path[300];
	int st;

	if (portal_viewer_begin(c, db, &v, 0, "apim:app_manage") != 0)
		return;
	if (key_load(c, db, &v, &a, &k, kt) != 0)
		goto done;
	snprintf(path, sizeof(path), "/internal/km/v1/clients/%s/regenerate-secret", gh_call_param(c, "keyMappingId"));
	st = portal_km_json("POST", path, NULL, &r);
	if (st != 200 || gh_json_str(r, "clientSecret") == NULL) {
		portal_km_error(c, st == 200 ? 0 : st, r, "The secret could not be regenerated");
		goto done;
	}
	audit_key(db, c, &v, "keys.regenerate_secret", &a, gh_call_param(c, "keyMappingId"), kt);
	out = json_object_new_object();
	json_object_object_add(out, "consumerKey", json_object_new_string(gh_call_param(c, "keyMappingId")));
	json_object_object_add(out, "consumerSecret", json_object_new_string(gh_json_str(r, "clientSecret")));
	portal_reply(c, 200, out);
	gh_reply_header(c, "Cache-Control", "no-store");
done:
	json_object_put(k);
	json_object_put(r);
	portal_viewer_end(&v);
}

static void
key_delete(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct portal_app a;
	struct json_object *k = NULL, *r = NULL;
	char kt[16], path[300];
	int st;

	if (portal_viewer_begin(c, db, &v, 0, "apim:app_manage") != 0)
		return;
	if (key_load(c, db, &v, &a, &k, kt) != 0)
		goto done;
	snprintf(path, sizeof(path), "/internal/km/v1/clients/%s", gh_call_param(c, "keyMappingId"));
	st = portal_km_json("DELETE", path, NULL, &r);
	if (st != 204 && st != 200 && st != 404) {
		portal_km_error(c, st, r, "The key could not be removed");
		goto done;
	}
	audit_key(db, c, &v, "keys.delete", &a, gh_call_param(c, "keyMappingId"), kt);
	gh_reply_raw(c, strcmp(c->method, "DELETE") == 0 ? 204 : 200, NULL, NULL, 0);
done:
	json_object_put(k);
	json_object_put(r);
	portal_viewer_end(&v);
}

static void
key_token(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct portal_app a;
	struct json_object *k = NULL, *o = NULL, *tok;
	char kt[16], *scopes = NULL;
	long long validity = 0;
	int st;

	if (portal_viewer_begin(c, db, &v, 0, "apim:app_manage") != 0)
		return;
	if (key_load(c, db, &v, &a, &k, kt) != 0 || (o = gh_call_body(c, 415)) == NULL)
		goto done;
	if (names_member(o, "scopes", SCOPES_MAX, &scopes) != 0) {
		gh_reply_error(c, 400, "Bad Request", "scopes must be an array of at most 50 scope names");
		goto done;
	}
	if (int_member(o, "validityPeriod", &validity) < 0 || validity > 31536000LL) {
		gh_reply_error(c, 400, "Bad Request", "validityPeriod must be a number of seconds (at most one year)");
		goto done;
	}
	if (json_object_object_get_ex(o, "consumerSecret", NULL) &&
	    !json_object_is_type(json_object_object_get(o, "consumerSecret"), json_type_string) &&
	    !json_object_is_type(json_object_object_get(o, "consumerSecret"), json_type_null)) {
		gh_reply_error(c, 400, "Bad Request", "consumerSecret must be a string");
		goto done;
	}
	tok = mint_token(gh_call_param(c, "keyMappingId"), scopes, validity, &st);
	if (tok == NULL) {
		portal_km_error(c, st == 200 ? 0 : st, NULL, "The token could not be generated");
		goto done;
	}
	audit_key(db, c, &v, "keys.generate_token", &a, gh_call_param(c, "keyMappingId"), kt);
	portal_reply(c, 200, tok);
	gh_reply_header(c, "Cache-Control", "no-store");
done:
	free(scopes);
	json_object_put(k);
	json_object_put(o);
	portal_viewer_end(&v);
}

/* ---- API keys ---- */

/* The application of an API key route and its keyType.  0, or -1 when it replied. */
static int
apikey_app(struct gh_call *c, struct gh_pg *db, struct portal_viewer *v, struct portal_app *a, const char *kt)
{
	if (portal_app_load(c, db, v, gh_call_param(c, "applicationId"), a) != 0)
		return -1;
	if (!key_type_ok(kt)) {
		gh_reply_error(c, 400, "Bad Request", "keyType must be PRODUCTION or SANDBOX");
		return -1;
	}
	return 0;
}

static void
apikey_generate(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct portal_app a;
	struct json_object *o = NULL, *b = NULL, *r = NULL, *out;
	const char *kt = gh_call_param(c, "keyType"), *p[1];
	char *apis = NULL;
	long long validity = 0;
	int st;

	if (portal_viewer_begin(c, db, &v, 0, "apim:api_key") != 0)
		return;
	if (apikey_app(c, db, &v, &a, kt) != 0)
		goto done;
	if (c->body_len > 0) {
		if ((o = gh_call_body(c, 415)) == NULL)
			goto done;
		if (int_member(o, "validityPeriod", &validity) < 0) {
			gh_reply_error(c, 400, "Bad Request", "validityPeriod must be a number of seconds");
			goto done;
		}
	}
	p[0] = a.id;
	apis = portal_one_text(db, "SELECT coalesce(jsonb_agg(jsonb_build_object('name', a.name, "
	    "  'context', a.context, 'version', a.version, 'publisher', a.provider, 'uuid', a.id, "
	    "  'subscriptionTier', s.tier, 'subscriberTenantDomain', s.tenant) ORDER BY a.id), '[]')::text "
	    "FROM gh_subscriptions s JOIN gh_apis a ON a.id = s.api_id WHERE s.app_id = $1", 1, p);
	if (apis == NULL) {
		portal_db_error(c, db, "The subscriptions could not be read");
		goto done;
	}
	b = json_object_new_object();
	json_object_object_add(b, "applicationId", json_object_new_string(a.id));
	json_object_object_add(b, "applicationName", json_object_new_string(a.name));
	json_object_object_add(b, "keyType", json_object_new_string(kt));
	json_object_object_add(b, "tenant", json_object_new_string(a.tenant));
	json_object_object_add(b, "owner", json_object_new_string(a.owner));
	json_object_object_add(b, "tier", json_object_new_string(a.tier));
	json_object_object_add(b, "validityPeriod", json_object_new_int64(validity));
	json_object_object_add(b, "apis", portal_json_text(apis));
	st = portal_km_json("POST", "/internal/km/v1/apikeys", b, &r);
	if (st != 200 || gh_json_str(r, "apikey") == NULL) {
		portal_km_error(c, st == 200 ? 0 : st, r, "The API key could not be generated");
		goto done;
	}
	audit_key(db, c, &v, "apikey.generate", &a, a.id, kt);
	out = json_object_new_object();
	json_object_object_add(out, "apikey", json_object_new_string(gh_json_str(r, "apikey")));
	json_object_object_add(out, "validityTime", json_object_get(json_object_object_get(r, "validityTime")));
	portal_reply(c, 200, out);
	gh_reply_header(c, "Cache-Control", "no-store");
done:
	free(apis);
	json_object_put(o);
	json_object_put(b);
	json_object_put(r);
	portal_viewer_end(&v);
}

/*
 * The claims of an API key (its payload, not verified here: the key
 * manager signed it, and the jti it names is only known to its holder).
 * New reference or NULL.
 */
static struct json_object *
apikey_claims(const char *jwt)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	unsigned char *raw = NULL;
	size_t len = 0;
	const char *why;
	struct json_object *o;

	if (d2 == NULL || gh_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &raw, &len) != 0)
		return NULL;
	o = gh_json_parse_object(raw, len, &why);
	free(raw);
	return o;
}

static void
apikey_revoke(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct portal_app a;
	struct json_object *o = NULL, *claims = NULL, *app, *b = NULL, *r = NULL;
	const char *kt = gh_call_param(c, "keyType"), *key;
	long long exp = 0;
	int st;

	if (portal_viewer_begin(c, db, &v, 0, "apim:api_key") != 0)
		return;
	if (apikey_app(c, db, &v, &a, kt) != 0)
		goto done;
	if ((o = gh_call_body(c, 415)) == NULL || portal_str(c, o, "apikey", 16384, PORTAL_STR_REQUIRED, &key) != 0)
		goto done;
	claims = apikey_claims(key);
	if (claims == NULL || !json_object_object_get_ex(claims, "application", &app) ||
	    gh_json_str(app, "id") == NULL || strcmp(gh_json_str(app, "id"), a.id) != 0 ||
	    gh_json_str(claims, "keytype") == NULL || strcmp(gh_json_str(claims, "keytype"), kt) != 0 ||
	    gh_json_str(claims, "jti") == NULL || gh_json_int(claims, "exp", &exp) != 0) {
		gh_reply_error(c, 400, "Bad Request", "apikey is not an API key of this application and key type");
		goto done;
	}
	b = json_object_new_object();
	json_object_object_add(b, "jti", json_object_new_string(gh_json_str(claims, "jti")));
	json_object_object_add(b, "exp", json_object_new_int64(exp));
	json_object_object_add(b, "tenant", json_object_new_string(a.tenant));
	st = portal_km_json("POST", "/internal/km/v1/apikeys/revoke", b, &r);
	if (st != 200) {
		portal_km_error(c, st, r, "The API key could not be revoked");
		goto done;
	}
	audit_key(db, c, &v, "apikey.revoke", &a, gh_json_str(claims, "jti"), kt);
	gh_reply_raw(c, 200, NULL, NULL, 0);
done:
	json_object_put(o);
	json_object_put(claims);
	json_object_put(b);
	json_object_put(r);
	portal_viewer_end(&v);
}

void
portal_key_routes(struct gh_router *r)
{
	const char *app = PORTAL_BASE "/applications/{applicationId}";
	char pat[200];

#define ROUTE(m, suffix, fn) \
	do { snprintf(pat, sizeof(pat), "%s%s", app, suffix); gh_call_route(r, m, pat, fn); } while (0)
	ROUTE("POST", "/generate-keys", keys_generate);
	ROUTE("GET", "/oauth-keys", keys_list);
	ROUTE("GET", "/oauth-keys/{keyMappingId}", key_get);
	ROUTE("PUT", "/oauth-keys/{keyMappingId}", key_update);
	ROUTE("DELETE", "/oauth-keys/{keyMappingId}", key_delete);
	ROUTE("POST", "/oauth-keys/{keyMappingId}/clean-up", key_delete);
	ROUTE("POST", "/oauth-keys/{keyMappingId}/regenerate-secret", key_regenerate);
	ROUTE("POST", "/oauth-keys/{keyMappingId}/generate-token", key_token);
	ROUTE("POST", "/api-keys/{keyType}/generate", apikey_generate);
	ROUTE("POST", "/api-keys/{keyType}/revoke", apikey_revoke);
#undef ROUTE
}
