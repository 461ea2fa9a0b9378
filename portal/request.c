/*
 * Small pieces every DevPortal handler uses: typed, bounded string
 * members of a JSON body (parsed and checked by appliance/pg/call_body.c);
 * limit/offset and WSO2's list envelope; one-value queries; database errors; the audit row.  Nothing
 * here keeps state between calls.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "portal/portal_int.h"

int
portal_str(struct gh_call *c, struct json_object *o, const char *key, size_t max, int flags,
    const char **out)
{
	struct json_object *v = NULL;
	char desc[300];
	const char *s;
	int rc = gh_body_member(o, key, json_type_string, &v);

	*out = NULL;
	if (rc > 0) {
		if (!(flags & PORTAL_STR_REQUIRED))
			return 0;
		snprintf(desc, sizeof(desc), "%s is required", key);
		goto bad;
	}
	if (rc < 0) {
		snprintf(desc, sizeof(desc), "%s must be a string", key);
		goto bad;
	}
	s = json_object_get_string(v);
	if (s[0] == '\0' && !(flags & PORTAL_STR_REQUIRED))
		return 0;
	if (strlen(s) != (size_t)json_object_get_string_len(v) ||
	    ((flags & PORTAL_STR_NAME) ? !gh_body_name_ok(s, max) : !gh_body_text_ok(s, max, 0))) {
		snprintf(desc, sizeof(desc), (flags & PORTAL_STR_NAME) ?
		    "%s must be 1 to %zu letters, digits, spaces, '_', '.' or '-'" :
		    "%s must be 1 to %zu characters of text without control characters", key, max);
		goto bad;
	}
	*out = s;
	return 0;
bad:
	gh_reply_error(c, 400, "Bad Request", desc);
	return -1;
}

static int
query_int(struct gh_call *c, const char *name, int64_t dflt, int64_t lo, int64_t hi, int64_t *out)
{
	char *v = gh_call_query(c, name), *end = NULL, desc[160];
	long long x;

	*out = dflt;
	if (v == NULL)
		return 0;
	x = strtoll(v, &end, 10);
	if (v[0] == '\0' || *end != '\0' || x < lo || x > hi || (v[0] == '-' && lo >= 0)) {
		free(v);
		snprintf(desc, sizeof(desc), "%s must be an integer from %lld to %lld", name,
		    (long long)lo, (long long)hi);
		gh_reply_error(c, 400, "Bad Request", desc);
		return -1;
	}
	free(v);
	*out = x;
	return 0;
}

int
portal_page(struct gh_call *c, int64_t *limit, int64_t *offset)
{
	if (query_int(c, "limit", 25, 1, 1000, limit) != 0 || query_int(c, "offset", 0, 0, 1000000, offset) != 0)
		return -1;
	return 0;
}

struct json_object *
portal_list(struct json_object *list, int64_t total, int64_t limit, int64_t offset)
{
	struct json_object *o = json_object_new_object(), *pg = json_object_new_object();
	char buf[96];

	if (list == NULL)
		list = json_object_new_array();
	json_object_object_add(o, "count", json_object_new_int64((int64_t)json_object_array_length(list)));
	json_object_object_add(o, "list", list);
	json_object_object_add(pg, "offset", json_object_new_int64(offset));
	json_object_object_add(pg, "limit", json_object_new_int64(limit));
	json_object_object_add(pg, "total", json_object_new_int64(total));
	buf[0] = '\0';
	if (offset + limit < total)
		snprintf(buf, sizeof(buf), "?limit=%lld&offset=%lld", (long long)limit,
		    (long long)(offset + limit));
	json_object_object_add(pg, "next", json_object_new_string(buf));
	buf[0] = '\0';
	if (offset > 0)
		snprintf(buf, sizeof(buf), "?limit=%lld&offset=%lld", (long long)limit,
		    (long long)(offset > limit ? offset - limit : 0));
	json_object_object_add(pg, "previous", json_object_new_string(buf));
	json_object_object_add(o, "pagination", pg);
	return o;
}

void
portal_reply_page(struct gh_call *c, struct gh_pg *db, const char *what, int64_t limit, int64_t offset,
    const char *sql, int n, const char *const *p)
{
	PGresult *res = gh_pg_exec(db, sql, n, p);
	int64_t total = 0;

	if (res == NULL || gh_pg_nrows(res) != 1) {
		portal_db_error(c, db, what);
		goto out;
	}
	gh_pg_get_int64(res, 0, 0, &total);
	portal_reply(c, 200, portal_list(portal_json_text(gh_pg_get(res, 0, 1)), total, limit, offset));
out:
	PQclear(res);
}

char *
portal_one_text(struct gh_pg *db, const char *sql, int n, const char *const *p)
{
	PGresult *res = gh_pg_exec(db, sql, n, p);
	char *out = NULL;

	if (res == NULL)
		return NULL;
	if (gh_pg_nrows(res) == 1 && gh_pg_get(res, 0, 0) != NULL) {
		out = strdup(gh_pg_get(res, 0, 0));
		if (out == NULL)
			gh_pg_set_error(db, GH_PG_SQLSTATE_NOMEM, "out of memory");
	} else {
		gh_pg_set_error(db, "02000", "no row");
	}
	PQclear(res);
	return out;
}

struct json_object *
portal_json_text(const char *s)
{
	if (s == NULL)
		return NULL;
	return json_tokener_parse(s);
}

void
portal_db_error(struct gh_call *c, struct gh_pg *db, const char *what)
{
	const char *st = gh_pg_sqlstate(db);

	gh_log_error("db", c->request_id, "%s: %s %s", what, st, gh_pg_errmsg(db));
	if (strncmp(st, "08", 2) == 0)
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
	else
		gh_reply_error(c, 500, "Internal Server Error", what);
}

void
portal_audit(struct gh_pg *db, const struct gh_call *c, const struct portal_viewer *v,
    const char *action, const char *target, struct json_object *details)
{
	gh_call_audit(db, c, PORTAL_COMPONENT, v->p.sub, v->p.tenant, action, target, NULL, details);
}

void
portal_reply(struct gh_call *c, int status, struct json_object *o)
{
	gh_reply_json(c, status, o);
	json_object_put(o);
}
