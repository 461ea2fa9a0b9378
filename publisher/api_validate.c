/*
 * A WSO2 publisher v4 API object, checked and normalized into the
 * definition that gh_apis stores and that revisions freeze for the
 * gateways (publisher/runtime.c copies it).  Every member has one type and
 * a bounded size; defaults are filled in as WSO2 fills them; contexts get
 * their tenant prefix; endpoints become {"url"} objects (or lists of them);
 * URL templates, scopes, CORS, geo restrictions and limits are checked
 * here.  The checks that need the database (policy names, colliding
 * contexts and scopes) and the scope rows the key manager reads are at
 * the end.
 */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/gh_codec.h"
#include "publisher/pub_api.h"

#define MAX_LIST 200
#define MAX_OPERATIONS 1000
#define MAX_DESCRIPTION 20000

static const char *const reserved_contexts[] = { "/oauth2", "/.well-known", "/devportal", "/publisher",
	"/api/am", "/internal", "/client-registration", "/health", "/metrics", "/t", NULL };

/* Members of an API object that this module reads (others are ignored, as WSO2 ignores read-only ones). */
static const char *const known_members[] = { "name", "version", "context", "description", "type",
	"transport", "tags", "policies", "apiThrottlingPolicy", "securityScheme", "visibility",
	"visibleRoles", "subscriptionAvailability", "subscriptionAvailableTenants", "endpointConfig",
	"operations", "scopes", "corsConfiguration", "isDefaultVersion", "geoRestriction",
	"maxRequestBodyBytes", "backendJwt", NULL };

/* 1 when s is valid UTF-8 without control characters (multiline: \t \n \r allowed). */
/*
 * Member key of o as a string: *out NULL when absent or null.  0, or 400
 * in e for a wrong type, an over-long value or control characters.
 */
static int
get_str(struct json_object *o, const char *key, size_t maxlen, int multiline, const char **out,
    struct pub_err *e)
{
	struct json_object *v = NULL;
	const char *s;
	size_t len;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return pub_fail(e, 400, "'%s' must be a string", key);
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len > maxlen)
		return pub_fail(e, 400, "'%s' is longer than %zu characters", key, maxlen);
	if (strlen(s) != len ||
	    !gh_body_text_ok(s, len, GH_BODY_EMPTY_OK | (multiline ? GH_BODY_MULTILINE : 0)))
		return pub_fail(e, 400, "'%s' holds control characters or invalid UTF-8", key);
	*out = s;
	return 0;
}

/* A checker of one list element: 1 ok. */
typedef int (*elem_ok_fn)(const char *s);

/*
 * Member key as an array of distinct strings (each 1..maxlen, checked by
 * ok when not NULL) into a new array *out (NULL when absent or null).
 */
static int
get_str_list(struct json_object *o, const char *key, size_t maxlen, elem_ok_fn ok, int upper_lower,
    struct json_object **out, struct pub_err *e)
{
	struct json_object *v = NULL, *a;
	size_t n;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return pub_fail(e, 400, "'%s' must be an array of strings", key);
	n = json_object_array_length(v);
	if (n > MAX_LIST)
		return pub_fail(e, 400, "'%s' has more than %d elements", key, MAX_LIST);
	a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(v, i);
		char buf[1024];
		size_t len;
		int dup = 0;

		if (!json_object_is_type(x, json_type_string)) {
			json_object_put(a);
			return pub_fail(e, 400, "'%s' must be an array of strings", key);
		}
		len = (size_t)json_object_get_string_len(x);
		if (len == 0 || len > maxlen || len >= sizeof(buf) ||
		    strlen(json_object_get_string(x)) != len || !gh_body_text_ok(json_object_get_string(x), len, 0)) {
			json_object_put(a);
			return pub_fail(e, 400, "'%s' holds an empty, over-long (%zu) or invalid value", key, maxlen);
		}
		memcpy(buf, json_object_get_string(x), len + 1);
		for (size_t k = 0; k < len && upper_lower; k++)
			buf[k] = (char)(upper_lower > 0 ? toupper((unsigned char)buf[k]) : tolower((unsigned char)buf[k]));
		if (ok != NULL && !ok(buf)) {
			json_object_put(a);
			return pub_fail(e, 400, "'%s' holds an invalid value '%.100s'", key, buf);
		}
		for (size_t k = 0; k < json_object_array_length(a) && !dup; k++)
			dup = strcmp(json_object_get_string(json_object_array_get_idx(a, k)), buf) == 0;
		if (!dup)
			json_object_array_add(a, json_object_new_string(buf));
	}
	*out = a;
	return 0;
}

