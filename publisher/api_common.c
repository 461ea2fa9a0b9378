/*
 * What every publisher REST handler shares: authentication with WSO2's
 * alternative scopes, the error replies, ids, the API row of a tenant
 * (locked FOR UPDATE by every change, so that changes of one API
 * serialize) and the API object as the REST API shows it, rendered by
 * PostgreSQL from the stored definition and the columns that queries use.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "publisher/pub.h"
#include "publisher/pub_api.h"

/* The API object of the REST API: the stored definition under the authoritative columns. */
#define API_OBJECT \
	"(a.definition || jsonb_build_object('id', a.id, 'name', a.name, 'context', a.context, " \
	"'version', a.version, 'provider', a.provider, 'lifeCycleStatus', a.status, " \
	"'isDefaultVersion', a.is_default_version, 'hasThumbnail', false, 'isRevision', false, " \
	"'createdTime', (extract(epoch from a.created_at) * 1000)::bigint::text, " \
	"'lastUpdatedTime', (extract(epoch from a.updated_at) * 1000)::bigint::text))"

int
pub_fail(struct pub_err *e, int status, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	va_start(ap, fmt);
	vsnprintf(e->desc, sizeof(e->desc), fmt, ap);
	va_end(ap);
	return status;
}

int
pub_auth(struct gh_call *c, struct gh_pg *db, const char *scope1, const char *scope2,
    struct gh_principal *p)
{
	char desc[200];

	if (gh_call_auth(c, db, pub.mauth, scope2 == NULL ? scope1 : NULL, p) != 0)
		return -1;
	if (scope2 == NULL || gh_principal_has_scope(p, scope1) || gh_principal_has_scope(p, scope2))
		return 0;
	snprintf(desc, sizeof(desc), "The access token does not allow this operation "
	    "(scope %s or %s required)", scope1, scope2);
	gh_principal_clear(p);
	gh_reply_error(c, 403, "Forbidden", desc);
	return -1;
}

const char *
pub_provider(const struct gh_principal *p)
{
	return p->sub[0] != '\0' ? p->sub : p->user;
}

