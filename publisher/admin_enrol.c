/*
 * Enrolment tokens (/api/am/admin/v4/enrolment-tokens, super-tenant
 * admins only): POST issues a one-time token for one node role (and, for
 * a gateway, one environment of its zone), shown once, stored as its
 * SHA-256; GET lists tokens with their state, never a secret; DELETE
 * revokes an unused one.  Every change is audited in its transaction.
 * Tokens are redeemed at the feed port's /internal/enroll/v1 (enroll.c).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_pki.h"
#include "publisher/pub_admin.h"
#include "publisher/pub_enrol.h"

#define ENROL_BASE PUB_ADMIN_BASE "/enrolment-tokens"
#define EXPIRES_DEFAULT 3600
#define EXPIRES_MIN 60
#define EXPIRES_MAX 86400
#define KEEP_DAYS "30"          /* finished tokens (used, expired, revoked) are listed this long */

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define TOKEN_JSON \
	"json_build_object('id', id, 'role', role, 'environment', environment, 'createdBy', created_by, " \
	"'createdAt', " TS("created_at") ", 'expiresAt', " TS("expires_at") ", " \
	"'usedAt', " TS("used_at") ", 'usedByNode', used_by_node, 'usedFrom', used_from, " \
	"'revokedAt', " TS("revoked_at") ", 'status', CASE WHEN used_at IS NOT NULL THEN 'used' " \
	"WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN expires_at <= now() THEN 'expired' ELSE 'active' END)"

struct enrol_new {
	struct gh_call *c;
	const struct gh_principal *p;
	const char *role, *env;
	long long expires_in;
	char hash[65];
	char *out;                      /* the row as JSON text */
	int env_problem;                /* 1 no such environment, 2 of the other zone */
};

static int
enrol_create_tx(struct gh_pg *db, void *arg)
{
	struct enrol_new *n = arg;
	char exp[24];
	const char *q[5] = { n->hash, n->role, n->env, pub_adm_actor(n->p), gh_pg_i64(exp, n->expires_in) };
	struct json_object *d;
	PGresult *res;

	free(n->out);
	n->out = NULL;
	n->env_problem = 0;
	if (n->env != NULL) {
		const char *e[1] = { n->env };
		const char *want = strcmp(n->role, "gateway-external") == 0 ? "external" : "internal";

		res = gh_pg_exec(db, "SELECT type FROM gh_environments WHERE name = $1", 1, e);
		if (res == NULL)
			return -1;
		n->env_problem = gh_pg_nrows(res) == 0 ? 1 : strcmp(gh_pg_get(res, 0, 0), want) != 0 ? 2 : 0;
		PQclear(res);
		if (n->env_problem)
			return 1;
	}
	if (gh_pg_cmd(db, "DELETE FROM gh_enrolment_tokens WHERE greatest(expires_at, used_at, revoked_at) < "
	    "now() - interval '" KEEP_DAYS " days'", 0, NULL, NULL) != 0)
		return -1;
	res = gh_pg_exec(db, "INSERT INTO gh_enrolment_tokens (id, hash, role, environment, created_by, expires_at) "
	    "VALUES (gen_random_uuid()::text, $1, $2, $3, $4, now() + make_interval(secs => $5::int)) "
	    "RETURNING id, " TOKEN_JSON "::text", 5, q);
	if (res == NULL)
		return -1;
	n->out = strdup(gh_pg_get(res, 0, 1));
	d = json_object_new_object();
	json_object_object_add(d, "role", json_object_new_string(n->role));
	if (n->env != NULL)
		json_object_object_add(d, "environment", json_object_new_string(n->env));
	json_object_object_add(d, "expiresIn", json_object_new_int64(n->expires_in));
	gh_call_audit(db, n->c, "publisher", pub_adm_actor(n->p), n->p->tenant, "enrolment_token.create",
	    gh_pg_get(res, 0, 0), NULL, d);
	json_object_put(d);
	PQclear(res);
	return n->out != NULL ? 0 : -1;
}

