/*
 * OpenAPI 3.x documents of APIs: POST /apis/import-openapi (multipart
 * with a "file" part and optional "additionalProperties", as WSO2, or a
 * raw JSON or YAML body) creates an API whose operations are the
 * document's paths and methods; GET /apis/{id}/swagger answers the stored
 * document (kept as JSON text in gh_apis.swagger), or one generated from
 * the operations when none was imported; PUT /apis/{id}/swagger replaces
 * it and the operations with it.  YAML goes through api_yaml.c.
 */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/gh_json.h"
#include "publisher/pub.h"
#include "publisher/pub_api.h"

#define MAX_PARTS 8

static const char *const methods[] = { "get", "put", "post", "delete", "patch", "head", "options", NULL };

/* The document in text (JSON or YAML): a new object, or NULL with 400 in e. */
static struct json_object *
parse_document(const char *text, size_t len, struct pub_err *e)
{
	struct json_object *doc, *v = NULL;
	const char *why = NULL, *ver;
	size_t i = 0;

	while (i < len && isspace((unsigned char)text[i]))
		i++;
	if (i == len) {
		pub_fail(e, 400, "The OpenAPI document is empty");
		return NULL;
	}
	doc = text[i] == '{' ? gh_json_parse(text, len, &why) : pub_yaml_parse(text, len, &why);
	if (doc == NULL) {
		pub_fail(e, 400, "The OpenAPI document cannot be parsed: %s", why ? why : "invalid");
		return NULL;
	}
	if (!json_object_is_type(doc, json_type_object)) {
		pub_fail(e, 400, "The OpenAPI document must be an object");
		goto bad;
	}
	if (!json_object_object_get_ex(doc, "openapi", &v) || v == NULL || !json_object_is_type(v, json_type_string)) {
		pub_fail(e, 400, "Only OpenAPI 3.x documents are accepted (no 'openapi' version string)");
		goto bad;
	}
	ver = json_object_get_string(v);
	if (strncmp(ver, "3.", 2) != 0 || !isdigit((unsigned char)ver[2])) {
		pub_fail(e, 400, "Only OpenAPI 3.x documents are accepted (this one is %.20s)", ver);
		goto bad;
	}
	if (!json_object_object_get_ex(doc, "info", &v) || !json_object_is_type(v, json_type_object)) {
		pub_fail(e, 400, "The OpenAPI document has no 'info' object");
		goto bad;
	}
	if (!json_object_object_get_ex(doc, "paths", &v) || !json_object_is_type(v, json_type_object)) {
		pub_fail(e, 400, "The OpenAPI document has no 'paths' object");
		goto bad;
	}
	return doc;
bad:
	json_object_put(doc);
	return NULL;
}

/* Scalar member as text (numbers keep their written form), or NULL. */
static const char *
scalar_text(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL || json_object_is_type(v, json_type_object) ||
	    json_object_is_type(v, json_type_array))
		return NULL;
	return json_object_get_string(v);
}

/* The scopes the document declares (oauth2 flows, WSO2's x-scopes-bindings): a new array. */
static struct json_object *
declared_scopes(struct json_object *doc)
{
	struct json_object *out = json_object_new_array(), *comp = NULL, *schemes = NULL;

	if (!json_object_object_get_ex(doc, "components", &comp) || !json_object_is_type(comp, json_type_object) ||
	    !json_object_object_get_ex(comp, "securitySchemes", &schemes) ||
	    !json_object_is_type(schemes, json_type_object))
		return out;
	json_object_object_foreach(schemes, sname, scheme) {
		struct json_object *flows = NULL;
		(void)sname;
		if (!json_object_is_type(scheme, json_type_object) ||
		    !json_object_object_get_ex(scheme, "flows", &flows) || !json_object_is_type(flows, json_type_object))
			continue;
		json_object_object_foreach(flows, fname, flow) {
			struct json_object *scopes = NULL, *bind = NULL;
			(void)fname;
			if (!json_object_is_type(flow, json_type_object) ||
			    !json_object_object_get_ex(flow, "scopes", &scopes) ||
			    !json_object_is_type(scopes, json_type_object))
				continue;
			json_object_object_get_ex(flow, "x-scopes-bindings", &bind);
			json_object_object_foreach(scopes, name, desc) {
				struct json_object *s, *roles = json_object_new_array();
				const char *r = bind && json_object_is_type(bind, json_type_object) ?
				    scalar_text(bind, name) : NULL;
				int dup = 0;

				for (size_t i = 0; i < json_object_array_length(out) && !dup; i++)
					dup = strcmp(json_object_get_string(json_object_object_get(
					    json_object_array_get_idx(out, i), "name")), name) == 0;
				while (r != NULL && *r != '\0') {
					size_t n = strcspn(r, ",");
					const char *a = r, *z = r + n;
					while (a < z && *a == ' ')
						a++;
					while (z > a && z[-1] == ' ')
						z--;
					if (z > a)
						json_object_array_add(roles, json_object_new_string_len(a, (int)(z - a)));
					r += n + (r[n] == ',');
				}
				if (dup) {
					json_object_put(roles);
					continue;
				}
				s = json_object_new_object();
				json_object_object_add(s, "name", json_object_new_string(name));
				json_object_object_add(s, "description", json_object_get(
				    desc && json_object_is_type(desc, json_type_string) ? desc : NULL));
				json_object_object_add(s, "bindings", roles);
				json_object_array_add(out, s);
			}
		}
	}
	return out;
}

