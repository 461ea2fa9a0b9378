/*
 * The publisher REST API's route table (/api/am/publisher/v4) and the API
 * resource itself: create, read, update, delete.  The definition is
 * normalized by api_validate.c and stored in gh_apis.definition; its
 * scopes also go to gh_api_scopes, where the key manager reads them.  An
 * update changes what the publisher shows, never what gateways run: they
 * run deployed revisions (revisions.c), as in WSO2.  A delete is refused
 * while subscriptions exist and undeploys the API everywhere.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_json.h"
#include "publisher/pub.h"
#include "publisher/pub_api.h"
#include "publisher/runtime.h"

struct api_tx {
	/* inputs */
	const struct gh_call *c;
	const struct gh_principal *p;
	const char *id, *action;
	struct json_object *body;       /* create, update */
	const char *swagger;            /* create: the imported document or NULL */
	/* outputs */
	struct pub_err err;
	char *rendered;
};

/* The audit details of an API change. */
static struct json_object *
audit_details(const char *name, const char *version)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "name", json_object_new_string(name));
	json_object_object_add(d, "version", json_object_new_string(version));
	return d;
}

static int
create_tx(struct gh_pg *db, void *arg)
{
	struct api_tx *t = arg;
	struct json_object *def = NULL, *det;
	char id[37];
	const char *p[9];
	int is_default = 0, rc;

	free(t->rendered);
	t->rendered = NULL;
	def = pub_api_normalize(t->body, NULL, t->p->tenant, &is_default, &t->err);
	if (def == NULL)
		return t->err.status;
	json_object_object_add(def, "provider", json_object_new_string(pub_provider(t->p)));
	if ((rc = pub_api_check_policies(db, t->p->tenant, def, &t->err)) != 0 ||
	    (rc = pub_api_check_conflicts(db, t->p->tenant, NULL, def, &t->err)) != 0)
		goto out;
	pub_uuid(id);
	p[0] = id;
	p[1] = t->p->tenant;
	p[2] = json_object_get_string(json_object_object_get(def, "name"));
	p[3] = json_object_get_string(json_object_object_get(def, "context"));
	p[4] = json_object_get_string(json_object_object_get(def, "version"));
	p[5] = pub_provider(t->p);
	p[6] = is_default ? "t" : "f";
	p[7] = pub_json_text(def);
	p[8] = t->swagger;
	rc = -1;
	if (gh_pg_cmd(db, "INSERT INTO gh_apis (id, tenant, name, context, version, provider, is_default_version, "
	    "definition, swagger) VALUES ($1, $2, $3, $4, $5, $6, $7::boolean, $8::jsonb, $9)", 9, p, NULL) != 0 ||
	    pub_api_store_scopes(db, t->p->tenant, id, def) != 0)
		goto out;
	det = audit_details(p[2], p[4]);
	gh_call_audit(db, t->c, "publisher", pub_provider(t->p), t->p->tenant, t->action, id, NULL, det);
	json_object_put(det);
	if ((t->rendered = pub_api_render(db, id)) == NULL)
		goto out;
	rc = 0;
out:
	json_object_put(def);
	return rc;
}

void
pub_api_create(struct gh_call *c, struct gh_pg *db, const struct gh_principal *p, struct json_object *body,
    const char *swagger, const char *action)
{
	struct api_tx t = { .c = c, .p = p, .body = body, .swagger = swagger, .action = action };
	struct json_object *o;
	char loc[200];
	int rc;

	rc = gh_pg_run_tx(db, 0, create_tx, &t);
	if (rc != 0) {
		pub_reply_tx(c, db, rc, &t.err);
		goto out;
	}
	o = json_tokener_parse(t.rendered);
	snprintf(loc, sizeof(loc), PUB_V4 "/apis/%s",
	    o ? json_object_get_string(json_object_object_get(o, "id")) : "");
	json_object_put(o);
	pub_reply_text(c, 201, t.rendered);
	gh_reply_header(c, "Location", loc);
out:
	free(t.rendered);
}

