/*
 * Tokens the portal asks for on behalf of an application's owner (portal
 * only).  /internal/km/v1/tokens mints a gateway token for an application
 * key without its secret (try-it, "generate a test token"): the portal has
 * checked that its caller owns the application, so the subject is the
 * application owner and the scopes are those the owner's roles allow.
 * /internal/km/v1/apikeys issues WSO2's "apikey" JWT for an application,
 * and /internal/km/v1/apikeys/revoke revokes one by its jti (a row of
 * gh_revoked_tokens and an apikey.revoked event, in one transaction).
 * API keys without an expiry (validityPeriod 0 or negative) get ten years.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "keymanager/internal.h"

#define TEN_YEARS 315360000LL
#define TOKEN_TTL_MAX 31536000LL        /* one year */
#define APIKEY_APIS_MAX 1000

static void
tokens_mint(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *o = NULL;
	struct km_client k = { 0 };
	struct km_grant g = { 0 };
	const char *client_id = NULL, *scope = NULL;
	char *user = NULL, *tenant = NULL, *granted = NULL, **roles = NULL;
	long long ttl = 0;
	int x, loaded = 0;

	if (km_in_require_role(c, "portal") != 0 || (o = gh_call_body(c, 400)) == NULL)
		goto out;
	if (gh_body_str(o, "clientId", &client_id) != 0 || client_id[0] == '\0') {
		gh_reply_error(c, 400, "Bad Request", "clientId (a string) is required");
		goto out;
	}
	if (gh_body_str(o, "scope", &scope) < 0 || (scope != NULL && strlen(scope) > 2000)) {
		gh_reply_error(c, 400, "Bad Request", "scope must be a space-separated string of scopes");
		goto out;
	}
	x = gh_json_int(o, "validityPeriod", &ttl);
	if (x < 0 || (x == 0 && ttl > TOKEN_TTL_MAX)) {
		gh_reply_error(c, 400, "Bad Request",
		    "validityPeriod must be an integer number of seconds, at most one year");
		goto out;
	}
	x = km_client_get(db, client_id, &k);
	if (x < 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		goto out;
	}
	if (x != 0) {
		gh_reply_error(c, 404, "Not Found", "No client has this id");
		goto out;
	}
	loaded = 1;
	if (k.app_id == NULL || strcmp(k.audience, KM_AUD_GATEWAY) != 0) {
		gh_reply_error(c, 400, "Bad Request", "The client is not the key of an application");
		goto out;
	}
	if (k.app_owner == NULL || km_user_split(db, k.app_owner, &user, &tenant) != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "The application owner cannot be resolved");
		goto out;
	}
	roles = scope != NULL && scope[0] != '\0' ? km_user_roles(tenant, user) : NULL;
	granted = km_scopes_grant(db, k.tenant, (const char *const *)roles, scope);
	if (granted == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		goto out;
	}
	g.client = &k;
	g.subject = k.app_owner;
	g.tenant = k.tenant;
	g.scope = granted;
	g.ttl = ttl > 0 ? (int64_t)ttl : 0;
	km_mint_reply(c, db, &g);
out:
	json_object_put(o);
	if (loaded)
		km_client_clear(&k);
	gh_ldap_strv_free(roles);
	free(granted);
	free(user);
	free(tenant);
}

/* The apis member: an array of objects of strings, copied for the claims.  0, -1 replied 400. */
static int
apikey_apis(struct gh_call *c, struct json_object *o, struct json_object **out)
{
	struct json_object *a = NULL;

	*out = NULL;
	if (gh_body_member(o, "apis", json_type_array, &a) < 0 || (a != NULL && json_object_array_length(a) > APIKEY_APIS_MAX))
		goto bad;
	if (a == NULL)
		return 0;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *api = json_object_array_get_idx(a, i);
		if (!json_object_is_type(api, json_type_object))
			goto bad;
		json_object_object_foreach(api, key, val) {
			(void)key;
			if (!json_object_is_type(val, json_type_string))
				goto bad;
		}
	}
	if (json_object_deep_copy(a, out, NULL) != 0)
		goto bad;
	return 0;
bad:
	gh_reply_error(c, 400, "Bad Request", "apis must be an array of at most 1000 objects of strings "
	    "(name, context, version, publisher, ...)");
	return -1;
}

