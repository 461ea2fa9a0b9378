/*
 * Users of the caller's tenant (/api/am/admin/v4/users, apim:admin): the
 * list with each user's roles, read from LDAP with the node's credentials
 * (as the portal reads roles), and an administrator's password reset
 * (POST /users/{username}/reset-password) through the key manager's
 * internal user API over mutual TLS, as tenants are made (admin_tenants.c):
 * only the key manager writes to LDAP; its reset also lifts the lock-out.
 */
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "ldap/gh_ldap.h"
#include "publisher/pub_admin.h"

#define USERS_LIMIT_DEFAULT 100
#define USERS_LIMIT_MAX 500

static struct gh_ldap_config ldap_cfg;
static pthread_once_t ldap_once = PTHREAD_ONCE_INIT;

static void
ldap_cfg_init(void)
{
	gh_ldap_config_from_settings(pub.cfg, &ldap_cfg);
}

/* 1 when the group entry g has member dn (DNs compared case-insensitively). */
static int
group_has(const struct gh_ldap_entry *g, const char *dn)
{
	for (size_t i = 0; i < g->nattrs; i++) {
		if (strcasecmp(g->attrs[i].name, "member") != 0)
			continue;
		for (size_t k = 0; k < g->attrs[i].nvals; k++)
			if (strcasecmp(g->attrs[i].vals[k].val, dn) == 0)
				return 1;
	}
	return 0;
}