static struct json_object *
str_array(const char *const *v)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; v[i] != NULL; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static int
one_of(const char *s, const char *const *set)
{
	for (size_t i = 0; set[i] != NULL; i++)
		if (strcmp(s, set[i]) == 0)
			return 1;
	return 0;
}

static int
transport_ok(const char *s)
{
	static const char *const set[] = { "http", "https", NULL };
	return one_of(s, set);
}

static int
scheme_ok(const char *s)
{
	static const char *const set[] = { "oauth2", "api_key", "basic_auth",
		"oauth_basic_auth_api_key_mandatory", NULL };
	return one_of(s, set);
}

static int
country_ok(const char *s)
{
	return strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

static int
domain_ok(const char *s)
{
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '.' || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

static int
scope_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 100)
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == ':' || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

int
pub_name_check(const char *name, struct pub_err *e)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0)
		return pub_fail(e, 400, "'name' is required");
	if (len > 60)
		return pub_fail(e, 400, "'name' is longer than 60 characters");
	if (name[0] == ' ' || name[len - 1] == ' ' || !gh_body_text_ok(name, len, 0) ||
	    strpbrk(name, "~!@#;:%^*()+={}|\\<>\"',&$[]/") != NULL)
		return pub_fail(e, 400, "'name' holds characters that are not allowed "
		    "(~!@#;:%%^*()+={}|\\<>\"',&$[]/, control characters, leading or trailing spaces)");
	return 0;
}

int
pub_version_check(const char *version, struct pub_err *e)
{
	size_t len = version ? strlen(version) : 0;

	if (len == 0)
		return pub_fail(e, 400, "'version' is required");
	if (len > 30)
		return pub_fail(e, 400, "'version' is longer than 30 characters");
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)version[i]) || version[i] == '.' || version[i] == '_' || version[i] == '-'))
			return pub_fail(e, 400, "'version' may hold letters, digits, '.', '_' and '-' only");
	return 0;
}

int
pub_context_normalize(const char *in, const char *tenant, char *out, size_t outlen, struct pub_err *e)
{
	int super = strcmp(tenant, PUB_SUPER_TENANT) == 0;
	size_t len, tlen = strlen(tenant);

	if (in == NULL || in[0] == '\0')
		return pub_fail(e, 400, "'context' is required");
	/* A tenant's client may send the context with its own prefix. */
	if (!super && strncmp(in, "/t/", 3) == 0 && strncmp(in + 3, tenant, tlen) == 0 && in[3 + tlen] == '/')
		in += 3 + tlen;
	len = strlen(in);
	if (len > 200)
		return pub_fail(e, 400, "'context' is longer than 200 characters");
	if (in[0] != '/' || len < 2)
		return pub_fail(e, 400, "'context' must start with '/' and name a path");
	if (strstr(in, "//") != NULL || strstr(in, "..") != NULL || in[len - 1] == '/')
		return pub_fail(e, 400, "'context' may not hold '//', '..' or end with '/'");
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)in[i]) || strchr("/._~-", in[i]) != NULL))
			return pub_fail(e, 400, "'context' may hold letters, digits and '/._~-' only "
			    "(no '%%', query, spaces or templates)");
	for (size_t i = 0; reserved_contexts[i] != NULL; i++) {
		size_t n = strlen(reserved_contexts[i]);
		if (strncasecmp(in, reserved_contexts[i], n) == 0 && (in[n] == '\0' || in[n] == '/'))
			return pub_fail(e, 400, "The context '%s' is reserved (%s...)", in, reserved_contexts[i]);
	}
	if ((size_t)snprintf(out, outlen, "%s%s%s", super ? "" : "/t/", super ? "" : tenant, in) >= outlen)
		return pub_fail(e, 400, "'context' is too long");
	return 0;
}

int
pub_template_ok(const char *t)
{
	size_t len = t ? strlen(t) : 0;
	const char *seg;

	if (len == 0 || len > 500 || t[0] != '/')
		return 0;
	if (strcmp(t, "/") == 0)
		return 1;
	if (strstr(t, "//") != NULL || strstr(t, "..") != NULL)
		return 0;
	seg = t + 1;
	while (*seg != '\0') {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		int prev_param = 0;

		if (n == 1 && seg[0] == '*') {
			if (end != NULL)        /* '*' only as the last segment */
				return 0;
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			char ch = seg[i];
			if (ch == '{') {
				size_t k = i + 1;
				if (prev_param)
					return 0;       /* {a}{b} glued */
				if (k >= n || !(isalpha((unsigned char)seg[k]) || seg[k] == '_'))
					return 0;
				while (k < n && (isalnum((unsigned char)seg[k]) || seg[k] == '_' || seg[k] == '.' ||
				    seg[k] == '-'))
					k++;
				if (k >= n || seg[k] != '}' || k - i - 1 > 64)
					return 0;
				i = k;
				prev_param = 1;
				continue;
			}
			prev_param = 0;
			if (!(isalnum((unsigned char)ch) || strchr("._~-:@,=+", ch) != NULL))
				return 0;
		}
		if (end == NULL)
			break;
		seg = end + 1;
	}
	return 1;
}

