/*
 * Web UI sessions, sign-in pre-sessions and login clients (gh_web.h).
 * Every row of gh_web_sessions is keyed by the SHA-256 of the cookie's
 * value; the CSRF token is an HMAC of the session id, stored hashed; the
 * tokens kept for logout are sealed under a key derived from
 * keys.signing_kek and the session id, so neither a database dump nor the
 * key alone opens them.  The login clients' secrets are sealed under the
 * same key with another label.  Also the UIs' security headers and the
 * embedded assets' replies.  Process state (UI, cookie, key) is set once
 * by gh_web_init and only read afterwards.
 */
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "core/gh_pki.h"
#include "pg/gh_web.h"

#define SID_MIN 32
#define SID_MAX 100

static struct {
	char ui[32];
	char cookie[64];
	unsigned char kek[GH_WEB_KEYLEN];
	int ready;
} web;

void
gh_web_init(const char *ui, const char *cookie, const unsigned char *kek)
{
	snprintf(web.ui, sizeof(web.ui), "%s", ui);
	snprintf(web.cookie, sizeof(web.cookie), "%s", cookie);
	if (kek != NULL) {
		memcpy(web.kek, kek, GH_WEB_KEYLEN);
		web.ready = 1;
	}
}

const char *
gh_web_cookie_name(void)
{
	return web.ready && web.cookie[0] ? web.cookie : NULL;
}

int
gh_web_ready(void)
{
	return web.ready;
}

/* HMAC-SHA256(kek, label || extra) into out.  0 or -1. */
static int
derive(const unsigned char *kek, const char *label, const char *extra, unsigned char out[32])
{
	unsigned int len = 32;
	size_t ll = strlen(label), el = extra ? strlen(extra) : 0;
	unsigned char *msg = malloc(ll + el + 1);
	int ok;

	if (msg == NULL)
		return -1;
	memcpy(msg, label, ll);
	if (el)
		memcpy(msg + ll, extra, el);
	ok = HMAC(EVP_sha256(), kek, GH_WEB_KEYLEN, msg, ll + el, out, &len) != NULL;
	free(msg);
	return ok ? 0 : -1;
}

/* Seal text under (label, extra): base64 text (malloc'd) or NULL. */
static char *
seal(const unsigned char *kek, const char *label, const char *extra, const char *aad, const char *text)
{
	unsigned char key[32], *box = NULL;
	size_t blen = 0;
	char *out = NULL;

	if (derive(kek, label, extra, key) == 0 &&
	    gh_secretbox_seal(key, aad, strlen(aad), text, strlen(text), &box, &blen) == 0)
		out = gh_b64_encode(box, blen);
	explicit_bzero(key, sizeof(key));
	free(box);
	return out;
}

/* Open what seal made: the text (malloc'd, gh_free_secret) or NULL. */
static char *
unseal(const unsigned char *kek, const char *label, const char *extra, const char *aad, const char *b64)
{
	unsigned char key[32], *box = NULL, *pt = NULL;
	size_t blen = 0, plen = 0;
	int rc = -1;

	if (b64 == NULL || gh_b64_decode(b64, strlen(b64), &box, &blen) != 0)
		return NULL;
	if (derive(kek, label, extra, key) == 0)
		rc = gh_secretbox_open(key, aad, strlen(aad), box, blen, &pt, &plen);
	explicit_bzero(key, sizeof(key));
	free(box);
	return rc == 0 ? (char *)pt : NULL;
}

char *
gh_web_cookie_get(const struct gh_call *c, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < c->nheaders; i++) {
		const char *p;
		if (strcasecmp(c->headers[i].name, "Cookie") != 0)
			continue;
		for (p = c->headers[i].value; p != NULL && *p; ) {
			while (*p == ' ' || *p == ';')
				p++;
			if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
				const char *v = p + nl + 1, *end = strchr(v, ';');
				return strndup(v, end ? (size_t)(end - v) : strlen(v));
			}
			p = strchr(p, ';');
		}
	}
	return NULL;
}

int
gh_web_has_credentials(const struct gh_call *c)
{
	char *v;

	if (gh_call_header(c, "Authorization") != NULL)
		return 1;
	if (gh_web_cookie_name() == NULL || (v = gh_web_cookie_get(c, web.cookie)) == NULL)
		return 0;
	gh_free_secret(v);
	return 1;
}

void
gh_web_set_cookie(struct gh_call *c, const char *name, const char *value, int max_age)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s=%s; Path=/; Max-Age=%d; Secure; HttpOnly; SameSite=Lax", name,
	    value ? value : "", value ? max_age : 0);
	gh_reply_header(c, "Set-Cookie", buf);
	explicit_bzero(buf, sizeof(buf));
}

