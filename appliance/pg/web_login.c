/*
 * The routes every web UI shares (gh_web.h, struct gh_web_ui): its page and
 * assets under PREFIX/, the session probe PREFIX/session (user and CSRF
 * token), sign-in by the key manager's authorization code flow with PKCE
 * S256 (PREFIX/login keeps state and verifier in a ten-minute pre-session;
 * PREFIX/callback exchanges the code as the UI's login client, verifies the
 * token and starts a session under a fresh id) and PREFIX/logout (CSRF
 * header; deletes the session, revokes its tokens).  One UI per process.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_http.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "pg/gh_web.h"

#define KM_TIMEOUT_MS 10000

static const struct gh_web_ui *ui;

/* Append s HTML-escaped to out (cap bytes, NUL-terminated). */
static void
html_escape(char *out, size_t cap, size_t *n, const char *s)
{
	for (; s != NULL && *s && *n + 7 < cap; s++) {
		const char *e = NULL;
		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		}
		if (e != NULL) {
			memcpy(out + *n, e, strlen(e));
			*n += strlen(e);
		} else {
			out[(*n)++] = *s;
		}
	}
	out[*n] = '\0';
}

void
gh_web_error_page(struct gh_call *c, int status, const char *title, const char *text)
{
	const char *prefix = ui != NULL ? ui->prefix : "", *name = ui != NULL ? ui->title : "home page";
	char page[4096];
	size_t n = 0;

	n += (size_t)snprintf(page, sizeof(page), "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<link rel=\"stylesheet\" href=\"");
	html_escape(page, sizeof(page), &n, prefix);
	n += (size_t)snprintf(page + n, sizeof(page) - n, "/assets/app.css\"><title>");
	html_escape(page, sizeof(page), &n, title);
	n += (size_t)snprintf(page + n, sizeof(page) - n, "</title></head><body><main class=\"narrow\"><h1>");
	html_escape(page, sizeof(page), &n, title);
	n += (size_t)snprintf(page + n, sizeof(page) - n, "</h1><p class=\"error\">");
	html_escape(page, sizeof(page), &n, text);
	n += (size_t)snprintf(page + n, sizeof(page) - n, "</p><p><a href=\"");
	html_escape(page, sizeof(page), &n, prefix);
	n += (size_t)snprintf(page + n, sizeof(page) - n, "/\">Back to the ");
	html_escape(page, sizeof(page), &n, name);
	n += (size_t)snprintf(page + n, sizeof(page) - n, "</a></p></main></body></html>");
	gh_reply_raw(c, status, "text/html; charset=utf-8", page, strlen(page));
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_web_security_headers(c);
}

/* ---- pages and assets (loop) ---- */

int
gh_web_page_fast(struct gh_call *c)
{
	gh_web_asset_reply(c, ui->assets, ui->nassets, "index.html");
	return 1;
}

void
gh_web_page_work(struct gh_call *c, struct gh_pg *db)
{
	(void)db;
	gh_web_page_fast(c);
}

static int
asset_fast(struct gh_call *c)
{
	const char *name = gh_call_param(c, "name");

	if (name == NULL || strcmp(name, "index.html") == 0)
		name = "";
	gh_web_asset_reply(c, ui->assets, ui->nassets, name);
	return 1;
}

static void
asset_work(struct gh_call *c, struct gh_pg *db)
{
	(void)db;
	asset_fast(c);
}

/* ---- the session probe (worker) ---- */