/* 1 when u is an absolute http(s) URL with a host and no user info, spaces or control characters. */
static int
url_ok(const char *u)
{
	size_t len = strlen(u), hl = 0;
	const char *h;

	if (len > 2048)
		return 0;
	if (strncasecmp(u, "http://", 7) == 0)
		h = u + 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		h = u + 8;
	else
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)u[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '\\' || ch == '"' || ch == '<' || ch == '>')
			return 0;
	}
	if (h[0] == '[') {
		const char *r = strchr(h, ']');
		if (r == NULL || r == h + 1)
			return 0;
		for (const char *q = h + 1; q < r; q++)
			if (!(isxdigit((unsigned char)*q) || *q == ':' || *q == '.'))
				return 0;
		h = r + 1;
	} else {
		while (isalnum((unsigned char)h[hl]) || h[hl] == '.' || h[hl] == '-' || h[hl] == '_')
			hl++;
		if (hl == 0)
			return 0;
		h += hl;
	}
	if (*h == ':') {
		long port = 0;
		int digits = 0;
		for (h++; isdigit((unsigned char)*h) && digits < 6; h++, digits++)
			port = port * 10 + (*h - '0');
		if (digits == 0 || port < 1 || port > 65535)
			return 0;
	}
	return *h == '\0' || *h == '/' || *h == '?';
}

/* One endpoint: a URL string or {"url": ...} → new {"url"} object, or NULL with e. */
static struct json_object *
endpoint_one(struct json_object *v, const char *key, struct pub_err *e)
{
	struct json_object *u = v, *o;

	if (json_object_is_type(v, json_type_object) && !json_object_object_get_ex(v, "url", &u))
		u = NULL;
	if (u == NULL || !json_object_is_type(u, json_type_string)) {
		pub_fail(e, 400, "'endpointConfig.%s' must be a URL, {\"url\": URL} or a list of them", key);
		return NULL;
	}
	if (strlen(json_object_get_string(u)) != (size_t)json_object_get_string_len(u) ||
	    !url_ok(json_object_get_string(u))) {
		pub_fail(e, 400, "'endpointConfig.%s' holds an invalid URL (http or https, with a host): '%.200s'",
		    key, json_object_get_string(u));
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "url", json_object_new_string(json_object_get_string(u)));
	return o;
}

/* endpointConfig → normalized copy (may be NULL when absent or null). 0 or 400. */
static int
norm_endpoints(struct json_object *v, struct json_object **out, struct pub_err *e)
{
	static const char *const keys[] = { "production_endpoints", "sandbox_endpoints", NULL };
	static const char *const types[] = { "http", "load_balance", NULL };
	struct json_object *o, *t = NULL;
	const char *type = "http";

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return pub_fail(e, 400, "'endpointConfig' must be an object");
	if (json_object_object_get_ex(v, "endpoint_type", &t) && t != NULL) {
		if (!json_object_is_type(t, json_type_string) || !one_of(json_object_get_string(t), types))
			return pub_fail(e, 400, "'endpointConfig.endpoint_type' must be http or load_balance");
		type = json_object_get_string(t);
	}
	o = json_object_new_object();
	json_object_object_add(o, "endpoint_type", json_object_new_string(type));
	for (size_t i = 0; keys[i] != NULL; i++) {
		struct json_object *x = NULL, *n;

		if (!json_object_object_get_ex(v, keys[i], &x) || x == NULL)
			continue;
		if (json_object_is_type(x, json_type_array)) {
			size_t len = json_object_array_length(x);
			if (len == 0 || len > 50) {
				json_object_put(o);
				return pub_fail(e, 400, "'endpointConfig.%s' must list 1 to 50 endpoints", keys[i]);
			}
			n = json_object_new_array();
			for (size_t k = 0; k < len; k++) {
				struct json_object *one = endpoint_one(json_object_array_get_idx(x, k), keys[i], e);
				if (one == NULL) {
					json_object_put(n);
					json_object_put(o);
					return e->status;
				}
				json_object_array_add(n, one);
			}
		} else if ((n = endpoint_one(x, keys[i], e)) == NULL) {
			json_object_put(o);
			return e->status;
		}
		json_object_object_add(o, keys[i], n);
	}
	*out = o;
	return 0;
}

