/*
 * Token validation for introspection and revocation.  A JWT is checked
 * with our signing keys (reloading them once on an unknown kid: another
 * node may have rotated), our issuer, its expiry, the revoked jtis and its
 * client's not-before time; anything else is looked up by its SHA-256 in
 * the opaque access tokens, then in the refresh tokens.  The input is
 * hostile: any bytes, bounded length; a token that is not ours is simply
 * inactive.  The caller owns the km_token_info and clears it.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "keymanager/km.h"

#define TOKEN_MAX 16384
/* Clock skew tolerated between key manager nodes for nbf and iat (never for exp). */
#define SKEW 30

static char *
dup_str(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/*
 * The client's not-before time and whether jti is revoked.  0 ok (*gone
 * set when the client no longer exists), -1 db error.
 */
static int
revocation_state(struct gh_pg *db, const char *jti, const char *client_id, int64_t *not_before,
    int *revoked, int *gone)
{
	const char *p[2] = { jti, client_id };
	PGresult *res = gh_pg_exec(db, "SELECT (SELECT extract(epoch from not_before)::bigint "
	    "FROM gh_oauth_clients WHERE client_id = $2), "
	    "EXISTS (SELECT 1 FROM gh_revoked_tokens WHERE jti = $1)", 2, p);
	const char *r;

	if (res == NULL)
		return -1;
	*gone = gh_pg_get_int64(res, 0, 0, not_before) != 0;
	r = gh_pg_get(res, 0, 1);
	*revoked = r == NULL || strcmp(r, "t") == 0;
	PQclear(res);
	return 0;
}

/* Integer claim name of o into *out; 0 ok, -1 absent or not an integer. */
static int
claim_int(struct json_object *o, const char *name, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

/* A verified JWT's claims (borrowed): 1 active (out filled), 0 inactive, -1 db error. */
static int
jwt_claims_check(struct gh_pg *db, struct json_object *claims, struct km_token_info *out)
{
	struct gh_jwt_expect ex = { .leeway = SKEW, .iss = km.issuer, .require_exp = 1 };
	const char *jti, *client_id;
	int64_t exp, iat, not_before = 0;
	int revoked = 1, gone = 1;

	if (claims == NULL || gh_jwt_check_claims(claims, &ex) != GH_JOSE_OK)
		return 0;
	jti = gh_json_str(claims, "jti");
	client_id = gh_json_str(claims, "client_id");
	if (jti == NULL || client_id == NULL || claim_int(claims, "exp", &exp) != 0 ||
	    claim_int(claims, "iat", &iat) != 0 || exp <= (int64_t)time(NULL))
		return 0;
	if (revocation_state(db, jti, client_id, &not_before, &revoked, &gone) != 0)
		return -1;
	if (revoked || gone || iat < not_before)
		return 0;
	out->claims = json_object_get(claims);
	out->jti = dup_str(jti);
	out->client_id = dup_str(client_id);
	out->tenant = dup_str(gh_json_str(claims, "tenant"));
	out->exp = exp;
	return 1;
}

static int
inspect_jwt(struct gh_pg *db, const char *token, size_t len, struct km_token_info *out)
{
	struct gh_jws jws;
	enum gh_jose_err err = km_keys_verify(token, len, &jws);
	int rc;

	if (err == GH_JOSE_EKID) {
		/* Another node may have rotated the keys since we loaded them. */
		km_keys_refresh(db, 0);
		err = km_keys_verify(token, len, &jws);
	}
	if (err != GH_JOSE_OK)
		return 0;
	rc = jwt_claims_check(db, jws.claims, out);
	gh_jws_clear(&jws);
	return rc;
}

static int
inspect_opaque(struct gh_pg *db, const char *hash, struct km_token_info *out)
{
	const char *p[1] = { hash };
	PGresult *res = gh_pg_exec(db, "SELECT o.jti, o.client_id, o.family_id, o.claims::text, "
	    "extract(epoch from o.expires_at)::bigint, "
	    "extract(epoch from c.not_before)::bigint, "
	    "EXISTS (SELECT 1 FROM gh_revoked_tokens r WHERE r.jti = o.jti) "
	    "FROM gh_opaque_tokens o JOIN gh_oauth_clients c ON c.client_id = o.client_id "
	    "WHERE o.token_hash = $1 AND o.expires_at > now()", 1, p);
	struct json_object *claims = NULL;
	int64_t exp = 0, iat = 0, not_before = 0;
	const char *cj;
	int rc = 0;

	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) != 1 || strcmp(gh_pg_get(res, 0, 6), "f") != 0)
		goto out;
	cj = gh_pg_get(res, 0, 3);
	claims = json_tokener_parse(cj);
	if (claims == NULL || !json_object_is_type(claims, json_type_object) ||
	    gh_pg_get_int64(res, 0, 4, &exp) != 0 || gh_pg_get_int64(res, 0, 5, &not_before) != 0)
		goto out;
	if (claim_int(claims, "iat", &iat) == 0 && iat < not_before)
		goto out;
	out->claims = claims;
	claims = NULL;
	out->jti = dup_str(gh_pg_get(res, 0, 0));
	out->client_id = dup_str(gh_pg_get(res, 0, 1));
	out->family_id = dup_str(gh_pg_get(res, 0, 2));
	out->tenant = dup_str(gh_json_str(out->claims, "tenant"));
	out->exp = exp;
	rc = 1;
out:
	json_object_put(claims);
	PQclear(res);
	return rc;
}

