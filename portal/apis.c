/*
 * The DevPortal REST API's route table, and browsing APIs:
 * GET /apis (search by name, tag, context, version, provider,
 * description or a bare word), GET /apis/{apiId} with the gateway URLs of
 * each environment of this site it is deployed to, GET
 * /apis/{apiId}/swagger (the stored OpenAPI document, or one made from
 * the operations) and GET /tags.  What a caller sees is decided by
 * PORTAL_API_VISIBLE alone; an API it may not see answers 404.  Anonymous
 * callers see PUBLIC APIs; the backend endpoints are never shown.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/gh_json.h"
#include "portal/portal_int.h"

#define API_DETAIL_OBJECT \
	PORTAL_API_INFO_OBJECT " || jsonb_build_object(" \
	"  'isDefaultVersion', a.is_default_version, " \
	"  'transport', coalesce(a.definition->'transport', '[\"http\", \"https\"]'::jsonb), " \
	"  'securityScheme', coalesce(a.definition->'securityScheme', '[\"oauth2\"]'::jsonb), " \
	"  'authorizationHeader', coalesce(a.definition->>'authorizationHeader', 'Authorization'), " \
	"  'operations', coalesce((SELECT jsonb_agg(jsonb_build_object('target', o->'target', " \
	"    'verb', o->'verb', 'authType', coalesce(o->'authType', '\"Application & Application User\"'::jsonb), " \
	"    'throttlingPolicy', o->'throttlingPolicy', 'scopes', " PORTAL_JARR("o->'scopes'") ") ORDER BY n) " \
	"    FROM jsonb_array_elements(" PORTAL_JARR("a.definition->'operations'") ") WITH ORDINALITY AS x(o, n) " \
	"    WHERE jsonb_typeof(o) = 'object'), '[]'::jsonb), " \
	"  'scopes', coalesce((SELECT jsonb_agg(jsonb_build_object('key', s->'name', 'name', s->'name', " \
	"    'description', coalesce(s->'description', '\"\"'::jsonb), 'roles', " PORTAL_JARR("s->'bindings'") \
	"    ) ORDER BY n) FROM jsonb_array_elements(" PORTAL_JARR("a.definition->'scopes'") ") " \
	"    WITH ORDINALITY AS x(s, n) WHERE jsonb_typeof(s) = 'object'), '[]'::jsonb), " \
	"  'tiers', coalesce((SELECT jsonb_agg(jsonb_build_object('tierName', t.name, 'tierPlan', 'FREE', " \
	"    'description', coalesce(tp.definition->>'description', ''), 'monetizationAttributes', NULL) " \
	"    ORDER BY t.n) FROM jsonb_array_elements_text(" PORTAL_JARR("a.definition->'policies'") ") " \
	"    WITH ORDINALITY AS t(name, n) LEFT JOIN LATERAL (SELECT definition FROM gh_throttle_policies " \
	"    WHERE kind = 'subscription' AND name = t.name AND tenant IN ('*', a.tenant) " \
	"    ORDER BY tenant = '*' LIMIT 1) tp ON true), '[]'::jsonb), " \
	"  'subscriptionAvailability', coalesce(a.definition->>'subscriptionAvailability', 'CURRENT_TENANT'), " \
	"  'hasThumbnail', false, 'additionalProperties', '[]'::jsonb)"

struct search {
	const char *name, *tag, *context, *version, *provider, *description, *word;
	char *buf;
};

/*
 * Parse WSO2's query: "name:pizza shack tag:food" (a value runs to the next
 * field; words before any field search name, description and tags).
 * 0, -1 replied 400.
 */
