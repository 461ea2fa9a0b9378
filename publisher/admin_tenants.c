/*
 * Tenants (/api/am/admin/v4/tenants, super-tenant admins only) and a
 * tenant admin's own settings (/api/am/admin/v4/tenant-settings).  A
 * tenant is created by the key manager's internal user API (LDAP subtree,
 * admin user, gh_tenants row and tenant.created event), called here over
 * mutual TLS with the publisher's certificate; its settings (selfSignUp,
 * which the key manager's sign-up reads) and its status live in
 * gh_tenants.  A status change writes tenant.updated for every
 * environment in the same transaction, so gateways stop or resume the
 * tenant's traffic.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "publisher/pub_admin.h"

#define TENANT_JSON \
	"json_build_object('domain', domain, 'status', status, 'settings', settings, " \
	"'createdTime', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))"

static const char *const settings_members[] = { "selfSignUp", NULL };

/*
 * The settings member of o, validated, as JSON text into *out (malloc'd;
 * NULL when absent).  0 or -1 after replying 400.
 */
static int
settings_member(struct gh_call *c, struct json_object *o, char **out)
{
	struct json_object *s = NULL, *n;
	int x, v = 0;

	*out = NULL;
	if ((x = pub_adm_obj(c, o, "settings", &s)) != 0)
		return x < 0 ? -1 : 0;
	if (pub_adm_known(c, s, settings_members) != 0 || pub_adm_bool(c, s, "selfSignUp", &v) < 0)
		return -1;
	n = json_object_new_object();
	if (json_object_object_get_ex(s, "selfSignUp", NULL) && pub_adm_bool(c, s, "selfSignUp", &v) == 0)
		json_object_object_add(n, "selfSignUp", json_object_new_boolean(v));
	*out = strdup(json_object_to_json_string_ext(n, JSON_C_TO_STRING_PLAIN));
	json_object_put(n);
	if (*out == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		return -1;
	}
	return 0;
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

struct tenant_set {
	const char *domain, *settings, *status;
	const struct gh_principal *p;
	struct gh_call *c;
	const char *action;
	int found, changed;
};

static int
tenant_set_tx(struct gh_pg *db, void *arg)
{
	struct tenant_set *t = arg;
	const char *p[3] = { t->domain, t->settings ? t->settings : "{}", t->status };
	struct json_object *ev, *details;
	PGresult *res;
	int rc;

	t->found = t->changed = 0;
	res = gh_pg_exec(db, "SELECT status FROM gh_tenants WHERE domain = $1 FOR UPDATE", 1, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) == 1) {
		t->found = 1;
		t->changed = t->status != NULL && strcmp(gh_pg_get(res, 0, 0), t->status) != 0;
	}
	PQclear(res);
	if (!t->found)
		return 1;
	if (gh_pg_cmd(db, "UPDATE gh_tenants SET settings = settings || $2::jsonb, "
	    "status = coalesce($3, status) WHERE domain = $1", 3, p, NULL) != 0)
		return -1;
	details = json_object_new_object();
	if (t->status != NULL)
		json_object_object_add(details, "status", json_object_new_string(t->status));
	if (t->settings != NULL)
		json_object_object_add(details, "settings", json_tokener_parse(t->settings));
	gh_call_audit(db, t->c, "publisher", pub_adm_actor(t->p), t->p->tenant, t->action, t->domain, NULL,
	    details);
	json_object_put(details);
	if (!t->changed)
		return 0;
	ev = json_object_new_object();
	json_object_object_add(ev, "domain", json_object_new_string(t->domain));
	json_object_object_add(ev, "status", json_object_new_string(t->status));
	rc = pub_adm_event(db, t->domain, "tenant.updated", ev);
	json_object_put(ev);
	return rc;
}