static void
api_create(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p;
	struct pub_err e = { 0 };
	struct json_object *body;

	if (pub_auth(c, db, "apim:api_create", "apim:api_manage", &p) != 0)
		return;
	body = pub_body_json(c, json_type_object, &e);
	if (body == NULL)
		pub_reply_err(c, &e);
	else
		pub_api_create(c, db, &p, body, NULL, "api.create");
	json_object_put(body);
	gh_principal_clear(&p);
}

static void
api_get(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p;
	const char *id = gh_call_param(c, "apiId"), *prm[2] = { id, NULL };
	PGresult *res;

	if (pub_auth(c, db, "apim:api_view", NULL, &p) != 0)
		return;
	prm[1] = p.tenant;
	if (!pub_id_ok(id)) {
		pub_reply_api_404(c, id);
		goto out;
	}
	res = gh_pg_exec(db, "SELECT 1 FROM gh_apis WHERE id = $1 AND tenant = $2", 2, prm);
	if (res == NULL) {
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
	} else if (gh_pg_nrows(res) != 1) {
		pub_reply_api_404(c, id);
	} else {
		char *json = pub_api_render(db, id);
		if (json == NULL)
			pub_reply_api_404(c, id);
		else
			pub_reply_text(c, 200, json);
		free(json);
	}
	PQclear(res);
out:
	gh_principal_clear(&p);
}

/* Member key of body, when present, must equal have (compared after normalization by the caller). */
static int
unchanged(struct json_object *body, const char *key, const char *have, struct pub_err *e)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(body, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return pub_fail(e, 400, "'%s' must be a string", key);
	if (strcmp(json_object_get_string(v), have) != 0)
		return pub_fail(e, 400, "The %s of an API cannot be changed (create a new version with copy-api)", key);
	return 0;
}

int
pub_api_update_in_tx(struct gh_pg *db, const struct gh_call *c, const struct gh_principal *pr, const char *id,
    struct json_object *body, const char *swagger, const char *action, struct pub_err *e, char **rendered)
{
	struct pub_api_row row;
	struct json_object *base = NULL, *def = NULL, *det, *ctxv = NULL;
	const char *p[4];
	char ctx[300];
	int is_default = 0, rc;

	*rendered = NULL;
	rc = pub_api_load(db, pr->tenant, id, 1, &row);
	if (rc != 0)
		return rc < 0 ? -1 : pub_fail(e, 404, "Requested API with id '%s' not found", id);
	rc = unchanged(body, "name", row.name, e);
	if (rc == 0)
		rc = unchanged(body, "version", row.version, e);
	if (rc == 0 && json_object_object_get_ex(body, "context", &ctxv) && ctxv != NULL) {
		if (!json_object_is_type(ctxv, json_type_string))
			rc = pub_fail(e, 400, "'context' must be a string");
		else if (pub_context_normalize(json_object_get_string(ctxv), pr->tenant, ctx, sizeof(ctx), e) != 0 ||
		    strcmp(ctx, row.context) != 0)
			rc = pub_fail(e, 400, "The context of an API cannot be changed "
			    "(create a new version with copy-api)");
	}
	if (rc != 0)
		goto out;
	base = json_tokener_parse(row.definition);
	if (base == NULL) {
		rc = pub_fail(e, 500, "The stored definition cannot be read");
		goto out;
	}
	json_object_object_add(base, "isDefaultVersion", json_object_new_boolean(row.is_default));
	def = pub_api_normalize(body, base, pr->tenant, &is_default, e);
	if (def == NULL) {
		rc = e->status;
		goto out;
	}
	json_object_object_add(def, "provider", json_object_new_string(row.provider));
	if ((rc = pub_api_check_policies(db, pr->tenant, def, e)) != 0 ||
	    (rc = pub_api_check_conflicts(db, pr->tenant, row.id, def, e)) != 0)
		goto out;
	p[0] = row.id;
	p[1] = pub_json_text(def);
	p[2] = is_default ? "t" : "f";
	p[3] = swagger;
	rc = -1;
	if (gh_pg_cmd(db, "UPDATE gh_apis SET definition = $2::jsonb, is_default_version = $3::boolean, "
	    "swagger = coalesce($4, swagger), updated_at = now() WHERE id = $1", 4, p, NULL) != 0 ||
	    pub_api_store_scopes(db, row.tenant, row.id, def) != 0)
		goto out;
	det = audit_details(row.name, row.version);
	gh_call_audit(db, c, "publisher", pub_provider(pr), pr->tenant, action, row.id, NULL, det);
	json_object_put(det);
	if ((*rendered = pub_api_render(db, row.id)) == NULL)
		goto out;
	rc = 0;
out:
	json_object_put(base);
	json_object_put(def);
	pub_api_row_clear(&row);
	return rc;
}

