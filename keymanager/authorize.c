/*
 * GET and POST /oauth2/authorize: the authorization code flow's front
 * door (RFC 6749 §4.1 with PKCE S256 required, RFC 7636).  A request with
 * a known client and its exact redirect_uri gets the sign-in page; errors
 * before that point get an HTML error page, never a redirect, and later
 * ones go back to the client by redirect (§4.1.2.1).  The page carries
 * the request as a stateless "sessionDataKey" (base64url JSON with an
 * expiry, HMAC-SHA256 under a key derived from km.kek) and an anti-CSRF
 * token that must also come back in a cookie.  The sign-in form POSTs to
 * the same path with sessionDataKey; on success a code (random, stored as
 * SHA-256) is issued and the browser is redirected with code and state.
 */
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "keymanager/oauth.h"
#include "pg/gh_web.h"

#define SESSION_TTL 600                 /* seconds a sign-in page stays usable */
#define SESSION_MAX 16384               /* bytes of a sessionDataKey */
#define PARAM_MAX 2048                  /* bytes of redirect_uri, state, scope */
#define CSRF_COOKIE "__Host-gh_authz_csrf"
#define FORM_MAX_PAIRS 64

/* The authorization request, as carried by the sign-in page. */
struct authz {
	char *client_id, *redirect_uri, *state, *scope, *challenge, *csrf;
};

static void
authz_clear(struct authz *a)
{
	free(a->client_id);
	free(a->redirect_uri);
	free(a->state);
	free(a->scope);
	free(a->challenge);
	free(a->csrf);
	memset(a, 0, sizeof(*a));
}

/* ---- the signed session ---- */

static int
session_mac(const char *payload, size_t len, unsigned char mac[32])
{
	static const char label[] = "gatehouse authorize-session v1";
	unsigned char key[32];
	unsigned int klen = sizeof(key), mlen = 32;
	int ok;

	ok = HMAC(EVP_sha256(), km.kek, sizeof(km.kek), (const unsigned char *)label, sizeof(label) - 1,
	    key, &klen) != NULL &&
	    HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)payload, len, mac, &mlen) != NULL;
	explicit_bzero(key, sizeof(key));
	return ok ? 0 : -1;
}

static void
json_add_str(struct json_object *o, const char *k, const char *v)
{
	if (v != NULL)
		json_object_object_add(o, k, json_object_new_string(v));
}

/* base64url(JSON) "." base64url(HMAC); malloc'd or NULL. */
static char *
session_seal(const struct authz *a)
{
	struct json_object *o = json_object_new_object();
	unsigned char mac[32];
	char *payload = NULL, *m = NULL, *out = NULL;
	const char *js;
	size_t n;

	json_add_str(o, "c", a->client_id);
	json_add_str(o, "r", a->redirect_uri);
	json_add_str(o, "s", a->state);
	json_add_str(o, "sc", a->scope);
	json_add_str(o, "cc", a->challenge);
	json_add_str(o, "k", a->csrf);
	json_object_object_add(o, "e", json_object_new_int64((int64_t)time(NULL) + SESSION_TTL));
	js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	payload = gh_b64url_encode(js, strlen(js));
	if (payload == NULL || session_mac(payload, strlen(payload), mac) != 0)
		goto out;
	m = gh_b64url_encode(mac, sizeof(mac));
	if (m == NULL)
		goto out;
	n = strlen(payload) + strlen(m) + 2;
	out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s.%s", payload, m);
out:
	json_object_put(o);
	free(payload);
	free(m);
	return out;
}

static char *
json_dup(struct json_object *o, const char *k)
{
	const char *v = gh_json_str(o, k);

	return v ? strdup(v) : NULL;
}

