/*
 * Revocation primitives shared by the revoke endpoint, the grants (reused
 * codes and refresh tokens) and the internal APIs: one jti, or a whole
 * refresh family (its refresh tokens and every unexpired access token
 * issued in it).  Each newly revoked access token gets a token.revoked
 * event for the gateways.  Callers hold the transaction.  Also km_event,
 * the one way the key manager writes an event.
 */
#include <json-c/json.h>

#include "keymanager/km.h"

int
km_event(struct gh_pg *db, const char *tenant, const char *type, struct json_object *payload)
{
	int rc;

	if (payload == NULL)
		return -1;
	rc = gh_outbox_append(db, tenant, type,
	    json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN), NULL);
	json_object_put(payload);
	return rc;
}

static int
revoked_event(struct gh_pg *db, const char *type, const char *tenant, const char *jti, int64_t exp)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "jti", json_object_new_string(jti));
	json_object_object_add(o, "exp", json_object_new_int64(exp));
	return km_event(db, tenant, type, o);
}

int
km_revoke_jti(struct gh_pg *db, const char *type, const char *jti, const char *client_id,
    const char *tenant, int64_t exp)
{
	char exps[24];
	const char *p[4] = { jti, client_id, tenant, gh_pg_i64(exps, exp) };
	int64_t n = 0;

	if (gh_pg_cmd(db, "INSERT INTO gh_revoked_tokens (jti, client_id, tenant, expires_at) "
	    "VALUES ($1, $2, $3, to_timestamp($4::bigint)) ON CONFLICT (jti) DO NOTHING", 4, p, &n) != 0)
		return -1;
	if (n == 1 && revoked_event(db, type, tenant, jti, exp) != 0)
		return -1;
	return n == 1;
}

int
km_revoke_family(struct gh_pg *db, const char *family_id, const char *tenant, int64_t *nrefresh)
{
	const char *p[2] = { family_id, tenant };
	PGresult *res;
	int n;

	*nrefresh = 0;
	if (gh_pg_cmd(db, "UPDATE gh_refresh_tokens SET status = 'revoked' "
	    "WHERE family_id = $1 AND status <> 'revoked'", 1, p, nrefresh) != 0)
		return -1;
	res = gh_pg_exec(db, "INSERT INTO gh_revoked_tokens (jti, client_id, tenant, expires_at) "
	    "SELECT f.jti, f.client_id, $2::text, f.expires_at FROM ("
	    "  SELECT jti, client_id, expires_at FROM gh_family_tokens WHERE family_id = $1 "
	    "  UNION SELECT jti, client_id, expires_at FROM gh_opaque_tokens WHERE family_id = $1) f "
	    "WHERE f.expires_at > now() ON CONFLICT (jti) DO NOTHING "
	    "RETURNING jti, extract(epoch from expires_at)::bigint", 2, p);
	if (res == NULL)
		return -1;
	n = gh_pg_nrows(res);
	for (int i = 0; i < n; i++) {
		int64_t exp = 0;
		gh_pg_get_int64(res, i, 1, &exp);
		if (revoked_event(db, "token.revoked", tenant, gh_pg_get(res, i, 0), exp) != 0) {
			PQclear(res);
			return -1;
		}
	}
	PQclear(res);
	return n;
}
