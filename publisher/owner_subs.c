/*
 * Subscriptions as the API owner sees them (WSO2 publisher v4
 * /subscriptions): the subscriptions to the caller tenant's APIs, and
 * block-subscription / unblock-subscription.  The portal creates
 * subscriptions; here only their status changes: gh_subscriptions.status,
 * an audit row and a subscription.updated event (the Subscription shape
 * of publisher/FEED.md) for the environments where the API is deployed,
 * in one transaction that locks the API row first, as deployments do.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publisher/pub.h"
#include "publisher/pub_api.h"
#include "publisher/runtime.h"

#define SUB_ITEM \
	"jsonb_build_object('subscriptionId', s.id, 'applicationInfo', jsonb_build_object(" \
	"'applicationId', p.id, 'name', p.name, 'owner', p.owner, 'subscriber', s.subscriber, " \
	"'throttlingPolicy', p.tier, 'description', p.description, 'tenant', p.tenant), " \
	"'apiInfo', jsonb_build_object('id', a.id, 'name', a.name, 'version', a.version, 'context', a.context, " \
	"'provider', a.provider, 'lifeCycleStatus', a.status), " \
	"'throttlingPolicy', s.tier, 'requestedThrottlingPolicy', s.tier, 'subscriptionStatus', s.status)"

/* The Subscription of publisher/FEED.md (as publisher/runtime.c renders it). */
#define SUB_EVENT \
	"jsonb_build_object('id', s.id, 'apiId', s.api_id, 'applicationId', s.app_id, " \
	"'tenant', s.tenant, 'apiTenant', s.api_tenant, 'tier', s.tier, 'status', s.status)::text"

void
pub_owner_subs_list(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p;
	struct json_object *out = NULL;
	struct pub_api_row row = { 0 };
	char *api = NULL, lim[24], off[24];
	const char *prm[4];
	long long limit, offset;
	int64_t total = 0;
	PGresult *res = NULL;
	int rc;

	if (pub_auth(c, db, "apim:subscription_view", NULL, &p) != 0)
		return;
	if (pub_query_int(c, "limit", 25, 1, 1000, &limit) != 0 ||
	    pub_query_int(c, "offset", 0, 0, 1000000000, &offset) != 0)
		goto out;
	api = gh_call_query(c, "apiId");
	if (api != NULL && api[0] != '\0') {
		rc = pub_api_load(db, p.tenant, api, 0, &row);
		if (rc != 0) {
			if (rc < 0)
				gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
			else
				pub_reply_api_404(c, api);
			goto out;
		}
	}
	prm[0] = p.tenant;
	prm[1] = row.id;
	prm[2] = gh_pg_i64(lim, limit);
	prm[3] = gh_pg_i64(off, offset);
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_subscriptions s JOIN gh_apis a ON a.id = s.api_id "
	    "WHERE a.tenant = $1 AND ($2::text IS NULL OR a.id = $2)", 2, prm, &total) != 0 ||
	    (res = gh_pg_exec(db, "SELECT " SUB_ITEM "::text FROM gh_subscriptions s "
	    "JOIN gh_apis a ON a.id = s.api_id JOIN gh_applications p ON p.id = s.app_id "
	    "WHERE a.tenant = $1 AND ($2::text IS NULL OR a.id = $2) ORDER BY s.created_at, s.id "
	    "LIMIT $3::bigint OFFSET $4::bigint", 4, prm)) == NULL) {
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
		goto out;
	}
	out = pub_list_page(res, total, limit, offset);
	gh_reply_json(c, 200, out);
out:
	PQclear(res);
	json_object_put(out);
	pub_api_row_clear(&row);
	free(api);
	gh_principal_clear(&p);
}

struct block_tx {
	const struct gh_call *c;
	const struct gh_principal *p;
	const char *sub_id, *state;     /* state: BLOCKED, PROD_ONLY_BLOCKED or UNBLOCKED */
	struct pub_err err;
	char *out;
};