static int
sid_ok(const char *s)
{
	return s != NULL && strlen(s) >= SID_MIN && strlen(s) <= SID_MAX && gh_body_chars_ok(s, SID_MAX, "-_");
}

int
gh_web_csrf_token(const char *sid, char out[44])
{
	unsigned char mac[32];
	char *b;

	if (!web.ready || derive(web.kek, "gatehouse web-csrf v1:", sid, mac) != 0)
		return -1;
	b = gh_b64url_encode(mac, sizeof(mac));
	explicit_bzero(mac, sizeof(mac));
	if (b == NULL)
		return -1;
	snprintf(out, 44, "%s", b);
	gh_free_secret(b);
	return 0;
}

static int
state_changing(const char *m)
{
	return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0;
}

static void
reply_no_session(struct gh_call *c)
{
	gh_reply_error(c, 401, "Unauthorized", "The session has ended or does not exist; sign in again");
	gh_web_set_cookie(c, web.cookie, NULL, 0);
}

int
gh_web_session_auth(struct gh_call *c, struct gh_pg *db, struct gh_principal *out)
{
	char *sid = gh_web_cookie_get(c, web.cookie), hash[65], idle[24], hh[65];
	const char *p[3] = { hash, web.ui, gh_pg_i64(idle, GH_WEB_IDLE_SECONDS) }, *h;
	PGresult *res = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!web.ready || !sid_ok(sid)) {
		reply_no_session(c);
		goto out;
	}
	gh_sha256_hex(sid, strlen(sid), hash);
	res = gh_pg_exec(db, "UPDATE gh_web_sessions SET last_seen = now() WHERE id_hash = $1 AND ui = $2 "
	    "AND kind = 'session' AND expires_at > now() AND last_seen > now() - make_interval(secs => $3::bigint) "
	    "RETURNING subject, username, tenant, scope, client_id, jti, token_iat, csrf_hash, "
	    "extract(epoch FROM expires_at)::bigint", 3, p);
	if (res == NULL) {
		gh_log_error("web", c->request_id, "session lookup: %s", gh_pg_errmsg(db));
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
		goto out;
	}
	if (gh_pg_nrows(res) != 1) {
		reply_no_session(c);
		goto out;
	}
	if (state_changing(c->method)) {
		h = gh_call_header(c, GH_WEB_CSRF_HEADER);
		if (h == NULL || gh_sha256_hex(h, strlen(h), hh) != 0 || !gh_ct_streq(hh, gh_pg_get(res, 0, 7))) {
			gh_log_warn("web", c->request_id, "%s %s: CSRF token %s", c->method, c->path,
			    h == NULL ? "missing" : "wrong");
			gh_reply_error(c, 403, "Forbidden", "The X-CSRF-Token header is missing or wrong");
			goto out;
		}
	}
	snprintf(out->sub, sizeof(out->sub), "%s", gh_pg_get(res, 0, 0));
	snprintf(out->user, sizeof(out->user), "%s", gh_pg_get(res, 0, 1));
	snprintf(out->tenant, sizeof(out->tenant), "%s", gh_pg_get(res, 0, 2));
	snprintf(out->client_id, sizeof(out->client_id), "%s", gh_pg_get(res, 0, 4));
	snprintf(out->jti, sizeof(out->jti), "%s", gh_pg_get(res, 0, 5));
	gh_pg_get_int64(res, 0, 6, &out->iat);
	gh_pg_get_int64(res, 0, 8, &out->exp);
	out->scope = strdup(gh_pg_get(res, 0, 3) ? gh_pg_get(res, 0, 3) : "");
	if (out->scope == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	if (sid != NULL)
		gh_free_secret(sid);
	return rc;
}

/* Drop expired rows (every kind); failures only logged. */
static void
prune(struct gh_pg *db)
{
	char idle[24];
	const char *p[1] = { gh_pg_i64(idle, GH_WEB_IDLE_SECONDS) };

	if (gh_pg_cmd(db, "DELETE FROM gh_web_sessions WHERE expires_at < now() OR (kind = 'session' "
	    "AND last_seen < now() - make_interval(secs => $1::bigint))", 1, p, NULL) != 0)
		gh_log_warn("web", NULL, "expired sessions not pruned: %s", gh_pg_errmsg(db));
}