static void
apikeys_issue(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *o = NULL, *claims = NULL, *app = NULL, *apis = NULL, *resp = NULL, *details = NULL;
	const char *app_id = NULL, *key_type = NULL, *tenant = NULL, *owner = NULL, *app_name = NULL,
	    *tier = NULL;
	char *jti = NULL, *jwt = NULL, *ouser = NULL, *otenant = NULL, actor[160];
	long long period = 0;
	int64_t now = (int64_t)time(NULL), ttl;
	int x;

	if (km_in_require_role(c, "portal") != 0 || (o = gh_call_body(c, 400)) == NULL)
		goto out;
	if (gh_body_str(o, "applicationId", &app_id) < 0 || gh_body_str(o, "keyType", &key_type) < 0 ||
	    gh_body_str(o, "tenant", &tenant) < 0 || gh_body_str(o, "owner", &owner) < 0 ||
	    gh_body_str(o, "applicationName", &app_name) < 0 || gh_body_str(o, "tier", &tier) < 0) {
		gh_reply_error(c, 400, "Bad Request", "applicationId, keyType, tenant, owner, applicationName and "
		    "tier must be strings");
		goto out;
	}
	if (app_id == NULL || key_type == NULL || tenant == NULL || owner == NULL || app_name == NULL) {
		gh_reply_error(c, 400, "Bad Request", "applicationId, keyType, tenant, owner and applicationName "
		    "are required");
		goto out;
	}
	if (!gh_body_text_ok(app_id, 128, 0) || !gh_body_text_ok(app_name, 100, 0)) {
		gh_reply_error(c, 400, "Bad Request", "applicationId and applicationName must be short text");
		goto out;
	}
	if (strcmp(key_type, "PRODUCTION") != 0 && strcmp(key_type, "SANDBOX") != 0) {
		gh_reply_error(c, 400, "Bad Request", "keyType must be PRODUCTION or SANDBOX");
		goto out;
	}
	if (tier == NULL)
		tier = "Unlimited";
	if (!gh_body_name_ok(tier, 64)) {
		gh_reply_error(c, 400, "Bad Request", "tier must be 1 to 64 letters, digits, space, '_', '.' or '-'");
		goto out;
	}
	x = gh_json_int(o, "validityPeriod", &period);
	if (x < 0) {
		gh_reply_error(c, 400, "Bad Request", "validityPeriod must be an integer number of seconds");
		goto out;
	}
	ttl = x != 0 || period <= 0 || period > TEN_YEARS ? TEN_YEARS : (int64_t)period;
	if (!gh_ldap_tenant_valid(tenant) || (x = km_in_tenant_active(db, tenant)) == 0) {
		gh_reply_error(c, 400, "Bad Request", "tenant is not an active tenant");
		goto out;
	}
	if (x < 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		goto out;
	}
	if (!gh_body_text_ok(owner, 300, 0) || strrchr(owner, '@') == owner) {
		gh_reply_error(c, 400, "Bad Request", "owner is not a valid user name");
		goto out;
	}
	if (km_user_split(db, owner, &ouser, &otenant) != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		goto out;
	}
	if (!km_in_user_ok(ouser)) {
		gh_reply_error(c, 400, "Bad Request", "owner is not a valid user name");
		goto out;
	}
	if (strcmp(otenant, tenant) != 0) {
		gh_reply_error(c, 400, "Bad Request", "owner is not a user of tenant (give the full user name)");
		goto out;
	}
	if (apikey_apis(c, o, &apis) != 0)
		goto out;
	jti = gh_random_hex(16);
	if (jti == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		goto out;
	}
	claims = json_object_new_object();
	app = json_object_new_object();
	json_object_object_add(app, "id", json_object_new_string(app_id));
	json_object_object_add(app, "name", json_object_new_string(app_name));
	json_object_object_add(app, "tier", json_object_new_string(tier));
	json_object_object_add(app, "owner", json_object_new_string(owner));
	json_object_object_add(app, "tenant", json_object_new_string(tenant));
	json_object_object_add(claims, "iss", json_object_new_string(km.issuer));
	json_object_object_add(claims, "sub", json_object_new_string(owner));
	json_object_object_add(claims, "aud", json_object_new_string(KM_AUD_GATEWAY));
	json_object_object_add(claims, "iat", json_object_new_int64(now));
	json_object_object_add(claims, "nbf", json_object_new_int64(now));
	json_object_object_add(claims, "exp", json_object_new_int64(now + ttl));
	json_object_object_add(claims, "jti", json_object_new_string(jti));
	json_object_object_add(claims, "token_type", json_object_new_string("apiKey"));
	json_object_object_add(claims, "keytype", json_object_new_string(key_type));
	json_object_object_add(claims, "application", app);
	json_object_object_add(claims, "tenant", json_object_new_string(tenant));
	if (apis != NULL) {
		json_object_object_add(claims, "subscribedAPIs", apis);
		apis = NULL;
	}
	jwt = km_keys_sign(claims, GH_JOSE_ALG_UNKNOWN);
	if (jwt == NULL) {
		KM_COUNT(token_errors);
		gh_reply_error(c, 500, "Internal Server Error", "The API key could not be signed");
		goto out;
	}
	KM_COUNT(tokens_issued);
	details = json_object_new_object();
	json_object_object_add(details, "application_id", json_object_new_string(app_id));
	json_object_object_add(details, "key_type", json_object_new_string(key_type));
	json_object_object_add(details, "owner", json_object_new_string(owner));
	json_object_object_add(details, "exp", json_object_new_int64(now + ttl));
	km_audit(db, c, km_in_actor(c, actor, sizeof(actor)), tenant, "apikey.create", jti, "success", details);
	resp = json_object_new_object();
	json_object_object_add(resp, "apikey", json_object_new_string(jwt));
	json_object_object_add(resp, "validityTime", json_object_new_int64(ttl));
	gh_reply_json(c, 200, resp);
	gh_reply_header(c, "Cache-Control", "no-store");
out:
	json_object_put(resp);
	json_object_put(details);
	json_object_put(claims);
	json_object_put(apis);
	json_object_put(o);
	free(jti);
	if (jwt != NULL)
		gh_free_secret(jwt);
	free(ouser);
	free(otenant);
}