/* scopes → [{name, displayName, description, bindings}] (WSO2's {scope:{...}, shared} accepted). */
static int
norm_scopes(struct json_object *v, struct json_object **out, struct pub_err *e)
{
	struct json_object *a;
	size_t n;

	*out = json_object_new_array();
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return pub_fail(e, 400, "'scopes' must be an array");
	n = json_object_array_length(v);
	if (n > MAX_LIST)
		return pub_fail(e, 400, "'scopes' has more than %d elements", MAX_LIST);
	a = *out;
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(v, i), *inner = NULL, *roles = NULL, *o;
		const char *name, *desc, *disp;

		if (s != NULL && json_object_is_type(s, json_type_object) &&
		    json_object_object_get_ex(s, "scope", &inner) && inner != NULL)
			s = inner;
		if (s == NULL || !json_object_is_type(s, json_type_object))
			return pub_fail(e, 400, "'scopes' must hold objects {name, description, bindings}");
		if (get_str(s, "name", 100, 0, &name, e) || get_str(s, "description", 1000, 1, &desc, e) ||
		    get_str(s, "displayName", 255, 0, &disp, e))
			return e->status;
		if (name == NULL || !scope_name_ok(name))
			return pub_fail(e, 400, "A scope needs a 'name' of letters, digits and ':_.-'");
		for (size_t k = 0; k < json_object_array_length(a); k++)
			if (strcmp(json_object_get_string(json_object_object_get(json_object_array_get_idx(a, k),
			    "name")), name) == 0)
				return pub_fail(e, 400, "The scope '%s' is declared twice", name);
		if (get_str_list(s, "bindings", 100, NULL, 0, &roles, e))
			return e->status;
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "displayName", json_object_new_string(disp ? disp : name));
		json_object_object_add(o, "description", json_object_new_string(desc ? desc : ""));
		json_object_object_add(o, "bindings", roles ? roles : json_object_new_array());
		json_object_array_add(a, o);
	}
	return 0;
}

static int
scope_declared(struct json_object *scopes, const char *name)
{
	for (size_t k = 0; k < json_object_array_length(scopes); k++)
		if (strcmp(json_object_get_string(json_object_object_get(json_object_array_get_idx(scopes, k),
		    "name")), name) == 0)
			return 1;
	return 0;
}

