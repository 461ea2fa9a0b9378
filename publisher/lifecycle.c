/*
 * API lifecycle with WSO2's default states and actions (CREATED,
 * PROTOTYPED, PUBLISHED, BLOCKED, DEPRECATED, RETIRED).  A change locks the
 * API row, moves gh_apis.status, appends to gh_api_lifecycle, writes its
 * audit row and an api.state event for the environments where the API is
 * deployed; RETIRED also undeploys it from every environment, and
 * publishing a default version takes the default from the other versions.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "publisher/pub.h"
#include "publisher/pub_api.h"
#include "publisher/runtime.h"

struct transition {
	const char *from, *action, *to;
};

static const struct transition transitions[] = {
	{ "CREATED", "Publish", "PUBLISHED" },
	{ "CREATED", "Deploy as a Prototype", "PROTOTYPED" },
	{ "PROTOTYPED", "Publish", "PUBLISHED" },
	{ "PROTOTYPED", "Demote to Created", "CREATED" },
	{ "PUBLISHED", "Block", "BLOCKED" },
	{ "PUBLISHED", "Deprecate", "DEPRECATED" },
	{ "PUBLISHED", "Demote to Created", "CREATED" },
	{ "PUBLISHED", "Deploy as a Prototype", "PROTOTYPED" },
	{ "BLOCKED", "Re-Publish", "PUBLISHED" },
	{ "BLOCKED", "Deprecate", "DEPRECATED" },
	{ "DEPRECATED", "Retire", "RETIRED" },
	{ NULL, NULL, NULL },
};

const char *
pub_state_display(const char *state)
{
	static const char *const map[][2] = { { "CREATED", "Created" }, { "PROTOTYPED", "Prototyped" },
		{ "PUBLISHED", "Published" }, { "BLOCKED", "Blocked" }, { "DEPRECATED", "Deprecated" },
		{ "RETIRED", "Retired" } };

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], state) == 0)
			return map[i][1];
	return state;
}

/* {"state","checkItems":[],"availableTransitions":[{event,targetState}]} of state. */
static struct json_object *
state_json(const char *state)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	for (size_t i = 0; transitions[i].from != NULL; i++) {
		struct json_object *t;
		if (strcmp(transitions[i].from, state) != 0)
			continue;
		t = json_object_new_object();
		json_object_object_add(t, "event", json_object_new_string(transitions[i].action));
		json_object_object_add(t, "targetState", json_object_new_string(pub_state_display(transitions[i].to)));
		json_object_array_add(a, t);
	}
	json_object_object_add(o, "state", json_object_new_string(pub_state_display(state)));
	json_object_object_add(o, "checkItems", json_object_new_array());
	json_object_object_add(o, "availableTransitions", a);
	return o;
}

/* "Block, Deprecate, ..." of state into buf ("none" when final). */
static void
allowed_actions(const char *state, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; transitions[i].from != NULL; i++)
		if (strcmp(transitions[i].from, state) == 0 && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", transitions[i].action);
	if (n == 0)
		snprintf(buf, len, "none");
}

struct lc_tx {
	const struct gh_call *c;
	const struct gh_principal *p;
	const char *id, *action;
	struct pub_err err;
	char to[16];
};

/*
 * row, published as the default version, takes the flag from the other
 * versions of its API; each one that loses it gets an api.state event so
 * that gateways route the version-less path to row from now on.  0 or -1.
 */
static int
default_moves(struct gh_pg *db, const struct pub_api_row *row)
{
	const char *q[3] = { row->id, row->tenant, row->name };
	PGresult *res = gh_pg_exec(db, "UPDATE gh_apis SET is_default_version = false, updated_at = now() "
	    "WHERE tenant = $2 AND name = $3 AND id <> $1 AND is_default_version RETURNING id, status", 3, q);
	int rc = 0;

	if (res == NULL)
		return -1;
	for (int i = 0; i < gh_pg_nrows(res) && rc == 0; i++) {
		struct json_object *pl = json_object_new_object();

		json_object_object_add(pl, "apiId", json_object_new_string(gh_pg_get(res, i, 0)));
		json_object_object_add(pl, "tenant", json_object_new_string(row->tenant));
		json_object_object_add(pl, "lifeCycleStatus", json_object_new_string(gh_pg_get(res, i, 1)));
		json_object_object_add(pl, "isDefaultVersion", json_object_new_boolean(0));
		rc = pub_rt_event_api(db, row->tenant, gh_pg_get(res, i, 0), "api.state", pub_json_text(pl));
		json_object_put(pl);
	}
	PQclear(res);
	return rc;
}

