/*
 * Revisions and deployments.  A revision is an immutable copy of an API's
 * definition and OpenAPI document (gh_api_revisions; at most
 * publisher.max_revisions per API, as WSO2 keeps 5).  Deploying a revision
 * to gateway environments upserts gh_deployments (one revision per API
 * and environment) and writes api.deployed for each environment;
 * undeploying deletes the rows and writes api.undeployed.  Every
 * transaction here starts by locking the API row (SELECT ... FOR UPDATE),
 * so concurrent deploys and undeploys of one API serialize and the events
 * commit in the order of the changes they describe.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publisher/pub.h"
#include "publisher/pub_api.h"
#include "publisher/runtime.h"

#define ISO(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

#define DEP_OBJECT \
	"jsonb_build_object('name', d.environment, 'revisionUuid', d.revision_id, 'revisionId', d.revision_id, " \
	"'displayName', 'Revision ' || r.number, 'vhost', d.vhost, 'displayOnDevportal', d.display_on_devportal, " \
	"'deployedTime', " ISO("d.deployed_at") ", 'successDeployedTime', " ISO("d.deployed_at") ", " \
	"'status', 'APPROVED')"

#define REV_OBJECT \
	"jsonb_build_object('id', r.id, 'displayName', 'Revision ' || r.number, 'description', r.description, " \
	"'createdTime', " ISO("r.created_at") ", 'apiInfo', jsonb_build_object('id', r.api_id), " \
	"'deploymentInfo', coalesce((SELECT jsonb_agg(jsonb_build_object('revisionUuid', d.revision_id, " \
	"'name', d.environment, 'vhost', d.vhost, 'displayOnDevportal', d.display_on_devportal, " \
	"'deployedTime', " ISO("d.deployed_at") ", 'successDeployedTime', " ISO("d.deployed_at") ") " \
	"ORDER BY d.environment) FROM gh_deployments d WHERE d.revision_id = r.id), '[]'))"

struct rev_tx {
	const struct gh_call *c;
	const struct gh_principal *p;
	const char *api_id, *rev_id, *description;
	struct json_object *targets;    /* deploy/undeploy: [{name, vhost, displayOnDevportal}] */
	int all_envs;                   /* undeploy from every environment of the revision */
	struct pub_err err;
	char *out;                      /* rendered reply */
};

/* One text value of a one-row result (malloc'd) or NULL. */
static char *
first_text(struct gh_pg *db, const char *sql, int n, const char *const *p)
{
	PGresult *res = gh_pg_exec(db, sql, n, p);
	char *out = NULL;

	if (res != NULL && gh_pg_nrows(res) == 1 && gh_pg_get(res, 0, 0) != NULL)
		out = strdup(gh_pg_get(res, 0, 0));
	PQclear(res);
	return out;
}

static int
load_api(struct gh_pg *db, struct rev_tx *t, int lock, struct pub_api_row *row)
{
	int rc = pub_api_load(db, t->p->tenant, t->api_id, lock, row);

	if (rc > 0)
		return pub_fail(&t->err, 404, "Requested API with id '%s' not found", t->api_id ? t->api_id : "");
	return rc;
}

/* The revision's number when it belongs to api_id: 0, 404 in e, or -1. */
static int
revision_of(struct gh_pg *db, struct rev_tx *t, int64_t *number)
{
	const char *p[2] = { t->rev_id, t->api_id };
	int rc;

	if (!pub_id_ok(t->rev_id))
		return pub_fail(&t->err, 404, "Requested revision not found");
	rc = gh_pg_query_int64(db, "SELECT number FROM gh_api_revisions WHERE id = $1 AND api_id = $2", 2, p, number);
	if (rc > 0)
		return pub_fail(&t->err, 404, "Requested revision '%s' of the API not found", t->rev_id);
	return rc;
}

static void
audit(struct gh_pg *db, struct rev_tx *t, const char *action, const char *target, struct json_object *det)
{
	gh_call_audit(db, t->c, "publisher", pub_provider(t->p), t->p->tenant, action, target, NULL, det);
	json_object_put(det);
}

