/*
 * Applications of the DevPortal (/applications): owned by the caller, in
 * the caller's tenant, and shared with the groups the owner names (the
 * caller's LDAP groups).  Owner and group members read an application,
 * subscribe with it and manage its keys; only the owner changes or
 * deletes it.  The portal owns the rows of gh_applications; the key
 * manager owns their OAuth clients, so a new name or tier is pushed to the
 * key manager, and a deletion removes the clients there, inside the
 * transaction of the change and before its events: when the key manager
 * fails, the transaction rolls back and the call answers 503.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_json.h"
#include "core/gh_log.h"
#include "portal/portal_int.h"

#define NAME_MAX_LEN 70
#define DESC_MAX_LEN 512
#define GROUPS_MAX 20
#define ATTRS_MAX 20

/* WSO2's rule: application names take none of ~!@#;%^*+={}|\<>"', */
static int
app_name_ok(const char *s)
{
	size_t n = strlen(s);

	return gh_body_text_ok(s, NAME_MAX_LEN, 0) && strpbrk(s, "~!@#;%^*+={}|\\<>\"',") == NULL &&
	    s[0] != ' ' && s[n - 1] != ' ';
}

int
portal_app_find(struct gh_pg *db, const struct portal_viewer *v, const char *id, int lock,
    struct portal_app *a)
{
	const char *p[4] = { v->p.tenant, v->p.sub, v->roles_json, id };
	PGresult *res;

	memset(a, 0, sizeof(*a));
	if (v->anon || !gh_body_id_ok(id))
		return 1;
	res = gh_pg_exec(db, lock ?
	    "SELECT p.id, p.name, p.owner, p.tenant, p.tier, p.token_type FROM gh_applications p "
	    "WHERE p.id = $4 AND " PORTAL_APP_VISIBLE " FOR UPDATE" :
	    "SELECT p.id, p.name, p.owner, p.tenant, p.tier, p.token_type FROM gh_applications p "
	    "WHERE p.id = $4 AND " PORTAL_APP_VISIBLE, 4, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) != 1) {
		PQclear(res);
		return 1;
	}
	snprintf(a->id, sizeof(a->id), "%s", gh_pg_get(res, 0, 0));
	snprintf(a->name, sizeof(a->name), "%s", gh_pg_get(res, 0, 1));
	snprintf(a->owner, sizeof(a->owner), "%s", gh_pg_get(res, 0, 2));
	snprintf(a->tenant, sizeof(a->tenant), "%s", gh_pg_get(res, 0, 3));
	snprintf(a->tier, sizeof(a->tier), "%s", gh_pg_get(res, 0, 4));
	snprintf(a->token_type, sizeof(a->token_type), "%s", gh_pg_get(res, 0, 5));
	a->is_owner = strcmp(a->owner, v->p.sub) == 0;
	PQclear(res);
	return 0;
}

int
portal_app_load(struct gh_call *c, struct gh_pg *db, const struct portal_viewer *v, const char *id,
    struct portal_app *a)
{
	int x = portal_app_find(db, v, id, 0, a);

	if (x < 0)
		portal_db_error(c, db, "The application could not be read");
	else if (x > 0)
		gh_reply_error(c, 404, "Not Found", "No application of yours has this id");
	return x == 0 ? 0 : -1;
}

int
portal_event_subscription(struct gh_pg *db, const char *id, const char *type, int with_app)
{
	const char *p[1] = { id };
	PGresult *res = gh_pg_exec(db, with_app ?
	    "SELECT (" PORTAL_RT_SUB_OBJECT " || jsonb_build_object('application', " PORTAL_RT_APP_OBJECT "))::text, "
	    "  coalesce((SELECT jsonb_agg(environment ORDER BY environment) FROM gh_deployments "
	    "  WHERE api_id = s.api_id), '[]')::text, s.tenant "
	    "FROM gh_subscriptions s JOIN gh_applications p ON p.id = s.app_id WHERE s.id = $1" :
	    "SELECT " PORTAL_RT_SUB_OBJECT "::text, "
	    "  coalesce((SELECT jsonb_agg(environment ORDER BY environment) FROM gh_deployments "
	    "  WHERE api_id = s.api_id), '[]')::text, s.tenant "
	    "FROM gh_subscriptions s WHERE s.id = $1", 1, p);
	int rc = -1;

	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) == 1)
		rc = gh_outbox_append_env(db, gh_pg_get(res, 0, 2), type, gh_pg_get(res, 0, 0),
		    gh_pg_get(res, 0, 1), NULL);
	else
		gh_pg_set_error(db, "02000", "subscription gone");
	PQclear(res);
	return rc;
}

