/*
 * WSO2's dynamic client registration, POST /client-registration/v0.17/register:
 * a user, authenticated by HTTP Basic against LDAP (with the user-name and
 * address lock-outs), registers a management client (audience
 * gatehouse-management, no application, JWT tokens) owned by itself, or,
 * as an admin of its tenant, by another user of that tenant.  Owners are
 * stored as WSO2 full names: the bare user in carbon.super, user@tenant
 * otherwise.  The request takes WSO2's names (clientName, callbackUrl,
 * grantType, owner, saasApp, tokenScope; answered 200 with WSO2's fields)
 * or RFC 7591's (client_name, redirect_uris, grant_types; answered 201 with
 * RFC 7591's members added).  Registering a name its owner already holds
 * answers that client again: WSO2 returns the stored secret, but we keep
 * only its SHA-256, so the secret is rotated and the new one returned under
 * the same client id (tokens already issued stay valid; its grant types and
 * callback stay as first registered).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "keymanager/internal.h"

#define DCR_NAME_MAX 100
#define DCR_SCOPE_MAX 100

struct dcr_req {
	int rfc;                        /* RFC 7591 member names used */
	const char *name, *callback, *owner, *token_scope;
	char grants[KM_IN_GRANTS_MAX];
	int saas;
};

static void
dcr_unauthorized(struct gh_call *c, const char *description)
{
	gh_reply_error(c, 401, "Unauthorized", description);
	gh_reply_header(c, "WWW-Authenticate", "Basic realm=\"gatehouse\"");
}

/* Both spellings of one member: 0 with *out (maybe NULL), -1 after replying 400. */
static int
dcr_str(struct gh_call *c, struct json_object *o, const char *wso2, const char *rfc, const char **out)
{
	const char *a = NULL, *b = NULL;
	char why[160];

	if (gh_body_str(o, wso2, &a) < 0) {
		snprintf(why, sizeof(why), "%s must be a string", wso2);
		gh_reply_error(c, 400, "Bad Request", why);
		return -1;
	}
	if (rfc != NULL && gh_body_str(o, rfc, &b) < 0) {
		snprintf(why, sizeof(why), "%s must be a string", rfc);
		gh_reply_error(c, 400, "Bad Request", why);
		return -1;
	}
	if (a != NULL && b != NULL) {
		snprintf(why, sizeof(why), "Give either %s or %s, not both", wso2, rfc);
		gh_reply_error(c, 400, "Bad Request", why);
		return -1;
	}
	*out = a ? a : b;
	return 0;
}

