/*
 * Gateway environments (/api/am/admin/v4/environments): {name,
 * displayName, type internal|external, description, vhosts}.  They are
 * global: every admin may list them, only super-tenant admins change
 * them.  The id is the name (gh_environments' key, which deployments and
 * gateway certificates name); it never changes.  An environment that
 * still has deployments cannot be deleted nor change its type; an external
 * environment has no plain-HTTP port (DESIGN.md).  Its backend-JWT keys
 * go with it.
 */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "publisher/pub_admin.h"

#define ENV_JSON \
	"json_build_object('id', name, 'name', name, 'displayName', display_name, 'type', type, " \
	"'description', description, 'vhosts', vhosts)"

#define VHOSTS_MAX 16

/* 1 when name is 1..64 of [A-Za-z0-9_.-] starting with a letter or digit (the table's check). */
static int
env_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
			return 0;
	}
	return 1;
}

/* 1 when s is a host name (labels of [A-Za-z0-9-], 1..253 bytes) or an IP address. */
static int
host_ok(const char *s)
{
	unsigned char buf[16];
	size_t n = strlen(s), label = 0;

	if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		return 1;
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    (ch == '-' && label > 0)) || ++label > 63)
			return 0;
	}
	return label > 0 && s[n - 1] != '-';
}

/* The host of the j-th vhost of a (validated). */
static const char *
host_at(struct json_object *a, size_t j)
{
	struct json_object *h = NULL;

	json_object_object_get_ex(json_object_array_get_idx(a, j), "host", &h);
	return h ? json_object_get_string(h) : "";
}

/*
 * The vhosts member (required when required) validated for type, as JSON
 * text into *out (malloc'd; NULL when absent).  0 or -1 after replying.
 */
static int
vhosts_member(struct gh_call *c, struct json_object *o, const char *type, int required, char **out)
{
	static const char *const members[] = { "host", "httpsPort", "httpPort", "httpContext", "wsPort",
		"wssPort", NULL };
	struct json_object *a = NULL, *n;
	size_t len;
	int x;

	*out = NULL;
	if ((x = pub_adm_arr(c, o, "vhosts", VHOSTS_MAX, &a)) != 0) {
		if (x > 0 && required)
			gh_reply_error(c, 400, "Bad Request", "vhosts (an array of {host, httpsPort, httpPort}) "
			    "is required");
		return x < 0 || required ? -1 : 0;
	}
	len = json_object_array_length(a);
	if (len == 0) {
		gh_reply_error(c, 400, "Bad Request", "vhosts needs at least one {host, httpsPort}");
		return -1;
	}
	n = json_object_new_array();
	for (size_t i = 0; i < len; i++) {
		struct json_object *v = json_object_array_get_idx(a, i), *e;
		const char *host = NULL;
		long long https = 0, http = 0;
		int hx, px;

		if (!json_object_is_type(v, json_type_object)) {
			gh_reply_error(c, 400, "Bad Request", "each vhost must be an object");
			goto bad;
		}
		if (pub_adm_known(c, v, members) != 0 || pub_adm_str(c, v, "host", 1, 253, 0, &host) != 0 ||
		    (hx = pub_adm_int(c, v, "httpsPort", 1, 65535, &https)) < 0 ||
		    (px = pub_adm_int(c, v, "httpPort", 1, 65535, &http)) < 0)
			goto bad;
		if (!host_ok(host)) {
			gh_reply_error(c, 400, "Bad Request", "vhost host must be a host name or an IP address");
			goto bad;
		}
		if (hx != 0 && px != 0) {
			gh_reply_error(c, 400, "Bad Request", "a vhost needs httpsPort or httpPort");
			goto bad;
		}
		if (px == 0 && strcmp(type, "external") == 0) {
			gh_reply_error(c, 400, "Bad Request", "an external environment has no plain-HTTP port "
			    "(httpPort)");
			goto bad;
		}
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(host_at(n, j), host) == 0) {
				gh_reply_error(c, 400, "Bad Request", "vhost hosts must be unique");
				goto bad;
			}
		e = json_object_new_object();
		json_object_object_add(e, "host", json_object_new_string(host));
		if (hx == 0)
			json_object_object_add(e, "httpsPort", json_object_new_int((int)https));
		if (px == 0)
			json_object_object_add(e, "httpPort", json_object_new_int((int)http));
		json_object_array_add(n, e);
	}
	*out = strdup(json_object_to_json_string_ext(n, JSON_C_TO_STRING_PLAIN));
	json_object_put(n);
	if (*out == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		return -1;
	}
	return 0;
bad:
	json_object_put(n);
	return -1;
}

/* GET /environments */
static void
env_list(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	pub_adm_reply_query(c, db, 200, "", "SELECT json_build_object('count', count(*), 'list', "
	    "coalesce(json_agg(" ENV_JSON " ORDER BY name), '[]')) FROM gh_environments", 0, NULL);
	gh_principal_clear(&p);
}

