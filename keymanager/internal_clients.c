/*
 * /internal/km/v1/clients (portal only): the OAuth clients of application
 * keys.  The portal owns applications; for each (application, key type)
 * it asks here for one client, audience gatehouse-gateway, whose secret is
 * returned once (on create and on regenerate-secret) and stored as SHA-256.
 * Every change writes its event for the gateways in the same transaction:
 * key.created, key.updated, key.removed, and client.revoked when a new
 * secret makes every earlier token of the client invalid.  The revocation
 * time is cut to the whole second, as tokens carry whole-second iat: a
 * token minted with the new secret in that second stays valid.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "keymanager/internal.h"

#define KEY_RETURNING "client_id, app_id, app_name, app_tier, key_type, owner, tenant, token_type, " \
	"array_to_string(grant_types, ' '), callback_url"
#define VALIDITY_MAX 315360000LL        /* ten years */

struct key_tx {
	/* inputs */
	const char *client_id, *owner, *tenant, *app_id, *app_name, *tier, *key_type, *callback,
	    *token_type, *secret_hash, *client_name;
	const char *grants;             /* space-separated, NULL: unchanged (update) */
	const char *validity;           /* decimal seconds or NULL */
	int set_callback;               /* update: callbackUrl given (maybe null) */
	/* outputs */
	char *tenant_out;
	int64_t not_before;
};

static struct json_object *
strv_json(char **v)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* The portal's view of a client (never its secret). */
static struct json_object *
client_json(const struct km_client *k)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "clientId", json_object_new_string(k->client_id));
	json_object_object_add(o, "clientName", json_object_new_string(k->name));
	json_object_object_add(o, "applicationId", km_in_jstr(k->app_id));
	json_object_object_add(o, "applicationName", km_in_jstr(k->app_name));
	json_object_object_add(o, "tier", km_in_jstr(k->app_tier));
	json_object_object_add(o, "keyType", km_in_jstr(k->key_type));
	json_object_object_add(o, "owner", json_object_new_string(k->owner));
	json_object_object_add(o, "tenant", json_object_new_string(k->tenant));
	json_object_object_add(o, "grantTypes", strv_json(k->grant_types));
	json_object_object_add(o, "callbackUrl", km_in_jstr(k->callback_url));
	json_object_object_add(o, "tokenType", json_object_new_string(k->token_type));
	json_object_object_add(o, "validityTime", json_object_new_int64(k->validity > 0 ? k->validity : km.access_ttl));
	json_object_object_add(o, "audience", json_object_new_string(k->audience));
	return o;
}

/* Event payload from one KEY_RETURNING row: JSON text (malloc'd) or NULL. */
static char *
key_payload(const PGresult *res)
{
	static const char *const names[] = { "client_id", "application_id", "application_name", "tier",
		"key_type", "owner", "tenant", "token_type", "grant_types", "callback_url" };
	struct json_object *o = json_object_new_object();
	char *out;

	for (int i = 0; i < 10; i++)
		json_object_object_add(o, names[i], km_in_jstr(gh_pg_get(res, 0, i)));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* Run one KEY_RETURNING statement and append event type for its row.  0, 1 no row, -1 db. */
static int
key_change(struct gh_pg *db, struct key_tx *t, const char *type, const char *sql, int n,
    const char *const *p)
{
	PGresult *res = gh_pg_exec(db, sql, n, p);
	char *payload;
	int rc;

	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) != 1) {
		PQclear(res);
		return 1;
	}
	/* update: an authorization_code client needs its callback */
	if (strstr(gh_pg_get(res, 0, 8), "authorization_code") != NULL && gh_pg_get(res, 0, 9) == NULL) {
		PQclear(res);
		return 2;
	}
	free(t->tenant_out);
	t->tenant_out = strdup(gh_pg_get(res, 0, 6));
	payload = key_payload(res);
	PQclear(res);
	if (payload == NULL || t->tenant_out == NULL) {
		free(payload);
		gh_pg_set_error(db, GH_PG_SQLSTATE_NOMEM, "out of memory");
		return -1;
	}
	rc = gh_outbox_append(db, t->tenant_out, type, payload, NULL);
	free(payload);
	return rc;
}