/* The created row plus what is shown once: the token, the CA fingerprint, where to enrol. */
static void
reply_created(struct gh_call *c, const char *row, const char *token)
{
	struct json_object *o = json_tokener_parse(row);
	const char *feed = gh_settings_str(pub.cfg, "cluster.feed_url");
	char fp[80];

	if (o == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		return;
	}
	snprintf(fp, sizeof(fp), "sha256:%s", pub_enroll_ca_fingerprint());
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "caFingerprint", json_object_new_string(fp));
	if (feed != NULL)
		json_object_object_add(o, "enrollUrl", json_object_new_string(feed));
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_reply_json(c, 201, o);
	json_object_put(o);
}

/* POST /enrolment-tokens {role, environment, expiresIn} */
static void
enrol_create(struct gh_call *c, struct gh_pg *db)
{
	static const char *const members[] = { "role", "environment", "expiresIn", NULL };
	struct gh_principal p = { 0 };
	struct enrol_new n = { 0 };
	struct json_object *o = NULL;
	char *token = NULL, why[200];
	int rc;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (pub_adm_require_super(c, &p, "issue enrolment tokens (enrolment is deployment-wide)") != 0)
		goto out;
	n.expires_in = EXPIRES_DEFAULT;
	if ((o = pub_adm_body(c)) == NULL || pub_adm_known(c, o, members) != 0 ||
	    pub_adm_str(c, o, "role", 1, 32, 0, &n.role) != 0 || pub_adm_str(c, o, "environment", 0, 64, 0, &n.env) != 0 ||
	    pub_adm_int(c, o, "expiresIn", EXPIRES_MIN, EXPIRES_MAX, &n.expires_in) < 0)
		goto out;
	if (!pub_enroll_role_known(n.role)) {
		gh_reply_error(c, 400, "Bad Request", "role must be all-in-one, control-plane, publisher, portal, "
		    "keymanager, trafficmanager, gateway-internal or gateway-external");
		goto out;
	}
	if (n.env != NULL && n.env[0] == '\0')
		n.env = NULL;
	if (pub_enroll_role_is_gateway(n.role) != (n.env != NULL)) {
		gh_reply_error(c, 400, "Bad Request", n.env == NULL ? "environment (the gateway environment this node "
		    "will serve) is required for a gateway role" : "environment is only for gateway roles");
		goto out;
	}
	token = gh_enrol_token_new(pub_enroll_ca_fingerprint());
	if (token == NULL || gh_sha256_hex(token, strlen(token), n.hash) != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Cannot make a token");
		goto out;
	}
	n.c = c;
	n.p = &p;
	rc = gh_pg_run_tx(db, 0, enrol_create_tx, &n);
	if (rc < 0) {
		pub_adm_db_error(c, db);
	} else if (rc > 0) {
		snprintf(why, sizeof(why), n.env_problem == 1 ? "No gateway environment '%s'" :
		    "Environment '%s' is of the other zone: a %s token needs an environment of type %s", n.env,
		    n.role, strcmp(n.role, "gateway-external") == 0 ? "external" : "internal");
		gh_reply_error(c, 400, "Bad Request", why);
	} else {
		reply_created(c, n.out, token);
	}
out:
	free(n.out);
	if (token != NULL)
		gh_free_secret(token);
	json_object_put(o);
	gh_principal_clear(&p);
}

/* GET /enrolment-tokens[?status=active|used|expired|revoked] */
static void
enrol_list(struct gh_call *c, struct gh_pg *db)
{
	static const char *const states[] = { "active", "used", "expired", "revoked", NULL };
	struct gh_principal p = { 0 };
	char *status = gh_call_query(c, "status");
	const char *q[1] = { status };
	size_t i;

	if (pub_adm_auth(c, db, &p) != 0)
		goto out;
	if (pub_adm_require_super(c, &p, "list enrolment tokens") != 0)
		goto out;
	for (i = 0; status != NULL && states[i] != NULL && strcmp(states[i], status) != 0; i++)
		;
	if (status != NULL && states[i] == NULL) {
		gh_reply_error(c, 400, "Bad Request", "status must be active, used, expired or revoked");
		goto out;
	}
	pub_adm_reply_query(c, db, 200, "", "WITH t AS (SELECT created_at, id, " TOKEN_JSON " AS j "
	    "FROM gh_enrolment_tokens) SELECT json_build_object('count', count(*), 'list', "
	    "coalesce(json_agg(j ORDER BY created_at DESC, id), '[]'))::text FROM t "
	    "WHERE $1::text IS NULL OR j->>'status' = $1::text", 1, q);
out:
	free(status);
	gh_principal_clear(&p);
}