static int
in_scopes(struct json_object *scopes, const char *name)
{
	for (size_t i = 0; i < json_object_array_length(scopes); i++) {
		struct json_object *s = json_object_array_get_idx(scopes, i), *n = NULL;
		if (json_object_object_get_ex(s, "name", &n) && json_object_is_type(n, json_type_string) &&
		    strcmp(json_object_get_string(n), name) == 0)
			return 1;
	}
	return 0;
}

/*
 * Operations of the document's paths × methods: a new array.  Their
 * scopes are limited to those in scopes (NULL: every one, checked later
 * against the API's).
 */
static struct json_object *
document_operations(struct json_object *doc, struct json_object *scopes)
{
	struct json_object *ops = json_object_new_array(), *paths = json_object_object_get(doc, "paths");

	json_object_object_foreach(paths, path, item) {
		if (item == NULL || !json_object_is_type(item, json_type_object))
			continue;
		for (size_t m = 0; methods[m] != NULL; m++) {
			struct json_object *op = NULL, *o, *sec = NULL, *osc = json_object_new_array(), *v;
			char verb[16];

			if (!json_object_object_get_ex(item, methods[m], &op) || !json_object_is_type(op, json_type_object)) {
				json_object_put(osc);
				continue;
			}
			snprintf(verb, sizeof(verb), "%s", methods[m]);
			for (char *q = verb; *q; q++)
				*q = (char)toupper((unsigned char)*q);
			o = json_object_new_object();
			json_object_object_add(o, "target", json_object_new_string(path));
			json_object_object_add(o, "verb", json_object_new_string(verb));
			if (json_object_object_get_ex(op, "x-auth-type", &v) && v != NULL)
				json_object_object_add(o, "authType", json_object_get(v));
			if (json_object_object_get_ex(op, "x-throttling-tier", &v) && v != NULL)
				json_object_object_add(o, "throttlingPolicy", json_object_get(v));
			if (json_object_object_get_ex(op, "security", &sec) && json_object_is_type(sec, json_type_array)) {
				for (size_t i = 0; i < json_object_array_length(sec); i++) {
					struct json_object *req = json_object_array_get_idx(sec, i);
					if (req == NULL || !json_object_is_type(req, json_type_object))
						continue;
					json_object_object_foreach(req, sch, list) {
						(void)sch;
						for (size_t k = 0; list && json_object_is_type(list, json_type_array) &&
						    k < json_object_array_length(list); k++) {
							struct json_object *s = json_object_array_get_idx(list, k);
							if (s && json_object_is_type(s, json_type_string) &&
							    (scopes == NULL || in_scopes(scopes, json_object_get_string(s))))
								json_object_array_add(osc, json_object_get(s));
						}
					}
				}
			}
			json_object_object_add(o, "scopes", osc);
			json_object_array_add(ops, o);
		}
	}
	return ops;
}

/*
 * The API body of an import: additionalProperties (borrowed, may be NULL)
 * completed from the document: name, version, description from info;
 * context from x-wso2-basePath when not given; operations from the paths;
 * scopes declared by the document unless given.  A new object.
 */
