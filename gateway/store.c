/*
 * The store: the feed's model compiled for the hot path.  gw_store_build
 * turns the model JSON into the structs of gw.h (endpoints split, resource
 * templates compiled, policies reduced to counts and windows, deny rules'
 * addresses parsed) and indexes them in small open-addressing hash maps.
 * Everything of one store lives in one arena, so a store is freed at once.
 * A store is immutable once published and refcounted; the feed thread owns
 * publishing (gw_store_publish), workers read the generation atomically
 * and take the publish mutex only when it changed (gw_store_acquire).
 */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/gh_http.h"
#include "gateway/gw.h"
#include "gateway/store_int.h"

/* ---- arena: every allocation of one store ---- */

struct gw_chunk {
	struct gw_chunk *next;
	size_t used, cap;
	unsigned char data[];
};

#define CHUNK_SIZE (64 * 1024)

/* ---- string map: open addressing, linear probing; built once, read-only afterwards ---- */

struct smap_ent {
	const char *key;                /* NULL: empty slot */
	size_t klen;
	uint64_t hash;
	void *val;
};

struct smap {
	struct smap_ent *tab;
	size_t cap;                     /* a power of two, at least twice the entries */
	size_t n;
};

struct gw_store_maps {
	struct gw_chunk *chunks;
	int oom;
	struct smap apis, apps, keys, subs, policies, tenants, revoked, not_before, contexts;
	struct smap interned;           /* the few distinct tenants, tiers, owners, key and token types */
	struct gw_ctx *ctxs;
	size_t nctxs, ctx_max;
	size_t nvhosts;
};

/* A tenant's flag in the tenants map (values are pointers). */
static int tenant_active_flag = 1, tenant_inactive_flag = 0;

static void *
ar_alloc(struct gw_store_maps *m, size_t n)
{
	struct gw_chunk *c = m->chunks;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > CHUNK_SIZE / 2 ? n : CHUNK_SIZE;

		c = malloc(sizeof(*c) + cap);
		if (c == NULL) {
			m->oom = 1;
			return NULL;
		}
		c->cap = cap;
		c->used = 0;
		if (n > CHUNK_SIZE / 2 && m->chunks != NULL) {
			/* a big block: keep filling the current chunk afterwards */
			c->next = m->chunks->next;
			m->chunks->next = c;
		} else {
			c->next = m->chunks;
			m->chunks = c;
		}
	}
	p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

static char *
ar_strndup(struct gw_store_maps *m, const char *s, size_t n)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = ar_alloc(m, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *
ar_strdup(struct gw_store_maps *m, const char *s)
{
	return s == NULL ? NULL : ar_strndup(m, s, strlen(s));
}

static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	/* eight bytes per multiply (FNV-1a took one), then a final mix */
	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	if (n > 0) {
		w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
		h ^= h >> 29;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static int
smap_init(struct gw_store_maps *m, struct smap *map, size_t expected)
{
	size_t cap = 16;

	while (cap < expected * 2 + 1)
		cap <<= 1;
	map->tab = ar_alloc(m, cap * sizeof(*map->tab));
	map->cap = map->tab != NULL ? cap : 0;
	map->n = 0;
	return map->tab != NULL ? 0 : -1;
}

/* Insert key (kept as given: arena memory).  An existing key keeps its first value. */
static void
smap_put(struct smap *map, const char *key, size_t klen, void *val)
{
	uint64_t h;
	size_t i;

	if (map->cap == 0 || key == NULL || map->n * 2 + 2 > map->cap)
		return;
	h = hash_bytes(key, klen);
	for (i = h & (map->cap - 1);; i = (i + 1) & (map->cap - 1)) {
		struct smap_ent *e = &map->tab[i];

		if (e->key == NULL) {
			e->key = key;
			e->klen = klen;
			e->hash = h;
			e->val = val;
			map->n++;
			return;
		}
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return;
	}
}

static void *
smap_get(const struct smap *map, const char *key, size_t klen)
{
	uint64_t h;

	if (map->cap == 0 || key == NULL)
		return NULL;
	h = hash_bytes(key, klen);
	for (size_t i = h & (map->cap - 1);; i = (i + 1) & (map->cap - 1)) {
		const struct smap_ent *e = &map->tab[i];

		if (e->key == NULL)
			return NULL;
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e->val;
	}
}

#define INTERN_SLOTS 1024                /* up to 511 distinct strings; more are copied */

/*
 * s as arena memory shared by every equal string of the store (NULL for
 * NULL): the values that repeat across thousands of subscriptions and
 * applications (tenant, tier, owner, key type) are held once.
 */
static char *
ar_intern(struct gw_store_maps *m, const char *s)
{
	size_t n;
	char *p;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if ((p = smap_get(&m->interned, s, n)) != NULL)
		return p;
	if ((p = ar_strndup(m, s, n)) != NULL)
		smap_put(&m->interned, p, n, p);        /* ignored once the table is full */
	return p;
}

/* "a\nb[\nc]" into buf (NUL-terminated); its length, or 0 when it does not fit. */
static size_t
join_key(char *buf, size_t len, const char *a, const char *b, const char *c)
{
	const char *part[3] = { a, b, c };
	size_t n = 0;

	if (a == NULL || b == NULL)
		return 0;
	for (int i = 0; i < 3 && part[i] != NULL; i++) {
		size_t k = strlen(part[i]);

		if (n + (i > 0) + k >= len)
			return 0;
		if (i > 0)
			buf[n++] = '\n';
		memcpy(buf + n, part[i], k);
		n += k;
	}
	buf[n] = '\0';
	return n;
}

/* The same key as arena memory (map keys must outlive the build). */
static const char *
ar_key(struct gw_store_maps *m, const char *a, const char *b, const char *c, size_t *klen)
{
	char buf[1024];

	*klen = join_key(buf, sizeof(buf), a, b, c);
	return *klen == 0 ? NULL : ar_strndup(m, buf, *klen);
}

/* ---- JSON reading ---- */

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
jbool(struct json_object *o, const char *key, int def)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return def;
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	if (json_object_is_type(v, json_type_string))
		return strcasecmp(json_object_get_string(v), "true") == 0;
	return def;
}

static int64_t
jint(struct json_object *o, const char *key, int64_t def)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return def;
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
		return json_object_get_int64(v);
	if (json_object_is_type(v, json_type_string))
		return strtoll(json_object_get_string(v), NULL, 10);
	return def;
}

