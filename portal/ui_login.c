/*
 * Sign-in and sign-out of the developer portal's web UI.  GET
 * /devportal/login starts the key manager's authorization code flow with
 * PKCE S256: state and verifier stay in a ten-minute pre-session (its
 * own cookie); GET /devportal/callback takes that pre-session back,
 * exchanges the code at the key manager's token endpoint as the
 * gatehouse-devportal client (registered by gatehouse init), verifies
 * the access token as every management token is verified, and starts a
 * session under a fresh id (a session cookie sent along is dropped: no
 * fixation).  POST /devportal/logout (CSRF header required) deletes the
 * session and revokes its tokens at the key manager.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "portal/portal_int.h"
#include "portal/ui.h"

#define UI "devportal"
#define LOGIN_SCOPE "apim:subscribe apim:app_manage apim:sub_manage apim:api_key"
#define KM_TIMEOUT_MS 10000

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

/* "https://HOST/devportal/callback" for c's Host, when it is one of redirects (space-separated). */
static int
redirect_for(const struct gh_call *c, const char *redirects, char *out, size_t cap)
{
	const char *host = gh_call_header(c, "Host"), *p;
	size_t n;

	if (host == NULL || strlen(host) > 260 || !gh_body_chars_ok(host, 260, ".-:[]"))
		return -1;
	snprintf(out, cap, "https://%s/devportal/callback", host);
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
	struct gh_httpc_cfg cfg = { .ssl = portal.tls_km, .connect_timeout_ms = 3000,
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
	if (b64 == NULL || snprintf(url, sizeof(url), "%s%s", portal.km_url, path) >= (int)sizeof(url))
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

/* GET /devportal/login[?tenant=T] */
static void
login(struct gh_call *c, struct gh_pg *db)
{
	char *tenant = gh_call_query(c, "tenant"), *cid = NULL, *secret = NULL, *redirects = NULL;
	char *pid = NULL, *state = NULL, *challenge = NULL, redirect[400], ret[320], url[4096];
	size_t n;
	int x;

	if (!gh_web_ready()) {
		portal_ui_error_page(c, 503, "Sign-in unavailable", "This node has no keys.signing_kek; "
		    "run gatehouse init.");
		goto out;
	}
	if (tenant != NULL && (tenant[0] == '\0' || !gh_ldap_tenant_valid(tenant))) {
		portal_ui_error_page(c, 400, "Unknown tenant", "The tenant in the address is not a domain name.");
		goto out;
	}
	x = gh_web_client_get(db, UI, &cid, &secret, &redirects);
	if (x != 0) {
		portal_ui_error_page(c, 503, "Sign-in unavailable", x > 0 ?
		    "The developer portal's login client is not registered: run gatehouse init." :
		    "The database is unavailable; try again.");
		goto out;
	}
	if (redirect_for(c, redirects, redirect, sizeof(redirect)) != 0) {
		portal_ui_error_page(c, 400, "Host not registered", "Sign-in is not set up for this host name: "
		    "add it to node.hostnames and run gatehouse init again.");
		goto out;
	}
	if (tenant != NULL && strcmp(tenant, GH_LDAP_SUPER_TENANT) != 0)
		snprintf(ret, sizeof(ret), "/devportal/t/%s/", tenant);
	else
		snprintf(ret, sizeof(ret), "/devportal/");
	pid = gh_web_login_begin(db, ret, &state, &challenge);
	if (pid == NULL) {
		portal_ui_error_page(c, 503, "Sign-in unavailable", "The database is unavailable; try again.");
		goto out;
	}
	n = (size_t)snprintf(url, sizeof(url), "%s/oauth2/authorize", portal.km_url);
	if (n >= sizeof(url) || form_add(url, sizeof(url), &n, "?", "response_type", "code") ||
	    form_add(url, sizeof(url), &n, "&", "client_id", cid) ||
	    form_add(url, sizeof(url), &n, "&", "redirect_uri", redirect) ||
	    form_add(url, sizeof(url), &n, "&", "scope", LOGIN_SCOPE) ||
	    form_add(url, sizeof(url), &n, "&", "state", state) ||
	    form_add(url, sizeof(url), &n, "&", "code_challenge", challenge) ||
	    form_add(url, sizeof(url), &n, "&", "code_challenge_method", "S256")) {
		portal_ui_error_page(c, 500, "Sign-in failed", "The sign-in address is too long.");
		goto out;
	}
	gh_reply_raw(c, 302, "text/plain", "", 0);
	gh_reply_header(c, "Location", url);
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_web_set_cookie(c, PORTAL_UI_LOGIN_COOKIE, pid, GH_WEB_LOGIN_SECONDS);
	gh_web_security_headers(c);
out:
	free(tenant);
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
		portal_ui_error_page(c, 400, "Sign-in failed", "The authorization code is malformed.");
		return -1;
	}
	st = km_form_post("/oauth2/token", cid, secret, form, &r);
	explicit_bzero(form, sizeof(form));
	a = gh_json_str(r, "access_token");
	t = gh_json_str(r, "refresh_token");
	if (st != 200 || a == NULL || strlen(a) + 8 >= sizeof(bearer)) {
		const char *d = gh_json_str(r, "error_description");
		gh_log_warn("web", c->request_id, "code exchange: key manager answered %d %s", st, d ? d : "");
		portal_ui_error_page(c, st == 0 || st >= 500 ? 503 : 400, "Sign-in failed",
		    st == 0 || st >= 500 ? "The key manager is unavailable; try again." :
		    "The key manager refused the sign-in; start again.");
		goto out;
	}
	snprintf(bearer, sizeof(bearer), "Bearer %s", a);
	st = gh_mauth_verify(portal.mauth, bearer, p, why, sizeof(why));
	explicit_bzero(bearer, sizeof(bearer));
	if (st != 0 || strcmp(p->client_id, cid) != 0) {
		gh_log_warn("web", c->request_id, "token of the sign-in refused: %s", st ? why : "another client");
		gh_principal_clear(p);
		portal_ui_error_page(c, 502, "Sign-in failed", "The key manager's token could not be verified.");
		goto out;
	}
	*at = strdup(a);
	*rt = t != NULL ? strdup(t) : NULL;
	rc = 0;
out:
	json_object_put(r);
	return rc;
}

/* GET /devportal/callback?code=..&state=.. */
static void
callback(struct gh_call *c, struct gh_pg *db)
{
	char *code = gh_call_query(c, "code"), *state = gh_call_query(c, "state"), *err = gh_call_query(c, "error");
	char *pid = gh_web_cookie_get(c, PORTAL_UI_LOGIN_COOKIE), *old = gh_web_cookie_get(c, PORTAL_UI_COOKIE);
	char *verifier = NULL, *ret = NULL, *cid = NULL, *secret = NULL, *redirects = NULL;
	char *at = NULL, *rt = NULL, *sid = NULL, redirect[400];
	struct gh_principal p;
	int x;

	memset(&p, 0, sizeof(p));
	x = pid != NULL && state != NULL ? gh_web_login_take(db, pid, state, &verifier, &ret) : 1;
	if (x < 0) {
		portal_ui_error_page(c, 503, "Sign-in failed", "The database is unavailable; try again.");
		goto out;
	}
	if (x > 0) {
		portal_ui_error_page(c, 400, "Sign-in expired", "This sign-in did not start in this browser or "
		    "took too long. Start again from the developer portal.");
		goto out;
	}
	if (err != NULL || code == NULL) {
		portal_ui_error_page(c, 400, "Sign-in refused", err != NULL && strcmp(err, "access_denied") == 0 ?
		    "Access was denied." : "The key manager did not sign you in; start again.");
		goto out;
	}
	if (gh_web_client_get(db, UI, &cid, &secret, &redirects) != 0 ||
	    redirect_for(c, redirects, redirect, sizeof(redirect)) != 0) {
		portal_ui_error_page(c, 503, "Sign-in failed", "The login client is not registered for this host.");
		goto out;
	}
	if (exchange(c, cid, secret, redirect, code, verifier, &p, &at, &rt) != 0)
		goto out;
	if (old != NULL)
		gh_web_session_delete(db, old, NULL, NULL);
	sid = gh_web_session_create(db, &p, at, rt);
	if (sid == NULL) {
		gh_log_error("web", c->request_id, "session of %s: %s", p.sub, gh_pg_errmsg(db));
		portal_ui_error_page(c, 503, "Sign-in failed", "The session could not be stored; try again.");
		goto out;
	}
	gh_call_audit(db, c, PORTAL_COMPONENT, p.sub, p.tenant, "web.login", UI, NULL, NULL);
	gh_reply_raw(c, 302, "text/plain", "", 0);
	gh_reply_header(c, "Location", ret);
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_web_set_cookie(c, PORTAL_UI_COOKIE, sid, GH_WEB_ABS_SECONDS);
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

/* POST /devportal/logout (session cookie and X-CSRF-Token) */
static void
logout(struct gh_call *c, struct gh_pg *db)
{
	char *sid = gh_web_cookie_get(c, PORTAL_UI_COOKIE), *at = NULL, *rt = NULL;
	char *cid = NULL, *secret = NULL, *redirects = NULL;
	struct json_object *o;
	struct gh_principal p;

	memset(&p, 0, sizeof(p));
	gh_web_security_headers(c);
	if (sid == NULL || gh_call_header(c, "Authorization") != NULL) {
		gh_reply_error(c, 401, "Unauthorized", "No session to end");
		goto out;
	}
	if (gh_call_auth(c, db, portal.mauth, NULL, &p) != 0)
		goto out;
	if (gh_web_session_delete(db, sid, &at, &rt) < 0) {
		portal_db_error(c, db, "The session could not be ended");
		goto out;
	}
	if (gh_web_client_get(db, UI, &cid, &secret, &redirects) == 0) {
		if (rt != NULL)
			revoke(c, cid, secret, rt, "refresh_token");
		if (at != NULL)
			revoke(c, cid, secret, at, "access_token");
	}
	gh_call_audit(db, c, PORTAL_COMPONENT, p.sub, p.tenant, "web.logout", UI, NULL, NULL);
	o = json_object_new_object();
	json_object_object_add(o, "loggedOut", json_object_new_boolean(1));
	gh_reply_json(c, 200, o);
	json_object_put(o);
	gh_web_set_cookie(c, PORTAL_UI_COOKIE, NULL, 0);
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
portal_ui_login_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", "/devportal/login", login);
	gh_call_route(r, "GET", "/devportal/callback", callback);
	gh_call_route(r, "POST", "/devportal/logout", logout);
}
