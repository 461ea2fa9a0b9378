/*
 * POST /oauth2/token: the four grants of RFC 6749 (client_credentials,
 * password, authorization_code with PKCE S256, refresh_token with
 * rotation), after client authentication (km_client_authenticate).  Every
 * grant that writes does so in one transaction with km_mint_reply, so a
 * failure leaves nothing half-written; a reused code or rotated refresh
 * token revokes its whole family (refresh tokens, access tokens, events
 * for the gateways) in the transaction that refuses it.  Also the helpers
 * the authorization endpoint shares (oauth.h).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/gh_codec.h"
#include "core/gh_log.h"
#include "keymanager/oauth.h"

#define FORM_MAX_PAIRS 64
#define USERNAME_MAX 320

/* ---- shared helpers (oauth.h) ---- */

static int
scope_char_ok(unsigned char ch)
{
	return ch >= 0x21 && ch != 0x22 && ch != 0x5c && ch <= 0x7e;
}

int
km_scope_syntax_ok(const char *scope)
{
	size_t len, tok = 0;

	if (scope == NULL || scope[0] == '\0')
		return 1;
	len = strlen(scope);
	if (len > 4096)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (scope[i] == ' ') {
			if (tok == 0)
				return 0;       /* leading or double space */
			tok = 0;
		} else if (scope_char_ok((unsigned char)scope[i])) {
			tok++;
		} else {
			return 0;
		}
	}
	return tok > 0;                         /* no trailing space */
}

int
km_pkce_string_ok(const char *s, size_t min_len, size_t max_len)
{
	size_t len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len < min_len || len > max_len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~'))
			return 0;
	}
	return 1;
}

int
km_pkce_s256_ok(const char *verifier, const char *challenge)
{
	unsigned char digest[32];
	char *enc;
	int ok;

	if (!km_pkce_string_ok(verifier, 43, 128) || challenge == NULL)
		return 0;
	if (gh_sha256(verifier, strlen(verifier), digest) != 0)
		return 0;
	enc = gh_b64url_encode(digest, sizeof(digest));
	if (enc == NULL)
		return 0;
	ok = gh_ct_streq(enc, challenge);
	free(enc);
	return ok;
}

char *
km_subject_name(const char *user, const char *tenant)
{
	size_t n;
	char *s;

	if (strcmp(tenant, GH_LDAP_SUPER_TENANT) == 0)
		return strdup(user);
	n = strlen(user) + strlen(tenant) + 2;
	s = malloc(n);
	if (s != NULL)
		snprintf(s, n, "%s@%s", user, tenant);
	return s;
}

static void
login_refused(struct gh_call *c, struct gh_pg *db, const char *username, const char *tenant,
    const char *reason)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "reason", json_object_new_string(reason));
	KM_COUNT(login_failures);
	km_audit(db, c, username, tenant, "user.login", username, "failure", d);
	json_object_put(d);
}

int
km_oauth_user_check(struct gh_call *c, struct gh_pg *db, const struct km_client *cl,
    const char *username, const char *password, char **user, char **tenant)
{
	int rc = 1;

	*user = *tenant = NULL;
	if (username == NULL || username[0] == '\0' || strlen(username) > USERNAME_MAX ||
	    password == NULL)
		return 1;
	if (km_user_split(db, username, user, tenant) != 0)
		return 1;
	if (strcmp(*tenant, cl->tenant) != 0 && !cl->saas) {
		login_refused(c, db, username, *tenant, "user of another tenant than the client's");
		goto out;
	}
	if (password[0] == '\0') {
		/* never reaches LDAP: an empty password would be an unauthenticated bind */
		login_refused(c, db, username, *tenant, "empty password");
		goto out;
	}
	rc = km_user_login(c, db, *tenant, *user, password);
out:
	if (rc != 0) {
		free(*user);
		free(*tenant);
		*user = *tenant = NULL;
	}
	return rc;
}

int
km_family_revoke(struct gh_pg *db, const struct gh_call *c, const char *family_id,
    const char *tenant, const char *client_id, const char *reason)
{
	struct json_object *d;
	int64_t nrefresh = 0;
	int n = km_revoke_family(db, family_id, tenant, &nrefresh);

	if (n < 0)
		return -1;
	d = json_object_new_object();
	json_object_object_add(d, "reason", json_object_new_string(reason));
	json_object_object_add(d, "client_id", json_object_new_string(client_id));
	json_object_object_add(d, "refresh_tokens", json_object_new_int64(nrefresh));
	json_object_object_add(d, "access_tokens", json_object_new_int(n));
	km_audit(db, c, client_id, tenant, "token.family_revoked", family_id, "success", d);
	json_object_put(d);
	gh_log_warn("family_revoked", c->request_id, "family %s of client %s revoked (%s): %d access tokens",
	    family_id, client_id, reason, n);
	return n;
}