/* operations → normalized list (WSO2 default: every verb on the wildcard resource when absent or empty). */
static int
norm_operations(struct json_object *v, struct json_object *scopes, struct json_object **out, struct pub_err *e)
{
	static const char *const verbs[] = { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", NULL };
	static const char *const defaults[] = { "GET", "PUT", "POST", "DELETE", "PATCH", NULL };
	static const char *const auth_types[] = { "Application & Application User", "Application",
		"Application User", "Any", "None", NULL };
	struct json_object *a = json_object_new_array();
	size_t n;

	*out = a;
	if (v != NULL && !json_object_is_type(v, json_type_array))
		return pub_fail(e, 400, "'operations' must be an array");
	n = v != NULL ? json_object_array_length(v) : 0;
	if (n > MAX_OPERATIONS)
		return pub_fail(e, 400, "'operations' has more than %d elements", MAX_OPERATIONS);
	if (n == 0) {
		for (size_t i = 0; defaults[i] != NULL; i++) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "target", json_object_new_string("/*"));
			json_object_object_add(o, "verb", json_object_new_string(defaults[i]));
			json_object_object_add(o, "authType", json_object_new_string("Application & Application User"));
			json_object_object_add(o, "throttlingPolicy", json_object_new_string("Unlimited"));
			json_object_object_add(o, "scopes", json_object_new_array());
			json_object_array_add(a, o);
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *op = json_object_array_get_idx(v, i), *sc = NULL, *o;
		const char *target, *verb, *auth, *tier;
		char uverb[16];

		if (op == NULL || !json_object_is_type(op, json_type_object))
			return pub_fail(e, 400, "'operations' must hold objects {target, verb, ...}");
		if (get_str(op, "target", 500, 0, &target, e) || get_str(op, "verb", 10, 0, &verb, e) ||
		    get_str(op, "authType", 64, 0, &auth, e) || get_str(op, "throttlingPolicy", 100, 0, &tier, e))
			return e->status;
		if (target == NULL || !pub_template_ok(target))
			return pub_fail(e, 400, "Operation %zu: invalid URL template '%.200s' (\"/\", \"/items/{id}\", "
			    "\"/files/*\"; no '..', '//', '%%', '?', spaces or glued parameters)", i, target ? target : "");
		if (verb == NULL)
			return pub_fail(e, 400, "Operation %zu: 'verb' is required", i);
		snprintf(uverb, sizeof(uverb), "%s", verb);
		for (char *q = uverb; *q; q++)
			*q = (char)toupper((unsigned char)*q);
		if (!one_of(uverb, verbs))
			return pub_fail(e, 400, "Operation %zu: unknown verb '%s' (GET POST PUT DELETE PATCH HEAD OPTIONS)",
			    i, uverb);
		if (auth != NULL && !one_of(auth, auth_types))
			return pub_fail(e, 400, "Operation %zu: unknown authType (\"Application & Application User\", "
			    "\"Application\", \"Application User\", \"Any\", \"None\")", i);
		if (tier != NULL && tier[0] == '\0')
			return pub_fail(e, 400, "Operation %zu: empty throttlingPolicy", i);
		for (size_t k = 0; k < json_object_array_length(a); k++) {
			struct json_object *p = json_object_array_get_idx(a, k);
			if (strcmp(json_object_get_string(json_object_object_get(p, "target")), target) == 0 &&
			    strcmp(json_object_get_string(json_object_object_get(p, "verb")), uverb) == 0)
				return pub_fail(e, 400, "Operation %s %s is declared twice", uverb, target);
		}
		if (get_str_list(op, "scopes", 100, NULL, 0, &sc, e))
			return e->status;
		for (size_t k = 0; sc != NULL && k < json_object_array_length(sc); k++) {
			const char *s = json_object_get_string(json_object_array_get_idx(sc, k));
			if (!scope_declared(scopes, s)) {
				pub_fail(e, 400, "Operation %s %s uses the scope '%.100s' that the API does not declare",
				    uverb, target, s);
				json_object_put(sc);
				return e->status;
			}
		}
		o = json_object_new_object();
		json_object_object_add(o, "target", json_object_new_string(target));
		json_object_object_add(o, "verb", json_object_new_string(uverb));
		json_object_object_add(o, "authType", json_object_new_string(auth ? auth : "Application & Application User"));
		json_object_object_add(o, "throttlingPolicy", json_object_new_string(tier ? tier : "Unlimited"));
		json_object_object_add(o, "scopes", sc ? sc : json_object_new_array());
		json_object_array_add(a, o);
	}
	return 0;
}

/* A boolean member (missing: def).  0 or 400. */
static int
get_bool(struct json_object *o, const char *key, int def, int *out, struct pub_err *e)
{
	struct json_object *v = NULL;

	*out = def;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return pub_fail(e, 400, "'%s' must be true or false", key);
	*out = json_object_get_boolean(v);
	return 0;
}

static int
norm_cors(struct json_object *v, struct json_object **out, struct pub_err *e)
{
	static const char *const origins[] = { "*", NULL };
	static const char *const headers[] = { "authorization", "Access-Control-Allow-Origin", "Content-Type",
		"SOAPAction", "apikey", "Internal-Key", NULL };
	static const char *const methods[] = { "GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", NULL };
	struct json_object *o = json_object_new_object(), *l;
	int on = 0, cred = 0;

	*out = o;
	if (v != NULL && !json_object_is_type(v, json_type_object))
		return pub_fail(e, 400, "'corsConfiguration' must be an object");
	if (v == NULL)
		v = o;
	if (get_bool(v, "corsConfigurationEnabled", 0, &on, e) ||
	    get_bool(v, "accessControlAllowCredentials", 0, &cred, e))
		return e->status;
	json_object_object_add(o, "corsConfigurationEnabled", json_object_new_boolean(on));
	if (get_str_list(v, "accessControlAllowOrigins", 500, NULL, 0, &l, e))
		return e->status;
	json_object_object_add(o, "accessControlAllowOrigins", l ? l : str_array(origins));
	json_object_object_add(o, "accessControlAllowCredentials", json_object_new_boolean(cred));
	if (get_str_list(v, "accessControlAllowHeaders", 200, NULL, 0, &l, e))
		return e->status;
	json_object_object_add(o, "accessControlAllowHeaders", l ? l : str_array(headers));
	if (get_str_list(v, "accessControlAllowMethods", 10, NULL, 1, &l, e))
		return e->status;
	json_object_object_add(o, "accessControlAllowMethods", l ? l : str_array(methods));
	return 0;
}