static struct json_object *
details(const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, k1, json_object_new_string(v1 ? v1 : ""));
	if (k2 != NULL)
		json_object_object_add(d, k2, json_object_new_string(v2 ? v2 : ""));
	return d;
}

static int
create_tx(struct gh_pg *db, void *arg)
{
	struct rev_tx *t = arg;
	struct pub_api_row row;
	int64_t count = 0, number = 0;
	char id[37], num[24];
	const char *p[4];
	int rc;

	free(t->out);
	t->out = NULL;
	if ((rc = load_api(db, t, 1, &row)) != 0)
		return rc;
	p[0] = row.id;
	rc = -1;
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_api_revisions WHERE api_id = $1", 1, p, &count) != 0 ||
	    gh_pg_query_int64(db, "SELECT coalesce(max(number), 0) + 1 FROM gh_api_revisions WHERE api_id = $1",
	    1, p, &number) != 0)
		goto out;
	if (count >= pub.max_revisions) {
		rc = pub_fail(&t->err, 400, "Maximum number of revisions per API reached (%d): "
		    "delete a revision before creating a new one", pub.max_revisions);
		goto out;
	}
	pub_uuid(id);
	p[0] = id;
	p[1] = row.id;
	p[2] = gh_pg_i64(num, number);
	p[3] = t->description ? t->description : "";
	if (gh_pg_cmd(db, "INSERT INTO gh_api_revisions (id, api_id, number, description, definition, swagger) "
	    "SELECT $1, a.id, $3::integer, $4, a.definition, a.swagger FROM gh_apis a WHERE a.id = $2",
	    4, p, NULL) != 0)
		goto out;
	audit(db, t, "api.revision.create", row.id, details("revisionId", id, "revision", num));
	if ((t->out = first_text(db, "SELECT " REV_OBJECT "::text FROM gh_api_revisions r WHERE r.id = $1",
	    1, p)) == NULL)
		goto out;
	rc = 0;
out:
	pub_api_row_clear(&row);
	return rc;
}

/* The body of POST /revisions: {"description"} (may be empty).  0 or replied. */
static int
revision_body(struct gh_call *c, struct rev_tx *t, struct json_object **body)
{
	struct json_object *v = NULL;

	*body = NULL;
	if (c->body == NULL || c->body_len == 0)
		return 0;
	*body = pub_body_json(c, json_type_object, &t->err);
	if (*body == NULL)
		goto bad;
	if (json_object_object_get_ex(*body, "description", &v) && v != NULL) {
		const char *s = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string)) {
			pub_fail(&t->err, 400, "'description' must be a string");
			goto bad;
		}
		if (json_object_get_string_len(v) > 255 || strlen(s) != (size_t)json_object_get_string_len(v)) {
			pub_fail(&t->err, 400, "'description' is longer than 255 characters");
			goto bad;
		}
		for (const char *q = s; *q; q++)
			if ((unsigned char)*q < 0x20 && *q != '\n' && *q != '\t' && *q != '\r') {
				pub_fail(&t->err, 400, "'description' holds control characters");
				goto bad;
			}
		t->description = s;
	}
	return 0;
bad:
	pub_reply_err(c, &t->err);
	return -1;
}

void
pub_revision_create(struct gh_call *c, struct gh_pg *db)
{
	struct rev_tx t = { .c = c, .api_id = gh_call_param(c, "apiId") };
	struct json_object *body = NULL;
	struct gh_principal p;
	int rc;

	if (pub_auth(c, db, "apim:api_create", "apim:api_manage", &p) != 0)
		return;
	t.p = &p;
	if (revision_body(c, &t, &body) != 0)
		goto out;
	rc = gh_pg_run_tx(db, 0, create_tx, &t);
	if (rc != 0)
		pub_reply_tx(c, db, rc, &t.err);
	else
		pub_reply_text(c, 201, t.out);
out:
	json_object_put(body);
	free(t.out);
	gh_principal_clear(&p);
}