/* application.updated / .removed with the Application of FEED.md, for every environment. */
static int
event_application(struct gh_pg *db, const char *id, const char *type)
{
	const char *p[1] = { id };
	PGresult *res = gh_pg_exec(db, "SELECT " PORTAL_RT_APP_OBJECT "::text, p.tenant "
	    "FROM gh_applications p WHERE p.id = $1", 1, p);
	int rc = -1;

	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) == 1)
		rc = gh_outbox_append_env(db, gh_pg_get(res, 0, 1), type, gh_pg_get(res, 0, 0), NULL, NULL);
	else
		gh_pg_set_error(db, "02000", "application gone");
	PQclear(res);
	return rc;
}

/* ---- input ---- */

struct app_in {
	const char *name, *tier, *description, *token_type;
	char *groups;                   /* JSON array text, NULL: not given */
	char *attributes;               /* JSON object text, NULL: not given */
};

static void
app_in_clear(struct app_in *in)
{
	free(in->groups);
	free(in->attributes);
}

static int
groups_in(struct gh_call *c, const struct portal_viewer *v, struct json_object *o, struct app_in *in)
{
	struct json_object *a, *out;
	char desc[200];

	if (!json_object_object_get_ex(o, "groups", &a) || a == NULL)
		return 0;
	if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) > GROUPS_MAX) {
		gh_reply_error(c, 400, "Bad Request", "groups must be an array of at most 20 group names");
		return -1;
	}
	out = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *g = json_object_array_get_idx(a, i);
		const char *s = json_object_is_type(g, json_type_string) ? json_object_get_string(g) : NULL;
		int dup = 0;

		if (s == NULL || !gh_body_name_ok(s, 64)) {
			json_object_put(out);
			gh_reply_error(c, 400, "Bad Request", "groups must be an array of group names "
			    "(1 to 64 letters, digits, spaces, '_', '.' or '-')");
			return -1;
		}
		if (!portal_viewer_has_role(v, s)) {
			json_object_put(out);
			snprintf(desc, sizeof(desc), "You are not a member of group %s: an application is shared "
			    "only with its owner's groups", s);
			gh_reply_error(c, 400, "Bad Request", desc);
			return -1;
		}
		for (size_t k = 0; k < json_object_array_length(out); k++)
			dup |= strcmp(json_object_get_string(json_object_array_get_idx(out, k)), s) == 0;
		if (!dup)
			json_object_array_add(out, json_object_new_string(s));
	}
	in->groups = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
	return 0;
}

static int
attributes_in(struct gh_call *c, struct json_object *o, struct app_in *in)
{
	struct json_object *a;
	int n = 0;

	if (!json_object_object_get_ex(o, "attributes", &a) || a == NULL)
		return 0;
	if (!json_object_is_type(a, json_type_object))
		goto bad;
	json_object_object_foreach(a, key, val) {
		const char *s = json_object_is_type(val, json_type_string) ? json_object_get_string(val) : NULL;
		if (++n > ATTRS_MAX || !gh_body_text_ok(key, 100, 0) || s == NULL ||
		    (s[0] != '\0' && !gh_body_text_ok(s, 1024, 0)))
			goto bad;
	}
	in->attributes = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	return 0;
bad:
	gh_reply_error(c, 400, "Bad Request", "attributes must be an object of at most 20 string values "
	    "(keys up to 100, values up to 1024 characters of text)");
	return -1;
}

