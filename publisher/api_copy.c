/*
 * POST /apis/copy-api?newVersion=&apiId=[&defaultVersion=true]: a new
 * version of an API, as WSO2 makes it: same name, context, provider,
 * operations, scopes and OpenAPI document (its info.version updated), in
 * the CREATED state with no revisions or deployments.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publisher/pub.h"
#include "publisher/pub_api.h"

struct copy_tx {
	const struct gh_call *c;
	const struct gh_principal *p;
	const char *src, *version;
	int is_default;
	struct pub_err err;
	char id[37];
	char *rendered;
};

/* The source's document with info.version set to version (malloc'd), NULL when none. */
static char *
copy_swagger(const char *swagger, const char *version)
{
	struct json_object *doc, *info = NULL;
	char *out;

	if (swagger == NULL)
		return NULL;
	doc = json_tokener_parse(swagger);
	if (doc == NULL)
		return strdup(swagger);
	if (json_object_object_get_ex(doc, "info", &info) && json_object_is_type(info, json_type_object))
		json_object_object_add(info, "version", json_object_new_string(version));
	out = strdup(pub_json_text(doc));
	json_object_put(doc);
	return out;
}

static int
copy_tx(struct gh_pg *db, void *arg)
{
	struct copy_tx *t = arg;
	struct pub_api_row row;
	struct json_object *def = NULL, *det;
	char *swagger = NULL;
	const char *p[9];
	int rc;

	free(t->rendered);
	t->rendered = NULL;
	rc = pub_api_load(db, t->p->tenant, t->src, 0, &row);
	if (rc != 0)
		return rc < 0 ? -1 : pub_fail(&t->err, 404, "Requested API with id '%s' not found", t->src);
	def = json_tokener_parse(row.definition);
	if (def == NULL) {
		rc = pub_fail(&t->err, 500, "The stored definition cannot be read");
		goto out;
	}
	json_object_object_add(def, "version", json_object_new_string(t->version));
	if ((rc = pub_api_check_conflicts(db, t->p->tenant, NULL, def, &t->err)) != 0)
		goto out;
	swagger = copy_swagger(row.swagger, t->version);
	pub_uuid(t->id);
	p[0] = t->id;
	p[1] = row.tenant;
	p[2] = row.name;
	p[3] = row.context;
	p[4] = t->version;
	p[5] = row.provider;
	p[6] = t->is_default ? "t" : "f";
	p[7] = pub_json_text(def);
	p[8] = swagger;
	rc = -1;
	if (gh_pg_cmd(db, "INSERT INTO gh_apis (id, tenant, name, context, version, provider, is_default_version, "
	    "definition, swagger) VALUES ($1, $2, $3, $4, $5, $6, $7::boolean, $8::jsonb, $9)", 9, p, NULL) != 0 ||
	    pub_api_store_scopes(db, row.tenant, t->id, def) != 0)
		goto out;
	det = json_object_new_object();
	json_object_object_add(det, "from", json_object_new_string(row.id));
	json_object_object_add(det, "name", json_object_new_string(row.name));
	json_object_object_add(det, "version", json_object_new_string(t->version));
	gh_call_audit(db, t->c, "publisher", pub_provider(t->p), t->p->tenant, "api.copy", t->id, NULL, det);
	json_object_put(det);
	if ((t->rendered = pub_api_render(db, t->id)) != NULL)
		rc = 0;
out:
	free(swagger);
	json_object_put(def);
	pub_api_row_clear(&row);
	return rc;
}

void
pub_api_copy(struct gh_call *c, struct gh_pg *db)
{
	struct copy_tx t = { .c = c };
	struct gh_principal p;
	char *src = NULL, *version = NULL, *def = NULL, loc[200];
	int rc;

	if (pub_auth(c, db, "apim:api_create", "apim:api_manage", &p) != 0)
		return;
	t.p = &p;
	src = gh_call_query(c, "apiId");
	version = gh_call_query(c, "newVersion");
	def = gh_call_query(c, "defaultVersion");
	if (src == NULL || src[0] == '\0' || version == NULL) {
		gh_reply_error(c, 400, "Bad Request", "The query parameters 'apiId' and 'newVersion' are required");
		goto out;
	}
	if (pub_version_check(version, &t.err) != 0) {
		pub_reply_err(c, &t.err);
		goto out;
	}
	if (def != NULL && strcmp(def, "true") != 0 && strcmp(def, "false") != 0) {
		gh_reply_error(c, 400, "Bad Request", "'defaultVersion' must be true or false");
		goto out;
	}
	if (!pub_id_ok(src)) {
		pub_reply_api_404(c, src);
		goto out;
	}
	t.src = src;
	t.version = version;
	t.is_default = def != NULL && strcmp(def, "true") == 0;
	rc = gh_pg_run_tx(db, 0, copy_tx, &t);
	if (rc != 0) {
		pub_reply_tx(c, db, rc, &t.err);
		goto out;
	}
	snprintf(loc, sizeof(loc), PUB_V4 "/apis/%s", t.id);
	pub_reply_text(c, 201, t.rendered);
	gh_reply_header(c, "Location", loc);
out:
	free(t.rendered);
	free(src);
	free(version);
	free(def);
	gh_principal_clear(&p);
}