/* POST /tenants {domain, adminUsername, adminPassword, firstName?, lastName?, email?, settings?} */
static void
tenant_create(struct gh_call *c, struct gh_pg *db)
{
	static const char *const members[] = { "domain", "adminUsername", "adminPassword", "firstName",
		"lastName", "email", "settings", NULL };
	static const char *const pass[] = { "domain", "adminUsername", "adminPassword", "firstName",
		"lastName", "email", NULL };
	struct gh_principal p = { 0 };
	struct json_object *o = NULL, *km = NULL, *resp = NULL;
	struct gh_httpc_resp r = { 0 };
	struct gh_http_header h[2] = { { "Content-Type", "application/json" }, { "X-Request-ID", c->request_id } };
	struct gh_httpc_cfg cfg = { .ssl = pub.tls_km, .connect_timeout_ms = 3000, .timeout_ms = 15000 };
	struct tenant_set t = { 0 };
	const char *s = NULL, *domain;
	char *settings = NULL, *body = NULL, url[600];
	int rc;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (pub_adm_require_super(c, &p, "create tenants") != 0 || (o = pub_adm_body(c)) == NULL ||
	    pub_adm_known(c, o, members) != 0 || settings_member(c, o, &settings) != 0)
		goto out;
	km = json_object_new_object();
	for (size_t i = 0; pass[i] != NULL; i++) {
		int required = i < 3;
		if (pub_adm_str(c, o, pass[i], required, i == 2 ? 256 : 253, 0, &s) != 0)
			goto out;
		if (s != NULL)
			json_object_object_add(km, pass[i], json_object_new_string(s));
	}
	body = strdup(json_object_to_json_string_ext(km, JSON_C_TO_STRING_PLAIN));
	if (body == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		goto out;
	}
	snprintf(url, sizeof(url), "%s/internal/km/v1/users/tenants", pub.km_internal_url);
	rc = gh_httpc_fetch(&cfg, "POST", url, h, 2, body, strlen(body), &r);
	if (rc != 0 || r.error != GH_HTTPC_OK) {
		gh_log_warn("tenant_create", c->request_id, "key manager %s: %s", url,
		    r.errstr ? r.errstr : "no response");
		gh_reply_error(c, 503, "Service Unavailable", "The key manager is unreachable");
		goto out;
	}
	if (r.status == 409 || r.status == 400) {
		reply_from_km(c, r.status, r.status == 409 ? "Conflict" : "Bad Request", &r,
		    r.status == 409 ? "The tenant exists" : "The key manager refused the tenant");
		goto out;
	}
	if (r.status != 201) {
		gh_log_warn("tenant_create", c->request_id, "key manager answered %d", r.status);
		reply_from_km(c, r.status == 503 ? 503 : 502, r.status == 503 ? "Service Unavailable" :
		    "Bad Gateway", &r, "The key manager could not create the tenant");
		goto out;
	}
	resp = r.body ? gh_json_parse_object(r.body, r.body_len, &s) : NULL;
	domain = resp ? gh_json_str(resp, "domain") : NULL;
	if (domain == NULL) {
		gh_reply_error(c, 502, "Bad Gateway", "The key manager's answer has no domain");
		goto out;
	}
	t.domain = domain;
	t.settings = settings;
	t.p = &p;
	t.c = c;
	t.action = "tenant.create";
	if (gh_pg_run_tx(db, 0, tenant_set_tx, &t) != 0) {
		pub_adm_db_error(c, db);
		goto out;
	}
	{
		const char *q[1] = { domain };
		pub_adm_reply_query(c, db, 201, "No such tenant", "SELECT " TENANT_JSON
		    " FROM gh_tenants WHERE domain = $1", 1, q);
	}
out:
	if (body != NULL)
		gh_free_secret(body);
	gh_httpc_resp_clear(&r);
	json_object_put(resp);
	json_object_put(km);
	json_object_put(o);
	free(settings);
	gh_principal_clear(&p);
}

/* GET /tenants */
static void
tenant_list(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (pub_adm_require_super(c, &p, "manage tenants") == 0)
		pub_adm_reply_query(c, db, 200, "", "SELECT json_build_object('count', count(*), 'list', "
		    "coalesce(json_agg(" TENANT_JSON " ORDER BY domain), '[]')) FROM gh_tenants", 0, NULL);
	gh_principal_clear(&p);
}

/* GET /tenants/{domain} */
static void
tenant_get(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };
	const char *q[1] = { gh_call_param(c, "domain") };

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (pub_adm_require_super(c, &p, "manage tenants") == 0)
		pub_adm_reply_query(c, db, 200, "No such tenant", "SELECT " TENANT_JSON
		    " FROM gh_tenants WHERE domain = $1", 1, q);
	gh_principal_clear(&p);
}