static int
update_tx(struct gh_pg *db, void *arg)
{
	struct api_tx *t = arg;

	free(t->rendered);
	return pub_api_update_in_tx(db, t->c, t->p, t->id, t->body, NULL, "api.update", &t->err, &t->rendered);
}

static void
api_update(struct gh_call *c, struct gh_pg *db)
{
	struct api_tx t = { .c = c, .id = gh_call_param(c, "apiId") };
	struct gh_principal p;
	int rc;

	if (pub_auth(c, db, "apim:api_create", "apim:api_manage", &p) != 0)
		return;
	t.p = &p;
	if (!pub_id_ok(t.id)) {
		pub_reply_api_404(c, t.id);
		goto out;
	}
	t.body = pub_body_json(c, json_type_object, &t.err);
	if (t.body == NULL) {
		pub_reply_err(c, &t.err);
		goto out;
	}
	rc = gh_pg_run_tx(db, 0, update_tx, &t);
	if (rc != 0)
		pub_reply_tx(c, db, rc, &t.err);
	else
		pub_reply_text(c, 200, t.rendered);
out:
	json_object_put(t.body);
	free(t.rendered);
	gh_principal_clear(&p);
}

int
pub_undeploy_all(struct gh_pg *db, const char *tenant, const char *api_id)
{
	const char *p[1] = { api_id };
	PGresult *res;
	int rc = 0;

	res = gh_pg_exec(db, "DELETE FROM gh_deployments WHERE api_id = $1 RETURNING environment", 1, p);
	if (res == NULL)
		return -1;
	for (int i = 0; i < gh_pg_nrows(res) && rc == 0; i++)
		rc = pub_rt_event_undeployed(db, tenant, api_id, gh_pg_get(res, i, 0));
	PQclear(res);
	return rc;
}

static int
delete_tx(struct gh_pg *db, void *arg)
{
	struct api_tx *t = arg;
	struct pub_api_row row;
	struct json_object *det;
	const char *p[2];
	int64_t subs = 0;
	int rc;

	rc = pub_api_load(db, t->p->tenant, t->id, 1, &row);
	if (rc != 0)
		return rc < 0 ? -1 : pub_fail(&t->err, 404, "Requested API with id '%s' not found", t->id);
	p[0] = row.id;
	p[1] = row.tenant;
	rc = -1;
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_subscriptions WHERE api_id = $1", 1, p, &subs) != 0)
		goto out;
	if (subs > 0) {
		rc = pub_fail(&t->err, 409, "Cannot remove the API %s %s as active subscriptions exist (%lld)",
		    row.name, row.version, (long long)subs);
		goto out;
	}
	/* Undeploy first (events name each environment), then remove everything the API owns. */
	if (pub_undeploy_all(db, row.tenant, row.id) != 0 ||
	    gh_pg_cmd(db, "DELETE FROM gh_api_scopes WHERE api_id = $1 AND tenant = $2", 2, p, NULL) != 0 ||
	    gh_pg_cmd(db, "DELETE FROM gh_apis WHERE id = $1", 1, p, NULL) != 0)
		goto out;
	det = audit_details(row.name, row.version);
	gh_call_audit(db, t->c, "publisher", pub_provider(t->p), t->p->tenant, "api.delete", row.id, NULL, det);
	json_object_put(det);
	rc = 0;
out:
	pub_api_row_clear(&row);
	return rc;
}