/* Read and check the request members into r.  0 ok, -1 after replying 400. */
static int
dcr_parse(struct gh_call *c, struct json_object *o, struct dcr_req *r)
{
	struct json_object *uris = NULL, *grants = NULL;
	const char *gstr = NULL, *why = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	r->rfc = json_object_object_get_ex(o, "client_name", NULL) ||
	    json_object_object_get_ex(o, "redirect_uris", NULL) ||
	    json_object_object_get_ex(o, "grant_types", NULL);
	if (dcr_str(c, o, "clientName", "client_name", &r->name) != 0 ||
	    dcr_str(c, o, "callbackUrl", NULL, &r->callback) != 0 ||
	    dcr_str(c, o, "owner", NULL, &r->owner) != 0 ||
	    dcr_str(c, o, "tokenScope", NULL, &r->token_scope) != 0 ||
	    dcr_str(c, o, "grantType", NULL, &gstr) != 0)
		return -1;
	if (r->name == NULL) {
		gh_reply_error(c, 400, "Bad Request", "clientName (or client_name) is required");
		return -1;
	}
	if (!gh_body_name_ok(r->name, DCR_NAME_MAX)) {
		gh_reply_error(c, 400, "Bad Request",
		    "clientName must be 1 to 100 characters of letters, digits, space, '_', '.' and '-'");
		return -1;
	}
	if (gh_body_member(o, "redirect_uris", json_type_array, &uris) < 0 ||
	    gh_body_member(o, "grant_types", json_type_array, &grants) < 0) {
		gh_reply_error(c, 400, "Bad Request", "redirect_uris and grant_types must be arrays of strings");
		return -1;
	}
	if (uris != NULL && r->callback != NULL) {
		gh_reply_error(c, 400, "Bad Request", "Give either callbackUrl or redirect_uris, not both");
		return -1;
	}
	if (uris != NULL && json_object_array_length(uris) > 1) {
		gh_reply_error(c, 400, "Bad Request", "Only one redirect URI can be registered");
		return -1;
	}
	if (uris != NULL && json_object_array_length(uris) == 1) {
		struct json_object *u = json_object_array_get_idx(uris, 0);
		if (!json_object_is_type(u, json_type_string)) {
			gh_reply_error(c, 400, "Bad Request", "redirect_uris must be an array of strings");
			return -1;
		}
		r->callback = json_object_get_string(u);
	}
	if (r->callback != NULL && r->callback[0] == '\0')
		r->callback = NULL;
	if (r->callback != NULL && !km_in_url_ok(r->callback)) {
		gh_reply_error(c, 400, "Bad Request", "The callback URL must be printable ASCII without spaces");
		return -1;
	}
	if (gstr != NULL && grants != NULL) {
		gh_reply_error(c, 400, "Bad Request", "Give either grantType or grant_types, not both");
		return -1;
	}
	if (gstr != NULL) {
		char *copy = strdup(gstr), *save = NULL;
		rc = copy ? 0 : -1;
		why = "Out of memory";
		for (char *g = copy ? strtok_r(copy, " ", &save) : NULL; g != NULL && rc == 0;
		    g = strtok_r(NULL, " ", &save))
			rc = km_in_grant_add(r->grants, sizeof(r->grants), g, &why);
		free(copy);
		if (rc != 0) {
			gh_reply_error(c, 400, "Bad Request", why);
			return -1;
		}
	}
	for (size_t i = 0; grants != NULL && i < json_object_array_length(grants); i++) {
		struct json_object *g = json_object_array_get_idx(grants, i);
		const char *gs = json_object_is_type(g, json_type_string) ? json_object_get_string(g) : NULL;
		if (gs == NULL) {
			gh_reply_error(c, 400, "Bad Request", "grant_types must be an array of strings");
			return -1;
		}
		if (km_in_grant_add(r->grants, sizeof(r->grants), gs, &why) != 0) {
			gh_reply_error(c, 400, "Bad Request", why);
			return -1;
		}
	}
	if (r->grants[0] == '\0')
		snprintf(r->grants, sizeof(r->grants), "client_credentials");
	if (strstr(r->grants, "authorization_code") != NULL && r->callback == NULL) {
		gh_reply_error(c, 400, "Bad Request", "The authorization_code grant needs a callback URL");
		return -1;
	}
	rc = gh_json_bool(o, "saasApp", &r->saas);
	if (rc < 0) {
		gh_reply_error(c, 400, "Bad Request", "saasApp must be a boolean");
		return -1;
	}
	if (r->token_scope != NULL && r->token_scope[0] != '\0' && !gh_body_text_ok(r->token_scope, DCR_SCOPE_MAX, 0)) {
		gh_reply_error(c, 400, "Bad Request", "tokenScope must be at most 100 characters of text");
		return -1;
	}
	if (r->owner == NULL && !r->rfc) {
		gh_reply_error(c, 400, "Bad Request", "owner is required");
		return -1;
	}
	if (r->owner != NULL && r->owner[0] == '\0') {
		gh_reply_error(c, 400, "Bad Request", "owner must not be empty");
		return -1;
	}
	return 0;
}

/* The WSO2 full name of user in tenant (malloc'd): the bare user in carbon.super. */
static char *
dcr_full_name(const char *user, const char *tenant)
{
	char *out = NULL;

	if (strcmp(tenant, GH_LDAP_SUPER_TENANT) == 0)
		return strdup(user);
	if (asprintf(&out, "%s@%s", user, tenant) < 0)
		return NULL;
	return out;
}

static int
roles_have(char **roles, const char *role)
{
	for (size_t i = 0; roles != NULL && roles[i] != NULL; i++)
		if (strcmp(roles[i], role) == 0)
			return 1;
	return 0;
}

/*
 * Decide the owner: the caller itself, or (caller an admin of its tenant)
 * an existing user of the same tenant.  0 with *owner (full name,
 * malloc'd); -1 after replying.
 */