/* Read and check the body's members; create: name and throttlingPolicy required.  0, -1 replied. */
static int
app_input(struct gh_call *c, struct gh_pg *db, const struct portal_viewer *v, struct json_object *o,
    int create, struct app_in *in)
{
	const char *p[2];
	int64_t found = 0;

	memset(in, 0, sizeof(*in));
	if (portal_str(c, o, "name", 1000, create ? PORTAL_STR_REQUIRED : 0, &in->name) != 0 ||
	    portal_str(c, o, "throttlingPolicy", 64, PORTAL_STR_NAME | (create ? PORTAL_STR_REQUIRED : 0),
	    &in->tier) != 0 ||
	    portal_str(c, o, "description", DESC_MAX_LEN, 0, &in->description) != 0 ||
	    portal_str(c, o, "tokenType", 16, 0, &in->token_type) != 0)
		return -1;
	if (!create && ((json_object_is_type(json_object_object_get(o, "name"), json_type_string) &&
	    in->name == NULL) || (json_object_is_type(json_object_object_get(o, "throttlingPolicy"),
	    json_type_string) && in->tier == NULL))) {
		gh_reply_error(c, 400, "Bad Request", "name and throttlingPolicy cannot be empty");
		return -1;
	}
	if (in->name != NULL && !app_name_ok(in->name)) {
		gh_reply_error(c, 400, "Bad Request", "name must be 1 to 70 characters without leading or "
		    "trailing spaces and none of ~!@#;%^*+={}|\\<>\"',");
		return -1;
	}
	if (in->token_type != NULL) {
		if (strcmp(in->token_type, "OAUTH") == 0 || strcmp(in->token_type, "OPAQUE") == 0) {
			in->token_type = "OPAQUE";
		} else if (strcmp(in->token_type, "JWT") != 0) {
			gh_reply_error(c, 400, "Bad Request", "tokenType must be JWT, OAUTH or OPAQUE");
			return -1;
		}
	}
	if (json_object_object_get_ex(o, "description", NULL) &&
	    json_object_is_type(json_object_object_get(o, "description"), json_type_string) && in->description == NULL)
		in->description = "";           /* explicitly emptied */
	if (groups_in(c, v, o, in) != 0 || attributes_in(c, o, in) != 0)
		return -1;
	if (in->tier == NULL)
		return 0;
	p[0] = in->tier;
	p[1] = v->p.tenant;
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_throttle_policies WHERE kind = 'application' "
	    "AND name = $1 AND tenant IN ('*', $2)", 2, p, &found) < 0) {
		portal_db_error(c, db, "The throttling policies could not be read");
		return -1;
	}
	if (found == 0) {
		gh_reply_error(c, 400, "Bad Request", "throttlingPolicy is not an application throttling policy "
		    "(see GET /throttling-policies/application)");
		return -1;
	}
	return 0;
}

/* Reply the application (with its keys when keys) with status. */
static void
reply_app(struct gh_call *c, struct gh_pg *db, const char *id, int status, int keys)
{
	const char *p[1] = { id };
	char *s = portal_one_text(db, keys ?
	    "SELECT (" PORTAL_APP_OBJECT " || jsonb_build_object('keys', coalesce((SELECT jsonb_agg(" PORTAL_KEY_OBJECT
	    "  ORDER BY k.key_type) FROM gh_oauth_clients k WHERE k.app_id = p.id), '[]'::jsonb)))::text "
	    "FROM gh_applications p WHERE p.id = $1" :
	    "SELECT " PORTAL_APP_OBJECT "::text FROM gh_applications p WHERE p.id = $1", 1, p);
	char loc[200];

	if (s == NULL) {
		portal_db_error(c, db, "The application could not be read back");
		return;
	}
	gh_reply_raw(c, status, "application/json", s, strlen(s));
	if (status == 201) {
		snprintf(loc, sizeof(loc), PORTAL_BASE "/applications/%s", id);
		gh_reply_header(c, "Location", loc);
	}
	free(s);
}

/* ---- handlers ---- */