/* GET /environments/{id} */
static void
env_get(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };
	const char *q[1] = { gh_call_param(c, "id") };

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	pub_adm_reply_query(c, db, 200, "No such environment", "SELECT " ENV_JSON
	    " FROM gh_environments WHERE name = $1", 1, q);
	gh_principal_clear(&p);
}

struct env_change {
	struct gh_call *c;
	const struct gh_principal *p;
	const char *name, *display, *type, *descr;
	char *vhosts;
	const char *action;
	int deployed;           /* out: deployments block the change */
	int missing;            /* out: no such environment */
};

static int
env_audit(struct gh_pg *db, struct env_change *e)
{
	struct json_object *d = json_object_new_object();

	if (e->type != NULL)
		json_object_object_add(d, "type", json_object_new_string(e->type));
	if (e->vhosts != NULL)
		json_object_object_add(d, "vhosts", json_tokener_parse(e->vhosts));
	gh_call_audit(db, e->c, "publisher", pub_adm_actor(e->p), e->p->tenant, e->action, e->name, NULL, d);
	json_object_put(d);
	return 0;
}

static int
env_create_tx(struct gh_pg *db, void *arg)
{
	struct env_change *e = arg;
	const char *q[5] = { e->name, e->display, e->type, e->descr, e->vhosts };

	if (gh_pg_cmd(db, "INSERT INTO gh_environments (name, display_name, type, description, vhosts) "
	    "VALUES ($1, $2, $3, $4, $5::jsonb)", 5, q, NULL) != 0)
		return -1;
	return env_audit(db, e);
}

/* Validated members of a create (all) or update (what is there) into e.  0 or -1 after replying. */
static int
env_members(struct gh_call *c, struct json_object *o, struct env_change *e, const char *cur_type)
{
	static const char *const members[] = { "id", "name", "displayName", "type", "description", "vhosts",
		"provider", "gatewayType", "isReadOnly", NULL };
	const char *name = NULL, *id = NULL;
	int create = cur_type == NULL;

	if (pub_adm_known(c, o, members) != 0 || pub_adm_str(c, o, "name", create, 64, 0, &name) != 0 ||
	    pub_adm_str(c, o, "id", 0, 64, 0, &id) != 0 ||
	    pub_adm_str(c, o, "displayName", 0, 255, 0, &e->display) != 0 ||
	    pub_adm_str(c, o, "type", create, 16, 0, &e->type) != 0 ||
	    pub_adm_str(c, o, "description", 0, 1024, 1, &e->descr) != 0)
		return -1;
	if (create) {
		if (!env_name_ok(name)) {
			gh_reply_error(c, 400, "Bad Request", "name must be 1 to 64 letters, digits, '_', '.' or "
			    "'-', starting with a letter or digit");
			return -1;
		}
		e->name = name;
	} else if ((name != NULL && strcmp(name, e->name) != 0) || (id != NULL && strcmp(id, e->name) != 0)) {
		gh_reply_error(c, 400, "Bad Request", "name (the id) cannot change");
		return -1;
	}
	if (e->type != NULL && strcmp(e->type, "internal") != 0 && strcmp(e->type, "external") != 0) {
		gh_reply_error(c, 400, "Bad Request", "type must be internal or external");
		return -1;
	}
	if (e->display != NULL && e->display[0] == '\0') {
		gh_reply_error(c, 400, "Bad Request", "displayName cannot be empty");
		return -1;
	}
	return vhosts_member(c, o, e->type ? e->type : cur_type, create, &e->vhosts);
}

/* POST /environments */
static void
env_create(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };
	struct json_object *o = NULL;
	struct env_change e = { 0 };
	const char *q[1];

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (pub_adm_require_super(c, &p, "change gateway environments") != 0 || (o = pub_adm_body(c)) == NULL ||
	    env_members(c, o, &e, NULL) != 0)
		goto out;
	if (e.display == NULL)
		e.display = e.name;
	if (e.descr == NULL)
		e.descr = "";
	e.c = c;
	e.p = &p;
	e.action = "environment.create";
	if (gh_pg_run_tx(db, 0, env_create_tx, &e) != 0) {
		if (gh_pg_is(db, "23505"))
			gh_reply_error(c, 409, "Conflict", "An environment with this name exists");
		else
			pub_adm_db_error(c, db);
		goto out;
	}
	q[0] = e.name;
	pub_adm_reply_query(c, db, 201, "No such environment", "SELECT " ENV_JSON
	    " FROM gh_environments WHERE name = $1", 1, q);
out:
	free(e.vhosts);
	json_object_put(o);
	gh_principal_clear(&p);
}