static void
add_attr(struct json_object *o, const char *key, const struct gh_ldap_entry *e, const char *attr)
{
	const char *v = gh_ldap_entry_get(e, attr);

	json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

/* GET /users[?query=SUBSTRING&limit=N] */
static void
users_list(struct gh_call *c, struct gh_pg *db)
{
	static const char *const uattrs[] = { "uid", "cn", "sn", "givenName", "mail", NULL };
	static const char *const gattrs[] = { "cn", "member", NULL };
	struct gh_ldap_result users = { 0 }, groups = { 0 };
	struct json_object *out = NULL, *list;
	struct gh_principal p = { 0 };
	char *query = NULL, *udn = NULL, *gdn = NULL;
	struct gh_ldap *ld;
	long long limit;
	int x;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (pub_adm_query_int(c, "limit", 1, USERS_LIMIT_MAX, USERS_LIMIT_DEFAULT, &limit) != 0)
		goto out;
	query = gh_call_query(c, "query");
	if (query != NULL && (strlen(query) > 64 || !gh_body_text_ok(query, 64, GH_BODY_EMPTY_OK))) {
		gh_reply_error(c, 400, "Bad Request", "query must be at most 64 printable characters");
		goto out;
	}
	pthread_once(&ldap_once, ldap_cfg_init);
	ld = gh_ldap_thread(&ldap_cfg);
	udn = ld ? gh_ldap_users_dn(gh_ldap_base_dn(ld), p.tenant) : NULL;
	gdn = ld ? gh_ldap_groups_dn(gh_ldap_base_dn(ld), p.tenant) : NULL;
	if (udn == NULL || gdn == NULL) {
		gh_reply_error(c, 503, "Service Unavailable", "The user store is unavailable");
		goto out;
	}
	if (query != NULL && query[0] != '\0')
		x = gh_ldap_search(ld, udn, GH_LDAP_SCOPE_ONE, uattrs, (int)limit, &users,
		    "(&(objectClass=inetOrgPerson)(|(uid=*%s*)(mail=*%s*)))", query, query);
	else
		x = gh_ldap_search(ld, udn, GH_LDAP_SCOPE_ONE, uattrs, (int)limit, &users, "(objectClass=inetOrgPerson)");
	if (x == GH_LDAP_OK)
		x = gh_ldap_search(ld, gdn, GH_LDAP_SCOPE_ONE, gattrs, 0, &groups, "(objectClass=groupOfNames)");
	if (x != GH_LDAP_OK && x != GH_LDAP_NOT_FOUND) {
		gh_log_error("ldap", c->request_id, "users of %s: %s", p.tenant, gh_ldap_rc_str(x));
		gh_reply_error(c, 503, "Service Unavailable", "The user store is unavailable");
		goto out;
	}
	out = json_object_new_object();
	list = json_object_new_array();
	for (size_t i = 0; i < users.n; i++) {
		const struct gh_ldap_entry *u = &users.entries[i];
		const char *uid = gh_ldap_entry_get(u, "uid");
		struct json_object *o, *roles;
		char name[600];

		if (uid == NULL)
			continue;
		o = json_object_new_object();
		roles = json_object_new_array();
		json_object_object_add(o, "username", json_object_new_string(uid));
		if (strcmp(p.tenant, PUB_SUPER_TENANT) == 0)
			snprintf(name, sizeof(name), "%s", uid);
		else
			snprintf(name, sizeof(name), "%s@%s", uid, p.tenant);
		json_object_object_add(o, "signInName", json_object_new_string(name));
		json_object_object_add(o, "tenant", json_object_new_string(p.tenant));
		add_attr(o, "firstName", u, "givenName");
		add_attr(o, "lastName", u, "sn");
		add_attr(o, "email", u, "mail");
		for (size_t k = 0; k < groups.n; k++) {
			const char *cn = gh_ldap_entry_get(&groups.entries[k], "cn");
			if (cn != NULL && group_has(&groups.entries[k], u->dn))
				json_object_array_add(roles, json_object_new_string(cn));
		}
		json_object_object_add(o, "roles", roles);
		json_object_array_add(list, o);
	}
	json_object_object_add(out, "count", json_object_new_int((int)json_object_array_length(list)));
	json_object_object_add(out, "truncated", json_object_new_boolean(users.truncated));
	json_object_object_add(out, "list", list);
	gh_reply_json(c, 200, out);
out:
	gh_ldap_result_free(&users);
	gh_ldap_result_free(&groups);
	json_object_put(out);
	free(query);
	free(udn);
	free(gdn);
	gh_principal_clear(&p);
}

/* The key manager's {"description"} of an error body, or fallback. */
static void
reply_from_km(struct gh_call *c, int status, const char *message, const struct gh_httpc_resp *r,
    const char *fallback)
{
	const char *why = NULL;
	struct json_object *o = r->body ? gh_json_parse_object(r->body, r->body_len, &why) : NULL;
	const char *d = o ? gh_json_str(o, "description") : NULL;

	gh_reply_error(c, status, message, d && gh_body_text_ok(d, 500, GH_BODY_EMPTY_OK) ? d : fallback);
	json_object_put(o);
}

/* POST /users/{username}/reset-password {newPassword} */
static void
users_reset(struct gh_call *c, struct gh_pg *db)
{
	static const char *const members[] = { "newPassword", NULL };
	const char *user = gh_call_param(c, "username"), *pw = NULL;
	struct gh_principal p = { 0 };
	struct json_object *o = NULL, *km = NULL, *res = NULL;
	struct gh_httpc_resp r = { 0 };
	struct gh_http_header h[2] = { { "Content-Type", "application/json" }, { "X-Request-ID", c->request_id } };
	struct gh_httpc_cfg cfg = { .ssl = pub.tls_km, .connect_timeout_ms = 3000, .timeout_ms = 15000 };
	char *body = NULL, url[600];

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (user == NULL || !gh_body_text_ok(user, 256, 0) || strchr(user, '@') != NULL) {
		gh_reply_error(c, 400, "Bad Request", "The user name (without @tenant) is not valid");
		goto out;
	}
	if ((o = pub_adm_body(c)) == NULL || pub_adm_known(c, o, members) != 0 ||
	    pub_adm_str(c, o, "newPassword", 1, 256, 0, &pw) != 0)
		goto out;
	km = json_object_new_object();
	json_object_object_add(km, "tenant", json_object_new_string(p.tenant));
	json_object_object_add(km, "username", json_object_new_string(user));
	json_object_object_add(km, "newPassword", json_object_new_string(pw));
	body = strdup(json_object_to_json_string_ext(km, JSON_C_TO_STRING_PLAIN));
	if (body == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		goto out;
	}
	snprintf(url, sizeof(url), "%s/internal/km/v1/users/password-reset", pub.km_internal_url);
	if (gh_httpc_fetch(&cfg, "POST", url, h, 2, body, strlen(body), &r) != 0 || r.error != GH_HTTPC_OK) {
		gh_log_warn("users_reset", c->request_id, "key manager %s: %s", url, r.errstr ? r.errstr : "no response");
		gh_reply_error(c, 503, "Service Unavailable", "The key manager is unreachable");
		goto out;
	}
	if (r.status == 400 || r.status == 404) {
		reply_from_km(c, r.status, r.status == 404 ? "Not Found" : "Bad Request", &r,
		    r.status == 404 ? "No such user in the tenant" : "The key manager refused the password");
		goto out;
	}
	if (r.status != 204 && r.status != 200) {
		gh_log_warn("users_reset", c->request_id, "key manager answered %d", r.status);
		reply_from_km(c, r.status == 503 ? 503 : 502, r.status == 503 ? "Service Unavailable" : "Bad Gateway",
		    &r, "The key manager could not reset the password");
		goto out;
	}
	gh_call_audit(db, c, "publisher", pub_adm_actor(&p), p.tenant, "user.password.reset", user, NULL, NULL);
	res = json_object_new_object();
	json_object_object_add(res, "username", json_object_new_string(user));
	json_object_object_add(res, "tenant", json_object_new_string(p.tenant));
	json_object_object_add(res, "passwordReset", json_object_new_boolean(1));
	gh_reply_json(c, 200, res);
out:
	if (body != NULL)
		gh_free_secret(body);
	if (km != NULL) {
		struct json_object *v = json_object_object_get(km, "newPassword");
		if (v != NULL)          /* the new password: wipe json-c's copy before it is freed */
			explicit_bzero((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
		json_object_put(km);
	}
	gh_httpc_resp_clear(&r);
	json_object_put(res);
	json_object_put(o);
	gh_principal_clear(&p);
}

void
pub_admin_user_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PUB_ADMIN_BASE "/users", users_list);
	gh_call_route(r, "POST", PUB_ADMIN_BASE "/users/{username}/reset-password", users_reset);
}