/* Verify and open a sessionDataKey into *a.  0 ok, -1 forged, malformed or expired. */
static int
session_open(const char *key, struct authz *a)
{
	const char *dot, *why = NULL;
	unsigned char mac[32], *js = NULL;
	char *want = NULL;
	size_t jlen = 0;
	struct json_object *o = NULL;
	long long exp = 0;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	if (key == NULL || strlen(key) > SESSION_MAX || (dot = strchr(key, '.')) == NULL)
		return -1;
	if (session_mac(key, (size_t)(dot - key), mac) != 0 || (want = gh_b64url_encode(mac, 32)) == NULL)
		return -1;
	if (!gh_ct_streq(want, dot + 1))
		goto out;
	if (gh_b64url_decode(key, (size_t)(dot - key), &js, &jlen) != 0)
		goto out;
	o = gh_json_parse_object(js, jlen, &why);
	if (o == NULL || gh_json_int(o, "e", &exp) != 0 || exp < (long long)time(NULL))
		goto out;
	a->client_id = json_dup(o, "c");
	a->redirect_uri = json_dup(o, "r");
	a->state = json_dup(o, "s");
	a->scope = json_dup(o, "sc");
	a->challenge = json_dup(o, "cc");
	a->csrf = json_dup(o, "k");
	if (a->client_id == NULL || a->redirect_uri == NULL || a->challenge == NULL || a->csrf == NULL) {
		authz_clear(a);
		goto out;
	}
	rc = 0;
out:
	json_object_put(o);
	free(js);
	free(want);
	return rc;
}

/* ---- helpers ---- */

/*
 * redirect_uri against the registered callback: exact match, or for a
 * WSO2-style "regexp=(a|b)" exact match of one alternative (a backslash
 * escapes the next character; no other pattern syntax is honoured, so it
 * is never looser than the literal list).
 */
static int
redirect_ok(const char *registered, const char *uri)
{
	const char *p, *end;
	char alt[PARAM_MAX + 1];

	if (registered == NULL || uri == NULL || uri[0] == '\0' || strchr(uri, '#') != NULL)
		return 0;
	if (strncmp(registered, "regexp=", 7) != 0)
		return strcmp(registered, uri) == 0;
	p = registered + 7;
	end = p + strlen(p);
	if (*p == '(' && end > p && end[-1] == ')') {
		p++;
		end--;
	}
	while (p <= end) {
		size_t n = 0;
		for (; p < end && *p != '|'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (n < PARAM_MAX)
				alt[n++] = *p;
		}
		alt[n] = '\0';
		if (n > 0 && n < PARAM_MAX && strcmp(alt, uri) == 0)
			return 1;
		p++;                            /* past '|' (or end) */
	}
	return 0;
}

static void
pct_append(char *out, size_t *len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			out[(*len)++] = (char)ch;
		} else {
			out[(*len)++] = '%';
			out[(*len)++] = hex[ch >> 4];
			out[(*len)++] = hex[ch & 15];
		}
	}
}

/* Reply 302 to base with the query parameters kv (name, value, ...; NULL values skipped). */
static void
reply_redirect(struct gh_call *c, const char *base, const char *const *kv, size_t nkv)
{
	size_t cap = strlen(base) + 1, len;
	char *url;

	for (size_t i = 0; i < nkv; i++)
		if (kv[2 * i + 1] != NULL)
			cap += strlen(kv[2 * i]) + 3 * strlen(kv[2 * i + 1]) + 2;
	url = malloc(cap + 1);
	if (url == NULL) {
		gh_reply_error_page(c, 500, "Sign-in failed", "Out of memory");
		return;
	}
	len = (size_t)sprintf(url, "%s", base);
	for (size_t i = 0; i < nkv; i++) {
		if (kv[2 * i + 1] == NULL)
			continue;
		url[len++] = strchr(url, '?') != NULL ? '&' : '?';
		url[len] = '\0';
		len += (size_t)sprintf(url + len, "%s=", kv[2 * i]);
		pct_append(url, &len, kv[2 * i + 1]);
		url[len] = '\0';
	}
	gh_reply_raw(c, 302, "text/plain", "", 0);
	gh_reply_header(c, "Location", url);
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_reply_header(c, "Pragma", "no-cache");
	gh_reply_header(c, "Referrer-Policy", "no-referrer");
	free(url);
}