static int
env_update_tx(struct gh_pg *db, void *arg)
{
	struct env_change *e = arg;
	const char *q[5] = { e->name, e->display, e->type, e->descr, e->vhosts };
	int64_t n = 0;

	e->deployed = e->missing = 0;
	if (gh_pg_cmd(db, "SELECT 1 FROM gh_environments WHERE name = $1 FOR UPDATE", 1, q, &n) != 0)
		return -1;
	if (n == 0) {
		e->missing = 1;
		return 1;
	}
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_deployments d JOIN gh_environments v "
	    "ON v.name = d.environment WHERE d.environment = $1 AND $2::text IS NOT NULL AND v.type <> $2",
	    2, (const char *const[]){ e->name, e->type }, &n) != 0)
		return -1;
	if (n > 0) {
		e->deployed = 1;
		return 1;
	}
	if (gh_pg_cmd(db, "UPDATE gh_environments SET display_name = coalesce($2, display_name), "
	    "type = coalesce($3, type), description = coalesce($4, description), "
	    "vhosts = coalesce($5::jsonb, vhosts) WHERE name = $1", 5, q, NULL) != 0)
		return -1;
	/* httpPort is refused on external environments whatever the order of the changes. */
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_environments, jsonb_array_elements(vhosts) v "
	    "WHERE name = $1 AND type = 'external' AND v.value ? 'httpPort'", 1, q, &n) != 0)
		return -1;
	if (n > 0) {
		e->deployed = 2;
		return 2;
	}
	return env_audit(db, e);
}

/* PUT /environments/{id} */
static void
env_update(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };
	struct json_object *o = NULL;
	struct env_change e = { 0 };
	const char *q[1] = { gh_call_param(c, "id") };
	char cur_type[16] = "";
	PGresult *res;
	int rc;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (pub_adm_require_super(c, &p, "change gateway environments") != 0 || (o = pub_adm_body(c)) == NULL)
		goto out;
	res = gh_pg_exec(db, "SELECT type FROM gh_environments WHERE name = $1", 1, q);
	if (res == NULL) {
		pub_adm_db_error(c, db);
		goto out;
	}
	if (gh_pg_nrows(res) == 1)
		snprintf(cur_type, sizeof(cur_type), "%s", gh_pg_get(res, 0, 0));
	PQclear(res);
	if (cur_type[0] == '\0') {
		gh_reply_error(c, 404, "Not Found", "No such environment");
		goto out;
	}
	e.name = q[0];
	if (env_members(c, o, &e, cur_type) != 0)
		goto out;
	e.c = c;
	e.p = &p;
	e.action = "environment.update";
	rc = gh_pg_run_tx(db, 0, env_update_tx, &e);
	if (rc == 1 && e.missing)
		gh_reply_error(c, 404, "Not Found", "No such environment");
	else if (rc == 1)
		gh_reply_error(c, 409, "Conflict", "APIs are deployed to this environment: its type cannot change");
	else if (rc == 2)
		gh_reply_error(c, 400, "Bad Request", "an external environment has no plain-HTTP port (httpPort)");
	else if (rc != 0)
		pub_adm_db_error(c, db);
	else
		pub_adm_reply_query(c, db, 200, "No such environment", "SELECT " ENV_JSON
		    " FROM gh_environments WHERE name = $1", 1, q);
out:
	free(e.vhosts);
	json_object_put(o);
	gh_principal_clear(&p);
}

static int
env_delete_tx(struct gh_pg *db, void *arg)
{
	struct env_change *e = arg;
	const char *q[1] = { e->name };
	int64_t n = 0;

	e->deployed = e->missing = 0;
	if (gh_pg_cmd(db, "SELECT 1 FROM gh_environments WHERE name = $1 FOR UPDATE", 1, q, &n) != 0)
		return -1;
	if (n == 0) {
		e->missing = 1;
		return 1;
	}
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_deployments WHERE environment = $1", 1, q, &n) != 0)
		return -1;
	if (n > 0) {
		e->deployed = 1;
		return 1;
	}
	if (gh_pg_cmd(db, "DELETE FROM gh_backend_keys WHERE environment = $1", 1, q, NULL) != 0 ||
	    gh_pg_cmd(db, "DELETE FROM gh_environments WHERE name = $1", 1, q, NULL) != 0)
		return -1;
	return env_audit(db, e);
}

/* DELETE /environments/{id} */
static void
env_delete(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };
	struct env_change e = { 0 };
	int rc;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (pub_adm_require_super(c, &p, "change gateway environments") != 0)
		goto out;
	e.name = gh_call_param(c, "id");
	e.c = c;
	e.p = &p;
	e.action = "environment.delete";
	rc = gh_pg_run_tx(db, 0, env_delete_tx, &e);
	if (rc == 1 && e.missing)
		gh_reply_error(c, 404, "Not Found", "No such environment");
	else if (rc == 1)
		gh_reply_error(c, 409, "Conflict", "APIs are deployed to this environment; undeploy them first");
	else if (rc != 0)
		pub_adm_db_error(c, db);
	else
		gh_reply_raw(c, 200, "application/json", "{}", 2);
out:
	gh_principal_clear(&p);
}

void
pub_admin_env_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PUB_ADMIN_BASE "/environments", env_list);
	gh_call_route(r, "POST", PUB_ADMIN_BASE "/environments", env_create);
	gh_call_route(r, "GET", PUB_ADMIN_BASE "/environments/{id}", env_get);
	gh_call_route(r, "PUT", PUB_ADMIN_BASE "/environments/{id}", env_update);
	gh_call_route(r, "DELETE", PUB_ADMIN_BASE "/environments/{id}", env_delete);
}