void
pub_revision_list(struct gh_call *c, struct gh_pg *db)
{
	struct rev_tx t = { .c = c, .api_id = gh_call_param(c, "apiId") };
	struct pub_api_row row;
	struct gh_principal p;
	char *query = NULL, *out = NULL;
	const char *prm[2], *deployed = NULL;
	int rc;

	if (pub_auth(c, db, "apim:api_view", NULL, &p) != 0)
		return;
	t.p = &p;
	query = gh_call_query(c, "query");
	if (query != NULL && query[0] != '\0') {
		if (strcmp(query, "deployed:true") == 0)
			deployed = "t";
		else if (strcmp(query, "deployed:false") == 0)
			deployed = "f";
		else {
			gh_reply_error(c, 400, "Bad Request", "'query' must be deployed:true or deployed:false");
			goto out;
		}
	}
	rc = load_api(db, &t, 0, &row);
	if (rc != 0) {
		pub_reply_tx(c, db, rc, &t.err);
		goto out;
	}
	prm[0] = row.id;
	prm[1] = deployed;
	out = first_text(db, "SELECT jsonb_build_object('count', count(*), 'list', coalesce(jsonb_agg(" REV_OBJECT
	    " ORDER BY r.number), '[]'))::text FROM gh_api_revisions r WHERE r.api_id = $1 AND ($2::boolean IS NULL "
	    "OR $2::boolean = EXISTS (SELECT 1 FROM gh_deployments d WHERE d.revision_id = r.id))", 2, prm);
	if (out == NULL)
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
	else
		pub_reply_text(c, 200, out);
	pub_api_row_clear(&row);
out:
	free(out);
	free(query);
	gh_principal_clear(&p);
}

void
pub_revision_get(struct gh_call *c, struct gh_pg *db)
{
	struct rev_tx t = { .c = c, .api_id = gh_call_param(c, "apiId"), .rev_id = gh_call_param(c, "revisionId") };
	struct pub_api_row row;
	struct gh_principal p;
	const char *prm[2];
	char *out = NULL;
	int64_t number;
	int rc;

	if (pub_auth(c, db, "apim:api_view", NULL, &p) != 0)
		return;
	t.p = &p;
	rc = load_api(db, &t, 0, &row);
	if (rc == 0)
		rc = revision_of(db, &t, &number);
	if (rc != 0) {
		pub_reply_tx(c, db, rc, &t.err);
		goto out;
	}
	prm[0] = t.rev_id;
	prm[1] = row.id;
	out = first_text(db, "SELECT " REV_OBJECT "::text FROM gh_api_revisions r WHERE r.id = $1 AND r.api_id = $2",
	    2, prm);
	if (out == NULL)
		gh_reply_error(c, 404, "Not Found", "Requested revision not found");
	else
		pub_reply_text(c, 200, out);
out:
	free(out);
	pub_api_row_clear(&row);
	gh_principal_clear(&p);
}

static int
delete_tx(struct gh_pg *db, void *arg)
{
	struct rev_tx *t = arg;
	struct pub_api_row row;
	const char *p[1] = { t->rev_id };
	int64_t number = 0, deployed = 0;
	char num[24];
	int rc;

	if ((rc = load_api(db, t, 1, &row)) != 0)
		return rc;
	if ((rc = revision_of(db, t, &number)) != 0)
		goto out;
	rc = -1;
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_deployments WHERE revision_id = $1", 1, p, &deployed) != 0)
		goto out;
	if (deployed > 0) {
		rc = pub_fail(&t->err, 409, "Revision %lld is deployed to %lld environment(s): undeploy it first",
		    (long long)number, (long long)deployed);
		goto out;
	}
	if (gh_pg_cmd(db, "DELETE FROM gh_api_revisions WHERE id = $1", 1, p, NULL) != 0)
		goto out;
	audit(db, t, "api.revision.delete", row.id, details("revisionId", t->rev_id, "revision",
	    gh_pg_i64(num, number)));
	rc = 0;
out:
	pub_api_row_clear(&row);
	return rc;
}

