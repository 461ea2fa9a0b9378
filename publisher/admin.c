/*
 * The admin REST API (/api/am/admin/v4, scope apim:admin): the route table
 * that gathers its modules (tenants, environments, throttling and deny
 * policies, the audit log) and the request helpers they share: token and
 * super-tenant checks, strict typed reads of JSON members that reply the
 * precise 400 themselves, database error replies and events.  Nothing
 * here keeps state; each request owns what it allocates.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "publisher/pub_admin.h"

void
pub_admin_routes(struct gh_router *r)
{
	pub_admin_tenant_routes(r);
	pub_admin_env_routes(r);
	pub_admin_policy_routes(r);
	pub_admin_deny_routes(r);
	pub_admin_audit_routes(r);
}

int
pub_adm_auth(struct gh_call *c, struct gh_pg *db, struct gh_principal *p)
{
	return gh_call_auth(c, db, pub.mauth, "apim:admin", p);
}

int
pub_adm_is_super(const struct gh_principal *p)
{
	return strcmp(p->tenant, PUB_SUPER_TENANT) == 0;
}

int
pub_adm_require_super(struct gh_call *c, const struct gh_principal *p, const char *what)
{
	char why[200];

	if (pub_adm_is_super(p))
		return 0;
	snprintf(why, sizeof(why), "Only administrators of the super tenant may %s", what);
	gh_reply_error(c, 403, "Forbidden", why);
	return -1;
}

struct json_object *
pub_adm_body(struct gh_call *c)
{
	if (gh_call_ctype_is(c, "application/json") && (c->body == NULL || c->body_len == 0)) {
		gh_reply_error(c, 400, "Bad Request", "A JSON object is required");
		return NULL;
	}
	return gh_call_body(c, 415);
}

static void
reply_member(struct gh_call *c, const char *key, const char *what)
{
	char why[240];

	snprintf(why, sizeof(why), "%s %s", key, what);
	gh_reply_error(c, 400, "Bad Request", why);
}

int
pub_adm_str(struct gh_call *c, struct json_object *o, const char *key, int required, size_t max,
    int multiline, const char **out)
{
	struct json_object *v = NULL;
	const char *s;
	char what[120];
	int rc = gh_body_member(o, key, json_type_string, &v);

	*out = NULL;
	if (rc > 0) {
		if (!required)
			return 0;
		reply_member(c, key, "(a string) is required");
		return -1;
	}
	if (rc < 0) {
		reply_member(c, key, "must be a string");
		return -1;
	}
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v) ||
	    !gh_body_text_ok(s, max, GH_BODY_EMPTY_OK | (multiline ? GH_BODY_MULTILINE : 0)) ||
	    (required && s[0] == '\0')) {
		snprintf(what, sizeof(what), "must be %s1 to %zu characters of text without control characters",
		    required ? "" : "0 or ", max);
		reply_member(c, key, what);
		return -1;
	}
	*out = s;
	return 0;
}

int
pub_adm_bool(struct gh_call *c, struct json_object *o, const char *key, int *out)
{
	struct json_object *v = NULL;
	int rc = gh_body_member(o, key, json_type_boolean, &v);

	if (rc > 0)
		return 1;
	if (rc < 0) {
		reply_member(c, key, "must be true or false");
		return -1;
	}
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 0;
}

int
pub_adm_int(struct gh_call *c, struct json_object *o, const char *key, long long min, long long max,
    long long *out)
{
	struct json_object *v = NULL;
	char what[120];
	long long x;
	int rc = gh_body_member(o, key, json_type_int, &v);

	if (rc > 0)
		return 1;
	snprintf(what, sizeof(what), "must be an integer from %lld to %lld", min, max);
	if (rc < 0) {
		reply_member(c, key, what);
		return -1;
	}
	errno = 0;
	x = (long long)json_object_get_int64(v);
	if (errno != 0 || x < min || x > max) {
		reply_member(c, key, what);
		return -1;
	}
	*out = x;
	return 0;
}

int
pub_adm_obj(struct gh_call *c, struct json_object *o, const char *key, struct json_object **out)
{
	int rc = gh_body_member(o, key, json_type_object, out);

	if (rc < 0)
		reply_member(c, key, "must be an object");
	return rc;
}

int
pub_adm_arr(struct gh_call *c, struct json_object *o, const char *key, size_t max, struct json_object **out)
{
	struct json_object *v = NULL;
	char what[80];
	int rc = gh_body_member(o, key, json_type_array, &v);

	*out = NULL;
	if (rc > 0)
		return 1;
	if (rc < 0 || json_object_array_length(v) > max) {
		snprintf(what, sizeof(what), "must be an array of at most %zu items", max);
		reply_member(c, key, what);
		return -1;
	}
	*out = v;
	return 0;
}

int
pub_adm_known(struct gh_call *c, struct json_object *o, const char *const *allowed)
{
	json_object_object_foreach(o, key, val) {
		size_t i;

		(void)val;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			char why[200];
			snprintf(why, sizeof(why), "Unknown member \"%.100s\"", gh_body_text_ok(key, 100, GH_BODY_EMPTY_OK) ?
			    key : "?");
			gh_reply_error(c, 400, "Bad Request", why);
			return -1;
		}
	}
	return 0;
}

int
pub_adm_query_int(struct gh_call *c, const char *name, long long min, long long max, long long def,
    long long *out)
{
	char *v = gh_call_query(c, name), *end = NULL, why[160];
	long long x;

	*out = def;
	if (v == NULL)
		return 0;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || x < min || x > max) {
		free(v);
		snprintf(why, sizeof(why), "%s must be an integer from %lld to %lld", name, min, max);
		gh_reply_error(c, 400, "Bad Request", why);
		return -1;
	}
	free(v);
	*out = x;
	return 0;
}

void
pub_adm_db_error(struct gh_call *c, struct gh_pg *db)
{
	gh_log_error("admin", c->request_id, "%s %s: database: %s %s", c->method, c->path, gh_pg_sqlstate(db),
	    gh_pg_errmsg(db));
	if (strncmp(gh_pg_sqlstate(db), "08", 2) == 0)
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
	else
		gh_reply_error(c, 500, "Internal Server Error", "The database refused the request");
}

void
pub_adm_reply_query(struct gh_call *c, struct gh_pg *db, int status, const char *what, const char *sql,
    int n, const char *const *params)
{
	PGresult *res = gh_pg_exec(db, sql, n, params);
	const char *v;

	if (res == NULL) {
		pub_adm_db_error(c, db);
		return;
	}
	v = gh_pg_nrows(res) > 0 ? gh_pg_get(res, 0, 0) : NULL;
	if (v == NULL)
		gh_reply_error(c, 404, "Not Found", what);
	else
		gh_reply_raw(c, status, "application/json", v, strlen(v));
	PQclear(res);
}

int
pub_adm_event(struct gh_pg *db, const char *tenant, const char *type, struct json_object *payload)
{
	return gh_outbox_append(db, tenant, type,
	    json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN), NULL);
}

const char *
pub_adm_actor(const struct gh_principal *p)
{
	return p->sub;
}