static int
search_parse(struct gh_call *c, struct search *s)
{
	static const char *const keys[] = { "name", "tag", "context", "version", "provider", "description" };
	const char **slot = NULL, **all[6];
	char *q = gh_call_query(c, "query"), *vend = NULL;

	memset(s, 0, sizeof(*s));
	s->buf = q;
	all[0] = &s->name;
	all[1] = &s->tag;
	all[2] = &s->context;
	all[3] = &s->version;
	all[4] = &s->provider;
	all[5] = &s->description;
	if (q == NULL)
		return 0;
	if (strlen(q) > 300 || (q[0] != '\0' && !gh_body_text_ok(q, 300, 0))) {
		gh_reply_error(c, 400, "Bad Request", "query must be at most 300 characters of text");
		return -1;
	}
	for (char *p = q; *p != '\0';) {
		char *t, *colon;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		t = p;
		while (*p != '\0' && *p != ' ')
			p++;
		colon = memchr(t, ':', (size_t)(p - t));
		if (colon != NULL) {
			size_t k = 0;
			for (; k < sizeof(keys) / sizeof(keys[0]); k++)
				if (strlen(keys[k]) == (size_t)(colon - t) && strncasecmp(keys[k], t, (size_t)(colon - t)) == 0)
					break;
			if (k == sizeof(keys) / sizeof(keys[0])) {
				gh_reply_error(c, 400, "Bad Request", "query: unknown search field (use name:, tag:, "
				    "context:, version:, provider:, description: or a bare word)");
				return -1;
			}
			if (vend != NULL)
				*vend = '\0';
			slot = all[k];
			t = colon + 1;
		} else if (slot == NULL) {
			slot = &s->word;
		} else {
			vend = p;
			continue;
		}
		if (*slot != NULL) {
			gh_reply_error(c, 400, "Bad Request", "query: give each search field once");
			return -1;
		}
		*slot = t;
		vend = p;
	}
	if (vend != NULL)
		*vend = '\0';
	for (size_t k = 0; k < 6; k++)
		if (*all[k] != NULL && **all[k] == '\0')
			*all[k] = NULL;
	return 0;
}

#define TAG_MATCH(p) \
	"EXISTS (SELECT 1 FROM jsonb_array_elements_text(" PORTAL_JARR("a.definition->'tags'") ") tg " \
	"  WHERE lower(tg) = lower(" p "))"

static void
apis_list(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct search s = { 0 };
	int64_t limit, offset;
	char lim[24], off[24];
	const char *p[13];

	if (portal_viewer_begin(c, db, &v, PORTAL_ANON_OK, NULL) != 0)
		return;
	if (portal_page(c, &limit, &offset) != 0 || search_parse(c, &s) != 0)
		goto out;
	portal_vis_params(&v, 0, p);
	p[4] = s.name;
	p[5] = s.tag;
	p[6] = s.context;
	p[7] = s.version;
	p[8] = s.provider;
	p[9] = s.description;
	p[10] = s.word;
	p[11] = gh_pg_i64(lim, limit);
	p[12] = gh_pg_i64(off, offset);
	portal_reply_page(c, db, "The APIs could not be listed", limit, offset,
	    "WITH v AS (SELECT a.* FROM gh_apis a WHERE " PORTAL_API_VISIBLE
	    "  AND ($5::text IS NULL OR strpos(lower(a.name), lower($5)) > 0) "
	    "  AND ($6::text IS NULL OR " TAG_MATCH("$6") ") "
	    "  AND ($7::text IS NULL OR strpos(lower(a.context), lower($7)) > 0) "
	    "  AND ($8::text IS NULL OR a.version = $8) "
	    "  AND ($9::text IS NULL OR lower(a.provider) = lower($9)) "
	    "  AND ($10::text IS NULL OR strpos(lower(coalesce(a.definition->>'description', '')), lower($10)) > 0) "
	    "  AND ($11::text IS NULL OR strpos(lower(a.name), lower($11)) > 0 "
	    "    OR strpos(lower(coalesce(a.definition->>'description', '')), lower($11)) > 0 "
	    "    OR " TAG_MATCH("$11") ")) "
	    "SELECT (SELECT count(*) FROM v), coalesce((SELECT jsonb_agg(" PORTAL_API_INFO_OBJECT
	    "  ORDER BY a.name, a.version, a.id) FROM (SELECT * FROM v ORDER BY name, version, id "
	    "  LIMIT $12::bigint OFFSET $13::bigint) a), '[]')::text", 13, p);
out:
	free(s.buf);
	portal_viewer_end(&v);
}