void
pub_revision_delete(struct gh_call *c, struct gh_pg *db)
{
	struct rev_tx t = { .c = c, .api_id = gh_call_param(c, "apiId"), .rev_id = gh_call_param(c, "revisionId") };
	struct gh_principal p;
	int rc;

	if (pub_auth(c, db, "apim:api_create", "apim:api_manage", &p) != 0)
		return;
	t.p = &p;
	rc = gh_pg_run_tx(db, 0, delete_tx, &t);
	if (rc != 0)
		pub_reply_tx(c, db, rc, &t.err);
	else
		gh_reply_raw(c, 200, NULL, NULL, 0);
	gh_principal_clear(&p);
}

/*
 * Check the deployment list of a deploy/undeploy body: objects with a
 * distinct string name, optional string vhost and boolean
 * displayOnDevportal.  0 or 400 in e.
 */
static int
check_targets(struct json_object *a, int allow_empty, struct pub_err *e)
{
	size_t n = json_object_array_length(a);

	if ((n == 0 && !allow_empty) || n > 32)
		return pub_fail(e, 400, "The body must list 1 to 32 deployments [{name, vhost, displayOnDevportal}]");
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *name = NULL, *vh = NULL, *show = NULL;

		if (o == NULL || !json_object_is_type(o, json_type_object))
			return pub_fail(e, 400, "Deployment %zu must be an object {name, vhost, displayOnDevportal}", i);
		if (!json_object_object_get_ex(o, "name", &name) || name == NULL ||
		    !json_object_is_type(name, json_type_string) || json_object_get_string_len(name) == 0 ||
		    json_object_get_string_len(name) > 64)
			return pub_fail(e, 400, "Deployment %zu needs 'name', a gateway environment", i);
		if (json_object_object_get_ex(o, "vhost", &vh) && vh != NULL &&
		    (!json_object_is_type(vh, json_type_string) || json_object_get_string_len(vh) > 255))
			return pub_fail(e, 400, "Deployment %zu: 'vhost' must be a host name", i);
		if (json_object_object_get_ex(o, "displayOnDevportal", &show) && show != NULL &&
		    !json_object_is_type(show, json_type_boolean))
			return pub_fail(e, 400, "Deployment %zu: 'displayOnDevportal' must be true or false", i);
		for (size_t k = 0; k < i; k++)
			if (strcmp(json_object_get_string(json_object_object_get(json_object_array_get_idx(a, k), "name")),
			    json_object_get_string(name)) == 0)
				return pub_fail(e, 400, "The environment '%s' is listed twice", json_object_get_string(name));
	}
	return 0;
}

static const char *
member_str(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) && v != NULL ? json_object_get_string(v) : NULL;
}