static struct json_object *
import_body(struct json_object *doc, struct json_object *props)
{
	struct json_object *b = json_object_new_object(), *info = json_object_object_get(doc, "info"), *scopes;
	const char *s;

	if (props != NULL) {
		json_object_object_foreach(props, k, v)
			json_object_object_add(b, k, json_object_get(v));
	}
	if (!json_object_object_get_ex(b, "name", NULL) && (s = scalar_text(info, "title")) != NULL)
		json_object_object_add(b, "name", json_object_new_string(s));
	if (!json_object_object_get_ex(b, "version", NULL) && (s = scalar_text(info, "version")) != NULL)
		json_object_object_add(b, "version", json_object_new_string(s));
	if (!json_object_object_get_ex(b, "description", NULL) && (s = scalar_text(info, "description")) != NULL)
		json_object_object_add(b, "description", json_object_new_string(s));
	if (!json_object_object_get_ex(b, "context", NULL) && (s = scalar_text(doc, "x-wso2-basePath")) != NULL)
		json_object_object_add(b, "context", json_object_new_string(s));
	if (!json_object_object_get_ex(b, "scopes", NULL))
		json_object_object_add(b, "scopes", declared_scopes(doc));
	scopes = json_object_object_get(b, "scopes");
	if (scopes == NULL || !json_object_is_type(scopes, json_type_array))
		scopes = declared_scopes(doc);          /* invalid given scopes: refused by the validator */
	else
		json_object_get(scopes);
	json_object_object_add(b, "operations", document_operations(doc, scopes));
	json_object_put(scopes);
	return b;
}

/* additionalProperties text → object (new ref) or NULL with 400 in e. */
static struct json_object *
parse_props(const char *text, size_t len, struct pub_err *e)
{
	const char *why = NULL;
	struct json_object *o = gh_json_parse_object(text, len, &why);

	if (o == NULL)
		pub_fail(e, 400, "'additionalProperties' must be a JSON object: %s", why ? why : "invalid");
	return o;
}

/* A raw document body: JSON or YAML content types. */
static int
raw_document_ctype(const struct gh_call *c)
{
	return gh_call_ctype_is(c, "application/json") || gh_call_ctype_is(c, "application/yaml") ||
	    gh_call_ctype_is(c, "application/x-yaml") || gh_call_ctype_is(c, "text/yaml") ||
	    gh_call_ctype_is(c, "text/x-yaml");
}

/*
 * The document (and additionalProperties) of an import or PUT swagger
 * request: multipart parts docpart_a or docpart_b, or a raw body.  0 with
 * *doc (and *props when props is not NULL; may stay NULL), or 4xx in e.
 */
static int
request_document(struct gh_call *c, const char *docpart_a, const char *docpart_b, struct json_object **doc,
    struct json_object **props, struct pub_err *e)
{
	struct pub_part parts[MAX_PARTS];
	const struct pub_part *dp = NULL;
	char *q;
	int n;

	*doc = NULL;
	if (props != NULL)
		*props = NULL;
	if (gh_call_ctype_is(c, "multipart/form-data")) {
		n = pub_multipart_parse(gh_call_header(c, "Content-Type"), c->body, c->body_len, parts, MAX_PARTS);
		if (n < 0)
			return pub_fail(e, 400, "The multipart/form-data body is malformed");
		for (int i = 0; i < n; i++) {
			if (strcmp(parts[i].name, docpart_a) == 0 || (docpart_b && strcmp(parts[i].name, docpart_b) == 0))
				dp = &parts[i];
			else if (props != NULL && strcmp(parts[i].name, "additionalProperties") == 0 &&
			    (*props = parse_props(parts[i].data, parts[i].len, e)) == NULL)
				return e->status;
			else if (strcmp(parts[i].name, "url") == 0)
				return pub_fail(e, 400, "Importing from a URL is not offered: upload the document as '%s'",
				    docpart_a);
		}
		if (dp == NULL)
			return pub_fail(e, 400, "The multipart body needs a '%s' part with the OpenAPI document", docpart_a);
		*doc = parse_document(dp->data, dp->len, e);
		return *doc != NULL ? 0 : e->status;
	}
	if (!raw_document_ctype(c))
		return pub_fail(e, 415, "Send multipart/form-data, application/json or application/yaml");
	if (c->body == NULL || c->body_len == 0)
		return pub_fail(e, 400, "The OpenAPI document is empty");
	if (props != NULL && (q = gh_call_query(c, "additionalProperties")) != NULL) {
		*props = parse_props(q, strlen(q), e);
		free(q);
		if (*props == NULL)
			return e->status;
	}
	*doc = parse_document(c->body, c->body_len, e);
	return *doc != NULL ? 0 : e->status;
}