static int
create_tx(struct gh_pg *db, void *arg)
{
	struct key_tx *t = arg;
	const char *p[13] = { t->client_id, t->secret_hash, t->tenant, t->owner, t->client_name, t->grants,
		t->callback, t->token_type, t->app_id, t->app_name, t->tier, t->key_type, t->validity };

	return key_change(db, t, "key.created",
	    "INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types, "
	    "  callback_url, audience, token_type, app_id, app_name, app_tier, app_owner, key_type, "
	    "  validity_seconds) "
	    "VALUES ($1, $2, $3, $4, $5, string_to_array($6, ' '), $7, 'gatehouse-gateway', $8, $9, $10, $11, "
	    "  $4, $12, $13::integer) RETURNING " KEY_RETURNING, 13, p);
}

static int
update_tx(struct gh_pg *db, void *arg)
{
	struct key_tx *t = arg;
	const char *p[6] = { t->client_id, t->app_name, t->tier, t->grants, t->callback,
		t->set_callback ? "t" : "f" };

	return key_change(db, t, "key.updated",
	    "UPDATE gh_oauth_clients SET app_name = coalesce($2, app_name), app_tier = coalesce($3, app_tier), "
	    "  client_name = owner || '_' || coalesce($2, app_name) || '_' || key_type, "
	    "  grant_types = coalesce(string_to_array($4, ' '), grant_types), "
	    "  callback_url = CASE WHEN $6::boolean THEN $5 ELSE callback_url END, updated_at = now() "
	    "WHERE client_id = $1 AND app_id IS NOT NULL RETURNING " KEY_RETURNING, 6, p);
}

static int
delete_tx(struct gh_pg *db, void *arg)
{
	struct key_tx *t = arg;
	const char *p[1] = { t->client_id };

	return key_change(db, t, "key.removed",
	    "DELETE FROM gh_oauth_clients WHERE client_id = $1 AND app_id IS NOT NULL RETURNING " KEY_RETURNING,
	    1, p);
}

static int
regenerate_tx(struct gh_pg *db, void *arg)
{
	struct key_tx *t = arg;
	const char *p[2] = { t->client_id, t->secret_hash };
	struct json_object *o;
	PGresult *res;

	res = gh_pg_exec(db, "UPDATE gh_oauth_clients SET secret_hash = $2, "
	    "  not_before = date_trunc('second', now()), updated_at = now() "
	    "WHERE client_id = $1 AND app_id IS NOT NULL "
	    "RETURNING tenant, extract(epoch from not_before)::bigint", 2, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) != 1) {
		PQclear(res);
		return 1;
	}
	free(t->tenant_out);
	t->tenant_out = strdup(gh_pg_get(res, 0, 0));
	gh_pg_get_int64(res, 0, 1, &t->not_before);
	PQclear(res);
	if (t->tenant_out == NULL)
		return -1;
	o = json_object_new_object();
	json_object_object_add(o, "client_id", json_object_new_string(t->client_id));
	json_object_object_add(o, "not_before", json_object_new_int64(t->not_before));
	return km_event(db, t->tenant_out, "client.revoked", o);
}

/* grantTypes of o into out (space-separated).  0 ok (absent: out unchanged), -1 replied 400. */
static int
grants_member(struct gh_call *c, struct json_object *o, char *out, size_t outlen, int *given)
{
	struct json_object *a = NULL;
	const char *why = NULL;
	int x = gh_body_member(o, "grantTypes", json_type_array, &a);

	*given = x == 0;
	if (x < 0) {
		gh_reply_error(c, 400, "Bad Request", "grantTypes must be an array of strings");
		return -1;
	}
	if (a == NULL)
		return 0;
	out[0] = '\0';
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *g = json_object_array_get_idx(a, i);
		if (!json_object_is_type(g, json_type_string)) {
			gh_reply_error(c, 400, "Bad Request", "grantTypes must be an array of strings");
			return -1;
		}
		if (km_in_grant_add(out, outlen, json_object_get_string(g), &why) != 0) {
			gh_reply_error(c, 400, "Bad Request", why);
			return -1;
		}
	}
	if (out[0] == '\0') {
		gh_reply_error(c, 400, "Bad Request", "grantTypes must name at least one grant type");
		return -1;
	}
	return 0;
}

/* callbackUrl of o: 0 ok (*out NULL when absent, null or empty; *given), -1 replied 400. */
static int
callback_member(struct gh_call *c, struct json_object *o, const char **out, int *given)
{
	int x = gh_body_str(o, "callbackUrl", out);

	*given = json_object_object_get_ex(o, "callbackUrl", NULL);
	if (x < 0 || (*out != NULL && (*out)[0] != '\0' && !km_in_url_ok(*out))) {
		gh_reply_error(c, 400, "Bad Request", "callbackUrl must be a URL of printable ASCII without spaces");
		return -1;
	}
	if (*out != NULL && (*out)[0] == '\0')
		*out = NULL;
	return 0;
}