static int
dcr_owner(struct gh_call *c, struct gh_pg *db, const struct dcr_req *r, const char *cuser,
    const char *ctenant, char **owner)
{
	char *ouser = NULL, *otenant = NULL, **roles = NULL;
	struct gh_ldap_result res = { 0 };
	static const char *const attrs[] = { "uid", NULL };
	struct gh_ldap *ld;
	int rc = -1, x;

	*owner = NULL;
	if (r->owner == NULL)
		goto self;
	if (strrchr(r->owner, '@') == r->owner) {
		gh_reply_error(c, 400, "Bad Request", "owner is not a valid user name");
		return -1;
	}
	if (km_user_split(db, r->owner, &ouser, &otenant) != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		return -1;
	}
	if (strcmp(otenant, ctenant) != 0) {
		gh_reply_error(c, 403, "Forbidden", "The owner must be the caller, or a user of the caller's "
		    "tenant when the caller is a tenant admin");
		goto out;
	}
	if (strcasecmp(ouser, cuser) == 0)
		goto self;
	roles = km_user_roles(ctenant, cuser);
	if (!roles_have(roles, "admin")) {
		gh_reply_error(c, 403, "Forbidden", "Only a tenant admin may register a client for another user");
		goto out;
	}
	ld = km_ldap();
	x = ld ? gh_ldap_user_find(ld, otenant, ouser, attrs, &res) : GH_LDAP_ERROR;
	if (x == GH_LDAP_NOT_FOUND) {
		gh_reply_error(c, 400, "Bad Request", "The owner is not a user of the tenant");
		goto out;
	}
	if (x != GH_LDAP_OK) {
		gh_reply_error(c, 503, "Service Unavailable", "The user store is unavailable");
		goto out;
	}
	*owner = dcr_full_name(ouser, otenant);
	rc = *owner ? 0 : -1;
	goto out;
self:
	*owner = dcr_full_name(cuser, ctenant);
	rc = *owner ? 0 : -1;
out:
	if (rc != 0 && c->status == 0)
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
	gh_ldap_result_free(&res);
	gh_ldap_strv_free(roles);
	free(ouser);
	free(otenant);
	return rc;
}

static struct json_object *
dcr_strv(const char *space_list)
{
	struct json_object *a = json_object_new_array();
	char *copy = space_list ? strdup(space_list) : NULL, *save = NULL;

	for (char *g = copy ? strtok_r(copy, " ", &save) : NULL; g != NULL; g = strtok_r(NULL, " ", &save))
		json_object_array_add(a, json_object_new_string(g));
	free(copy);
	return a;
}

/* The reply of a registration from the stored row (res: one row of DCR_RETURNING). */
static void
dcr_reply(struct gh_call *c, const struct dcr_req *r, const PGresult *res, const char *secret,
    const char *owner)
{
	const char *id = gh_pg_get(res, 0, 0), *name = gh_pg_get(res, 0, 1), *grants = gh_pg_get(res, 0, 2);
	const char *cb = gh_pg_get(res, 0, 3), *saas = gh_pg_get(res, 0, 4);
	struct json_object *o = json_object_new_object(), *js = json_object_new_object();
	int64_t issued = 0;

	json_object_object_add(js, "grant_types", json_object_new_string(grants));
	json_object_object_add(js, "redirect_uris", km_in_jstr(cb));
	json_object_object_add(js, "client_name", json_object_new_string(name));
	json_object_object_add(o, "clientId", json_object_new_string(id));
	json_object_object_add(o, "clientName", json_object_new_string(name));
	json_object_object_add(o, "callBackURL", km_in_jstr(cb));
	json_object_object_add(o, "clientSecret", json_object_new_string(secret));
	json_object_object_add(o, "isSaasApplication", json_object_new_boolean(saas && saas[0] == 't'));
	json_object_object_add(o, "appOwner", json_object_new_string(owner));
	json_object_object_add(o, "jsonString", json_object_new_string(
	    json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)));
	json_object_object_add(o, "jsonAppAttribute", json_object_new_string("{}"));
	json_object_object_add(o, "tokenType", json_object_new_string("JWT"));
	if (r->rfc) {
		struct json_object *uris = json_object_new_array();
		if (cb != NULL)
			json_object_array_add(uris, json_object_new_string(cb));
		gh_pg_get_int64(res, 0, 5, &issued);
		json_object_object_add(o, "client_id", json_object_new_string(id));
		json_object_object_add(o, "client_secret", json_object_new_string(secret));
		json_object_object_add(o, "client_id_issued_at", json_object_new_int64(issued));
		json_object_object_add(o, "client_secret_expires_at", json_object_new_int(0));
		json_object_object_add(o, "client_name", json_object_new_string(name));
		json_object_object_add(o, "grant_types", dcr_strv(grants));
		json_object_object_add(o, "redirect_uris", uris);
		json_object_object_add(o, "token_endpoint_auth_method", json_object_new_string("client_secret_basic"));
	}
	gh_reply_json(c, r->rfc ? 201 : 200, o);
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_reply_header(c, "Pragma", "no-cache");
	json_object_put(o);
	json_object_put(js);
}