static int
inspect_refresh(struct gh_pg *db, const char *hash, struct km_token_info *out)
{
	const char *p[1] = { hash };
	PGresult *res = gh_pg_exec(db, "SELECT t.family_id, t.client_id, t.subject, t.tenant, t.scope, "
	    "extract(epoch from t.expires_at)::bigint, floor(extract(epoch from t.created_at))::bigint, "
	    "extract(epoch from c.not_before)::bigint "
	    "FROM gh_refresh_tokens t JOIN gh_oauth_clients c ON c.client_id = t.client_id "
	    "WHERE t.token_hash = $1 AND t.status = 'active' AND t.expires_at > now()", 1, p);
	struct json_object *o;
	int64_t exp = 0, iat = 0, not_before = 0;

	if (res == NULL)
		return -1;
	/* As for access tokens: issued before the client's not-before time means revoked. */
	if (gh_pg_nrows(res) != 1 || gh_pg_get_int64(res, 0, 5, &exp) != 0 ||
	    gh_pg_get_int64(res, 0, 6, &iat) != 0 || gh_pg_get_int64(res, 0, 7, &not_before) != 0 ||
	    iat < not_before) {
		PQclear(res);
		return 0;
	}
	o = json_object_new_object();
	json_object_object_add(o, "iss", json_object_new_string(km.issuer));
	json_object_object_add(o, "client_id", json_object_new_string(gh_pg_get(res, 0, 1)));
	json_object_object_add(o, "sub", json_object_new_string(gh_pg_get(res, 0, 2)));
	json_object_object_add(o, "scope", json_object_new_string(gh_pg_get(res, 0, 4)));
	json_object_object_add(o, "exp", json_object_new_int64(exp));
	json_object_object_add(o, "iat", json_object_new_int64(iat));
	json_object_object_add(o, "token_type", json_object_new_string("refresh_token"));
	json_object_object_add(o, "tenant", json_object_new_string(gh_pg_get(res, 0, 3)));
	out->claims = o;
	out->family_id = dup_str(gh_pg_get(res, 0, 0));
	out->client_id = dup_str(gh_pg_get(res, 0, 1));
	out->tenant = dup_str(gh_pg_get(res, 0, 3));
	out->exp = exp;
	out->is_refresh = 1;
	PQclear(res);
	return 1;
}

/* Three non-empty base64url parts separated by dots. */
static int
looks_like_jwt(const char *s, size_t len)
{
	size_t dots = 0, part = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.') {
			if (part == 0)
				return 0;
			dots++;
			part = 0;
			continue;
		}
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_'))
			return 0;
		part++;
	}
	return dots == 2 && part > 0;
}

/*
 * Returns 0 with out->active telling the verdict (out filled when active,
 * empty otherwise), or -1 when the database failed (out empty).
 */
int
km_token_inspect(struct gh_pg *db, const char *token, const char *hint, struct km_token_info *out)
{
	char hash[65];
	size_t len;
	int rc = 0, refresh_first;

	memset(out, 0, sizeof(*out));
	if (token == NULL)
		return 0;
	len = strnlen(token, TOKEN_MAX + 1);
	if (len == 0 || len > TOKEN_MAX)
		return 0;
	if (looks_like_jwt(token, len)) {
		rc = inspect_jwt(db, token, len, out);
		goto done;
	}
	gh_sha256_hex(token, len, hash);
	refresh_first = hint != NULL && strcmp(hint, "refresh_token") == 0;
	rc = refresh_first ? inspect_refresh(db, hash, out) : inspect_opaque(db, hash, out);
	if (rc == 0)
		rc = refresh_first ? inspect_opaque(db, hash, out) : inspect_refresh(db, hash, out);
done:
	if (rc != 1) {
		km_token_info_clear(out);
		return rc < 0 ? -1 : 0;
	}
	out->active = 1;
	return 0;
}

void
km_token_info_clear(struct km_token_info *t)
{
	json_object_put(t->claims);
	free(t->jti);
	free(t->client_id);
	free(t->tenant);
	free(t->family_id);
	memset(t, 0, sizeof(*t));
}