/* Reply the stored client (optionally with its new secret) with status. */
static void
reply_client(struct gh_call *c, struct gh_pg *db, const char *client_id, const char *secret, int status)
{
	struct km_client k;
	struct json_object *o;

	if (km_client_get(db, client_id, &k) != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "The client could not be read back");
		return;
	}
	o = client_json(&k);
	if (secret != NULL)
		json_object_object_add(o, "clientSecret", json_object_new_string(secret));
	gh_reply_json(c, status, o);
	gh_reply_header(c, "Cache-Control", "no-store");
	json_object_put(o);
	km_client_clear(&k);
}

static void
audit_key(struct gh_call *c, struct gh_pg *db, const char *action, const char *tenant,
    const char *client_id, const char *outcome, struct json_object *details)
{
	char actor[160];

	km_audit(db, c, km_in_actor(c, actor, sizeof(actor)), tenant, action, client_id, outcome, details);
}

static void
clients_create(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *o = NULL, *details = NULL;
	struct key_tx t = { 0 };
	char grants[KM_IN_GRANTS_MAX] = "", hash[65] = "", validity[24], *client_id = NULL, *secret = NULL;
	char *client_name = NULL, *ouser = NULL, *otenant = NULL;
	const char *tt = NULL;
	long long v = 0;
	int given, x, rc;

	if (km_in_require_role(c, "portal") != 0 || (o = gh_call_body(c, 400)) == NULL)
		goto out;
	if (gh_body_str(o, "owner", &t.owner) < 0 || gh_body_str(o, "tenant", &t.tenant) < 0 ||
	    gh_body_str(o, "applicationId", &t.app_id) < 0 || gh_body_str(o, "applicationName", &t.app_name) < 0 ||
	    gh_body_str(o, "tier", &t.tier) < 0 || gh_body_str(o, "keyType", &t.key_type) < 0 ||
	    gh_body_str(o, "tokenType", &tt) < 0) {
		gh_reply_error(c, 400, "Bad Request", "owner, tenant, applicationId, applicationName, tier, "
		    "keyType and tokenType must be strings");
		goto out;
	}
	if (t.owner == NULL || t.tenant == NULL || t.app_id == NULL || t.app_name == NULL || t.key_type == NULL) {
		gh_reply_error(c, 400, "Bad Request", "owner, tenant, applicationId, applicationName and keyType "
		    "are required");
		goto out;
	}
	if (!gh_ldap_tenant_valid(t.tenant) || (x = km_in_tenant_active(db, t.tenant)) == 0) {
		gh_reply_error(c, 400, "Bad Request", "tenant is not an active tenant");
		goto out;
	}
	if (x < 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		goto out;
	}
	if (!gh_body_text_ok(t.owner, 300, 0) || strrchr(t.owner, '@') == t.owner) {
		gh_reply_error(c, 400, "Bad Request", "owner is not a valid user name");
		goto out;
	}
	if (km_user_split(db, t.owner, &ouser, &otenant) != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		goto out;
	}
	if (!km_in_user_ok(ouser)) {
		gh_reply_error(c, 400, "Bad Request", "owner is not a valid user name");
		goto out;
	}
	if (strcmp(otenant, t.tenant) != 0) {
		gh_reply_error(c, 400, "Bad Request", "owner is not a user of tenant (give the full user name)");
		goto out;
	}
	if (!gh_body_id_ok(t.app_id)) {
		gh_reply_error(c, 400, "Bad Request",
		    "applicationId must be 1 to 128 characters of letters, digits, '_', '.', ':' and '-'");
		goto out;
	}
	if (!gh_body_text_ok(t.app_name, 100, 0)) {
		gh_reply_error(c, 400, "Bad Request", "applicationName must be 1 to 100 characters of text");
		goto out;
	}
	if (t.tier == NULL)
		t.tier = "Unlimited";
	if (!gh_body_name_ok(t.tier, 64)) {
		gh_reply_error(c, 400, "Bad Request", "tier must be 1 to 64 letters, digits, space, '_', '.' or '-'");
		goto out;
	}
	if (strcmp(t.key_type, "PRODUCTION") != 0 && strcmp(t.key_type, "SANDBOX") != 0) {
		gh_reply_error(c, 400, "Bad Request", "keyType must be PRODUCTION or SANDBOX");
		goto out;
	}
	t.token_type = tt ? tt : "JWT";
	if (strcmp(t.token_type, "JWT") != 0 && strcmp(t.token_type, "OPAQUE") != 0) {
		gh_reply_error(c, 400, "Bad Request", "tokenType must be JWT or OPAQUE");
		goto out;
	}
	snprintf(grants, sizeof(grants), "client_credentials");
	if (grants_member(c, o, grants, sizeof(grants), &given) != 0 ||
	    callback_member(c, o, &t.callback, &given) != 0)
		goto out;
	if (strstr(grants, "authorization_code") != NULL && t.callback == NULL) {
		gh_reply_error(c, 400, "Bad Request", "The authorization_code grant needs a callbackUrl");
		goto out;
	}
	x = gh_json_int(o, "validityTime", &v);
	if (x < 0 || (x == 0 && v > VALIDITY_MAX)) {
		gh_reply_error(c, 400, "Bad Request", "validityTime must be an integer number of seconds "
		    "(at most ten years; 0 or less: the default)");
		goto out;
	}
	if (x == 0 && v > 0) {
		snprintf(validity, sizeof(validity), "%lld", v);
		t.validity = validity;
	}
	km_client_new_credentials(&client_id, &secret);
	if (client_id == NULL || secret == NULL ||
	    asprintf(&client_name, "%s_%s_%s", t.owner, t.app_name, t.key_type) < 0) {
		client_name = NULL;
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		goto out;
	}
	km_secret_hash(secret, hash);
	t.client_id = client_id;
	t.secret_hash = hash;
	t.client_name = client_name;
	t.grants = grants;
	rc = gh_pg_run_tx(db, 0, create_tx, &t);
	details = json_object_new_object();
	json_object_object_add(details, "application_id", json_object_new_string(t.app_id));
	json_object_object_add(details, "key_type", json_object_new_string(t.key_type));
	json_object_object_add(details, "owner", json_object_new_string(t.owner));
	if (rc != 0 && gh_pg_is(db, "23505")) {
		audit_key(c, db, "key.create", t.tenant, NULL, "failure", details);
		gh_reply_error(c, 409, "Conflict", "This application already has a client for this key type");
		goto out;
	}
	if (rc != 0) {
		gh_log_error("key_create", c->request_id, "cannot create the key of %s: %s", t.app_id,
		    gh_pg_errmsg(db));
		gh_reply_error(c, 500, "Internal Server Error", "The key could not be created");
		goto out;
	}
	KM_COUNT(clients_created);
	audit_key(c, db, "key.create", t.tenant, client_id, "success", details);
	reply_client(c, db, client_id, secret, 201);
out:
	explicit_bzero(hash, sizeof(hash));
	json_object_put(details);
	json_object_put(o);
	free(t.tenant_out);
	free(client_id);
	free(client_name);
	free(ouser);
	free(otenant);
	if (secret != NULL)
		gh_free_secret(secret);
}

