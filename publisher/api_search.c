/*
 * GET /apis: the tenant's APIs, a page at a time, filtered by WSO2's
 * search syntax: "name:pizza context:/food version:1.0.0 status:PUBLISHED
 * provider:admin description:word tag:food" (space-separated, every term
 * must hold; a bare word matches the name; "quoted values" may hold
 * spaces).  Text matches are case-insensitive substrings computed with
 * strpos, so '%', '_' and '\' in a query are plain characters.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publisher/pub.h"
#include "publisher/pub_api.h"

enum { Q_NAME, Q_CONTEXT, Q_VERSION, Q_STATUS, Q_PROVIDER, Q_DESCRIPTION, Q_TAG, Q_N };

static const char *const q_keys[Q_N] = { "name", "context", "version", "status", "provider",
	"description", "tag" };

#define LIST_ITEM \
	"jsonb_build_object('id', a.id, 'name', a.name, 'context', a.context, 'version', a.version, " \
	"'provider', a.provider, 'type', coalesce(a.definition->>'type', 'HTTP'), 'lifeCycleStatus', a.status, " \
	"'description', a.definition->>'description', 'transport', a.definition->'transport', " \
	"'visibility', a.definition->'visibility', 'isDefaultVersion', a.is_default_version, " \
	"'tags', a.definition->'tags', 'hasThumbnail', false, " \
	"'createdTime', (extract(epoch from a.created_at) * 1000)::bigint::text, " \
	"'updatedTime', (extract(epoch from a.updated_at) * 1000)::bigint::text)"

#define FILTER \
	"a.tenant = $1 " \
	"AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($2::jsonb) q WHERE strpos(lower(a.name), lower(q)) = 0) " \
	"AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($3::jsonb) q WHERE strpos(lower(a.context), lower(q)) = 0) " \
	"AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($4::jsonb) q WHERE a.version <> q) " \
	"AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($5::jsonb) q WHERE a.status <> upper(q)) " \
	"AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($6::jsonb) q WHERE strpos(lower(a.provider), lower(q)) = 0) " \
	"AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($7::jsonb) q " \
	"  WHERE strpos(lower(coalesce(a.definition->>'description', '')), lower(q)) = 0) " \
	"AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($8::jsonb) q " \
	"  WHERE NOT coalesce(a.definition->'tags', '[]') @> jsonb_build_array(q)) "

/* Split query into the per-key lists of terms.  0, or 400 in e. */
static int
parse_query(const char *q, struct json_object **lists, struct pub_err *e)
{
	char term[512];

	while (q != NULL && *q != '\0') {
		size_t n = 0;
		int quoted = 0, k = Q_NAME;
		const char *colon, *val;

		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '\0')
			break;
		while (*q != '\0' && (quoted || (*q != ' ' && *q != '\t'))) {
			if (*q == '"') {
				quoted = !quoted;
				q++;
				continue;
			}
			if (n + 1 >= sizeof(term))
				return pub_fail(e, 400, "A search term is too long");
			term[n++] = *q++;
		}
		term[n] = '\0';
		if (quoted)
			return pub_fail(e, 400, "Unbalanced quotes in 'query'");
		val = term;
		colon = strchr(term, ':');
		if (colon != NULL) {
			size_t kl = (size_t)(colon - term);
			for (k = 0; k < Q_N; k++)
				if (strlen(q_keys[k]) == kl && strncmp(term, q_keys[k], kl) == 0)
					break;
			if (k == Q_N && kl == 4 && strncmp(term, "tags", 4) == 0)
				k = Q_TAG;
			if (k == Q_N && kl == 15 && strncmp(term, "lifeCycleStatus", 15) == 0)
				k = Q_STATUS;
			if (k == Q_N)
				return pub_fail(e, 400, "Unknown search key '%.*s' (name, context, version, status, "
				    "provider, description, tag)", (int)(kl > 40 ? 40 : kl), term);
			val = colon + 1;
		}
		if (*val == '\0')
			return pub_fail(e, 400, "An empty search term in 'query'");
		json_object_array_add(lists[k], json_object_new_string(val));
	}
	return 0;
}

/* Percent-encode s into out (for the pagination links). */
static void
url_encode(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s && n + 4 < outlen; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			out[n++] = (char)ch;
		} else {
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	out[n] = '\0';
}

static struct json_object *
page_link(long long limit, long long offset, const char *query)
{
	char enc[1600], buf[1800];

	url_encode(query ? query : "", enc, sizeof(enc));
	snprintf(buf, sizeof(buf), "/apis?limit=%lld&offset=%lld&query=%s", limit, offset, enc);
	return json_object_new_string(buf);
}

void
pub_api_search(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *lists[Q_N] = { 0 }, *out = NULL, *pg;
	struct gh_principal p;
	struct pub_err e = { 0 };
	const char *prm[10];
	char lim[24], off[24], *query = NULL;
	long long limit, offset;
	int64_t total = 0;
	PGresult *res = NULL;

	if (pub_auth(c, db, "apim:api_view", NULL, &p) != 0)
		return;
	if (pub_query_int(c, "limit", 25, 1, 1000, &limit) != 0 ||
	    pub_query_int(c, "offset", 0, 0, 1000000000, &offset) != 0)
		goto out;
	for (int k = 0; k < Q_N; k++)
		lists[k] = json_object_new_array();
	query = gh_call_query(c, "query");
	if (query != NULL && strlen(query) > 1000) {
		gh_reply_error(c, 400, "Bad Request", "'query' is too long");
		goto out;
	}
	if (parse_query(query, lists, &e) != 0) {
		pub_reply_err(c, &e);
		goto out;
	}
	prm[0] = p.tenant;
	for (int k = 0; k < Q_N; k++)
		prm[k + 1] = pub_json_text(lists[k]);
	prm[8] = gh_pg_i64(lim, limit);
	prm[9] = gh_pg_i64(off, offset);
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_apis a WHERE " FILTER, 8, prm, &total) != 0 ||
	    (res = gh_pg_exec(db, "SELECT " LIST_ITEM "::text FROM gh_apis a WHERE " FILTER
	    "ORDER BY lower(a.name), a.version, a.id LIMIT $9::bigint OFFSET $10::bigint", 10, prm)) == NULL) {
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
		goto out;
	}
	out = pub_list_page(res, total, limit, offset);
	pg = json_object_object_get(out, "pagination");
	json_object_object_add(pg, "next", offset + limit < total ? page_link(limit, offset + limit, query) :
	    json_object_new_string(""));
	json_object_object_add(pg, "previous", offset > 0 ?
	    page_link(limit, offset > limit ? offset - limit : 0, query) : json_object_new_string(""));
	gh_reply_json(c, 200, out);
out:
	PQclear(res);
	json_object_put(out);
	for (int k = 0; k < Q_N; k++)
		json_object_put(lists[k]);
	free(query);
	gh_principal_clear(&p);
}