/* ---- the token endpoint ---- */

/* Mint in a transaction of its own (the grant's rows and the token's rows commit together). */
static void
mint_tx(struct gh_call *c, struct gh_pg *db, const struct km_grant *g)
{
	if (gh_pg_tx_begin(db, 0) != 0) {
		gh_reply_oauth_error(c, 500, "server_error", "Database unavailable");
		return;
	}
	if (km_mint_reply(c, db, g) != 0) {
		gh_pg_tx_rollback(db);
		return;
	}
	if (gh_pg_tx_commit(db) != 0) {
		gh_log_error("token_issue", c->request_id, "commit: %s", gh_pg_errmsg(db));
		gh_reply_oauth_error(c, 500, "server_error", "The token could not be issued");
	}
}

static void
grant_client_credentials(struct gh_call *c, struct gh_pg *db, const struct km_client *cl,
    const char *scope)
{
	struct km_grant g = { .client = cl, .subject = cl->owner, .tenant = cl->tenant };
	char **roles = NULL, *granted;

	if (scope != NULL && scope[0] != '\0') {
		char *user = NULL, *tenant = NULL;
		if (km_user_split(db, cl->owner, &user, &tenant) == 0)
			roles = km_user_roles(cl->tenant, user);
		free(user);
		free(tenant);
	}
	granted = km_scopes_grant(db, cl->tenant, (const char *const *)roles, scope);
	gh_ldap_strv_free(roles);
	if (granted == NULL) {
		gh_reply_oauth_error(c, 500, "server_error", "Out of memory");
		return;
	}
	g.scope = granted;
	km_mint_reply(c, db, &g);
	free(granted);
}

/* The grants of a user: password and the login page's code share this. */
static void
user_tokens(struct gh_call *c, struct gh_pg *db, const struct km_client *cl, const char *user,
    const char *tenant, const char *scope)
{
	char **roles = km_user_roles(tenant, user);
	char *granted = km_scopes_grant(db, tenant, (const char *const *)roles, scope);
	char *subject = km_subject_name(user, tenant), *family = gh_random_hex(16);
	struct km_grant g = { .client = cl, .subject = subject, .tenant = tenant, .scope = granted,
		.family_id = family, .with_refresh = km_client_allows_grant(cl, "refresh_token") };

	gh_ldap_strv_free(roles);
	if (granted == NULL || subject == NULL || family == NULL)
		gh_reply_oauth_error(c, 500, "server_error", "Out of memory");
	else
		mint_tx(c, db, &g);
	free(granted);
	free(subject);
	free(family);
}

static void
grant_password(struct gh_call *c, struct gh_pg *db, const struct gh_form *f,
    const struct km_client *cl, const char *scope)
{
	const char *username = gh_form_get(f, "username"), *password = gh_form_get(f, "password");
	char *user = NULL, *tenant = NULL;

	if (username == NULL || password == NULL) {
		gh_reply_oauth_error(c, 400, "invalid_request", "username and password are required");
		return;
	}
	switch (km_oauth_user_check(c, db, cl, username, password, &user, &tenant)) {
	case 0:
		user_tokens(c, db, cl, user, tenant, scope);
		break;
	case 2:
		gh_reply_oauth_error(c, 400, "invalid_grant",
		    "account locked: too many failed sign-ins; try again later");
		break;
	case 1:
		gh_reply_oauth_error(c, 400, "invalid_grant", "Invalid user name or password");
		break;
	default:
		gh_reply_oauth_error(c, 503, "temporarily_unavailable", "The user store is unavailable; try again shortly");
		break;
	}
	free(user);
	free(tenant);
}

/* Refuse inside an open transaction: roll back, then reply. */
static void
tx_refuse(struct gh_call *c, struct gh_pg *db, int status, const char *error, const char *why)
{
	gh_pg_tx_rollback(db);
	gh_reply_oauth_error(c, status, error, why);
}