/* The application client of the route's clientId: 0 loaded, -1 replied (404/500). */
static int
app_client(struct gh_call *c, struct gh_pg *db, struct km_client *k)
{
	int x = km_client_get(db, gh_call_param(c, "clientId"), k);

	if (x < 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		return -1;
	}
	if (x != 0 || k->app_id == NULL) {
		if (x == 0)
			km_client_clear(k);
		gh_reply_error(c, 404, "Not Found", "No application key has this client id");
		return -1;
	}
	return 0;
}

static void
clients_get(struct gh_call *c, struct gh_pg *db)
{
	struct km_client k;
	struct json_object *o;

	if (km_in_require_role(c, "portal") != 0 || app_client(c, db, &k) != 0)
		return;
	o = client_json(&k);
	gh_reply_json(c, 200, o);
	json_object_put(o);
	km_client_clear(&k);
}

static void
clients_update(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *o = NULL, *details = NULL;
	struct key_tx t = { 0 };
	char grants[KM_IN_GRANTS_MAX] = "";
	int grants_given = 0, rc;

	if (km_in_require_role(c, "portal") != 0 || (o = gh_call_body(c, 400)) == NULL)
		goto out;
	t.client_id = gh_call_param(c, "clientId");
	if (gh_body_str(o, "applicationName", &t.app_name) < 0 || gh_body_str(o, "tier", &t.tier) < 0) {
		gh_reply_error(c, 400, "Bad Request", "applicationName and tier must be strings");
		goto out;
	}
	if (t.app_name != NULL && !gh_body_text_ok(t.app_name, 100, 0)) {
		gh_reply_error(c, 400, "Bad Request", "applicationName must be 1 to 100 characters of text");
		goto out;
	}
	if (t.tier != NULL && !gh_body_name_ok(t.tier, 64)) {
		gh_reply_error(c, 400, "Bad Request", "tier must be 1 to 64 letters, digits, space, '_', '.' or '-'");
		goto out;
	}
	if (grants_member(c, o, grants, sizeof(grants), &grants_given) != 0 ||
	    callback_member(c, o, &t.callback, &t.set_callback) != 0)
		goto out;
	t.grants = grants_given ? grants : NULL;
	if (t.app_name == NULL && t.tier == NULL && !grants_given && !t.set_callback) {
		gh_reply_error(c, 400, "Bad Request",
		    "Nothing to update: give applicationName, tier, grantTypes or callbackUrl");
		goto out;
	}
	rc = gh_pg_run_tx(db, 0, update_tx, &t);
	if (rc == 1) {
		gh_reply_error(c, 404, "Not Found", "No application key has this client id");
		goto out;
	}
	if (rc == 2) {
		gh_reply_error(c, 400, "Bad Request", "The authorization_code grant needs a callbackUrl");
		goto out;
	}
	if (rc != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "The key could not be updated");
		goto out;
	}
	details = json_object_new_object();
	if (t.app_name != NULL)
		json_object_object_add(details, "application_name", json_object_new_string(t.app_name));
	if (t.tier != NULL)
		json_object_object_add(details, "tier", json_object_new_string(t.tier));
	if (grants_given)
		json_object_object_add(details, "grant_types", json_object_new_string(grants));
	km_client_invalidate(t.client_id);
	audit_key(c, db, "key.update", t.tenant_out, t.client_id, "success", details);
	reply_client(c, db, t.client_id, NULL, 200);