static int
deploy_tx(struct gh_pg *db, void *arg)
{
	struct rev_tx *t = arg;
	struct pub_api_row row;
	struct json_object *names = json_object_new_array();
	size_t n = json_object_array_length(t->targets);
	int64_t number = 0;
	const char *p[5];
	int rc;

	free(t->out);
	t->out = NULL;
	if ((rc = load_api(db, t, 1, &row)) != 0)
		goto done;
	if (strcmp(row.status, "RETIRED") == 0) {
		rc = pub_fail(&t->err, 409, "A retired API cannot be deployed");
		goto out;
	}
	if ((rc = revision_of(db, t, &number)) != 0)
		goto out;
	/* Every row first, then the events (the outbox lock is held from the first event to COMMIT). */
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(t->targets, i), *show = NULL;
		PGresult *res;
		const char *vhost = member_str(o, "vhost");
		char *host;

		p[0] = member_str(o, "name");
		p[1] = vhost;
		res = gh_pg_exec(db, "SELECT (SELECT v->>'host' FROM jsonb_array_elements(e.vhosts) WITH ORDINALITY "
		    "x(v, i) WHERE $2::text IS NULL OR v->>'host' = $2 ORDER BY i LIMIT 1) "
		    "FROM gh_environments e WHERE e.name = $1", 2, p);
		if (res == NULL) {
			rc = -1;
			goto out;
		}
		if (gh_pg_nrows(res) != 1) {
			PQclear(res);
			rc = pub_fail(&t->err, 400, "Unknown gateway environment '%.64s'", p[0]);
			goto out;
		}
		if (gh_pg_get(res, 0, 0) == NULL) {
			PQclear(res);
			rc = pub_fail(&t->err, 400, "The vhost '%.100s' is not one of the environment %s's vhosts",
			    vhost ? vhost : "(default)", p[0]);
			goto out;
		}
		host = strdup(gh_pg_get(res, 0, 0));
		PQclear(res);
		json_object_object_get_ex(o, "displayOnDevportal", &show);
		p[1] = row.id;
		p[2] = t->rev_id;
		p[3] = host;
		p[4] = show == NULL || json_object_get_boolean(show) ? "t" : "f";
		rc = host ? gh_pg_cmd(db, "INSERT INTO gh_deployments (environment, api_id, revision_id, vhost, "
		    "display_on_devportal) VALUES ($1, $2, $3, $4, $5::boolean) ON CONFLICT (api_id, environment) "
		    "DO UPDATE SET revision_id = EXCLUDED.revision_id, vhost = EXCLUDED.vhost, "
		    "display_on_devportal = EXCLUDED.display_on_devportal, deployed_at = now()", 5, p, NULL) : -1;
		free(host);
		if (rc != 0)
			goto out;
		json_object_array_add(names, json_object_new_string(p[0]));
	}
	audit(db, t, "api.deploy", row.id, details("revisionId", t->rev_id, "environments", pub_json_text(names)));
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pub_rt_event_deployed(db, row.tenant, row.id,
		    json_object_get_string(json_object_array_get_idx(names, i)));
	if (rc != 0)
		goto out;
	p[0] = row.id;
	p[1] = pub_json_text(names);
	if ((t->out = first_text(db, "SELECT coalesce(jsonb_agg(" DEP_OBJECT " ORDER BY d.environment), '[]')::text "
	    "FROM gh_deployments d JOIN gh_api_revisions r ON r.id = d.revision_id WHERE d.api_id = $1 "
	    "AND d.environment IN (SELECT jsonb_array_elements_text($2::jsonb))", 2, p)) == NULL)
		rc = -1;
out:
	pub_api_row_clear(&row);
done:
	json_object_put(names);
	return rc;
}

static int
undeploy_tx(struct gh_pg *db, void *arg)
{
	struct rev_tx *t = arg;
	struct pub_api_row row;
	struct json_object *names = json_object_new_array();
	int64_t number = 0;
	const char *p[3];
	PGresult *res;
	int rc;

	if ((rc = load_api(db, t, 1, &row)) != 0)
		goto done;
	if ((rc = revision_of(db, t, &number)) != 0)
		goto out;
	p[0] = row.id;
	p[1] = t->rev_id;
	if (t->all_envs) {
		res = gh_pg_exec(db, "DELETE FROM gh_deployments WHERE api_id = $1 AND revision_id = $2 "
		    "RETURNING environment", 2, p);
		if (res == NULL) {
			rc = -1;
			goto out;
		}
		for (int i = 0; i < gh_pg_nrows(res); i++)
			json_object_array_add(names, json_object_new_string(gh_pg_get(res, i, 0)));
		PQclear(res);
	}
	for (size_t i = 0; !t->all_envs && i < json_object_array_length(t->targets); i++) {
		int64_t gone = 0;

		p[2] = member_str(json_object_array_get_idx(t->targets, i), "name");
		if (gh_pg_cmd(db, "DELETE FROM gh_deployments WHERE api_id = $1 AND revision_id = $2 "
		    "AND environment = $3", 3, p, &gone) != 0) {
			rc = -1;
			goto out;
		}
		if (gone == 0) {
			rc = pub_fail(&t->err, 400, "Revision %lld is not deployed to the environment '%.64s'",
			    (long long)number, p[2]);
			goto out;
		}
		json_object_array_add(names, json_object_new_string(p[2]));
	}
	audit(db, t, "api.undeploy", row.id, details("revisionId", t->rev_id, "environments", pub_json_text(names)));
	for (size_t i = 0; i < json_object_array_length(names) && rc == 0; i++)
		rc = pub_rt_event_undeployed(db, row.tenant, row.id,
		    json_object_get_string(json_object_array_get_idx(names, i)));
out:
	pub_api_row_clear(&row);
done:
	json_object_put(names);
	return rc;
}