char *
gh_web_session_create(struct gh_pg *db, const struct gh_principal *p, const char *access_token,
    const char *refresh_token)
{
	char *sid = gh_random_b64url(32), *sealed = NULL, hash[65], csrf[44], chash[65], iat[24], ttl[24];
	struct json_object *t = json_object_new_object();
	const char *q[12];

	if (sid == NULL || !web.ready)
		goto fail;
	gh_sha256_hex(sid, strlen(sid), hash);
	if (gh_web_csrf_token(sid, csrf) != 0)
		goto fail;
	gh_sha256_hex(csrf, strlen(csrf), chash);
	json_object_object_add(t, "at", json_object_new_string(access_token ? access_token : ""));
	json_object_object_add(t, "rt", json_object_new_string(refresh_token ? refresh_token : ""));
	sealed = seal(web.kek, "gatehouse web-session v1:", sid, hash,
	    json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN));
	if (sealed == NULL)
		goto fail;
	prune(db);
	q[0] = hash; q[1] = web.ui; q[2] = p->sub; q[3] = p->user; q[4] = p->tenant;
	q[5] = p->scope ? p->scope : ""; q[6] = p->client_id; q[7] = p->jti;
	q[8] = gh_pg_i64(iat, p->iat); q[9] = chash; q[10] = sealed; q[11] = gh_pg_i64(ttl, GH_WEB_ABS_SECONDS);
	if (gh_pg_cmd(db, "INSERT INTO gh_web_sessions (id_hash, ui, kind, subject, username, tenant, scope, "
	    "client_id, jti, token_iat, csrf_hash, sealed, expires_at) VALUES ($1, $2, 'session', $3, $4, $5, "
	    "$6, $7, $8, $9::bigint, $10, $11, now() + make_interval(secs => $12::bigint))", 12, q, NULL) != 0)
		goto fail;
	json_object_put(t);
	gh_free_secret(sealed);
	return sid;
fail:
	if (t != NULL) {
		/* the token strings are inside: nothing else holds them */
		json_object_put(t);
	}
	if (sealed != NULL)
		gh_free_secret(sealed);
	if (sid != NULL)
		gh_free_secret(sid);
	return NULL;
}

int
gh_web_session_delete(struct gh_pg *db, const char *sid, char **access_token, char **refresh_token)
{
	char hash[65], *text = NULL;
	const char *p[2] = { hash, web.ui };
	struct json_object *o = NULL;
	PGresult *res;
	int rc;

	if (access_token)
		*access_token = NULL;
	if (refresh_token)
		*refresh_token = NULL;
	if (!sid_ok(sid))
		return 1;
	gh_sha256_hex(sid, strlen(sid), hash);
	res = gh_pg_exec(db, "DELETE FROM gh_web_sessions WHERE id_hash = $1 AND ui = $2 AND kind = 'session' "
	    "RETURNING sealed", 2, p);
	if (res == NULL)
		return -1;
	rc = gh_pg_nrows(res) == 1 ? 0 : 1;
	if (rc == 0 && web.ready)
		text = unseal(web.kek, "gatehouse web-session v1:", sid, hash, gh_pg_get(res, 0, 0));
	PQclear(res);
	if (text != NULL) {
		const char *why, *v;
		o = gh_json_parse_object(text, strlen(text), &why);
		gh_free_secret(text);
		if (access_token && (v = gh_json_str(o, "at")) != NULL && v[0])
			*access_token = strdup(v);
		if (refresh_token && (v = gh_json_str(o, "rt")) != NULL && v[0])
			*refresh_token = strdup(v);
		json_object_put(o);
	}
	return rc;
}

char *
gh_web_login_begin(struct gh_pg *db, const char *return_to, char **state, char **challenge)
{
	char *pid = gh_random_b64url(32), *verifier = gh_random_b64url(32), *sealed = NULL;
	char hash[65], shash[65], ttl[24];
	unsigned char dig[32];
	const char *q[6];

	*state = gh_random_b64url(24);
	*challenge = NULL;
	if (pid == NULL || verifier == NULL || *state == NULL || !web.ready)
		goto fail;
	gh_sha256(verifier, strlen(verifier), dig);
	*challenge = gh_b64url_encode(dig, sizeof(dig));
	gh_sha256_hex(pid, strlen(pid), hash);
	gh_sha256_hex(*state, strlen(*state), shash);
	sealed = seal(web.kek, "gatehouse web-login v1:", pid, hash, verifier);
	if (*challenge == NULL || sealed == NULL)
		goto fail;
	prune(db);
	q[0] = hash; q[1] = web.ui; q[2] = shash; q[3] = return_to; q[4] = sealed;
	q[5] = gh_pg_i64(ttl, GH_WEB_LOGIN_SECONDS);
	if (gh_pg_cmd(db, "INSERT INTO gh_web_sessions (id_hash, ui, kind, state_hash, return_to, sealed, "
	    "expires_at) VALUES ($1, $2, 'login', $3, $4, $5, now() + make_interval(secs => $6::bigint))",
	    6, q, NULL) != 0)
		goto fail;
	gh_free_secret(verifier);
	gh_free_secret(sealed);
	return pid;
fail:
	free(*state);
	free(*challenge);
	*state = *challenge = NULL;
	if (pid != NULL)
		gh_free_secret(pid);
	if (verifier != NULL)
		gh_free_secret(verifier);
	if (sealed != NULL)
		gh_free_secret(sealed);
	return NULL;
}