/*
 * One statement, so concurrent registrations of one name cannot both
 * insert: a second one lands in the conflict arm and rotates the secret.
 */
#define DCR_UPSERT \
	"INSERT INTO gh_oauth_clients AS c (client_id, secret_hash, tenant, owner, client_name, grant_types, " \
	"  callback_url, audience, token_type, saas, token_scope) " \
	"VALUES ($1, $2, $3, $4, $5, string_to_array($6, ' '), $7, 'gatehouse-management', 'JWT', " \
	"  $8::boolean, $9) " \
	"ON CONFLICT (tenant, owner, client_name) WHERE app_id IS NULL " \
	"DO UPDATE SET secret_hash = EXCLUDED.secret_hash, updated_at = now() " \
	"RETURNING c.client_id, c.client_name, array_to_string(c.grant_types, ' '), c.callback_url, c.saas, " \
	"  extract(epoch from c.created_at)::bigint, (c.xmax = 0)"

static void
dcr_register(struct gh_call *c, struct gh_pg *db)
{
	const char *auth = gh_call_header(c, "Authorization");
	char *name = NULL, *password = NULL, *cuser = NULL, *ctenant = NULL, *owner = NULL;
	char *client_id = NULL, *secret = NULL, hash[65] = "";
	struct json_object *body = NULL, *details = NULL;
	struct dcr_req r;
	PGresult *res = NULL;
	int x, created;

	if (auth == NULL || gh_http_basic_parse(auth, &name, &password) != 0) {
		dcr_unauthorized(c, "HTTP Basic credentials of a user are required");
		goto out;
	}
	if (strrchr(name, '@') == name || password[0] == '\0') {
		dcr_unauthorized(c, "Invalid user name or password");
		goto out;
	}
	if (km_user_split(db, name, &cuser, &ctenant) != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Database unavailable");
		goto out;
	}
	x = km_user_login(c, db, ctenant, cuser, password);
	if (x == 1) {
		dcr_unauthorized(c, "Invalid user name or password");
		goto out;
	}
	if (x == 2) {
		dcr_unauthorized(c, "Too many failed sign-ins: this user or address is locked out for a while");
		goto out;
	}
	if (x != 0) {
		gh_reply_error(c, 503, "Service Unavailable", "The user store is unavailable");
		goto out;
	}
	body = gh_call_body(c, 400);
	if (body == NULL || dcr_parse(c, body, &r) != 0 || dcr_owner(c, db, &r, cuser, ctenant, &owner) != 0)
		goto out;
	km_client_new_credentials(&client_id, &secret);
	if (client_id == NULL || secret == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		goto out;
	}
	km_secret_hash(secret, hash);
	{
		const char *p[9] = { client_id, hash, ctenant, owner, r.name, r.grants, r.callback,
			r.saas ? "true" : "false", r.token_scope && r.token_scope[0] ? r.token_scope : NULL };
		res = gh_pg_exec(db, DCR_UPSERT, 9, p);
	}
	if (res == NULL || gh_pg_nrows(res) != 1) {
		gh_log_error("dcr", c->request_id, "cannot register client %s of %s: %s", r.name, owner,
		    gh_pg_errmsg(db));
		gh_reply_error(c, 500, "Internal Server Error", "The client could not be registered");
		goto out;
	}
	created = strcmp(gh_pg_get(res, 0, 6), "t") == 0;
	if (created)
		KM_COUNT(clients_created);
	else
		km_client_invalidate(gh_pg_get(res, 0, 0));  /* its secret changed */
	details = json_object_new_object();
	json_object_object_add(details, "client_name", json_object_new_string(r.name));
	json_object_object_add(details, "owner", json_object_new_string(owner));
	json_object_object_add(details, "secret_rotated", json_object_new_boolean(!created));
	km_audit(db, c, name, ctenant, "client.create", gh_pg_get(res, 0, 0), "success", details);
	dcr_reply(c, &r, res, secret, owner);
out:
	explicit_bzero(hash, sizeof(hash));
	if (res != NULL)
		PQclear(res);
	json_object_put(details);
	json_object_put(body);
	free(name);
	if (password != NULL)
		gh_free_secret(password);
	if (secret != NULL)
		gh_free_secret(secret);
	free(client_id);
	free(cuser);
	free(ctenant);
	free(owner);
}

void
km_dcr_routes(struct gh_router *pub)
{
	gh_call_route(pub, "POST", "/client-registration/v0.17/register", dcr_register);
}