/* Shared prologue of deploy and undeploy: revisionId, body, scope.  0 or replied. */
static int
deploy_request(struct gh_call *c, struct gh_pg *db, struct rev_tx *t, struct gh_principal *p, int undeploy,
    char **rev)
{
	char *all = NULL;

	if (pub_auth(c, db, "apim:api_publish", "apim:api_create", p) != 0)
		return -1;
	t->p = p;
	*rev = gh_call_query(c, "revisionId");
	if (*rev == NULL || (*rev)[0] == '\0') {
		gh_reply_error(c, 400, "Bad Request", "The query parameter 'revisionId' is required");
		return -1;
	}
	t->rev_id = *rev;
	if (undeploy) {
		all = gh_call_query(c, "allEnvironments");
		t->all_envs = all != NULL && strcmp(all, "true") == 0;
		free(all);
	}
	if (t->all_envs && (c->body == NULL || c->body_len == 0)) {
		t->targets = json_object_new_array();
		return 0;
	}
	t->targets = pub_body_json(c, json_type_array, &t->err);
	if (t->targets == NULL || check_targets(t->targets, t->all_envs, &t->err) != 0) {
		pub_reply_err(c, &t->err);
		return -1;
	}
	return 0;
}

/* Deploy (201 with the deployments) or undeploy (201 with the targets) one revision. */
static void
deploy_call(struct gh_call *c, struct gh_pg *db, int undeploy)
{
	struct rev_tx t = { .c = c, .api_id = gh_call_param(c, "apiId") };
	struct gh_principal p = { 0 };
	char *rev = NULL;
	int rc;

	if (deploy_request(c, db, &t, &p, undeploy, &rev) == 0) {
		rc = gh_pg_run_tx(db, 0, undeploy ? undeploy_tx : deploy_tx, &t);
		if (rc != 0)
			pub_reply_tx(c, db, rc, &t.err);
		else if (undeploy)
			gh_reply_json(c, 201, t.targets);
		else
			pub_reply_text(c, 201, t.out);
	}
	json_object_put(t.targets);
	free(t.out);
	free(rev);
	gh_principal_clear(&p);
}

void
pub_revision_deploy(struct gh_call *c, struct gh_pg *db)
{
	deploy_call(c, db, 0);
}

void
pub_revision_undeploy(struct gh_call *c, struct gh_pg *db)
{
	deploy_call(c, db, 1);
}

void
pub_deployments_list(struct gh_call *c, struct gh_pg *db)
{
	struct rev_tx t = { .c = c, .api_id = gh_call_param(c, "apiId") };
	struct pub_api_row row;
	struct gh_principal p;
	const char *prm[1];
	char *out = NULL;
	int rc;

	if (pub_auth(c, db, "apim:api_view", NULL, &p) != 0)
		return;
	t.p = &p;
	rc = load_api(db, &t, 0, &row);
	if (rc != 0) {
		pub_reply_tx(c, db, rc, &t.err);
		goto out;
	}
	prm[0] = row.id;
	out = first_text(db, "SELECT coalesce(jsonb_agg(" DEP_OBJECT " ORDER BY d.environment), '[]')::text "
	    "FROM gh_deployments d JOIN gh_api_revisions r ON r.id = d.revision_id WHERE d.api_id = $1", 1, prm);
	if (out == NULL)
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
	else
		pub_reply_text(c, 200, out);
	pub_api_row_clear(&row);
out:
	free(out);
	gh_principal_clear(&p);
}