int
gh_web_login_take(struct gh_pg *db, const char *id, const char *state, char **verifier,
    char **return_to)
{
	char hash[65], shash[65];
	const char *p[3] = { hash, web.ui, shash };
	PGresult *res;
	int rc = 1;

	*verifier = *return_to = NULL;
	if (!sid_ok(id) || state == NULL || !web.ready)
		return 1;
	gh_sha256_hex(id, strlen(id), hash);
	gh_sha256_hex(state, strlen(state), shash);
	res = gh_pg_exec(db, "DELETE FROM gh_web_sessions WHERE id_hash = $1 AND ui = $2 AND kind = 'login' "
	    "AND state_hash = $3 AND expires_at > now() RETURNING sealed, return_to", 3, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) == 1) {
		*verifier = unseal(web.kek, "gatehouse web-login v1:", id, hash, gh_pg_get(res, 0, 0));
		*return_to = strdup(gh_pg_get(res, 0, 1) ? gh_pg_get(res, 0, 1) : "/");
		rc = *verifier != NULL && *return_to != NULL ? 0 : -1;
		if (rc != 0) {
			if (*verifier != NULL)
				gh_free_secret(*verifier);
			free(*return_to);
			*verifier = *return_to = NULL;
		}
	}
	PQclear(res);
	return rc;
}

int
gh_web_client_get(struct gh_pg *db, const char *ui, char **client_id, char **secret, char **redirects)
{
	const char *p[1] = { ui };
	PGresult *res;
	int rc = 1;

	*client_id = *secret = *redirects = NULL;
	if (!web.ready)
		return -1;
	res = gh_pg_exec(db, "SELECT w.client_id, w.secret_sealed, w.redirect_uris FROM gh_web_clients w "
	    "JOIN gh_oauth_clients o ON o.client_id = w.client_id WHERE w.ui = $1", 1, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) == 1) {
		*client_id = strdup(gh_pg_get(res, 0, 0));
		*secret = unseal(web.kek, "gatehouse web-client v1:", ui, ui, gh_pg_get(res, 0, 1));
		*redirects = strdup(gh_pg_get(res, 0, 2));
		rc = *client_id && *secret && *redirects ? 0 : -1;
		if (rc != 0) {
			free(*client_id);
			if (*secret != NULL)
				gh_free_secret(*secret);
			free(*redirects);
			*client_id = *secret = *redirects = NULL;
		}
	}
	PQclear(res);
	return rc;
}