static const char *
status_message(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

void
pub_reply_err(struct gh_call *c, const struct pub_err *e)
{
	int st = e->status >= 400 && e->status < 600 ? e->status : 500;

	gh_reply_error(c, st, status_message(st), e->desc[0] ? e->desc : status_message(st));
}

void
pub_reply_tx(struct gh_call *c, struct gh_pg *db, int rc, const struct pub_err *e)
{
	if (rc > 0) {
		pub_reply_err(c, e);
		return;
	}
	if (gh_pg_is(db, "23505"))
		gh_reply_error(c, 409, "Conflict", "A resource with the same identity already exists");
	else if (gh_pg_is(db, GH_PG_SQLSTATE_NUL_IN_TEXT) || gh_pg_is(db, "22P02") ||
	    gh_pg_is(db, "22P05") || gh_pg_is(db, "54000"))
		gh_reply_error(c, 400, "Bad Request", "A value cannot be stored");
	else
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
}

void
pub_uuid(char out[37])
{
	unsigned char b[16];
	char hex[33];

	if (gh_random_bytes(b, sizeof(b)) != 0)
		abort();        /* no entropy: nothing safe to do */
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	gh_hex_encode(b, sizeof(b), hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

int
pub_id_ok(const char *s)
{
	if (s == NULL || strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		char ch = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (ch != '-')
				return 0;
		} else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'))) {
			return 0;
		}
	}
	return 1;
}

void
pub_reply_api_404(struct gh_call *c, const char *id)
{
	char desc[160];

	snprintf(desc, sizeof(desc), "Requested API with id '%.40s' not found", pub_id_ok(id) ? id : "");
	gh_reply_error(c, 404, "Not Found", desc);
}

void
pub_reply_text(struct gh_call *c, int status, const char *json)
{
	gh_reply_raw(c, status, "application/json", json, strlen(json));
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

int
pub_api_load(struct gh_pg *db, const char *tenant, const char *id, int lock, struct pub_api_row *out)
{
	const char *p[2] = { id, tenant };
	PGresult *res;

	memset(out, 0, sizeof(*out));
	if (!pub_id_ok(id))
		return 1;
	res = gh_pg_exec(db, lock ?
	    "SELECT id, tenant, name, context, version, provider, status, is_default_version, "
	    "definition::text, swagger FROM gh_apis WHERE id = $1 AND tenant = $2 FOR UPDATE" :
	    "SELECT id, tenant, name, context, version, provider, status, is_default_version, "
	    "definition::text, swagger FROM gh_apis WHERE id = $1 AND tenant = $2", 2, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) != 1) {
		PQclear(res);
		return 1;
	}
	out->id = dup_or_null(gh_pg_get(res, 0, 0));
	out->tenant = dup_or_null(gh_pg_get(res, 0, 1));
	out->name = dup_or_null(gh_pg_get(res, 0, 2));
	out->context = dup_or_null(gh_pg_get(res, 0, 3));
	out->version = dup_or_null(gh_pg_get(res, 0, 4));
	out->provider = dup_or_null(gh_pg_get(res, 0, 5));
	out->status = dup_or_null(gh_pg_get(res, 0, 6));
	out->is_default = strcmp(gh_pg_get(res, 0, 7), "t") == 0;
	out->definition = dup_or_null(gh_pg_get(res, 0, 8));
	out->swagger = dup_or_null(gh_pg_get(res, 0, 9));
	PQclear(res);
	if (out->id == NULL || out->tenant == NULL || out->name == NULL || out->context == NULL ||
	    out->version == NULL || out->provider == NULL || out->status == NULL || out->definition == NULL) {
		pub_api_row_clear(out);
		gh_pg_set_error(db, GH_PG_SQLSTATE_NOMEM, "out of memory");
		return -1;
	}
	return 0;
}

int
pub_api_load_reply(struct gh_call *c, struct gh_pg *db, const char *tenant, struct pub_api_row *out)
{
	int rc = pub_api_load(db, tenant, gh_call_param(c, "apiId"), 0, out);

	if (rc < 0)
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
	else if (rc > 0)
		pub_reply_api_404(c, gh_call_param(c, "apiId"));
	return rc != 0 ? -1 : 0;
}

void
pub_api_row_clear(struct pub_api_row *r)
{
	free(r->id);
	free(r->tenant);
	free(r->name);
	free(r->context);
	free(r->version);
	free(r->provider);
	free(r->status);
	free(r->definition);
	free(r->swagger);
	memset(r, 0, sizeof(*r));
}

char *
pub_api_render(struct gh_pg *db, const char *id)
{
	const char *p[1] = { id };
	PGresult *res = gh_pg_exec(db, "SELECT " API_OBJECT "::text FROM gh_apis a WHERE a.id = $1", 1, p);
	char *out = NULL;

	if (res == NULL)
		return NULL;
	if (gh_pg_nrows(res) == 1)
		out = dup_or_null(gh_pg_get(res, 0, 0));
	PQclear(res);
	return out;
}

struct json_object *
pub_list_page(const PGresult *res, int64_t total, int64_t limit, int64_t offset)
{
	struct json_object *out = json_object_new_object(), *list = json_object_new_array(), *pg;

	for (int i = 0; i < gh_pg_nrows(res); i++)
		json_object_array_add(list, json_tokener_parse(gh_pg_get(res, i, 0)));
	json_object_object_add(out, "count", json_object_new_int(gh_pg_nrows(res)));
	json_object_object_add(out, "list", list);
	pg = json_object_new_object();
	json_object_object_add(pg, "offset", json_object_new_int64(offset));
	json_object_object_add(pg, "limit", json_object_new_int64(limit));
	json_object_object_add(pg, "total", json_object_new_int64(total));
	json_object_object_add(out, "pagination", pg);
	return out;
}

int
pub_query_int(struct gh_call *c, const char *name, long long def, long long min, long long max,
    long long *out)
{
	char *v = gh_call_query(c, name), *end = NULL, desc[160];
	long long n;

	*out = def;
	if (v == NULL || v[0] == '\0') {
		free(v);
		return 0;
	}
	n = strtoll(v, &end, 10);
	if (end == v || *end != '\0' || v[0] == '-' || v[0] == '+' || n < min || n > max) {
		free(v);
		snprintf(desc, sizeof(desc), "Invalid value of '%s' (an integer from %lld to %lld)", name, min, max);
		gh_reply_error(c, 400, "Bad Request", desc);
		return -1;
	}
	free(v);
	*out = n;
	return 0;
}

struct json_object *
pub_body_json(const struct gh_call *c, int want, struct pub_err *e)
{
	const char *why = NULL;
	struct json_object *o;

	if (c->body == NULL || c->body_len == 0) {
		pub_fail(e, 400, "A JSON request body is required");
		return NULL;
	}
	o = gh_json_parse(c->body, c->body_len, &why);
	if (o == NULL) {
		pub_fail(e, 400, "Invalid JSON: %s", why ? why : "parse error");
		return NULL;
	}
	if (!json_object_is_type(o, (enum json_type)want)) {
		json_object_put(o);
		pub_fail(e, 400, "The request body must be a JSON %s", want == json_type_array ? "array" : "object");
		return NULL;
	}
	return o;
}

const char *
pub_json_text(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}