static void
apps_list(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	int64_t limit, offset;
	char lim[24], off[24], *q = NULL;
	const char *p[6];

	if (portal_viewer_begin(c, db, &v, 0, "apim:app_manage") != 0)
		return;
	if (portal_page(c, &limit, &offset) != 0)
		goto out;
	q = gh_call_query(c, "query");
	if (q != NULL && q[0] != '\0' && !gh_body_text_ok(q, 100, 0)) {
		gh_reply_error(c, 400, "Bad Request", "query must be at most 100 characters of text");
		goto out;
	}
	p[0] = v.p.tenant;
	p[1] = v.p.sub;
	p[2] = v.roles_json;
	p[3] = q != NULL && q[0] != '\0' ? q : NULL;
	p[4] = gh_pg_i64(lim, limit);
	p[5] = gh_pg_i64(off, offset);
	portal_reply_page(c, db, "The applications could not be listed", limit, offset,
	    "WITH v AS (SELECT p.* FROM gh_applications p WHERE " PORTAL_APP_VISIBLE
	    "  AND ($4::text IS NULL OR strpos(lower(p.name), lower($4)) > 0)) "
	    "SELECT (SELECT count(*) FROM v), coalesce((SELECT jsonb_agg(" PORTAL_APP_OBJECT " ORDER BY p.name, p.id) "
	    "  FROM (SELECT * FROM v ORDER BY name, id LIMIT $5::bigint OFFSET $6::bigint) p), '[]')::text",
	    6, p);
out:
	free(q);
	portal_viewer_end(&v);
}

struct create_tx {
	const struct gh_call *c;
	const struct portal_viewer *v;
	const struct app_in *in;
	char id[64];
};

static int
create_tx(struct gh_pg *db, void *arg)
{
	struct create_tx *t = arg;
	const struct app_in *in = t->in;
	const char *p[8] = { t->v->p.tenant, in->name, t->v->p.sub, in->tier,
		in->token_type ? in->token_type : "JWT", in->description ? in->description : "",
		in->groups ? in->groups : "[]", in->attributes ? in->attributes : "{}" };
	struct json_object *d;
	char *id = portal_one_text(db, "INSERT INTO gh_applications (id, tenant, name, owner, tier, token_type, "
	    "  description, groups, attributes) VALUES (gen_random_uuid()::text, $1, $2, $3, $4, $5, $6, "
	    "  ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), $8::jsonb) RETURNING id", 8, p);

	if (id == NULL)
		return -1;
	snprintf(t->id, sizeof(t->id), "%s", id);
	free(id);
	d = json_object_new_object();
	json_object_object_add(d, "name", json_object_new_string(in->name));
	json_object_object_add(d, "throttlingPolicy", json_object_new_string(in->tier));
	portal_audit(db, t->c, t->v, "application.create", t->id, d);
	json_object_put(d);
	return 0;
}

static void
apps_create(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct json_object *o = NULL;
	struct app_in in = { 0 };
	struct create_tx t = { 0 };

	if (portal_viewer_begin(c, db, &v, 0, "apim:app_manage") != 0)
		return;
	if ((o = gh_call_body(c, 415)) == NULL || app_input(c, db, &v, o, 1, &in) != 0)
		goto out;
	t.c = c;
	t.v = &v;
	t.in = &in;
	if (gh_pg_run_tx(db, 0, create_tx, &t) != 0) {
		if (gh_pg_is(db, "23505"))
			gh_reply_error(c, 409, "Conflict", "You already have an application with this name");
		else
			portal_db_error(c, db, "The application could not be created");
		goto out;
	}
	reply_app(c, db, t.id, 201, 0);
out:
	app_in_clear(&in);
	json_object_put(o);
	portal_viewer_end(&v);
}

static void
apps_get(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct portal_app a;

	if (portal_viewer_begin(c, db, &v, 0, "apim:app_manage") != 0)
		return;
	if (portal_app_load(c, db, &v, gh_call_param(c, "applicationId"), &a) == 0)
		reply_app(c, db, a.id, 200, 1);
	portal_viewer_end(&v);
}

/* The application's client ids (keys at the key manager).  NULL on a database error. */
static PGresult *
app_clients(struct gh_pg *db, const char *app_id)
{
	const char *p[1] = { app_id };

	return gh_pg_exec(db, "SELECT client_id FROM gh_oauth_clients WHERE app_id = $1 ORDER BY key_type", 1, p);
}

