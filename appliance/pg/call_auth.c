/*
 * Authentication of a management call (gh_call_auth): the Bearer token is
 * verified by core's gh_mauth (signature, issuer, audience, expiry), then
 * checked against the database (its jti revoked, its client gone or
 * revoked after the token was issued, its tenant deactivated) and for the scope the
 * operation needs.  Failures are answered here, as WSO2 answers them:
 * 401 for the token, 403 for a missing scope.  A web UI's process also
 * takes its session cookie when no Authorization header came
 * (pg/gh_web.h: the session gives the same principal, and a state change
 * needs its X-CSRF-Token); the database checks are the same.  Also the
 * audit trail that every control-plane component writes (gh_call_audit).
 */
#include <json-c/json.h>
#include <stdio.h>

#include "core/gh_log.h"
#include "core/gh_mauth.h"
#include "pg/gh_call.h"
#include "pg/gh_web.h"

int
gh_call_auth(struct gh_call *c, struct gh_pg *db, struct gh_mauth *m, const char *scope,
    struct gh_principal *out)
{
	char why[160], iat[24];
	const char *params[4];
	int64_t revoked = 0;
	int st, session = 0;

	if (gh_call_header(c, "Authorization") == NULL && gh_web_cookie_name() != NULL &&
	    gh_web_has_credentials(c)) {
		if (gh_web_session_auth(c, db, out) != 0)
			return -1;
		session = 1;
		goto checks;
	}
	st = gh_mauth_verify(m, gh_call_header(c, "Authorization"), out, why, sizeof(why));
	if (st != 0) {
		gh_reply_error(c, st, st == 401 ? "Unauthorized" : "Service Unavailable", why);
		if (st == 401)
			gh_reply_header(c, "WWW-Authenticate", "Bearer realm=\"gatehouse\"");
		return -1;
	}
checks:
	params[0] = out->jti;
	params[1] = out->client_id;
	params[2] = gh_pg_i64(iat, out->iat);
	params[3] = out->tenant;
	if (gh_pg_query_int64(db, "SELECT CASE WHEN EXISTS (SELECT 1 FROM gh_revoked_tokens "
	    "WHERE jti = $1) OR NOT EXISTS (SELECT 1 FROM gh_oauth_clients WHERE client_id = $2 "
	    "AND not_before <= to_timestamp($3::bigint)) THEN 1 WHEN NOT EXISTS (SELECT 1 FROM gh_tenants "
	    "WHERE domain = $4 AND status = 'active') THEN 2 ELSE 0 END", 4, params, &revoked) != 0) {
		gh_principal_clear(out);
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
		return -1;
	}
	if (revoked != 0) {
		gh_principal_clear(out);
		gh_reply_error(c, 401, "Unauthorized", revoked == 1 ? "Invalid token: revoked" :
		    "Invalid token: its tenant is not active");
		if (session)
			gh_web_set_cookie(c, gh_web_cookie_name(), NULL, 0);
		else
			gh_reply_header(c, "WWW-Authenticate", "Bearer realm=\"gatehouse\", error=\"invalid_token\"");
		return -1;
	}
	if (scope != NULL && !gh_principal_has_scope(out, scope)) {
		char desc[200];

		snprintf(desc, sizeof(desc), "The access token does not allow this operation "
		    "(scope %s required)", scope);
		gh_principal_clear(out);
		gh_reply_error(c, 403, "Forbidden", desc);
		return -1;
	}
	return 0;
}

void
gh_call_audit(struct gh_pg *db, const struct gh_call *c, const char *component, const char *actor,
    const char *tenant, const char *action, const char *target, const char *outcome,
    struct json_object *details)
{
	const char *d = details ? json_object_to_json_string_ext(details, JSON_C_TO_STRING_PLAIN) : "{}";
	const char *p[8] = { component, actor, tenant, action, target, c ? c->client_addr : NULL,
		outcome ? outcome : "success", d };

	if (gh_pg_cmd(db, "INSERT INTO gh_audit (component, actor, tenant, action, target, client_addr, "
	    "outcome, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)", 8, p, NULL) != 0)
		gh_log_error("audit", c ? c->request_id : NULL, "audit row lost: %s %s by %s (%s): %s",
		    action, target ? target : "-", actor ? actor : "-", outcome ? outcome : "success",
		    gh_pg_errmsg(db));
}