out:
	json_object_put(details);
	json_object_put(o);
	free(t.tenant_out);
}

static void
clients_regenerate(struct gh_call *c, struct gh_pg *db)
{
	struct key_tx t = { 0 };
	char *client_id = NULL, *secret = NULL, hash[65] = "";
	struct json_object *o = NULL;
	int rc;

	if (km_in_require_role(c, "portal") != 0)
		return;
	km_client_new_credentials(&client_id, &secret);
	if (secret == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		goto out;
	}
	km_secret_hash(secret, hash);
	t.client_id = gh_call_param(c, "clientId");
	t.secret_hash = hash;
	rc = gh_pg_run_tx(db, 0, regenerate_tx, &t);
	if (rc == 1) {
		gh_reply_error(c, 404, "Not Found", "No application key has this client id");
		goto out;
	}
	if (rc != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "The secret could not be regenerated");
		goto out;
	}
	audit_key(c, db, "key.regenerate_secret", t.tenant_out, t.client_id, "success", NULL);
	o = json_object_new_object();
	km_client_invalidate(t.client_id);
	json_object_object_add(o, "clientId", json_object_new_string(t.client_id));
	json_object_object_add(o, "clientSecret", json_object_new_string(secret));
	json_object_object_add(o, "notBefore", json_object_new_int64(t.not_before));
	gh_reply_json(c, 200, o);
	gh_reply_header(c, "Cache-Control", "no-store");
out:
	json_object_put(o);
	explicit_bzero(hash, sizeof(hash));
	free(client_id);
	if (secret != NULL)
		gh_free_secret(secret);
	free(t.tenant_out);
}

static void
clients_delete(struct gh_call *c, struct gh_pg *db)
{
	struct key_tx t = { 0 };
	int rc;

	if (km_in_require_role(c, "portal") != 0)
		return;
	t.client_id = gh_call_param(c, "clientId");
	rc = gh_pg_run_tx(db, 0, delete_tx, &t);
	km_client_invalidate(t.client_id);
	if (rc == 1) {
		gh_reply_error(c, 404, "Not Found", "No application key has this client id");
	} else if (rc != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "The key could not be deleted");
	} else {
		audit_key(c, db, "key.delete", t.tenant_out, t.client_id, "success", NULL);
		gh_reply_raw(c, 204, NULL, NULL, 0);
	}
	free(t.tenant_out);
}

void
km_internal_client_routes(struct gh_router *r)
{
	gh_call_route(r, "POST", "/internal/km/v1/clients", clients_create);
	gh_call_route(r, "GET", "/internal/km/v1/clients/{clientId}", clients_get);
	gh_call_route(r, "PUT", "/internal/km/v1/clients/{clientId}", clients_update);
	gh_call_route(r, "DELETE", "/internal/km/v1/clients/{clientId}", clients_delete);
	gh_call_route(r, "POST", "/internal/km/v1/clients/{clientId}/regenerate-secret", clients_regenerate);
}