/* Revoke a family because of a replayed code or refresh token, commit, refuse the request. */
static void
replay_refuse(struct gh_call *c, struct gh_pg *db, const char *family, const char *tenant,
    const char *client_id, const char *reason, const char *why)
{
	if (km_family_revoke(db, c, family, tenant, client_id, reason) < 0) {
		gh_log_error("family_revoke", c->request_id, "%s", gh_pg_errmsg(db));
		tx_refuse(c, db, 500, "server_error", "The token family could not be revoked");
		return;
	}
	if (gh_pg_tx_commit(db) != 0) {
		gh_reply_oauth_error(c, 500, "server_error", "The token family could not be revoked");
		return;
	}
	gh_reply_oauth_error(c, 400, "invalid_grant", why);
}

static void
grant_authorization_code(struct gh_call *c, struct gh_pg *db, const struct gh_form *f,
    const struct km_client *cl)
{
	const char *code = gh_form_get(f, "code"), *redirect = gh_form_get(f, "redirect_uri");
	const char *verifier = gh_form_get(f, "code_verifier");
	const char *p[1];
	char hash[65];
	PGresult *res = NULL;

	if (code == NULL || code[0] == '\0' || redirect == NULL || verifier == NULL) {
		gh_reply_oauth_error(c, 400, "invalid_request",
		    "code, redirect_uri and code_verifier are required");
		return;
	}
	gh_sha256_hex(code, strlen(code), hash);
	p[0] = hash;
	if (gh_pg_tx_begin(db, 0) != 0) {
		gh_reply_oauth_error(c, 500, "server_error", "Database unavailable");
		return;
	}
	res = gh_pg_exec(db, "SELECT client_id, subject, tenant, redirect_uri, code_challenge, scope, "
	    "family_id, (used_at IS NOT NULL)::int, (expires_at > now())::int "
	    "FROM gh_auth_codes WHERE code_hash = $1 FOR UPDATE", 1, p);
	if (res == NULL) {
		tx_refuse(c, db, 500, "server_error", "Database unavailable");
		goto out;
	}
	if (gh_pg_nrows(res) != 1 || strcmp(gh_pg_get(res, 0, 0), cl->client_id) != 0) {
		tx_refuse(c, db, 400, "invalid_grant", "Unknown authorization code");
		goto out;
	}
	if (strcmp(gh_pg_get(res, 0, 7), "1") == 0) {
		replay_refuse(c, db, gh_pg_get(res, 0, 6), gh_pg_get(res, 0, 2), cl->client_id,
		    "authorization code reused",
		    "The authorization code was already used; the tokens issued with it are revoked");
		goto out;
	}
	if (strcmp(gh_pg_get(res, 0, 8), "1") != 0) {
		tx_refuse(c, db, 400, "invalid_grant", "The authorization code has expired");
		goto out;
	}
	if (strcmp(gh_pg_get(res, 0, 3), redirect) != 0) {
		tx_refuse(c, db, 400, "invalid_grant",
		    "redirect_uri differs from the one of the authorization request");
		goto out;
	}
	if (!km_pkce_s256_ok(verifier, gh_pg_get(res, 0, 4))) {
		tx_refuse(c, db, 400, "invalid_grant", "PKCE verification failed (code_verifier)");
		goto out;
	}
	if (gh_pg_cmd(db, "UPDATE gh_auth_codes SET used_at = now() WHERE code_hash = $1", 1, p, NULL) != 0) {
		tx_refuse(c, db, 500, "server_error", "Database unavailable");
		goto out;
	} else {
		const char *scope = gh_pg_get(res, 0, 5);
		struct km_grant g = { .client = cl, .subject = gh_pg_get(res, 0, 1),
			.tenant = gh_pg_get(res, 0, 2), .scope = scope[0] ? scope : "default",
			.family_id = gh_pg_get(res, 0, 6),
			.with_refresh = km_client_allows_grant(cl, "refresh_token") };
		if (km_mint_reply(c, db, &g) != 0) {
			gh_pg_tx_rollback(db);
			goto out;
		}
		if (gh_pg_tx_commit(db) != 0)
			gh_reply_oauth_error(c, 500, "server_error", "The token could not be issued");
	}
out:
	if (res != NULL)
		PQclear(res);
	explicit_bzero(hash, sizeof(hash));
}