struct enrol_revoke {
	struct gh_call *c;
	const struct gh_principal *p;
	const char *id;
	char *out;
	int state;                      /* 0 revoked now, 1 no such token, 2 used */
};

static int
enrol_revoke_tx(struct gh_pg *db, void *arg)
{
	struct enrol_revoke *r = arg;
	const char *q[1] = { r->id };
	PGresult *res;

	free(r->out);
	r->out = NULL;
	res = gh_pg_exec(db, "SELECT used_at IS NOT NULL, revoked_at IS NOT NULL FROM gh_enrolment_tokens "
	    "WHERE id = $1 FOR UPDATE", 1, q);
	if (res == NULL)
		return -1;
	r->state = gh_pg_nrows(res) == 0 ? 1 : strcmp(gh_pg_get(res, 0, 0), "t") == 0 ? 2 : 0;
	if (r->state == 0 && strcmp(gh_pg_get(res, 0, 1), "t") == 0)
		r->state = 3;           /* revoked before: nothing to do */
	PQclear(res);
	if (r->state == 1 || r->state == 2)
		return 1;
	if (r->state == 0) {
		if (gh_pg_cmd(db, "UPDATE gh_enrolment_tokens SET revoked_at = now() WHERE id = $1", 1, q, NULL) != 0)
			return -1;
		gh_call_audit(db, r->c, "publisher", pub_adm_actor(r->p), r->p->tenant, "enrolment_token.revoke",
		    r->id, NULL, NULL);
	}
	res = gh_pg_exec(db, "SELECT " TOKEN_JSON "::text FROM gh_enrolment_tokens WHERE id = $1", 1, q);
	if (res == NULL)
		return -1;
	r->out = strdup(gh_pg_get(res, 0, 0));
	PQclear(res);
	return r->out != NULL ? 0 : -1;
}

/* DELETE /enrolment-tokens/{tokenId}: revoke an unused token. */
static void
enrol_revoke(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };
	struct enrol_revoke r = { 0 };
	int rc;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (pub_adm_require_super(c, &p, "revoke enrolment tokens") != 0)
		goto out;
	r.c = c;
	r.p = &p;
	r.id = gh_call_param(c, "tokenId");
	rc = gh_pg_run_tx(db, 0, enrol_revoke_tx, &r);
	if (rc < 0)
		pub_adm_db_error(c, db);
	else if (rc > 0 && r.state == 1)
		gh_reply_error(c, 404, "Not Found", "No such enrolment token");
	else if (rc > 0)
		gh_reply_error(c, 409, "Conflict", "The token was used already: remove the node instead");
	else
		gh_reply_raw(c, 200, "application/json", r.out, strlen(r.out));
out:
	free(r.out);
	gh_principal_clear(&p);
}

/* GET /enrolment-tokens/{tokenId} */
static void
enrol_get(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };
	const char *q[1] = { gh_call_param(c, "tokenId") };

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (pub_adm_require_super(c, &p, "read enrolment tokens") == 0)
		pub_adm_reply_query(c, db, 200, "No such enrolment token", "SELECT " TOKEN_JSON "::text "
		    "FROM gh_enrolment_tokens WHERE id = $1", 1, q);
	gh_principal_clear(&p);
}

void
pub_admin_enrol_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", ENROL_BASE, enrol_list);
	gh_call_route(r, "POST", ENROL_BASE, enrol_create);
	gh_call_route(r, "GET", ENROL_BASE "/{tokenId}", enrol_get);
	gh_call_route(r, "DELETE", ENROL_BASE "/{tokenId}", enrol_revoke);
}