/* RFC 6749 §4.1.2.1: an error after the redirect_uri was validated goes back to the client. */
static void
redirect_error(struct gh_call *c, const char *redirect_uri, const char *error, const char *why,
    const char *state)
{
	const char *kv[] = { "error", error, "error_description", why, "state", state };

	reply_redirect(c, redirect_uri, kv, 3);
}

static void
show_login(struct gh_call *c, int status, const struct km_client *cl, const char *session_key,
    const char *csrf, const char *username, const char *error, const char *redirect_uri)
{
	struct km_login_view v = { .client_name = cl->name, .session_key = session_key, .csrf = csrf,
		.username = username, .error = error, .redirect_uri = redirect_uri };
	char cookie[160];

	gh_reply_login_page(c, status, &v);
	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; Max-Age=%d; Secure; HttpOnly; SameSite=Lax",
	    CSRF_COOKIE, csrf, SESSION_TTL);
	gh_reply_header(c, "Set-Cookie", cookie);
}

/* ---- the authorization request (GET, or POST without sessionDataKey) ---- */

static void
authorization_request(struct gh_call *c, struct gh_pg *db, const struct gh_form *f)
{
	const char *client_id = gh_form_get(f, "client_id"), *redirect = gh_form_get(f, "redirect_uri");
	const char *rt = gh_form_get(f, "response_type"), *state = gh_form_get(f, "state");
	const char *scope = gh_form_get(f, "scope"), *cc = gh_form_get(f, "code_challenge");
	const char *ccm = gh_form_get(f, "code_challenge_method"), *rep;
	struct km_client cl;
	struct authz a = { 0 };
	char *key = NULL, *csrf = NULL;
	int found;

	memset(&cl, 0, sizeof(cl));
	if (gh_form_count(f, "client_id") > 1 || gh_form_count(f, "redirect_uri") > 1) {
		gh_reply_error_page(c, 400, "Invalid request", "client_id or redirect_uri is repeated.");
		return;
	}
	if (client_id == NULL || client_id[0] == '\0' || strlen(client_id) > 256) {
		gh_reply_error_page(c, 400, "Invalid request", "The request names no client (client_id).");
		return;
	}
	found = km_client_get(db, client_id, &cl);
	if (found < 0) {
		gh_reply_error_page(c, 503, "Service unavailable", "Please try again in a moment.");
		return;
	}
	if (found != 0) {
		gh_reply_error_page(c, 400, "Unknown application", "No application is registered with this client_id.");
		return;
	}
	if (redirect == NULL || strlen(redirect) > PARAM_MAX || !redirect_ok(cl.callback_url, redirect)) {
		gh_reply_error_page(c, 400, "Invalid redirect URI",
		    "The redirect_uri is missing or is not the one registered for this application.");
		goto out;
	}
	if (state != NULL && strlen(state) > PARAM_MAX) {
		gh_reply_error_page(c, 400, "Invalid request", "The state parameter is too long.");
		goto out;
	}
	/* From here on errors go back to the client. */
	if ((rep = km_form_repeated(f)) != NULL) {
		redirect_error(c, redirect, "invalid_request", "A parameter is repeated", state);
		goto out;
	}
	if (rt == NULL || rt[0] == '\0') {
		redirect_error(c, redirect, "invalid_request", "response_type is required", state);
		goto out;
	}
	if (strcmp(rt, "code") != 0) {
		redirect_error(c, redirect, "unsupported_response_type", "Only response_type=code is supported",
		    state);
		goto out;
	}
	if (!km_client_allows_grant(&cl, "authorization_code")) {
		redirect_error(c, redirect, "unauthorized_client",
		    "The client is not registered for the authorization_code grant", state);
		goto out;
	}
	if (cc == NULL || cc[0] == '\0') {
		redirect_error(c, redirect, "invalid_request", "code_challenge (PKCE) is required", state);
		goto out;
	}
	if (ccm == NULL || strcmp(ccm, "S256") != 0) {
		redirect_error(c, redirect, "invalid_request",
		    "code_challenge_method must be S256 (plain is refused)", state);
		goto out;
	}
	if (!km_pkce_string_ok(cc, 43, 43)) {
		redirect_error(c, redirect, "invalid_request", "Malformed code_challenge", state);
		goto out;
	}
	if (!km_scope_syntax_ok(scope) || (scope != NULL && strlen(scope) > PARAM_MAX)) {
		redirect_error(c, redirect, "invalid_scope", "Malformed scope", state);
		goto out;
	}
	csrf = gh_web_cookie_get(c, CSRF_COOKIE);
	if (csrf != NULL && !km_pkce_string_ok(csrf, 32, 64)) {
		free(csrf);
		csrf = NULL;
	}
	if (csrf == NULL)
		csrf = gh_random_b64url(24);
	a.client_id = strdup(client_id);
	a.redirect_uri = strdup(redirect);
	a.state = state ? strdup(state) : NULL;
	a.scope = scope ? strdup(scope) : NULL;
	a.challenge = strdup(cc);
	a.csrf = csrf ? strdup(csrf) : NULL;
	key = a.csrf ? session_seal(&a) : NULL;
	if (key == NULL) {
		gh_reply_error_page(c, 500, "Sign-in failed", "Out of memory");
		goto out;
	}
	show_login(c, 200, &cl, key, csrf, NULL, NULL, redirect);
out:
	authz_clear(&a);
	free(key);
	free(csrf);
	km_client_clear(&cl);
}