/* 1 when every token of want is one of have's (space-separated). */
static int
scope_subset(const char *want, const char *have)
{
	char *copy = strdup(want), *save = NULL;
	int ok = copy != NULL;

	for (char *s = ok ? strtok_r(copy, " ", &save) : NULL; s != NULL && ok; s = strtok_r(NULL, " ", &save)) {
		size_t n = strlen(s);
		const char *p = have;
		int found = 0;
		while (!found && (p = strstr(p, s)) != NULL) {
			found = (p == have || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0');
			p++;
		}
		ok = found;
	}
	free(copy);
	return ok;
}

static void
grant_refresh_token(struct gh_call *c, struct gh_pg *db, const struct gh_form *f,
    const struct km_client *cl, const char *scope)
{
	const char *token = gh_form_get(f, "refresh_token");
	char hash[65], nb[24];
	const char *p[2] = { hash, nb };
	PGresult *res = NULL;

	if (token == NULL || token[0] == '\0') {
		gh_reply_oauth_error(c, 400, "invalid_request", "refresh_token is required");
		return;
	}
	gh_sha256_hex(token, strlen(token), hash);
	gh_pg_i64(nb, cl->not_before);
	if (gh_pg_tx_begin(db, 0) != 0) {
		gh_reply_oauth_error(c, 500, "server_error", "Database unavailable");
		return;
	}
	res = gh_pg_exec(db, "SELECT client_id, family_id, subject, tenant, scope, status, "
	    "(expires_at > now())::int, (created_at >= to_timestamp($2::bigint))::int "
	    "FROM gh_refresh_tokens WHERE token_hash = $1 FOR UPDATE", 2, p);
	if (res == NULL) {
		tx_refuse(c, db, 500, "server_error", "Database unavailable");
		goto out;
	}
	if (gh_pg_nrows(res) != 1 || strcmp(gh_pg_get(res, 0, 0), cl->client_id) != 0) {
		tx_refuse(c, db, 400, "invalid_grant", "Unknown refresh token");
		goto out;
	}
	if (strcmp(gh_pg_get(res, 0, 5), "rotated") == 0) {
		replay_refuse(c, db, gh_pg_get(res, 0, 1), gh_pg_get(res, 0, 3), cl->client_id,
		    "refresh token reused",
		    "The refresh token was already used; its whole family is revoked");
		goto out;
	}
	if (strcmp(gh_pg_get(res, 0, 5), "active") != 0 || strcmp(gh_pg_get(res, 0, 7), "1") != 0) {
		tx_refuse(c, db, 400, "invalid_grant", "The refresh token is revoked");
		goto out;
	}
	if (strcmp(gh_pg_get(res, 0, 6), "1") != 0) {
		tx_refuse(c, db, 400, "invalid_grant", "The refresh token has expired");
		goto out;
	}
	if (scope != NULL && scope[0] != '\0' && !scope_subset(scope, gh_pg_get(res, 0, 4))) {
		tx_refuse(c, db, 400, "invalid_scope", "The requested scope exceeds the original grant");
		goto out;
	}
	if (gh_pg_cmd(db, "UPDATE gh_refresh_tokens SET status = 'rotated' WHERE token_hash = $1",
	    1, p, NULL) != 0) {
		tx_refuse(c, db, 500, "server_error", "Database unavailable");
		goto out;
	} else {
		struct km_grant g = { .client = cl, .subject = gh_pg_get(res, 0, 2),
			.tenant = gh_pg_get(res, 0, 3),
			.scope = scope != NULL && scope[0] != '\0' ? scope : gh_pg_get(res, 0, 4),
			.family_id = gh_pg_get(res, 0, 1), .with_refresh = 1 };
		if (km_mint_reply(c, db, &g) != 0) {
			gh_pg_tx_rollback(db);
			goto out;
		}
		if (gh_pg_tx_commit(db) != 0)
			gh_reply_oauth_error(c, 500, "server_error", "The token could not be issued");
	}
out:
	if (res != NULL)
		PQclear(res);
	explicit_bzero(hash, sizeof(hash));
}

const char *
km_form_repeated(const struct gh_form *f)
{
	for (size_t i = 0; i < f->count; i++)
		if (gh_form_count(f, f->pairs[i].name) > 1)
			return f->pairs[i].name;
	return NULL;
}

int
km_oauth_form_parse(struct gh_call *c, struct gh_form *f)
{
	const char *rep;

	memset(f, 0, sizeof(*f));
	if (!gh_call_ctype_is(c, "application/x-www-form-urlencoded")) {
		gh_reply_oauth_error(c, 400, "invalid_request",
		    "The body must be application/x-www-form-urlencoded");
		return -1;
	}
	if (gh_form_parse(c->body ? c->body : "", c->body_len, FORM_MAX_PAIRS, f) != 0) {
		gh_form_free(f);
		gh_reply_oauth_error(c, 400, "invalid_request", "Malformed form body");
		return -1;
	}
	if ((rep = km_form_repeated(f)) != NULL) {
		char why[128];
		snprintf(why, sizeof(why), "Parameter %.64s is repeated", rep);
		gh_form_free(f);
		gh_reply_oauth_error(c, 400, "invalid_request", why);
		return -1;
	}
	return 0;
}

static void
token_endpoint(struct gh_call *c, struct gh_pg *db)
{
	struct gh_form f = { 0 };
	struct km_client cl;
	const char *gt, *scope;

	memset(&cl, 0, sizeof(cl));
	if (km_oauth_form_parse(c, &f) != 0)
		goto out;
	if (km_client_authenticate(c, db, &f, &cl) != 0)
		goto out;
	gt = gh_form_get(&f, "grant_type");
	scope = gh_form_get(&f, "scope");
	if (gt == NULL || gt[0] == '\0') {
		gh_reply_oauth_error(c, 400, "invalid_request", "grant_type is required");
		goto out;
	}
	if (strcmp(gt, "client_credentials") != 0 && strcmp(gt, "password") != 0 &&
	    strcmp(gt, "authorization_code") != 0 && strcmp(gt, "refresh_token") != 0) {
		gh_reply_oauth_error(c, 400, "unsupported_grant_type", "Unsupported grant_type");
		goto out;
	}
	if (!km_client_allows_grant(&cl, gt)) {
		gh_reply_oauth_error(c, 400, "unauthorized_client",
		    "The client is not registered for this grant type");
		goto out;
	}
	if (!km_scope_syntax_ok(scope)) {
		gh_reply_oauth_error(c, 400, "invalid_scope", "Malformed scope");
		goto out;
	}
	if (strcmp(gt, "client_credentials") == 0)
		grant_client_credentials(c, db, &cl, scope);
	else if (strcmp(gt, "password") == 0)
		grant_password(c, db, &f, &cl, scope);
	else if (strcmp(gt, "authorization_code") == 0)
		grant_authorization_code(c, db, &f, &cl);
	else
		grant_refresh_token(c, db, &f, &cl, scope);
out:
	if (c->status >= 400 && c->status < 500)
		KM_COUNT(token_errors);
	km_client_clear(&cl);
	for (size_t i = 0; i < f.count; i++)
		explicit_bzero(f.pairs[i].value, strlen(f.pairs[i].value));
	gh_form_free(&f);
}

/*
 * The loop's fast path: client_credentials without a scope for a cached
 * JWT client, when the signature is cheap (ECDSA, EdDSA: tens of
 * microseconds).  Such a token needs neither the database nor LDAP, so
 * handing it to a worker would cost more than making it.  RSA signatures
 * stay on the workers, where they run in parallel.  Anything else, and
 * every failure, goes to token_endpoint on a worker, which counts
 * failures and audits.
 */
static int
token_fast(struct gh_call *c)
{
	struct gh_form f = { 0 };
	struct km_client cl;
	const char *gt, *scope;
	int done = 0;

	memset(&cl, 0, sizeof(cl));
	if (km.token_alg == GH_JOSE_RS256 || !km_keys_fresh(KM_KEYS_SIGN_MAX_AGE_MS) ||
	    !gh_call_ctype_is(c, "application/x-www-form-urlencoded") ||
	    gh_form_parse(c->body ? c->body : "", c->body_len, FORM_MAX_PAIRS, &f) != 0)
		goto out;
	gt = gh_form_get(&f, "grant_type");
	scope = gh_form_get(&f, "scope");
	if (gt == NULL || strcmp(gt, "client_credentials") != 0 || (scope != NULL && scope[0] != '\0') ||
	    km_form_repeated(&f) != NULL || km_client_authenticate_cached(c, &f, &cl) != 0)
		goto out;
	if (km_client_allows_grant(&cl, "client_credentials") && strcmp(cl.token_type, "JWT") == 0) {
		struct km_grant g = { .client = &cl, .subject = cl.owner, .tenant = cl.tenant,
			.scope = "default" };
		done = km_mint_reply(c, NULL, &g) == 0;
	}
out:
	km_client_clear(&cl);
	for (size_t i = 0; i < f.count; i++)
		explicit_bzero(f.pairs[i].value, strlen(f.pairs[i].value));
	gh_form_free(&f);
	return done;
}

void
km_oauth_routes(struct gh_router *pub)
{
	gh_call_route_fast(pub, "POST", "/oauth2/token", token_fast, token_endpoint);
	km_authorize_routes(pub);
}