struct change_tx {
	const struct gh_call *c;
	const struct portal_viewer *v;
	const struct app_in *in;        /* update only */
	const char *id;
	int km_status;                  /* the key manager's failing answer */
	struct json_object *km_resp;
};

enum { TX_NOT_FOUND = 1, TX_NOT_OWNER, TX_KM_FAILED, TX_TOKEN_TYPE };

static int
update_tx(struct gh_pg *db, void *arg)
{
	struct change_tx *t = arg;
	const struct app_in *in = t->in;
	struct portal_app a;
	const char *p[8] = { t->id, in->name, in->tier, in->description, in->token_type, in->groups,
		in->attributes };
	struct json_object *d;
	PGresult *keys;
	int x = portal_app_find(db, t->v, t->id, 1, &a), rc = 0;

	if (x != 0)
		return x < 0 ? -1 : TX_NOT_FOUND;
	if (!a.is_owner)
		return TX_NOT_OWNER;
	if (gh_pg_cmd(db, "UPDATE gh_applications SET name = coalesce($2, name), tier = coalesce($3, tier), "
	    "  description = coalesce($4, description), token_type = coalesce($5, token_type), "
	    "  groups = CASE WHEN $6::jsonb IS NULL THEN groups "
	    "    ELSE ARRAY(SELECT jsonb_array_elements_text($6::jsonb)) END, "
	    "  attributes = coalesce($7::jsonb, attributes), updated_at = now() WHERE id = $1", 7, p, NULL) != 0)
		return -1;
	if ((keys = app_clients(db, t->id)) == NULL)
		return -1;
	if (in->token_type != NULL && strcmp(in->token_type, a.token_type) != 0 && gh_pg_nrows(keys) > 0) {
		PQclear(keys);
		return TX_TOKEN_TYPE;
	}
	/* The key manager's clients carry the name and tier in their tokens: push them first. */
	if ((in->name != NULL && strcmp(in->name, a.name) != 0) || (in->tier != NULL && strcmp(in->tier, a.tier) != 0)) {
		for (int i = 0; i < gh_pg_nrows(keys) && rc == 0; i++) {
			struct json_object *b = json_object_new_object();
			char path[300];

			json_object_object_add(b, "applicationName", json_object_new_string(in->name ? in->name : a.name));
			json_object_object_add(b, "tier", json_object_new_string(in->tier ? in->tier : a.tier));
			snprintf(path, sizeof(path), "/internal/km/v1/clients/%s", gh_pg_get(keys, i, 0));
			json_object_put(t->km_resp);
			t->km_status = portal_km_json("PUT", path, b, &t->km_resp);
			json_object_put(b);
			if (t->km_status != 200)
				rc = TX_KM_FAILED;
		}
	}
	PQclear(keys);
	if (rc != 0)
		return rc;
	d = json_object_new_object();
	if (in->name != NULL)
		json_object_object_add(d, "name", json_object_new_string(in->name));
	if (in->tier != NULL)
		json_object_object_add(d, "throttlingPolicy", json_object_new_string(in->tier));
	portal_audit(db, t->c, t->v, "application.update", t->id, d);
	json_object_put(d);
	return event_application(db, t->id, "application.updated");
}

static void
change_failed(struct gh_call *c, struct gh_pg *db, struct change_tx *t, int rc, const char *what)
{
	if (rc == TX_NOT_FOUND)
		gh_reply_error(c, 404, "Not Found", "No application of yours has this id");
	else if (rc == TX_NOT_OWNER)
		gh_reply_error(c, 403, "Forbidden", "Only the owner of a shared application may change or delete it");
	else if (rc == TX_TOKEN_TYPE)
		gh_reply_error(c, 400, "Bad Request", "tokenType cannot change once the application has keys");
	else if (rc == TX_KM_FAILED)
		portal_km_error(c, t->km_status >= 400 && t->km_status < 500 ? 0 : t->km_status, t->km_resp, what);
	else if (gh_pg_is(db, "23505"))
		gh_reply_error(c, 409, "Conflict", "You already have an application with this name");
	else
		portal_db_error(c, db, what);
}