/* ---- the sign-in form's submission ---- */

/* Store a new code for a signed-in user; its value (malloc'd) or NULL after a database failure. */
static char *
code_issue(struct gh_call *c, struct gh_pg *db, const struct authz *a, const char *subject,
    const char *tenant, const char *scope)
{
	char *code = gh_random_b64url(32), *family = gh_random_hex(16), hash[65], ttl[24];
	const char *q[9] = { hash, a->client_id, subject, tenant, a->redirect_uri, a->challenge, scope,
		family, ttl };
	struct json_object *d;

	if (code == NULL || family == NULL)
		goto fail;
	gh_sha256_hex(code, strlen(code), hash);
	gh_pg_i64(ttl, km.code_ttl);
	if (gh_pg_tx_begin(db, 0) != 0)
		goto fail;
	if (gh_pg_cmd(db, "INSERT INTO gh_auth_codes (code_hash, client_id, subject, tenant, redirect_uri, "
	    "code_challenge, scope, family_id, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
	    "now() + make_interval(secs => $9::bigint))", 9, q, NULL) != 0) {
		gh_pg_tx_rollback(db);
		goto fail;
	}
	d = json_object_new_object();
	json_object_object_add(d, "client_id", json_object_new_string(a->client_id));
	json_object_object_add(d, "family_id", json_object_new_string(family));
	json_object_object_add(d, "scope", json_object_new_string(scope));
	km_audit(db, c, subject, tenant, "oauth.code_issued", a->client_id, "success", d);
	json_object_put(d);
	if (gh_pg_tx_commit(db) != 0)
		goto fail;
	explicit_bzero(hash, sizeof(hash));
	free(family);
	return code;
fail:
	gh_log_error("code_issue", c->request_id, "cannot issue a code for %s: %s", a->client_id,
	    gh_pg_errmsg(db));
	explicit_bzero(hash, sizeof(hash));
	if (code != NULL)
		gh_free_secret(code);
	free(family);
	return NULL;
}