struct revoke_tx {
	const char *jti, *tenant, *exp;
	int fresh;                      /* this call revoked it (not already revoked) */
};

static int
revoke_tx(struct gh_pg *db, void *arg)
{
	struct revoke_tx *t = arg;
	int n = km_revoke_jti(db, "apikey.revoked", t->jti, NULL, t->tenant, strtoll(t->exp, NULL, 10));

	if (n < 0)
		return -1;
	t->fresh = n;
	return 0;
}

static void
apikeys_revoke(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *o = NULL, *resp = NULL;
	struct revoke_tx t = { 0 };
	char exps[24], actor[160];
	long long exp = 0;
	int x;

	if (km_in_require_role(c, "portal") != 0 || (o = gh_call_body(c, 400)) == NULL)
		goto out;
	if (gh_body_str(o, "jti", &t.jti) != 0 || !gh_body_chars_ok(t.jti, 128, "_.-")) {
		gh_reply_error(c, 400, "Bad Request", "jti (1 to 128 letters, digits, '_', '.' or '-') is required");
		goto out;
	}
	if (gh_json_int(o, "exp", &exp) != 0 || exp <= 0 || exp > INT64_C(253402300799)) {
		gh_reply_error(c, 400, "Bad Request", "exp (the API key's expiry, seconds since the epoch) is required");
		goto out;
	}
	if (gh_body_str(o, "tenant", &t.tenant) < 0) {
		gh_reply_error(c, 400, "Bad Request", "tenant must be a string");
		goto out;
	}
	if (t.tenant == NULL)
		t.tenant = GH_LDAP_SUPER_TENANT;
	if (!gh_ldap_tenant_valid(t.tenant) || (x = km_in_tenant_active(db, t.tenant)) == 0) {
		gh_reply_error(c, 400, "Bad Request", "tenant is not an active tenant");
		goto out;
	}
	if (x < 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		goto out;
	}
	snprintf(exps, sizeof(exps), "%lld", exp);
	t.exp = exps;
	if (gh_pg_run_tx(db, 0, revoke_tx, &t) != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "The API key could not be revoked");
		goto out;
	}
	if (t.fresh) {
		KM_COUNT(revocations);
		km_audit(db, c, km_in_actor(c, actor, sizeof(actor)), t.tenant, "apikey.revoke", t.jti,
		    "success", NULL);
	}
	resp = json_object_new_object();
	json_object_object_add(resp, "jti", json_object_new_string(t.jti));
	json_object_object_add(resp, "revoked", json_object_new_boolean(1));
	gh_reply_json(c, 200, resp);
out:
	json_object_put(resp);
	json_object_put(o);
}

void
km_internal_token_routes(struct gh_router *r)
{
	gh_call_route(r, "POST", "/internal/km/v1/tokens", tokens_mint);
	gh_call_route(r, "POST", "/internal/km/v1/apikeys", apikeys_issue);
	gh_call_route(r, "POST", "/internal/km/v1/apikeys/revoke", apikeys_revoke);
}