/* PUT /tenants/{domain} {status?, settings?} */
static void
tenant_update(struct gh_call *c, struct gh_pg *db)
{
	static const char *const members[] = { "status", "settings", "domain", "createdTime", NULL };
	struct gh_principal p = { 0 };
	struct json_object *o = NULL;
	struct tenant_set t = { 0 };
	const char *domain = gh_call_param(c, "domain"), *status = NULL, *q[1] = { domain }, *d = NULL;
	char *settings = NULL;
	int rc;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (pub_adm_require_super(c, &p, "manage tenants") != 0 || (o = pub_adm_body(c)) == NULL ||
	    pub_adm_known(c, o, members) != 0 || pub_adm_str(c, o, "status", 0, 16, 0, &status) != 0 ||
	    pub_adm_str(c, o, "domain", 0, 253, 0, &d) != 0 || settings_member(c, o, &settings) != 0)
		goto out;
	if (d != NULL && strcasecmp(d, domain) != 0) {
		gh_reply_error(c, 400, "Bad Request", "domain cannot change");
		goto out;
	}
	if (status != NULL) {
		if (strcasecmp(status, "active") == 0)
			status = "active";
		else if (strcasecmp(status, "inactive") == 0)
			status = "inactive";
		else {
			gh_reply_error(c, 400, "Bad Request", "status must be active or inactive");
			goto out;
		}
	}
	if (status == NULL && settings == NULL) {
		gh_reply_error(c, 400, "Bad Request", "Nothing to change: give status or settings");
		goto out;
	}
	if (status != NULL && strcmp(status, "inactive") == 0 && strcmp(domain, PUB_SUPER_TENANT) == 0) {
		gh_reply_error(c, 409, "Conflict", "The super tenant cannot be deactivated");
		goto out;
	}
	t.domain = domain;
	t.settings = settings;
	t.status = status;
	t.p = &p;
	t.c = c;
	t.action = "tenant.update";
	rc = gh_pg_run_tx(db, 0, tenant_set_tx, &t);
	if (rc == 1)
		gh_reply_error(c, 404, "Not Found", "No such tenant");
	else if (rc != 0)
		pub_adm_db_error(c, db);
	else
		pub_adm_reply_query(c, db, 200, "No such tenant", "SELECT " TENANT_JSON
		    " FROM gh_tenants WHERE domain = $1", 1, q);
out:
	json_object_put(o);
	free(settings);
	gh_principal_clear(&p);
}

/*
 * A tenant's own settings as the key manager reads them: selfSignUp is
 * open in the super tenant unless set false, elsewhere only when set true.
 */
#define OWN_SETTINGS_SQL \
	"SELECT json_build_object('tenant', domain, 'selfSignUp', CASE WHEN domain = 'carbon.super' " \
	"THEN coalesce(settings->>'selfSignUp', 'true') <> 'false' " \
	"ELSE coalesce(settings->>'selfSignUp', 'false') = 'true' END) FROM gh_tenants WHERE domain = $1"

/* GET /tenant-settings */
static void
own_settings_get(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };
	const char *q[1];

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	q[0] = p.tenant;
	pub_adm_reply_query(c, db, 200, "No such tenant", OWN_SETTINGS_SQL, 1, q);
	gh_principal_clear(&p);
}

/* PUT /tenant-settings {selfSignUp} */
static void
own_settings_put(struct gh_call *c, struct gh_pg *db)
{
	static const char *const members[] = { "selfSignUp", "tenant", NULL };
	struct gh_principal p = { 0 };
	struct json_object *o = NULL, *n = NULL;
	struct tenant_set t = { 0 };
	const char *q[1];
	int v = 0, rc;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if ((o = pub_adm_body(c)) == NULL || pub_adm_known(c, o, members) != 0)
		goto out;
	rc = pub_adm_bool(c, o, "selfSignUp", &v);
	if (rc != 0) {
		if (rc > 0)
			gh_reply_error(c, 400, "Bad Request", "selfSignUp (true or false) is required");
		goto out;
	}
	n = json_object_new_object();
	json_object_object_add(n, "selfSignUp", json_object_new_boolean(v));
	t.domain = p.tenant;
	t.settings = json_object_to_json_string_ext(n, JSON_C_TO_STRING_PLAIN);
	t.p = &p;
	t.c = c;
	t.action = "tenant.settings.update";
	rc = gh_pg_run_tx(db, 0, tenant_set_tx, &t);
	q[0] = p.tenant;
	if (rc == 1)
		gh_reply_error(c, 404, "Not Found", "No such tenant");
	else if (rc != 0)
		pub_adm_db_error(c, db);
	else
		pub_adm_reply_query(c, db, 200, "No such tenant", OWN_SETTINGS_SQL, 1, q);
out:
	json_object_put(n);
	json_object_put(o);
	gh_principal_clear(&p);
}

void
pub_admin_tenant_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PUB_ADMIN_BASE "/tenants", tenant_list);
	gh_call_route(r, "POST", PUB_ADMIN_BASE "/tenants", tenant_create);
	gh_call_route(r, "GET", PUB_ADMIN_BASE "/tenants/{domain}", tenant_get);
	gh_call_route(r, "PUT", PUB_ADMIN_BASE "/tenants/{domain}", tenant_update);
	gh_call_route(r, "GET", PUB_ADMIN_BASE "/tenant-settings", own_settings_get);
	gh_call_route(r, "PUT", PUB_ADMIN_BASE "/tenant-settings", own_settings_put);
}