static int
block_tx(struct gh_pg *db, void *arg)
{
	struct block_tx *t = arg;
	struct pub_api_row row = { 0 };
	struct json_object *det;
	const char *p[2] = { t->sub_id, t->p->tenant };
	char *api = NULL, *prev = NULL;
	PGresult *res;
	int rc = -1;

	free(t->out);
	t->out = NULL;
	res = gh_pg_exec(db, "SELECT s.api_id, s.status FROM gh_subscriptions s JOIN gh_apis a ON a.id = s.api_id "
	    "WHERE s.id = $1 AND a.tenant = $2", 2, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) != 1) {
		PQclear(res);
		return pub_fail(&t->err, 404, "Requested subscription not found");
	}
	api = strdup(gh_pg_get(res, 0, 0));
	prev = strdup(gh_pg_get(res, 0, 1));
	PQclear(res);
	if (api == NULL || prev == NULL || (rc = pub_api_load(db, t->p->tenant, api, 1, &row)) != 0) {
		rc = rc > 0 ? pub_fail(&t->err, 404, "Requested subscription not found") : -1;
		goto out;
	}
	rc = -1;
	p[1] = t->state;
	res = gh_pg_exec(db, "UPDATE gh_subscriptions s SET status = $2, updated_at = now() WHERE s.id = $1 "
	    "RETURNING " SUB_EVENT, 2, p);
	if (res == NULL)
		goto out;
	if (gh_pg_nrows(res) != 1) {
		PQclear(res);
		rc = pub_fail(&t->err, 404, "Requested subscription not found");
		goto out;
	}
	t->out = strdup(gh_pg_get(res, 0, 0));
	PQclear(res);
	if (t->out == NULL)
		goto out;
	det = json_object_new_object();
	json_object_object_add(det, "apiId", json_object_new_string(row.id));
	json_object_object_add(det, "from", json_object_new_string(prev));
	json_object_object_add(det, "to", json_object_new_string(t->state));
	gh_call_audit(db, t->c, "publisher", pub_provider(t->p), t->p->tenant,
	    strcmp(t->state, "UNBLOCKED") == 0 ? "subscription.unblock" : "subscription.block", t->sub_id, NULL, det);
	json_object_put(det);
	rc = pub_rt_event_api(db, row.tenant, row.id, "subscription.updated", t->out);
out:
	free(api);
	free(prev);
	pub_api_row_clear(&row);
	return rc;
}

static void
change_status(struct gh_call *c, struct gh_pg *db, int unblock)
{
	struct block_tx t = { .c = c };
	struct gh_principal p;
	char *sub = NULL, *state = NULL;
	int rc;

	if (pub_auth(c, db, "apim:subscription_block", NULL, &p) != 0)
		return;
	t.p = &p;
	sub = gh_call_query(c, "subscriptionId");
	if (sub == NULL || sub[0] == '\0' || strlen(sub) > 128) {
		gh_reply_error(c, 400, "Bad Request", "The query parameter 'subscriptionId' is required");
		goto out;
	}
	if (!unblock) {
		state = gh_call_query(c, "blockState");
		if (state == NULL || (strcmp(state, "BLOCKED") != 0 && strcmp(state, "PROD_ONLY_BLOCKED") != 0)) {
			gh_reply_error(c, 400, "Bad Request", "'blockState' must be BLOCKED or PROD_ONLY_BLOCKED");
			goto out;
		}
	}
	t.sub_id = sub;
	t.state = unblock ? "UNBLOCKED" : state;
	rc = gh_pg_run_tx(db, 0, block_tx, &t);
	if (rc != 0)
		pub_reply_tx(c, db, rc, &t.err);
	else
		gh_reply_raw(c, 200, NULL, NULL, 0);
out:
	free(t.out);
	free(sub);
	free(state);
	gh_principal_clear(&p);
}

void
pub_owner_subs_block(struct gh_call *c, struct gh_pg *db)
{
	change_status(c, db, 0);
}

void
pub_owner_subs_unblock(struct gh_call *c, struct gh_pg *db)
{
	change_status(c, db, 1);
}