void
pub_openapi_import(struct gh_call *c, struct gh_pg *db)
{
	static const char *const qfields[] = { "name", "version", "context", "description", NULL };
	struct json_object *doc = NULL, *props = NULL, *body = NULL;
	struct gh_principal p;
	struct pub_err e = { 0 };

	if (pub_auth(c, db, "apim:api_create", "apim:api_manage", &p) != 0)
		return;
	if (request_document(c, "file", "inlineAPIDefinition", &doc, &props, &e) != 0) {
		pub_reply_err(c, &e);
		goto out;
	}
	if (props == NULL)
		props = json_object_new_object();
	for (size_t i = 0; qfields[i] != NULL; i++) {
		char *v = gh_call_query(c, qfields[i]);
		if (v != NULL && !json_object_object_get_ex(props, qfields[i], NULL))
			json_object_object_add(props, qfields[i], json_object_new_string(v));
		free(v);
	}
	body = import_body(doc, props);
	pub_api_create(c, db, &p, body, pub_json_text(doc), "api.import");
out:
	json_object_put(doc);
	json_object_put(props);
	json_object_put(body);
	gh_principal_clear(&p);
}

/* The path parameters of a URL template as OpenAPI parameter objects. */
static struct json_object *
path_params(const char *t)
{
	struct json_object *a = json_object_new_array();

	while ((t = strchr(t, '{')) != NULL) {
		const char *z = strchr(t, '}');
		struct json_object *o, *sch;
		if (z == NULL)
			break;
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string_len(t + 1, (int)(z - t - 1)));
		json_object_object_add(o, "in", json_object_new_string("path"));
		json_object_object_add(o, "required", json_object_new_boolean(1));
		sch = json_object_new_object();
		json_object_object_add(sch, "type", json_object_new_string("string"));
		json_object_object_add(o, "schema", sch);
		json_object_array_add(a, o);
		t = z + 1;
	}
	return a;
}