static void
api_delete(struct gh_call *c, struct gh_pg *db)
{
	struct api_tx t = { .c = c, .id = gh_call_param(c, "apiId") };
	struct gh_principal p;
	int rc;

	if (pub_auth(c, db, "apim:api_delete", "apim:api_create", &p) != 0)
		return;
	t.p = &p;
	if (!pub_id_ok(t.id)) {
		pub_reply_api_404(c, t.id);
		goto out;
	}
	rc = gh_pg_run_tx(db, 0, delete_tx, &t);
	if (rc != 0)
		pub_reply_tx(c, db, rc, &t.err);
	else
		gh_reply_raw(c, 200, NULL, NULL, 0);
out:
	gh_principal_clear(&p);
}

void
pub_api_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PUB_V4 "/apis", pub_api_search);
	gh_call_route(r, "POST", PUB_V4 "/apis", api_create);
	gh_call_route(r, "POST", PUB_V4 "/apis/import-openapi", pub_openapi_import);
	gh_call_route(r, "POST", PUB_V4 "/apis/copy-api", pub_api_copy);
	gh_call_route(r, "POST", PUB_V4 "/apis/change-lifecycle", pub_lifecycle_change);
	gh_call_route(r, "GET", PUB_V4 "/apis/{apiId}", api_get);
	gh_call_route(r, "PUT", PUB_V4 "/apis/{apiId}", api_update);
	gh_call_route(r, "DELETE", PUB_V4 "/apis/{apiId}", api_delete);
	gh_call_route(r, "GET", PUB_V4 "/apis/{apiId}/swagger", pub_openapi_get);
	gh_call_route(r, "PUT", PUB_V4 "/apis/{apiId}/swagger", pub_openapi_put);
	gh_call_route(r, "GET", PUB_V4 "/apis/{apiId}/lifecycle-history", pub_lifecycle_history);
	gh_call_route(r, "GET", PUB_V4 "/apis/{apiId}/lifecycle-state", pub_lifecycle_state);
	gh_call_route(r, "GET", PUB_V4 "/apis/{apiId}/revisions", pub_revision_list);
	gh_call_route(r, "POST", PUB_V4 "/apis/{apiId}/revisions", pub_revision_create);
	gh_call_route(r, "GET", PUB_V4 "/apis/{apiId}/revisions/{revisionId}", pub_revision_get);
	gh_call_route(r, "DELETE", PUB_V4 "/apis/{apiId}/revisions/{revisionId}", pub_revision_delete);
	gh_call_route(r, "POST", PUB_V4 "/apis/{apiId}/deploy-revision", pub_revision_deploy);
	gh_call_route(r, "GET", PUB_V4 "/apis/{apiId}/deploy-revision", pub_deployments_list);
	gh_call_route(r, "POST", PUB_V4 "/apis/{apiId}/undeploy-revision", pub_revision_undeploy);
	gh_call_route(r, "GET", PUB_V4 "/apis/{apiId}/deployments", pub_deployments_list);
	gh_call_route(r, "GET", PUB_V4 "/subscriptions", pub_owner_subs_list);
	gh_call_route(r, "POST", PUB_V4 "/subscriptions/block-subscription", pub_owner_subs_block);
	gh_call_route(r, "POST", PUB_V4 "/subscriptions/unblock-subscription", pub_owner_subs_unblock);
}