static int
norm_geo(struct json_object *v, struct json_object **out, struct pub_err *e)
{
	struct json_object *o, *l = NULL;
	const char *mode;

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return pub_fail(e, 400, "'geoRestriction' must be {mode: allow|deny, countries: [ISO codes]} or null");
	if (get_str(v, "mode", 10, 0, &mode, e))
		return e->status;
	if (mode == NULL || (strcmp(mode, "allow") != 0 && strcmp(mode, "deny") != 0))
		return pub_fail(e, 400, "'geoRestriction.mode' must be allow or deny");
	if (get_str_list(v, "countries", 2, country_ok, 0, &l, e))
		return pub_fail(e, 400, "'geoRestriction.countries' must be 2-letter upper-case ISO 3166 codes");
	if (l == NULL)
		return pub_fail(e, 400, "'geoRestriction.countries' is required");
	o = json_object_new_object();
	json_object_object_add(o, "mode", json_object_new_string(mode));
	json_object_object_add(o, "countries", l);
	*out = o;
	return 0;
}

/* A string member that must be one of set (def when absent).  0 or 400. */
static int
get_enum(struct json_object *o, const char *key, const char *const *set, const char *def, const char **out,
    struct pub_err *e)
{
	if (get_str(o, key, 64, 0, out, e))
		return e->status;
	if (*out == NULL)
		*out = def;
	else if (!one_of(*out, set))
		return pub_fail(e, 400, "'%s' has an unknown value '%.64s'", key, *out);
	return 0;
}