static void
session_get(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *o = json_object_new_object();
	struct gh_principal p;
	char *sid = gh_web_cookie_get(c, ui->cookie), csrf[44];

	memset(&p, 0, sizeof(p));
	json_object_object_add(o, "authenticated", json_object_new_boolean(0));
	if (sid != NULL && gh_call_header(c, "Authorization") == NULL) {
		if (gh_call_auth(c, db, ui->mauth, NULL, &p) == 0 && gh_web_csrf_token(sid, csrf) == 0) {
			json_object_object_add(o, "authenticated", json_object_new_boolean(1));
			json_object_object_add(o, "user", json_object_new_string(p.sub));
			json_object_object_add(o, "tenant", json_object_new_string(p.tenant));
			json_object_object_add(o, "scopes", json_object_new_string(p.scope ? p.scope : ""));
			json_object_object_add(o, "csrfToken", json_object_new_string(csrf));
			explicit_bzero(csrf, sizeof(csrf));
		} else if (c->status >= 500) {
			goto out;               /* the database is down: say so */
		}
	}
	/* a failed session check replied 401 and cleared the cookie: the page is anonymous */
	gh_reply_json(c, 200, o);
	gh_reply_header(c, "Cache-Control", "no-store");
out:
	gh_web_security_headers(c);
	gh_principal_clear(&p);
	json_object_put(o);
	if (sid != NULL)
		gh_free_secret(sid);
}

/* ---- sign-in ---- */

/* Append name=value (value percent-encoded) to a growing buffer; -1 when it does not fit. */
static int
form_add(char *out, size_t cap, size_t *n, const char *sep, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	int w = snprintf(out + *n, cap - *n, "%s%s=", sep, name);

	if (w < 0 || (size_t)w >= cap - *n)
		return -1;
	*n += (size_t)w;
	for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
		if (*n + 4 >= cap)
			return -1;
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '-' || *s == '.' || *s == '_' || *s == '~') {
			out[(*n)++] = (char)*s;
		} else {
			out[(*n)++] = '%';
			out[(*n)++] = hex[*s >> 4];
			out[(*n)++] = hex[*s & 15];
		}
	}
	out[*n] = '\0';
	return 0;
}

