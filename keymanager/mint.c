/*
 * Issuing tokens.  An access token is a JWT signed with the current key
 * (claims and audiences of DESIGN.md), or for clients that ask for opaque
 * tokens a random 32-byte value stored only as its SHA-256 with its
 * claims.  A JWT from client_credentials costs no database write:
 * revocation needs only the jti of revoked tokens and each client's
 * not-before time.  Tokens of the user grants belong to a refresh family
 * whose jtis are recorded, so revoking the family revokes them.  Also the
 * scope decision from role bindings.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "keymanager/km.h"

static int
scope_token_ok(const char *s, size_t len)
{
	if (len == 0 || len > 200)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		/* RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E */
		if (ch < 0x21 || ch == 0x22 || ch == 0x5c || ch > 0x7e)
			return 0;
	}
	return 1;
}

static int
roles_intersect(const char *pg_array, const char *const *roles)
{
	/* pg_array is a text[] literal such as {admin,creator}; role names are plain words */
	for (size_t i = 0; roles != NULL && roles[i] != NULL; i++) {
		size_t rl = strlen(roles[i]);
		const char *p = pg_array;
		while ((p = strstr(p, roles[i])) != NULL) {
			if ((p[-1] == '{' || p[-1] == ',') && (p[rl] == ',' || p[rl] == '}'))
				return 1;
			p += rl;
		}
	}
	return 0;
}

/* 1 when the scope is granted to roles in tenant, 0 not, -1 db error. */
static int
scope_allowed(struct gh_pg *db, const char *tenant, const char *const *roles, const char *scope)
{
	const char *p[2] = { scope, tenant };
	PGresult *res;
	int n, ok = 0;

	if (strcmp(scope, "openid") == 0 || strcmp(scope, "default") == 0)
		return 1;
	/* Another tenant's API scope counts as bound (to roles of that tenant, none of the caller's). */
	res = gh_pg_exec(db, "SELECT roles::text FROM gh_scope_bindings WHERE scope = $1 AND tenant IN ($2, '*') "
	    "UNION ALL SELECT roles::text FROM gh_api_scopes WHERE name = $1 AND tenant = $2 "
	    "UNION ALL SELECT '{}' WHERE EXISTS (SELECT 1 FROM gh_api_scopes WHERE name = $1 AND tenant <> $2)",
	    2, p);
	if (res == NULL)
		return -1;
	n = gh_pg_nrows(res);
	/* WSO2: a scope bound to no role anywhere is open to everyone, except management scopes. */
	if (n == 0)
		ok = strncmp(scope, "apim:", 5) != 0;
	for (int i = 0; i < n && !ok; i++)
		ok = roles_intersect(gh_pg_get(res, i, 0), roles);
	PQclear(res);
	return ok;
}

char *
km_scopes_grant(struct gh_pg *db, const char *tenant, const char *const *roles, const char *requested)
{
	char *out = NULL, *copy, *save = NULL;
	size_t len = 0;

	if (requested == NULL || requested[0] == '\0')
		return strdup("default");
	copy = strdup(requested);
	out = calloc(1, strlen(requested) + 1);
	if (copy == NULL || out == NULL)
		goto fail;
	for (char *s = strtok_r(copy, " ", &save); s != NULL; s = strtok_r(NULL, " ", &save)) {
		int dup = 0;
		if (!scope_token_ok(s, strlen(s)))
			continue;
		for (const char *p = out; (p = strstr(p, s)) != NULL; p++)
			if ((p == out || p[-1] == ' ') && (p[strlen(s)] == ' ' || p[strlen(s)] == '\0'))
				dup = 1;
		if (dup || scope_allowed(db, tenant, roles, s) != 1)
			continue;
		len += (size_t)sprintf(out + len, "%s%s", len ? " " : "", s);
	}
	free(copy);
	if (len == 0) {
		free(out);
		return strdup("default");
	}
	return out;
fail:
	free(copy);
	free(out);
	return NULL;
}

/*
 * The claims of g as JSON text in b (DESIGN.md: iss, sub, aud, exp, iat,
 * nbf, jti, client_id, azp, scope, tenant; application and keytype for
 * application keys).  Written directly, not through json-c objects: this
 * is the token path.  0 ok, -1 too long.
 */