static void
apps_update(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct json_object *o = NULL;
	struct app_in in = { 0 };
	struct change_tx t = { 0 };
	int rc;

	if (portal_viewer_begin(c, db, &v, 0, "apim:app_manage") != 0)
		return;
	if ((o = gh_call_body(c, 415)) == NULL || app_input(c, db, &v, o, 0, &in) != 0)
		goto out;
	t.c = c;
	t.v = &v;
	t.in = &in;
	t.id = gh_call_param(c, "applicationId");
	rc = gh_pg_run_tx(db, 0, update_tx, &t);
	if (rc != 0) {
		change_failed(c, db, &t, rc, "The application could not be updated");
		goto out;
	}
	reply_app(c, db, t.id, 200, 0);
out:
	json_object_put(t.km_resp);
	app_in_clear(&in);
	json_object_put(o);
	portal_viewer_end(&v);
}

static int
delete_tx(struct gh_pg *db, void *arg)
{
	struct change_tx *t = arg;
	struct portal_app a;
	const char *p[1] = { t->id };
	PGresult *keys, *subs;
	int x = portal_app_find(db, t->v, t->id, 1, &a), rc = 0;

	if (x != 0)
		return x < 0 ? -1 : TX_NOT_FOUND;
	if (!a.is_owner)
		return TX_NOT_OWNER;
	subs = gh_pg_exec(db, "SELECT id FROM gh_subscriptions WHERE app_id = $1 ORDER BY id FOR UPDATE", 1, p);
	if (subs == NULL)
		return -1;
	if ((keys = app_clients(db, t->id)) == NULL) {
		PQclear(subs);
		return -1;
	}
	/* Remove the clients at the key manager before our first event (the outbox lock). */
	for (int i = 0; i < gh_pg_nrows(keys) && rc == 0; i++) {
		char path[300];

		snprintf(path, sizeof(path), "/internal/km/v1/clients/%s", gh_pg_get(keys, i, 0));
		json_object_put(t->km_resp);
		t->km_status = portal_km_json("DELETE", path, NULL, &t->km_resp);
		if (t->km_status != 204 && t->km_status != 200 && t->km_status != 404)
			rc = TX_KM_FAILED;
	}
	PQclear(keys);
	for (int i = 0; i < gh_pg_nrows(subs) && rc == 0; i++)
		if (portal_event_subscription(db, gh_pg_get(subs, i, 0), "subscription.removed", 0) != 0)
			rc = -1;
	PQclear(subs);
	if (rc != 0)
		return rc;
	if (event_application(db, t->id, "application.removed") != 0 ||
	    gh_pg_cmd(db, "DELETE FROM gh_subscriptions WHERE app_id = $1", 1, p, NULL) != 0 ||
	    gh_pg_cmd(db, "DELETE FROM gh_applications WHERE id = $1", 1, p, NULL) != 0)
		return -1;
	portal_audit(db, t->c, t->v, "application.delete", t->id, NULL);
	return 0;
}

static void
apps_delete(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct change_tx t = { 0 };
	int rc;

	if (portal_viewer_begin(c, db, &v, 0, "apim:app_manage") != 0)
		return;
	t.c = c;
	t.v = &v;
	t.id = gh_call_param(c, "applicationId");
	rc = gh_pg_run_tx(db, 0, delete_tx, &t);
	if (rc != 0)
		change_failed(c, db, &t, rc, "The application could not be deleted");
	else
		gh_reply_raw(c, 200, NULL, NULL, 0);
	json_object_put(t.km_resp);
	portal_viewer_end(&v);
}

void
portal_application_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PORTAL_BASE "/applications", apps_list);
	gh_call_route(r, "POST", PORTAL_BASE "/applications", apps_create);
	gh_call_route(r, "GET", PORTAL_BASE "/applications/{applicationId}", apps_get);
	gh_call_route(r, "PUT", PORTAL_BASE "/applications/{applicationId}", apps_update);
	gh_call_route(r, "DELETE", PORTAL_BASE "/applications/{applicationId}", apps_delete);
}