/* "https://HOST/PREFIX/callback" for c's Host, when it is one of redirects (space-separated). */
static int
redirect_for(const struct gh_call *c, const char *redirects, char *out, size_t cap)
{
	const char *host = gh_call_header(c, "Host"), *p;
	size_t n;

	if (host == NULL || strlen(host) > 260 || !gh_body_chars_ok(host, 260, ".-:[]"))
		return -1;
	if ((size_t)snprintf(out, cap, "https://%s%s/callback", host, ui->prefix) >= cap)
		return -1;
	n = strlen(out);
	for (p = redirects; (p = strstr(p, out)) != NULL; p += n)
		if ((p == redirects || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 0;
	return -1;
}

/* A blocking form POST to the key manager's public endpoint path as the login client. */
static int
km_form_post(const char *path, const char *client_id, const char *secret, const char *form,
    struct json_object **resp)
{
	struct gh_httpc_cfg cfg = { .ssl = ui->tls_km, .connect_timeout_ms = 3000,
		.timeout_ms = KM_TIMEOUT_MS, .max_body_bytes = 1 << 20 };
	char cred[600], *b64 = NULL, auth[900], url[1024];
	struct gh_http_header h[3] = {
		{ .name = "Content-Type", .value = "application/x-www-form-urlencoded" },
		{ .name = "Accept", .value = "application/json" },
		{ .name = "Authorization", .value = auth },
	};
	struct gh_httpc_resp r;
	int st = 0;

	*resp = NULL;
	snprintf(cred, sizeof(cred), "%s:%s", client_id, secret);
	b64 = gh_b64_encode(cred, strlen(cred));
	explicit_bzero(cred, sizeof(cred));
	if (b64 == NULL || snprintf(url, sizeof(url), "%s%s", ui->km_url, path) >= (int)sizeof(url))
		goto out;
	snprintf(auth, sizeof(auth), "Basic %s", b64);
	if (gh_httpc_fetch(&cfg, "POST", url, h, 3, form, strlen(form), &r) != 0) {
		gh_log_warn("km", NULL, "POST %s: %s", path, r.errstr ? r.errstr : "failed");
		gh_httpc_resp_clear(&r);
		goto out;
	}
	st = r.status;
	if (r.body != NULL) {
		const char *why;
		*resp = gh_json_parse_object((const char *)r.body, r.body_len, &why);
		explicit_bzero(r.body, r.body_len);
	}
	gh_httpc_resp_clear(&r);
out:
	explicit_bzero(auth, sizeof(auth));
	if (b64 != NULL)
		gh_free_secret(b64);
	return st;
}

/* GET PREFIX/login */
static void
login(struct gh_call *c, struct gh_pg *db)
{
	char *cid = NULL, *secret = NULL, *redirects = NULL, *pid = NULL, *state = NULL, *challenge = NULL;
	char redirect[400], ret[320], url[4096], why[200];
	size_t n;
	int x;

	if (!gh_web_ready()) {
		gh_web_error_page(c, 503, "Sign-in unavailable", "This node has no keys.signing_kek; "
		    "run gatehouse init.");
		goto out;
	}
	if (ui->login_return != NULL) {
		if (ui->login_return(c, ret, sizeof(ret)) != 0)
			goto out;
	} else {
		snprintf(ret, sizeof(ret), "%s/", ui->prefix);
	}
	x = gh_web_client_get(db, ui->ui, &cid, &secret, &redirects);
	if (x != 0) {
		snprintf(why, sizeof(why), "The %s's login client is not registered: run gatehouse init.", ui->title);
		gh_web_error_page(c, 503, "Sign-in unavailable", x > 0 ? why :
		    "The database is unavailable; try again.");
		goto out;
	}
	if (redirect_for(c, redirects, redirect, sizeof(redirect)) != 0) {
		gh_web_error_page(c, 400, "Host not registered", "Sign-in is not set up for this host name: "
		    "add it to node.hostnames and run gatehouse init again.");
		goto out;
	}
	pid = gh_web_login_begin(db, ret, &state, &challenge);
	if (pid == NULL) {
		gh_web_error_page(c, 503, "Sign-in unavailable", "The database is unavailable; try again.");
		goto out;
	}
	n = (size_t)snprintf(url, sizeof(url), "%s/oauth2/authorize", ui->km_url);
	if (n >= sizeof(url) || form_add(url, sizeof(url), &n, "?", "response_type", "code") ||
	    form_add(url, sizeof(url), &n, "&", "client_id", cid) ||
	    form_add(url, sizeof(url), &n, "&", "redirect_uri", redirect) ||
	    form_add(url, sizeof(url), &n, "&", "scope", ui->scope) ||
	    form_add(url, sizeof(url), &n, "&", "state", state) ||
	    form_add(url, sizeof(url), &n, "&", "code_challenge", challenge) ||
	    form_add(url, sizeof(url), &n, "&", "code_challenge_method", "S256")) {
		gh_web_error_page(c, 500, "Sign-in failed", "The sign-in address is too long.");
		goto out;
	}
	gh_reply_raw(c, 302, "text/plain", "", 0);
	gh_reply_header(c, "Location", url);
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_web_set_cookie(c, ui->login_cookie, pid, GH_WEB_LOGIN_SECONDS);
	gh_web_security_headers(c);
out:
	free(cid);
	if (secret != NULL)
		gh_free_secret(secret);
	free(redirects);
	if (pid != NULL)
		gh_free_secret(pid);
	free(state);
	free(challenge);
}

/* Exchange code for tokens and verify them: 0 with *p, *at, *rt (malloc'd) or -1 after replying. */
static int
exchange(struct gh_call *c, const char *cid, const char *secret, const char *redirect, const char *code,
    const char *verifier, struct gh_principal *p, char **at, char **rt)
{
	char form[4096], bearer[8192], why[160];
	struct json_object *r = NULL;
	const char *a, *t;
	size_t n = 0;
	int st, rc = -1;

	*at = *rt = NULL;
	if (form_add(form, sizeof(form), &n, "", "grant_type", "authorization_code") ||
	    form_add(form, sizeof(form), &n, "&", "code", code) ||
	    form_add(form, sizeof(form), &n, "&", "redirect_uri", redirect) ||
	    form_add(form, sizeof(form), &n, "&", "code_verifier", verifier)) {
		gh_web_error_page(c, 400, "Sign-in failed", "The authorization code is malformed.");
		return -1;
	}
	st = km_form_post("/oauth2/token", cid, secret, form, &r);
	explicit_bzero(form, sizeof(form));
	a = gh_json_str(r, "access_token");
	t = gh_json_str(r, "refresh_token");
	if (st != 200 || a == NULL || strlen(a) + 8 >= sizeof(bearer)) {
		const char *d = gh_json_str(r, "error_description");
		gh_log_warn("web", c->request_id, "code exchange: key manager answered %d %s", st, d ? d : "");
		gh_web_error_page(c, st == 0 || st >= 500 ? 503 : 400, "Sign-in failed",
		    st == 0 || st >= 500 ? "The key manager is unavailable; try again." :
		    "The key manager refused the sign-in; start again.");
		goto out;
	}
	snprintf(bearer, sizeof(bearer), "Bearer %s", a);
	st = gh_mauth_verify(ui->mauth, bearer, p, why, sizeof(why));
	explicit_bzero(bearer, sizeof(bearer));
	if (st != 0 || strcmp(p->client_id, cid) != 0) {
		gh_log_warn("web", c->request_id, "token of the sign-in refused: %s", st ? why : "another client");
		gh_principal_clear(p);
		gh_web_error_page(c, 502, "Sign-in failed", "The key manager's token could not be verified.");
		goto out;
	}
	*at = strdup(a);
	*rt = t != NULL ? strdup(t) : NULL;
	rc = 0;
out:
	json_object_put(r);
	return rc;
}

/* GET PREFIX/callback?code=..&state=.. */
static void
callback(struct gh_call *c, struct gh_pg *db)
{
	char *code = gh_call_query(c, "code"), *state = gh_call_query(c, "state"), *err = gh_call_query(c, "error");
	char *pid = gh_web_cookie_get(c, ui->login_cookie), *old = gh_web_cookie_get(c, ui->cookie);
	char *verifier = NULL, *ret = NULL, *cid = NULL, *secret = NULL, *redirects = NULL;
	char *at = NULL, *rt = NULL, *sid = NULL, redirect[400], why[200];
	struct gh_principal p;
	int x;

	memset(&p, 0, sizeof(p));
	x = pid != NULL && state != NULL ? gh_web_login_take(db, pid, state, &verifier, &ret) : 1;
	if (x < 0) {
		gh_web_error_page(c, 503, "Sign-in failed", "The database is unavailable; try again.");
		goto out;
	}
	if (x > 0) {
		snprintf(why, sizeof(why), "This sign-in did not start in this browser or took too long. "
		    "Start again from the %s.", ui->title);
		gh_web_error_page(c, 400, "Sign-in expired", why);
		goto out;
	}
	if (err != NULL || code == NULL) {
		gh_web_error_page(c, 400, "Sign-in refused", err != NULL && strcmp(err, "access_denied") == 0 ?
		    "Access was denied." : "The key manager did not sign you in; start again.");
		goto out;
	}
	if (gh_web_client_get(db, ui->ui, &cid, &secret, &redirects) != 0 ||
	    redirect_for(c, redirects, redirect, sizeof(redirect)) != 0) {
		gh_web_error_page(c, 503, "Sign-in failed", "The login client is not registered for this host.");
		goto out;
	}
	if (exchange(c, cid, secret, redirect, code, verifier, &p, &at, &rt) != 0)
		goto out;
	if (old != NULL)
		gh_web_session_delete(db, old, NULL, NULL);
	sid = gh_web_session_create(db, &p, at, rt);
	if (sid == NULL) {
		gh_log_error("web", c->request_id, "session of %s: %s", p.sub, gh_pg_errmsg(db));
		gh_web_error_page(c, 503, "Sign-in failed", "The session could not be stored; try again.");
		goto out;
	}
	gh_call_audit(db, c, ui->component, p.sub, p.tenant, "web.login", ui->ui, NULL, NULL);
	gh_reply_raw(c, 302, "text/plain", "", 0);
	gh_reply_header(c, "Location", ret);
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_web_set_cookie(c, ui->cookie, sid, GH_WEB_ABS_SECONDS);
	gh_web_security_headers(c);
out:
	gh_principal_clear(&p);
	free(code);
	free(state);
	free(err);
	free(ret);
	free(cid);
	free(redirects);
	if (secret != NULL)
		gh_free_secret(secret);
	if (verifier != NULL)
		gh_free_secret(verifier);
	if (at != NULL)
		gh_free_secret(at);
	if (rt != NULL)
		gh_free_secret(rt);
	if (sid != NULL)
		gh_free_secret(sid);
	if (pid != NULL)
		gh_free_secret(pid);
	if (old != NULL)
		gh_free_secret(old);
}

/* Revoke token at the key manager (failures logged: the session is gone either way). */
static void
revoke(struct gh_call *c, const char *cid, const char *secret, const char *token, const char *hint)
{
	char form[8192];
	struct json_object *r = NULL;
	size_t n = 0;
	int st;

	if (form_add(form, sizeof(form), &n, "", "token", token) ||
	    form_add(form, sizeof(form), &n, "&", "token_type_hint", hint))
		return;
	st = km_form_post("/oauth2/revoke", cid, secret, form, &r);
	explicit_bzero(form, sizeof(form));
	if (st != 200)
		gh_log_warn("web", c->request_id, "logout: revoking the %s answered %d", hint, st);
	json_object_put(r);
}

/* POST PREFIX/logout (session cookie and X-CSRF-Token) */
static void
logout(struct gh_call *c, struct gh_pg *db)
{
	char *sid = gh_web_cookie_get(c, ui->cookie), *at = NULL, *rt = NULL;
	char *cid = NULL, *secret = NULL, *redirects = NULL;
	struct json_object *o;
	struct gh_principal p;

	memset(&p, 0, sizeof(p));
	gh_web_security_headers(c);
	if (sid == NULL || gh_call_header(c, "Authorization") != NULL) {
		gh_reply_error(c, 401, "Unauthorized", "No session to end");
		goto out;
	}
	if (gh_call_auth(c, db, ui->mauth, NULL, &p) != 0)
		goto out;
	if (gh_web_session_delete(db, sid, &at, &rt) < 0) {
		gh_log_error("db", c->request_id, "logout: %s", gh_pg_errmsg(db));
		gh_reply_error(c, 503, "Service Unavailable", "The session could not be ended");
		goto out;
	}
	if (gh_web_client_get(db, ui->ui, &cid, &secret, &redirects) == 0) {
		if (rt != NULL)
			revoke(c, cid, secret, rt, "refresh_token");
		if (at != NULL)
			revoke(c, cid, secret, at, "access_token");
	}
	gh_call_audit(db, c, ui->component, p.sub, p.tenant, "web.logout", ui->ui, NULL, NULL);
	o = json_object_new_object();
	json_object_object_add(o, "loggedOut", json_object_new_boolean(1));
	gh_reply_json(c, 200, o);
	json_object_put(o);
	gh_web_set_cookie(c, ui->cookie, NULL, 0);
out:
	gh_principal_clear(&p);
	free(cid);
	free(redirects);
	if (secret != NULL)
		gh_free_secret(secret);
	if (at != NULL)
		gh_free_secret(at);
	if (rt != NULL)
		gh_free_secret(rt);
	if (sid != NULL)
		gh_free_secret(sid);
}

void
gh_web_ui_routes(struct gh_router *r, const struct gh_web_ui *u)
{
	char p[128];

	ui = u;
	/* the router takes "PREFIX/" for "PREFIX" (one trailing slash) */
	gh_call_route_fast(r, "GET", u->prefix, gh_web_page_fast, gh_web_page_work);
	snprintf(p, sizeof(p), "%s/assets/{name}", u->prefix);
	gh_call_route_fast(r, "GET", p, asset_fast, asset_work);
	snprintf(p, sizeof(p), "%s/session", u->prefix);
	gh_call_route(r, "GET", p, session_get);
	snprintf(p, sizeof(p), "%s/login", u->prefix);
	gh_call_route(r, "GET", p, login);
	snprintf(p, sizeof(p), "%s/callback", u->prefix);
	gh_call_route(r, "GET", p, callback);
	snprintf(p, sizeof(p), "%s/logout", u->prefix);
	gh_call_route(r, "POST", p, logout);
}