static int
claims_write(struct gh_json_buf *b, const struct km_grant *g, const char *jti, int64_t now, int64_t exp)
{
	const struct km_client *cl = g->client;

	gh_json_buf_raw(b, "{");
	gh_json_buf_member(b, "iss", km.issuer);
	gh_json_buf_member(b, "sub", g->subject);
	gh_json_buf_member(b, "aud", cl->audience);
	gh_json_buf_member_int(b, "exp", exp);
	gh_json_buf_member_int(b, "iat", now);
	gh_json_buf_member_int(b, "nbf", now);
	gh_json_buf_member(b, "jti", jti);
	gh_json_buf_member(b, "client_id", cl->client_id);
	gh_json_buf_member(b, "azp", cl->client_id);
	gh_json_buf_member(b, "scope", g->scope);
	gh_json_buf_member(b, "tenant", g->tenant);
	if (cl->app_id != NULL) {
		gh_json_buf_raw(b, ",\"application\":{");
		gh_json_buf_member(b, "id", cl->app_id);
		gh_json_buf_member(b, "name", cl->app_name ? cl->app_name : "");
		gh_json_buf_member(b, "tier", cl->app_tier ? cl->app_tier : "Unlimited");
		gh_json_buf_member(b, "owner", cl->app_owner ? cl->app_owner : cl->owner);
		gh_json_buf_member(b, "tenant", cl->tenant);
		gh_json_buf_raw(b, "}");
		gh_json_buf_member(b, "keytype", cl->key_type ? cl->key_type : "PRODUCTION");
	}
	return gh_json_buf_raw(b, "}");
}

int
km_mint_reply(struct gh_call *c, struct gh_pg *db, const struct km_grant *g)
{
	const struct km_client *cl = g->client;
	int64_t now = (int64_t)time(NULL);
	int64_t ttl = g->ttl > 0 ? g->ttl : cl->validity > 0 ? cl->validity : km.access_ttl;
	char *jti = gh_random_hex(16), *access = NULL, *refresh = NULL, exps[24];
	char cbuf[4096], rbuf[6144];
	struct gh_json_buf claims = { cbuf, sizeof(cbuf), 0, 0 }, resp = { rbuf, sizeof(rbuf), 0, 0 };
	int opaque = strcmp(cl->token_type, "OPAQUE") == 0, rc = -1;

	if (jti == NULL || claims_write(&claims, g, jti, now, now + ttl) != 0)
		goto fail;
	snprintf(exps, sizeof(exps), "%lld", (long long)(now + ttl));
	if (opaque) {
		char hash[65];
		const char *p[6] = { hash, jti, cl->client_id, g->family_id, claims.buf, exps };
		access = gh_random_b64url(32);
		if (access == NULL)
			goto fail;
		gh_sha256_hex(access, strlen(access), hash);
		if (gh_pg_cmd(db, "INSERT INTO gh_opaque_tokens (token_hash, jti, client_id, family_id, claims, "
		    "expires_at) VALUES ($1, $2, $3, $4, $5::jsonb, to_timestamp($6::bigint))", 6, p, NULL) != 0)
			goto fail;
	} else {
		access = km_keys_sign_text(claims.buf, claims.len, GH_JOSE_ALG_UNKNOWN);
		if (access == NULL)
			goto fail;
		if (g->family_id != NULL) {
			const char *p[4] = { jti, g->family_id, cl->client_id, exps };
			if (gh_pg_cmd(db, "INSERT INTO gh_family_tokens (jti, family_id, client_id, expires_at) "
			    "VALUES ($1, $2, $3, to_timestamp($4::bigint))", 4, p, NULL) != 0)
				goto fail;
		}
	}
	if (g->with_refresh && g->family_id != NULL) {
		char hash[65], rexp[24];
		const char *p[7] = { hash, g->family_id, cl->client_id, g->subject, g->tenant, g->scope, rexp };
		refresh = gh_random_b64url(32);
		if (refresh == NULL)
			goto fail;
		gh_sha256_hex(refresh, strlen(refresh), hash);
		snprintf(rexp, sizeof(rexp), "%lld", (long long)(now + km.refresh_ttl));
		if (gh_pg_cmd(db, "INSERT INTO gh_refresh_tokens (token_hash, family_id, client_id, subject, "
		    "tenant, scope, expires_at) VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7::bigint))",
		    7, p, NULL) != 0)
			goto fail;
	}
	gh_json_buf_raw(&resp, "{");
	gh_json_buf_member(&resp, "access_token", access);
	if (refresh != NULL)
		gh_json_buf_member(&resp, "refresh_token", refresh);
	gh_json_buf_member(&resp, "scope", g->scope);
	gh_json_buf_member(&resp, "token_type", "Bearer");
	gh_json_buf_member_int(&resp, "expires_in", ttl);
	if (gh_json_buf_raw(&resp, "}") != 0)
		goto fail;
	gh_reply_raw(c, 200, "application/json", resp.buf, resp.len);
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_reply_header(c, "Pragma", "no-cache");
	KM_COUNT(tokens_issued);
	rc = 0;
	goto out;
fail:
	KM_COUNT(token_errors);
	gh_log_error("token_issue", c->request_id, "cannot issue a token for %s: %s", cl->client_id,
	    db != NULL ? gh_pg_errmsg(db) : "signing failed");
	gh_reply_oauth_error(c, 500, "server_error", "The token could not be issued");
out:
	explicit_bzero(rbuf, sizeof(rbuf));
	free(jti);
	if (access != NULL)
		gh_free_secret(access);
	if (refresh != NULL)
		gh_free_secret(refresh);
	return rc;
}