static void
add_str_or_null(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

struct json_object *
pub_api_normalize(struct json_object *body, struct json_object *base, const char *tenant, int *is_default,
    struct pub_err *e)
{
	static const char *const visibilities[] = { "PUBLIC", "PRIVATE", "RESTRICTED", NULL };
	static const char *const availabilities[] = { "CURRENT_TENANT", "ALL_TENANTS", "SPECIFIC_TENANTS", NULL };
	static const char *const def_transport[] = { "http", "https", NULL };
	static const char *const def_scheme[] = { "oauth2", NULL };
	static const char *const def_tiers[] = { "Unlimited", NULL };
	struct json_object *in = json_object_new_object(), *d = json_object_new_object(), *v, *l;
	const char *name, *version, *context, *desc, *type, *vis, *avail, *atp;
	char ctx[300];
	long long maxb;
	int b;

	/* The members this call sets: body's over base's (update). */
	for (size_t i = 0; known_members[i] != NULL; i++) {
		v = NULL;
		if (json_object_object_get_ex(body, known_members[i], &v) ||
		    (base != NULL && json_object_object_get_ex(base, known_members[i], &v)))
			json_object_object_add(in, known_members[i], json_object_get(v));
	}
	if (get_str(in, "name", 60, 0, &name, e) || pub_name_check(name, e) ||
	    get_str(in, "version", 30, 0, &version, e) || pub_version_check(version, e) ||
	    get_str(in, "context", 300, 0, &context, e) ||
	    pub_context_normalize(context, tenant, ctx, sizeof(ctx), e) ||
	    get_str(in, "description", MAX_DESCRIPTION, 1, &desc, e))
		goto fail;
	json_object_object_add(d, "name", json_object_new_string(name));
	json_object_object_add(d, "context", json_object_new_string(ctx));
	json_object_object_add(d, "version", json_object_new_string(version));
	json_object_object_add(d, "description", json_object_new_string(desc ? desc : ""));
	if (get_str(in, "type", 16, 0, &type, e))
		goto fail;
	if (type != NULL && strcmp(type, "HTTP") != 0) {
		pub_fail(e, 400, "'type' must be HTTP");
		goto fail;
	}
	json_object_object_add(d, "type", json_object_new_string("HTTP"));
	if (get_str_list(in, "transport", 5, transport_ok, -1, &l, e))
		goto fail;
	if (l != NULL && json_object_array_length(l) == 0) {
		json_object_put(l);
		pub_fail(e, 400, "'transport' needs http, https or both");
		goto fail;
	}
	json_object_object_add(d, "transport", l ? l : str_array(def_transport));
	if (get_str_list(in, "tags", 30, NULL, 0, &l, e))
		goto fail;
	json_object_object_add(d, "tags", l ? l : json_object_new_array());
	if (get_str_list(in, "policies", 100, NULL, 0, &l, e))
		goto fail;
	if (l != NULL && json_object_array_length(l) == 0) {
		json_object_put(l);
		l = NULL;
	}
	json_object_object_add(d, "policies", l ? l : str_array(def_tiers));
	if (get_str(in, "apiThrottlingPolicy", 100, 0, &atp, e))
		goto fail;
	add_str_or_null(d, "apiThrottlingPolicy", atp && atp[0] ? atp : NULL);
	if (get_str_list(in, "securityScheme", 64, scheme_ok, 0, &l, e))
		goto fail;
	if (l != NULL && json_object_array_length(l) == 0) {
		json_object_put(l);
		l = NULL;
	}
	json_object_object_add(d, "securityScheme", l ? l : str_array(def_scheme));
	if (get_enum(in, "visibility", visibilities, "PUBLIC", &vis, e) ||
	    get_str_list(in, "visibleRoles", 100, NULL, 0, &l, e))
		goto fail;
	json_object_object_add(d, "visibility", json_object_new_string(vis));
	json_object_object_add(d, "visibleRoles", l ? l : json_object_new_array());
	if (strcmp(vis, "RESTRICTED") == 0 && (l == NULL || json_object_array_length(l) == 0)) {
		pub_fail(e, 400, "'visibility' RESTRICTED needs 'visibleRoles'");
		goto fail;
	}
	if (get_enum(in, "subscriptionAvailability", availabilities, "CURRENT_TENANT", &avail, e) ||
	    get_str_list(in, "subscriptionAvailableTenants", 253, domain_ok, -1, &l, e))
		goto fail;
	json_object_object_add(d, "subscriptionAvailability", json_object_new_string(avail));
	json_object_object_add(d, "subscriptionAvailableTenants", l ? l : json_object_new_array());
	if (strcmp(avail, "SPECIFIC_TENANTS") == 0 && (l == NULL || json_object_array_length(l) == 0)) {
		pub_fail(e, 400, "'subscriptionAvailability' SPECIFIC_TENANTS needs 'subscriptionAvailableTenants'");
		goto fail;
	}
	if (norm_endpoints(json_object_object_get(in, "endpointConfig"), &l, e))
		goto fail;
	json_object_object_add(d, "endpointConfig", l);
	if (norm_scopes(json_object_object_get(in, "scopes"), &l, e)) {
		json_object_put(l);
		goto fail;
	}
	json_object_object_add(d, "scopes", l);
	if (norm_operations(json_object_object_get(in, "operations"), l, &v, e)) {
		json_object_put(v);
		goto fail;
	}
	json_object_object_add(d, "operations", v);
	if (norm_cors(json_object_object_get(in, "corsConfiguration"), &l, e)) {
		json_object_put(l);
		goto fail;
	}
	json_object_object_add(d, "corsConfiguration", l);
	if (norm_geo(json_object_object_get(in, "geoRestriction"), &l, e))
		goto fail;
	json_object_object_add(d, "geoRestriction", l);
	v = json_object_object_get(in, "maxRequestBodyBytes");
	if (v != NULL) {
		if (!json_object_is_type(v, json_type_int) || (maxb = json_object_get_int64(v)) < 1 ||
		    maxb > 1073741824LL) {
			pub_fail(e, 400, "'maxRequestBodyBytes' must be a positive integer (at most 1073741824) or null");
			goto fail;
		}
		json_object_object_add(d, "maxRequestBodyBytes", json_object_new_int64(maxb));
	} else {
		json_object_object_add(d, "maxRequestBodyBytes", NULL);
	}
	v = json_object_object_get(in, "backendJwt");
	if (v != NULL && json_object_is_type(v, json_type_string) &&
	    (strcmp(json_object_get_string(v), "on") == 0 || strcmp(json_object_get_string(v), "off") == 0)) {
		b = strcmp(json_object_get_string(v), "on") == 0;
	} else if (get_bool(in, "backendJwt", 0, &b, e)) {
		pub_fail(e, 400, "'backendJwt' must be true or false (or \"on\"/\"off\")");
		goto fail;
	}
	json_object_object_add(d, "backendJwt", json_object_new_boolean(b));
	if (get_bool(in, "isDefaultVersion", 0, is_default, e))
		goto fail;
	json_object_put(in);
	return d;
fail:
	json_object_put(in);
	json_object_put(d);
	return NULL;
}

/* The first name of list (JSON text) not among kind's policies of tenant: 1 with it in e, 0, -1. */
static int
missing_policy(struct gh_pg *db, const char *tenant, const char *kind, struct json_object *list,
    const char *what, struct pub_err *e)
{
	const char *p[3] = { pub_json_text(list), kind, tenant };
	PGresult *res;
	int rc = 0;

	if (json_object_array_length(list) == 0)
		return 0;
	res = gh_pg_exec(db, "SELECT x FROM jsonb_array_elements_text($1::jsonb) x WHERE NOT EXISTS ("
	    "SELECT 1 FROM gh_throttle_policies t WHERE t.kind = $2 AND t.tenant IN ('*', $3) AND t.name = x) "
	    "LIMIT 1", 3, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) == 1)
		rc = pub_fail(e, 400, "Unknown %s '%.100s'", what, gh_pg_get(res, 0, 0));
	PQclear(res);
	return rc;
}