static struct json_object *
jget(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static size_t
jlen(struct json_object *a)
{
	return a == NULL ? 0 : json_object_array_length(a);
}

/* The strings of array a as a NULL-terminated arena list (never NULL unless out of memory). */
static char **
str_list(struct gw_store_maps *m, struct json_object *a, int upper)
{
	size_t n = jlen(a), k = 0;
	char **out = ar_alloc(m, (n + 1) * sizeof(*out));

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(a, i);

		if (!json_object_is_type(v, json_type_string))
			continue;
		if ((out[k] = ar_strdup(m, json_object_get_string(v))) == NULL)
			continue;
		if (upper)
			for (char *p = out[k]; *p; p++)
				if (*p >= 'a' && *p <= 'z')
					*p = (char)(*p - 'a' + 'A');
		k++;
	}
	return out;
}

/* ---- APIs ---- */

static enum gw_api_state
state_parse(const char *s)
{
	static const struct { const char *name; enum gw_api_state st; } states[] = {
		{ "CREATED", GW_API_CREATED }, { "PROTOTYPED", GW_API_PROTOTYPED },
		{ "PUBLISHED", GW_API_PUBLISHED }, { "BLOCKED", GW_API_BLOCKED },
		{ "DEPRECATED", GW_API_DEPRECATED }, { "RETIRED", GW_API_RETIRED },
	};

	for (size_t i = 0; s != NULL && i < sizeof(states) / sizeof(states[0]); i++)
		if (strcasecmp(s, states[i].name) == 0)
			return states[i].st;
	return GW_API_CREATED;
}

/* One endpoint URL into ep; 0, or -1 when it is not a usable http(s) URL. */
static int
endpoint_parse(struct gw_store_maps *m, const char *url, struct gw_endpoint *ep)
{
	struct gh_httpc_url u;
	size_t blen;
	char *q;

	if (url == NULL || gh_httpc_url_parse(url, &u) != 0)
		return -1;
	ep->url = ar_strdup(m, url);
	ep->scheme = ar_strdup(m, u.https ? "https" : "http");
	ep->tls = u.https;
	ep->port = u.port;
	ep->host = ar_strdup(m, u.host);
	if ((q = strchr(u.target, '?')) != NULL)
		*q = '\0';
	blen = strlen(u.target);
	while (blen > 0 && u.target[blen - 1] == '/')
		blen--;
	ep->base_path = ar_strndup(m, u.target, blen);
	gh_httpc_url_clear(&u);
	return 0;
}

/* production_endpoints / sandbox_endpoints: a URL, {"url"} or a list of either. */
static void
endpoints_parse(struct gw_store_maps *m, struct json_object *v, struct gw_endpoint **out, size_t *nout)
{
	int is_list = json_object_is_type(v, json_type_array);
	size_t n = is_list ? json_object_array_length(v) : 1;

	*out = NULL;
	*nout = 0;
	if (v == NULL || n == 0 || (*out = ar_alloc(m, n * sizeof(**out))) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = is_list ? json_object_array_get_idx(v, i) : v;
		const char *url = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : jstr(e, "url");

		/* the publisher validated them: one that is not an http(s) URL is skipped */
		if (endpoint_parse(m, url, &(*out)[*nout]) == 0)
			(*nout)++;
	}
}

/*
 * Compile a resource template: "/" (no segment), "/items/{id}" (a literal
 * and a parameter), "/files/ *" (a literal, then any rest), "/v{n}.json"
 * (a mixed segment).  0 or -1 (out of memory).
 */