static int
change_tx(struct gh_pg *db, void *arg)
{
	struct lc_tx *t = arg;
	struct pub_api_row row;
	const struct transition *tr = NULL;
	struct json_object *pl, *det;
	const char *p[5];
	char allowed[200];
	int rc;

	rc = pub_api_load(db, t->p->tenant, t->id, 1, &row);
	if (rc != 0)
		return rc < 0 ? -1 : pub_fail(&t->err, 404, "Requested API with id '%s' not found", t->id);
	for (size_t i = 0; transitions[i].from != NULL && tr == NULL; i++)
		if (strcmp(transitions[i].from, row.status) == 0 && strcasecmp(transitions[i].action, t->action) == 0)
			tr = &transitions[i];
	if (tr == NULL) {
		allowed_actions(row.status, allowed, sizeof(allowed));
		rc = pub_fail(&t->err, 409, "The action '%.60s' is not allowed for an API in the %s state "
		    "(allowed actions: %s)", t->action, pub_state_display(row.status), allowed);
		goto out;
	}
	snprintf(t->to, sizeof(t->to), "%s", tr->to);
	p[0] = row.id;
	p[1] = tr->from;
	p[2] = tr->to;
	p[3] = tr->action;
	p[4] = pub_provider(t->p);
	rc = -1;
	if (gh_pg_cmd(db, "UPDATE gh_apis SET status = $3, updated_at = now() WHERE id = $1 AND status = $2",
	    3, p, NULL) != 0 ||
	    gh_pg_cmd(db, "INSERT INTO gh_api_lifecycle (api_id, previous_state, post_state, action, actor) "
	    "VALUES ($1, $2, $3, $4, $5)", 5, p, NULL) != 0)
		goto out;
	if (strcmp(tr->to, "PUBLISHED") == 0 && row.is_default && default_moves(db, &row) != 0)
		goto out;
	det = json_object_new_object();
	json_object_object_add(det, "action", json_object_new_string(tr->action));
	json_object_object_add(det, "from", json_object_new_string(tr->from));
	json_object_object_add(det, "to", json_object_new_string(tr->to));
	gh_call_audit(db, t->c, "publisher", pub_provider(t->p), t->p->tenant, "api.lifecycle", row.id, NULL, det);
	json_object_put(det);
	pl = json_object_new_object();
	json_object_object_add(pl, "apiId", json_object_new_string(row.id));
	json_object_object_add(pl, "tenant", json_object_new_string(row.tenant));
	json_object_object_add(pl, "lifeCycleStatus", json_object_new_string(tr->to));
	json_object_object_add(pl, "isDefaultVersion", json_object_new_boolean(row.is_default));
	rc = pub_rt_event_api(db, row.tenant, row.id, "api.state", pub_json_text(pl));
	json_object_put(pl);
	if (rc == 0 && strcmp(tr->to, "RETIRED") == 0)
		rc = pub_undeploy_all(db, row.tenant, row.id);
out:
	pub_api_row_clear(&row);
	return rc;
}

void
pub_lifecycle_change(struct gh_call *c, struct gh_pg *db)
{
	struct lc_tx t = { .c = c };
	struct gh_principal p;
	struct json_object *o;
	char *action = NULL, *id = NULL;
	int rc;

	if (pub_auth(c, db, "apim:api_publish", NULL, &p) != 0)
		return;
	t.p = &p;
	action = gh_call_query(c, "action");
	id = gh_call_query(c, "apiId");
	if (action == NULL || action[0] == '\0' || id == NULL || id[0] == '\0') {
		gh_reply_error(c, 400, "Bad Request", "The query parameters 'action' and 'apiId' are required");
		goto out;
	}
	if (!pub_id_ok(id)) {
		pub_reply_api_404(c, id);
		goto out;
	}
	t.id = id;
	t.action = action;
	rc = gh_pg_run_tx(db, 0, change_tx, &t);
	if (rc != 0) {
		pub_reply_tx(c, db, rc, &t.err);
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "workflowStatus", json_object_new_string("APPROVED"));
	json_object_object_add(o, "lifecycleState", state_json(t.to));
	gh_reply_json(c, 200, o);
	json_object_put(o);
out:
	free(action);
	free(id);
	gh_principal_clear(&p);
}

void
pub_lifecycle_state(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p;
	struct pub_api_row row;
	struct json_object *o;

	if (pub_auth(c, db, "apim:api_view", NULL, &p) != 0)
		return;
	if (pub_api_load_reply(c, db, p.tenant, &row) == 0) {
		o = state_json(row.status);
		gh_reply_json(c, 200, o);
		json_object_put(o);
	}
	pub_api_row_clear(&row);
	gh_principal_clear(&p);
}

void
pub_lifecycle_history(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p;
	struct pub_api_row row;
	const char *prm[1];
	PGresult *res;

	if (pub_auth(c, db, "apim:api_view", NULL, &p) != 0)
		return;
	if (pub_api_load_reply(c, db, p.tenant, &row) != 0)
		goto out;
	prm[0] = row.id;
	res = gh_pg_exec(db, "SELECT jsonb_build_object('count', count(*), 'list', coalesce(jsonb_agg("
	    "jsonb_build_object('previousState', previous_state, 'postState', post_state, 'action', action, "
	    "'user', actor, 'updatedTime', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) "
	    "ORDER BY id), '[]'))::text FROM gh_api_lifecycle WHERE api_id = $1", 1, prm);
	if (res == NULL || gh_pg_nrows(res) != 1)
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
	else
		pub_reply_text(c, 200, gh_pg_get(res, 0, 0));
	PQclear(res);
out:
	pub_api_row_clear(&row);
	gh_principal_clear(&p);
}