/* The key manager's callback_url for a space-separated list: one URI, or regexp=(a|b). */
static char *
callback_url(const char *redirects)
{
	size_t cap = strlen(redirects) * 2 + 16, n = 0;
	char *out = malloc(cap);
	int several = strchr(redirects, ' ') != NULL;

	if (out == NULL)
		return NULL;
	if (!several) {
		snprintf(out, cap, "%s", redirects);
		return out;
	}
	n = (size_t)snprintf(out, cap, "regexp=(");
	for (const char *s = redirects; *s; s++) {
		if (*s == ' ') {
			out[n++] = '|';
			continue;
		}
		if (strchr("\\|()", *s) != NULL)
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = ')';
	out[n] = '\0';
	return out;
}

int
gh_web_client_register(struct gh_pg *db, const unsigned char kek[GH_WEB_KEYLEN], const char *ui,
    const char *client_id, const char *redirects)
{
	const char *p[6], *w[4];
	char *cb = callback_url(redirects), *secret = NULL, *sealed = NULL, shash[65];
	PGresult *res = NULL;
	int rc = -1;

	if (cb == NULL || redirects[0] == '\0')
		goto out;
	p[0] = ui;
	res = gh_pg_exec(db, "SELECT w.redirect_uris, o.callback_url FROM gh_web_clients w JOIN gh_oauth_clients o "
	    "ON o.client_id = w.client_id WHERE w.ui = $1", 1, p);
	if (res == NULL)
		goto out;
	if (gh_pg_nrows(res) == 1) {
		if (strcmp(gh_pg_get(res, 0, 0), redirects) == 0 && gh_pg_get(res, 0, 1) != NULL &&
		    strcmp(gh_pg_get(res, 0, 1), cb) == 0) {
			rc = 0;
			goto out;
		}
		p[0] = ui; p[1] = cb;
		w[0] = ui; w[1] = redirects;
		if (gh_pg_tx_begin(db, 0) != 0)
			goto out;
		if (gh_pg_cmd(db, "UPDATE gh_oauth_clients SET callback_url = $2, updated_at = now() "
		    "WHERE client_id = (SELECT client_id FROM gh_web_clients WHERE ui = $1)", 2, p, NULL) != 0 ||
		    gh_pg_cmd(db, "UPDATE gh_web_clients SET redirect_uris = $2, updated_at = now() WHERE ui = $1",
		    2, w, NULL) != 0 || gh_pg_tx_commit(db) != 0) {
			gh_pg_tx_rollback(db);
			goto out;
		}
		rc = 2;
		goto out;
	}
	secret = gh_random_b64url(32);
	if (secret == NULL)
		goto out;
	gh_sha256_hex(secret, strlen(secret), shash);
	sealed = seal(kek, "gatehouse web-client v1:", ui, ui, secret);
	if (sealed == NULL)
		goto out;
	p[0] = client_id; p[1] = shash; p[2] = cb; p[3] = ui;
	w[0] = ui; w[1] = client_id; w[2] = sealed; w[3] = redirects;
	if (gh_pg_tx_begin(db, 0) != 0)
		goto out;
	if (gh_pg_cmd(db, "DELETE FROM gh_web_clients WHERE ui = $1", 1, p + 3, NULL) != 0 ||
	    gh_pg_cmd(db, "DELETE FROM gh_oauth_clients WHERE client_id = $1", 1, p, NULL) != 0 ||
	    gh_pg_cmd(db, "INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, "
	    "grant_types, callback_url, audience, saas) VALUES ($1, $2, 'carbon.super', 'admin', $1, "
	    "ARRAY['authorization_code', 'refresh_token'], $3, 'gatehouse-management', true)", 3, p, NULL) != 0 ||
	    gh_pg_cmd(db, "INSERT INTO gh_web_clients (ui, client_id, secret_sealed, redirect_uris) "
	    "VALUES ($1, $2, $3, $4)", 4, w, NULL) != 0 || gh_pg_tx_commit(db) != 0) {
		gh_pg_tx_rollback(db);
		goto out;
	}
	rc = 1;
out:
	PQclear(res);
	free(cb);
	if (secret != NULL)
		gh_free_secret(secret);
	if (sealed != NULL)
		gh_free_secret(sealed);
	explicit_bzero(shash, sizeof(shash));
	return rc;
}

void
gh_web_security_headers(struct gh_call *c)
{
	gh_reply_header(c, "Content-Security-Policy", "default-src 'none'; script-src 'self'; "
	    "style-src 'self'; img-src 'self' data:; connect-src 'self' https:; form-action 'self'; "
	    "base-uri 'none'; frame-ancestors 'none'");
	gh_reply_header(c, "X-Content-Type-Options", "nosniff");
	gh_reply_header(c, "Referrer-Policy", "same-origin");
	gh_reply_header(c, "X-Frame-Options", "DENY");
}

void
gh_web_asset_reply(struct gh_call *c, const struct gh_web_asset *assets, size_t n, const char *name)
{
	const char *inm = gh_call_header(c, "If-None-Match");

	for (size_t i = 0; name != NULL && i < n; i++) {
		if (strcmp(assets[i].name, name) != 0)
			continue;
		if (inm != NULL && strcmp(inm, assets[i].etag) == 0)
			gh_reply_raw(c, 304, NULL, NULL, 0);
		else
			gh_reply_raw(c, 200, assets[i].ctype, (const char *)assets[i].data, assets[i].len);
		gh_reply_header(c, "ETag", assets[i].etag);
		gh_reply_header(c, "Cache-Control", "no-cache");
		gh_web_security_headers(c);
		return;
	}
	gh_reply_error(c, 404, "Not Found", "No such file");
	gh_web_security_headers(c);
}