static int
template_compile(struct gw_store_maps *m, struct gw_operation *op)
{
	const char *t = op->target, *p;
	size_t n = 0, k = 0;

	for (p = t; *p; p++)
		if (*p == '/')
			n++;
	if ((op->segs = ar_alloc(m, (n + 1) * sizeof(*op->segs))) == NULL)
		return -1;
	p = t;
	while (*p == '/')
		p++;
	while (*p != '\0') {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		struct gw_tmpl_seg *sg = &op->segs[k];

		if (len == 1 && p[0] == '*' && end == NULL) {
			op->wildcard = 1;
			break;
		}
		if (len > 0) {
			if (p[0] == '{' && p[len - 1] == '}' && memchr(p + 1, '{', len - 1) == NULL)
				sg->param = 1;
			else if (memchr(p, '{', len) != NULL)
				sg->pat = ar_strndup(m, p, len);
			else
				sg->lit = ar_strndup(m, p, len);
			k++;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	op->nsegs = k;
	return 0;
}

static int
operations_parse(struct gw_store_maps *m, struct json_object *a, struct gw_api *api)
{
	size_t n = jlen(a);

	if (n == 0)
		return 0;
	if ((api->ops = ar_alloc(m, n * sizeof(*api->ops))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		struct gw_operation *op = &api->ops[api->nops];
		const char *target = jstr(o, "target"), *verb = jstr(o, "verb"), *auth = jstr(o, "authType");
		const char *tp = jstr(o, "throttlingPolicy");

		if (target == NULL || target[0] != '/' || verb == NULL)
			continue;
		op->target = ar_strdup(m, target);
		op->verb = ar_strdup(m, verb);
		if (op->target == NULL || op->verb == NULL)
			return -1;
		for (char *q = op->verb; *q; q++)
			if (*q >= 'a' && *q <= 'z')
				*q = (char)(*q - 'a' + 'A');
		op->auth_type = ar_strdup(m, auth ? auth : "Application & Application User");
		op->no_auth = auth != NULL && strcasecmp(auth, "None") == 0;
		op->throttling_policy = tp != NULL && tp[0] != '\0' ? ar_strdup(m, tp) : NULL;
		op->scopes = str_list(m, jget(o, "scopes", json_type_array), 0);
		if (template_compile(m, op) != 0)
			return -1;
		api->nops++;
	}
	return 0;
}

static void
cors_parse(struct gw_store_maps *m, struct json_object *c, struct gw_cors *out)
{
	out->enabled = jbool(c, "corsConfigurationEnabled", 0);
	out->allow_credentials = jbool(c, "accessControlAllowCredentials", 0);
	out->origins = str_list(m, jget(c, "accessControlAllowOrigins", json_type_array), 0);
	out->headers = str_list(m, jget(c, "accessControlAllowHeaders", json_type_array), 0);
	out->methods = str_list(m, jget(c, "accessControlAllowMethods", json_type_array), 1);
}

static void
scopes_parse(struct gw_store_maps *m, struct json_object *a, struct gw_api *api)
{
	size_t n = jlen(a), k = 0;

	api->scope_names = ar_alloc(m, (n + 1) * sizeof(*api->scope_names));
	api->scope_roles = ar_alloc(m, (n + 1) * sizeof(*api->scope_roles));
	if (api->scope_names == NULL || api->scope_roles == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(a, i), *inner;
		const char *name;

		if ((inner = jget(s, "scope", json_type_object)) != NULL)
			s = inner;
		if ((name = jstr(s, "name")) == NULL)
			continue;
		api->scope_names[k] = ar_strdup(m, name);
		api->scope_roles[k] = str_list(m, jget(s, "bindings", json_type_array), 0);
		if (api->scope_names[k] != NULL && api->scope_roles[k] != NULL)
			k++;
	}
}

static struct gw_api *
api_parse(struct gw_store_maps *m, struct json_object *o, const char *env)
{
	struct gw_api *api;
	struct json_object *ec, *sec, *geo;
	const char *id = jstr(o, "id"), *ctx = jstr(o, "context"), *ver = jstr(o, "version");
	const char *e = jstr(o, "environment"), *avail = jstr(o, "subscriptionAvailability");
	const char *atp = jstr(o, "apiThrottlingPolicy"), *vhost = jstr(o, "vhost");
	size_t clen;

	if (id == NULL || ctx == NULL || ctx[0] != '/' || ver == NULL || ver[0] == '\0')
		return NULL;
	if (e != NULL && env != NULL && strcmp(e, env) != 0)
		return NULL;
	if ((api = ar_alloc(m, sizeof(*api))) == NULL)
		return NULL;
	api->id = ar_strdup(m, id);
	api->tenant = ar_intern(m, jstr(o, "tenant") ? jstr(o, "tenant") : "carbon.super");
	api->name = ar_strdup(m, jstr(o, "name") ? jstr(o, "name") : "");
	clen = strlen(ctx);
	while (clen > 1 && ctx[clen - 1] == '/')
		clen--;
	api->context = ar_strndup(m, ctx, clen);
	api->version = ar_strdup(m, ver);
	api->vhost = ar_strdup(m, vhost ? vhost : "");
	api->revision_id = ar_strdup(m, jstr(o, "revisionId") ? jstr(o, "revisionId") : "");
	api->is_default = jbool(o, "isDefaultVersion", 0);
	api->state = state_parse(jstr(o, "lifeCycleStatus"));
	if ((sec = jget(o, "securityScheme", json_type_array)) == NULL || jlen(sec) == 0) {
		api->security = GW_SEC_OAUTH2;
	} else {
		for (size_t i = 0; i < jlen(sec); i++) {
			const char *s = json_object_get_string(json_object_array_get_idx(sec, i));

			if (s == NULL)
				continue;
			if (strcmp(s, "oauth2") == 0)
				api->security |= GW_SEC_OAUTH2;
			else if (strcmp(s, "api_key") == 0)
				api->security |= GW_SEC_APIKEY;
			else if (strcmp(s, "basic_auth") == 0)
				api->security |= GW_SEC_BASIC;
			else if (strstr(s, "mandatory") != NULL)
				api->security_mandatory_apikey = 1;
		}
	}
	api->tiers = str_list(m, jget(o, "policies", json_type_array), 0);
	api->api_policy = atp != NULL && atp[0] != '\0' ? ar_strdup(m, atp) : NULL;
	api->avail = GW_AVAIL_CURRENT_TENANT;
	if (avail != NULL && strcasecmp(avail, "ALL_TENANTS") == 0)
		api->avail = GW_AVAIL_ALL_TENANTS;
	else if (avail != NULL && strcasecmp(avail, "SPECIFIC_TENANTS") == 0)
		api->avail = GW_AVAIL_SPECIFIC_TENANTS;
	api->avail_tenants = str_list(m, jget(o, "subscriptionAvailableTenants", json_type_array), 0);
	if ((ec = jget(o, "endpointConfig", json_type_object)) != NULL) {
		struct json_object *v;

		endpoints_parse(m, json_object_object_get_ex(ec, "production_endpoints", &v) ? v : NULL,
		    &api->prod, &api->nprod);
		endpoints_parse(m, json_object_object_get_ex(ec, "sandbox_endpoints", &v) ? v : NULL,
		    &api->sand, &api->nsand);
	}
	if (operations_parse(m, jget(o, "operations", json_type_array), api) != 0)
		return NULL;
	cors_parse(m, jget(o, "corsConfiguration", json_type_object), &api->cors);
	if ((geo = jget(o, "geoRestriction", json_type_object)) != NULL && jstr(geo, "mode") != NULL) {
		api->geo_mode = strcasecmp(jstr(geo, "mode"), "allow") == 0 ? 1 :
		    strcasecmp(jstr(geo, "mode"), "deny") == 0 ? 2 : 0;
		api->geo_countries = str_list(m, jget(geo, "countries", json_type_array), 1);
	}
	if (api->geo_countries == NULL)
		api->geo_countries = str_list(m, NULL, 0);
	api->max_body = jint(o, "maxRequestBodyBytes", 0);
	if (api->max_body < 0)
		api->max_body = 0;
	api->backend_jwt = jbool(o, "backendJwt", 0);
	scopes_parse(m, jget(o, "scopes", json_type_array), api);
	if (m->oom)
		return NULL;
	return api;
}

/* ---- subscriptions, applications, keys ---- */

static struct gw_sub *
sub_parse(struct gw_store_maps *m, struct json_object *o)
{
	struct gw_sub *s;
	const char *id = jstr(o, "id"), *api = jstr(o, "apiId"), *app = jstr(o, "applicationId");
	const char *st = jstr(o, "status");
	void *known;

	if (id == NULL || api == NULL || app == NULL || (s = ar_alloc(m, sizeof(*s))) == NULL)
		return NULL;
	s->id = ar_strdup(m, id);
	/* the API's and the application's own ids when the store has them (built before) */
	if ((known = smap_get(&m->apis, api, strlen(api))) != NULL)
		s->api_id = ((struct gw_api *)known)->id;
	else
		s->api_id = ar_strdup(m, api);
	if ((known = smap_get(&m->apps, app, strlen(app))) != NULL)
		s->app_id = ((struct gw_app *)known)->id;
	else
		s->app_id = ar_strdup(m, app);
	s->tenant = ar_intern(m, jstr(o, "tenant") ? jstr(o, "tenant") : "carbon.super");
	s->api_tenant = ar_intern(m, jstr(o, "apiTenant") ? jstr(o, "apiTenant") : s->tenant);
	s->tier = ar_intern(m, jstr(o, "tier") ? jstr(o, "tier") : "Unlimited");
	s->state = GW_SUB_UNBLOCKED;
	if (st != NULL && strcasecmp(st, "BLOCKED") == 0)
		s->state = GW_SUB_BLOCKED;
	else if (st != NULL && strcasecmp(st, "PROD_ONLY_BLOCKED") == 0)
		s->state = GW_SUB_PROD_ONLY_BLOCKED;
	else if (st != NULL && strcasecmp(st, "UNBLOCKED") != 0)
		s->state = GW_SUB_BLOCKED;      /* ON_HOLD, REJECTED, ...: not usable */
	return s;
}

static struct gw_app *
app_parse(struct gw_store_maps *m, struct json_object *o)
{
	struct gw_app *a;
	const char *id = jstr(o, "id");

	if (id == NULL || (a = ar_alloc(m, sizeof(*a))) == NULL)
		return NULL;
	a->id = ar_strdup(m, id);
	a->name = ar_strdup(m, jstr(o, "name") ? jstr(o, "name") : "");
	a->tenant = ar_intern(m, jstr(o, "tenant") ? jstr(o, "tenant") : "carbon.super");
	a->owner = ar_intern(m, jstr(o, "owner") ? jstr(o, "owner") : "");
	a->tier = ar_intern(m, jstr(o, "tier") ? jstr(o, "tier") : "Unlimited");
	a->token_type = ar_intern(m, jstr(o, "tokenType") ? jstr(o, "tokenType") : "JWT");
	return a;
}

/* ---- policies ---- */

static int64_t
unit_ms(const char *u)
{
	static const struct { const char *name; int64_t ms; } units[] = {
		{ "ms", 1 }, { "sec", 1000 }, { "second", 1000 }, { "seconds", 1000 }, { "min", 60000 },
		{ "minute", 60000 }, { "minutes", 60000 }, { "hour", 3600000 }, { "hours", 3600000 },
		{ "day", 86400000 }, { "days", 86400000 }, { "week", 604800000 }, { "month", 2592000000LL },
		{ "year", 31536000000LL },
	};

	for (size_t i = 0; u != NULL && i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(u, units[i].name) == 0)
			return units[i].ms;
	return 0;
}

static struct gw_policy *
policy_parse(struct gw_store_maps *m, struct json_object *o, int kind)
{
	struct gw_policy *p;
	struct json_object *def = jget(o, "definition", json_type_object), *lim, *rc, *burst;
	const char *name = jstr(o, "name"), *type;

	if (name == NULL && def != NULL)
		name = jstr(def, "policyName");
	if (name == NULL || (p = ar_alloc(m, sizeof(*p))) == NULL)
		return NULL;
	p->tenant = ar_strdup(m, jstr(o, "tenant") ? jstr(o, "tenant") : "*");
	p->name = ar_strdup(m, name);
	p->kind = kind;
	p->unlimited = 1;
	p->stop_on_quota = jbool(def, "stopOnQuotaReach", 1);
	lim = jget(def, "defaultLimit", json_type_object);
	type = jstr(lim, "type");
	rc = jget(lim, "requestCount", json_type_object);
	if (rc != NULL && (type == NULL || strcasecmp(type, "REQUESTCOUNTLIMIT") == 0)) {
		int64_t count = jint(rc, "requestCount", 0), ut = jint(rc, "unitTime", 1);
		int64_t ms = unit_ms(jstr(rc, "timeUnit"));

		if (count > 0 && ut > 0 && ms > 0) {
			p->unlimited = 0;
			p->count = count;
			p->window_ms = ut * ms;
		}
	}
	/* burst: subscription policies carry it flat, application policies in burstLimit */
	burst = jget(def, "burstLimit", json_type_object);
	if (burst == NULL)
		burst = def;
	if (jint(burst, "rateLimitCount", 0) > 0 && unit_ms(jstr(burst, "rateLimitTimeUnit")) > 0) {
		p->burst_count = jint(burst, "rateLimitCount", 0);
		p->burst_window_ms = unit_ms(jstr(burst, "rateLimitTimeUnit"));
	}
	return p;
}

/* ---- deny rules ---- */

/* An IPv4 or IPv6 address into 16 bytes (IPv4 as ::ffff:a.b.c.d).  0 or -1. */
static int
ip16(const char *s, unsigned char out[16])
{
	unsigned char v4[4];

	if (s == NULL)
		return -1;
	if (inet_pton(AF_INET, s, v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, v4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, s, out) == 1 ? 0 : -1;
}

static struct gw_deny *
deny_parse(struct gw_store_maps *m, struct json_object *o)
{
	static const struct { const char *name; enum gw_deny_type t; } types[] = {
		{ "API", GW_DENY_API }, { "APPLICATION", GW_DENY_APPLICATION }, { "USER", GW_DENY_USER },
		{ "IP", GW_DENY_IP }, { "IPRANGE", GW_DENY_IPRANGE },
	};
	struct gw_deny *d;
	struct json_object *v;
	const char *type = jstr(o, "conditionType");
	size_t i;

	if (!jbool(o, "conditionStatus", 1) || type == NULL ||
	    !json_object_object_get_ex(o, "conditionValue", &v) || v == NULL)
		return NULL;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(type, types[i].name) == 0)
			break;
	if (i == sizeof(types) / sizeof(types[0]) || (d = ar_alloc(m, sizeof(*d))) == NULL)
		return NULL;
	d->id = ar_strdup(m, jstr(o, "id") ? jstr(o, "id") : "");
	d->tenant = ar_strdup(m, jstr(o, "tenant") ? jstr(o, "tenant") : "carbon.super");
	d->type = types[i].t;
	if (d->type == GW_DENY_IP || d->type == GW_DENY_IPRANGE) {
		const char *a = jstr(v, d->type == GW_DENY_IP ? "fixedIp" : "startingIp");
		const char *b = d->type == GW_DENY_IP ? a : jstr(v, "endingIp");
		char buf[200];

		if (ip16(a, d->ip_lo) != 0 || ip16(b, d->ip_hi) != 0 || memcmp(d->ip_lo, d->ip_hi, 16) > 0)
			return NULL;
		d->invert = jbool(v, "invert", 0);
		snprintf(buf, sizeof(buf), "%s%s%s", a, d->type == GW_DENY_IP ? "" : "-",
		    d->type == GW_DENY_IP ? "" : b);
		d->value = ar_strdup(m, buf);
	} else {
		if (!json_object_is_type(v, json_type_string))
			return NULL;
		d->value = ar_strdup(m, json_object_get_string(v));
	}
	return d->value != NULL ? d : NULL;
}

/* ---- the whole store ---- */

static void
store_free(struct gw_store *s)
{
	struct gw_chunk *c, *next;

	if (s == NULL)
		return;
	for (c = s->maps != NULL ? s->maps->chunks : NULL; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(s->maps);
	free(s);
}

static int
ctx_cmp(const void *a, const void *b)
{
	const struct gw_api *x = *(struct gw_api *const *)a, *y = *(struct gw_api *const *)b;
	int c = strcmp(x->context, y->context);

	return c != 0 ? c : strcmp(x->version, y->version);
}

/* Group the APIs by context (the routing index). */
static int
contexts_build(struct gw_store *s)
{
	struct gw_store_maps *m = s->maps;
	struct gw_api **sorted;
	size_t i, n = 0;

	if (s->napis == 0)
		return smap_init(m, &m->contexts, 0);
	sorted = ar_alloc(m, s->napis * sizeof(*sorted));
	m->ctxs = ar_alloc(m, s->napis * sizeof(*m->ctxs));
	if (sorted == NULL || m->ctxs == NULL || smap_init(m, &m->contexts, s->napis) != 0)
		return -1;
	memcpy(sorted, s->apis, s->napis * sizeof(*sorted));
	qsort(sorted, s->napis, sizeof(*sorted), ctx_cmp);
	for (i = 0; i < s->napis; i++) {
		if (n == 0 || strcmp(m->ctxs[n - 1].context, sorted[i]->context) != 0) {
			m->ctxs[n].context = sorted[i]->context;
			m->ctxs[n].len = strlen(sorted[i]->context);
			m->ctxs[n].apis = &sorted[i];
			n++;
		}
		m->ctxs[n - 1].napis++;
	}
	m->nctxs = n;
	for (i = 0; i < n; i++) {
		smap_put(&m->contexts, m->ctxs[i].context, m->ctxs[i].len, &m->ctxs[i]);
		if (m->ctxs[i].len > m->ctx_max)
			m->ctx_max = m->ctxs[i].len;
	}
	return 0;
}

/* The array member key of o, and room for its elements (pointer array). */
static void **
list_alloc(struct gw_store_maps *m, struct json_object *o, const char *key, struct json_object **arr)
{
	*arr = jget(o, key, json_type_array);
	return ar_alloc(m, (jlen(*arr) + 1) * sizeof(void *));
}

static int
build_apis(struct gw_store *s, struct json_object *model)
{
	struct gw_store_maps *m = s->maps;
	struct json_object *a;

	if ((s->apis = (struct gw_api **)list_alloc(m, model, "apis", &a)) == NULL ||
	    smap_init(m, &m->apis, jlen(a)) != 0)
		return -1;
	for (size_t i = 0; i < jlen(a); i++) {
		struct gw_api *api = api_parse(m, json_object_array_get_idx(a, i), s->env_name);

		if (m->oom)
			return -1;
		if (api == NULL || api->state == GW_API_RETIRED || smap_get(&m->apis, api->id, strlen(api->id)))
			continue;
		s->apis[s->napis++] = api;
		smap_put(&m->apis, api->id, strlen(api->id), api);
	}
	return contexts_build(s);
}

static int
build_apps(struct gw_store *s, struct json_object *model)
{
	struct gw_store_maps *m = s->maps;
	struct json_object *a;
	size_t nkeys = 0;

	if ((s->apps = (struct gw_app **)list_alloc(m, model, "applications", &a)) == NULL ||
	    smap_init(m, &m->apps, jlen(a)) != 0)
		return -1;
	for (size_t i = 0; i < jlen(a); i++)
		nkeys += jlen(jget(json_object_array_get_idx(a, i), "keys", json_type_array));
	if ((s->keys = ar_alloc(m, (nkeys + 1) * sizeof(*s->keys))) == NULL || smap_init(m, &m->keys, nkeys) != 0)
		return -1;
	for (size_t i = 0; i < jlen(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *keys;
		struct gw_app *app = app_parse(m, o);

		if (app == NULL || smap_get(&m->apps, app->id, strlen(app->id)) != NULL)
			continue;
		s->apps[s->napps++] = app;
		smap_put(&m->apps, app->id, strlen(app->id), app);
		keys = jget(o, "keys", json_type_array);
		for (size_t k = 0; k < jlen(keys); k++) {
			struct json_object *ko = json_object_array_get_idx(keys, k);
			const char *ck = jstr(ko, "consumerKey");
			struct gw_key *key;

			if (ck == NULL || smap_get(&m->keys, ck, strlen(ck)) != NULL ||
			    (key = ar_alloc(m, sizeof(*key))) == NULL)
				continue;
			key->consumer_key = ar_strdup(m, ck);
			key->app_id = app->id;
			key->key_type = ar_intern(m, jstr(ko, "keyType") ? jstr(ko, "keyType") : "PRODUCTION");
			if (key->consumer_key == NULL || key->key_type == NULL)
				continue;
			s->keys[s->nkeys++] = key;
			smap_put(&m->keys, key->consumer_key, strlen(key->consumer_key), key);
		}
	}
	return m->oom ? -1 : 0;
}

static int
build_subs(struct gw_store *s, struct json_object *model)
{
	struct gw_store_maps *m = s->maps;
	struct json_object *a;

	if ((s->subs = (struct gw_sub **)list_alloc(m, model, "subscriptions", &a)) == NULL ||
	    smap_init(m, &m->subs, jlen(a)) != 0)
		return -1;
	for (size_t i = 0; i < jlen(a); i++) {
		struct gw_sub *sub = sub_parse(m, json_object_array_get_idx(a, i));
		const char *key;
		size_t klen;

		if (sub == NULL || (key = ar_key(m, sub->app_id, sub->api_id, NULL, &klen)) == NULL ||
		    smap_get(&m->subs, key, klen) != NULL)
			continue;
		s->subs[s->nsubs++] = sub;
		smap_put(&m->subs, key, klen, sub);
	}
	return m->oom ? -1 : 0;
}

static int
build_policies(struct gw_store *s, struct json_object *model)
{
	static const char *const kinds[] = { "subscription", "application", "advanced" };
	struct gw_store_maps *m = s->maps;
	struct json_object *pol = jget(model, "policies", json_type_object), *lists[3];
	size_t n = 0;

	for (int k = 0; k < 3; k++) {
		lists[k] = jget(pol, kinds[k], json_type_array);
		n += jlen(lists[k]);
	}
	if ((s->policies = ar_alloc(m, (n + 1) * sizeof(*s->policies))) == NULL ||
	    smap_init(m, &m->policies, n) != 0)
		return -1;
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < jlen(lists[k]); i++) {
			struct gw_policy *p = policy_parse(m, json_object_array_get_idx(lists[k], i), k);
			char kind[2] = { (char)('0' + k), '\0' };
			const char *key;
			size_t klen;

			if (p == NULL || (key = ar_key(m, kind, p->tenant, p->name, &klen)) == NULL ||
			    smap_get(&m->policies, key, klen) != NULL)
				continue;
			s->policies[s->npolicies++] = p;
			smap_put(&m->policies, key, klen, p);
		}
	}
	return m->oom ? -1 : 0;
}

static int
build_rest(struct gw_store *s, struct json_object *model)
{
	struct gw_store_maps *m = s->maps;
	struct json_object *a;

	if ((s->denies = (struct gw_deny **)list_alloc(m, model, "denyPolicies", &a)) == NULL)
		return -1;
	for (size_t i = 0; i < jlen(a); i++) {
		struct gw_deny *d = deny_parse(m, json_object_array_get_idx(a, i));

		if (d != NULL)
			s->denies[s->ndenies++] = d;
	}
	a = jget(model, "tenants", json_type_array);
	if (smap_init(m, &m->tenants, jlen(a) + 1) != 0)
		return -1;
	for (size_t i = 0; i < jlen(a); i++) {
		struct json_object *t = json_object_array_get_idx(a, i);
		const char *d = jstr(t, "domain"), *st = jstr(t, "status");
		char *key = ar_strdup(m, d);

		if (key != NULL)
			smap_put(&m->tenants, key, strlen(key), st == NULL || strcasecmp(st, "active") == 0 ?
			    &tenant_active_flag : &tenant_inactive_flag);
	}
	a = jget(model, "revokedTokens", json_type_array);
	if (smap_init(m, &m->revoked, jlen(a)) != 0)
		return -1;
	for (size_t i = 0; i < jlen(a); i++) {
		struct json_object *t = json_object_array_get_idx(a, i);
		char *jti = ar_strdup(m, jstr(t, "jti"));
		int64_t *exp = ar_alloc(m, sizeof(*exp));

		if (jti == NULL || exp == NULL)
			continue;
		*exp = jint(t, "exp", 0);
		smap_put(&m->revoked, jti, strlen(jti), exp);
	}
	a = jget(model, "clientNotBefore", json_type_array);
	if (smap_init(m, &m->not_before, jlen(a)) != 0)
		return -1;
	for (size_t i = 0; i < jlen(a); i++) {
		struct json_object *t = json_object_array_get_idx(a, i);
		char *cid = ar_strdup(m, jstr(t, "clientId"));
		int64_t *nb = ar_alloc(m, sizeof(*nb));

		if (cid == NULL || nb == NULL)
			continue;
		*nb = jint(t, "notBefore", 0);
		smap_put(&m->not_before, cid, strlen(cid), nb);
	}
	return m->oom ? -1 : 0;
}

struct gw_store *
gw_store_build(struct json_object *model, const char **why)
{
	struct gw_store *s;
	struct json_object *env, *km;

	*why = NULL;
	if (model == NULL || !json_object_is_type(model, json_type_object)) {
		*why = "the model is not a JSON object";
		return NULL;
	}
	env = jget(model, "environment", json_type_object);
	if (env == NULL || jstr(env, "name") == NULL || jstr(env, "type") == NULL) {
		*why = "the model names no environment {name, type}";
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->maps = calloc(1, sizeof(*s->maps))) == NULL) {
		free(s);
		*why = "out of memory";
		return NULL;
	}
	s->refs = 1;
	if (smap_init(s->maps, &s->maps->interned, INTERN_SLOTS / 2 - 1) != 0) {
		store_free(s);
		*why = "out of memory";
		return NULL;
	}
	s->event_id = jint(model, "eventId", 0);
	s->env_name = ar_strdup(s->maps, jstr(env, "name"));
	s->env_type = ar_strdup(s->maps, jstr(env, "type"));
	s->maps->nvhosts = jlen(jget(env, "vhosts", json_type_array));
	km = jget(model, "keyManager", json_type_object);
	s->issuer = ar_strdup(s->maps, jstr(km, "issuer"));
	s->jwks_url = ar_strdup(s->maps, jstr(km, "jwksUrl"));
	s->introspect_url = ar_strdup(s->maps, jstr(km, "introspectUrl"));
	if (build_apis(s, model) != 0 || build_apps(s, model) != 0 || build_subs(s, model) != 0 ||
	    build_policies(s, model) != 0 || build_rest(s, model) != 0 || s->maps->oom) {
		store_free(s);
		*why = "out of memory";
		return NULL;
	}
	return s;
}

/* ---- lookups ---- */

const struct gw_api *
gw_store_api(const struct gw_store *s, const char *api_id)
{
	return s == NULL || api_id == NULL ? NULL : smap_get(&s->maps->apis, api_id, strlen(api_id));
}

const struct gw_app *
gw_store_app(const struct gw_store *s, const char *app_id)
{
	return s == NULL || app_id == NULL ? NULL : smap_get(&s->maps->apps, app_id, strlen(app_id));
}

const struct gw_key *
gw_store_key(const struct gw_store *s, const char *consumer_key)
{
	return s == NULL || consumer_key == NULL ? NULL :
	    smap_get(&s->maps->keys, consumer_key, strlen(consumer_key));
}

const struct gw_sub *
gw_store_sub(const struct gw_store *s, const char *app_id, const char *api_id)
{
	char buf[1024];
	size_t n;

	if (s == NULL || (n = join_key(buf, sizeof(buf), app_id, api_id, NULL)) == 0)
		return NULL;
	return smap_get(&s->maps->subs, buf, n);
}

const struct gw_policy *
gw_store_policy(const struct gw_store *s, int kind, const char *tenant, const char *name)
{
	char buf[1024], k[2] = { (char)('0' + kind), '\0' };
	const struct gw_policy *p = NULL;
	size_t n;

	if (s == NULL || name == NULL || kind < 0 || kind > 2)
		return NULL;
	if (tenant != NULL && (n = join_key(buf, sizeof(buf), k, tenant, name)) != 0)
		p = smap_get(&s->maps->policies, buf, n);
	if (p == NULL && (n = join_key(buf, sizeof(buf), k, "*", name)) != 0)
		p = smap_get(&s->maps->policies, buf, n);
	return p;
}

int
gw_store_tenant_active(const struct gw_store *s, const char *tenant)
{
	const int *flag;

	if (s == NULL || tenant == NULL)
		return 0;
	flag = smap_get(&s->maps->tenants, tenant, strlen(tenant));
	return flag != NULL && *flag;
}

int
gw_store_jti_revoked(const struct gw_store *s, const char *jti)
{
	return s != NULL && jti != NULL && smap_get(&s->maps->revoked, jti, strlen(jti)) != NULL;
}

int64_t
gw_store_client_not_before(const struct gw_store *s, const char *client_id)
{
	const int64_t *nb;

	if (s == NULL || client_id == NULL)
		return 0;
	nb = smap_get(&s->maps->not_before, client_id, strlen(client_id));
	return nb != NULL ? *nb : 0;
}

const struct gw_ctx *
gw_store_context(const struct gw_store *s, const char *ctx, size_t len)
{
	return s == NULL ? NULL : smap_get(&s->maps->contexts, ctx, len);
}

size_t
gw_store_context_max(const struct gw_store *s)
{
	return s == NULL ? 0 : s->maps->ctx_max;
}

size_t
gw_store_vhost_count(const struct gw_store *s)
{
	return s == NULL ? 0 : s->maps->nvhosts;
}

/* ---- lifetime and publishing ---- */

static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gw_store *current;
static uint64_t generation;

void
gw_store_ref(struct gw_store *s)
{
	if (s != NULL)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}

void
gw_store_unref(struct gw_store *s)
{
	if (s != NULL && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
		store_free(s);
}

struct gw_store *
gw_store_acquire(void)
{
	struct gw_store *s;

	pthread_mutex_lock(&publish_lock);
	s = current;
	gw_store_ref(s);
	pthread_mutex_unlock(&publish_lock);
	return s;
}

void
gw_store_publish(struct gw_store *s)
{
	struct gw_store *old;

	pthread_mutex_lock(&publish_lock);
	old = current;
	current = s;
	if (s != NULL)
		s->generation = generation + 1;
	__atomic_store_n(&generation, generation + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&publish_lock);
	gw_store_unref(old);
}

uint64_t
gw_store_generation(void)
{
	return __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
}