/* A minimal OpenAPI 3.0 document of a stored definition (new object). */
static struct json_object *
generate_document(struct json_object *def)
{
	struct json_object *doc = json_object_new_object(), *info = json_object_new_object();
	struct json_object *paths = json_object_new_object(), *scopes = json_object_new_object();
	struct json_object *binds = json_object_new_object(), *ops = json_object_object_get(def, "operations");
	struct json_object *sl = json_object_object_get(def, "scopes"), *flow, *flows, *scheme, *schemes, *comp;
	struct json_object *sec, *req;

	json_object_object_add(doc, "openapi", json_object_new_string("3.0.1"));
	json_object_object_add(info, "title", json_object_get(json_object_object_get(def, "name")));
	json_object_object_add(info, "version", json_object_get(json_object_object_get(def, "version")));
	json_object_object_add(info, "description", json_object_get(json_object_object_get(def, "description")));
	json_object_object_add(doc, "info", info);
	for (size_t i = 0; ops && i < json_object_array_length(ops); i++) {
		struct json_object *op = json_object_array_get_idx(ops, i), *item, *o, *resp, *ok;
		const char *target = json_object_get_string(json_object_object_get(op, "target"));
		char verb[16];

		snprintf(verb, sizeof(verb), "%s", json_object_get_string(json_object_object_get(op, "verb")));
		for (char *q = verb; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		if (!json_object_object_get_ex(paths, target, &item)) {
			item = json_object_new_object();
			json_object_object_add(paths, target, item);
		}
		o = json_object_new_object();
		if (strchr(target, '{') != NULL)
			json_object_object_add(o, "parameters", path_params(target));
		resp = json_object_new_object();
		ok = json_object_new_object();
		json_object_object_add(ok, "description", json_object_new_string("OK"));
		json_object_object_add(resp, "200", ok);
		json_object_object_add(o, "responses", resp);
		sec = json_object_new_array();
		req = json_object_new_object();
		json_object_object_add(req, "default", json_object_get(json_object_object_get(op, "scopes")));
		json_object_array_add(sec, req);
		json_object_object_add(o, "security", sec);
		json_object_object_add(o, "x-auth-type", json_object_get(json_object_object_get(op, "authType")));
		json_object_object_add(o, "x-throttling-tier", json_object_get(json_object_object_get(op, "throttlingPolicy")));
		json_object_object_add(item, verb, o);
	}
	json_object_object_add(doc, "paths", paths);
	for (size_t i = 0; sl && i < json_object_array_length(sl); i++) {
		struct json_object *s = json_object_array_get_idx(sl, i), *b = json_object_object_get(s, "bindings");
		const char *name = json_object_get_string(json_object_object_get(s, "name"));
		char roles[2048];
		size_t n = 0;

		roles[0] = '\0';
		for (size_t k = 0; b && k < json_object_array_length(b) && n < sizeof(roles); k++)
			n += (size_t)snprintf(roles + n, sizeof(roles) - n, "%s%s", k ? "," : "",
			    json_object_get_string(json_object_array_get_idx(b, k)));
		json_object_object_add(scopes, name, json_object_get(json_object_object_get(s, "description")));
		json_object_object_add(binds, name, json_object_new_string(roles));
	}
	flow = json_object_new_object();
	json_object_object_add(flow, "authorizationUrl", json_object_new_string("https://test.com"));
	json_object_object_add(flow, "scopes", scopes);
	json_object_object_add(flow, "x-scopes-bindings", binds);
	flows = json_object_new_object();
	json_object_object_add(flows, "implicit", flow);
	scheme = json_object_new_object();
	json_object_object_add(scheme, "type", json_object_new_string("oauth2"));
	json_object_object_add(scheme, "flows", flows);
	schemes = json_object_new_object();
	json_object_object_add(schemes, "default", scheme);
	comp = json_object_new_object();
	json_object_object_add(comp, "securitySchemes", schemes);
	json_object_object_add(doc, "components", comp);
	return doc;
}

void
pub_openapi_get(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p;
	struct pub_api_row row;
	struct json_object *def, *doc;

	if (pub_auth(c, db, "apim:api_view", NULL, &p) != 0)
		return;
	if (pub_api_load_reply(c, db, p.tenant, &row) != 0)
		goto out;
	if (row.swagger != NULL) {
		pub_reply_text(c, 200, row.swagger);
		goto out;
	}
	def = json_tokener_parse(row.definition);
	doc = def ? generate_document(def) : NULL;
	if (doc == NULL)
		gh_reply_error(c, 500, "Internal Server Error", "The stored definition cannot be read");
	else
		gh_reply_json(c, 200, doc);
	json_object_put(doc);
	json_object_put(def);
out:
	pub_api_row_clear(&row);
	gh_principal_clear(&p);
}

struct swagger_tx {
	const struct gh_call *c;
	const struct gh_principal *p;
	const char *id, *swagger;
	struct json_object *body;
	struct pub_err err;
	char *rendered;
};

static int
swagger_tx(struct gh_pg *db, void *arg)
{
	struct swagger_tx *t = arg;

	free(t->rendered);
	return pub_api_update_in_tx(db, t->c, t->p, t->id, t->body, t->swagger, "api.swagger.update", &t->err,
	    &t->rendered);
}

void
pub_openapi_put(struct gh_call *c, struct gh_pg *db)
{
	struct swagger_tx t = { .c = c, .id = gh_call_param(c, "apiId") };
	struct json_object *doc = NULL, *declared;
	struct gh_principal p;
	int rc;

	if (pub_auth(c, db, "apim:api_create", "apim:api_manage", &p) != 0)
		return;
	t.p = &p;
	if (!pub_id_ok(t.id)) {
		pub_reply_api_404(c, t.id);
		goto out;
	}
	if (request_document(c, "apiDefinition", "file", &doc, NULL, &t.err) != 0) {
		pub_reply_err(c, &t.err);
		goto out;
	}
	/* The document's operations (and its scopes when it declares any) replace the API's. */
	t.body = json_object_new_object();
	declared = declared_scopes(doc);
	if (json_object_array_length(declared) > 0)
		json_object_object_add(t.body, "scopes", json_object_get(declared));
	json_object_object_add(t.body, "operations", document_operations(doc,
	    json_object_array_length(declared) > 0 ? declared : NULL));
	json_object_put(declared);
	t.swagger = pub_json_text(doc);
	rc = gh_pg_run_tx(db, 0, swagger_tx, &t);
	if (rc != 0)
		pub_reply_tx(c, db, rc, &t.err);
	else
		pub_reply_text(c, 200, t.swagger);
out:
	json_object_put(t.body);
	json_object_put(doc);
	free(t.rendered);
	gh_principal_clear(&p);
}