int
pub_api_check_policies(struct gh_pg *db, const char *tenant, struct json_object *def, struct pub_err *e)
{
	struct json_object *adv = json_object_new_array(), *ops = json_object_object_get(def, "operations"), *v;
	int rc;

	v = json_object_object_get(def, "apiThrottlingPolicy");
	if (v != NULL)
		json_object_array_add(adv, json_object_get(v));
	for (size_t i = 0; ops != NULL && i < json_object_array_length(ops); i++)
		json_object_array_add(adv, json_object_get(json_object_object_get(json_object_array_get_idx(ops, i),
		    "throttlingPolicy")));
	rc = missing_policy(db, tenant, "subscription", json_object_object_get(def, "policies"),
	    "subscription tier in 'policies'", e);
	if (rc == 0)
		rc = missing_policy(db, tenant, "advanced", adv, "throttling policy", e);
	json_object_put(adv);
	return rc;
}

int
pub_api_check_conflicts(struct gh_pg *db, const char *tenant, const char *id, struct json_object *def,
    struct pub_err *e)
{
	const char *name = json_object_get_string(json_object_object_get(def, "name"));
	const char *version = json_object_get_string(json_object_object_get(def, "version"));
	const char *context = json_object_get_string(json_object_object_get(def, "context"));
	struct json_object *names = json_object_new_array(), *scopes = json_object_object_get(def, "scopes");
	const char *p[5] = { tenant, context, id, name, version };
	PGresult *res;
	int rc = 0;

	res = gh_pg_exec(db, "SELECT name, version, context = $2 FROM gh_apis WHERE tenant = $1 "
	    "AND ($3::text IS NULL OR id <> $3) AND ((context = $2 AND (name <> $4 OR version = $5)) "
	    "OR (name = $4 AND version = $5)) LIMIT 1", 5, p);
	if (res == NULL)
		goto db;
	if (gh_pg_nrows(res) == 1) {
		if (strcmp(gh_pg_get(res, 0, 2), "t") == 0)
			rc = pub_fail(e, 409, "The context '%s' is already used by the API %s %s", context,
			    gh_pg_get(res, 0, 0), gh_pg_get(res, 0, 1));
		else
			rc = pub_fail(e, 409, "An API named '%s' with version '%s' already exists", name, version);
	}
	PQclear(res);
	if (rc != 0)
		goto out;
	for (size_t i = 0; scopes != NULL && i < json_object_array_length(scopes); i++)
		json_object_array_add(names, json_object_get(json_object_object_get(json_object_array_get_idx(scopes, i),
		    "name")));
	p[1] = pub_json_text(names);
	res = gh_pg_exec(db, "SELECT s.name, a.name FROM gh_api_scopes s JOIN gh_apis a ON a.id = s.api_id "
	    "WHERE s.tenant = $1 AND s.name IN (SELECT jsonb_array_elements_text($2::jsonb)) "
	    "AND ($3::text IS NULL OR s.api_id <> $3) AND a.name <> $4 LIMIT 1", 4, p);
	if (res == NULL)
		goto db;
	if (gh_pg_nrows(res) == 1)
		rc = pub_fail(e, 409, "The scope '%s' is already used by the API %s", gh_pg_get(res, 0, 0),
		    gh_pg_get(res, 0, 1));
	PQclear(res);
out:
	json_object_put(names);
	return rc;
db:
	json_object_put(names);
	return -1;
}

int
pub_api_store_scopes(struct gh_pg *db, const char *tenant, const char *id, struct json_object *def)
{
	const char *p[3] = { tenant, id, pub_json_text(json_object_object_get(def, "scopes")) };

	if (gh_pg_cmd(db, "DELETE FROM gh_api_scopes WHERE tenant = $1 AND api_id = $2", 2, p, NULL) != 0)
		return -1;
	return gh_pg_cmd(db, "INSERT INTO gh_api_scopes (tenant, api_id, name, description, roles) "
	    "SELECT $1, $2, s->>'name', coalesce(s->>'description', ''), "
	    "ARRAY(SELECT jsonb_array_elements_text(coalesce(s->'bindings', '[]'))) "
	    "FROM jsonb_array_elements($3::jsonb) s", 3, p, NULL);
}