/* https://host[:port]/context/version (or the context's {version} replaced). */
static struct json_object *
url_of(const char *scheme, const char *host, const char *port, const char *context, const char *version)
{
	char buf[1200], path[700];
	const char *tpl = strstr(context, "{version}");
	int dflt = port == NULL || (strcmp(scheme, "https") == 0 && strcmp(port, "443") == 0) ||
	    (strcmp(scheme, "http") == 0 && strcmp(port, "80") == 0);

	if (version == NULL)
		snprintf(path, sizeof(path), "%.*s", tpl ? (int)(tpl - context) : (int)strlen(context), context);
	else if (tpl != NULL)
		snprintf(path, sizeof(path), "%.*s%s%s", (int)(tpl - context), context, version, tpl + 9);
	else
		snprintf(path, sizeof(path), "%s/%s", context, version);
	if (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	snprintf(buf, sizeof(buf), "%s://%s%s%s%s", scheme, host, dflt ? "" : ":", dflt ? "" : port, path);
	return json_object_new_string(buf);
}

static struct json_object *
urls(const char *host, const char *https, const char *http, const char *ctx, const char *ver)
{
	struct json_object *u = json_object_new_object();

	json_object_object_add(u, "http", http != NULL ? url_of("http", host, http, ctx, ver) : NULL);
	json_object_object_add(u, "https", https != NULL ? url_of("https", host, https, ctx, ver) : NULL);
	json_object_object_add(u, "ws", NULL);
	json_object_object_add(u, "wss", NULL);
	return u;
}

/* endpointURLs of api (id p[4]) for the site's environments.  NULL on a database error. */
static struct json_object *
endpoint_urls(struct gh_pg *db, const char *const *p, const char *context, const char *version, int dflt)
{
	const char *q[2] = { p[4], p[3] };
	struct json_object *list;
	PGresult *res = gh_pg_exec(db, "SELECT e.name, e.display_name, e.type, "
	    "  coalesce(nullif(d.vhost, ''), h.vh->>'host', 'localhost'), h.vh->>'httpsPort', h.vh->>'httpPort' "
	    "FROM gh_deployments d JOIN gh_environments e ON e.name = d.environment "
	    "LEFT JOIN LATERAL (SELECT vh FROM jsonb_array_elements(" PORTAL_JARR("e.vhosts") ") vh "
	    "  ORDER BY (vh->>'host' = d.vhost) DESC NULLS LAST LIMIT 1) h ON true "
	    "WHERE d.api_id = $1 AND d.display_on_devportal "
	    "  AND ($2::text IS NULL OR d.environment = ANY (string_to_array($2::text, ','))) "
	    "ORDER BY e.name", 2, q);

	if (res == NULL)
		return NULL;
	list = json_object_new_array();
	for (int i = 0; i < gh_pg_nrows(res); i++) {
		struct json_object *e = json_object_new_object();
		const char *host = gh_pg_get(res, i, 3), *https = gh_pg_get(res, i, 4), *http = gh_pg_get(res, i, 5);

		if (https == NULL && http == NULL)
			https = "443";
		json_object_object_add(e, "environmentName", json_object_new_string(gh_pg_get(res, i, 0)));
		json_object_object_add(e, "environmentDisplayName", json_object_new_string(gh_pg_get(res, i, 1)));
		json_object_object_add(e, "environmentType", json_object_new_string(gh_pg_get(res, i, 2)));
		json_object_object_add(e, "URLs", urls(host, https, http, context, version));
		json_object_object_add(e, "defaultVersionURLs", dflt ? urls(host, https, http, context, NULL) : NULL);
		json_object_array_add(list, e);
	}
	PQclear(res);
	return list;
}

/* The route's API if v may see it: 0 with p[0..4] set, -1 replied. */
static int
api_params(struct gh_call *c, const struct portal_viewer *v, const char **p)
{
	const char *id = gh_call_param(c, "apiId");

	portal_vis_params(v, !v->browse_given, p);
	p[4] = id;
	if (!gh_body_id_ok(id)) {
		gh_reply_error(c, 404, "Not Found", "No API has this id");
		return -1;
	}
	return 0;
}

static void
apis_get(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct json_object *o = NULL, *eps;
	const char *p[5];
	PGresult *res = NULL;

	if (portal_viewer_begin(c, db, &v, PORTAL_ANON_OK, NULL) != 0)
		return;
	if (api_params(c, &v, p) != 0)
		goto out;
	res = gh_pg_exec(db, "SELECT (" API_DETAIL_OBJECT ")::text, a.context, a.version, a.is_default_version "
	    "FROM gh_apis a WHERE a.id = $5 AND " PORTAL_API_VISIBLE, 5, p);
	if (res == NULL) {
		portal_db_error(c, db, "The API could not be read");
		goto out;
	}
	if (gh_pg_nrows(res) != 1) {
		gh_reply_error(c, 404, "Not Found", "No API has this id");
		goto out;
	}
	o = portal_json_text(gh_pg_get(res, 0, 0));
	eps = endpoint_urls(db, p, gh_pg_get(res, 0, 1), gh_pg_get(res, 0, 2),
	    strcmp(gh_pg_get(res, 0, 3), "t") == 0);
	if (o == NULL || eps == NULL) {
		portal_db_error(c, db, "The API could not be read");
		goto out;
	}
	json_object_object_add(o, "endpointURLs", eps);
	portal_reply(c, 200, o);
	o = NULL;
out:
	json_object_put(o);
	PQclear(res);
	portal_viewer_end(&v);
}

/* A minimal OpenAPI 3.0 document from the API's operations. */
static struct json_object *
swagger_make(const char *name, const char *version, const char *desc, const char *ops_json)
{
	struct json_object *doc = json_object_new_object(), *info = json_object_new_object();
	struct json_object *paths = json_object_new_object(), *ops = portal_json_text(ops_json);
	struct json_object *comp = json_object_new_object(), *schemes = json_object_new_object();
	struct json_object *dflt = json_object_new_object(), *flows = json_object_new_object();
	struct json_object *impl = json_object_new_object();

	json_object_object_add(doc, "openapi", json_object_new_string("3.0.1"));
	json_object_object_add(info, "title", json_object_new_string(name));
	json_object_object_add(info, "version", json_object_new_string(version));
	if (desc[0] != '\0')
		json_object_object_add(info, "description", json_object_new_string(desc));
	json_object_object_add(doc, "info", info);
	for (size_t i = 0; ops != NULL && i < json_object_array_length(ops); i++) {
		struct json_object *op = json_object_array_get_idx(ops, i), *item, *m, *resp, *ok, *sec, *req;
		const char *target = gh_json_str(op, "target"), *verb = gh_json_str(op, "verb");
		char lverb[16];
		size_t k = 0;

		if (target == NULL || verb == NULL || strlen(verb) >= sizeof(lverb))
			continue;
		for (; verb[k] != '\0'; k++)
			lverb[k] = (char)(verb[k] >= 'A' && verb[k] <= 'Z' ? verb[k] + 32 : verb[k]);
		lverb[k] = '\0';
		if (!json_object_object_get_ex(paths, target, &item)) {
			item = json_object_new_object();
			json_object_object_add(paths, target, item);
		}
		m = json_object_new_object();
		resp = json_object_new_object();
		ok = json_object_new_object();
		json_object_object_add(ok, "description", json_object_new_string("OK"));
		json_object_object_add(resp, "200", ok);
		json_object_object_add(m, "responses", resp);
		sec = json_object_new_array();
		req = json_object_new_object();
		json_object_object_add(req, "default", json_object_new_array());
		json_object_array_add(sec, req);
		json_object_object_add(m, "security", sec);
		if (json_object_object_get_ex(op, "authType", NULL))
			json_object_object_add(m, "x-auth-type", json_object_get(json_object_object_get(op, "authType")));
		if (json_object_object_get_ex(op, "throttlingPolicy", NULL))
			json_object_object_add(m, "x-throttling-tier",
			    json_object_get(json_object_object_get(op, "throttlingPolicy")));
		json_object_object_add(item, lverb, m);
	}
	json_object_put(ops);
	json_object_object_add(doc, "paths", paths);
	json_object_object_add(impl, "authorizationUrl", json_object_new_string("https://test.com"));
	json_object_object_add(impl, "scopes", json_object_new_object());
	json_object_object_add(flows, "implicit", impl);
	json_object_object_add(dflt, "type", json_object_new_string("oauth2"));
	json_object_object_add(dflt, "flows", flows);
	json_object_object_add(schemes, "default", dflt);
	json_object_object_add(comp, "securitySchemes", schemes);
	json_object_object_add(doc, "components", comp);
	return doc;
}

static void
apis_swagger(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	const char *p[5], *sw;
	PGresult *res = NULL;

	if (portal_viewer_begin(c, db, &v, PORTAL_ANON_OK, NULL) != 0)
		return;
	if (api_params(c, &v, p) != 0)
		goto out;
	res = gh_pg_exec(db, "SELECT a.swagger, a.name, a.version, coalesce(a.definition->>'description', ''), "
	    PORTAL_JARR("a.definition->'operations'") "::text FROM gh_apis a WHERE a.id = $5 AND "
	    PORTAL_API_VISIBLE, 5, p);
	if (res == NULL) {
		portal_db_error(c, db, "The API could not be read");
		goto out;
	}
	if (gh_pg_nrows(res) != 1) {
		gh_reply_error(c, 404, "Not Found", "No API has this id");
		goto out;
	}
	sw = gh_pg_get(res, 0, 0);
	if (sw != NULL) {
		size_t i = strspn(sw, " \t\r\n");
		gh_reply_raw(c, 200, sw[i] == '{' ? "application/json" : "application/yaml", sw, strlen(sw));
	} else {
		portal_reply(c, 200, swagger_make(gh_pg_get(res, 0, 1), gh_pg_get(res, 0, 2), gh_pg_get(res, 0, 3),
		    gh_pg_get(res, 0, 4)));
	}
out:
	PQclear(res);
	portal_viewer_end(&v);
}

static void
tags_list(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	int64_t limit, offset;
	char lim[24], off[24];
	const char *p[6];

	if (portal_viewer_begin(c, db, &v, PORTAL_ANON_OK, NULL) != 0)
		return;
	if (portal_page(c, &limit, &offset) != 0)
		goto out;
	portal_vis_params(&v, 0, p);
	p[4] = gh_pg_i64(lim, limit);
	p[5] = gh_pg_i64(off, offset);
	portal_reply_page(c, db, "The tags could not be listed", limit, offset,
	    "WITH t AS (SELECT tg AS value, count(*) AS n FROM gh_apis a, "
	    "  jsonb_array_elements_text(" PORTAL_JARR("a.definition->'tags'") ") tg "
	    "  WHERE " PORTAL_API_VISIBLE " GROUP BY tg) "
	    "SELECT (SELECT count(*) FROM t), coalesce((SELECT jsonb_agg(jsonb_build_object('value', value, "
	    "  'count', n) ORDER BY value) FROM (SELECT * FROM t ORDER BY value LIMIT $5::bigint "
	    "  OFFSET $6::bigint) x), '[]')::text", 6, p);
out:
	portal_viewer_end(&v);
}

void
portal_api_browse_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PORTAL_BASE "/apis", apis_list);
	gh_call_route(r, "GET", PORTAL_BASE "/apis/{apiId}", apis_get);
	gh_call_route(r, "GET", PORTAL_BASE "/apis/{apiId}/swagger", apis_swagger);
	gh_call_route(r, "GET", PORTAL_BASE "/tags", tags_list);
}

void
portal_api_routes(struct gh_router *r)
{
	portal_api_browse_routes(r);
	portal_application_routes(r);
	portal_key_routes(r);
	portal_subscription_routes(r);
	portal_policy_routes(r);
}