static void
login_submit(struct gh_call *c, struct gh_pg *db, const struct gh_form *f)
{
	const char *key = gh_form_get(f, "sessionDataKey"), *form_csrf = gh_form_get(f, "csrf");
	const char *username = gh_form_get(f, "username"), *password = gh_form_get(f, "password");
	struct authz a;
	struct km_client cl;
	char *cookie = NULL, *user = NULL, *tenant = NULL, *subject = NULL, *scope = NULL, *code = NULL;
	char **roles = NULL;
	int found, rc;

	memset(&cl, 0, sizeof(cl));
	if (km_form_repeated(f) != NULL || session_open(key, &a) != 0) {
		gh_reply_error_page(c, 400, "Sign-in expired",
		    "The sign-in session is invalid or has expired. Start again from the application.");
		return;
	}
	cookie = gh_web_cookie_get(c, CSRF_COOKIE);
	if (cookie == NULL || form_csrf == NULL || !gh_ct_streq(cookie, a.csrf) ||
	    !gh_ct_streq(form_csrf, a.csrf)) {
		gh_reply_error_page(c, 403, "Sign-in refused",
		    "The sign-in form did not come from this browser session (CSRF check failed).");
		goto out;
	}
	found = km_client_get(db, a.client_id, &cl);
	if (found != 0 || !redirect_ok(cl.callback_url, a.redirect_uri)) {
		gh_reply_error_page(c, found < 0 ? 503 : 400, "Unknown application",
		    "The application of this sign-in is no longer registered.");
		goto out;
	}
	rc = km_oauth_user_check(c, db, &cl, username, password, &user, &tenant);
	if (rc == 1 || rc == 2) {
		show_login(c, 401, &cl, key, a.csrf, username,
		    rc == 2 ? "This account is locked after too many failed attempts. Try again later."
			    : "Invalid user name or password.", a.redirect_uri);
		goto out;
	}
	if (rc != 0) {
		gh_reply_error_page(c, 503, "Service unavailable", "The user store is unavailable; try again.");
		goto out;
	}
	roles = km_user_roles(tenant, user);
	scope = km_scopes_grant(db, tenant, (const char *const *)roles, a.scope);
	subject = km_subject_name(user, tenant);
	if (scope == NULL || subject == NULL ||
	    (code = code_issue(c, db, &a, subject, tenant, scope)) == NULL) {
		redirect_error(c, a.redirect_uri, "server_error", "The authorization code could not be issued",
		    a.state);
		goto out;
	} else {
		const char *kv[] = { "code", code, "state", a.state };
		reply_redirect(c, a.redirect_uri, kv, 2);
	}
out:
	gh_ldap_strv_free(roles);
	authz_clear(&a);
	km_client_clear(&cl);
	free(cookie);
	free(user);
	free(tenant);
	free(subject);
	free(scope);
	if (code != NULL)
		gh_free_secret(code);
}

static void
authorize_endpoint(struct gh_call *c, struct gh_pg *db)
{
	struct gh_form f = { 0 };
	int post = strcmp(c->method, "POST") == 0;
	const char *src = post ? c->body : c->query;
	size_t len = post ? c->body_len : (c->query ? strlen(c->query) : 0);

	if (post && !gh_call_ctype_is(c, "application/x-www-form-urlencoded")) {
		gh_reply_error_page(c, 400, "Invalid request",
		    "The form must be sent as application/x-www-form-urlencoded.");
		goto out;
	}
	if (gh_form_parse(src ? src : "", len, FORM_MAX_PAIRS, &f) != 0) {
		gh_reply_error_page(c, 400, "Invalid request", "The request parameters are malformed.");
		goto out;
	}
	if (post && gh_form_get(&f, "sessionDataKey") != NULL)
		login_submit(c, db, &f);
	else
		authorization_request(c, db, &f);
out:
	for (size_t i = 0; i < f.count; i++)
		explicit_bzero(f.pairs[i].value, strlen(f.pairs[i].value));
	gh_form_free(&f);
}

void
km_authorize_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", "/oauth2/authorize", authorize_endpoint);
	gh_call_route(r, "POST", "/oauth2/authorize", authorize_endpoint);
}
